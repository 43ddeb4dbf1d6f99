"""TLS 1.2 AEAD records (RFC 5246 §6.2.3.3): AES-GCM / AES-CCM with an explicit nonce (RFC 5288 §3, RFC 6655 §3) and
ChaCha20-Poly1305 with the sequence-number-XOR nonce (RFC 7905 §2). AAD = seq_num + type + version + plaintext length.

Hot path (measured, see docs/performance.md): ``seal_record`` writes the record header (and nonce_explicit) and the
AAD with one ``struct.pack_into`` into a reusable scratch buffer and joins header + AEAD output once; ``open`` packs
the AAD as small bytes (cheaper than refilling bytearrays) and decrypts the ciphertext through a memoryview.
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag

from tlsstate.record.protection.aead import AeadProtection, decrypt_into_or_wipe
from tlsstate.record.protection.base import MAC_HEADER, Buffer
from tlsstate.record.protection.nonces import explicit_prefix_nonce, xor_nonce_mask
from tlsstate.wire.errors import BadRecordMAC

_PACK_AAD = MAC_HEADER.pack
_JOIN = b"".join
# seq(8) type version length | type version record_length seq(8), after the salt: see AeadExplicitNonce.__init__
_EXPLICIT_SCRATCH_PACK_INTO = struct.Struct(">QBHHBHHQ").pack_into
# nonce low 8 bytes | AAD(13) | record header(5), after the IV's first 4 bytes: see AeadXorNonce.__init__
_XOR_SEAL_PACK_INTO = struct.Struct(">QQBHHBHH").pack_into
# nonce low 8 bytes | AAD(13), after the IV's first 4 bytes
_XOR_OPEN_PACK_INTO = struct.Struct(">QQBHH").pack_into
_EXPLICIT_NONCE_LENGTH = 8  # nonce_explicit sent in front of the ciphertext (RFC 5288 §3)


class AeadExplicitNonce(AeadProtection):
    """TLS 1.2 AES-GCM / AES-CCM (RFC 5288 §3, RFC 6655 §3): the nonce is :func:`.explicit_prefix_nonce` of the
    write IV (salt) and nonce_explicit, which is sent before the ciphertext; we send the sequence number."""

    def __init__(self, name: str, algorithm: str, key: bytes, salt: bytes, tag_length: int) -> None:
        # seal scratch: salt(4) seq(8) | type version length(2) | type version record_length seq(8): [0:12] is the
        # nonce (seq is our nonce_explicit), [4:17] the AAD and [17:30] the record header + nonce_explicit, all
        # written by one pack_into per record
        self._scratch = bytearray(30)
        self._seal_nonce, _ = explicit_prefix_nonce(salt, name, self._scratch)
        scratch = memoryview(self._scratch)
        self._seal_aad, self._seal_prefix = scratch[4:17], scratch[17:30]
        # open: the received nonce_explicit is copied into the explicit part of its own nonce buffer
        self._open_nonce, self._open_explicit = explicit_prefix_nonce(salt, name)
        super().__init__(name, algorithm, key, tag_length)
        self._overhead = self.expansion = _EXPLICIT_NONCE_LENGTH + tag_length

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + nonce_explicit + AEAD-Encrypt(key, nonce, plaintext, AAD)."""
        size = len(plaintext)
        _EXPLICIT_SCRATCH_PACK_INTO(
            self._scratch, 4, seq, content_type, version, size, content_type, version, size + self._overhead, seq
        )
        return _JOIN((self._seal_prefix, self._encrypt(self._seal_nonce, plaintext, self._seal_aad)))

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """Header + nonce_explicit + AEAD output written into ``out`` with no copy of the ciphertext."""
        size = len(plaintext)
        end = 13 + size + self._tag
        _EXPLICIT_SCRATCH_PACK_INTO(
            self._scratch, 4, seq, content_type, version, size, content_type, version, size + self._overhead, seq
        )
        out[0:13] = self._seal_prefix
        self._encrypt_into(self._seal_nonce, plaintext, self._seal_aad, out[13:end])
        return end

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Take nonce_explicit from the fragment, AEAD-Decrypt; any failure is BadRecordMAC."""
        size = len(fragment) - self._overhead
        if size < 0:
            raise BadRecordMAC()
        view = fragment if type(fragment) is memoryview else memoryview(fragment)
        self._open_explicit[:] = view[:8]
        try:
            return self._decrypt(self._open_nonce, view[8:], _PACK_AAD(seq, content_type, version, size))
        except InvalidTag:
            raise BadRecordMAC() from None

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` decrypting straight into ``out``; unverified bytes are wiped on failure."""
        size = len(fragment) - self._overhead
        if size < 0:
            raise BadRecordMAC()
        if size > len(out):
            return len(self.open(seq, content_type, version, fragment))
        view = fragment if type(fragment) is memoryview else memoryview(fragment)
        self._open_explicit[:] = view[:8]
        aad = _PACK_AAD(seq, content_type, version, size)
        decrypt_into_or_wipe(self._decrypt_into, self._open_nonce, view[8:], aad, out[:size])
        return size


class AeadXorNonce(AeadProtection):
    """TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2): the nonce is :func:`.xor_nonce_mask` of the write IV and the sequence
    number; no explicit nonce is sent."""

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, tag_length: int) -> None:
        super().__init__(name, algorithm, key, tag_length)
        self.expansion = tag_length
        # seal scratch: iv[0:4] | iv[4:12]^seq | seq(8) type version length(2) | type version record_length:
        # [0:12] is the nonce, [12:25] the AAD, [25:30] the record header, written by one pack_into per record
        self._seal_scratch = bytearray(30)
        self._seal_nonce, self._mask = xor_nonce_mask(iv, name, self._seal_scratch)
        seal = memoryview(self._seal_scratch)
        self._seal_aad, self._seal_header = seal[12:25], seal[25:30]
        # open scratch: the nonce and the AAD the same way
        self._open_scratch = bytearray(25)
        self._open_nonce, _ = xor_nonce_mask(iv, name, self._open_scratch)
        self._open_aad = memoryview(self._open_scratch)[12:25]

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + AEAD-Encrypt(key, nonce, plaintext, AAD)."""
        size = len(plaintext)
        _XOR_SEAL_PACK_INTO(self._seal_scratch, 4, self._mask ^ seq, seq, content_type, version, size, content_type,
                            version, size + self._tag)
        return _JOIN((self._seal_header, self._encrypt(self._seal_nonce, plaintext, self._seal_aad)))

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """Header + AEAD output written into ``out`` with no copy of the ciphertext."""
        size = len(plaintext)
        end = 5 + size + self._tag
        _XOR_SEAL_PACK_INTO(self._seal_scratch, 4, self._mask ^ seq, seq, content_type, version, size, content_type,
                            version, size + self._tag)
        out[0:5] = self._seal_header
        self._encrypt_into(self._seal_nonce, plaintext, self._seal_aad, out[5:end])
        return end

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """AEAD-Decrypt; any failure is BadRecordMAC."""
        size = len(fragment) - self._tag
        if size < 0:
            raise BadRecordMAC()
        _XOR_OPEN_PACK_INTO(self._open_scratch, 4, self._mask ^ seq, seq, content_type, version, size)
        try:
            return self._decrypt(self._open_nonce, fragment, self._open_aad)
        except InvalidTag:
            raise BadRecordMAC() from None

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` decrypting straight into ``out``; unverified bytes are wiped on failure."""
        size = len(fragment) - self._tag
        if size < 0:
            raise BadRecordMAC()
        if size > len(out):
            return len(self.open(seq, content_type, version, fragment))
        _XOR_OPEN_PACK_INTO(self._open_scratch, 4, self._mask ^ seq, seq, content_type, version, size)
        decrypt_into_or_wipe(self._decrypt_into, self._open_nonce, fragment, self._open_aad, out[:size])
        return size
