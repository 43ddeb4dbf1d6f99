#!/usr/bin/env python3
"""Capture decryption speed: tlsstate decrypt vs tshark on the same 64 MiB AES-128-GCM capture, same run.

Usage: .venv/bin/python benchmarks/decrypt_bench.py [--size-mib 64] [--repeat 3] [--segment 1448 --segment 65483] [--json]
(also: ``tlsstate speed --decrypt``). See tlsstate/bench/decrypt.py for how the capture is made and what is timed.
"""

from __future__ import annotations

import argparse
import json
import sys

from tlsstate.bench.decrypt import run_decrypt_bench


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--segment", type=int, action="append", help="TCP segment size (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = run_decrypt_bench(repeat=args.repeat, size_mib=args.size_mib,
                             segment_sizes=tuple(args.segment or (1448, 65483)),
                             progress=None if args.json else (lambda m: print(f"  {m}", file=sys.stderr)))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        line = (f"{row['segment_bytes']:>6}-byte segments, {row['packets']} packets, "
                f"{row['app_bytes'] / 2**20:.0f} MiB app data: tlsstate {row['tlsstate_mb_s']} MB/s "
                f"({row['tlsstate_seconds']} s, heap peak {row['tlsstate_heap_peak_mib']} MiB)")
        if row.get("tshark_mb_s"):
            line += (f", tshark {row['tshark_mb_s']} MB/s ({row['tshark_seconds']} s, complete={row['tshark_complete']}),"
                     f" speed-up {row['speedup_vs_tshark']}x")
        else:
            line += ", tshark not installed"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
