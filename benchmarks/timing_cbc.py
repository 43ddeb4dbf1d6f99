#!/usr/bin/env python3
"""Timing of the CBC MAC-then-encrypt open path (Lucky 13): valid vs bad MAC vs invalid padding of several
lengths, same record length, TLS 1.2 AES-128-CBC-SHA and AES-128-CBC-SHA256.

Usage: .venv/bin/python benchmarks/timing_cbc.py [--samples 20000] [--suite AES128-SHA --suite AES128-SHA256] [--json]
See tlsstate/bench/timing.py for the method and docs/side-channels.md for measured results.
"""

from __future__ import annotations

import argparse
import json

from tlsstate.bench.timing import format_report, run_cbc_timing


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000, help="interleaved samples per case")
    parser.add_argument("--suite", action="append", help="TLS 1.2 CBC suite (repeatable; default SHA-1 and SHA-256)")
    parser.add_argument("--record-plaintext", type=int, default=320, help="bytes after the explicit IV (multiple of 16)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the interleaving order")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reports = [
        run_cbc_timing(suite, args.samples, record_plaintext=args.record_plaintext, seed=args.seed)
        for suite in (args.suite or ["AES128-SHA", "AES128-SHA256"])
    ]
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
