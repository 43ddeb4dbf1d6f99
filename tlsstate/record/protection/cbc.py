"""GenericBlockCipher: CBC with the record MAC, MAC-then-encrypt (RFC 5246 §6.2.3.2, RFC 4346 §6.2.3.2, RFC 2246
§6.2.3.2, RFC 6101 §5.2.3.2) or encrypt-then-MAC (RFC 7366 §3).

Lucky 13 (AlFardan & Paterson 2013) countermeasure in :class:`CbcMacThenEncrypt`: whatever the padding byte says,
``open`` does the same work:

* the padding is checked by comparing the last ``min(256, len)`` decrypted bytes with a reference built from the
  same number of bytes (one constant-time :func:`hmac.compare_digest` of a fixed length); an impossible padding
  length is replaced by 0 so that a MAC is still computed;
* the MAC is computed over the data the padding implies, then a persistent dummy hash absorbs exactly as many
  extra whole blocks as the difference between the number of compression-function calls for the longest possible
  data (padding length 0) and for the real data. So every record of a given length costs the same number of
  compression-function calls;
* padding and MAC results are combined without early exit; one BadRecordMAC reports any failure.

Cipher contexts are persistent. TLS 1.1+ explicit IVs follow RFC 4346 §6.2.3.2 option (2)(b): a random block R is
prepended and encrypted with the CBC residue, its ciphertext is the explicit IV; R comes from os.urandom, fetched
64 blocks per system call. A record is opened by decrypting IV || ciphertext with a chained context and dropping
the first block. HMAC keys are a keyed template copied per record.
"""

from __future__ import annotations

import hmac as _consttime
import os

from cryptography.hazmat.decrepit.ciphers.algorithms import IDEA, RC2, SEED, Camellia, TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes

from tlsstate.record.protection.base import MAC_HEADER, RECORD_HEADER, Buffer, RecordProtection
from tlsstate.record.protection.mac import RecordMac, TlsHmac
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import BadRecordMAC, ConfigurationError

_PACK_HEADER = RECORD_HEADER.pack
_PACK_MAC_HEADER = MAC_HEADER.pack
_JOIN = b"".join
_ZERO_VIEW = memoryview(bytes(128 * 300))  # dummy input for the Lucky 13 countermeasure (more than any record needs)
_TLS_PADS = tuple(bytes([p]) * (p + 1) for p in range(256))  # TLS padding of length p (p+1 bytes)
_SSL3_PADS = tuple(bytes(p) + bytes([p]) for p in range(256))  # SSL 3.0 padding: p zeros + length byte
_RANDOM_BLOCKS_PER_CALL = 64  # explicit-IV blocks fetched per os.urandom call


def tls_cbc_padding_length(data: Buffer) -> int:
    """Length of valid TLS CBC padding at the end of ``data`` including the length byte, or 0 if invalid.

    RFC 5246 §6.2.3.2: every padding byte holds the padding length. Checks ``min(256, len(data))`` bytes
    with one fixed-length constant-time comparison, whatever the padding length says.
    """
    n = len(data)
    if n == 0:
        return 0
    pad = data[n - 1]
    window = 256 if n >= 256 else n
    tail = bytes(data[n - window :])
    ok = pad + 1 <= window
    use = pad if ok else 0
    reference = tail[: window - use - 1] + _TLS_PADS[use]
    ok = _consttime.compare_digest(tail, reference) and ok
    return (pad + 1) if ok else 0


def block_cipher(algorithm: str, key: bytes) -> BlockCipherAlgorithm:
    """The pyca block cipher a suite row names (RFC 5246 AES/3DES, RFC 5932 Camellia, RFC 4162 SEED, RFC 5469
    DES/IDEA, RFC 2246 §D.1 RC2). Single DES is TripleDES keyed K1 = K2 = K3 (EDE with one key is DES)."""
    if algorithm == "AES":
        return algorithms.AES(key)
    if algorithm == "3DES":
        return TripleDES(key)
    if algorithm == "DES":
        return TripleDES(key * 3)
    if algorithm == "CAMELLIA":
        return Camellia(key)
    if algorithm == "SEED":
        return SEED(key)
    if algorithm == "IDEA":
        return IDEA(key)
    if algorithm == "RC2":
        return RC2(key)
    raise ConfigurationError(f"not a CBC cipher: {algorithm}")


class _CbcBase(RecordProtection):
    """What both CBC modes share: the persistent cipher contexts, the explicit IV and the padding tables."""

    protects = True

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, version: int, record_mac: RecordMac) -> None:
        self.name = name
        cipher_algorithm = block_cipher(algorithm, key)
        self._block = cipher_algorithm.block_size // 8
        self._explicit_iv = version >= ProtocolVersion.TLS1_1
        self._iv_length = self._block if self._explicit_iv else 0
        self._ssl3 = version == ProtocolVersion.SSL3
        if self._explicit_iv:
            iv = os.urandom(self._block)  # the chaining start is irrelevant with explicit IVs
        elif len(iv) != self._block:
            raise ConfigurationError(f"{name} needs a {self._block}-byte IV in {ProtocolVersion(version).label}")
        cipher = Cipher(cipher_algorithm, modes.CBC(iv))
        self._encryptor = cipher.encryptor()
        self._decryptor = cipher.decryptor()
        self._pads = _SSL3_PADS if self._ssl3 else _TLS_PADS  # indexed by padding length
        self._mac = record_mac
        self._mac_length = record_mac.length
        # smallest valid fragment: [IV] + whole blocks holding at least MAC + padding-length byte
        mac_blocks = (self._mac_length + 1 + self._block - 1) // self._block
        self._min_fragment = (mac_blocks + (1 if self._explicit_iv else 0)) * self._block
        self.expansion = self._iv_length + self._mac_length + self._block  # minimal padding is 1..block bytes
        self._random_pool = b""
        self._random_position = 0

    def _random_block(self, length: int) -> bytes:
        """The random block R of RFC 4346 §6.2.3.2 (2)(b): os.urandom bytes, fetched 64 blocks per system call."""
        position = self._random_position
        if position + length > len(self._random_pool):
            self._random_pool = os.urandom(_RANDOM_BLOCKS_PER_CALL * length)
            position = 0
        self._random_position = position + length
        return self._random_pool[position : position + length]


class CbcMacThenEncrypt(_CbcBase):
    """GenericBlockCipher, MAC-then-encrypt (RFC 5246 §6.2.3.2, RFC 4346 §6.2.3.2, RFC 2246 §6.2.3.2,
    RFC 6101 §5.2.3.2), with the Lucky 13 countermeasure described in the module docstring."""

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, version: int, record_mac: RecordMac) -> None:
        super().__init__(name, algorithm, key, iv, version, record_mac)
        self._calls_offset = record_mac.calls_offset  # compression calls for n bytes: (n + offset) // block_size
        self._hash_block = record_mac.block_size
        self._dummy = hashes.Hash(record_mac.algorithm)  # same compression function as the MAC

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + E(IV?, content + MAC + padding) with minimal padding."""
        block = self._block
        mac = self._mac.compute(seq, content_type, version, plaintext)
        padding = self._pads[block - 1 - (len(plaintext) + self._mac_length) % block]
        if self._explicit_iv:  # R first: its ciphertext is the explicit IV
            out = self._encryptor.update(_JOIN((self._random_block(block), plaintext, mac, padding)))
        else:
            out = self._encryptor.update(_JOIN((plaintext, mac, padding)))
        return _PACK_HEADER(content_type, version, len(out)) + out

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Decrypt, check padding and MAC together; one BadRecordMAC for any failure."""
        n = len(fragment)
        if n % self._block or n < self._min_fragment:
            raise BadRecordMAC()
        out = self._decryptor.update(fragment)  # with an explicit IV, out[:block] is garbage and skipped
        start = self._iv_length
        room = n - start - self._mac_length  # content + padding
        pad = out[n - 1]
        if self._ssl3:
            # RFC 6101 §5.2.3.2: only the last byte is the padding length; it must be < block size
            pad_ok = pad < self._block and pad < room
            pad *= pad_ok
        else:
            window = 256 if n - start >= 256 else n - start
            pad_ok = pad < room
            pad *= pad_ok  # an impossible length is replaced by 0: a MAC is still computed
            tail = out[n - window :]
            pad_ok = _consttime.compare_digest(tail, tail[: window - pad - 1] + _TLS_PADS[pad]) & pad_ok
        content_length = room - pad - 1
        content = out[start : start + content_length]
        expected = self._mac.compute(seq, content_type, version, content)
        # Lucky 13: as many compression-function calls as for the longest possible content (padding 0)
        offset, block = self._calls_offset, self._hash_block
        extra = (room - 1 + offset) // block - (content_length + offset) // block
        self._dummy.update(_ZERO_VIEW[: extra * block])
        mac_start = start + content_length
        mac_ok = _consttime.compare_digest(expected, out[mac_start : mac_start + self._mac_length])
        if not (mac_ok & pad_ok):
            raise BadRecordMAC()
        return content


class CbcEncryptThenMac(_CbcBase):
    """Encrypt-then-MAC (RFC 7366 §3): MAC(MAC_write_key, seq_num + type + version + length + IV +
    ENC(content + padding)), with length = len(IV + ciphertext); the MAC is checked before decrypting."""

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, version: int, record_mac: RecordMac) -> None:
        if not isinstance(record_mac, TlsHmac):
            raise ConfigurationError("encrypt-then-MAC needs a TLS HMAC (not SSL 3.0)")
        super().__init__(name, algorithm, key, iv, version, record_mac)
        self._hmac = record_mac

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + IV + E(content + padding) + MAC: one join for the whole record."""
        block = self._block
        padding = self._pads[block - 1 - len(plaintext) % block]
        if self._explicit_iv:  # R first: its ciphertext is the explicit IV
            ciphertext = self._encryptor.update(_JOIN((self._random_block(block), plaintext, padding)))
        else:
            ciphertext = self._encryptor.update(_JOIN((plaintext, padding)))
        size = len(ciphertext)
        mac = self._hmac.compute_over(_PACK_MAC_HEADER(seq, content_type, version, size), ciphertext)
        return _JOIN((_PACK_HEADER(content_type, version, size + self._mac_length), ciphertext, mac))

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Check the MAC over IV + ciphertext, then decrypt and check the padding."""
        block = self._block
        n = len(fragment) - self._mac_length
        if n < block + self._iv_length or n % block:
            raise BadRecordMAC()
        view = memoryview(fragment)
        body = view[:n]
        expected = self._hmac.compute_over(_PACK_MAC_HEADER(seq, content_type, version, n), body)
        if not _consttime.compare_digest(expected, view[n:]):
            raise BadRecordMAC()
        out = self._decryptor.update(body)
        pad = out[n - 1]
        start = self._iv_length
        if pad >= n - start or out[n - pad - 1 : n] != _TLS_PADS[pad]:
            raise BadRecordMAC()  # after a good MAC the padding check needs no constant time (RFC 7366 §3)
        return out[start : n - pad - 1]
