#!/usr/bin/env python3
"""Timing of the server's RSA premaster decryption (Bleichenbacher countermeasure, RFC 5246 §7.4.7.1):
valid premaster vs wrong client_version vs wrong length vs bad PKCS #1 v1.5 padding.

Usage: .venv/bin/python benchmarks/timing_rsa.py [--samples 3000] [--key-bits 2048] [--json]
See tlsstate/bench/timing.py for the method and docs/side-channels.md for measured results.
"""

from __future__ import annotations

import argparse
import json

from tlsstate.bench.timing import format_report, run_rsa_timing


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000, help="interleaved samples per case")
    parser.add_argument("--key-bits", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=1, help="seed of the interleaving order")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run_rsa_timing(args.samples, key_bits=args.key_bits, seed=args.seed)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
