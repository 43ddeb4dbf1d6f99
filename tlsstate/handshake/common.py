"""What the client and server handshakes share: negotiated parameters, the transcript, dispatch
through the transition table, and the key schedule steps (RFC 5246 §7.3-§7.4, §8.1, RFC 7627).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from cryptography import x509

from tlsstate.crypto import prf
from tlsstate.crypto.keys import ConnectionKeys
from tlsstate.crypto.negotiated import Negotiated, connection_keys_for, encrypt_then_mac_applies, master_secret_for
from tlsstate.crypto.suites import CipherSuite
from tlsstate.handshake.states import CCS, check_input, check_next
from tlsstate.handshake.transcript import Transcript
from tlsstate.wire.constants import AlertDescription, HandshakeType, ProtocolVersion
from tlsstate.wire.errors import (
    DecodeError,
    DecryptError,
    HandshakeFailure,
    IllegalParameter,
    ProtocolError,
    ProtocolVersionError,
    UnexpectedMessage,
)
from tlsstate.wire.messages import HandshakeMessage, ParseContext, RawHandshake, encode_handshake, parse_message

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig


FINISHED_LENGTH = 12  # verify_data_length in TLS 1.0-1.2 (RFC 5246 §7.4.9)


class HandshakeHost(Protocol):
    """What a handshake needs from its connection (implemented by :class:`~tlsstate.connection.Connection`)."""

    def queue_handshake(self, data: bytes) -> None: ...
    def send_change_cipher_spec(self) -> None: ...
    def set_record_limits(self, send: int, receive: int, *, protected_only: bool) -> None: ...
    def activate_read_pending(self) -> None: ...
    def install_pending(self, suite: CipherSuite, version: int, keys: ConnectionKeys, encrypt_then_mac: bool) -> None: ...
    def set_version(self, version: int) -> None: ...
    def send_warning(self, description: AlertDescription) -> None: ...
    def handshake_finished(self, result: HandshakeResult) -> None: ...


@dataclass
class HandshakeResult:
    """What a finished handshake hands to the connection."""

    negotiated: Negotiated
    master_secret: bytes = field(repr=False)
    premaster_secret: bytes | None = field(repr=False)
    keys: ConnectionKeys
    peer_certificates: list[x509.Certificate]


def compute_master_secret(n: Negotiated, premaster: bytes, transcript: Transcript) -> bytes:
    """:func:`~tlsstate.crypto.negotiated.master_secret_for` with the session hash of ``transcript``, which runs
    up to and including ClientKeyExchange (RFC 7627 §3)."""
    return master_secret_for(n, premaster, transcript.digest() if n.extended_master_secret else None)


derive_keys = connection_keys_for


def verify_data(n: Negotiated, master: bytes, basis: bytes, from_client: bool) -> bytes:
    """Finished.verify_data (RFC 5246 §7.4.9; RFC 6101 §5.6.9 for SSL 3.0).

    ``basis`` is :meth:`Transcript.finished_basis`: Hash(handshake_messages) in TLS, the messages in SSL 3.0.
    """
    if n.version == ProtocolVersion.SSL3:
        return prf.finished_verify_data(n.version, n.suite.prf_hash, master, basis, from_client)
    label = b"client finished" if from_client else b"server finished"
    return prf.prf(n.version, n.suite.prf_hash, master, label, basis, FINISHED_LENGTH)


def check_finished(expected: bytes, received: bytes, sender: str) -> None:
    """Compare verify_data in constant time; a mismatch is decrypt_error (RFC 5246 §7.4.9)."""
    if not hmac.compare_digest(expected, received):
        raise DecryptError(f"{sender} Finished verify_data does not match the handshake")


class State:
    """Base of every handshake state: ``name`` is its row in the transition table."""

    name: ClassVar[str] = "?"


class HandshakeMachine:
    """Runs messages through the transition table and keeps the transcript (RFC 5246 §7.4.9).

    Subclasses define ``on_<input>(state, message)`` handlers per state class; each returns the
    next state, which must be on the state's row of :data:`~tlsstate.handshake.states.TRANSITIONS`.
    """

    is_client: ClassVar[bool]

    def __init__(self, host: HandshakeHost, config: TLSConfig) -> None:
        self.host = host
        self.config = config
        self.transcript = Transcript()
        self._finished_basis = b""  # what the peer's Finished being handled covers
        self.state: State = self.initial_state()
        self.parse_context = ParseContext(int(config.version_range()[1]))
        self.negotiated: Negotiated | None = None

    # ----------------------------------------------------------------- plumbing

    def initial_state(self) -> State:
        """The state before any message."""
        raise NotImplementedError

    @property
    def connected(self) -> bool:
        """True once both Finished messages are verified."""
        return self.state.name.endswith("Connected")

    def peer_finished_basis(self) -> bytes:
        """The transcript basis without the peer's Finished being handled (what its verify_data covers)."""
        return self._finished_basis

    def send(self, msg: HandshakeMessage) -> None:
        """Encode, add to the transcript and queue a handshake message (RFC 5246 §7.4)."""
        version = self.negotiated.version if self.negotiated else None
        data = encode_handshake(msg, version=version)
        self.transcript.add(data)
        self.host.queue_handshake(data)

    def _transition(self, received: int | str, handler: str, arg: Any, *, checked: bool = False) -> None:
        state = self.state
        if not checked:
            check_input(state.name, received)
        method = getattr(self, f"{handler}_{type(state).__name__}")
        next_state: State = method(state, arg)
        check_next(state.name, received, next_state.name)
        self.state = next_state

    def handle_message(self, raw: RawHandshake) -> None:
        """One whole handshake message from the peer."""
        if self.ignore_message(raw):
            return
        check_input(self.state.name, raw.msg_type)
        msg = parse_message(raw, self.parse_context)
        if not self.connected:
            if raw.msg_type == HandshakeType.FINISHED:
                self._finished_basis = self.transcript.finished_basis()
            self.transcript.add(raw.raw)
        self._transition(raw.msg_type, "on", msg, checked=True)

    def handle_change_cipher_spec(self) -> None:
        """A ChangeCipherSpec record (RFC 5246 §7.1): allowed only where the table says."""
        self._transition(CCS, "on_ccs", None)

    def ignore_message(self, raw: RawHandshake) -> bool:
        """Messages skipped without a transition (client: HelloRequest mid-handshake, RFC 5246 §7.4.1.1)."""
        return False

    # ----------------------------------------------------------------- shared steps

    def set_negotiated(self, n: Negotiated) -> None:
        """Fix version and suite: record version and the parse context follow them."""
        self.negotiated = n
        self.transcript.use_hash(int(n.version), n.suite.prf_hash)
        self.parse_context = ParseContext(int(n.version), n.suite.key_exchange)
        self.host.set_version(int(n.version))


_ERROR_FOR_ALERT: dict[AlertDescription, type[ProtocolError]] = {
    AlertDescription.DECODE_ERROR: DecodeError,
    AlertDescription.ILLEGAL_PARAMETER: IllegalParameter,
    AlertDescription.HANDSHAKE_FAILURE: HandshakeFailure,
    AlertDescription.UNEXPECTED_MESSAGE: UnexpectedMessage,
    AlertDescription.PROTOCOL_VERSION: ProtocolVersionError,
    AlertDescription.DECRYPT_ERROR: DecryptError,
}


def require(condition: bool, message: str, alert: AlertDescription) -> None:
    """Raise the typed error for ``alert`` (a ProtocolError carrying it) unless ``condition`` holds."""
    if not condition:
        error = _ERROR_FOR_ALERT.get(alert)
        if error is not None:
            raise error(message)
        raise ProtocolError(message, alert)


__all__ = [
    "HandshakeHost",
    "HandshakeMachine",
    "HandshakeResult",
    "HandshakeType",
    "Negotiated",
    "State",
    "check_finished",
    "compute_master_secret",
    "derive_keys",
    "encrypt_then_mac_applies",
    "require",
    "verify_data",
]
