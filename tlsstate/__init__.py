"""tlsstate: the TLS connection state made real, fast and transparent.

Layers (see docs/architecture.md): bytes (codec) -> records (record, protection) ->
handshake (messages, handshake/) -> connection (connection, io/) -> CLI (cli/).
"""

__version__ = "0.1.0"
