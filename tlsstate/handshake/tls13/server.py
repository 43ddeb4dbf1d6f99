"""The TLS 1.3 server (RFC 9846 §4, Figure 1): from a ClientHello that offers TLS 1.3 to the whole first flight
(ServerHello, [ChangeCipherSpec], EncryptedExtensions, Certificate, CertificateVerify, Finished), then the client's
Finished and the connected state.

:func:`negotiates_tls13` is the version decision (§4.2.1: supported_versions, not legacy_version, decides), made
by the TLS 1.2 server's ``ServerWaitClientHello`` before anything else; :func:`answer_client_hello` is the TLS 1.3
answer. The suite, group and signature scheme are chosen in server preference order from what the client offers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tlsstate.crypto import certs, key_share, signatures13
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.crypto.schedule13 import resumption_psk
from tlsstate.crypto.suites import CipherSuite
from tlsstate.handshake import crypto
from tlsstate.handshake.common import Context, State, require
from tlsstate.handshake.hellos import ClientHelloExtensions, read_client_hello_extensions
from tlsstate.handshake.outputs import SEND_COMPAT_CHANGE_CIPHER_SPEC, HandshakeDone, RecordLimits, Tls13Result
from tlsstate.handshake.server_choices import Offer, choose_alpn
from tlsstate.handshake.tls13 import early_data, psk
from tlsstate.handshake.tls13.common import (
    LEGACY_VERSION,
    TLS13,
    Schedule,
    Tls13State,
    check_finished,
    enter_tls13,
    random_bytes,
)
from tlsstate.handshake.tls13.common import server_random as make_server_random
from tlsstate.handshake.tls13.keyupdate import Connected13
from tlsstate.sessions.cache import Session
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import AlertDescription, CompressionMethod, ExtensionType, ProtocolVersion
from tlsstate.wire.errors import DecodeError, HandshakeFailure, ProtocolVersionError
from tlsstate.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    CertificateVerify,
    ClientHello,
    Extension,
    Finished,
    HandshakeMessage,
    ServerHello,
)
from tlsstate.wire.messages13 import Certificate13, CertificateRequest13, EncryptedExtensions, NewSessionTicket13

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

_MISSING = AlertDescription.MISSING_EXTENSION
_ILLEGAL = AlertDescription.ILLEGAL_PARAMETER


def negotiates_tls13(config: TLSConfig, msg: ClientHello) -> bool:
    """True when the ClientHello offers TLS 1.3 in supported_versions and we run it (RFC 9846 §4.2.1). When the
    client sends supported_versions but lists no version we enable, protocol_version; without the extension the
    TLS 1.2 server decides from legacy_version."""
    found = ext.find_extension(msg.extensions, ExtensionType.SUPPORTED_VERSIONS)
    if found is None:
        return False
    offered = ext.parse_supported_versions_client(found.data)
    low, high = config.version_range()
    if config.tls13_enabled and TLS13 in offered:
        return True
    legacy_high = min(int(high), int(ProtocolVersion.TLS1_2))
    if not any(low <= v <= legacy_high for v in offered) or not config.legacy_enabled:
        raise ProtocolVersionError("no version in the client's supported_versions is enabled here (RFC 9846 §4.2.1)")
    return False


def answer_client_hello(ctx: Context, msg: ClientHello) -> State:
    """RFC 9846 §4.1.1-§4.1.4: choose suite, group and signature scheme; without an acceptable key share for a group
    we both support, a HelloRetryRequest asking for one (with a cookie); else the whole first flight."""
    config = ctx.config
    offer = Offer(**vars(read_client_hello_extensions(msg)))
    require(msg.compression_methods == b"\x00", "TLS 1.3 ClientHello must offer exactly null compression", _ILLEGAL)
    suite = _choose_suite(config, msg)
    choice = _choose_share(config, offer)
    if isinstance(choice, int):
        return _hello_retry(ctx, msg, suite, choice)
    chosen = psk.choose_psk(config, msg, ctx.transcript.data, suite)
    scheme = _choose_scheme(config, offer) if chosen is None else None
    return _first_flight(ctx, msg, offer, suite, scheme, choice, hello_retry=False, chosen=chosen)


def _first_flight(
    ctx: Context, msg: ClientHello, offer: Offer, suite: CipherSuite, scheme: int | None, share: tuple[int, bytes],
    *, hello_retry: bool, chosen: psk.PskChoice | None,
) -> State:
    """ServerHello, both directions to the handshake traffic keys (the client's to its early traffic key when we
    accept 0-RTT, §4.2.10), EncryptedExtensions, Certificate, CertificateVerify (not when resuming with a PSK, §2.2),
    Finished, and our direction to the application traffic key (RFC 9846 §4.1.3-§4.4). With psk_ke (§4.2.9) no
    (EC)DHE: the ServerHello carries no key_share."""
    config = ctx.config
    resumed = chosen.session if chosen is not None else None
    group, client_public = share
    dhe = chosen is None or chosen.dhe
    server_public, shared_secret = key_share.server_share(group, client_public) if dhe else (b"", None)
    n = Negotiated(
        version=TLS13,
        suite=suite,
        client_random=msg.random,
        server_random=make_server_random(config, TLS13),
        session_id=msg.session_id,
        client_version=msg.version,
        alpn=choose_alpn(config, offer),
        server_name=offer.server_name,
        key_exchange_group=group if dhe else None,
        resumed=resumed is not None,
    )
    n.early_data_accepted = not hello_retry and early_data.server_accepts(config, msg, chosen, suite, n.alpn)
    enter_tls13(ctx, n)
    hello_hash = ctx.transcript.digest() if n.early_data_accepted else b""  # the early secrets' ClientHello (§7.1)
    ctx.send(_server_hello(n, ext.KeyShareEntry(group, server_public) if dhe else None))
    schedule = Schedule.start(suite, msg.random, resumed.master_secret if resumed is not None else None)
    client_hs, server_hs = schedule.enter_handshake(ctx, shared_secret)
    if msg.session_id and config.middlebox_compat and not hello_retry:  # RFC 9846 Appendix D.4: one, after HRR there
        ctx.emit(SEND_COMPAT_CHANGE_CIPHER_SPEC)
    schedule.install(ctx, "server", server_hs, "server handshake traffic secret")
    early_data.server_read_key(ctx, schedule, hello_hash, accepted=n.early_data_accepted,
                               client_handshake_secret=client_hs, hello=msg)
    ctx.send(EncryptedExtensions(tuple(_encrypted_extensions(ctx, n, offer))))
    authenticate_client = config.verify_client != "none" and resumed is None
    if authenticate_client:  # RFC 9846 §4.3.2
        ctx.send(_certificate_request(config))
    if scheme is not None:
        _send_authentication(ctx, scheme)
    ctx.send(Finished(schedule.finished(server_hs, ctx.transcript.digest())))
    client_ap, server_ap = schedule.enter_master(ctx)
    schedule.install(ctx, "server", server_ap, "server application traffic secret 0")
    peers = [x509.load_der_x509_certificate(der) for der in resumed.peer_certificates] if resumed is not None else []
    post_handshake_auth = ext.find_extension(msg.extensions, ExtensionType.POST_HANDSHAKE_AUTH) is not None
    waiting = ServerWaitFinished13(n, schedule, client_ap, server_ap, hello_retry, peers, post_handshake_auth)
    if n.early_data_accepted:
        return early_data.ServerWaitEndOfEarlyData(waiting, client_hs, suite)
    if authenticate_client:
        return ServerWaitClientCertificate13(waiting)
    return waiting


def _certificate_request(config: TLSConfig) -> CertificateRequest13:
    """RFC 9846 §4.3.2: an empty context (authentication in the handshake), the schemes we verify, and our client
    CAs' names (certificate_authorities, §4.2.4)."""
    extensions = [ext.build_signature_algorithms(config.effective_tls13_signature_schemes())]
    names = [c.subject.public_bytes() for c in certs.load_certificates(config.client_cafile)] if config.client_cafile else []
    if names:
        extensions.append(ext.build_certificate_authorities(names))
    return CertificateRequest13(b"", tuple(extensions))


def _hello_retry(ctx: Context, msg: ClientHello, suite: CipherSuite, group: int) -> State:
    """RFC 9846 §4.1.4: a HelloRetryRequest naming ``group`` and carrying a cookie; ClientHello1 becomes
    message_hash in the transcript (§4.4.1); the compatibility ChangeCipherSpec follows it (Appendix D.4)."""
    cookie = random_bytes(32)
    n = Negotiated(TLS13, suite, msg.random, HELLO_RETRY_REQUEST_RANDOM, msg.session_id, msg.version)
    enter_tls13(ctx, n)
    ctx.transcript.restart_with_message_hash(len(ctx.transcript), suite.prf_hash)
    ctx.send(ServerHello(
        version=LEGACY_VERSION,
        random=HELLO_RETRY_REQUEST_RANDOM,
        session_id=msg.session_id,
        cipher_suite=suite.id,
        compression_method=CompressionMethod.NULL,
        extensions=(  # RFC 8448 §5's order
            ext.build_key_share_hello_retry(group), ext.build_cookie(cookie), ext.build_supported_versions_server(TLS13),
        ),
    ))
    if msg.session_id and ctx.config.middlebox_compat:
        ctx.emit(SEND_COMPAT_CHANGE_CIPHER_SPEC)
    early_data.skip_after_hello_retry(ctx, msg)
    return ServerWaitSecondClientHello(msg, suite, group, cookie)


#: The ClientHello extensions a client may change after a HelloRetryRequest (RFC 9846 §4.1.2): key_share (one share
#: for the named group), cookie (added), early_data (removed), pre_shared_key (ages and binders), padding.
_MAY_CHANGE = frozenset({ExtensionType.KEY_SHARE, ExtensionType.COOKIE, ExtensionType.EARLY_DATA,
                         ExtensionType.PRE_SHARED_KEY, ExtensionType.PADDING})


def check_second_client_hello(first: ClientHello, second: ClientHello, group: int, cookie: bytes) -> bytes:
    """ClientHello2 against ClientHello1 (RFC 9846 §4.1.2): the same but for the allowed changes, exactly one share
    and for the named group, our cookie echoed; anything else is illegal_parameter. Returns the share."""
    for name in ("version", "random", "session_id", "cipher_suites", "compression_methods"):
        require(getattr(first, name) == getattr(second, name), f"second ClientHello changed {name}", _ILLEGAL)
    before = {e.type: e.data for e in first.extensions or () if e.type not in _MAY_CHANGE}
    after = {e.type: e.data for e in second.extensions or () if e.type not in _MAY_CHANGE}
    require(before == after, "second ClientHello changed extensions other than key_share, cookie, early_data",
            _ILLEGAL)
    types = {e.type for e in second.extensions or ()}
    require(ExtensionType.EARLY_DATA not in types, "early_data in the ClientHello after a HelloRetryRequest",
            _ILLEGAL)
    found = ext.find_extension(second.extensions, ExtensionType.COOKIE)
    require(found is not None and ext.parse_cookie(found.data) == cookie,
            "second ClientHello does not echo the HelloRetryRequest cookie", _ILLEGAL)
    found = ext.find_extension(second.extensions, ExtensionType.KEY_SHARE)
    require(found is not None, "second ClientHello without key_share", _ILLEGAL)
    assert found is not None
    shares = ext.parse_key_share_client(found.data)
    require(len(shares) == 1 and shares[0].group == group,
            f"second ClientHello must carry one share, for group 0x{group:04x}", _ILLEGAL)
    return shares[0].key_exchange


@dataclass(frozen=True)
class ServerWaitSecondClientHello(Tls13State):
    """We sent a HelloRetryRequest (RFC 9846 §4.1.4); the client answers with ClientHello2."""

    first: ClientHello = field(repr=False)
    suite: CipherSuite
    group: int
    cookie: bytes = field(repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """Check ClientHello2 against ClientHello1 and our request, then the first flight as usual."""
        assert isinstance(msg, ClientHello)
        public = check_second_client_hello(self.first, msg, self.group, self.cookie)
        offer = Offer(**vars(read_client_hello_extensions(msg)))
        chosen = psk.choose_psk(ctx.config, msg, ctx.transcript.data, self.suite)
        scheme = _choose_scheme(ctx.config, offer) if chosen is None else None
        return _first_flight(ctx, msg, offer, self.suite, scheme, (self.group, public), hello_retry=True,
                             chosen=chosen)


def _choose_suite(config: TLSConfig, msg: ClientHello) -> CipherSuite:
    """Our first TLS 1.3 suite the client offers (RFC 9846 §4.1.1); none: handshake_failure."""
    offered = set(msg.cipher_suites)
    for suite in config.effective_tls13_suites():
        if suite.id in offered:
            return suite
    raise HandshakeFailure("no TLS 1.3 cipher suite in common")


def _choose_scheme(config: TLSConfig, offer: ClientHelloExtensions) -> int:
    """The CertificateVerify scheme (RFC 9846 §4.2.3: without signature_algorithms, missing_extension)."""
    if config.private_key is None:  # a PSK-only server
        raise HandshakeFailure("the client offers no PSK we know, and this server has no certificate")
    require(offer.signature_schemes is not None, "TLS 1.3 ClientHello without signature_algorithms", _MISSING)
    assert offer.signature_schemes is not None
    return signatures13.choose(config.private_key, offer.signature_schemes, config.effective_tls13_signature_schemes())


def _choose_share(config: TLSConfig, offer: ClientHelloExtensions) -> tuple[int, bytes] | int:
    """Our first group the client sent a share for (RFC 9846 §4.2.8); else our first group it supports, for a
    HelloRetryRequest (§4.1.4; with ``retry_for_preferred_group`` that group even when a later one was shared).
    supported_groups and key_share come together (§9.2: missing_extension), a share for a group the client does not
    list is illegal_parameter; no group in common is handshake_failure."""
    require(offer.groups is not None and offer.key_shares is not None,
            "TLS 1.3 ClientHello needs both supported_groups and key_share (RFC 9846 §9.2)", _MISSING)
    assert offer.groups is not None and offer.key_shares is not None
    shares = {}
    for entry in offer.key_shares:
        require(entry.group in offer.groups, f"key share for group 0x{entry.group:04x}, which is not in supported_groups",
                _ILLEGAL)
        shares[entry.group] = entry.key_exchange
    common = [g for g in config.effective_tls13_groups() if g in offer.groups]
    if not common:
        raise HandshakeFailure("no TLS 1.3 group in common")
    if config.retry_for_preferred_group:  # our first common group, with a HelloRetryRequest when not shared
        return (common[0], shares[common[0]]) if common[0] in shares else common[0]
    shared = next((g for g in common if g in shares), None)
    return (shared, shares[shared]) if shared is not None else common[0]


def _server_hello(n: Negotiated, share: ext.KeyShareEntry | None) -> ServerHello:
    """RFC 9846 §4.1.3: legacy_version 0x0303, the session ID echoed, [pre_shared_key: identity 0 when resuming,
    §4.2.11], key_share (none with psk_ke, §4.2.9), supported_versions; in RFC 8448 §4's order."""
    extensions = [ext.build_pre_shared_key_server(0)] if n.resumed else []
    if share is not None:
        extensions.append(ext.build_key_share_server(share))
    extensions.append(ext.build_supported_versions_server(TLS13))
    return ServerHello(
        version=LEGACY_VERSION,
        random=n.server_random,
        session_id=n.session_id,
        cipher_suite=n.suite.id,
        compression_method=CompressionMethod.NULL,
        extensions=tuple(extensions),
    )


def _encrypted_extensions(ctx: Context, n: Negotiated, offer: ClientHelloExtensions) -> list[Extension]:
    """RFC 9846 §4.3.1: the answers that need no key exchange: our supported_groups (§4.2.7: what the client may
    use next time), record_size_limit (RFC 8449 §4: counting the inner content type, so ours + 1), server_name
    (empty, RFC 6066 §3; also when resuming, as RFC 8448 §4's server), ALPN (RFC 7301 §3.2), early_data when we
    accept 0-RTT (§4.2.10); in the order RFC 8448's server sends them."""
    out = [ext.build_supported_groups(ctx.config.effective_tls13_groups())]
    if offer.record_size_limit is not None:
        ours = ctx.config.record_size_limit or 16384
        n.send_limit, n.receive_limit = min(offer.record_size_limit - 1, 16384), ours
        ctx.emit(RecordLimits(n.send_limit, n.receive_limit, protected_only=False))
        out.append(ext.build_record_size_limit(ours + 1))
    if offer.server_name is not None:
        out.append(ext.build_empty(ExtensionType.SERVER_NAME))
    if n.alpn is not None:
        out.append(ext.build_alpn([n.alpn]))
    if n.early_data_accepted:
        out.append(ext.build_empty(ExtensionType.EARLY_DATA))
    return out


def _send_authentication(ctx: Context, scheme: int) -> None:
    """Certificate (RFC 9846 §4.4.2) and CertificateVerify over the transcript through it (§4.4.3)."""
    config = ctx.config
    assert config.private_key is not None
    ctx.send(Certificate13.of(tuple(_der(c) for c in config.certificate_chain)))
    signature = signatures13.sign(config.private_key, scheme, ctx.transcript.digest(), by_server=True)
    ctx.send(CertificateVerify(signature, scheme))


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class ServerWaitFinished13(Tls13State):
    """Our flight is sent; the client's Finished comes under its handshake traffic key (RFC 9846 §4.4.4)."""

    negotiated: Negotiated
    schedule: Schedule = field(repr=False)
    client_application_secret: bytes = field(repr=False)
    server_application_secret: bytes = field(repr=False)
    hello_retry: bool = False
    #: The client's verified chain, when it authenticated (RFC 9846 §4.4.2).
    peer_certificates: list[x509.Certificate] = field(default_factory=list, repr=False)
    #: The ClientHello offered post_handshake_auth (RFC 9846 §4.2.6).
    post_handshake_auth: bool = False

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 9846 §4.4.4: check the client's Finished, then its records move to its application traffic key."""
        assert isinstance(msg, Finished)
        schedule = self.schedule
        client_hs = schedule.secrets.client_handshake_traffic_secret
        assert client_hs is not None
        check_finished(schedule.finished(client_hs, ctx.covered), msg.verify_data, "client")
        schedule.install(ctx, "client", self.client_application_secret, "client application traffic secret 0")
        schedule.finish(ctx)
        ctx.emit(HandshakeDone(Tls13Result(self.negotiated, schedule.secrets, self.peer_certificates, self.hello_retry)))
        transcript = ctx.transcript.data  # ClientHello .. client Finished, before our tickets
        _send_tickets(ctx, self.negotiated, schedule, self.peer_certificates)
        return ServerConnected13(
            self.negotiated.suite, "server", self.server_application_secret, self.client_application_secret,
            post_handshake_auth=self.post_handshake_auth, handshake_transcript=transcript,
        )


def _send_tickets(ctx: Context, n: Negotiated, schedule: Schedule, peers: list[x509.Certificate]) -> None:
    """RFC 9846 §4.6.1: ``ticket_count`` NewSessionTickets, each the session with its own resumption PSK (nonce i)
    sealed with our ticket keys; its ticket_age_add comes from that PSK (:func:`psk.ticket_age_add`). With
    ``max_early_data`` each allows that much 0-RTT data (the early_data extension, §4.2.10)."""
    keys, secret, max_early = ctx.config.ticket_keys, schedule.secrets.resumption_master_secret, ctx.config.max_early_data
    if keys is None or secret is None:
        return
    lifetime = min(keys.lifetime_hint, psk.MAX_TICKET_LIFETIME)
    extensions = (ext.build_early_data_ticket(max_early),) if max_early else ()
    for i in range(ctx.config.ticket_count):
        nonce = i.to_bytes(1, "big")
        key = resumption_psk(n.suite.prf_hash, secret, nonce)
        session = Session(b"", int(TLS13), n.suite.id, key, False, n.server_name, n.alpn, tuple(_der(c) for c in peers),
                          max_early_data=max_early)
        ctx.send(NewSessionTicket13(lifetime, psk.ticket_age_add(key), nonce, keys.seal(session), extensions))


@dataclass(frozen=True)
class ServerWaitClientCertificate13(Tls13State):
    """We sent a CertificateRequest (RFC 9846 §4.3.2); the client's Certificate comes before its Finished."""

    waiting: ServerWaitFinished13

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 9846 §4.4.2: an empty Certificate is certificate_required when one is required (§4.4.2.4), else the
        Finished follows; a chain is verified against client_cafile (bad_certificate, unknown_ca, ...)."""
        assert isinstance(msg, Certificate13)
        require(not msg.certificate_request_context, "client Certificate with a request context we did not send",
                _ILLEGAL)
        config = ctx.config
        if not msg.entries:
            require(config.verify_client != "required", "client sent no certificate, and one is required",
                    AlertDescription.CERTIFICATE_REQUIRED)
            return self.waiting
        chain, _ = crypto.load_peer_certificates13(msg.certificates)
        crypto.verify_client_chain(chain, config.client_cafile)
        return ServerWaitClientCertificateVerify13(self.waiting, chain)


@dataclass(frozen=True)
class ServerWaitClientCertificateVerify13(Tls13State):
    """The client sent a certificate; its CertificateVerify proves the key (RFC 9846 §4.4.3)."""

    waiting: ServerWaitFinished13
    peer_certificates: list[x509.Certificate] = field(repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """A scheme we asked for that fits the certificate (illegal_parameter), a signature over the client context
        string and the transcript through its Certificate (decrypt_error)."""
        assert isinstance(msg, CertificateVerify)
        if msg.signature_scheme is None:
            raise DecodeError("TLS 1.3 CertificateVerify without a signature scheme")
        key = self.peer_certificates[0].public_key()
        assert isinstance(key, signatures13.PublicKey)
        signatures13.verify(key, msg.signature_scheme, ctx.config.effective_tls13_signature_schemes(), ctx.covered,
                            msg.signature, by_server=False)
        return dataclasses.replace(self.waiting, peer_certificates=self.peer_certificates)


@dataclass(frozen=True)
class ServerConnected13(Connected13):
    """TLS 1.3 handshake done (RFC 9846 §4.6): KeyUpdate may arrive."""

    connected: ClassVar[bool] = True


__all__ = [
    "ServerConnected13",
    "ServerWaitClientCertificate13",
    "ServerWaitClientCertificateVerify13",
    "ServerWaitFinished13",
    "ServerWaitSecondClientHello",
    "answer_client_hello",
    "check_second_client_hello",
    "negotiates_tls13",
]
