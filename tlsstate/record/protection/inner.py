"""TLSInnerPlaintext (RFC 8446 §5.2, §5.4): the TLS 1.3 inner content type and zero padding, as a wrapper around a
TLS 1.3 protection (:mod:`.aead13`). :class:`tlsstate.record.HalfConnection` seals and opens through it once TLS 1.3
keys are active; the protection underneath never sees a content type other than application_data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from tlsstate.record.protection.base import Buffer, RecordProtection
from tlsstate.wire.constants import MAX_TLS13_CIPHERTEXT_LENGTH, ContentType
from tlsstate.wire.errors import RecordOverflow, UnexpectedMessage

#: legacy_record_version of every protected TLS 1.3 record (RFC 8446 §5.1)
TLS13_RECORD_VERSION = 0x0303
_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)
_CHANGE_CIPHER_SPEC = int(ContentType.CHANGE_CIPHER_SPEC)
_JOIN = b"".join
#: the inner content type byte, not built per record
TYPE_BYTES = tuple(bytes((n,)) for n in range(256))


def strip_inner_plaintext(inner: bytes) -> tuple[int, bytes]:
    """``(real content type, content)`` of a decrypted TLSInnerPlaintext: the zero padding stripped, the last non-zero
    byte the type (RFC 8446 §5.2, §5.4). Zeros only, or a protected change_cipher_spec (RFC 9846 §5), is
    unexpected_message."""
    end = len(inner)
    if not (end and inner[end - 1]):
        inner = inner.rstrip(b"\x00")
        if not inner:
            raise UnexpectedMessage("TLS 1.3 record with no non-zero content type")
        end = len(inner)
    real_type = inner[end - 1]
    if real_type == _CHANGE_CIPHER_SPEC:  # RFC 9846 §5: a ChangeCipherSpec is never protected
        raise UnexpectedMessage("protected ChangeCipherSpec record in TLS 1.3 (RFC 9846 §5)")
    return real_type, inner[: end - 1]


class InnerPlaintextAead(Protocol):
    """A TLS 1.3 protection that seals and opens TLSInnerPlaintext itself (``handles_inner_plaintext``)."""

    def seal_inner(self, seq: int, content_type: int, version: int, plaintext: Buffer, padding: int = 0) -> bytes:
        """The whole record of content + content type + padding zeros (RFC 8446 §5.2)."""

    def open_inner(self, seq: int, content_type: int, version: int, fragment: Buffer) -> tuple[int, bytes]:
        """``(real content type, content)`` of one record (RFC 8446 §5.2, §5.4)."""


class Tls13InnerPlaintext:
    """Records of TLS 1.3 with traffic keys: content + type + zeros sealed under opaque_type application_data,
    legacy_record_version 0x0303 (RFC 8446 §5.2); opening strips the zeros and takes the last non-zero byte as the
    real content type."""

    def __init__(self, protection: RecordProtection) -> None:
        self.protection = protection
        #: :attr:`RecordProtection.expansion` plus the inner content type byte (padding comes on top)
        self.expansion = protection.expansion + 1
        self._seal_protected = protection.seal_record
        self._seal_protected_into = protection.seal_record_into
        self._open_protected = protection.open
        self._open_protected_into = protection.open_into
        self._tag = protection.expansion  # what the AEAD adds to the TLSInnerPlaintext
        #: The record hot path: the protection's own TLSInnerPlaintext methods when it has them (the TLS 1.3 AEADs
        #: do this work in the call that seals or opens: one Python call less per record), else the ones here.
        fused = cast(InnerPlaintextAead, protection) if protection.handles_inner_plaintext else None
        self.seal_record: Callable[..., bytes] = fused.seal_inner if fused is not None else self._seal_record
        self.open: Callable[[int, int, int, Buffer], tuple[int, bytes]] = (
            fused.open_inner if fused is not None else self._open)

    @staticmethod
    def passes_in_clear(content_type: int, fragment: Buffer) -> bool:
        """Whether a received record is not protected: True for change_cipher_spec, which may arrive in the clear
        during the handshake (RFC 8446 §5; the caller decides). Any other type but application_data is
        unexpected_message, a ciphertext over 2^14 + 256 bytes record_overflow (§5.2)."""
        if content_type == _CHANGE_CIPHER_SPEC:
            return True
        if content_type != _APPLICATION_DATA:
            raise UnexpectedMessage(f"unprotected record of type {content_type} after keys were set")
        if len(fragment) > MAX_TLS13_CIPHERTEXT_LENGTH:
            raise RecordOverflow(f"TLS 1.3 ciphertext of {len(fragment)} bytes exceeds 2^14 + 256")
        return False

    def _seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer, padding: int = 0) -> bytes:
        """The whole record protecting content + ``content_type`` + ``padding`` zero bytes (``version`` is replaced
        by 0x0303, RFC 8446 §5.1)."""
        inner = _JOIN((plaintext, TYPE_BYTES[content_type], bytes(padding)) if padding else
                      (plaintext, TYPE_BYTES[content_type]))
        return self._seal_protected(seq, _APPLICATION_DATA, TLS13_RECORD_VERSION, inner)

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """``seal_record`` (no padding) written to the start of ``out``; returns the record length."""
        inner = _JOIN((plaintext, TYPE_BYTES[content_type]))
        return self._seal_protected_into(seq, _APPLICATION_DATA, TLS13_RECORD_VERSION, inner, out)

    def _open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> tuple[int, bytes]:
        """Decrypt (BadRecordMAC on any integrity failure), strip the zero padding: ``(real content type, content)``
        (:func:`strip_inner_plaintext`'s checks). ``open`` is this, or the protection's ``open_inner``."""
        return strip_inner_plaintext(self._open_protected(seq, content_type, version, fragment))

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> tuple[int, int]:
        """:meth:`open` with the content written to the start of ``out`` (the protection decrypts straight into it;
        unverified bytes wiped on failure): ``(real content type, content length)``. Same checks and errors; content
        longer than ``out`` is not written (the caller reports record_overflow)."""
        if len(fragment) - self._tag > len(out):  # the inner plaintext (type, padding) cannot land in ``out``
            real_type, content = self.open(seq, content_type, version, fragment)
            if len(content) <= len(out):
                out[: len(content)] = content
            return real_type, len(content)
        size = self._open_protected_into(seq, content_type, version, fragment, out)
        end = size
        if not (end and out[end - 1]):  # zero padding (RFC 8446 §5.4): rare, so found with a copy
            end = len(bytes(out[:size]).rstrip(b"\x00"))
            if not end:
                raise UnexpectedMessage("TLS 1.3 record with no non-zero content type")
        real_type = out[end - 1]
        if real_type == _CHANGE_CIPHER_SPEC:  # RFC 9846 §5: a ChangeCipherSpec is never protected
            raise UnexpectedMessage("protected ChangeCipherSpec record in TLS 1.3 (RFC 9846 §5)")
        return real_type, end - 1

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.protection!r}>"
