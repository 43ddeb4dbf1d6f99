"""The handshake messages only TLS 1.3 has, or whose wire form TLS 1.3 changed (RFC 9846 §4.3-§4.6):
EncryptedExtensions, the TLS 1.3 Certificate and CertificateRequest, NewSessionTicket, KeyUpdate, EndOfEarlyData,
and the synthetic ``message_hash`` that replaces the first ClientHello after a HelloRetryRequest (§4.4.1).

Same contract as :mod:`tlsstate.wire.messages`: ``serialize()`` returns the body, ``parse(body)`` is strict
(DecodeError on bad lengths or trailing bytes, IllegalParameter on forbidden values). The ClientHello, ServerHello,
CertificateVerify and Finished of TLS 1.3 keep the classes of :mod:`~tlsstate.wire.messages`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from tlsstate.wire.codec import Reader, Writer
from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import DecodeError, IllegalParameter
from tlsstate.wire.extension_block import Extension, parse_extension_block, write_extension_block


def _extensions(reader: Reader, what: str) -> tuple[Extension, ...]:
    """A mandatory ``Extension extensions<0..2^16-1>`` (RFC 9846 §4.3.1, §4.4.2, §4.6.1); nothing after it."""
    if reader.at_end():
        raise DecodeError(f"{what}: the extensions block is missing")
    return tuple(parse_extension_block(reader, what) or ())


def _write_extensions(writer: Writer, extensions: tuple[Extension, ...]) -> None:
    write_extension_block(writer, tuple(extensions))


@dataclass(frozen=True, slots=True)
class EncryptedExtensions:
    """RFC 9846 §4.3.1: the extensions not needed for the key exchange, the first message under handshake keys."""

    extensions: tuple[Extension, ...] = ()
    msg_type: ClassVar[HandshakeType] = HandshakeType.ENCRYPTED_EXTENSIONS

    @classmethod
    def parse(cls, body: bytes) -> EncryptedExtensions:
        """``Extension extensions<0..2^16-1>`` and nothing else."""
        return cls(_extensions(Reader(body, "EncryptedExtensions"), "EncryptedExtensions"))

    def serialize(self) -> bytes:
        """The body (RFC 9846 §4.3.1)."""
        w = Writer()
        _write_extensions(w, self.extensions)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """One ``CertificateEntry`` (RFC 9846 §4.4.2): an X.509 certificate (DER) and its extensions."""

    cert_data: bytes
    extensions: tuple[Extension, ...] = ()


@dataclass(frozen=True, slots=True)
class Certificate13:
    """RFC 9846 §4.4.2: ``opaque certificate_request_context<0..2^8-1>; CertificateEntry certificate_list<0..2^24-1>``."""

    certificate_request_context: bytes
    entries: tuple[CertificateEntry, ...]
    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE

    @property
    def certificates(self) -> tuple[bytes, ...]:
        """The DER certificates, sender's first."""
        return tuple(entry.cert_data for entry in self.entries)

    @classmethod
    def of(cls, certificates: tuple[bytes, ...], context: bytes = b"") -> Certificate13:
        """A Certificate of these DER certificates, without per-entry extensions."""
        return cls(context, tuple(CertificateEntry(der) for der in certificates))

    @classmethod
    def parse(cls, body: bytes) -> Certificate13:
        """Strict parse; an empty certificate is a decode_error (``opaque cert_data<1..2^24-1>``)."""
        r = Reader(body, "Certificate")
        context = r.vec8()
        chain = r.sub(3, "Certificate certificate_list")
        r.expect_end()
        entries: list[CertificateEntry] = []
        while not chain.at_end():
            der = chain.vec24(1)
            entries.append(CertificateEntry(der, _entry_extensions(chain)))
        return cls(context, tuple(entries))

    def serialize(self) -> bytes:
        """The body (RFC 9846 §4.4.2)."""
        w = Writer()
        w.vec8(self.certificate_request_context)
        with w.length_prefixed(3) as chain:
            for entry in self.entries:
                if not entry.cert_data:
                    raise ValueError("an empty certificate cannot be sent")
                chain.vec24(entry.cert_data)
                _write_extensions(chain, entry.extensions)
        return w.getvalue()


def _entry_extensions(chain: Reader) -> tuple[Extension, ...]:
    """The ``Extension extensions<0..2^16-1>`` after one certificate (duplicates are illegal_parameter)."""
    block = chain.vec16()
    framed = Writer()
    framed.vec16(block)
    return tuple(parse_extension_block(Reader(framed.getvalue(), "CertificateEntry"), "CertificateEntry") or ())


@dataclass(frozen=True, slots=True)
class CertificateRequest13:
    """RFC 9846 §4.3.2: ``opaque certificate_request_context<0..2^8-1>; Extension extensions<0..2^16-1>``
    (signature_algorithms is mandatory in it; the reader checks that)."""

    certificate_request_context: bytes
    extensions: tuple[Extension, ...]
    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST

    @classmethod
    def parse(cls, body: bytes) -> CertificateRequest13:
        """Strict parse."""
        r = Reader(body, "CertificateRequest")
        context = r.vec8()
        return cls(context, _extensions(r, "CertificateRequest"))

    def serialize(self) -> bytes:
        """The body (RFC 9846 §4.3.2)."""
        w = Writer()
        w.vec8(self.certificate_request_context)
        _write_extensions(w, self.extensions)
        return w.getvalue()


@dataclass(frozen=True, slots=True)
class NewSessionTicket13:
    """RFC 9846 §4.6.1: lifetime, age_add, nonce, the ticket (an opaque label for the PSK) and extensions."""

    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: tuple[Extension, ...] = ()
    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET

    @classmethod
    def parse(cls, body: bytes) -> NewSessionTicket13:
        """Strict parse; a lifetime over seven days (604800 s) is illegal_parameter (§4.6.1)."""
        r = Reader(body, "NewSessionTicket")
        lifetime = r.u32()
        if lifetime > 604800:
            raise IllegalParameter(f"NewSessionTicket lifetime {lifetime} s exceeds seven days")
        age_add = r.u32()
        nonce = r.vec8()
        ticket = r.vec16(1)
        return cls(lifetime, age_add, nonce, ticket, _extensions(r, "NewSessionTicket"))

    def serialize(self) -> bytes:
        """The body (RFC 9846 §4.6.1)."""
        w = Writer()
        w.u32(self.ticket_lifetime)
        w.u32(self.ticket_age_add)
        w.vec8(self.ticket_nonce)
        w.vec16(self.ticket)
        _write_extensions(w, self.extensions)
        return w.getvalue()


UPDATE_NOT_REQUESTED = 0
UPDATE_REQUESTED = 1


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    """RFC 9846 §4.6.3: ``KeyUpdateRequest request_update`` (0 = update_not_requested, 1 = update_requested)."""

    request_update: int
    msg_type: ClassVar[HandshakeType] = HandshakeType.KEY_UPDATE

    @classmethod
    def parse(cls, body: bytes) -> KeyUpdate:
        """One byte, 0 or 1; any other value is illegal_parameter (§4.6.3)."""
        r = Reader(body, "KeyUpdate")
        value = r.u8()
        r.expect_end()
        if value not in (UPDATE_NOT_REQUESTED, UPDATE_REQUESTED):
            raise IllegalParameter(f"KeyUpdate request_update must be 0 or 1, not {value}")
        return cls(value)

    def serialize(self) -> bytes:
        """The body: one byte."""
        return bytes((self.request_update,))


@dataclass(frozen=True, slots=True)
class EndOfEarlyData:
    """RFC 9846 §4.5: empty; ends the client's 0-RTT data."""

    msg_type: ClassVar[HandshakeType] = HandshakeType.END_OF_EARLY_DATA

    @classmethod
    def parse(cls, body: bytes) -> EndOfEarlyData:
        """The body must be empty."""
        if body:
            raise DecodeError(f"EndOfEarlyData must be empty, got {len(body)} byte(s)")
        return cls()

    def serialize(self) -> bytes:
        """Empty body."""
        return b""


def message_hash(client_hello_hash: bytes) -> bytes:
    """The synthetic handshake message that replaces ClientHello1 in the transcript after a HelloRetryRequest:
    ``message_hash(254) || 00 00 Hash.length || Hash(ClientHello1)`` (RFC 9846 §4.4.1)."""
    return bytes((HandshakeType.MESSAGE_HASH, 0, 0, len(client_hello_hash))) + client_hello_hash


Tls13Message = EncryptedExtensions | Certificate13 | CertificateRequest13 | NewSessionTicket13 | KeyUpdate | EndOfEarlyData

__all__ = [
    "UPDATE_NOT_REQUESTED",
    "UPDATE_REQUESTED",
    "Certificate13",
    "CertificateEntry",
    "CertificateRequest13",
    "EncryptedExtensions",
    "EndOfEarlyData",
    "KeyUpdate",
    "NewSessionTicket13",
    "Tls13Message",
    "message_hash",
]
