"""The TLS 1.0-1.2 server's states (RFC 5246 §7.3 Figures 1-2, Appendix E.1; RFC 8422; RFC 7627; RFC 7366;
RFC 5746; RFC 7301; RFC 6066; RFC 7507; RFC 5077).

One frozen class per state, holding only what is valid in it; ``handle`` consumes the state and a message the
table (:data:`~tlsstate.handshake.states.TRANSITIONS`) lets in, and returns the next state. The negotiation a
ClientHello starts (suite, groups, ALPN, record limits, resumption) is in :mod:`~tlsstate.handshake.server_choices`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from tlsstate.crypto import certs
from tlsstate.crypto.negotiated import Negotiated, connection_keys_for
from tlsstate.crypto.suites import KeyExchange
from tlsstate.handshake import crypto
from tlsstate.handshake.common import (
    Context,
    State,
    check_finished,
    compute_master_secret,
    require,
    send_finished,
    verify_data,
)
from tlsstate.handshake.outputs import (
    ACTIVATE_READ_KEYS,
    HandshakeDone,
    HandshakeResult,
    InstallPendingKeys,
    SendWarning,
)
from tlsstate.handshake.renegotiation import Renegotiation, check_renegotiating_client_hello, renegotiation_after
from tlsstate.handshake.server_choices import (
    ECDHE,
    Offer,
    choose_alpn,
    choose_suite,
    encrypt_then_mac_for,
    read_client_hello,
    server_hello,
    session_to_resume,
    unrecognized_name_warning,
)
from tlsstate.handshake.tls13 import server as tls13_server
from tlsstate.handshake.tls13.common import server_random
from tlsstate.sessions.cache import Session
from tlsstate.wire.constants import AlertDescription, HandshakeType, ProtocolVersion
from tlsstate.wire.errors import ConfigurationError, HandshakeFailure
from tlsstate.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    Finished,
    HandshakeMessage,
    HelloRequest,
    NewSessionTicket,
    ServerHelloDone,
    ServerKeyExchange,
)

#: Our ephemeral key: (EC)DHE suites only (RFC 5246 §7.4.3), None for RSA key transport.
EphemeralKey = crypto.EcdheKeyPair | crypto.DheKeyPair | None


# ------------------------------------------------------------------------------------------ ClientHello


@dataclass(frozen=True)
class ServerWaitClientHello(State):
    """Nothing received yet."""

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """Negotiate version (Appendix E.1), suite, group, extensions; resume when we can (§7.3). A ClientHello
        offering TLS 1.3 that we accept goes to :func:`tlsstate.handshake.tls13.server.answer_client_hello`."""
        assert isinstance(msg, ClientHello)
        previous = ctx.renegotiation
        if previous is None and tls13_server.negotiates_tls13(ctx.config, msg):  # a renegotiation stays in <= 1.2
            return tls13_server.answer_client_hello(ctx, msg)
        if ctx.config.private_key is None:  # a TLS 1.3 PSK-only server
            raise HandshakeFailure("TLS 1.0-1.2 need a server certificate; this server has only a TLS 1.3 PSK")
        version, offer = read_client_hello(ctx.config, msg, renegotiating=previous is not None)
        if previous is not None:  # RFC 5746 §3.7
            version = check_renegotiating_client_hello(
                previous, msg.cipher_suites, offer.renegotiation_info, offer.extended_master_secret, msg.version
            )
            offer.renegotiated_connection = previous.server_renegotiated_connection
        resumed = _resume(ctx, msg, version, offer)
        if resumed is not None:
            return resumed
        return _full_handshake(ctx, msg, version, offer)


def _full_handshake(ctx: Context, msg: ClientHello, version: ProtocolVersion, offer: Offer) -> State:
    """Our first flight (RFC 5246 §7.3 Figure 1): ServerHello, Certificate, [ServerKeyExchange],
    [CertificateRequest], ServerHelloDone."""
    config = ctx.config
    suite, group, scheme = choose_suite(config, msg, version, offer)
    n = Negotiated(
        version=version,
        suite=suite,
        client_random=msg.random,
        server_random=server_random(ctx.config, version),
        session_id=os.urandom(32) if config.session_cache is not None else b"",
        client_version=msg.version,
        extended_master_secret=(  # RFC 7627 is defined for TLS only
            offer.extended_master_secret and config.extended_master_secret and version > ProtocolVersion.SSL3
        ),
        encrypt_then_mac=encrypt_then_mac_for(config, offer, suite, version),
        alpn=choose_alpn(config, offer),
        server_name=offer.server_name,
        session_ticket=(  # RFC 5077 §3.2: only when the client sent the extension
            offer.session_ticket is not None and config.ticket_keys is not None and version > ProtocolVersion.SSL3
        ),
        key_exchange_group=group if suite.key_exchange is not KeyExchange.RSA else None,
        secure_renegotiation=offer.secure_renegotiation,
    )
    ctx.set_negotiated(n)
    if unrecognized_name_warning(offer, version):  # before the ServerHello, as OpenSSL sends it
        ctx.emit(SendWarning(AlertDescription.UNRECOGNIZED_NAME))
    ctx.send(server_hello(ctx, n, offer, ecc=suite.key_exchange in ECDHE))
    ctx.send(Certificate(_chain_der(tuple(config.certificate_chain))))
    key = _send_server_key_exchange(ctx, n, scheme)
    if config.verify_client != "none":
        ctx.send(_certificate_request(ctx, version))
        ctx.send(ServerHelloDone())
        return ServerWaitClientCertificate(n, key)
    ctx.send(ServerHelloDone())
    return ServerWaitClientKeyExchange(n, key)


def _send_server_key_exchange(ctx: Context, n: Negotiated, scheme: int | None) -> EphemeralKey:
    """ServerKeyExchange for (EC)DHE suites (RFC 5246 §7.4.3, RFC 8422 §5.4), signed over both randoms and the
    params; nothing for RSA key transport. Returns our ephemeral key."""
    kx, group, private_key = n.suite.key_exchange, n.key_exchange_group, ctx.config.private_key
    assert private_key is not None
    key: EphemeralKey
    if kx is KeyExchange.DHE_RSA:
        assert group is not None
        key = crypto.dhe_generate_server(group)
        ske = ServerKeyExchange.build(kx, dh_p=key.p_bytes, dh_g=key.g_bytes, dh_public=key.public_bytes)
    elif kx in ECDHE:
        assert group is not None
        key, public = crypto.ecdhe_generate(group)
        ske = ServerKeyExchange.build(kx, named_group=group, ec_public=public)
    else:
        return None
    signature = crypto.sign_params(private_key, n.version, scheme, n.client_random + n.server_random + ske.params)
    ctx.send(dataclasses.replace(ske, signature_scheme=scheme, signature=signature))
    return key


def _certificate_request(ctx: Context, version: int) -> CertificateRequest:
    """RFC 5246 §7.4.4: rsa_sign and ecdsa_sign (RFC 8422 §5.5), our TLS 1.2 schemes, our CAs' names."""
    schemes: tuple[int, ...] = ()
    if version >= ProtocolVersion.TLS1_2:
        schemes = tuple(int(s) for s in ctx.config.effective_signature_schemes())
    types = bytes([_RSA_SIGN]) if version == ProtocolVersion.SSL3 else bytes([_RSA_SIGN, _ECDSA_SIGN])
    return CertificateRequest(types, schemes, _authority_names(ctx.config.client_cafile))


def _resume(ctx: Context, msg: ClientHello, version: ProtocolVersion, offer: Offer) -> State | None:
    """Abbreviated handshake (RFC 5246 §7.3 Figure 2) when :func:`session_to_resume` finds the session: ServerHello,
    [NewSessionTicket (RFC 5077 §3.3)], ChangeCipherSpec, Finished."""
    found = session_to_resume(ctx.config, msg, version, offer)
    if found is None:
        return None
    session, suite, renew = found
    n = Negotiated(
        version=version,
        suite=suite,
        client_random=msg.random,
        server_random=server_random(ctx.config, version),
        session_id=session.session_id,
        client_version=msg.version,
        extended_master_secret=session.extended_master_secret,
        encrypt_then_mac=encrypt_then_mac_for(ctx.config, offer, suite, version),
        alpn=choose_alpn(ctx.config, offer),
        server_name=offer.server_name,
        resumed=True,
        session_ticket=renew is not None,  # RFC 5077 §3.3: the empty extension announces the new ticket
        secure_renegotiation=offer.secure_renegotiation,
    )
    ctx.set_negotiated(n)
    ctx.send(server_hello(ctx, n, offer, ecc=False))
    ticket_keys = ctx.config.ticket_keys
    if renew is not None and ticket_keys is not None:  # RFC 5077 §3.3: NewSessionTicket after ServerHello
        ctx.send(NewSessionTicket(ticket_keys.lifetime_hint, ticket_keys.seal(session, created=renew.created)))
    peers = [x509.load_der_x509_certificate(der) for der in session.peer_certificates]
    result = HandshakeResult(n, session.master_secret, None, connection_keys_for(n, session.master_secret), peers)
    ctx.emit(InstallPendingKeys(n, result.keys))
    send_finished(ctx, result, from_client=False)
    return ServerWaitChangeCipherSpec(result)



# ------------------------------------------------------------------------------------------ the client's flight


@dataclass(frozen=True)
class ServerWaitClientCertificate(State):
    """We sent a CertificateRequest (RFC 5246 §7.4.4); the client's Certificate comes first (§7.4.6)."""

    negotiated: Negotiated
    ephemeral_key: EphemeralKey = field(repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.6: an empty list is allowed unless verify_client is "required" (then handshake_failure);
        a chain is verified against client_cafile (bad_certificate / unknown_ca / certificate_expired)."""
        n, config = self.negotiated, ctx.config
        if isinstance(msg, ClientKeyExchange):  # SSL 3.0: no Certificate, a no_certificate warning instead
            require(n.version == ProtocolVersion.SSL3, "ClientKeyExchange before the requested Certificate",
                    AlertDescription.UNEXPECTED_MESSAGE)
            if config.verify_client == "required":
                raise HandshakeFailure("client sent no certificate, and one is required (RFC 6101 §5.6.6)")
            return ServerWaitClientKeyExchange(n, self.ephemeral_key).handle(ctx, msg)
        assert isinstance(msg, Certificate)
        if not msg.certificates:
            if config.verify_client == "required":
                raise HandshakeFailure("client sent no certificate, and one is required (RFC 5246 §7.4.6)")
            return ServerWaitClientKeyExchange(n, self.ephemeral_key)
        chain, _ = crypto.load_peer_certificates(msg.certificates)
        crypto.verify_client_chain(chain, config.client_cafile)
        return ServerWaitClientKeyExchange(n, self.ephemeral_key, chain)


@dataclass(frozen=True)
class ServerWaitClientKeyExchange(State):
    """Our flight (ServerHello .. ServerHelloDone) sent."""

    negotiated: Negotiated
    ephemeral_key: EphemeralKey = field(repr=False)
    #: The client's verified chain (leaf first) when it sent one after our CertificateRequest.
    peer_certificates: list[x509.Certificate] = field(default_factory=list)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RSA (§7.4.7.1, with the Bleichenbacher countermeasure), DHE (§7.4.7.2) or ECDHE (RFC 8422 §5.7)."""
        assert isinstance(msg, ClientKeyExchange)
        n, key = self.negotiated, self.ephemeral_key
        if key is None:
            private_key = ctx.config.private_key
            assert isinstance(private_key, rsa.RSAPrivateKey)
            premaster = crypto.rsa_decrypt_premaster(private_key, msg.encrypted_premaster, n.client_version)
        elif isinstance(key, crypto.DheKeyPair):
            premaster = crypto.dhe_shared_secret(key, msg.dh_public)
        else:
            premaster = crypto.ecdhe_shared_secret(key, msg.ec_public)
        master = compute_master_secret(n, premaster, ctx.transcript)
        result = HandshakeResult(n, master, premaster, connection_keys_for(n, master), self.peer_certificates)
        ctx.emit(InstallPendingKeys(n, result.keys))
        if result.peer_certificates:
            return ServerWaitCertificateVerify(result)
        return ServerWaitChangeCipherSpec(result)


@dataclass(frozen=True)
class ServerWaitCertificateVerify(State):
    """The client sent a certificate; its CertificateVerify proves the key (RFC 5246 §7.4.8)."""

    result: HandshakeResult

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.8: a signature over all handshake messages so far by the certificate's key;
        TLS 1.2 with a scheme we listed in the CertificateRequest. A bad signature is decrypt_error."""
        assert isinstance(msg, CertificateVerify)
        n = self.result.negotiated
        if n.version >= ProtocolVersion.TLS1_2:
            require(
                msg.signature_scheme in ctx.config.effective_signature_schemes(),
                f"client signed with scheme {msg.signature_scheme}, which was not requested",
                AlertDescription.ILLEGAL_PARAMETER,
            )
        key = self.result.peer_certificates[0].public_key()
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        crypto.verify_certificate_verify(
            key, n.version, msg.signature_scheme, ctx.covered, msg.signature, self.result.master_secret
        )
        return ServerWaitChangeCipherSpec(self.result)


@dataclass(frozen=True)
class ServerWaitChangeCipherSpec(State):
    """Keys known; waiting for the client's ChangeCipherSpec."""

    result: HandshakeResult

    def handle_change_cipher_spec(self, ctx: Context) -> State:
        """RFC 5246 §7.1: the client's records are protected from here on."""
        ctx.emit(ACTIVATE_READ_KEYS)
        return ServerWaitFinished(self.result)


@dataclass(frozen=True)
class ServerWaitFinished(State):
    """The client's records are protected; its Finished comes next."""

    result: HandshakeResult

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.9: check the client's Finished; in a full handshake answer with ours (after a
        NewSessionTicket when announced, RFC 5077 §3.3)."""
        assert isinstance(msg, Finished)
        result, config = self.result, ctx.config
        n = result.negotiated
        check_finished(verify_data(n, result.master_secret, ctx.covered, from_client=True), msg.verify_data, "client")
        result.client_verify_data = msg.verify_data  # for a renegotiation (RFC 5746 §3.1)
        if not n.resumed:
            if n.session_ticket and config.ticket_keys is not None:  # RFC 5077 §3.3: before our CCS
                ticket_keys = config.ticket_keys
                ctx.send(NewSessionTicket(ticket_keys.lifetime_hint, ticket_keys.seal(_session(result))))
            send_finished(ctx, result, from_client=False)
            if config.session_cache is not None and n.session_id:
                config.session_cache.store(_session(result))
        ctx.emit(HandshakeDone(result))
        return ServerConnected(renegotiation_after(result))


@dataclass(frozen=True)
class ServerConnected(State):
    """Handshake done; only a renegotiating ClientHello may arrive (RFC 5246 §7.4.1.2)."""

    connected: ClassVar[bool] = True

    #: What a secure renegotiation carries over (RFC 5746 §3.1); None when the client showed no RFC 5746 support.
    renegotiation: Renegotiation | None = None
    #: We sent a HelloRequest (RFC 5246 §7.4.1.1): the client's answer is accepted without client_renegotiation.
    requested: bool = False

    def renegotiation_starts(self, ctx: Context, msg_type: int) -> Renegotiation | None:
        """A ClientHello starts a new handshake when the client supports secure renegotiation and either we asked
        for it or ``client_renegotiation`` allows it (as ``openssl s_server -client_renegotiation``)."""
        if msg_type != HandshakeType.CLIENT_HELLO or not (self.requested or ctx.config.client_renegotiation):
            return None
        return self.renegotiation

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """A renegotiating ClientHello: the new handshake when :meth:`renegotiation_starts` allows it (the machine
        started a fresh transcript with it), else refused with the warning no_renegotiation (RFC 5746 §4.4, RFC
        5246 §7.2.2) and the connection carries on; legacy renegotiation is always refused."""
        if self.renegotiation_starts(ctx, HandshakeType.CLIENT_HELLO) is not None:
            return ServerWaitClientHello().handle(ctx, msg)
        ctx.emit(SendWarning(AlertDescription.NO_RENEGOTIATION))
        return ServerConnected(self.renegotiation)

    def renegotiation_refusal(self) -> str | None:
        """None when the client showed RFC 5746 support (a legacy client is never asked)."""
        if self.renegotiation is None:
            return "the client does not support secure renegotiation (RFC 5746): not asking"
        return None

    def request(self, ctx: Context) -> ServerConnected:
        """Ask the client to renegotiate: a HelloRequest, never hashed (RFC 5246 §7.4.1.1). Only a client that
        supports secure renegotiation is asked (RFC 5746 §4.4)."""
        refusal = self.renegotiation_refusal()
        if refusal is not None:
            raise ConfigurationError(refusal)
        ctx.send_unhashed(HelloRequest())
        return ServerConnected(self.renegotiation, requested=True)


def _session(result: HandshakeResult) -> Session:
    """What resumption needs, with the client's verified chain (shown again on a resumed connection)."""
    n = result.negotiated
    return Session(
        session_id=n.session_id,
        version=int(n.version),
        cipher_suite=n.suite.id,
        master_secret=result.master_secret,
        extended_master_secret=n.extended_master_secret,
        server_name=n.server_name,
        alpn=n.alpn,
        peer_certificates=_chain_der(tuple(result.peer_certificates)),
    )


_RSA_SIGN, _ECDSA_SIGN = 1, 64  # ClientCertificateType (RFC 5246 §7.4.4, RFC 8422 §5.5)


@functools.lru_cache(maxsize=16)
def _authority_names(cafile: str | None) -> tuple[bytes, ...]:
    """DER subject names of the client CAs, for certificate_authorities (RFC 5246 §7.4.4)."""
    if not cafile:
        return ()
    return tuple(c.subject.public_bytes() for c in certs.load_certificates(cafile))


@functools.lru_cache(maxsize=64)
def _chain_der(chain: tuple[x509.Certificate, ...]) -> tuple[bytes, ...]:
    """DER of our chain, encoded once per chain (RFC 5246 §7.4.2)."""
    return tuple(c.public_bytes(Encoding.DER) for c in chain)


__all__ = [
    "ServerConnected",
    "ServerWaitCertificateVerify",
    "ServerWaitChangeCipherSpec",
    "ServerWaitClientCertificate",
    "ServerWaitClientHello",
    "ServerWaitClientKeyExchange",
    "ServerWaitFinished",
]
