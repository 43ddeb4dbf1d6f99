"""The TLS 1.3 client's states (RFC 9846 §4, Figure 1): after the ServerHello, EncryptedExtensions, the server's
Certificate and CertificateVerify, its Finished; then our Finished and the connected state, where NewSessionTicket
and KeyUpdate arrive.

The first step, reading a TLS 1.3 ServerHello, is :func:`read_server_hello`, called by the TLS 1.2 client's
``ClientWaitServerHello`` when the ServerHello selects TLS 1.3 (supported_versions, §4.2.1). Each state is a frozen
class holding what is valid in it; its ``handle`` consumes one message and returns the next state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tlsstate.crypto import key_share, schedule13, signatures13
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.crypto.suites import CipherSuite, by_id
from tlsstate.handshake import crypto
from tlsstate.handshake.common import Context, State, require
from tlsstate.handshake.outputs import SEND_COMPAT_CHANGE_CIPHER_SPEC, HandshakeDone, RecordLimits, Tls13Result
from tlsstate.handshake.tls13 import early_data
from tlsstate.handshake.tls13.common import (
    ENCRYPTED_EXTENSIONS_ALLOWED,
    HELLO_RETRY_ALLOWED,
    LEGACY_VERSION,
    SERVER_HELLO_ALLOWED,
    TLS13,
    Schedule,
    Tls13State,
    check_extensions,
    check_finished,
    enter_tls13,
)
from tlsstate.handshake.tls13.keyupdate import Connected13
from tlsstate.handshake.tls13.offer import ClientOffer13
from tlsstate.handshake.tls13.psk import PSK_KE, PskOffer, with_pre_shared_key
from tlsstate.sessions.cache import Session
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import AlertDescription, ExtensionType
from tlsstate.wire.errors import DecodeError
from tlsstate.wire.messages import (
    CertificateVerify,
    ClientHello,
    Extension,
    Finished,
    HandshakeMessage,
    ServerHello,
    encode_handshake,
)
from tlsstate.wire.messages13 import Certificate13, CertificateRequest13, EncryptedExtensions

_ILLEGAL = AlertDescription.ILLEGAL_PARAMETER


def selects_tls13(msg: ServerHello) -> bool:
    """A ServerHello (or HelloRetryRequest) answering with supported_versions: the TLS 1.3 road (RFC 9846 §4.2.1)."""
    return ext.find_extension(msg.extensions, ExtensionType.SUPPORTED_VERSIONS) is not None


def _offered_types(hello: ClientHello) -> set[int]:
    return {e.type for e in hello.extensions or ()}


def read_server_hello(ctx: Context, hello: ClientHello, offer: ClientOffer13, msg: ServerHello) -> State:
    """RFC 9846 §4.1.3-§4.1.4: a HelloRetryRequest gets our second ClientHello; a ServerHello is checked against
    our offer, meets our share for its group, and starts the handshake stage (the server's records move to its
    handshake traffic key)."""
    if msg.is_hello_retry_request:
        return _answer_hello_retry(ctx, hello, offer, msg)
    return _accept_server_hello(ctx, hello, offer, msg, compat=bool(hello.session_id), retry=None)


def _accept_server_hello(
    ctx: Context, hello: ClientHello, offer: ClientOffer13, msg: ServerHello, *, compat: bool,
    retry: ClientWaitServerHelloAfterRetry | None,
) -> State:
    suite = _check_server_hello(hello, offer, msg, SERVER_HELLO_ALLOWED, _offered_types(hello))
    resumed = _accepted_psk(offer, msg, suite)
    entry = _server_share(msg, resumed)
    if retry is not None:  # RFC 9846 §4.1.4: the same suite, and the group the HelloRetryRequest named
        require(msg.cipher_suite == retry.cipher_suite, "ServerHello suite differs from the HelloRetryRequest's",
                _ILLEGAL)
        require(retry.group is None or entry is None or entry.group == retry.group,
                "ServerHello key share is not for the group the HelloRetryRequest named", _ILLEGAL)
    share = offer.share_for(entry.group) if entry is not None else None
    require(entry is None or share is not None,
            f"server chose key share group 0x{entry.group if entry else 0:04x}, for which we sent no share", _ILLEGAL)
    n = Negotiated(
        version=TLS13,
        suite=suite,
        client_random=hello.random,
        server_random=msg.random,
        session_id=msg.session_id,
        client_version=hello.version,
        server_name=ext.sni_host_name(ctx.config.server_name),
        key_exchange_group=entry.group if entry is not None else None,
        resumed=resumed is not None,
    )
    enter_tls13(ctx, n)
    schedule = Schedule.start(suite, hello.random, resumed.psk if resumed is not None else None)
    if offer.early_data and resumed is not None and retry is None:  # for --show-keys; logged when it was sent
        schedule.enter_early(ctx, schedule13.transcript_hash(suite.prf_hash, encode_handshake(hello)), log=False)
    dhe = share.shared_secret(entry.key_exchange) if share is not None and entry is not None else None
    _, server_secret = schedule.enter_handshake(ctx, dhe)
    schedule.install(ctx, "server", server_secret, "server handshake traffic secret")
    return ClientWaitEncryptedExtensions(
        n, schedule, offer, compat, retry is not None, _offered_types(hello)
    )


def _accepted_psk(offer: ClientOffer13, msg: ServerHello, suite: CipherSuite) -> PskOffer | None:
    """RFC 9846 §4.2.11: a ServerHello pre_shared_key selects one of our identities (we offer one: 0), for a suite
    with the PSK's hash; anything else is illegal_parameter."""
    found = ext.find_extension(msg.extensions, ExtensionType.PRE_SHARED_KEY)
    if found is None:
        return None
    selected = ext.parse_pre_shared_key_server(found.data)
    require(offer.psk is not None and selected == 0, f"server selected PSK identity {selected}, not offered", _ILLEGAL)
    assert offer.psk is not None
    require(offer.psk.suite.prf_hash == suite.prf_hash, "server resumes the PSK with a suite of another hash",
            _ILLEGAL)
    return offer.psk


def _answer_hello_retry(ctx: Context, hello: ClientHello, offer: ClientOffer13, msg: ServerHello) -> State:
    """RFC 9846 §4.1.4: check the HelloRetryRequest (a group we support and sent no share for; a change at all, else
    illegal_parameter), restart the transcript with message_hash (§4.4.1), and send ClientHello2: one share for the
    named group, the cookie echoed (§4.2.2), no early_data; in compatibility mode the ChangeCipherSpec first."""
    offered = _offered_types(hello) | {ExtensionType.COOKIE}  # the cookie is the server's to start (§4.2.2)
    suite = _check_server_hello(hello, offer, msg, HELLO_RETRY_ALLOWED, offered)
    found = ext.find_extension(msg.extensions, ExtensionType.KEY_SHARE)
    group = ext.parse_key_share_hello_retry(found.data) if found is not None else None
    found = ext.find_extension(msg.extensions, ExtensionType.COOKIE)
    cookie = ext.parse_cookie(found.data) if found is not None else None
    require(group is not None or cookie is not None, "HelloRetryRequest that would change nothing", _ILLEGAL)
    if group is not None:
        require(group in offer.groups and offer.share_for(group) is None,
                f"HelloRetryRequest names group 0x{group:04x}: not offered, or already shared", _ILLEGAL)
    enter_tls13(ctx, Negotiated(TLS13, suite, hello.random, msg.random, msg.session_id, hello.version))
    ctx.transcript.restart_with_message_hash(len(encode_handshake(hello)), suite.prf_hash)
    shares = (key_share.client_share(group),) if group is not None else offer.shares
    extensions: list[Extension] = []
    for e in hello.extensions or ():
        if e.type == ExtensionType.KEY_SHARE:
            e = ext.build_key_share_client([ext.KeyShareEntry(s.group, s.public_bytes) for s in shares])
        if e.type != ExtensionType.EARLY_DATA:
            extensions.append(e)
    if cookie is not None:
        extensions.append(ext.build_cookie(cookie))
    resumption = offer.psk if offer.psk is not None and offer.psk.suite.prf_hash == suite.prf_hash else None
    extensions = [e for e in extensions if e.type != ExtensionType.PRE_SHARED_KEY]
    second = dataclasses.replace(hello, extensions=tuple(extensions))
    if resumption is not None:  # RFC 9846 §4.1.2: the binder again, over message_hash, the HRR and ClientHello2
        second = with_pre_shared_key(second, resumption, prefix=ctx.transcript.data)
    if offer.early_data:  # rejected (RFC 9846 §4.2.10); its ChangeCipherSpec went after ClientHello1 (Appendix D.4)
        early_data.finish(ctx, accepted=False)
    elif hello.session_id and ctx.config.middlebox_compat:
        ctx.emit(SEND_COMPAT_CHANGE_CIPHER_SPEC)
    ctx.send(second)
    offer = dataclasses.replace(offer, shares=shares, psk=resumption, early_data=False)
    return ClientWaitServerHelloAfterRetry(second, offer, suite.id, group)


@dataclass(frozen=True)
class ClientWaitServerHelloAfterRetry(Tls13State):
    """We answered a HelloRetryRequest with ClientHello2 (RFC 9846 §4.1.4); the ServerHello comes next."""

    hello: ClientHello
    offer: ClientOffer13 = field(repr=False)
    cipher_suite: int
    group: int | None

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """A second HelloRetryRequest is unexpected_message (§4.1.4); a ServerHello must keep the suite and use
        the named group."""
        assert isinstance(msg, ServerHello)
        require(not msg.is_hello_retry_request, "a second HelloRetryRequest (RFC 9846 §4.1.4)",
                AlertDescription.UNEXPECTED_MESSAGE)
        return _accept_server_hello(ctx, self.hello, self.offer, msg, compat=False, retry=self)


def _check_server_hello(
    hello: ClientHello, offer: ClientOffer13, msg: ServerHello, allowed: frozenset[int], offered: set[int]
) -> CipherSuite:
    """The fixed fields and extensions of a TLS 1.3 ServerHello or HelloRetryRequest (RFC 9846 §4.1.3, §4.1.4,
    §4.2): illegal_parameter for a value we did not offer, unsupported_extension for an extension we did not send."""
    where = "HelloRetryRequest" if msg.is_hello_retry_request else "ServerHello"
    require(msg.version == LEGACY_VERSION, f"TLS 1.3 {where} with legacy_version 0x{msg.version:04x}", _ILLEGAL)
    require(msg.selected_version == TLS13, f"server selected version 0x{msg.selected_version:04x}, not TLS 1.3", _ILLEGAL)
    require(msg.session_id == hello.session_id, "legacy_session_id_echo differs from our legacy_session_id", _ILLEGAL)
    suite = by_id(msg.cipher_suite)
    require(
        suite is not None and suite.is_tls13 and msg.cipher_suite in offer.suites,
        f"server chose cipher suite 0x{msg.cipher_suite:04x}, which was not offered for TLS 1.3",
        _ILLEGAL,
    )
    require(msg.compression_method == 0, f"TLS 1.3 {where} with a compression method", _ILLEGAL)
    check_extensions(msg.extensions, allowed, offered, where)
    assert suite is not None
    return suite


def _server_share(msg: ServerHello, resumed: PskOffer | None) -> ext.KeyShareEntry | None:
    """The ServerHello key_share; without one missing_extension (RFC 9846 §4.2.8, §9.2), unless the server resumes
    our PSK with psk_ke, which we offered (§4.2.9; None then)."""
    found = ext.find_extension(msg.extensions, ExtensionType.KEY_SHARE)
    if found is None and resumed is not None:
        require(PSK_KE in resumed.modes, "ServerHello without key_share: psk_ke, which we did not offer (RFC 9846 "
                "§4.2.9)", AlertDescription.MISSING_EXTENSION)
        return None
    require(found is not None, "TLS 1.3 ServerHello without key_share", AlertDescription.MISSING_EXTENSION)
    assert found is not None
    return ext.parse_key_share_server(found.data)


@dataclass(frozen=True)
class _Handshaking(Tls13State):
    """What every client state between ServerHello and our Finished holds."""

    negotiated: Negotiated
    schedule: Schedule = field(repr=False)
    offer: ClientOffer13 = field(repr=False)
    #: We sent a legacy_session_id and no ChangeCipherSpec yet: middlebox compatibility mode sends one before our
    #: second flight (RFC 9846 Appendix D.4).
    compat: bool
    #: The server asked for a second ClientHello (RFC 9846 §4.1.4).
    hello_retry: bool


@dataclass(frozen=True)
class ClientWaitEncryptedExtensions(_Handshaking):
    """TLS 1.3 ServerHello accepted; the server's records are under its handshake traffic key."""

    offered: set[int] = field(default_factory=set, repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 9846 §4.3.1: only extensions we offered and that EncryptedExtensions may carry; the ALPN answer must
        be a protocol we offered (RFC 7301 §3.2); record_size_limit caps what we send (RFC 8449 §4)."""
        assert isinstance(msg, EncryptedExtensions)
        check_extensions(msg.extensions, ENCRYPTED_EXTENSIONS_ALLOWED, self.offered, "EncryptedExtensions")
        n, config = self.negotiated, ctx.config
        for e in msg.extensions:
            if e.type == ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
                name = ext.parse_alpn_selected(e.data).decode("ascii", "replace")
                require(name in config.alpn_protocols, f"server selected ALPN protocol {name!r}, not offered", _ILLEGAL)
                n.alpn = name
            elif e.type == ExtensionType.RECORD_SIZE_LIMIT:
                limit = ext.parse_record_size_limit(e.data)
                n.send_limit = min(limit - 1, 16384)  # the limit counts the inner content type (RFC 8449 §4)
                n.receive_limit = config.record_size_limit or 16384
                ctx.emit(RecordLimits(n.send_limit, n.receive_limit, protected_only=False))
            elif e.type == ExtensionType.SERVER_NAME and e.data:
                raise DecodeError("server_name in EncryptedExtensions must be empty")
            elif e.type == ExtensionType.EARLY_DATA:  # RFC 9846 §4.2.10: only for our first PSK (we offer one)
                ext.parse_empty(e.data, "early_data in EncryptedExtensions")
                require(n.resumed, "early_data accepted in a handshake that resumes no PSK", _ILLEGAL)
                n.early_data_accepted = True
        if n.resumed and self.offer.psk is not None:  # RFC 9846 §2.2: the PSK authenticates the server
            peers = [x509.load_der_x509_certificate(der) for der in self.offer.psk.session.peer_certificates]
            return ClientWaitFinished13(n, self.schedule, self.offer, self.compat, self.hello_retry, None, peers)
        return ClientWaitCertificate13(n, self.schedule, self.offer, self.compat, self.hello_retry)


@dataclass(frozen=True)
class ClientWaitCertificate13(_Handshaking):
    """EncryptedExtensions read; a CertificateRequest may come before the server's Certificate (RFC 9846 §4.3.2)."""

    certificate_request: CertificateRequest13 | None = None

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 9846 §4.4.2: the server's chain (empty: decode_error, §4.4.2.4), checked unless ``verify`` is off."""
        if isinstance(msg, CertificateRequest13):
            require(self.certificate_request is None, "a second CertificateRequest", AlertDescription.UNEXPECTED_MESSAGE)
            require(
                ext.find_extension(msg.extensions, ExtensionType.SIGNATURE_ALGORITHMS) is not None,
                "CertificateRequest without signature_algorithms (RFC 9846 §4.3.2)",
                AlertDescription.MISSING_EXTENSION,
            )
            return dataclasses.replace(self, certificate_request=msg)
        assert isinstance(msg, Certificate13)
        require(not msg.certificate_request_context, "server Certificate with a request context", _ILLEGAL)
        require(bool(msg.entries), "server sent an empty Certificate (RFC 9846 §4.4.2.4)", AlertDescription.DECODE_ERROR)
        chain, _ = crypto.load_peer_certificates13(msg.certificates)
        config = ctx.config
        if config.verify:
            crypto.verify_server_chain(chain, config.server_name, config.cafile)
        return ClientWaitCertificateVerify13(
            self.negotiated, self.schedule, self.offer, self.compat, self.hello_retry, self.certificate_request, chain
        )


@dataclass(frozen=True)
class ClientWaitCertificateVerify13(_Handshaking):
    """The server's Certificate read; its CertificateVerify proves the key (RFC 9846 §4.4.3)."""

    certificate_request: CertificateRequest13 | None
    peer_certificates: list[x509.Certificate] = field(repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 9846 §4.4.3: a scheme we offered that fits the certificate (else illegal_parameter), a signature over
        the server context string and the transcript through Certificate (else decrypt_error)."""
        assert isinstance(msg, CertificateVerify)
        if msg.signature_scheme is None:
            raise DecodeError("TLS 1.3 CertificateVerify without a signature scheme")
        key = self.peer_certificates[0].public_key()
        assert isinstance(key, signatures13.PublicKey)
        signatures13.verify(
            key, msg.signature_scheme, self.offer.signature_schemes, ctx.covered, msg.signature, by_server=True
        )
        return ClientWaitFinished13(
            self.negotiated, self.schedule, self.offer, self.compat, self.hello_retry, self.certificate_request,
            self.peer_certificates,
        )


@dataclass(frozen=True)
class ClientWaitFinished13(_Handshaking):
    """The server is authenticated; its Finished closes its flight (RFC 9846 §4.4.4)."""

    certificate_request: CertificateRequest13 | None
    peer_certificates: list[x509.Certificate] = field(repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 9846 §4.4.4: check the server's Finished; enter the master stage; then our second flight: the
        compatibility ChangeCipherSpec (Appendix D.4), [an empty Certificate when asked, §4.4.2], our Finished,
        all under our handshake traffic key; then both directions move to the application traffic keys."""
        assert isinstance(msg, Finished)
        schedule, secrets = self.schedule, self.schedule.secrets
        client_hs, server_hs = secrets.client_handshake_traffic_secret, secrets.server_handshake_traffic_secret
        assert client_hs is not None and server_hs is not None
        check_finished(schedule.finished(server_hs, ctx.covered), msg.verify_data, "server")
        client_ap, server_ap = schedule.enter_master(ctx)
        schedule.install(ctx, "server", server_ap, "server application traffic secret 0")
        if self.offer.early_data:  # EndOfEarlyData, or the early writer closed (RFC 9846 §4.5)
            early_data.finish(ctx, accepted=self.negotiated.early_data_accepted)
        if self.compat and not self.offer.early_data:  # with early data it followed the ClientHello (Appendix D.4)
            ctx.emit(SEND_COMPAT_CHANGE_CIPHER_SPEC)
        schedule.install(ctx, "client", client_hs, "client handshake traffic secret")
        if self.certificate_request is not None:
            _send_client_certificate(ctx, self.certificate_request)
        ctx.send(Finished(schedule.finished(client_hs, ctx.transcript.digest())))
        schedule.install(ctx, "client", client_ap, "client application traffic secret 0")
        schedule.finish(ctx)
        ctx.emit(HandshakeDone(Tls13Result(self.negotiated, secrets, self.peer_certificates, self.hello_retry)))
        n = self.negotiated
        template = Session(b"", int(TLS13), n.suite.id, b"", False, n.server_name, n.alpn,
                           tuple(c.public_bytes(Encoding.DER) for c in self.peer_certificates))
        assert secrets.resumption_master_secret is not None
        return ClientConnected13(n.suite, "client", client_ap, server_ap,
                                 resumption_master_secret=secrets.resumption_master_secret, session=template,
                                 post_handshake_auth=ctx.config.post_handshake_auth,
                                 handshake_transcript=ctx.transcript.data)


def _send_client_certificate(ctx: Context, request: CertificateRequest13) -> None:
    """RFC 9846 §4.4.2, §4.4.3: our chain and a CertificateVerify with the client context string when our key fits
    a scheme the server asked for; otherwise an empty Certificate (§4.4.2.3), and the server decides."""
    config, context = ctx.config, request.certificate_request_context
    found = ext.find_extension(request.extensions, ExtensionType.SIGNATURE_ALGORITHMS)
    asked = ext.parse_signature_algorithms(found.data) if found is not None else []
    key, chain = config.client_private_key, config.client_certificate_chain
    scheme = next((s for s in config.effective_tls13_signature_schemes()
                   if key is not None and s in asked and signatures13.fits(s, key)), None)
    if key is None or not chain or scheme is None:
        ctx.send(Certificate13(context, ()))
        return
    ctx.send(Certificate13.of(tuple(c.public_bytes(Encoding.DER) for c in chain), context))
    ctx.send(CertificateVerify(signatures13.sign(key, scheme, ctx.transcript.digest(), by_server=False), scheme))


@dataclass(frozen=True)
class ClientConnected13(Connected13):
    """TLS 1.3 handshake done (RFC 9846 §4.6): NewSessionTicket and KeyUpdate may arrive."""

    connected: ClassVar[bool] = True


__all__ = [
    "ClientConnected13",
    "ClientWaitCertificate13",
    "ClientWaitCertificateVerify13",
    "ClientWaitEncryptedExtensions",
    "ClientWaitFinished13",
    "ClientWaitServerHelloAfterRetry",
    "read_server_hello",
    "selects_tls13",
]
