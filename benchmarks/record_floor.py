#!/usr/bin/env python3
"""The CPython floor of a TLS 1.2 AEAD record layer, beside tlsstate, raw pyca and CPython ``ssl``, same run.

Issue 2 asks for AES-128-GCM at 16 KiB >= 2x CPython ``ssl``. This script answers "is that reachable from
Python at all on this machine?" by timing the *least* work any Python record layer must do per record,
with nothing of a library around it (no objects, no checks beyond the header's, no error handling):

  floor   pack nonce + AAD + header (one struct.pack_into, into the nonce buffer of the one GCM nonce rule,
          tlsstate.record.protection.nonces), pyca ``encrypt_into`` straight into a preallocated record buffer
          (no copy), parse the header back (unpack + range checks), pyca ``decrypt_into`` into a preallocated
          plaintext buffer (RFC 5246 §6.2.3.3, RFC 5288 §3)

beside ``tlsstate`` / ``raw`` / ``ssl`` exactly as ``tlsstate speed`` runs them (tlsstate/bench/records.py),
interleaved in ~1 ms batches, medians of --repeat. If the floor itself is under 2x ``ssl``, the 2x target
cannot be met by any pure-Python record layer with this pyca build; what is left for tlsstate is the gap
between its figure and the floor.

Usage: .venv/bin/python benchmarks/record_floor.py [--repeat 9] [--seconds 0.15] [--size 16384 --size 1024] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import tempfile

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlsstate.bench.records import (
    BENCH_SUITES,
    SslPair,
    Step,
    make_certificate,
    measure_interleaved,
    raw_step,
    tlsstate_step,
)
from tlsstate.record.protection import explicit_prefix_nonce

_PACK_SCRATCH = struct.Struct(">QBHHBHHQ").pack_into  # seq type version length | type version record_length seq
_UNPACK_HEADER = struct.Struct(">BHH").unpack_from
_PACK_AAD = struct.Struct(">QBHH").pack


def floor_step(data: bytes) -> Step:
    """Minimal AES-128-GCM TLS 1.2 seal + deframe + open, no copies (see the module docstring)."""
    aead = AESGCM(os.urandom(16))
    encrypt_into, decrypt_into = aead.encrypt_into, aead.decrypt_into
    salt = os.urandom(4)
    size = len(data)
    # scratch: salt seq | type version length | type version record_length seq: [0:12] nonce (the one GCM nonce
    # rule, RFC 5288 §3, lays out the salt; seq is the explicit part), [4:17] AAD, [17:30] record header + explicit
    scratch = bytearray(30)
    nonce, _ = explicit_prefix_nonce(salt, "floor", scratch)
    open_nonce, open_explicit = explicit_prefix_nonce(salt, "floor")
    view = memoryview(scratch)
    aad, prefix = view[4:17], view[17:30]
    record = bytearray(13 + size + 16)
    record_view = memoryview(record)
    body = record_view[13:]
    plaintext = memoryview(bytearray(size))
    sequence = [0, 0]

    def step() -> None:
        seq = sequence[0]
        sequence[0] = seq + 1
        _PACK_SCRATCH(scratch, 4, seq, 23, 0x0303, size, 23, 0x0303, size + 24, seq)
        record_view[0:13] = prefix
        encrypt_into(nonce, data, aad, body)
        content_type, version, length = _UNPACK_HEADER(record, 0)
        if not (20 <= content_type <= 24 and 0x0300 <= version <= 0x0304 and length <= 18432):
            raise ValueError("bad header")
        read_seq = sequence[1]
        sequence[1] = read_seq + 1
        open_explicit[:] = record_view[5:13]
        decrypt_into(open_nonce, record_view[13 : 5 + length], _PACK_AAD(read_seq, content_type, version, length - 24),
                     plaintext)

    step()
    if bytes(plaintext) != data:
        raise AssertionError("floor round trip failed")
    return step


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.15)
    parser.add_argument("--size", type=int, action="append")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    bench = next(b for b in BENCH_SUITES if b.label == "AES-128-GCM")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        pair = SslPair(bench, make_certificate(folder))
        for size in args.size or [16384, 1024]:
            data = os.urandom(size)
            contenders = {"floor": floor_step(data), "tlsstate": tlsstate_step(bench, data), "raw": raw_step(bench, data),
                          "ssl": pair.step(data)}
            samples: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(args.repeat):
                for name, rate in measure_interleaved(contenders, size, args.seconds).items():
                    samples[name].append(rate)
            medians = {name: statistics.median(values) for name, values in samples.items()}
            rows.append({"suite": bench.label, "record_size": size, **{f"{k}_mb_s": round(v, 1) for k, v in medians.items()},
                         "floor_vs_ssl": round(medians["floor"] / medians["ssl"], 3),
                         "tlsstate_vs_ssl": round(medians["tlsstate"] / medians["ssl"], 3),
                         "tlsstate_vs_raw": round(medians["tlsstate"] / medians["raw"], 3)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"AES-128-GCM, TLS 1.2, MB/s, median of {args.repeat} x {args.seconds} s, interleaved")
    print(f"{'record':>7} {'floor':>9} {'tlsstate':>9} {'raw':>9} {'ssl':>9}  floor/ssl  tlsstate/ssl  tlsstate/raw")
    for row in rows:
        print(f"{row['record_size']:>7} {row['floor_mb_s']:>9} {row['tlsstate_mb_s']:>9} {row['raw_mb_s']:>9} "
              f"{row['ssl_mb_s']:>9}  {row['floor_vs_ssl']:>8.2f}x  {row['tlsstate_vs_ssl']:>11.2f}x  "
              f"{row['tlsstate_vs_raw']:>11.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
