"""The TLS 1.0-1.2 server handshake (RFC 5246 §7.3 Figures 1-2, Appendix E.1; RFC 8422; RFC 7627;
RFC 7366; RFC 5746; RFC 7301; RFC 6066; RFC 7507; RFC 5077).

One class per state, holding only what is valid in it; the transitions are the rows of
:data:`~tlsstate.handshake.states.TRANSITIONS`.
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
from tlsstate.crypto.keys import ConnectionKeys
from tlsstate.crypto.suites import CipherSuite, KeyExchange
from tlsstate.handshake import crypto
from tlsstate.handshake.common import (
    HandshakeMachine,
    HandshakeResult,
    Negotiated,
    State,
    check_finished,
    compute_master_secret,
    derive_keys,
    encrypt_then_mac_applies,
    require,
    verify_data,
)
from tlsstate.handshake.hellos import ClientHelloExtensions, read_client_hello_extensions
from tlsstate.sessions.cache import Session
from tlsstate.sessions.tickets import OpenedTicket
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import (
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    TLS_FALLBACK_SCSV,
    AlertDescription,
    CompressionMethod,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
)
from tlsstate.wire.errors import HandshakeFailure, ProtocolError, ProtocolVersionError
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
    RawHandshake,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)

_ECDHE = (KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA)
_CURVE_GROUPS = {"secp256r1": NamedGroup.SECP256R1, "secp384r1": NamedGroup.SECP384R1, "secp521r1": NamedGroup.SECP521R1}


# ------------------------------------------------------------------------------------------ states


@dataclass
class ServerWaitClientHello(State):
    """Nothing received yet."""

    name: ClassVar[str] = "ServerWaitClientHello"


@dataclass
class ServerWaitClientKeyExchange(State):
    """Our flight (ServerHello .. ServerHelloDone) sent; the ephemeral key for (EC)DHE suites only."""

    name: ClassVar[str] = "ServerWaitClientKeyExchange"
    negotiated: Negotiated
    ecdhe_key: crypto.EcdheKeyPair | None = field(repr=False)
    dhe_key: crypto.DheKeyPair | None = field(default=None, repr=False)
    #: The client's verified chain (leaf first) when it sent one after our CertificateRequest.
    peer_certificates: list[x509.Certificate] = field(default_factory=list)


@dataclass
class ServerWaitClientCertificate(State):
    """We sent a CertificateRequest (RFC 5246 §7.4.4); the client's Certificate comes first (§7.4.6)."""

    name: ClassVar[str] = "ServerWaitClientCertificate"
    negotiated: Negotiated
    ecdhe_key: crypto.EcdheKeyPair | None = field(repr=False)
    dhe_key: crypto.DheKeyPair | None = field(default=None, repr=False)


@dataclass
class ServerWaitCertificateVerify(State):
    """The client sent a certificate; its CertificateVerify proves the key (RFC 5246 §7.4.8)."""

    name: ClassVar[str] = "ServerWaitCertificateVerify"
    negotiated: Negotiated
    master_secret: bytes = field(repr=False)
    premaster_secret: bytes | None = field(repr=False)
    keys: ConnectionKeys
    peer_certificates: list[x509.Certificate]


@dataclass
class ServerWaitChangeCipherSpec(State):
    """Keys known; waiting for the client's ChangeCipherSpec."""

    name: ClassVar[str] = "ServerWaitChangeCipherSpec"
    negotiated: Negotiated
    master_secret: bytes = field(repr=False)
    premaster_secret: bytes | None = field(repr=False)
    keys: ConnectionKeys
    peer_certificates: list[x509.Certificate] = field(default_factory=list)


@dataclass
class ServerWaitFinished(State):
    """The client's records are protected; its Finished comes next."""

    name: ClassVar[str] = "ServerWaitFinished"
    negotiated: Negotiated
    master_secret: bytes = field(repr=False)
    premaster_secret: bytes | None = field(repr=False)
    keys: ConnectionKeys
    peer_certificates: list[x509.Certificate] = field(default_factory=list)


@dataclass
class ServerConnected(State):
    """Handshake done; only a renegotiating ClientHello may arrive (refused with no_renegotiation)."""

    name: ClassVar[str] = "ServerConnected"


@dataclass
class _Offer(ClientHelloExtensions):
    """A ClientHello's extensions as the server decides on them (RFC 5246 §7.4.1.2, §7.4.1.4)."""

    #: RFC 5746 §3.6: renegotiation_info, or the TLS_EMPTY_RENEGOTIATION_INFO_SCSV in the cipher suites.
    secure_renegotiation: bool = False


# ------------------------------------------------------------------------------------------ machine


class ServerHandshake(HandshakeMachine):
    """Server side: answers a ClientHello with a full or abbreviated handshake."""

    is_client = False
    _before_certificate_verify = b""

    def initial_state(self) -> State:
        return ServerWaitClientHello()

    # ---------------------------------------------------------------- ClientHello

    def on_ServerWaitClientHello(self, state: ServerWaitClientHello, msg: HandshakeMessage) -> State:
        """Negotiate version (Appendix E.1), suite, group, extensions; resume when we can (§7.3)."""
        assert isinstance(msg, ClientHello)
        config = self.config
        low, high = config.version_range()
        if msg.version < low:
            raise ProtocolVersionError(f"client offers at most 0x{msg.version:04x}; we need {low.label} or later")
        version = ProtocolVersion(min(msg.version, int(high)))
        if TLS_FALLBACK_SCSV in msg.cipher_suites and version < high:
            raise ProtocolError("fallback SCSV with a lower version (RFC 7507 §3)", AlertDescription.INAPPROPRIATE_FALLBACK)
        require(
            CompressionMethod.NULL in msg.compression_methods,
            "ClientHello does not offer null compression",
            AlertDescription.ILLEGAL_PARAMETER,
        )
        offer = self._read_extensions(msg, version)
        offer.secure_renegotiation |= TLS_EMPTY_RENEGOTIATION_INFO_SCSV in msg.cipher_suites
        if config.require_extended_master_secret and not offer.extended_master_secret:
            raise HandshakeFailure("client does not offer extended_master_secret (RFC 7627 §5.2)")

        resumed = self._try_resume(msg, version, offer)
        if resumed is not None:
            return resumed

        suite, group, scheme = self._choose_suite(msg, version, offer)
        cache = config.session_cache
        n = Negotiated(
            version=version,
            suite=suite,
            client_random=msg.random,
            server_random=os.urandom(32),
            session_id=os.urandom(32) if cache is not None else b"",
            client_version=msg.version,
            extended_master_secret=(  # RFC 7627 is defined for TLS only
                offer.extended_master_secret and config.extended_master_secret and version > ProtocolVersion.SSL3
            ),
            encrypt_then_mac=(
                offer.encrypt_then_mac and config.encrypt_then_mac and encrypt_then_mac_applies(suite, version)
            ),
            alpn=self._choose_alpn(offer),
            server_name=offer.server_name,
            session_ticket=(  # RFC 5077 §3.2: only when the client sent the extension
                offer.session_ticket is not None and config.ticket_keys is not None and version > ProtocolVersion.SSL3
            ),
        )
        self.set_negotiated(n)
        self.send(self._server_hello(n, offer, ecc=suite.key_exchange in _ECDHE))
        self.send(Certificate(_chain_der(tuple(config.certificate_chain))))
        ecdhe_key = dhe_key = None
        assert config.private_key is not None
        n.key_exchange_group = group if suite.key_exchange is not KeyExchange.RSA else None
        if suite.key_exchange is KeyExchange.DHE_RSA:
            assert group is not None
            dhe_key = crypto.dhe_generate_server(group)
            ske = ServerKeyExchange.build(
                suite.key_exchange, dh_p=dhe_key.p_bytes, dh_g=dhe_key.g_bytes, dh_public=dhe_key.public_bytes
            )
            signature = crypto.sign_params(
                config.private_key, version, scheme, n.client_random + n.server_random + ske.params
            )
            self.send(dataclasses.replace(ske, signature_scheme=scheme, signature=signature))
        elif suite.key_exchange in _ECDHE:
            assert group is not None
            ecdhe_key, public = crypto.ecdhe_generate(group)
            ske = ServerKeyExchange.build(suite.key_exchange, named_group=group, ec_public=public)
            signature = crypto.sign_params(
                config.private_key, version, scheme, n.client_random + n.server_random + ske.params
            )
            self.send(ServerKeyExchange(ske.params, scheme, signature, named_group=group, ec_public=public))
        if config.verify_client != "none":
            self.send(self._certificate_request(version))
            self.send(ServerHelloDone())
            return ServerWaitClientCertificate(n, ecdhe_key, dhe_key)
        self.send(ServerHelloDone())
        return ServerWaitClientKeyExchange(n, ecdhe_key, dhe_key)

    def _certificate_request(self, version: int) -> CertificateRequest:
        """RFC 5246 §7.4.4: rsa_sign and ecdsa_sign (RFC 8422 §5.5), our TLS 1.2 schemes, our CAs' names."""
        schemes: tuple[int, ...] = ()
        if version >= ProtocolVersion.TLS1_2:
            schemes = tuple(int(s) for s in self.config.effective_signature_schemes())
        types = bytes([_RSA_SIGN]) if version == ProtocolVersion.SSL3 else bytes([_RSA_SIGN, _ECDSA_SIGN])
        return CertificateRequest(types, schemes, _authority_names(self.config.client_cafile))

    def _read_extensions(self, msg: ClientHello, version: int) -> _Offer:
        """The extensions we act on (:func:`~tlsstate.handshake.hellos.read_client_hello_extensions`), and the rules
        a server applies to them on the initial handshake."""
        read = read_client_hello_extensions(msg)
        offer = _Offer(**{f.name: getattr(read, f.name) for f in dataclasses.fields(read)})
        require(
            offer.point_formats is None or ext.EC_POINT_FORMAT_UNCOMPRESSED in offer.point_formats,
            "ec_point_formats lacks uncompressed (RFC 8422 §5.1.2)",
            AlertDescription.ILLEGAL_PARAMETER,
        )
        if offer.renegotiation_info:  # RFC 5746 §3.6: must be empty initially
            raise HandshakeFailure("renegotiation_info is not empty on the initial handshake")
        offer.secure_renegotiation = offer.renegotiation_info is not None
        return offer

    def _choose_suite(
        self, msg: ClientHello, version: ProtocolVersion, offer: _Offer
    ) -> tuple[CipherSuite, int | None, int | None]:
        """Server preference order; a suite needs our key type, a common group and a signature scheme."""
        config = self.config
        key = config.private_key
        assert key is not None
        has_rsa = isinstance(key, rsa.RSAPrivateKey)
        client_suites = set(msg.cipher_suites)
        group = self._choose_group(offer)
        scheme = crypto.choose_signature_scheme(
            key, offer.signature_schemes, version, [int(x) for x in config.effective_signature_schemes()]
        )
        for suite in config.effective_suites():
            if suite.id not in client_suites or not suite.valid_for(version):
                continue
            kx = suite.key_exchange
            if kx is KeyExchange.RSA and has_rsa:
                return suite, None, None
            if kx is KeyExchange.DHE_RSA and has_rsa:
                ffdhe = self._choose_ffdhe_group(offer)
                if ffdhe is not None and (version < ProtocolVersion.TLS1_2 or scheme is not None):
                    return suite, ffdhe, scheme
            if kx in _ECDHE and group is not None:
                if (kx is KeyExchange.ECDHE_RSA) != has_rsa:
                    continue
                if version >= ProtocolVersion.TLS1_2 and scheme is None:
                    continue
                if not has_rsa and not self._client_accepts_curve_of(key, offer):
                    continue
                return suite, group, scheme
        raise HandshakeFailure("no cipher suite in common")

    @staticmethod
    def _client_accepts_curve_of(key: object, offer: _Offer) -> bool:
        """RFC 8422 §5.1.1 / §5.3: an ECDSA certificate's curve must be in the client's supported_groups."""
        if offer.groups is None or not isinstance(key, ec.EllipticCurvePrivateKey):
            return True
        curve = _CURVE_GROUPS.get(key.curve.name)
        return curve is not None and curve in offer.groups

    def _choose_ffdhe_group(self, offer: _Offer) -> int | None:
        """RFC 7919 §4: a named FFDHE group the client lists, else (none listed) ffdhe2048; None = no DHE."""
        ours = [g for g in self.config.effective_dhe_groups() if g in crypto.FFDHE_GROUPS] or [NamedGroup.FFDHE2048]
        listed = [g for g in offer.groups or () if g in crypto.FFDHE_GROUPS]
        if not listed:
            return ours[0]
        return next((g for g in ours if g in listed), None)

    def _choose_group(self, offer: _Offer) -> int | None:
        ours = [g for g in self.config.effective_groups() if g in crypto.ECDHE_GROUPS]
        if offer.groups is None:  # RFC 8422 §4: no extension -> any group; P-256 is the safe pick
            return NamedGroup.SECP256R1 if NamedGroup.SECP256R1 in ours else (ours[0] if ours else None)
        for group in ours:
            if group in offer.groups:
                return group
        return None

    def _choose_alpn(self, offer: _Offer) -> str | None:
        """RFC 7301 §3.2: our first protocol the client offers; none in common -> no_application_protocol."""
        if not offer.alpn or not self.config.alpn_protocols:
            return None
        for proto in self.config.alpn_protocols:
            if proto.encode() in offer.alpn:
                return proto
        raise ProtocolError("no ALPN protocol in common", AlertDescription.NO_APPLICATION_PROTOCOL)

    def _record_limits(self, n: Negotiated, offer: _Offer) -> list[Extension]:
        """RFC 8449 §4 record_size_limit (preferred, §5: then max_fragment_length is ignored) or RFC 6066 §4
        max_fragment_length (echoed); the limits go to the connection."""
        if offer.record_size_limit is not None:
            ours = self.config.record_size_limit or 16384
            n.send_limit, n.receive_limit, n.limits_protected_only = min(offer.record_size_limit, 16384), ours, True
            self.host.set_record_limits(n.send_limit, n.receive_limit, protected_only=True)
            return [ext.build_record_size_limit(ours)]
        if offer.max_fragment_length is not None:
            n.send_limit = n.receive_limit = ext.MAX_FRAGMENT_LENGTHS[offer.max_fragment_length]
            self.host.set_record_limits(n.send_limit, n.receive_limit, protected_only=False)
            return [ext.build_max_fragment_length(offer.max_fragment_length)]
        return []

    def _server_hello(self, n: Negotiated, offer: _Offer, *, ecc: bool) -> ServerHello:
        """ServerHello with responses only to extensions the client sent (RFC 5246 §7.4.1.4)."""
        out: list[Extension] = self._record_limits(n, offer) if n.version > ProtocolVersion.SSL3 else []
        if offer.secure_renegotiation:
            out.append(ext.build_renegotiation_info(b""))
        if n.extended_master_secret:
            out.append(ext.build_extended_master_secret())
        if n.encrypt_then_mac:
            out.append(ext.build_encrypt_then_mac())
        if n.alpn is not None:
            out.append(ext.build_alpn([n.alpn]))
        if offer.server_name is not None and not n.resumed:
            out.append(ext.build_empty(ExtensionType.SERVER_NAME))  # RFC 6066 §3
        if ecc and offer.point_formats is not None:
            out.append(ext.build_ec_point_formats())
        if n.session_ticket:
            out.append(ext.build_session_ticket(b""))  # RFC 5077 §3.2: a NewSessionTicket will follow
        return ServerHello(
            version=int(n.version),
            random=n.server_random,
            session_id=n.session_id,
            cipher_suite=n.suite.id,
            compression_method=CompressionMethod.NULL,
            extensions=tuple(out) if out else None,
        )

    def _try_resume(self, msg: ClientHello, version: ProtocolVersion, offer: _Offer) -> State | None:
        """Abbreviated handshake when the cache holds the session (RFC 5246 §7.3 Figure 2, RFC 7627 §5.3),
        or a ticket does (RFC 5077 §3.1 Figure 2; with a new ticket, §3.3, when :meth:`TicketKeys.needs_renewal`)."""
        session, renew = self._session_from_ticket(msg, version, offer)
        if session is None:
            cache = self.config.session_cache
            if cache is None or not msg.session_id:
                return None
            session = cache.lookup(msg.session_id)
        if session is None or session.version != version or session.cipher_suite not in msg.cipher_suites:
            return None
        suite = next((s for s in self.config.effective_suites() if s.id == session.cipher_suite), None)
        if suite is None:
            return None
        if session.extended_master_secret and not offer.extended_master_secret:
            raise HandshakeFailure("resuming an extended-master-secret session without the extension (RFC 7627 §5.3)")
        if not session.extended_master_secret and offer.extended_master_secret:
            return None  # RFC 7627 §5.3: full handshake instead
        n = Negotiated(
            version=version,
            suite=suite,
            client_random=msg.random,
            server_random=os.urandom(32),
            session_id=session.session_id,
            client_version=msg.version,
            extended_master_secret=session.extended_master_secret,
            encrypt_then_mac=(
                offer.encrypt_then_mac and self.config.encrypt_then_mac and encrypt_then_mac_applies(suite, version)
            ),
            alpn=self._choose_alpn(offer),
            server_name=offer.server_name,
            resumed=True,
            session_ticket=renew is not None,  # RFC 5077 §3.3: the empty extension announces the new ticket
        )
        self.set_negotiated(n)
        self.send(self._server_hello(n, offer, ecc=False))
        keys = self.config.ticket_keys
        if renew is not None and keys is not None:  # RFC 5077 §3.3: NewSessionTicket after ServerHello
            self.send(NewSessionTicket(keys.lifetime_hint, keys.seal(session, created=renew.created)))
        derived = derive_keys(n, session.master_secret)
        self.host.install_pending(suite, version, derived, n.encrypt_then_mac)
        self.host.send_change_cipher_spec()
        self.send(Finished(verify_data(n, session.master_secret, self.transcript.finished_basis(), from_client=False)))
        peers = [x509.load_der_x509_certificate(der) for der in session.peer_certificates]
        return ServerWaitChangeCipherSpec(n, session.master_secret, None, derived, peers)

    def _session_from_ticket(
        self, msg: ClientHello, version: int, offer: _Offer
    ) -> tuple[Session | None, OpenedTicket | None]:
        """RFC 5077 §3.4: the session in a valid ticket (echoing the client's session ID), else None, and then
        the session ID cache or a full handshake decides; a bad ticket is never an error. The second value is
        the opened ticket when it should be renewed (§3.3), else None."""
        keys = self.config.ticket_keys
        if keys is None or not offer.session_ticket or version == ProtocolVersion.SSL3:
            return None, None
        opened = keys.open_ticket(offer.session_ticket)
        if opened is None:
            return None, None
        session = dataclasses.replace(opened.session, session_id=msg.session_id)
        return session, (opened if keys.needs_renewal(opened) else None)

    # ---------------------------------------------------------------- the client's flight

    def handle_message(self, raw: RawHandshake) -> None:
        """Keep handshake_messages before a CertificateVerify: what the client signed (RFC 5246 §7.4.8)."""
        if raw.msg_type == HandshakeType.CERTIFICATE_VERIFY:
            self._before_certificate_verify = self.transcript.data
        super().handle_message(raw)

    def on_ServerWaitClientCertificate(self, state: ServerWaitClientCertificate, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.6: an empty list is allowed unless verify_client is "required" (then handshake_failure);
        a chain is verified against client_cafile (bad_certificate / unknown_ca / certificate_expired)."""
        n = state.negotiated
        if isinstance(msg, ClientKeyExchange):  # SSL 3.0: no Certificate, a no_certificate warning instead
            require(n.version == ProtocolVersion.SSL3, "ClientKeyExchange before the requested Certificate",
                    AlertDescription.UNEXPECTED_MESSAGE)
            if self.config.verify_client == "required":
                raise HandshakeFailure("client sent no certificate, and one is required (RFC 6101 §5.6.6)")
            return self.on_ServerWaitClientKeyExchange(ServerWaitClientKeyExchange(n, state.ecdhe_key, state.dhe_key), msg)
        assert isinstance(msg, Certificate)
        if not msg.certificates:
            if self.config.verify_client == "required":
                raise HandshakeFailure("client sent no certificate, and one is required (RFC 5246 §7.4.6)")
            return ServerWaitClientKeyExchange(n, state.ecdhe_key, state.dhe_key)
        chain, _ = crypto.load_peer_certificates(msg.certificates)
        crypto.verify_client_chain(chain, self.config.client_cafile)
        return ServerWaitClientKeyExchange(n, state.ecdhe_key, state.dhe_key, chain)

    def on_ServerWaitClientKeyExchange(self, state: ServerWaitClientKeyExchange, msg: HandshakeMessage) -> State:
        """RSA (§7.4.7.1, with the Bleichenbacher countermeasure) or ECDHE (RFC 8422 §5.7)."""
        assert isinstance(msg, ClientKeyExchange)
        n = state.negotiated
        if state.dhe_key is not None:
            premaster = crypto.dhe_shared_secret(state.dhe_key, msg.dh_public)
        elif state.ecdhe_key is None:
            key = self.config.private_key
            assert isinstance(key, rsa.RSAPrivateKey)
            premaster = crypto.rsa_decrypt_premaster(key, msg.encrypted_premaster, n.client_version)
        else:
            premaster = crypto.ecdhe_shared_secret(state.ecdhe_key, msg.ec_public)
        master = compute_master_secret(n, premaster, self.transcript)
        keys = derive_keys(n, master)
        self.host.install_pending(n.suite, n.version, keys, n.encrypt_then_mac)
        if state.peer_certificates:
            return ServerWaitCertificateVerify(n, master, premaster, keys, state.peer_certificates)
        return ServerWaitChangeCipherSpec(n, master, premaster, keys)

    def on_ServerWaitCertificateVerify(self, state: ServerWaitCertificateVerify, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.8: a signature over all handshake messages so far by the certificate's key;
        TLS 1.2 with a scheme we listed in the CertificateRequest. A bad signature is decrypt_error."""
        assert isinstance(msg, CertificateVerify)
        n = state.negotiated
        if n.version >= ProtocolVersion.TLS1_2:
            require(
                msg.signature_scheme in self.config.effective_signature_schemes(),
                f"client signed with scheme {msg.signature_scheme}, which was not requested",
                AlertDescription.ILLEGAL_PARAMETER,
            )
        key = state.peer_certificates[0].public_key()
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        crypto.verify_certificate_verify(
            key, n.version, msg.signature_scheme, self._before_certificate_verify, msg.signature, state.master_secret
        )
        return ServerWaitChangeCipherSpec(
            n, state.master_secret, state.premaster_secret, state.keys, state.peer_certificates
        )

    def on_ccs_ServerWaitChangeCipherSpec(self, state: ServerWaitChangeCipherSpec, _: object) -> State:
        """RFC 5246 §7.1: the client's records are protected from here on."""
        self.host.activate_read_pending()
        return ServerWaitFinished(
            state.negotiated, state.master_secret, state.premaster_secret, state.keys, state.peer_certificates
        )

    def on_ServerWaitFinished(self, state: ServerWaitFinished, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.9: check the client's Finished; in a full handshake answer with ours."""
        assert isinstance(msg, Finished)
        n = state.negotiated
        expected = verify_data(n, state.master_secret, self.peer_finished_basis(), from_client=True)
        check_finished(expected, msg.verify_data, "client")
        if not n.resumed:
            if n.session_ticket and self.config.ticket_keys is not None:  # RFC 5077 §3.3: before our CCS
                keys = self.config.ticket_keys
                ticket = keys.seal(self._session(n, state.master_secret, state.peer_certificates))
                self.send(NewSessionTicket(keys.lifetime_hint, ticket))
            self.host.send_change_cipher_spec()
            self.send(Finished(verify_data(n, state.master_secret, self.transcript.finished_basis(), from_client=False)))
            self._store_session(n, state.master_secret, state.peer_certificates)
        self.host.handshake_finished(
            HandshakeResult(n, state.master_secret, state.premaster_secret, state.keys, state.peer_certificates)
        )
        return ServerConnected()

    def on_ServerConnected(self, state: ServerConnected, msg: HandshakeMessage) -> State:
        """RFC 5746 §4.4 / RFC 5246 §7.4.1.2: we never renegotiate; refuse with a warning and carry on."""
        self.host.send_warning(AlertDescription.NO_RENEGOTIATION)
        return state

    def _store_session(self, n: Negotiated, master: bytes, peers: list[x509.Certificate]) -> None:
        cache = self.config.session_cache
        if cache is None or not n.session_id:
            return
        cache.store(self._session(n, master, peers))

    @staticmethod
    def _session(n: Negotiated, master: bytes, peers: list[x509.Certificate]) -> Session:
        """What resumption needs, with the client's verified chain (shown again on a resumed connection)."""
        return Session(
            session_id=n.session_id,
            version=int(n.version),
            cipher_suite=n.suite.id,
            master_secret=master,
            extended_master_secret=n.extended_master_secret,
            server_name=n.server_name,
            alpn=n.alpn,
            peer_certificates=_chain_der(tuple(peers)),
        )

    def forget_session(self) -> None:
        """After a fatal error the session must not be resumed (RFC 5246 §7.2)."""
        cache, n = self.config.session_cache, self.negotiated
        if cache is not None and n is not None and n.session_id:
            cache.remove(n.session_id)


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

__all__ = ["ServerHandshake"]
