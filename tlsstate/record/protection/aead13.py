"""TLS 1.3 record protection (RFC 8446 §5.2, §5.3): the nonce is :func:`.xor_nonce` of the traffic IV and the
sequence number, the AAD is the record header (opaque_type, legacy_record_version, length of the ciphertext).
Also the drafts before 25, whose AAD is empty (draft-ietf-tls-tls13-24 §5.2; read from captures only).

These seal and open TLSInnerPlaintext as it is; :class:`.inner.Tls13InnerPlaintext` adds and strips the inner
content type and padding around them (RFC 8446 §5.2, §5.4).
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag

from tlsstate.record.protection.aead import AeadProtection, decrypt_into_or_wipe
from tlsstate.record.protection.base import RECORD_HEADER, Buffer, RecordProtection
from tlsstate.record.protection.inner import TLS13_RECORD_VERSION, TYPE_BYTES, strip_inner_plaintext
from tlsstate.record.protection.nonces import xor_nonce, xor_nonce_mask
from tlsstate.wire.errors import BadRecordMAC

_PACK_HEADER = RECORD_HEADER.pack
_JOIN = b"".join
#: iv[4:12] ^ seq, then the record header (type, version, length): the nonce's changing part and the AAD in one write
_NONCE_AND_HEADER_PACK_INTO = struct.Struct(">QBHH").pack_into
_APPLICATION_DATA = 23


class Tls13Aead(AeadProtection):
    """RFC 8446 §5.2: AEAD-Encrypt(key, nonce, TLSInnerPlaintext, additional_data = the record header)."""

    #: :class:`.inner.Tls13InnerPlaintext` uses :meth:`seal_inner` / :meth:`open_inner` (its own work and ours in
    #: one call per record) instead of wrapping :meth:`seal_record` / :meth:`open`.
    handles_inner_plaintext = True

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, tag_length: int) -> None:
        self._nonce = xor_nonce(iv, name)  # the drafts' forms below; this class fills its scratch buffers instead
        super().__init__(name, algorithm, key, tag_length)
        self.expansion = tag_length
        # scratch per direction of use: iv[0:4] | iv[4:12]^seq | record header; [0:12] is the nonce, [12:17] the
        # header (the AAD), both written by one pack_into per record (the TLS 1.2 XOR-nonce AEAD's method)
        self._seal_scratch, self._open_scratch = bytearray(17), bytearray(17)
        self._seal_nonce, self._mask = xor_nonce_mask(iv, name, self._seal_scratch)
        self._open_nonce, _ = xor_nonce_mask(iv, name, self._open_scratch)
        self._seal_header = memoryview(self._seal_scratch)[12:17]
        self._open_header = memoryview(self._open_scratch)[12:17]

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + AEAD output; the header is the AAD."""
        _NONCE_AND_HEADER_PACK_INTO(self._seal_scratch, 4, self._mask ^ seq, content_type, version,
                                    len(plaintext) + self._tag)
        return _JOIN((self._seal_header, self._encrypt(self._seal_nonce, plaintext, self._seal_header)))

    def seal_inner(self, seq: int, content_type: int, version: int, plaintext: Buffer, padding: int = 0) -> bytes:
        """The whole record of TLSInnerPlaintext = content + ``content_type`` + ``padding`` zeros under opaque_type
        application_data, legacy_record_version 0x0303 (RFC 8446 §5.1, §5.2; ``version`` is not used)."""
        inner = _JOIN((plaintext, TYPE_BYTES[content_type], bytes(padding)) if padding else
                      (plaintext, TYPE_BYTES[content_type]))
        _NONCE_AND_HEADER_PACK_INTO(self._seal_scratch, 4, self._mask ^ seq, _APPLICATION_DATA, TLS13_RECORD_VERSION,
                                    len(inner) + self._tag)
        return _JOIN((self._seal_header, self._encrypt(self._seal_nonce, inner, self._seal_header)))

    def open_inner(self, seq: int, content_type: int, version: int, fragment: Buffer) -> tuple[int, bytes]:
        """:meth:`open`, then ``(real content type, content)`` of the TLSInnerPlaintext (RFC 8446 §5.2, §5.4:
        :func:`.inner.strip_inner_plaintext`'s checks; the common record, no padding, without a call)."""
        if len(fragment) < self._tag:
            raise BadRecordMAC()
        _NONCE_AND_HEADER_PACK_INTO(self._open_scratch, 4, self._mask ^ seq, content_type, version, len(fragment))
        try:
            inner = self._decrypt(self._open_nonce, fragment, self._open_header)
        except InvalidTag:
            raise BadRecordMAC() from None
        real_type = inner[-1] if inner else 0
        if real_type and real_type != 20:  # not padded, not a (forbidden) protected change_cipher_spec
            return real_type, inner[:-1]
        return strip_inner_plaintext(inner)

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """Header + AEAD output (the header is the AAD) written into ``out``."""
        end = 5 + len(plaintext) + self._tag
        _NONCE_AND_HEADER_PACK_INTO(self._seal_scratch, 4, self._mask ^ seq, content_type, version, end - 5)
        out[0:5] = self._seal_header
        self._encrypt_into(self._seal_nonce, plaintext, self._seal_header, out[5:end])
        return end

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """AEAD-Decrypt with the record header as AAD; any failure is BadRecordMAC."""
        if len(fragment) < self._tag:
            raise BadRecordMAC()
        _NONCE_AND_HEADER_PACK_INTO(self._open_scratch, 4, self._mask ^ seq, content_type, version, len(fragment))
        try:
            return self._decrypt(self._open_nonce, fragment, self._open_header)
        except InvalidTag:
            raise BadRecordMAC() from None

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` decrypting the TLSInnerPlaintext straight into ``out``; unverified bytes wiped on failure."""
        size = len(fragment) - self._tag
        if size < 0:
            raise BadRecordMAC()
        if size > len(out):
            return len(self.open(seq, content_type, version, fragment))
        _NONCE_AND_HEADER_PACK_INTO(self._open_scratch, 4, self._mask ^ seq, content_type, version, len(fragment))
        decrypt_into_or_wipe(self._decrypt_into, self._open_nonce, fragment, self._open_header, out[:size])
        return size


class Tls13DraftAead(Tls13Aead):
    """Record protection of TLS 1.3 drafts before 25: as RFC 8446 §5.2 but with empty additional data
    (draft-ietf-tls-tls13-24 §5.2); read from captures only, so the ``*_into`` forms are the base's copies."""

    seal_record_into = RecordProtection.seal_record_into
    open_into = RecordProtection.open_into
    handles_inner_plaintext = False  # its AAD differs: the generic TLSInnerPlaintext wrapper seals and opens

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
