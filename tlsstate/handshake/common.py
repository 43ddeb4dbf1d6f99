"""What the client and server states share: the state base class, the context a handler works in, and the key
schedule steps of both roles (RFC 5246 §7.3-§7.4, §8.1, RFC 7627).

A state is a frozen dataclass holding only the data valid in it (rustls ``ExpectServerKx``); its ``handle``
consumes a message and returns the next state, and whatever the connection must do meanwhile goes into the
:class:`Context`'s output buffer (:mod:`tlsstate.handshake.outputs`). Which messages a state accepts is the table
in :mod:`tlsstate.handshake.states`, enforced by :class:`~tlsstate.handshake.machine.Handshake` before ``handle``
runs.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, ClassVar

from tlsstate.crypto import prf
from tlsstate.crypto.negotiated import Negotiated, master_secret_for
from tlsstate.handshake.outputs import ACTIVATE_WRITE_KEYS, HandshakeResult, Output, RecordVersion, SendHandshake
from tlsstate.handshake.transcript import Transcript
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import (
    DecodeError,
    DecryptError,
    HandshakeFailure,
    IllegalParameter,
    InternalError,
    ProtocolError,
    ProtocolVersionError,
    UnexpectedMessage,
)
from tlsstate.wire.messages import Finished, HandshakeMessage, ParseContext, encode_handshake

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig
    from tlsstate.handshake.renegotiation import Renegotiation


FINISHED_LENGTH = 12  # verify_data_length in TLS 1.0-1.2 (RFC 5246 §7.4.9)


class State:
    """A handshake state. Subclasses handle the messages their row of the transition table accepts
    (``handle``) and, in the two WaitChangeCipherSpec states, the peer's ChangeCipherSpec."""

    __slots__ = ()

    #: True for the state after both Finished messages (the connection is established).
    connected: ClassVar[bool] = False
    #: TLS 1.3 server: application data now is the client's accepted 0-RTT data (RFC 9846 §4.2.10).
    reads_early_data: ClassVar[bool] = False

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """The next state after ``msg`` (one the table accepts in this state)."""
        raise InternalError(f"{type(self).__name__} has no message handler")

    def handle_change_cipher_spec(self, ctx: Context) -> State:
        """The next state after the peer's ChangeCipherSpec (RFC 5246 §7.1)."""
        raise InternalError(f"{type(self).__name__} has no ChangeCipherSpec handler")

    def renegotiation_refusal(self) -> str | None:
        """Why we cannot start a renegotiation in this state (RFC 5746), or None when we can."""
        return "a handshake is in progress"

    def renegotiation_starts(self, ctx: Context, msg_type: int) -> Renegotiation | None:
        """In a connected state: what the previous handshake leaves (RFC 5746 §3.1) when a message of
        ``msg_type`` starts a new handshake that is hashed from that message on; None otherwise."""
        return None


class Context:
    """What a handler works with: the configuration, the transcript, the parameters the hellos agreed, and the
    outputs of the step in progress (appended in order, returned by the step)."""

    __slots__ = ("config", "covered", "early_data_size", "negotiated", "outputs", "parse_context", "renegotiation",
                 "transcript")

    def __init__(self, config: TLSConfig) -> None:
        self.config = config
        self.outputs: list[Output] = []
        #: TLS 1.3 client: bytes of 0-RTT data the application queued before the ClientHello (RFC 9846 §4.2.10).
        self.early_data_size = 0
        self.restart(None)

    def restart(self, renegotiation: Renegotiation | None) -> None:
        """A new handshake: an empty transcript, nothing agreed. ``renegotiation``: what the previous handshake on
        this connection left (RFC 5746 §3.1), None for the initial handshake."""
        self.transcript = Transcript()
        self.negotiated: Negotiated | None = None
        self.parse_context = ParseContext(int(self.config.version_range()[1]))
        #: What the received message being handled signs or MACs: the transcript before it (RFC 5246 §7.4.8,
        #: §7.4.9); set for CertificateVerify and Finished only.
        self.covered = b""
        self.renegotiation = renegotiation

    def send(self, msg: HandshakeMessage) -> None:
        """Encode ``msg``, add it to the transcript and queue it (RFC 5246 §7.4)."""
        data = encode_handshake(msg, version=self.negotiated.version if self.negotiated else None)
        self.transcript.add(data)
        self.outputs.append(SendHandshake(data))

    def send_unhashed(self, msg: HandshakeMessage) -> None:
        """Queue ``msg`` without adding it to the transcript: a HelloRequest (RFC 5246 §7.4.1.1)."""
        self.outputs.append(SendHandshake(encode_handshake(msg)))

    def emit(self, output: Output) -> None:
        """Queue something else for the connection to do (keys, limits, a warning, the result)."""
        self.outputs.append(output)

    def set_negotiated(self, n: Negotiated) -> None:
        """Fix version and suite: the transcript hash, the parse context and the record version follow them."""
        self.negotiated = n
        self.transcript.use_hash(int(n.version), n.suite.prf_hash)
        self.parse_context = ParseContext(int(n.version), n.suite.key_exchange)
        self.outputs.append(RecordVersion(int(n.version), fixed=True))


def compute_master_secret(n: Negotiated, premaster: bytes, transcript: Transcript) -> bytes:
    """:func:`~tlsstate.crypto.negotiated.master_secret_for` with the session hash of ``transcript``, which runs
    up to and including ClientKeyExchange (RFC 7627 §3)."""
    return master_secret_for(n, premaster, transcript.digest() if n.extended_master_secret else None)


def verify_data(n: Negotiated, master: bytes, basis: bytes, from_client: bool) -> bytes:
    """Finished.verify_data (RFC 5246 §7.4.9; RFC 6101 §5.6.9 for SSL 3.0).

    ``basis`` is :meth:`Transcript.finished_basis`: Hash(handshake_messages) in TLS, the messages in SSL 3.0.
    """
    if n.version == ProtocolVersion.SSL3:
        return prf.finished_verify_data(n.version, n.suite.prf_hash, master, basis, from_client)
    label = b"client finished" if from_client else b"server finished"
    return prf.prf(n.version, n.suite.prf_hash, master, label, basis, FINISHED_LENGTH)


def send_finished(ctx: Context, result: HandshakeResult, *, from_client: bool) -> None:
    """Our ChangeCipherSpec, then our Finished over the transcript so far (RFC 5246 §7.1, §7.4.9); its verify_data
    is kept in ``result`` (RFC 5746 §3.1)."""
    ctx.emit(ACTIVATE_WRITE_KEYS)
    basis = ctx.transcript.finished_basis()
    data = verify_data(result.negotiated, result.master_secret, basis, from_client=from_client)
    _keep_verify_data(result, data, from_client=from_client)
    ctx.send(Finished(data))


def check_finished(expected: bytes, received: bytes, sender: str) -> None:
    """Compare verify_data in constant time; a mismatch is decrypt_error (RFC 5246 §7.4.9)."""
    if not hmac.compare_digest(expected, received):
        raise DecryptError(f"{sender} Finished verify_data does not match the handshake")


def _keep_verify_data(result: HandshakeResult, data: bytes, *, from_client: bool) -> None:
    if from_client:
        result.client_verify_data = data
    else:
        result.server_verify_data = data


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
    "FINISHED_LENGTH",
    "Context",
    "HandshakeResult",
    "State",
    "check_finished",
    "compute_master_secret",
    "require",
    "verify_data",
]
