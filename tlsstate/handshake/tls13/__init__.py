"""The TLS 1.3 handshake, both roles (RFC 9846 §4): :mod:`.offer` builds the client's first ClientHello,
:mod:`.client` and :mod:`.server` hold the state classes, :mod:`.common` what both share (the key schedule steps,
key installs, Finished, the downgrade sentinel). They run in the one :class:`~tlsstate.handshake.machine.Handshake`
and its table (:mod:`tlsstate.handshake.states`), entered from the TLS 1.2 hello states when the hellos agree on
TLS 1.3."""
