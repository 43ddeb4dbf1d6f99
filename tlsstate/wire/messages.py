"""Handshake messages: one frozen dataclass per message, strict parse and serialize.

RFC 5246 §7.4 (TLS 1.0-1.2), RFC 6101 §5.6 (SSL 3.0 differences), RFC 4279 (PSK), RFC 8422 (ECC),
RFC 5489 (ECDHE_PSK), RFC 5077 (NewSessionTicket), RFC 8446 §4 (TLS 1.3 hellos; the messages only TLS 1.3 has
are in :mod:`tlsstate.wire.messages13`, parsed here too), RFC 5246 Appendix E.2 (SSLv2-format ClientHello).

CONTRACT (fields are fixed; implementation of parse/serialize lives in this module):
- ``serialize()`` returns the message *body* (without the 4-byte handshake header);
  :func:`encode_handshake` adds the header.
- ``parse(body, ...)`` classmethods are strict: DecodeError on bad lengths / trailing bytes,
  IllegalParameter on bad values.
- :mod:`tlsstate.wire.framing` (:class:`HandshakeReassembler`, :class:`RawHandshake`) turns handshake-record
  fragments into whole messages, keeping each message's raw bytes (header + body) for the transcript.

Messages whose wire form depends on the negotiated version or key exchange take them in ``parse``
(``ServerKeyExchange``, ``ClientKeyExchange``, ``CertificateRequest``, ``CertificateVerify``,
``Finished``); :func:`parse_message` dispatches with a :class:`ParseContext`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from tlsstate.wire.codec import Reader, Writer
from tlsstate.wire.constants import ExtensionType, HandshakeType, KeyExchange, ProtocolVersion
from tlsstate.wire.errors import (
    DecodeError,
    IllegalParameter,
    ProtocolVersionError,
    UnexpectedMessage,
)
from tlsstate.wire.extension_block import Extension as Extension
from tlsstate.wire.extension_block import parse_extension_block as _parse_extension_block
from tlsstate.wire.extension_block import write_extension_block as _write_extension_block
from tlsstate.wire.framing import (  # re-exported: the framing lived here
    DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH as DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH,
)
from tlsstate.wire.framing import HANDSHAKE_HEADER_LENGTH as HANDSHAKE_HEADER_LENGTH
from tlsstate.wire.framing import MAX_CLIENT_HELLO_LENGTH as MAX_CLIENT_HELLO_LENGTH
from tlsstate.wire.framing import SERVER_LIMITS as SERVER_LIMITS
from tlsstate.wire.framing import HandshakeReassembler as HandshakeReassembler
from tlsstate.wire.framing import RawHandshake as RawHandshake
from tlsstate.wire.messages13 import (
    Certificate13,
    CertificateRequest13,
    EncryptedExtensions,
    EndOfEarlyData,
    KeyUpdate,
    NewSessionTicket13,
    Tls13Message,
)
from tlsstate.wire.sequences import U16Sequence

RANDOM_LENGTH = 32
MAX_SESSION_ID_LENGTH = 32

#: RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of "HelloRetryRequest").
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

_SSL3 = int(ProtocolVersion.SSL3)
_TLS12 = int(ProtocolVersion.TLS1_2)
_TLS13 = int(ProtocolVersion.TLS1_3)
_ECCURVE_TYPE_NAMED_CURVE = 3  # RFC 8422 §5.4 ECCurveType.named_curve


def _check_random(random: bytes) -> None:
    if len(random) != RANDOM_LENGTH:
        raise ValueError(f"random must be {RANDOM_LENGTH} bytes, not {len(random)}")


def _check_session_id(session_id: bytes) -> None:
    if len(session_id) > MAX_SESSION_ID_LENGTH:
        raise ValueError(f"session_id must be at most {MAX_SESSION_ID_LENGTH} bytes, not {len(session_id)}")


def _expect_empty(body: bytes, what: str) -> None:
    if body:
        raise DecodeError(f"{what} must be empty, got {len(body)} byte(s)")


@dataclass(frozen=True, slots=True)
class ClientHello:
    """RFC 5246 §7.4.1.2. ``extensions`` is None when the message has no extensions block at all. Parsed, the
    suites and extensions are compact sequences (:mod:`~tlsstate.wire.sequences`) equal to tuples of the same."""

    version: int
    random: bytes
    session_id: bytes
    cipher_suites: Sequence[int]
    compression_methods: bytes = b"\x00"
    extensions: Sequence[Extension] | None = None
    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_HELLO

    @classmethod
    def parse(cls, body: bytes) -> ClientHello:
        """Parse a ClientHello body (RFC 5246 §7.4.1.2).

        DecodeError: bad lengths, session_id > 32, empty or odd cipher_suites, no compression method,
        trailing bytes. IllegalParameter: null compression not offered, duplicated extension.
        """
        r = Reader(body, "ClientHello")
        version = r.u16()
        random = r.read(RANDOM_LENGTH)
        session_id = r.vec8(0, MAX_SESSION_ID_LENGTH)
        suites = r.vector(2, min_len=2)
        if len(suites) % 2:
            raise DecodeError(f"ClientHello cipher_suites: odd length {len(suites)} for a list of uint16")
        compression = r.vec8(1)
        if 0 not in compression:
            raise IllegalParameter("ClientHello compression_methods does not offer null compression")
        extensions = _parse_extension_block(r, "ClientHello")
        return cls(version, random, session_id, U16Sequence.from_bytes(suites), compression, extensions)

    def serialize(self) -> bytes:
        """The ClientHello body (RFC 5246 §7.4.1.2)."""
        _check_random(self.random)
        _check_session_id(self.session_id)
        if not self.cipher_suites:
            raise ValueError("ClientHello needs at least one cipher suite")
        if not self.compression_methods:
            raise ValueError("ClientHello needs at least one compression method")
        w = Writer()
        w.u16(self.version)
        w.write(self.random)
        w.vec8(self.session_id)
        w.u16_list(2, self.cipher_suites)
        w.vec8(self.compression_methods)
        _write_extension_block(w, self.extensions)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class ServerHello:
    """RFC 5246 §7.4.1.3 (also TLS 1.3 ServerHello / HelloRetryRequest, RFC 8446 §4.1.3)."""

    version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int = 0
    extensions: Sequence[Extension] | None = None
    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO

    @classmethod
    def parse(cls, body: bytes) -> ServerHello:
        """Parse a ServerHello body (RFC 5246 §7.4.1.3; same wire form in RFC 8446 §4.1.3)."""
        r = Reader(body, "ServerHello")
        version = r.u16()
        random = r.read(RANDOM_LENGTH)
        session_id = r.vec8(0, MAX_SESSION_ID_LENGTH)
        suite = r.u16()
        compression = r.u8()
        extensions = _parse_extension_block(r, "ServerHello")
        return cls(version, random, session_id, suite, compression, extensions)

    def serialize(self) -> bytes:
        """The ServerHello body (RFC 5246 §7.4.1.3)."""
        _check_random(self.random)
        _check_session_id(self.session_id)
        w = Writer()
        w.u16(self.version)
        w.write(self.random)
        w.vec8(self.session_id)
        w.u16(self.cipher_suite)
        w.u8(self.compression_method)
        _write_extension_block(w, self.extensions)
        return w.getvalue()

    @property
    def is_hello_retry_request(self) -> bool:
        """True for a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3: the special random)."""
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    @property
    def selected_version(self) -> int:
        """The negotiated version: supported_versions (RFC 8446 §4.2.1) if present, else ``version``.

        DecodeError if the supported_versions extension is not exactly one uint16.
        """
        for ext in self.extensions or ():
            if ext.type == ExtensionType.SUPPORTED_VERSIONS:
                if len(ext.data) != 2:
                    raise DecodeError(f"ServerHello supported_versions must be 2 bytes, got {len(ext.data)}")
                return int.from_bytes(ext.data, "big")
        return self.version


def is_hello_retry_request(msg: ServerHello) -> bool:
    """True when a ServerHello is a TLS 1.3 HelloRetryRequest (RFC 8446 §4.1.3)."""
    return msg.random == HELLO_RETRY_REQUEST_RANDOM


@dataclass(frozen=True, slots=True)
class Certificate:
    """RFC 5246 §7.4.2: DER certificates, sender's first."""

    certificates: tuple[bytes, ...]
    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE

    @classmethod
    def parse(cls, body: bytes) -> Certificate:
        """Parse ``ASN.1Cert certificate_list<0..2^24-1>`` with ``opaque ASN.1Cert<1..2^24-1>`` (§7.4.2)."""
        r = Reader(body, "Certificate")
        chain = r.sub(3, "Certificate certificate_list")
        r.expect_end()
        certs: list[bytes] = []
        while not chain.at_end():
            certs.append(chain.vec24(1))
        return cls(tuple(certs))

    def serialize(self) -> bytes:
        """The Certificate body (RFC 5246 §7.4.2)."""
        w = Writer()
        with w.length_prefixed(3) as chain:
            for der in self.certificates:
                if not der:
                    raise ValueError("an empty certificate cannot be sent")
                chain.vec24(der)
        return w.getvalue()


def encode_server_dh_params(dh_p: bytes, dh_g: bytes, dh_public: bytes) -> bytes:
    """``ServerDHParams`` (RFC 5246 §7.4.3): dh_p, dh_g, dh_Ys as ``opaque <1..2^16-1>``."""
    w = Writer()
    for value in (dh_p, dh_g, dh_public):
        if not value:
            raise ValueError("DH parameters must not be empty")
        w.vec16(value)
    return w.getvalue()


def encode_server_ecdh_params(named_group: int, ec_public: bytes) -> bytes:
    """``ServerECDHParams`` (RFC 8422 §5.4): curve_type named_curve (3), NamedCurve, ECPoint <1..2^8-1>."""
    if not ec_public:
        raise ValueError("EC public value must not be empty")
    w = Writer()
    w.u8(_ECCURVE_TYPE_NAMED_CURVE)
    w.u16(named_group)
    w.vec8(ec_public)
    return w.getvalue()


@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """RFC 5246 §7.4.3, RFC 8422 §5.4, RFC 4279 §2-§4.

    ``params`` is the exact signed params bytes (ServerDHParams / ServerECDHParams, with the PSK
    identity hint prefix for *_PSK kinds). Parsed views: ``psk_identity_hint``, ``dh_p``, ``dh_g``,
    ``dh_public`` (DHE), ``named_group`` and ``ec_public`` (ECDHE). ``signature_scheme`` is set only
    in TLS 1.2 signed exchanges; ``signature`` is empty for unsigned (PSK) exchanges.
    """

    params: bytes
    signature_scheme: int | None = None
    signature: bytes = b""
    psk_identity_hint: bytes | None = None
    dh_p: bytes = b""
    dh_g: bytes = b""
    dh_public: bytes = b""
    named_group: int | None = None
    ec_public: bytes = b""
    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_KEY_EXCHANGE

    @classmethod
    def build(
        cls,
        key_exchange: KeyExchange,
        *,
        psk_identity_hint: bytes | None = None,
        dh_p: bytes = b"",
        dh_g: bytes = b"",
        dh_public: bytes = b"",
        named_group: int | None = None,
        ec_public: bytes = b"",
        signature_scheme: int | None = None,
        signature: bytes = b"",
    ) -> ServerKeyExchange:
        """Build a ServerKeyExchange, computing ``params`` (the bytes to sign) from the parts.

        Sign ``client_random + server_random + msg.params`` and pass the result back with
        ``dataclasses.replace(msg, signature_scheme=..., signature=...)`` (RFC 5246 §7.4.3).
        """
        w = Writer()
        if key_exchange.uses_psk:
            w.vec16(psk_identity_hint or b"")
            psk_identity_hint = psk_identity_hint or b""
        if key_exchange.server_params == "dh":
            w.write(encode_server_dh_params(dh_p, dh_g, dh_public))
        elif key_exchange.server_params == "ecdh":
            if named_group is None:
                raise ValueError("ECDHE ServerKeyExchange needs a named_group")
            w.write(encode_server_ecdh_params(named_group, ec_public))
        elif not key_exchange.uses_psk:
            raise ValueError(f"{key_exchange.value} has no ServerKeyExchange")
        return cls(
            w.getvalue(), signature_scheme, signature, psk_identity_hint, dh_p, dh_g, dh_public, named_group, ec_public
        )

    @classmethod
    def parse(cls, body: bytes, version: int, key_exchange: KeyExchange) -> ServerKeyExchange:
        """Parse per key exchange (RFC 5246 §7.4.3, RFC 8422 §5.4, RFC 4279 §2-§4, RFC 5489 §2).

        Signed kinds (DHE_*, ECDHE_*, RSA_EXPORT) end in ``digitally-signed``: TLS 1.2 =
        SignatureAndHashAlgorithm (u16) + ``opaque<0..2^16-1>``; earlier versions the vector only; anon kinds
        (RFC 4492 §2.5, RFC 5246 §7.4.3 DH_anon) and PSK end with the params. RSA_EXPORT carries ServerRSAParams
        (RFC 2246 §7.4.3: modulus, exponent), SRP ServerSRPParams (RFC 5054 §2.8.2: N, g, s, B; signed for
        SRP_SHA_RSA / SRP_SHA_DSS). RSA and static (EC)DH have no ServerKeyExchange
        (UnexpectedMessage); only named curves are accepted (IllegalParameter otherwise).
        """
        rsa_export = key_exchange is KeyExchange.RSA_EXPORT
        if key_exchange.server_params is None and not (key_exchange.uses_psk or key_exchange.uses_srp or rsa_export):
            raise UnexpectedMessage(f"no ServerKeyExchange is allowed with {key_exchange.value} key exchange")
        r = Reader(body, "ServerKeyExchange")
        hint: bytes | None = None
        dh_p = dh_g = dh_public = ec_public = b""
        named_group: int | None = None
        if key_exchange.uses_psk:
            hint = r.vec16()
        if key_exchange.server_params == "dh":
            dh_p = r.vec16(1)
            dh_g = r.vec16(1)
            dh_public = r.vec16(1)
        elif key_exchange.server_params == "ecdh":
            curve_type = r.u8()
            if curve_type != _ECCURVE_TYPE_NAMED_CURVE:
                raise IllegalParameter(f"ServerKeyExchange curve_type {curve_type} is not named_curve (3)")
            named_group = r.u16()
            ec_public = r.vec8(1)
        elif rsa_export:
            r.vec16(1)  # rsa_modulus
            r.vec16(1)  # rsa_exponent
        elif key_exchange.uses_srp:  # RFC 5054 §2.8.2 ServerSRPParams
            r.vec16(1)  # srp_N
            r.vec16(1)  # srp_g
            r.vec8(1)  # srp_s
            r.vec16(1)  # srp_B
        params = body[: r.position]
        scheme: int | None = None
        signature = b""
        if key_exchange.signed:
            if version >= _TLS12:
                scheme = r.u16()
            signature = r.vec16(1)
        r.expect_end()
        return cls(params, scheme, signature, hint, dh_p, dh_g, dh_public, named_group, ec_public)

    def serialize(self) -> bytes:
        """The body: params, then (if signed) [scheme u16 in TLS 1.2] + vec16 signature (RFC 5246 §7.4.3)."""
        w = Writer()
        w.write(self.params)
        if self.signature_scheme is not None:
            w.u16(self.signature_scheme)
        if self.signature or self.signature_scheme is not None:
            w.vec16(self.signature)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """RFC 5246 §7.4.4. ``signature_schemes`` is empty before TLS 1.2."""

    certificate_types: bytes
    signature_schemes: tuple[int, ...] = ()
    certificate_authorities: tuple[bytes, ...] = ()
    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST

    @classmethod
    def parse(cls, body: bytes, version: int) -> CertificateRequest:
        """Parse (RFC 5246 §7.4.4; RFC 4346 §7.4.4 and RFC 6101 §5.6.4 have no signature algorithms).

        ``certificate_types<1..2^8-1>``, TLS 1.2 ``supported_signature_algorithms<2..2^16-2>``,
        ``DistinguishedName certificate_authorities<0..2^16-1>`` with ``opaque DistinguishedName<1..2^16-1>``.
        """
        r = Reader(body, "CertificateRequest")
        types = r.vec8(1)
        schemes: list[int] = []
        if version >= _TLS12:
            schemes = r.u16_list(2, "CertificateRequest supported_signature_algorithms", min_len=2)
        names = r.sub(2, "CertificateRequest certificate_authorities")
        r.expect_end()
        authorities: list[bytes] = []
        while not names.at_end():
            authorities.append(names.vec16(1))
        return cls(types, tuple(schemes), tuple(authorities))

    def serialize(self) -> bytes:
        """The body; the signature algorithm list is written only when non-empty (TLS 1.2)."""
        if not self.certificate_types:
            raise ValueError("CertificateRequest needs at least one certificate type")
        w = Writer()
        w.vec8(self.certificate_types)
        if self.signature_schemes:
            w.u16_list(2, self.signature_schemes)
        with w.length_prefixed(2) as names:
            for dn in self.certificate_authorities:
                names.vec16(dn)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    """RFC 5246 §7.4.5 (empty body)."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO_DONE

    @classmethod
    def parse(cls, body: bytes) -> ServerHelloDone:
        """The body must be empty (RFC 5246 §7.4.5)."""
        _expect_empty(body, "ServerHelloDone")
        return cls()

    def serialize(self) -> bytes:
        """Empty body."""
        return b""


_STATIC_DH = frozenset({KeyExchange.DH_DSS, KeyExchange.DH_RSA, KeyExchange.ECDH_ECDSA, KeyExchange.ECDH_RSA})


@dataclass(frozen=True, slots=True)
class ClientKeyExchange:
    """RFC 5246 §7.4.7, RFC 4279, RFC 8422 §5.7.

    ``encrypted_premaster`` for RSA / RSA_PSK (SSL 3.0 sends it without the 2-byte length);
    ``dh_public`` for DHE(_PSK); ``ec_public`` for ECDHE(_PSK); ``psk_identity`` for *_PSK; ``srp_public`` (A) for
    SRP (RFC 5054 §2.8.3).
    """

    encrypted_premaster: bytes = b""
    dh_public: bytes = b""
    ec_public: bytes = b""
    psk_identity: bytes | None = None
    srp_public: bytes = b""
    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_KEY_EXCHANGE

    @classmethod
    def parse(cls, body: bytes, version: int, key_exchange: KeyExchange) -> ClientKeyExchange:
        """Parse per key exchange (RFC 5246 §7.4.7.1/§7.4.7.2, RFC 6101 §5.6.7, RFC 8422 §5.7, RFC 4279).

        RSA: ``EncryptedPreMasterSecret`` is ``opaque<0..2^16-1>`` in TLS, the bare bytes in SSL 3.0.
        DHE: explicit ``dh_Yc<1..2^16-1>``. ECDHE: ``ECPoint<1..2^8-1>``. Static DH/ECDH: the same, or an empty
        body when the client certificate holds the key (implicit encoding).
        *_PSK: ``psk_identity<0..2^16-1>`` first; RSA_PSK then a vec16 encrypted premaster.
        """
        r = Reader(body, "ClientKeyExchange")
        identity: bytes | None = None
        encrypted = dh_public = ec_public = srp_public = b""
        if key_exchange.uses_psk:
            identity = r.vec16()
        public = key_exchange.client_public
        implicit = key_exchange in _STATIC_DH and r.at_end()  # RFC 5246 §7.4.7.2, RFC 4492 §5.7: in the certificate
        if key_exchange in (KeyExchange.RSA, KeyExchange.RSA_EXPORT):
            encrypted = r.read(r.remaining) if version == _SSL3 else r.vec16(1)
            if not encrypted:
                raise DecodeError("ClientKeyExchange: empty EncryptedPreMasterSecret")
        elif key_exchange == KeyExchange.RSA_PSK:
            encrypted = r.vec16(1)
        elif public == "dh" and not implicit:
            dh_public = r.vec16(1)
        elif public == "ecdh" and not implicit:
            ec_public = r.vec8(1)
        elif key_exchange.uses_srp:
            srp_public = r.vec16(1)
        elif key_exchange != KeyExchange.PSK and not implicit:
            raise UnexpectedMessage(f"no ClientKeyExchange is allowed with {key_exchange.value} key exchange")
        r.expect_end()
        return cls(encrypted, dh_public, ec_public, identity, srp_public)

    def serialize(self, version: int | None = None) -> bytes:
        """The body. Pass ``version=0x0300`` for SSL 3.0 RSA (no length prefix, RFC 6101 §5.6.7)."""
        w = Writer()
        if self.psk_identity is not None:
            w.vec16(self.psk_identity)
        if self.encrypted_premaster:
            if version == _SSL3 and self.psk_identity is None:
                w.write(self.encrypted_premaster)
            else:
                w.vec16(self.encrypted_premaster)
        elif self.dh_public:
            w.vec16(self.dh_public)
        elif self.ec_public:
            w.vec8(self.ec_public)
        elif self.srp_public:
            w.vec16(self.srp_public)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class CertificateVerify:
    """RFC 5246 §7.4.8. ``signature_scheme`` only in TLS 1.2."""

    signature: bytes
    signature_scheme: int | None = None
    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_VERIFY

    @classmethod
    def parse(cls, body: bytes, version: int) -> CertificateVerify:
        """``digitally-signed`` (RFC 5246 §4.7/§7.4.8): TLS 1.2 (and 1.3) scheme u16 + vec16, earlier vec16."""
        r = Reader(body, "CertificateVerify")
        scheme = r.u16() if version >= _TLS12 else None
        signature = r.vec16(1)
        r.expect_end()
        return cls(signature, scheme)

    def serialize(self) -> bytes:
        """The body (RFC 5246 §7.4.8)."""
        w = Writer()
        if self.signature_scheme is not None:
            w.u16(self.signature_scheme)
        w.vec16(self.signature)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class Finished:
    """RFC 5246 §7.4.9 (12 bytes in TLS; 36 bytes MD5||SHA-1 in SSL 3.0)."""

    verify_data: bytes
    msg_type: ClassVar[HandshakeType] = HandshakeType.FINISHED

    @classmethod
    def parse(cls, body: bytes, version: int) -> Finished:
        """verify_data: 36 bytes in SSL 3.0 (RFC 6101 §5.6.9), 12 in TLS 1.0-1.2 (RFC 5246 §7.4.9),
        the hash length (32 or 48) in TLS 1.3 (RFC 8446 §4.4.4). Any other length -> DecodeError."""
        if version == _SSL3:
            allowed: tuple[int, ...] = (36,)
        elif version >= _TLS13:
            allowed = (32, 48)
        else:
            allowed = (12,)
        if len(body) not in allowed:
            raise DecodeError(f"Finished verify_data is {len(body)} bytes, expected {' or '.join(map(str, allowed))}")
        return cls(bytes(body))

    def serialize(self) -> bytes:
        """The body is the verify_data itself."""
        return self.verify_data


@dataclass(frozen=True, slots=True)
class NewSessionTicket:
    """RFC 5077 §3.3 (TLS 1.2 form)."""

    lifetime_hint: int
    ticket: bytes
    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET

    @classmethod
    def parse(cls, body: bytes) -> NewSessionTicket:
        """``uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>`` (RFC 5077 §3.3)."""
        r = Reader(body, "NewSessionTicket")
        lifetime = r.u32()
        ticket = r.vec16()
        r.expect_end()
        return cls(lifetime, ticket)

    def serialize(self) -> bytes:
        """The body (RFC 5077 §3.3)."""
        w = Writer()
        w.u32(self.lifetime_hint)
        w.vec16(self.ticket)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class HelloRequest:
    """RFC 5246 §7.4.1.1 (empty body): a server asking for renegotiation."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.HELLO_REQUEST

    @classmethod
    def parse(cls, body: bytes) -> HelloRequest:
        """The body must be empty (RFC 5246 §7.4.1.1)."""
        _expect_empty(body, "HelloRequest")
        return cls()

    def serialize(self) -> bytes:
        """Empty body."""
        return b""


HandshakeMessage = (
    ClientHello | ServerHello | Certificate | ServerKeyExchange | CertificateRequest | ServerHelloDone
    | ClientKeyExchange | CertificateVerify | Finished | NewSessionTicket | HelloRequest | Tls13Message
)


def encode_handshake(msg: HandshakeMessage, *, version: int | None = None) -> bytes:
    """``Handshake`` = msg_type (u8) + length (u24) + body (RFC 5246 §7.4).

    ``version`` matters only for an SSL 3.0 RSA ClientKeyExchange (RFC 6101 §5.6.7).
    """
    body = msg.serialize(version) if isinstance(msg, ClientKeyExchange) else msg.serialize()
    if len(body) >= 1 << 24:
        raise ValueError(f"handshake body of {len(body)} bytes does not fit a uint24 length")
    return bytes([int(msg.msg_type)]) + len(body).to_bytes(3, "big") + body


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What the parser must know about the connection: the negotiated version and key exchange."""

    version: int
    key_exchange: KeyExchange | None = None


def _need_key_exchange(ctx: ParseContext, what: str) -> KeyExchange:
    if ctx.key_exchange is None:
        raise UnexpectedMessage(f"{what} before a cipher suite was negotiated")
    return ctx.key_exchange


def parse_message(raw: RawHandshake, ctx: ParseContext) -> HandshakeMessage:
    """Parse a whole handshake message into its dataclass (RFC 5246 §7.4).

    Unknown or unsupported message types -> UnexpectedMessage.
    """
    t = raw.msg_type
    body = raw.body
    if t == HandshakeType.CLIENT_HELLO:
        return ClientHello.parse(body)
    if t == HandshakeType.SERVER_HELLO:
        return ServerHello.parse(body)
    if t == HandshakeType.CERTIFICATE:
        if ctx.version >= _TLS13:
            return Certificate13.parse(body)
        return Certificate.parse(body)
    if t == HandshakeType.SERVER_KEY_EXCHANGE:
        return ServerKeyExchange.parse(body, ctx.version, _need_key_exchange(ctx, "ServerKeyExchange"))
    if t == HandshakeType.CERTIFICATE_REQUEST:
        if ctx.version >= _TLS13:
            return CertificateRequest13.parse(body)
        return CertificateRequest.parse(body, ctx.version)
    if t == HandshakeType.SERVER_HELLO_DONE:
        return ServerHelloDone.parse(body)
    if t == HandshakeType.CLIENT_KEY_EXCHANGE:
        return ClientKeyExchange.parse(body, ctx.version, _need_key_exchange(ctx, "ClientKeyExchange"))
    if t == HandshakeType.CERTIFICATE_VERIFY:
        return CertificateVerify.parse(body, ctx.version)
    if t == HandshakeType.FINISHED:
        return Finished.parse(body, ctx.version)
    if t == HandshakeType.NEW_SESSION_TICKET:
        if ctx.version >= _TLS13:
            return NewSessionTicket13.parse(body)
        return NewSessionTicket.parse(body)
    if t == HandshakeType.HELLO_REQUEST:
        return HelloRequest.parse(body)
    if ctx.version >= _TLS13:
        if t == HandshakeType.ENCRYPTED_EXTENSIONS:
            return EncryptedExtensions.parse(body)
        if t == HandshakeType.KEY_UPDATE:
            return KeyUpdate.parse(body)
        if t == HandshakeType.END_OF_EARLY_DATA:
            return EndOfEarlyData.parse(body)
    try:
        name = HandshakeType(t).name.lower()
    except ValueError:
        name = f"type {t}"
    raise UnexpectedMessage(f"unsupported handshake message {name}")


# ---------------------------------------------------------------------------------------------
# SSLv2-format ClientHello (RFC 5246 Appendix E.2, RFC 6101 Appendix E)
# ---------------------------------------------------------------------------------------------

SSL2_MT_CLIENT_HELLO = 1


def is_sslv2_client_hello(data: bytes) -> bool:
    """True if ``data`` starts like an SSLv2-format ClientHello record (2-byte header with the high bit
    set, msg_type 1, a version >= 3.0). Needs at least 5 bytes."""
    return len(data) >= 5 and data[0] & 0x80 != 0 and data[2] == SSL2_MT_CLIENT_HELLO and data[3] >= 3


def sslv2_record_length(data: bytes) -> int | None:
    """Total length (header + message) of the SSLv2 record starting ``data``, None if under 2 bytes."""
    if len(data) < 2:
        return None
    return 2 + (((data[0] & 0x7F) << 8) | data[1])


def parse_sslv2_client_hello(record: bytes) -> ClientHello:
    """Parse one whole SSLv2-format ClientHello record (RFC 5246 Appendix E.2, RFC 6101 Appendix E).

    ``record`` includes the 2-byte length header; the transcript (handshake hash) covers ``record[2:]``.
    Only V2CipherSpecs whose first byte is 0 are TLS suites; the others are dropped (none left: an empty
    ``cipher_suites``, which a server answers with handshake_failure). The challenge becomes the random
    right-justified: padded with leading zeros to 32 bytes, or its last 32 bytes when longer (E.2); under
    16 bytes is refused, as E.2 allows. The result has no extensions block (None) and null compression.
    """
    if len(record) < 2 or not record[0] & 0x80:
        raise DecodeError("not an SSLv2-format record (high bit of the length not set)")
    declared = ((record[0] & 0x7F) << 8) | record[1]
    if declared != len(record) - 2:
        raise DecodeError(f"SSLv2 record length {declared} does not match {len(record) - 2} byte(s) given")
    r = Reader(record[2:], "SSLv2 ClientHello")
    if r.u8() != SSL2_MT_CLIENT_HELLO:
        raise UnexpectedMessage("SSLv2 record is not a CLIENT-HELLO")
    version = r.u16()
    if version < _SSL3:
        raise ProtocolVersionError(f"SSLv2 ClientHello offers only version 0x{version:04x}")
    spec_length = r.u16()
    session_id_length = r.u16()
    challenge_length = r.u16()
    if spec_length == 0 or spec_length % 3:
        raise DecodeError(f"SSLv2 ClientHello cipher_spec_length {spec_length} is not a positive multiple of 3")
    if session_id_length > MAX_SESSION_ID_LENGTH:
        raise DecodeError(f"SSLv2 ClientHello session_id_length {session_id_length} is too long")
    if challenge_length < 16:
        raise DecodeError(f"SSLv2 ClientHello challenge_length {challenge_length} is under 16")
    specs = r.read(spec_length)
    session_id = r.read(session_id_length)
    challenge = r.read(challenge_length)
    r.expect_end()
    suites = tuple(
        int.from_bytes(specs[i + 1 : i + 3], "big") for i in range(0, spec_length, 3) if specs[i] == 0
    )
    random = challenge[-RANDOM_LENGTH:].rjust(RANDOM_LENGTH, b"\x00")
    return ClientHello(version, random, session_id, suites, b"\x00", None)


__all__ = [
    "DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH",
    "HELLO_RETRY_REQUEST_RANDOM",
    "MAX_CLIENT_HELLO_LENGTH",
    "SERVER_LIMITS",
    "Certificate",
    "CertificateRequest",
    "CertificateVerify",
    "ClientHello",
    "ClientKeyExchange",
    "Extension",
    "Finished",
    "HandshakeMessage",
    "HandshakeReassembler",
    "HelloRequest",
    "NewSessionTicket",
    "ParseContext",
    "RawHandshake",
    "ServerHello",
    "ServerHelloDone",
    "ServerKeyExchange",
    "encode_handshake",
    "encode_server_dh_params",
    "encode_server_ecdh_params",
    "is_hello_retry_request",
    "is_sslv2_client_hello",
    "parse_message",
    "parse_sslv2_client_hello",
    "sslv2_record_length",
]
