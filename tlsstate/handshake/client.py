"""The TLS 1.0-1.2 client handshake (RFC 5246 §7.3 Figures 1-2, RFC 8422, RFC 7627, RFC 7366, RFC 5746).

One class per state, holding only what is valid in it; the transitions are the rows of
:data:`~tlsstate.handshake.states.TRANSITIONS`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tlsstate.crypto import dh
from tlsstate.crypto.keys import ConnectionKeys
from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_id
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
from tlsstate.handshake.hellos import ServerHelloExtensions, read_server_hello_extensions
from tlsstate.sessions.cache import Session
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import (
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    AlertDescription,
    CompressionMethod,
    ExtensionType,
    HandshakeType,
    ProtocolVersion,
)
from tlsstate.wire.errors import ConfigurationError, HandshakeFailure, IllegalParameter, ProtocolError, ProtocolVersionError
from tlsstate.wire.messages import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    ClientKeyExchange,
    Extension,
    Finished,
    HandshakeMessage,
    HelloRequest,
    NewSessionTicket,
    RawHandshake,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)

_UNSUPPORTED_EXTENSION = AlertDescription.UNSUPPORTED_EXTENSION
_ECDHE = (KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA)


# ------------------------------------------------------------------------------------------ states


@dataclass
class ClientStart(State):
    """Before start_handshake()."""

    name: ClassVar[str] = "ClientStart"


@dataclass
class ClientWaitServerHello(State):
    """ClientHello sent."""

    name: ClassVar[str] = "ClientWaitServerHello"
    hello: ClientHello
    offered_session: Session | None


@dataclass
class ClientWaitCertificate(State):
    """Full handshake: ServerHello accepted."""

    name: ClassVar[str] = "ClientWaitCertificate"
    negotiated: Negotiated


@dataclass
class ClientWaitServerKeyExchange(State):
    """ECDHE: the server's certificate accepted."""

    name: ClassVar[str] = "ClientWaitServerKeyExchange"
    negotiated: Negotiated
    peer_certificates: list[x509.Certificate]


@dataclass
class ClientWaitServerHelloDone(State):
    """Key exchange parameters known (the certificate's key for RSA, the server's ECDHE share otherwise)."""

    name: ClassVar[str] = "ClientWaitServerHelloDone"
    negotiated: Negotiated
    peer_certificates: list[x509.Certificate]
    server_key_exchange: ServerKeyExchange | None
    certificate_requested: bool = False
    certificate_request: CertificateRequest | None = None


@dataclass
class ClientWaitChangeCipherSpec(State):
    """Master secret and keys known; waiting for the server's ChangeCipherSpec."""

    name: ClassVar[str] = "ClientWaitChangeCipherSpec"
    negotiated: Negotiated
    master_secret: bytes = field(repr=False)
    premaster_secret: bytes | None = field(repr=False)
    keys: ConnectionKeys
    peer_certificates: list[x509.Certificate]
    new_ticket: NewSessionTicket | None = field(default=None, repr=False)


@dataclass
class ClientWaitFinished(State):
    """The server's ChangeCipherSpec received: its Finished is the first protected message."""

    name: ClassVar[str] = "ClientWaitFinished"
    negotiated: Negotiated
    master_secret: bytes = field(repr=False)
    premaster_secret: bytes | None = field(repr=False)
    keys: ConnectionKeys
    peer_certificates: list[x509.Certificate]
    new_ticket: NewSessionTicket | None = field(default=None, repr=False)


@dataclass
class ClientConnected(State):
    """Handshake done; only a HelloRequest may arrive (refused with no_renegotiation)."""

    name: ClassVar[str] = "ClientConnected"


# ------------------------------------------------------------------------------------------ machine


class ClientHandshake(HandshakeMachine):
    """Client side: builds the ClientHello, then follows the server's flight."""

    is_client = True

    def initial_state(self) -> State:
        return ClientStart()

    # ---------------------------------------------------------------- ClientHello (RFC 5246 §7.4.1.2)

    def start(self) -> None:
        """Send the ClientHello."""
        config = self.config
        low, high = config.version_range()
        suites = [s for s in config.effective_suites() if s.min_version <= high and s.max_version >= low]
        if not suites:
            raise ConfigurationError("no configured cipher suite is valid for the enabled versions")
        session = self._session_to_offer(suites, low, high)
        if session is not None and session.ticket:  # RFC 5077 §3.4: a fresh session ID shows acceptance
            session = dataclasses.replace(session, session_id=os.urandom(32))
        suite_ids = [s.id for s in suites]
        extensions: list[Extension] | None = None
        if high >= ProtocolVersion.TLS1_0:
            extensions = self._hello_extensions(suites, high)
            if self.config.record_size_limit is not None:  # RFC 8449 §4
                extensions.append(ext.build_record_size_limit(self.config.record_size_limit))
            if self.config.max_fragment_length is not None:  # RFC 6066 §4
                code = {512: 1, 1024: 2, 2048: 3, 4096: 4}[self.config.max_fragment_length]
                extensions.append(ext.build_max_fragment_length(code))
            if self.config.session_tickets:  # RFC 5077 §3.2: our ticket, or empty to ask for one
                extensions.append(ext.build_session_ticket(session.ticket if session is not None else b""))
        else:
            suite_ids.append(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)  # SSL 3.0: no extensions (RFC 5746 §3.3)
        hello = ClientHello(
            version=int(high),
            random=os.urandom(32),
            session_id=session.session_id if session else b"",
            cipher_suites=tuple(suite_ids),
            compression_methods=bytes([CompressionMethod.NULL]),
            extensions=tuple(extensions) if extensions is not None else None,
        )
        self.host.set_version(min(int(high), int(ProtocolVersion.TLS1_0)))  # RFC 5246 Appendix E.1
        self.send(hello)
        self.state = ClientWaitServerHello(hello, session)

    def _session_key(self) -> str | None:
        return self.config.session_key or self.config.server_name

    def _session_to_offer(self, suites: list[CipherSuite], low: int, high: int) -> Session | None:
        store, key = self.config.session_store, self._session_key()
        if store is None or key is None:
            return None
        session = store.lookup(key)
        if session is None or not low <= session.version <= high:
            return None
        if session.ticket and not self.config.session_tickets:  # resumable then only by its session ID
            return dataclasses.replace(session, ticket=b"") if session.session_id else None
        if session.cipher_suite not in {s.id for s in suites}:
            return None
        if self.config.require_extended_master_secret and not session.extended_master_secret:
            return None  # RFC 7627 §5.4: a client insisting on EMS does not resume a session without it
        return session

    def _hello_extensions(self, suites: list[CipherSuite], high: int) -> list[Extension]:
        config = self.config
        out: list[Extension] = []
        name = config.server_name
        if name and not ext.is_ip_address(name):  # RFC 6066 §3: literal IP addresses are not sent
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
        out.append(ext.build_renegotiation_info(b""))
        return out

    # ---------------------------------------------------------------- handlers

    def ignore_message(self, raw: RawHandshake) -> bool:
        # RFC 5246 §7.4.1.1: a HelloRequest during a handshake is ignored (and never hashed).
        return raw.msg_type == HandshakeType.HELLO_REQUEST and not self.connected

    def on_ClientWaitServerHello(self, state: ClientWaitServerHello, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.1.3, Appendix E.1; extension responses checked against what we offered."""
        assert isinstance(msg, ServerHello)
        hello = state.hello
        low, high = self.config.version_range()
        if not (low <= msg.version <= hello.version) or msg.version > high:
            raise ProtocolVersionError(f"server chose version 0x{msg.version:04x}, which was not offered")
        version = ProtocolVersion(msg.version)
        suite = by_id(msg.cipher_suite)
        require(
            suite is not None and msg.cipher_suite in hello.cipher_suites and suite.valid_for(version),
            f"server chose cipher suite 0x{msg.cipher_suite:04x}, which was not offered for {version.label}",
            AlertDescription.ILLEGAL_PARAMETER,
        )
        assert suite is not None
        require(
            msg.compression_method == CompressionMethod.NULL,
            f"server chose compression method {msg.compression_method}",
            AlertDescription.ILLEGAL_PARAMETER,
        )
        answer = self._read_server_hello_extensions(msg, hello, suite, version)
        ems, etm, ticket = answer.extended_master_secret, answer.encrypt_then_mac, answer.session_ticket
        alpn = answer.alpn.decode("ascii", "replace") if answer.alpn is not None else None
        peer_record_limit, fragment_length = answer.record_size_limit, answer.max_fragment_length
        negotiated = Negotiated(
            version=version,
            suite=suite,
            client_random=hello.random,
            server_random=msg.random,
            session_id=msg.session_id,
            client_version=hello.version,
            extended_master_secret=ems,
            encrypt_then_mac=etm,
            alpn=alpn,
            server_name=self.config.server_name,
            session_ticket=ticket,
        )
        self.set_negotiated(negotiated)
        if peer_record_limit is not None:  # RFC 8449 §4; it wins over max_fragment_length (§5)
            negotiated.send_limit = min(peer_record_limit, 16384)
            negotiated.receive_limit = self.config.record_size_limit or 16384
            negotiated.limits_protected_only = True
            self.host.set_record_limits(negotiated.send_limit, negotiated.receive_limit, protected_only=True)
        elif fragment_length is not None:
            negotiated.send_limit = negotiated.receive_limit = fragment_length
            self.host.set_record_limits(fragment_length, fragment_length, protected_only=False)
        session = state.offered_session
        if session is not None and msg.session_id == session.session_id:
            return self._resume(negotiated, session)
        if self.config.extended_master_secret and not ems and self.config.require_extended_master_secret:
            raise HandshakeFailure("server does not support extended_master_secret (RFC 7627)")
        return ClientWaitCertificate(negotiated)

    def _read_server_hello_extensions(
        self, msg: ServerHello, hello: ClientHello, suite: CipherSuite, version: ProtocolVersion
    ) -> ServerHelloExtensions:
        """:func:`~tlsstate.handshake.hellos.read_server_hello_extensions`, then what a client requires of the answer:
        only what we offered (RFC 5246 §7.4.1.4), each extension allowed for this version and suite, the value we asked
        for (RFC 5746 §3.4, RFC 7627, RFC 7366 §3, RFC 7301 §3.2, RFC 6066 §4, RFC 8422 §5.2)."""
        # RFC 5746 §3.4: the SCSV (SSL 3.0) solicits renegotiation_info as much as the extension does.
        offered = {e.type for e in hello.extensions or ()} | {ExtensionType.RENEGOTIATION_INFO}
        for e in msg.extensions or ():
            require(
                e.type in offered,
                f"server sent extension {ext.extension_name(e.type)} that was not offered",
                _UNSUPPORTED_EXTENSION,
            )
        answer = read_server_hello_extensions(msg)
        if answer.renegotiation_info:  # RFC 5746 §3.4: on the initial handshake renegotiated_connection is empty
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
                name in self.config.alpn_protocols,
                f"server selected ALPN protocol {name!r}, which was not offered (RFC 7301 §3.2)",
                AlertDescription.ILLEGAL_PARAMETER,
            )
        if answer.max_fragment_length is not None:  # RFC 6066 §4: the same value, else illegal_parameter
            require(
                answer.max_fragment_length == self.config.max_fragment_length,
                f"server answered max_fragment_length {answer.max_fragment_length}, "
                f"we asked for {self.config.max_fragment_length}",
                AlertDescription.ILLEGAL_PARAMETER,
            )
        if answer.point_formats is not None:
            require(
                ext.EC_POINT_FORMAT_UNCOMPRESSED in answer.point_formats,
                "server does not support uncompressed points (RFC 8422 §5.2)",
                AlertDescription.ILLEGAL_PARAMETER,
            )
        return answer

    def _resume(self, n: Negotiated, session: Session) -> State:
        """Abbreviated handshake (RFC 5246 §7.3 Figure 2) with the EMS rules of RFC 7627 §5.3."""
        require(
            n.version == session.version and n.suite.id == session.cipher_suite,
            "resumed session with a different version or cipher suite",
            AlertDescription.ILLEGAL_PARAMETER,
        )
        if session.extended_master_secret != n.extended_master_secret:
            raise HandshakeFailure("extended_master_secret differs from the resumed session (RFC 7627 §5.3)")
        n.resumed = True
        keys = derive_keys(n, session.master_secret)
        self.host.install_pending(n.suite, n.version, keys, n.encrypt_then_mac)
        certificates = [x509.load_der_x509_certificate(der) for der in session.peer_certificates]
        return ClientWaitChangeCipherSpec(n, session.master_secret, None, keys, certificates)

    def on_ClientWaitCertificate(self, state: ClientWaitCertificate, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.2: the server's chain, checked unless ``verify`` is off."""
        assert isinstance(msg, Certificate)
        n = state.negotiated
        require(bool(msg.certificates), "server sent an empty certificate list", AlertDescription.DECODE_ERROR)
        chain, key = crypto.load_peer_certificates(msg.certificates)
        kx = n.suite.key_exchange
        wants_rsa = kx in (KeyExchange.RSA, KeyExchange.DHE_RSA, KeyExchange.ECDHE_RSA)
        fits = isinstance(key, rsa.RSAPublicKey) if wants_rsa else isinstance(key, ec.EllipticCurvePublicKey)
        require(fits, f"certificate key does not fit {kx.value}", AlertDescription.UNSUPPORTED_CERTIFICATE)
        if self.config.verify:
            crypto.verify_server_chain(chain, self.config.server_name, self.config.cafile)
        if kx is KeyExchange.RSA:
            return ClientWaitServerHelloDone(n, chain, None)
        return ClientWaitServerKeyExchange(n, chain)

    def on_ClientWaitServerKeyExchange(self, state: ClientWaitServerKeyExchange, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.3 / RFC 8422 §5.4: ECDHE on a named group we offered (DHE: the server's group,
        checked when we use it), signed by the certificate's key with a scheme we offered."""
        assert isinstance(msg, ServerKeyExchange)
        n = state.negotiated
        if n.suite.key_exchange is not KeyExchange.DHE_RSA:
            groups = [g for g in self.config.effective_groups() if g in crypto.ECDHE_GROUPS]
            require(
                msg.named_group in groups,
                f"server chose named group {msg.named_group}, which was not offered",
                AlertDescription.ILLEGAL_PARAMETER,
            )
        if n.version >= ProtocolVersion.TLS1_2:
            require(
                msg.signature_scheme in self.config.effective_signature_schemes(),
                f"server signed with scheme {msg.signature_scheme}, which was not offered",
                AlertDescription.ILLEGAL_PARAMETER,
            )
        key = state.peer_certificates[0].public_key()
        assert isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        signed = n.client_random + n.server_random + msg.params
        crypto.verify_params(key, n.version, msg.signature_scheme, signed, msg.signature)
        if n.suite.key_exchange is KeyExchange.DHE_RSA:
            n.key_exchange_group = dh.ffdhe_group_of(msg.dh_p, msg.dh_g)
        else:
            n.key_exchange_group = msg.named_group
        return ClientWaitServerHelloDone(n, state.peer_certificates, msg)

    def on_ClientWaitServerHelloDone(self, state: ClientWaitServerHelloDone, msg: HandshakeMessage) -> State:
        """CertificateRequest is noted; ServerHelloDone triggers our flight (RFC 5246 §7.4.5-§7.4.9)."""
        if isinstance(msg, CertificateRequest):
            state.certificate_requested = True
            state.certificate_request = msg
            return state
        assert isinstance(msg, ServerHelloDone)
        n = state.negotiated
        signing: tuple[crypto.PrivateKey, int | None] | None = None
        if state.certificate_request is not None:
            signing = self._client_credentials(n, state.certificate_request)
            if signing is not None:
                self.send(Certificate(tuple(c.public_bytes(_DER) for c in self.config.client_certificate_chain)))
            elif n.version == ProtocolVersion.SSL3:
                self.host.send_warning(AlertDescription.NO_CERTIFICATE)  # RFC 6101 §5.6.6 / §7.4.6 note
            else:
                self.send(Certificate(()))  # RFC 5246 §7.4.6: an empty certificate_list
        if state.server_key_exchange is None:
            key = state.peer_certificates[0].public_key()
            assert isinstance(key, rsa.RSAPublicKey)
            premaster, encrypted = crypto.rsa_encrypt_premaster(key, n.client_version)
            self.send(ClientKeyExchange(encrypted_premaster=encrypted))
        elif state.server_key_exchange.dh_p:  # DHE (RFC 5246 §7.4.7.2): the server's group, our key
            ske = state.server_key_exchange
            pair = crypto.dhe_generate_client(ske.dh_p, ske.dh_g, self.config.min_dh_bits)
            premaster = crypto.dhe_shared_secret(pair, ske.dh_public)
            self.send(ClientKeyExchange(dh_public=pair.public_bytes))
        else:
            ske = state.server_key_exchange
            assert ske.named_group is not None
            private, public = crypto.ecdhe_generate(ske.named_group)
            premaster = crypto.ecdhe_shared_secret(private, ske.ec_public)
            self.send(ClientKeyExchange(ec_public=public))
        master = compute_master_secret(n, premaster, self.transcript)  # RFC 7627 §3: hash up to ClientKeyExchange
        if signing is not None:  # RFC 5246 §7.4.8: sign handshake_messages so far
            signing_key, scheme = signing
            signature = crypto.sign_certificate_verify(signing_key, n.version, scheme, self.transcript.data, master)
            self.send(CertificateVerify(signature, scheme))
        keys = derive_keys(n, master)
        self.host.install_pending(n.suite, n.version, keys, n.encrypt_then_mac)
        self.host.send_change_cipher_spec()
        self.send(Finished(verify_data(n, master, self.transcript.finished_basis(), from_client=True)))
        return ClientWaitChangeCipherSpec(n, master, premaster, keys, state.peer_certificates)

    def _client_credentials(self, n: Negotiated, request: CertificateRequest) -> tuple[crypto.PrivateKey, int | None] | None:
        """Our key and signature scheme when our certificate fits the request (RFC 5246 §7.4.4, §7.4.6), else None
        (we then send no certificate and the server decides)."""
        key = self.config.client_private_key
        if key is None or not self.config.client_certificate_chain:
            return None
        wanted = 1 if isinstance(key, rsa.RSAPrivateKey) else 64  # rsa_sign / ecdsa_sign (RFC 8422 §5.5)
        if wanted not in request.certificate_types:
            return None
        if n.version == ProtocolVersion.SSL3 and not isinstance(key, rsa.RSAPrivateKey):
            return None
        if n.version < ProtocolVersion.TLS1_2:
            return key, None
        scheme = crypto.choose_signature_scheme(
            key, list(request.signature_schemes), n.version, [int(s) for s in self.config.effective_signature_schemes()]
        )
        return None if scheme is None else (key, scheme)

    def on_ClientWaitChangeCipherSpec(self, state: ClientWaitChangeCipherSpec, msg: HandshakeMessage) -> State:
        """RFC 5077 §3.3: a NewSessionTicket just before the server's ChangeCipherSpec, only when announced."""
        assert isinstance(msg, NewSessionTicket)
        require(
            state.negotiated.session_ticket and state.new_ticket is None,
            "NewSessionTicket without a SessionTicket extension in ServerHello (RFC 5077 §3.3)",
            AlertDescription.UNEXPECTED_MESSAGE,
        )
        state.new_ticket = msg
        return state

    def on_ccs_ClientWaitChangeCipherSpec(self, state: ClientWaitChangeCipherSpec, _: object) -> State:
        """RFC 5246 §7.1: the server's records are protected from here on."""
        self.host.activate_read_pending()
        require(
            not state.negotiated.session_ticket or state.new_ticket is not None,
            "ServerHello announced a NewSessionTicket that did not come (RFC 5077 §3.3)",
            AlertDescription.UNEXPECTED_MESSAGE,
        )
        return ClientWaitFinished(
            state.negotiated, state.master_secret, state.premaster_secret, state.keys, state.peer_certificates,
            state.new_ticket,
        )

    def on_ClientWaitFinished(self, state: ClientWaitFinished, msg: HandshakeMessage) -> State:
        """RFC 5246 §7.4.9; in a resumed handshake we answer with our ChangeCipherSpec and Finished."""
        assert isinstance(msg, Finished)
        n = state.negotiated
        expected = verify_data(n, state.master_secret, self.peer_finished_basis(), from_client=False)
        check_finished(expected, msg.verify_data, "server")
        if n.resumed:
            self.host.send_change_cipher_spec()
            self.send(Finished(verify_data(n, state.master_secret, self.transcript.finished_basis(), from_client=True)))
        if not n.resumed or state.new_ticket is not None:
            self._store_session(state)
        self.host.handshake_finished(
            HandshakeResult(n, state.master_secret, state.premaster_secret, state.keys, state.peer_certificates)
        )
        return ClientConnected()

    def on_ClientConnected(self, state: ClientConnected, msg: HandshakeMessage) -> State:
        """RFC 5746 §4.2 / RFC 5246 §7.4.1.1: we never renegotiate; refuse with a warning and carry on."""
        assert isinstance(msg, HelloRequest)
        self.host.send_warning(AlertDescription.NO_RENEGOTIATION)
        return state

    def _store_session(self, state: ClientWaitFinished) -> None:
        store, key, n = self.config.session_store, self._session_key(), state.negotiated
        ticket = state.new_ticket.ticket if state.new_ticket is not None else b""
        if store is None or key is None or not (n.session_id or ticket):
            return
        store.store(
            key,
            Session(
                session_id=n.session_id,
                version=int(n.version),
                cipher_suite=n.suite.id,
                master_secret=state.master_secret,
                extended_master_secret=n.extended_master_secret,
                server_name=n.server_name,
                alpn=n.alpn,
                peer_certificates=tuple(c.public_bytes(_DER) for c in state.peer_certificates),
                ticket=ticket,
            ),
        )

    def forget_session(self) -> None:
        """After a fatal error, the offered/used session must not be resumed (RFC 5246 §7.2)."""
        store, key = self.config.session_store, self._session_key()
        if store is not None and key is not None:
            store.remove(key)


from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402

_DER = Encoding.DER

__all__ = ["ClientHandshake", "IllegalParameter", "ProtocolError"]
