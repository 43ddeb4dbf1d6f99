"""Events a sans-I/O :class:`~tlsstate.connection.Connection` hands to its user (h11/rustls style).

``Connection.next_event()`` returns one of these, or None when it needs more bytes.
Frozen dataclasses with slots: cheap, immutable, and they never carry secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from tlsstate.crypto.suites import CipherSuite


@dataclass(frozen=True, slots=True)
class HandshakeComplete:
    """Both Finished messages were exchanged and verified (RFC 5246 §7.4.9); application data may flow."""

    version: int
    cipher_suite: CipherSuite
    alpn: str | None
    #: The host name in the client's server_name extension (RFC 6066 §3), as both ends saw it: None when the client
    #: sent none (no ``server_name`` configured, or an IP address, which server_name cannot carry).
    server_name: str | None
    resumed: bool
    extended_master_secret: bool
    encrypt_then_mac: bool
    #: ECDHE curve or RFC 7919 FFDHE group used (NamedGroup value); None for RSA, resumption or an unnamed DH prime.
    key_exchange_group: int | None = None
    #: The peer's certificate chain, leaf first (RFC 5246 §7.4.2, §7.4.6): for a client the server's, for a
    #: server the client's when it sent one; on a resumed session the chain of the original handshake.
    #: Empty when the peer sent none (and for PSK/anonymous suites). Not part of ``==``: the two ends of one
    #: connection agree on every other field but each sees the other's chain.
    peer_certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False, compare=False)
    #: TLS 1.3: the server answered the first ClientHello with a HelloRetryRequest (RFC 9846 §4.1.4).
    hello_retry: bool = False
    #: True for a handshake after the first on the same connection (a secure renegotiation, RFC 5746).
    renegotiation: bool = False
    #: TLS 1.3: the server accepted the client's 0-RTT data (RFC 9846 §4.2.10). A client that sent early data and
    #: sees False: it was not delivered.
    early_data_accepted: bool = False


@dataclass(frozen=True, slots=True)
class ApplicationData:
    """Decrypted application data from one record (RFC 5246 §10)."""

    data: bytes
    #: TLS 1.3 server: 0-RTT data, sent before the handshake completed. It is not forward secret and may be a replay
    #: (RFC 9846 §8, Appendix E.5): act on it only if doing so twice is harmless.
    early_data: bool = False

    def __repr__(self) -> str:
        return f"ApplicationData(<{len(self.data)} bytes>{', early data' if self.early_data else ''})"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A warning alert from the peer that does not end the connection (RFC 5246 §7.2), e.g. no_renegotiation."""

    level: int
    description: int


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer is done: ``clean`` after its close_notify (RFC 5246 §7.2.1), False on a bare transport EOF."""

    clean: bool


@dataclass(frozen=True, slots=True)
class PeerCertificates:
    """TLS 1.3 post-handshake authentication (RFC 9846 §4.6.2) gave the client's verified chain, leaf first (empty
    when the client declined and none is required)."""

    peer_certificates: tuple[x509.Certificate, ...] = field(repr=False)


Event = HandshakeComplete | ApplicationData | AlertEvent | ConnectionClosed | PeerCertificates

__all__ = ["AlertEvent", "ApplicationData", "ConnectionClosed", "Event", "HandshakeComplete", "PeerCertificates"]
