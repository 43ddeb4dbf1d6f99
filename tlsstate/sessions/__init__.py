"""Resumable sessions, below both the configuration and the handshakes that use them.

:mod:`~tlsstate.sessions.cache` (session-ID cache and client session store, RFC 5246 §7.3, §F.1.4) and
:mod:`~tlsstate.sessions.tickets` (RFC 5077 ticket keys: seal, open, rotate).
"""
