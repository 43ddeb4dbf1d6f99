"""tlsstate: the TLS connection state made real, fast and transparent.

Layers, bottom up (each imports only from those before it; docs/architecture.md):
``wire`` (constants, errors, codec, messages, extensions, key log format) -> ``crypto`` (suites, PRF,
TLS 1.3 schedule, the six values, key exchange, signatures, certificates) -> ``record`` (protection per
mode, deframer, half connections) -> ``sessions`` (session cache, ticket keys) -> ``handshake`` ->
``config`` / ``events`` / ``connection`` -> ``io``, ``capture``, ``bench`` -> ``cli``.
"""

from tlsstate import _moved

__version__ = "0.1.0"

_moved.install()
