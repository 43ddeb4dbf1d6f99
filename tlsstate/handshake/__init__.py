"""Handshake state machines, sans-I/O: SSL 3.0 and TLS 1.0-1.2 here, TLS 1.3 (RFC 9846) in :mod:`tlsstate.handshake.tls13`.

- :mod:`~tlsstate.handshake.states` — the transition table, keyed by the state classes: which input each state
  accepts and where it may lead (drawn in ``docs/handshake-states.md``).
- :mod:`~tlsstate.handshake.client_states` / :mod:`~tlsstate.handshake.server_states` — one frozen class per
  state, holding only the data valid in it and handling its own messages (RFC 5246 §7.3 message flow);
  :mod:`~tlsstate.handshake.server_choices` — what a server decides from a ClientHello.
- :mod:`~tlsstate.handshake.client` / :mod:`~tlsstate.handshake.server` — :class:`ClientHandshake` and
  :class:`ServerHandshake`, driven by the connection through :mod:`~tlsstate.handshake.machine`.
- :mod:`~tlsstate.handshake.outputs` — what each step returns for the connection to carry out (messages to
  send, pending keys, key activation, record limits and version, warnings, the result).
- :mod:`~tlsstate.handshake.common` — the state base class, the handler context, key schedule steps of both roles;
  :mod:`~tlsstate.handshake.hellos` — the hello extension readers (shared with the capture follower);
  :mod:`~tlsstate.handshake.crypto` — the public-key steps; :mod:`~tlsstate.handshake.transcript`;
  :mod:`~tlsstate.handshake.renegotiation` — secure renegotiation (RFC 5746).
- :mod:`~tlsstate.handshake.tls13` — the TLS 1.3 states of both roles, rows of the same table, entered at the hello
  states' branching points.
- session caches and ticket keys live below, in :mod:`tlsstate.sessions`.
"""
