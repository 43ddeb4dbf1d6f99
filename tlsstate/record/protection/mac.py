"""Record MACs of the stream and CBC modes: TLS HMAC (RFC 5246 §6.2.3.1) and the SSL 3.0 MAC (RFC 6101 §5.2.3.1),
each with what the Lucky 13 countermeasure of :mod:`.cbc` needs to know (compression-function counts)."""

from __future__ import annotations

import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as pyca_hmac

from tlsstate.crypto.hashes import hash_algorithm
from tlsstate.crypto.suites import MacAlgorithm
from tlsstate.record.protection.base import MAC_HEADER, Buffer
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError

# seq_num(8) + type(1) + length(2): SSL 3.0 has no version in its MAC input (RFC 6101 §5.2.3.1)
_SSL3_MAC_HEADER = struct.Struct(">QBH")
# pad_1 / pad_2 length of the SSL 3.0 MAC per hash (RFC 6101 §5.2.3.1)
_SSL3_PAD_LENGTHS = {"md5": 48, "sha1": 40}


class RecordMac:
    """A record MAC over (seq, type, [version,] length, data) with what Lucky 13 needs to know."""

    length: int
    algorithm: hashes.HashAlgorithm
    block_size: int  # hash block size (64 or 128)
    _prefix_length: int  # bytes hashed in the inner hash before the header (key block / key + pad_1)
    _header_length: int
    _length_field: int  # Merkle-Damgard length field (8 or 16)

    def compute(self, seq: int, content_type: int, version: int, data: Buffer) -> bytes:
        """The MAC of one record."""
        raise NotImplementedError

    @property
    def calls_offset(self) -> int:
        """Inner-hash compression-function calls for ``n`` bytes of data are ``(n + calls_offset) // block_size``:
        prefix, header, the 0x80 byte and the length field, rounded up to whole blocks (RFC 6234 §4 padding)."""
        return self._prefix_length + self._header_length + 1 + self._length_field + self.block_size - 1


class TlsHmac(RecordMac):
    """HMAC(MAC_write_key, seq_num + type + version + length + content) (RFC 5246 §6.2.3.1)."""

    def __init__(self, hash_name: str, key: bytes) -> None:
        algorithm = hash_algorithm(hash_name)
        self.algorithm = algorithm
        self.length = algorithm.digest_size
        self.block_size = algorithm.block_size or 64
        self._prefix_length = self.block_size
        self._header_length = 13
        self._length_field = 16 if self.block_size == 128 else 8
        self._template = pyca_hmac.HMAC(key, algorithm)

    def compute(self, seq: int, content_type: int, version: int, data: Buffer) -> bytes:
        """The MAC of one record."""
        mac = self._template.copy()
        mac.update(MAC_HEADER.pack(seq, content_type, version, len(data)))
        mac.update(data)
        return mac.finalize()

    def compute_over(self, header: bytes, *parts: Buffer) -> bytes:
        """HMAC over an explicit header and parts (RFC 7366 §3)."""
        mac = self._template.copy()
        mac.update(header)
        for part in parts:
            mac.update(part)
        return mac.finalize()


class Ssl3Mac(RecordMac):
    """hash(MAC_write_secret + pad_2 + hash(MAC_write_secret + pad_1 + seq_num + type + length + content))
    with pad_1 = 0x36, pad_2 = 0x5c repeated 48 times for MD5, 40 for SHA-1 (RFC 6101 §5.2.3.1)."""

    def __init__(self, hash_name: str, key: bytes) -> None:
        pad_length = _SSL3_PAD_LENGTHS.get(hash_name)
        if pad_length is None:
            raise ConfigurationError(f"SSL 3.0 has no MAC with {hash_name}")
        algorithm = hash_algorithm(hash_name)
        self.algorithm = algorithm
        self.length = algorithm.digest_size
        self.block_size = algorithm.block_size or 64
        self._prefix_length = len(key) + pad_length
        self._header_length = 11
        self._length_field = 8
        self._inner = hashes.Hash(algorithm)
        self._inner.update(key + b"\x36" * pad_length)
        self._outer = hashes.Hash(algorithm)
        self._outer.update(key + b"\x5c" * pad_length)

    def compute(self, seq: int, content_type: int, version: int, data: Buffer) -> bytes:
        """The MAC of one record (``version`` is not part of the SSL 3.0 MAC)."""
        inner = self._inner.copy()
        inner.update(_SSL3_MAC_HEADER.pack(seq, content_type, len(data)))
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.finalize())
        return outer.finalize()


def make_record_mac(mac: MacAlgorithm, version: int, key: bytes) -> RecordMac:
    """SSL 3.0 MAC for version 0x0300, HMAC otherwise (RFC 6101 §5.2.3.1 / RFC 5246 §6.2.3.1)."""
    if len(key) != mac.length:
        raise ConfigurationError(f"MAC key must be {mac.length} bytes for {mac.hash_name}, got {len(key)}")
    if version == ProtocolVersion.SSL3:
        return Ssl3Mac(mac.hash_name, key)
    return TlsHmac(mac.hash_name, key)
