"""What one step of a handshake returns: the things its connection must do, in order (aioquic-style output
buffers, rustls-style returned states; the handshake never calls into its connection).

A step is :meth:`~tlsstate.handshake.machine.Handshake.start`, ``handle_message`` or
``handle_change_cipher_spec``; each returns a list of these outputs, which
:class:`~tlsstate.connection.Connection` carries out one after the other. Keys leave the handshake only through
:class:`InstallPendingKeys` (RFC 5246 §6.3); the connection turns them into record protections with
:func:`tlsstate.record.keying.protections_for`. TLS 1.3 (RFC 9846 §7.3) changes one direction at a time:
:class:`InstallTrafficKeys` carries one traffic secret for one writer and the next epoch, which the connection turns
into a protection with :func:`tlsstate.record.keying.traffic_protection`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from tlsstate.crypto.keys import ConnectionKeys, SecurityParameters
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.crypto.suites import CipherSuite
from tlsstate.wire.constants import AlertDescription


@dataclass
class HandshakeResult:
    """What the handshake agreed once the keys are known (RFC 5246 §8.1, §6.3): held by the states that wait for
    the Finished messages, and handed to the connection by :class:`HandshakeDone`."""

    negotiated: Negotiated
    master_secret: bytes = field(repr=False)
    premaster_secret: bytes | None = field(repr=False)  # None on a resumed session
    keys: ConnectionKeys
    #: The peer's chain, leaf first (RFC 5246 §7.4.2, §7.4.6); on a resumed session the original handshake's.
    peer_certificates: list[x509.Certificate]
    #: Both Finished verify_data (RFC 5246 §7.4.9), filled in as they are sent and checked: what a secure
    #: renegotiation's renegotiation_info carries (RFC 5746 §3.1).
    client_verify_data: bytes = field(default=b"", repr=False)
    server_verify_data: bytes = field(default=b"", repr=False)

    def security_parameters(self) -> SecurityParameters:
        """The connection state this handshake established (RFC 5246 §6.1, Appendix A.6)."""
        n = self.negotiated
        return SecurityParameters(
            version=n.version, suite=n.suite, client_random=n.client_random, server_random=n.server_random,
            premaster_secret=self.premaster_secret, master_secret=self.master_secret,
            extended_master_secret=n.extended_master_secret, encrypt_then_mac=n.encrypt_then_mac, keys=self.keys,
            session_id=n.session_id,
        )


@dataclass
class Tls13Secrets:
    """Every secret of one TLS 1.3 key schedule (RFC 9846 §7.1), for ``--show-keys`` and the exporter; filled as
    the handshake reaches each stage (None = not reached, or not in this handshake)."""

    hash_name: str
    early_secret: bytes = field(repr=False)
    #: 0-RTT (RFC 9846 §7.1): the client's early traffic secret and the early exporter master secret.
    client_early_traffic_secret: bytes | None = field(default=None, repr=False)
    early_exporter_master_secret: bytes | None = field(default=None, repr=False)
    shared_secret: bytes | None = field(default=None, repr=False)  # the (EC)DHE / KEM input (§7.4)
    handshake_secret: bytes | None = field(default=None, repr=False)
    client_handshake_traffic_secret: bytes | None = field(default=None, repr=False)
    server_handshake_traffic_secret: bytes | None = field(default=None, repr=False)
    master_secret: bytes | None = field(default=None, repr=False)
    client_application_traffic_secret_0: bytes | None = field(default=None, repr=False)
    server_application_traffic_secret_0: bytes | None = field(default=None, repr=False)
    exporter_master_secret: bytes | None = field(default=None, repr=False)
    resumption_master_secret: bytes | None = field(default=None, repr=False)


@dataclass
class Tls13Result:
    """What a TLS 1.3 handshake agreed (RFC 9846 §4): handed to the connection by :class:`HandshakeDone`."""

    negotiated: Negotiated
    secrets: Tls13Secrets
    #: The peer's chain, leaf first (RFC 9846 §4.4.2).
    peer_certificates: list[x509.Certificate]
    #: The server answered the first ClientHello with a HelloRetryRequest (§4.1.4).
    hello_retry: bool = False


@dataclass(frozen=True, slots=True)
class SendHandshake:
    """One encoded handshake message to send under the current write keys (RFC 5246 §7.4)."""

    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """The version field of the records we send (RFC 5246 Appendix E.1); ``fixed`` once the hellos agreed on
    it, and then every received record must carry it too."""

    version: int
    fixed: bool


@dataclass(frozen=True, slots=True)
class RecordLimits:
    """Largest plaintext per record we send / accept: at once for max_fragment_length (RFC 6066 §4), with the
    next keys for record_size_limit (``protected_only``, RFC 8449 §4)."""

    send: int
    receive: int
    protected_only: bool


@dataclass(frozen=True, slots=True)
class InstallPendingKeys:
    """The six values of this connection (RFC 5246 §6.3) become both directions' pending record protection.

    The one place keys leave the handshake; they take effect at :class:`ActivateWriteKeys` /
    :class:`ActivateReadKeys`.
    """

    negotiated: Negotiated
    keys: ConnectionKeys


@dataclass(frozen=True, slots=True)
class ActivateWriteKeys:
    """Send the queued handshake records and a ChangeCipherSpec, then seal with the pending keys (RFC 5246 §7.1)."""


@dataclass(frozen=True, slots=True)
class ActivateReadKeys:
    """The peer's ChangeCipherSpec arrived: open its next record with the pending keys (RFC 5246 §7.1)."""


@dataclass(frozen=True, slots=True)
class InstallTrafficKeys:
    """TLS 1.3 (RFC 9846 §7.3, §5.3): ``writer``'s records ("client" or "server") are protected from now on with
    the key and IV of ``secret``, a new epoch with sequence number 0. Ours: the handshake queued so far is sent
    under the old keys first; the peer's: its next record is opened with them (a handshake message may not span
    the change, §5.1)."""

    writer: str
    suite: CipherSuite
    secret: bytes = field(repr=False)
    #: Which secret, for the record layer's key label (e.g. ``server handshake traffic secret``).
    label: str


@dataclass(frozen=True, slots=True)
class SendCompatChangeCipherSpec:
    """The one unprotected ChangeCipherSpec of TLS 1.3 middlebox compatibility mode (RFC 9846 Appendix D.4),
    sent after the handshake records queued before it."""


@dataclass(frozen=True, slots=True)
class LogSecret:
    """A secret for the key log, under its NSS label (``CLIENT_HANDSHAKE_TRAFFIC_SECRET`` ..., the NSS key log format)."""

    label: str
    client_random: bytes
    secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class PeerAuthenticated:
    """TLS 1.3 post-handshake authentication succeeded (RFC 9846 §4.6.2): the client's verified chain."""

    certificates: list[x509.Certificate] = field(repr=False)


@dataclass(frozen=True, slots=True)
class SendWarning:
    """A warning alert that does not end the connection (no_renegotiation, RFC 5746 §4; no_certificate, RFC 6101
    §5.6.6), sent after the handshake records queued before it."""

    description: AlertDescription


@dataclass(frozen=True, slots=True)
class EarlyExporter:
    """TLS 1.3 (RFC 9846 §7.5): the early_exporter_master_secret of a client sending 0-RTT data, or of a server that
    accepted it, for :meth:`Connection.export_keying_material` with ``early=True``."""

    hash_name: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class StartEarlyData:
    """TLS 1.3 client (RFC 9846 §2.3, §4.2.10): after the ClientHello (and, with ``compat_change_cipher_spec``, the
    compatibility ChangeCipherSpec, Appendix D.4), the data queued with ``send_early_data`` goes out as application
    data records under the key and IV of the client early traffic ``secret``, by a writer of its own: the handshake
    records stay unprotected until the server answers (a HelloRetryRequest is answered in the clear). Every record
    from here on has legacy_record_version 0x0303 (§5.1)."""

    suite: CipherSuite
    secret: bytes = field(repr=False)
    compat_change_cipher_spec: bool = False


@dataclass(frozen=True, slots=True)
class EndEarlyData:
    """TLS 1.3 client: the early data writer's last record, EndOfEarlyData (``message``, already in the transcript)
    when the server accepted the early data (RFC 9846 §4.5); empty when it did not: nothing more is sent under the
    early key."""

    message: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class SkipEarlyData:
    """TLS 1.3 server, early data offered and rejected (RFC 9846 §4.2.10): records the client's handshake traffic key
    does not open (or, after a HelloRetryRequest, every protected record) are dropped, up to ``limit`` bytes, until
    one opens."""

    limit: int


@dataclass(frozen=True, slots=True)
class HandshakeDone:
    """Both Finished messages verified (RFC 5246 §7.4.9, RFC 9846 §4.4.4): what the connection publishes."""

    result: HandshakeResult | Tls13Result


Output = (
    SendHandshake | RecordVersion | RecordLimits | InstallPendingKeys | ActivateWriteKeys | ActivateReadKeys
    | SendWarning | HandshakeDone | InstallTrafficKeys | SendCompatChangeCipherSpec | LogSecret | PeerAuthenticated
    | StartEarlyData | EndEarlyData | SkipEarlyData | EarlyExporter
)

#: The two outputs without data, one instance each.
ACTIVATE_WRITE_KEYS = ActivateWriteKeys()
ACTIVATE_READ_KEYS = ActivateReadKeys()
SEND_COMPAT_CHANGE_CIPHER_SPEC = SendCompatChangeCipherSpec()

__all__ = [
    "ACTIVATE_READ_KEYS",
    "ACTIVATE_WRITE_KEYS",
    "SEND_COMPAT_CHANGE_CIPHER_SPEC",
    "ActivateReadKeys",
    "ActivateWriteKeys",
    "EarlyExporter",
    "EndEarlyData",
    "HandshakeDone",
    "HandshakeResult",
    "InstallPendingKeys",
    "InstallTrafficKeys",
    "LogSecret",
    "Output",
    "PeerAuthenticated",
    "RecordLimits",
    "RecordVersion",
    "SendCompatChangeCipherSpec",
    "SendHandshake",
    "SendWarning",
    "SkipEarlyData",
    "StartEarlyData",
    "Tls13Result",
    "Tls13Secrets",
]
