"""TLS 1.3 post-handshake client authentication (RFC 9846 §4.6.2, §4.4): a server that saw ``post_handshake_auth``
in the ClientHello sends a CertificateRequest with a fresh context after the handshake; the client answers with
Certificate, CertificateVerify (when it has a certificate) and Finished.

The Handshake Context is the whole handshake (ClientHello .. client Finished) followed by the CertificateRequest
and the client's messages; the Finished base key is the client's current application traffic secret (§4.4). Each
exchange starts again from the end of the handshake, so the connected states keep the handshake's messages
(``handshake_transcript``), and these states hash their own. The server's states are the three below; the client
answers in one step (:func:`answer`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tlsstate.crypto import schedule13, signatures13
from tlsstate.handshake import crypto
from tlsstate.handshake.common import Context, State, require
from tlsstate.handshake.outputs import PeerAuthenticated
from tlsstate.handshake.tls13.common import check_finished, random_bytes
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import AlertDescription, ExtensionType
from tlsstate.wire.errors import DecodeError
from tlsstate.wire.messages import CertificateVerify, Finished, HandshakeMessage, encode_handshake
from tlsstate.wire.messages13 import Certificate13, CertificateRequest13

_ILLEGAL = AlertDescription.ILLEGAL_PARAMETER


@dataclass(frozen=True)
class Exchange:
    """What one post-handshake authentication starts from: whether the ClientHello offered it, the handshake's
    messages, the suite hash and the client's current application traffic secret (the Finished base key)."""

    offered: bool
    handshake_transcript: bytes = field(repr=False)
    hash_name: str
    client_secret: bytes = field(repr=False)

    def hash(self, data: bytes) -> bytes:
        return schedule13.transcript_hash(self.hash_name, data)

    def finished(self, data: bytes) -> bytes:
        return schedule13.finished_verify_data(self.hash_name, self.client_secret, self.hash(data))


def answer(ctx: Context, exchange: Exchange, request: CertificateRequest13) -> None:
    """Client: our chain and CertificateVerify when our key fits a scheme the server asks for, else an empty
    Certificate; then Finished with the current client application traffic secret as base key (RFC 9846 §4.6.2)."""
    require(exchange.offered, "CertificateRequest after the handshake, but we did not offer "
            "post_handshake_auth (RFC 9846 §4.6.2)", AlertDescription.UNEXPECTED_MESSAGE)
    require(bool(request.certificate_request_context), "post-handshake CertificateRequest with an empty context",
            _ILLEGAL)
    config = ctx.config
    found = ext.find_extension(request.extensions, ExtensionType.SIGNATURE_ALGORITHMS)
    require(found is not None, "CertificateRequest without signature_algorithms", AlertDescription.MISSING_EXTENSION)
    assert found is not None
    asked = ext.parse_signature_algorithms(found.data)
    key, chain = config.client_private_key, config.client_certificate_chain
    scheme = next((s for s in config.effective_tls13_signature_schemes()
                   if key is not None and s in asked and signatures13.fits(s, key)), None)
    transcript = exchange.handshake_transcript + encode_handshake(request)
    context = request.certificate_request_context
    messages: list[Certificate13 | CertificateVerify] = []
    if key is None or not chain or scheme is None:
        messages.append(Certificate13(context, ()))
        transcript += encode_handshake(messages[0])
    else:
        certificate = Certificate13.of(tuple(c.public_bytes(Encoding.DER) for c in chain), context)
        transcript += encode_handshake(certificate)
        verify = CertificateVerify(signatures13.sign(key, scheme, exchange.hash(transcript), by_server=False), scheme)
        transcript += encode_handshake(verify)
        messages += [certificate, verify]
    for msg in messages:
        ctx.send(msg)
    ctx.send(Finished(exchange.finished(transcript)))


def request(ctx: Context, connected: State, exchange: Exchange) -> State:
    """Server: a CertificateRequest with a fresh context and the schemes we verify (RFC 9846 §4.6.2); ``connected``
    is the state to return to."""
    message = CertificateRequest13(random_bytes(16), (
        ext.build_signature_algorithms(ctx.config.effective_tls13_signature_schemes()),
    ))
    ctx.send(message)
    return ServerWaitPostHandshakeCertificate(
        connected, exchange, message.certificate_request_context,
        exchange.handshake_transcript + encode_handshake(message),
    )


@dataclass(frozen=True)
class _Waiting(State):
    """What the server's post-handshake authentication states hold: the connection's state to return to, the
    request's context and the messages of this exchange so far (after the handshake's)."""

    connected_state: State = field(repr=False)
    exchange: Exchange = field(repr=False)
    context: bytes = field(repr=False)
    transcript: bytes = field(repr=False)

    #: The connection stays established meanwhile (these messages are not part of the handshake transcript).
    connected: ClassVar[bool] = True


@dataclass(frozen=True)
class ServerWaitPostHandshakeCertificate(_Waiting):
    """We sent a post-handshake CertificateRequest (RFC 9846 §4.6.2); the client's Certificate comes first."""

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """The context we sent (illegal_parameter otherwise); an empty list is certificate_required when one is
        required (§4.4.2.4); a chain is verified against client_cafile."""
        assert isinstance(msg, Certificate13)
        require(msg.certificate_request_context == self.context, "client Certificate with another request context",
                _ILLEGAL)
        transcript = self.transcript + encode_handshake(msg)
        if not msg.entries:
            require(ctx.config.verify_client != "required", "client sent no certificate, and one is required",
                    AlertDescription.CERTIFICATE_REQUIRED)
            return ServerWaitPostHandshakeFinished(self.connected_state, self.exchange, self.context, transcript, [])
        chain, _ = crypto.load_peer_certificates13(msg.certificates)
        crypto.verify_client_chain(chain, ctx.config.client_cafile)
        return ServerWaitPostHandshakeCertificateVerify(self.connected_state, self.exchange, self.context, transcript,
                                                        chain)


@dataclass(frozen=True)
class ServerWaitPostHandshakeCertificateVerify(_Waiting):
    """The client's post-handshake certificate; its CertificateVerify proves the key (RFC 9846 §4.4.3)."""

    peer_certificates: list[x509.Certificate] = field(default_factory=list, repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """A scheme we asked for that fits the certificate, over the client context string and this exchange."""
        assert isinstance(msg, CertificateVerify)
        if msg.signature_scheme is None:
            raise DecodeError("TLS 1.3 CertificateVerify without a signature scheme")
        key = self.peer_certificates[0].public_key()
        assert isinstance(key, signatures13.PublicKey)
        signatures13.verify(key, msg.signature_scheme, ctx.config.effective_tls13_signature_schemes(),
                            self.exchange.hash(self.transcript), msg.signature, by_server=False)
        return ServerWaitPostHandshakeFinished(
            self.connected_state, self.exchange, self.context, self.transcript + encode_handshake(msg),
            self.peer_certificates,
        )


@dataclass(frozen=True)
class ServerWaitPostHandshakeFinished(_Waiting):
    """The client's Finished closes its post-handshake authentication (RFC 9846 §4.4.4)."""

    peer_certificates: list[x509.Certificate] = field(default_factory=list, repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """Finished with the client's current application traffic secret as base key; the connection then knows the
        client's chain (:class:`~tlsstate.handshake.outputs.PeerAuthenticated`)."""
        assert isinstance(msg, Finished)
        check_finished(self.exchange.finished(self.transcript), msg.verify_data, "client (post-handshake authentication)")
        ctx.emit(PeerAuthenticated(list(self.peer_certificates)))
        return self.connected_state


__all__ = [
    "Exchange",
    "ServerWaitPostHandshakeCertificate",
    "ServerWaitPostHandshakeCertificateVerify",
    "ServerWaitPostHandshakeFinished",
    "answer",
    "request",
]
