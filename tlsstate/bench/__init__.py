"""Benchmarks behind ``tlsstate speed``.

Each benchmark module exposes one function returning a list of JSON-ready dicts (one per measurement):

* :mod:`tlsstate.bench.records` — ``run_record_bench(...)``: record seal+open throughput beside the raw
  pyca primitive and CPython ``ssl`` (OpenSSL).
* ``tlsstate.bench.handshakes`` — ``run_handshake_bench(*, repeat: int, seconds: float)`` (optional module).
* ``tlsstate.bench.decrypt`` — ``run_decrypt_bench(*, repeat: int, seconds: float)`` (optional module).

``tlsstate speed`` calls the optional ones when they are importable and says "not available" otherwise.
"""
