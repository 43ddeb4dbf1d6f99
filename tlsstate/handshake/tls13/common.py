"""What the TLS 1.3 client and server states share (RFC 9846 §4, §7): the schedule steps that install traffic
keys and log their secrets, Finished, the ServerHello randoms with the downgrade sentinel, and the checks of which
extension may appear in which message.

Keys leave the handshake only as :class:`~tlsstate.handshake.outputs.InstallTrafficKeys` (one writer, one
epoch); the key log sees each secret under its NSS label through
:class:`~tlsstate.handshake.outputs.LogSecret`.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tlsstate.crypto import schedule13
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.crypto.schedule13 import KeySchedule13
from tlsstate.crypto.suites import CipherSuite
from tlsstate.handshake.common import Context, State
from tlsstate.handshake.outputs import EarlyExporter, InstallTrafficKeys, LogSecret, RecordVersion, Tls13Secrets
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import AlertDescription, ExtensionType, ProtocolVersion
from tlsstate.wire.errors import DecryptError, ProtocolError
from tlsstate.wire.keylog import TLS13_SECRET_LABELS
from tlsstate.wire.messages import Extension, ParseContext

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

#: legacy_version of a TLS 1.3 ClientHello / ServerHello and every protected record (RFC 9846 §4.1.2, §5.1).
LEGACY_VERSION = 0x0303
TLS13 = ProtocolVersion.TLS1_3

#: RFC 9846 §4.1.3: the last 8 bytes of ServerHello.random of a TLS 1.3-capable server negotiating an older version.
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"

E = ExtensionType
#: Where an extension may appear (RFC 9846 §4.2 table): in EncryptedExtensions ...
ENCRYPTED_EXTENSIONS_ALLOWED = frozenset({
    E.SERVER_NAME, E.MAX_FRAGMENT_LENGTH, E.SUPPORTED_GROUPS, E.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
    E.RECORD_SIZE_LIMIT, E.EARLY_DATA, 14, 15, 19, 20,  # use_srtp, heartbeat, client/server_certificate_type
})
#: ... in a ServerHello ...
SERVER_HELLO_ALLOWED = frozenset({E.SUPPORTED_VERSIONS, E.KEY_SHARE, E.PRE_SHARED_KEY})
#: ... and in a HelloRetryRequest.
HELLO_RETRY_ALLOWED = frozenset({E.SUPPORTED_VERSIONS, E.KEY_SHARE, E.COOKIE})
#: Extensions tlsstate recognises: one of them in a message that may not carry it is illegal_parameter (§4.2); an
#: unknown one the client did not offer is unsupported_extension.
KNOWN_EXTENSIONS = frozenset(int(e) for e in ExtensionType)


def random_bytes(length: int) -> bytes:
    """Randoms, legacy_session_id and ticket material (RFC 9846 §4.1.2, Appendix C.1); replaced in the RFC 8448
    trace tests to feed the trace's values."""
    return os.urandom(length)


def server_random(config: TLSConfig, version: int) -> bytes:
    """ServerHello.random: 32 random bytes, ending in the downgrade sentinel when we support TLS 1.3 and negotiate
    TLS 1.2 (``DOWNGRD 01``) or TLS 1.1 and below (``DOWNGRD 00``) (RFC 9846 §4.1.3)."""
    random = random_bytes(32)
    if not config.tls13_enabled or version >= TLS13:
        return random
    return random[:24] + (DOWNGRADE_TLS12 if version == ProtocolVersion.TLS1_2 else DOWNGRADE_TLS11)


def check_downgrade(random: bytes, version: int, *, offered_tls13: bool, offered_high: int) -> None:
    """Client: a server that wrote the downgrade sentinel while we offered TLS 1.3 (or, for ``DOWNGRD 00``, TLS 1.2)
    is illegal_parameter (RFC 9846 §4.1.3): someone removed the newer version from our offer."""
    tail = random[24:]
    high = offered_high
    if offered_tls13 and tail in (DOWNGRADE_TLS12, DOWNGRADE_TLS11):
        raise ProtocolError("ServerHello.random carries the TLS 1.3 downgrade sentinel", AlertDescription.ILLEGAL_PARAMETER)
    if high >= ProtocolVersion.TLS1_2 and version < ProtocolVersion.TLS1_2 and tail == DOWNGRADE_TLS11:
        raise ProtocolError("ServerHello.random carries the TLS 1.2 downgrade sentinel", AlertDescription.ILLEGAL_PARAMETER)


def enter_tls13(ctx: Context, n: Negotiated) -> None:
    """Fix TLS 1.3 and the suite: the transcript hash, the parse context, and the record version 0x0303 (which a
    receiver ignores, RFC 9846 §5.1)."""
    ctx.negotiated = n
    ctx.transcript.use_hash(TLS13, n.suite.prf_hash)
    ctx.parse_context = ParseContext(TLS13)
    ctx.emit(RecordVersion(LEGACY_VERSION, fixed=False))


def check_extensions(
    extensions: Sequence[Extension] | None, allowed: frozenset[int], offered: set[int], where: str
) -> None:
    """RFC 9846 §4.2: an extension the client did not offer is unsupported_extension; a known extension not allowed
    in this message is illegal_parameter."""
    for e in extensions or ():
        if e.type not in offered:
            raise ProtocolError(
                f"{where} carries {ext.extension_name(e.type)}, which the client did not offer",
                AlertDescription.UNSUPPORTED_EXTENSION,
            )
        if e.type not in allowed:
            raise ProtocolError(
                f"{ext.extension_name(e.type)} is not allowed in {where} (RFC 9846 §4.2)", AlertDescription.ILLEGAL_PARAMETER
            )


@dataclass
class Schedule:
    """One connection's key schedule as the handshake walks it (RFC 9846 §7.1), with the secrets it has reached
    (:class:`~tlsstate.handshake.outputs.Tls13Secrets`)."""

    suite: CipherSuite
    client_random: bytes
    tree: KeySchedule13 = field(repr=False)
    secrets: Tls13Secrets = field(repr=False)

    @classmethod
    def start(cls, suite: CipherSuite, client_random: bytes, psk: bytes | None = None) -> Schedule:
        """Early Secret from the PSK, or from zeros in a full handshake."""
        tree = KeySchedule13(suite.prf_hash, psk)
        return cls(suite, client_random, tree, Tls13Secrets(suite.prf_hash, tree.early_secret))

    def enter_early(self, ctx: Context, client_hello_hash: bytes, *, log: bool = True) -> bytes:
        """0-RTT (RFC 9846 §7.1): client_early_traffic_secret and early_exporter_master_secret over the ClientHello,
        logged (CLIENT_EARLY_TRAFFIC_SECRET, EARLY_EXPORTER_SECRET) and the early exporter handed to the connection,
        unless ``log`` is off (a client that did not send early data). Returns the first."""
        s = self.secrets
        s.client_early_traffic_secret = self.tree.client_early_traffic_secret(client_hello_hash)
        s.early_exporter_master_secret = self.tree.early_exporter_master_secret(client_hello_hash)
        if log:  # early data sent or accepted: the early exporter is there too (§7.5)
            self.log(ctx, "client_early_traffic_secret", s.client_early_traffic_secret)
            self.log(ctx, "early_exporter_master_secret", s.early_exporter_master_secret)
            ctx.emit(EarlyExporter(self.suite.prf_hash, s.early_exporter_master_secret))
        return s.client_early_traffic_secret

    def enter_handshake(self, ctx: Context, shared_secret: bytes | None) -> tuple[bytes, bytes]:
        """Handshake Secret from the (EC)DHE input (None for psk_ke: zeros, §7.1); the two handshake traffic secrets
        over ClientHello..ServerHello, logged. Returns (client, server) handshake traffic secrets."""
        s = self.secrets
        s.shared_secret = shared_secret
        s.handshake_secret = self.tree.enter_handshake(shared_secret)
        transcript = ctx.transcript.digest()
        s.client_handshake_traffic_secret = self.tree.client_handshake_traffic_secret(transcript)
        s.server_handshake_traffic_secret = self.tree.server_handshake_traffic_secret(transcript)
        self.log(ctx, "client_handshake_traffic_secret", s.client_handshake_traffic_secret)
        self.log(ctx, "server_handshake_traffic_secret", s.server_handshake_traffic_secret)
        return s.client_handshake_traffic_secret, s.server_handshake_traffic_secret

    def enter_master(self, ctx: Context) -> tuple[bytes, bytes]:
        """Master Secret; application traffic secrets 0 and the exporter master secret over ClientHello..server
        Finished, logged. Returns (client, server) application traffic secrets."""
        s = self.secrets
        s.master_secret = self.tree.enter_master()
        transcript = ctx.transcript.digest()
        s.client_application_traffic_secret_0 = self.tree.client_application_traffic_secret(transcript)
        s.server_application_traffic_secret_0 = self.tree.server_application_traffic_secret(transcript)
        s.exporter_master_secret = self.tree.exporter_master_secret(transcript)
        self.log(ctx, "client_application_traffic_secret_0", s.client_application_traffic_secret_0)
        self.log(ctx, "server_application_traffic_secret_0", s.server_application_traffic_secret_0)
        self.log(ctx, "exporter_master_secret", s.exporter_master_secret)
        return s.client_application_traffic_secret_0, s.server_application_traffic_secret_0

    def finish(self, ctx: Context) -> None:
        """resumption_master_secret over ClientHello..client Finished (RFC 9846 §7.1)."""
        self.secrets.resumption_master_secret = self.tree.resumption_master_secret(ctx.transcript.digest())

    def log(self, ctx: Context, name: str, secret: bytes) -> None:
        """Hand the secret called ``name`` (RFC 9846 §7.1) to the key log under its NSS label."""
        ctx.emit(LogSecret(TLS13_SECRET_LABELS[name], self.client_random, secret))

    def install(self, ctx: Context, writer: str, secret: bytes, label: str) -> None:
        """``writer``'s records are protected with ``secret`` from now on (RFC 9846 §7.3)."""
        ctx.emit(InstallTrafficKeys(writer, self.suite, secret, label))

    def finished(self, base_key: bytes, transcript_hash: bytes) -> bytes:
        """Finished.verify_data = HMAC(finished_key(base_key), transcript_hash) (RFC 9846 §4.4.4)."""
        return schedule13.finished_verify_data(self.suite.prf_hash, base_key, transcript_hash)


def check_finished(expected: bytes, received: bytes, sender: str) -> None:
    """A Finished that does not match is decrypt_error (RFC 9846 §4.4.4); compared in constant time."""
    if not hmac.compare_digest(expected, received):
        raise DecryptError(f"{sender} Finished verify_data does not match the handshake (RFC 9846 §4.4.4)")


class Tls13State(State):
    """A TLS 1.3 handshake state. A ChangeCipherSpec reaches it only where the table lets one in (between the first
    ClientHello and the peer's Finished); it is middlebox compatibility mode's dummy and is dropped (RFC 9846 §5)."""

    __slots__ = ()

    def handle_change_cipher_spec(self, ctx: Context) -> State:
        """Drop the unprotected ChangeCipherSpec (RFC 9846 §5; a protected one never gets here)."""
        return self


__all__ = [
    "DOWNGRADE_TLS11",
    "DOWNGRADE_TLS12",
    "ENCRYPTED_EXTENSIONS_ALLOWED",
    "HELLO_RETRY_ALLOWED",
    "KNOWN_EXTENSIONS",
    "LEGACY_VERSION",
    "SERVER_HELLO_ALLOWED",
    "Schedule",
    "Tls13State",
    "check_downgrade",
    "check_extensions",
    "check_finished",
    "enter_tls13",
    "random_bytes",
    "server_random",
]
