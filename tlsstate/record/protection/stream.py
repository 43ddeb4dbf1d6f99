"""GenericStreamCipher: RC4 or the null cipher, with the record MAC (RFC 5246 §6.2.3.1, RFC 6101 §5.2.3.1)."""

from __future__ import annotations

import hmac as _consttime

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext

from tlsstate.record.protection.base import RECORD_HEADER, Buffer, RecordProtection
from tlsstate.record.protection.mac import RecordMac
from tlsstate.wire.errors import BadRecordMAC

_PACK_HEADER = RECORD_HEADER.pack


class StreamProtection(RecordProtection):
    """encrypt(content + MAC) with RC4, or content + MAC with the null cipher (``cipher_key`` None). The RC4
    keystream runs on across records (stateful: one instance per direction)."""

    protects = True

    def __init__(self, name: str, record_mac: RecordMac, cipher_key: bytes | None) -> None:
        self.name = name
        self._mac = record_mac
        self._mac_length = record_mac.length
        self.expansion = record_mac.length
        self._encryptor: CipherContext | None = None
        self._decryptor: CipherContext | None = None
        if cipher_key is not None:
            cipher = Cipher(ARC4(cipher_key), mode=None)
            self._encryptor = cipher.encryptor()
            self._decryptor = cipher.decryptor()

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + stream-encrypt(content + MAC)."""
        data = bytes(plaintext) + self._mac.compute(seq, content_type, version, plaintext)
        if self._encryptor is not None:
            data = self._encryptor.update(data)
        return _PACK_HEADER(content_type, version, len(data)) + data

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Decrypt, split off the MAC and compare it in constant time."""
        data = bytes(fragment) if self._decryptor is None else self._decryptor.update(fragment)
        if len(data) < self._mac_length:
            raise BadRecordMAC()
        content = data[: len(data) - self._mac_length]
        expected = self._mac.compute(seq, content_type, version, content)
        if not _consttime.compare_digest(expected, data[len(content) :]):
            raise BadRecordMAC()
        return content
