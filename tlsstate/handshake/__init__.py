"""TLS 1.0-1.2 (and SSL 3.0) handshake state machines, sans-I/O.

- :mod:`~tlsstate.handshake.states` — the transition table: which message each state accepts.
- :mod:`~tlsstate.handshake.client` / :mod:`~tlsstate.handshake.server` — one small class per state,
  each holding only the data valid in that state (RFC 5246 §7.3 message flow).
- :mod:`~tlsstate.handshake.common` — negotiation helpers shared by both roles.
- session caches and ticket keys live below, in :mod:`tlsstate.sessions`.
"""
