"""Handshake messages: one frozen dataclass per message, strict parse and serialize.

RFC 5246 §7.4 (TLS 1.0-1.2), RFC 6101 §5.6 (SSL 3.0 differences), RFC 4279 (PSK), RFC 8422 (ECC),
RFC 5077 (NewSessionTicket), RFC 8446 §4 (TLS 1.3 hellos as far as capture decryption needs them).

CONTRACT (fields are fixed; implementation of parse/serialize lives in this module):
- ``serialize()`` returns the message *body* (without the 4-byte handshake header);
  :func:`encode_handshake` adds the header.
- ``parse(body, ...)`` classmethods are strict: DecodeError on bad lengths / trailing bytes,
  IllegalParameter on bad values.
- :class:`HandshakeReassembler` turns handshake-record fragments into whole messages,
  keeping each message's raw bytes (header + body) for the transcript.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlsstate.constants import HandshakeType


@dataclass(frozen=True, slots=True)
class Extension:
    """A raw extension: type and opaque data (RFC 5246 §7.4.1.4)."""

    type: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ClientHello:
    """RFC 5246 §7.4.1.2. ``extensions`` is None when the message has no extensions block at all."""

    version: int
    random: bytes
    session_id: bytes
    cipher_suites: tuple[int, ...]
    compression_methods: bytes = b"\x00"
    extensions: tuple[Extension, ...] | None = None
    msg_type = HandshakeType.CLIENT_HELLO


@dataclass(frozen=True, slots=True)
class ServerHello:
    """RFC 5246 §7.4.1.3 (also TLS 1.3 ServerHello / HelloRetryRequest, RFC 8446 §4.1.3)."""

    version: int
    random: bytes
    session_id: bytes
    cipher_suite: int
    compression_method: int = 0
    extensions: tuple[Extension, ...] | None = None
    msg_type = HandshakeType.SERVER_HELLO


@dataclass(frozen=True, slots=True)
class Certificate:
    """RFC 5246 §7.4.2: DER certificates, sender's first."""

    certificates: tuple[bytes, ...]
    msg_type = HandshakeType.CERTIFICATE


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
    msg_type = HandshakeType.SERVER_KEY_EXCHANGE


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """RFC 5246 §7.4.4. ``signature_schemes`` is empty before TLS 1.2."""

    certificate_types: bytes
    signature_schemes: tuple[int, ...] = ()
    certificate_authorities: tuple[bytes, ...] = ()
    msg_type = HandshakeType.CERTIFICATE_REQUEST


@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    """RFC 5246 §7.4.5 (empty body)."""

    msg_type = HandshakeType.SERVER_HELLO_DONE


@dataclass(frozen=True, slots=True)
class ClientKeyExchange:
    """RFC 5246 §7.4.7, RFC 4279, RFC 8422 §5.7.

    ``encrypted_premaster`` for RSA / RSA_PSK (SSL 3.0 sends it without the 2-byte length);
    ``dh_public`` for DHE(_PSK); ``ec_public`` for ECDHE(_PSK); ``psk_identity`` for *_PSK.
    """

    encrypted_premaster: bytes = b""
    dh_public: bytes = b""
    ec_public: bytes = b""
    psk_identity: bytes | None = None
    msg_type = HandshakeType.CLIENT_KEY_EXCHANGE


@dataclass(frozen=True, slots=True)
class CertificateVerify:
    """RFC 5246 §7.4.8. ``signature_scheme`` only in TLS 1.2."""

    signature: bytes
    signature_scheme: int | None = None
    msg_type = HandshakeType.CERTIFICATE_VERIFY


@dataclass(frozen=True, slots=True)
class Finished:
    """RFC 5246 §7.4.9 (12 bytes in TLS; 36 bytes MD5||SHA-1 in SSL 3.0)."""

    verify_data: bytes
    msg_type = HandshakeType.FINISHED


@dataclass(frozen=True, slots=True)
class NewSessionTicket:
    """RFC 5077 §3.3 (TLS 1.2 form)."""

    lifetime_hint: int
    ticket: bytes
    msg_type = HandshakeType.NEW_SESSION_TICKET


@dataclass(frozen=True, slots=True)
class HelloRequest:
    """RFC 5246 §7.4.1.1 (empty body): a server asking for renegotiation."""

    msg_type = HandshakeType.HELLO_REQUEST


@dataclass(frozen=True, slots=True)
class RawHandshake:
    """A whole handshake message as received: type, body and exact bytes for the transcript."""

    msg_type: int
    body: bytes
    raw: bytes = field(repr=False)
