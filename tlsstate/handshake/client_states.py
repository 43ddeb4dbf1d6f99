"""The TLS 1.0-1.2 client's states (RFC 5246 §7.3 Figures 1-2, RFC 8422, RFC 7627, RFC 7366, RFC 5746, RFC 5077).

One frozen class per state, holding only what is valid in it; ``handle`` consumes the state and a message the
table (:data:`~tlsstate.handshake.states.TRANSITIONS`) lets in, and returns the next state. What the connection
must do meanwhile goes to the :class:`~tlsstate.handshake.common.Context` outputs.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from tlsstate.crypto import dh
from tlsstate.crypto.negotiated import Negotiated, connection_keys_for, encrypt_then_mac_applies
from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_id
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
from tlsstate.handshake.hellos import ServerHelloExtensions, read_server_hello_extensions
from tlsstate.handshake.outputs import (
    ACTIVATE_READ_KEYS,
    HandshakeDone,
    HandshakeResult,
    InstallPendingKeys,
    RecordLimits,
    RecordVersion,
    SendWarning,
)
from tlsstate.handshake.renegotiation import Renegotiation, check_renegotiating_server_hello, renegotiation_after
from tlsstate.handshake.tls13 import client as tls13_client
from tlsstate.handshake.tls13 import early_data as tls13_early_data
from tlsstate.handshake.tls13 import offer as tls13_offer
from tlsstate.handshake.tls13.common import check_downgrade
from tlsstate.handshake.tls13.offer import ClientOffer13
from tlsstate.sessions.cache import Session
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import (
    PROTOCOL_VERSIONS,
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    AlertDescription,
    CompressionMethod,
    ExtensionType,
    ProtocolVersion,
)
from tlsstate.wire.errors import ConfigurationError, HandshakeFailure, ProtocolVersionError
from tlsstate.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    Extension,
    Finished,
    HandshakeMessage,
    NewSessionTicket,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

_UNSUPPORTED_EXTENSION = AlertDescription.UNSUPPORTED_EXTENSION
_ECDHE = (KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA)
_DER = Encoding.DER


# ------------------------------------------------------------------------------------------ ClientHello


@dataclass(frozen=True)
class ClientStart(State):
    """Before start_handshake()."""

    def start(self, ctx: Context) -> ClientWaitServerHello:
        """Send the ClientHello (RFC 5246 §7.4.1.2); its record version is at most TLS 1.0 (Appendix E.1). With TLS
        1.3 enabled the hello offers it too (RFC 9846 §4.1.2, :func:`tlsstate.handshake.tls13.offer.client_hello`)."""
        config = ctx.config
        previous = ctx.renegotiation
        suite_ids: list[int] = []
        extensions: list[Extension] | None = []
        session: Session | None = None
        high = ProtocolVersion.TLS1_2
        if config.legacy_enabled:
            # RFC 5746 §3.5: renegotiating, renegotiation_info carries our previous verify_data
            renegotiated = previous.client_renegotiated_connection if previous is not None else None
            suite_ids, extensions, session, high = _legacy_offer(config, renegotiated)
        offer13: ClientOffer13 | None = None
        if config.tls13_enabled and previous is None:  # a renegotiation stays in TLS <= 1.2 (TLS 1.3 has none)
            session_id = session.session_id if session else b""
            hello, offer13 = tls13_offer.client_hello(
                config, suite_ids, extensions or [], session_id, _record_extensions(config, tls13=True),
                ctx.early_data_size,
            )
        else:
            if not config.legacy_enabled:
                raise ConfigurationError("no configured cipher suite is valid for the enabled versions")
            hello = ClientHello(
                version=int(high),
                random=os.urandom(32),
                session_id=session.session_id if session else b"",
                cipher_suites=tuple(suite_ids),
                compression_methods=bytes([CompressionMethod.NULL]),
                extensions=tuple(extensions) if extensions is not None else None,
            )
        if previous is None:  # a renegotiation keeps the connection's record version
            ctx.emit(RecordVersion(min(int(high), int(ProtocolVersion.TLS1_0)), fixed=False))
        ctx.send(hello)
        if offer13 is not None and offer13.early_data and offer13.psk is not None:  # RFC 9846 §4.2.10
            tls13_early_data.start(ctx, hello, offer13.psk)
        return ClientWaitServerHello(hello, session, offer13)


def _legacy_offer(
    config: TLSConfig, renegotiated: bytes | None = None
) -> tuple[list[int], list[Extension] | None, Session | None, ProtocolVersion]:
    """The TLS 1.0-1.2 part of the ClientHello: suites, extensions (None in SSL 3.0), the session to resume and
    the highest version (RFC 5246 §7.4.1.2, RFC 5077 §3.4, RFC 5746 §3.3). ``renegotiated``: our previous verify_data
    when this hello renegotiates (RFC 5746 §3.5), which then offers TLS 1.2 and older only."""
    low, high = config.legacy_version_range()
    suites = [s for s in config.effective_suites() if s.min_version <= high and s.max_version >= low]
    if not suites:
        raise ConfigurationError("no configured cipher suite is valid for the enabled versions")
    session = _session_to_offer(config, suites, low, high)
    if session is not None and session.ticket:  # RFC 5077 §3.4: a fresh session ID shows acceptance
        session = dataclasses.replace(session, session_id=os.urandom(32))
    suite_ids = [s.id for s in suites]
    extensions: list[Extension] | None = None
    if high >= ProtocolVersion.TLS1_0:
        extensions = hello_extensions(config, suites, high, renegotiated_connection=renegotiated or b"")
        if not config.tls13_enabled or renegotiated is not None:
            extensions += _record_extensions(config, tls13=False)
        if config.session_tickets:  # RFC 5077 §3.2: our ticket, or empty to ask for one
            extensions.append(ext.build_session_ticket(session.ticket if session is not None else b""))
    else:
        suite_ids.append(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)  # SSL 3.0: no extensions (RFC 5746 §3.3)
    return suite_ids, extensions, session, high


def _record_extensions(config: TLSConfig, *, tls13: bool) -> list[Extension]:
    """record_size_limit (RFC 8449 §4; in a hello offering TLS 1.3, counting the inner content type) and
    max_fragment_length (RFC 6066 §4), when configured."""
    out: list[Extension] = []
    if config.record_size_limit is not None:
        out.append(ext.build_record_size_limit(config.record_size_limit + (1 if tls13 else 0)))
    if config.max_fragment_length is not None:
        code = {512: 1, 1024: 2, 2048: 3, 4096: 4}[config.max_fragment_length]
        out.append(ext.build_max_fragment_length(code))
    return out


def session_key(config: TLSConfig) -> str | None:
    """Under which name the session store keeps this server's session."""
    return config.session_store_key()


def _session_to_offer(config: TLSConfig, suites: list[CipherSuite], low: int, high: int) -> Session | None:
    """A stored session we may offer to resume (RFC 5246 §7.4.1.2; RFC 5077 §3.4; RFC 7627 §5.4)."""
    store, key = config.session_store, session_key(config)
    if store is None or key is None:
        return None
    session = store.lookup(key)
    if session is None or not low <= session.version <= high:
        return None
    if session.ticket and not config.session_tickets:  # resumable then only by its session ID
        return dataclasses.replace(session, ticket=b"") if session.session_id else None
    if session.cipher_suite not in {s.id for s in suites}:
        return None
    if config.require_extended_master_secret and not session.extended_master_secret:
        return None  # RFC 7627 §5.4: a client insisting on EMS does not resume a session without it
    return session


#: hello_extensions' answers by everything they depend on (a value key, so a changed config gets new ones).
_HELLO_EXTENSIONS: dict[tuple[object, ...], tuple[Extension, ...]] = {}


def hello_extensions(
    config: TLSConfig, suites: list[CipherSuite], high: int, *, renegotiated_connection: bytes = b""
) -> list[Extension]:
    """The ClientHello extensions before the record-size ones (RFC 6066 §3, RFC 8422 §5.1, RFC 7919 §3,
    RFC 5246 §7.4.1.4.1, RFC 7301, RFC 7627, RFC 7366, RFC 5746: ``renegotiated_connection`` is empty initially,
    our previous verify_data in a renegotiation, §3.5).

    Built once per configuration (the extensions are immutable; the list is new each time): the key holds every
    field they are built from, compared by value, so changing the config builds them again.
    """
    groups, dhe_groups, schemes = config.groups, config.dhe_groups, config.signature_schemes
    key = (
        config.server_name, tuple([s.id for s in suites]), high, None if groups is None else tuple(groups),
        None if dhe_groups is None else tuple(dhe_groups), None if schemes is None else tuple(schemes),
        tuple(config.alpn_protocols), config.extended_master_secret, config.encrypt_then_mac, renegotiated_connection,
    )
    built = _HELLO_EXTENSIONS.get(key)
    if built is None:
        built = tuple(_build_hello_extensions(config, suites, high, renegotiated_connection))
        if len(_HELLO_EXTENSIONS) >= 64:  # bounded (renegotiations key on their verify_data)
            _HELLO_EXTENSIONS.clear()
        _HELLO_EXTENSIONS[key] = built
    return list(built)


def _build_hello_extensions(
    config: TLSConfig, suites: list[CipherSuite], high: int, renegotiated_connection: bytes
) -> list[Extension]:
    out: list[Extension] = []
    name = ext.sni_host_name(config.server_name)  # RFC 6066 §3: literal IP addresses are not sent
    if name is not None:
        out.append(ext.build_server_name(name))
    ecdhe = any(s.key_exchange in _ECDHE for s in suites)
    dhe = any(s.key_exchange is KeyExchange.DHE_RSA for s in suites)
    groups = [g for g in config.effective_groups() if ecdhe and g in crypto.ECDHE_GROUPS]  # RFC 8422 §5.1
    if dhe:  # RFC 7919 §3: the FFDHE groups we accept, after the curves
        groups += [g for g in config.effective_dhe_groups() if g in crypto.FFDHE_GROUPS and g not in groups]
    if groups:
        out.append(ext.build_supported_groups(groups))
    if ecdhe:
        out.append(ext.build_ec_point_formats())
    if high >= ProtocolVersion.TLS1_2:
        out.append(ext.build_signature_algorithms(config.effective_signature_schemes()))
    if config.alpn_protocols:
        out.append(ext.build_alpn(config.alpn_protocols))
    if config.extended_master_secret:
        out.append(ext.build_extended_master_secret())
    if config.encrypt_then_mac and any(encrypt_then_mac_applies(s, high) for s in suites):
        out.append(ext.build_encrypt_then_mac())
    out.append(ext.build_renegotiation_info(renegotiated_connection))
    return out


# ------------------------------------------------------------------------------------------ ServerHello


@dataclass(frozen=True)
class ClientWaitServerHello(State):
    """ClientHello sent."""

    hello: ClientHello
    offered_session: Session | None
    #: What the hello offered for TLS 1.3 (RFC 9846 §4.1.2), None when it did not offer TLS 1.3.
    offer13: ClientOffer13 | None = None

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.1.3, Appendix E.1: the server's choices, checked against what we offered; a full
        handshake, or the abbreviated one when it echoes the session we offered (§7.3 Figure 2). A ServerHello
        selecting TLS 1.3 goes to :func:`tlsstate.handshake.tls13.client.read_server_hello`; one selecting an older
        version after we offered TLS 1.3 must not carry the downgrade sentinel (RFC 9846 §4.1.3)."""
        assert isinstance(msg, ServerHello)
        config = ctx.config
        if self.offer13 is not None and tls13_client.selects_tls13(msg):
            return tls13_client.read_server_hello(ctx, self.hello, self.offer13, msg)
        check_downgrade(msg.random, msg.version, offered_tls13=self.offer13 is not None,
                        offered_high=config.version_range()[1])
        version, suite = _read_version_and_suite(config, self.hello, msg)
        answer = _read_server_hello_extensions(config, msg, self.hello, suite, version, ctx.renegotiation is not None)
        if ctx.renegotiation is not None:  # RFC 5746 §3.5
            check_renegotiating_server_hello(
                ctx.renegotiation, answer.renegotiation_info, answer.extended_master_secret, version
            )
        n = Negotiated(
            version=version,
            suite=suite,
            client_random=self.hello.random,
            server_random=msg.random,
            session_id=msg.session_id,
            client_version=self.hello.version,
            extended_master_secret=answer.extended_master_secret,
            encrypt_then_mac=answer.encrypt_then_mac,
            alpn=answer.alpn.decode("ascii", "replace") if answer.alpn is not None else None,
            server_name=ext.sni_host_name(config.server_name),
            session_ticket=answer.session_ticket,
            secure_renegotiation=answer.renegotiation_info is not None,
        )
        ctx.set_negotiated(n)
        _agree_record_limits(ctx, n, answer)
        session = self.offered_session
        if session is not None and msg.session_id == session.session_id:
            return _resume(ctx, n, session)
        if config.extended_master_secret and not n.extended_master_secret and config.require_extended_master_secret:
            raise HandshakeFailure("server does not support extended_master_secret (RFC 7627)")
        return ClientWaitCertificate(n)


def _read_version_and_suite(
    config: TLSConfig, hello: ClientHello, msg: ServerHello
) -> tuple[ProtocolVersion, CipherSuite]:
    """The version (RFC 5246 Appendix E.1), suite and compression (§7.4.1.3) the server chose: ones we offered."""
    low, high = config.legacy_version_range()
    if not (low <= msg.version <= hello.version) or msg.version > high:
        raise ProtocolVersionError(f"server chose version 0x{msg.version:04x}, which was not offered")
    version = PROTOCOL_VERSIONS.get(msg.version) or ProtocolVersion(msg.version)
    suite = by_id(msg.cipher_suite)
    if suite is None or msg.cipher_suite not in hello.cipher_suites or not suite.valid_for(version):
        require(False, f"server chose cipher suite 0x{msg.cipher_suite:04x}, which was not offered for "
                f"{version.label}", AlertDescription.ILLEGAL_PARAMETER)  # (messages are built on failure only)
    assert suite is not None
    if msg.compression_method != CompressionMethod.NULL:
        require(False, f"server chose compression method {msg.compression_method}", AlertDescription.ILLEGAL_PARAMETER)
    return version, suite


def _read_server_hello_extensions(
    config: TLSConfig,
    msg: ServerHello,
    hello: ClientHello,
    suite: CipherSuite,
    version: ProtocolVersion,
    renegotiating: bool,
) -> ServerHelloExtensions:
    """:func:`~tlsstate.handshake.hellos.read_server_hello_extensions`, then what a client requires of the answer:
    only what we offered (RFC 5246 §7.4.1.4), each extension allowed for this version and suite, the value we asked
    for (RFC 5746 §3.4, RFC 7627, RFC 7366 §3, RFC 7301 §3.2, RFC 6066 §4, RFC 8422 §5.2)."""
    # RFC 5746 §3.4: the SCSV (SSL 3.0) solicits renegotiation_info as much as the extension does.
    offered = {e.type for e in hello.extensions or ()} | {ExtensionType.RENEGOTIATION_INFO}
    for e in msg.extensions or ():
        if e.type not in offered:  # (the message, with its enum lookup, only on failure)
            require(False, f"server sent extension {ext.extension_name(e.type)} that was not offered",
                    _UNSUPPORTED_EXTENSION)
    answer = read_server_hello_extensions(msg)
    if answer.renegotiation_info and not renegotiating:  # RFC 5746 §3.4: empty on the initial handshake
        raise HandshakeFailure("renegotiation_info is not empty on the initial handshake")
    if answer.extended_master_secret:
        require(version > ProtocolVersion.SSL3, "extended_master_secret in SSL 3.0", AlertDescription.ILLEGAL_PARAMETER)
    if answer.encrypt_then_mac:
        require(
            encrypt_then_mac_applies(suite, version),
            "server sent encrypt_then_mac for a non-CBC suite (RFC 7366 §3)",
            AlertDescription.ILLEGAL_PARAMETER,
        )
    if answer.alpn is not None:
        name = answer.alpn.decode("ascii", "replace")
        require(
            name in config.alpn_protocols,
            f"server selected ALPN protocol {name!r}, which was not offered (RFC 7301 §3.2)",
            AlertDescription.ILLEGAL_PARAMETER,
        )
    if answer.max_fragment_length is not None:  # RFC 6066 §4: the same value, else illegal_parameter
        require(
            answer.max_fragment_length == config.max_fragment_length,
            f"server answered max_fragment_length {answer.max_fragment_length}, "
            f"we asked for {config.max_fragment_length}",
            AlertDescription.ILLEGAL_PARAMETER,
        )
    if answer.point_formats is not None:
        require(
            ext.EC_POINT_FORMAT_UNCOMPRESSED in answer.point_formats,
            "server does not support uncompressed points (RFC 8422 §5.2)",
            AlertDescription.ILLEGAL_PARAMETER,
        )
    return answer


def _agree_record_limits(ctx: Context, n: Negotiated, answer: ServerHelloExtensions) -> None:
    """RFC 8449 §4 record_size_limit (it wins over max_fragment_length, §5) or RFC 6066 §4 max_fragment_length."""
    if answer.record_size_limit is not None:
        n.send_limit = min(answer.record_size_limit, 16384)
        n.receive_limit = ctx.config.record_size_limit or 16384
        n.limits_protected_only = True
        ctx.emit(RecordLimits(n.send_limit, n.receive_limit, protected_only=True))
    elif answer.max_fragment_length is not None:
        n.send_limit = n.receive_limit = answer.max_fragment_length
        ctx.emit(RecordLimits(n.send_limit, n.receive_limit, protected_only=False))


def _resume(ctx: Context, n: Negotiated, session: Session) -> State:
    """Abbreviated handshake (RFC 5246 §7.3 Figure 2) with the EMS rules of RFC 7627 §5.3."""
    require(
        n.version == session.version and n.suite.id == session.cipher_suite,
        "resumed session with a different version or cipher suite",
        AlertDescription.ILLEGAL_PARAMETER,
    )
    if session.extended_master_secret != n.extended_master_secret:
        raise HandshakeFailure("extended_master_secret differs from the resumed session (RFC 7627 §5.3)")
    n.resumed = True
    keys = connection_keys_for(n, session.master_secret)
    ctx.emit(InstallPendingKeys(n, keys))
    certificates = [x509.load_der_x509_certificate(der) for der in session.peer_certificates]
    return ClientWaitChangeCipherSpec(HandshakeResult(n, session.master_secret, None, keys, certificates))


# ------------------------------------------------------------------------------------------ the server's flight


@dataclass(frozen=True)
class ClientWaitCertificate(State):
    """Full handshake: ServerHello accepted."""

    negotiated: Negotiated

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.2: the server's chain, checked unless ``verify`` is off."""
        assert isinstance(msg, Certificate)
        n, config = self.negotiated, ctx.config
        require(bool(msg.certificates), "server sent an empty certificate list", AlertDescription.DECODE_ERROR)
        chain, key = crypto.load_peer_certificates(msg.certificates)
        kx = n.suite.key_exchange
        wants_rsa = kx in (KeyExchange.RSA, KeyExchange.DHE_RSA, KeyExchange.ECDHE_RSA)
        fits = isinstance(key, rsa.RSAPublicKey) if wants_rsa else isinstance(key, ec.EllipticCurvePublicKey)
        require(fits, f"certificate key does not fit {kx.value}", AlertDescription.UNSUPPORTED_CERTIFICATE)
        if config.verify:
            crypto.verify_server_chain(chain, config.server_name, config.cafile)
        if kx is KeyExchange.RSA:
            return ClientWaitServerHelloDone(n, chain, None)
        return ClientWaitServerKeyExchange(n, chain)


@dataclass(frozen=True)
class ClientWaitServerKeyExchange(State):
    """(EC)DHE: the server's certificate accepted."""

    negotiated: Negotiated
    peer_certificates: list[x509.Certificate]

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.3 / RFC 8422 §5.4: ECDHE on a named group we offered (DHE: the server's group,
        checked when we use it), signed by the certificate's key with a scheme we offered."""
        assert isinstance(msg, ServerKeyExchange)
        n, config = self.negotiated, ctx.config
        if n.suite.key_exchange is not KeyExchange.DHE_RSA:
            groups = [g for g in config.effective_groups() if g in crypto.ECDHE_GROUPS]
            if msg.named_group not in groups:  # (messages are built on failure only)
                require(False, f"server chose named group {msg.named_group}, which was not offered",
                        AlertDescription.ILLEGAL_PARAMETER)
        if n.version >= ProtocolVersion.TLS1_2 and msg.signature_scheme not in config.effective_signature_schemes():
            require(False, f"server signed with scheme {msg.signature_scheme}, which was not offered",
                    AlertDescription.ILLEGAL_PARAMETER)
        key = self.peer_certificates[0].public_key()
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        signed = n.client_random + n.server_random + msg.params
        crypto.verify_params(key, n.version, msg.signature_scheme, signed, msg.signature)
        if n.suite.key_exchange is KeyExchange.DHE_RSA:
            n.key_exchange_group = dh.ffdhe_group_of(msg.dh_p, msg.dh_g)
        else:
            n.key_exchange_group = msg.named_group
        return ClientWaitServerHelloDone(n, self.peer_certificates, msg)


@dataclass(frozen=True)
class ClientWaitServerHelloDone(State):
    """Key exchange parameters known (the certificate's key for RSA, the server's (EC)DHE share otherwise)."""

    negotiated: Negotiated
    peer_certificates: list[x509.Certificate]
    server_key_exchange: ServerKeyExchange | None
    certificate_request: CertificateRequest | None = None

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """CertificateRequest is noted; ServerHelloDone triggers our flight (RFC 5246 §7.4.5-§7.4.9):
        [Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished."""
        if isinstance(msg, CertificateRequest):
            return dataclasses.replace(self, certificate_request=msg)
        assert isinstance(msg, ServerHelloDone)
        n = self.negotiated
        signing = _send_client_certificate(ctx, n, self.certificate_request)
        premaster = _send_client_key_exchange(ctx, self)
        master = compute_master_secret(n, premaster, ctx.transcript)  # RFC 7627 §3: hash up to ClientKeyExchange
        if signing is not None:  # RFC 5246 §7.4.8: sign handshake_messages so far
            signing_key, scheme = signing
            signature = crypto.sign_certificate_verify(signing_key, n.version, scheme, ctx.transcript.data, master)
            ctx.send(CertificateVerify(signature, scheme))
        result = HandshakeResult(n, master, premaster, connection_keys_for(n, master), self.peer_certificates)
        ctx.emit(InstallPendingKeys(n, result.keys))
        send_finished(ctx, result, from_client=True)
        return ClientWaitChangeCipherSpec(result)


def _send_client_certificate(
    ctx: Context, n: Negotiated, request: CertificateRequest | None
) -> tuple[crypto.PrivateKey, int | None] | None:
    """Answer a CertificateRequest (RFC 5246 §7.4.6): our chain when it fits, else an empty list (SSL 3.0: a
    no_certificate warning, RFC 6101 §5.6.6). Returns the key and scheme for CertificateVerify, or None."""
    if request is None:
        return None
    signing = _client_credentials(ctx.config, n, request)
    if signing is not None:
        ctx.send(Certificate(tuple(c.public_bytes(_DER) for c in ctx.config.client_certificate_chain)))
    elif n.version == ProtocolVersion.SSL3:
        ctx.emit(SendWarning(AlertDescription.NO_CERTIFICATE))
    else:
        ctx.send(Certificate(()))
    return signing


def _client_credentials(
    config: TLSConfig, n: Negotiated, request: CertificateRequest
) -> tuple[crypto.PrivateKey, int | None] | None:
    """Our key and signature scheme when our certificate fits the request (RFC 5246 §7.4.4, §7.4.6), else None
    (we then send no certificate and the server decides)."""
    key = config.client_private_key
    if key is None or not config.client_certificate_chain:
        return None
    wanted = 1 if isinstance(key, rsa.RSAPrivateKey) else 64  # rsa_sign / ecdsa_sign (RFC 8422 §5.5)
    if wanted not in request.certificate_types:
        return None
    if n.version == ProtocolVersion.SSL3 and not isinstance(key, rsa.RSAPrivateKey):
        return None
    if n.version < ProtocolVersion.TLS1_2:
        return key, None
    scheme = crypto.choose_signature_scheme(
        key, list(request.signature_schemes), n.version, [int(s) for s in config.effective_signature_schemes()]
    )
    return None if scheme is None else (key, scheme)


def _send_client_key_exchange(ctx: Context, state: ClientWaitServerHelloDone) -> bytes:
    """ClientKeyExchange (RFC 5246 §7.4.7): the RSA-encrypted premaster, or our (EC)DHE share. Returns the premaster."""
    ske = state.server_key_exchange
    if ske is None:
        key = state.peer_certificates[0].public_key()
        assert isinstance(key, rsa.RSAPublicKey)
        premaster, encrypted = crypto.rsa_encrypt_premaster(key, state.negotiated.client_version)
        ctx.send(ClientKeyExchange(encrypted_premaster=encrypted))
    elif ske.dh_p:  # DHE (RFC 5246 §7.4.7.2): the server's group, our key
        pair = crypto.dhe_generate_client(ske.dh_p, ske.dh_g, ctx.config.min_dh_bits)
        premaster = crypto.dhe_shared_secret(pair, ske.dh_public)
        ctx.send(ClientKeyExchange(dh_public=pair.public_bytes))
    else:
        assert ske.named_group is not None
        private, public = crypto.ecdhe_generate(ske.named_group)
        premaster = crypto.ecdhe_shared_secret(private, ske.ec_public)
        ctx.send(ClientKeyExchange(ec_public=public))
    return premaster



# ------------------------------------------------------------------------------------------ the end


@dataclass(frozen=True)
class ClientWaitChangeCipherSpec(State):
    """Master secret and keys known; waiting for the server's ChangeCipherSpec."""

    result: HandshakeResult
    new_ticket: NewSessionTicket | None = field(default=None, repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5077 §3.3: a NewSessionTicket just before the server's ChangeCipherSpec, only when announced."""
        assert isinstance(msg, NewSessionTicket)
        require(
            self.result.negotiated.session_ticket and self.new_ticket is None,
            "NewSessionTicket without a SessionTicket extension in ServerHello (RFC 5077 §3.3)",
            AlertDescription.UNEXPECTED_MESSAGE,
        )
        return ClientWaitChangeCipherSpec(self.result, msg)

    def handle_change_cipher_spec(self, ctx: Context) -> State:
        """RFC 5246 §7.1: the server's records are protected from here on."""
        ctx.emit(ACTIVATE_READ_KEYS)
        require(
            not self.result.negotiated.session_ticket or self.new_ticket is not None,
            "ServerHello announced a NewSessionTicket that did not come (RFC 5077 §3.3)",
            AlertDescription.UNEXPECTED_MESSAGE,
        )
        return ClientWaitFinished(self.result, self.new_ticket)


@dataclass(frozen=True)
class ClientWaitFinished(State):
    """The server's ChangeCipherSpec received: its Finished is the first protected message."""

    result: HandshakeResult
    new_ticket: NewSessionTicket | None = field(default=None, repr=False)

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.9; in a resumed handshake we answer with our ChangeCipherSpec and Finished."""
        assert isinstance(msg, Finished)
        result = self.result
        n = result.negotiated
        check_finished(verify_data(n, result.master_secret, ctx.covered, from_client=False), msg.verify_data, "server")
        result.server_verify_data = msg.verify_data  # for a renegotiation (RFC 5746 §3.1)
        if n.resumed:
            send_finished(ctx, result, from_client=True)
        if not n.resumed or self.new_ticket is not None:
            _store_session(ctx.config, result, self.new_ticket)
        ctx.emit(HandshakeDone(result))
        return ClientConnected(renegotiation_after(result))


@dataclass(frozen=True)
class ClientConnected(State):
    """Handshake done; only a HelloRequest may arrive (RFC 5246 §7.4.1.1), or we start a renegotiation."""

    connected: ClassVar[bool] = True

    #: What a secure renegotiation carries over (RFC 5746 §3.1); None when the server showed no RFC 5746 support.
    renegotiation: Renegotiation | None = None

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """A HelloRequest: with ``server_renegotiation`` and a server that supports secure renegotiation, a new
        ClientHello (RFC 5746 §3.5); otherwise the warning no_renegotiation (RFC 5746 §4.2, RFC 5246 §7.4.1.1) and
        the connection carries on. Legacy renegotiation is always refused, and so is one in SSL 3.0 (our SSL 3.0
        hello has no extensions to carry renegotiation_info)."""
        if ctx.config.server_renegotiation and self.renegotiation_refusal() is None:
            return self.renegotiate(ctx)
        ctx.emit(SendWarning(AlertDescription.NO_RENEGOTIATION))
        return self

    def renegotiation_refusal(self) -> str | None:
        """None when the server showed RFC 5746 support and the version is not SSL 3.0."""
        previous = self.renegotiation
        if previous is None:
            return "the server does not support secure renegotiation (RFC 5746): not renegotiating"
        if previous.version == ProtocolVersion.SSL3:
            return "renegotiation in SSL 3.0 is not supported (our SSL 3.0 hello has no extensions)"
        return None

    def renegotiate(self, ctx: Context) -> ClientWaitServerHello:
        """Start a secure renegotiation (RFC 5746 §3.5): a fresh transcript, a ClientHello under the current keys."""
        refusal = self.renegotiation_refusal()
        if refusal is not None or self.renegotiation is None:
            raise ConfigurationError(refusal or "no secure renegotiation")
        ctx.restart(self.renegotiation)
        return ClientStart().start(ctx)


def _store_session(config: TLSConfig, result: HandshakeResult, new_ticket: NewSessionTicket | None) -> None:
    """Keep the session for resumption (RFC 5246 §7.4.1.2) under :func:`session_key`, with its ticket (RFC 5077)."""
    store, key, n = config.session_store, session_key(config), result.negotiated
    ticket = new_ticket.ticket if new_ticket is not None else b""
    if store is None or key is None or not (n.session_id or ticket):
        return
    store.store(
        key,
        Session(
            session_id=n.session_id,
            version=int(n.version),
            cipher_suite=n.suite.id,
            master_secret=result.master_secret,
            extended_master_secret=n.extended_master_secret,
            server_name=n.server_name,
            alpn=n.alpn,
            peer_certificates=tuple(c.public_bytes(_DER) for c in result.peer_certificates),
            ticket=ticket,
        ),
    )


__all__ = [
    "ClientConnected",
    "ClientStart",
    "ClientWaitCertificate",
    "ClientWaitChangeCipherSpec",
    "ClientWaitFinished",
    "ClientWaitServerHello",
    "ClientWaitServerHelloDone",
    "ClientWaitServerKeyExchange",
    "hello_extensions",
    "session_key",
]
