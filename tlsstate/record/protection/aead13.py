"""TLS 1.3 record protection (RFC 8446 §5.2, §5.3): the nonce is :func:`.xor_nonce` of the traffic IV and the
sequence number, the AAD is the record header (opaque_type, legacy_record_version, length of the ciphertext).
Also the drafts before 25, whose AAD is empty (draft-ietf-tls-tls13-24 §5.2; read from captures only).

These seal and open TLSInnerPlaintext as it is; :class:`.inner.Tls13InnerPlaintext` adds and strips the inner
content type and padding around them (RFC 8446 §5.2, §5.4).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag

from tlsstate.record.protection.aead import AeadProtection, decrypt_into_or_wipe
from tlsstate.record.protection.base import RECORD_HEADER, Buffer, RecordProtection
from tlsstate.record.protection.nonces import xor_nonce
from tlsstate.wire.errors import BadRecordMAC

_PACK_HEADER = RECORD_HEADER.pack


class Tls13Aead(AeadProtection):
    """RFC 8446 §5.2: AEAD-Encrypt(key, nonce, TLSInnerPlaintext, additional_data = the record header)."""

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, tag_length: int) -> None:
        self._nonce = xor_nonce(iv, name)
        super().__init__(name, algorithm, key, tag_length)
        self.expansion = tag_length

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + AEAD output; the header is the AAD."""
        header = _PACK_HEADER(content_type, version, len(plaintext) + self._tag)
        return header + self._encrypt(self._nonce(seq), plaintext, header)

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """Header + AEAD output (the header is the AAD) written into ``out``."""
        end = 5 + len(plaintext) + self._tag
        header = _PACK_HEADER(content_type, version, end - 5)
        out[0:5] = header
        self._encrypt_into(self._nonce(seq), plaintext, header, out[5:end])
        return end

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """AEAD-Decrypt with the record header as AAD; any failure is BadRecordMAC."""
        if len(fragment) < self._tag:
            raise BadRecordMAC()
        try:
            return self._decrypt(self._nonce(seq), fragment, _PACK_HEADER(content_type, version, len(fragment)))
        except InvalidTag:
            raise BadRecordMAC() from None

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` decrypting the TLSInnerPlaintext straight into ``out``; unverified bytes wiped on failure."""
        size = len(fragment) - self._tag
        if size < 0:
            raise BadRecordMAC()
        if size > len(out):
            return len(self.open(seq, content_type, version, fragment))
        header = _PACK_HEADER(content_type, version, len(fragment))
        decrypt_into_or_wipe(self._decrypt_into, self._nonce(seq), fragment, header, out[:size])
        return size


class Tls13DraftAead(Tls13Aead):
    """Record protection of TLS 1.3 drafts before 25: as RFC 8446 §5.2 but with empty additional data
    (draft-ietf-tls-tls13-24 §5.2); read from captures only, so the ``*_into`` forms are the base's copies."""

    seal_record_into = RecordProtection.seal_record_into
    open_into = RecordProtection.open_into

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + AEAD-Encrypt(key, nonce, TLSInnerPlaintext, no additional data)."""
        sealed = self._encrypt(self._nonce(seq), plaintext, None)
        return _PACK_HEADER(content_type, version, len(sealed)) + sealed

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """AEAD-Decrypt with no additional data; any failure is BadRecordMAC."""
        if len(fragment) < self._tag:
            raise BadRecordMAC()
        try:
            return self._decrypt(self._nonce(seq), fragment, None)
        except InvalidTag:
            raise BadRecordMAC() from None
