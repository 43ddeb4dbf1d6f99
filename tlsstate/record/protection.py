"""Record protection: one class per cipher family (RFC 5246 §6.2.3, RFC 6101 §5.2.3, RFC 7366, RFC 5288,
RFC 6655, RFC 7905, RFC 8446 §5.2).

A :class:`RecordProtection` turns one TLSPlaintext fragment into one TLSCiphertext fragment and back.
It is given the 64-bit sequence number by its owner (:class:`tlsstate.record.HalfConnection`); it never
owns it. Some protections are stateful (RC4 keystream, the SSL 3.0 / TLS 1.0 chained CBC IV), so use one
instance per direction.

``open`` raises :class:`~tlsstate.wire.errors.BadRecordMAC` and only that for every integrity failure: MAC,
padding, AEAD tag, bad lengths. The message never says which check failed.

Lucky 13 (AlFardan & Paterson 2013) countermeasure in :class:`CbcMacThenEncrypt`: whatever the padding
byte says, ``open`` does the same work:

* the padding is checked by comparing the last ``min(256, len)`` decrypted bytes with a reference built
  from the same number of bytes (one constant-time :func:`hmac.compare_digest` of a fixed length); an
  impossible padding length is replaced by 0 so that a MAC is still computed;
* the MAC is computed over the data the padding implies, then a persistent dummy hash absorbs exactly
  as many extra whole blocks as the difference between the number of compression-function calls for
  the longest possible data (padding length 0) and for the real data. So every record of a given
  length costs the same number of compression-function calls;
* padding and MAC results are combined without early exit; one BadRecordMAC reports any failure.

Performance notes: AEAD objects, HMAC keys (a keyed template copied per record) and cipher contexts are
created once. CBC contexts are persistent: TLS 1.1+ explicit IVs are produced with RFC 4346 §6.2.3.2
option (2)(b) (a random block R is prepended and encrypted with the CBC residue; its ciphertext is the
explicit IV; R comes from os.urandom, fetched 64 blocks per system call) and opened by decrypting
IV || ciphertext with a chained context and dropping the first block. The AEADs' ``seal_record`` builds
header + fragment with a single concatenation; ``open`` reads the explicit nonce and ciphertext through
memoryviews (no copy).
"""

from __future__ import annotations

import hmac as _consttime
import os
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as pyca_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from tlsstate.crypto.suites import CipherFamily, CipherSuite, MacAlgorithm, NonceStyle
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import BadRecordMAC, ConfigurationError

Buffer = bytes | bytearray | memoryview

# seq_num(8) + type(1) + version(2) + length(2): the TLS MAC / AEAD additional data (RFC 5246 §6.2.3.1, §6.2.3.3)
_TLS_MAC_HEADER = struct.Struct(">QBHH")
# seq_num(8) + type(1) + length(2): SSL 3.0 has no version in its MAC input (RFC 6101 §5.2.3.1)
_SSL3_MAC_HEADER = struct.Struct(">QBH")
# type(1) + version(2) + length(2): the record header (RFC 5246 §6.2.1); also the TLS 1.3 AAD (RFC 8446 §5.2)
_RECORD_HEADER = struct.Struct(">BHH")
_SEQ = struct.Struct(">Q")
# record header followed by the 8-byte explicit nonce of GCM/CCM records (RFC 5288 §3)
_HEADER_AND_EXPLICIT = struct.Struct(">BHHQ")
# salt(4) + explicit nonce(8): the GCM/CCM nonce (RFC 5288 §3)
_SALT_AND_EXPLICIT = struct.Struct(">4sQ")
# bound methods of the structs used on the per-record hot path
_MAC_HEADER_PACK = _TLS_MAC_HEADER.pack
_HEADER_AND_EXPLICIT_PACK = _HEADER_AND_EXPLICIT.pack
_RECORD_HEADER_PACK = _RECORD_HEADER.pack
_SEAL_SCRATCH_PACK_INTO = struct.Struct(">QBHHBHHQ").pack_into  # see AeadExplicitNonce.__init__
_XOR_SCRATCH_PACK_INTO = struct.Struct(">QBHHBHH").pack_into  # see AeadXorNonce.__init__
_JOIN = b"".join

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}
_ZERO_VIEW = memoryview(bytes(128 * 300))  # dummy input for the Lucky 13 countermeasure (more than any record needs)
_TLS_PADS = tuple(bytes([p]) * (p + 1) for p in range(256))  # TLS padding of length p (p+1 bytes)
_SSL3_PADS = tuple(bytes(p) + bytes([p]) for p in range(256))  # SSL 3.0 padding: p zeros + length byte


def _bad() -> BadRecordMAC:
    return BadRecordMAC()


def _decrypt_into_or_wipe(
    decrypt_into: Callable[[Buffer, Buffer, Buffer, memoryview], int], nonce: Buffer, ciphertext: Buffer, aad: Buffer,
    target: memoryview,
) -> None:
    """AEAD-Decrypt straight into ``target`` (RFC 5116 §2.2). pyca's ``decrypt_into`` writes the plaintext
    before it checks the tag, so on failure the unverified bytes are wiped before BadRecordMAC is raised."""
    try:
        decrypt_into(nonce, ciphertext, aad, target)
    except InvalidTag:
        target[:] = bytes(len(target))
        raise _bad() from None


class RecordProtection:
    """Base class: the identity transform of the initial (null) state (RFC 5246 §6.1).

    Subclasses implement one protection family. ``seal``/``open`` take the sequence number, the outer
    content type and the record version, and map fragment to fragment.
    """

    name: str = "NULL"
    #: False only for the null state (no keys): lets HalfConnection / demo tell protected from clear.
    protects: bool = False
    #: The most ``seal`` adds to a fragment (explicit IV or nonce, MAC, padding, tag): a buffer of
    #: 5 + len(plaintext) + expansion bytes always holds the sealed record (see ``seal_record_into``).
    expansion: int = 0

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Protect one fragment; returns the TLSCiphertext.fragment (RFC 5246 §6.2.3)."""
        return bytes(plaintext)

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Verify and unprotect one fragment; raises BadRecordMAC on any integrity failure."""
        return bytes(fragment)

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """A whole record: 5-byte header + ``seal(...)`` (RFC 5246 §6.2.1). Subclasses may avoid copies."""
        fragment = self.seal(seq, content_type, version, plaintext)
        return _RECORD_HEADER.pack(content_type, version, len(fragment)) + fragment

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """``seal_record`` written to the start of ``out``; returns the record length. The caller makes sure
        ``out`` holds 5 + len(plaintext) + :attr:`expansion` bytes. Here: one copy; the AEADs encrypt straight
        into ``out`` (pyca ``encrypt_into``)."""
        record = self.seal_record(seq, content_type, version, plaintext)
        size = len(record)
        out[:size] = record
        return size

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` with the plaintext written to the start of ``out``; returns the plaintext length. A plaintext
        longer than ``out`` is verified but not written (the caller reports record_overflow). Here: one copy;
        the AEADs decrypt straight into ``out`` (pyca ``decrypt_into``)."""
        plaintext = self.open(seq, content_type, version, fragment)
        size = len(plaintext)
        if size <= len(out):
            out[:size] = plaintext
        return size

    def __repr__(self) -> str:  # never shows key material
        return f"<{type(self).__name__} {self.name}>"


class NullProtection(RecordProtection):
    """TLS_NULL_WITH_NULL_NULL: no cipher, no MAC (the state before the first ChangeCipherSpec)."""

    name = "NULL"


# --------------------------------------------------------------------------------------------- MACs


class _RecordMac:
    """A record MAC over (seq, type, [version,] length, data) with what Lucky 13 needs to know."""

    length: int
    algorithm: hashes.HashAlgorithm
    block_size: int  # hash block size (64 or 128)
    _prefix_length: int  # bytes hashed in the inner hash before the header (key block / key + pad_1)
    _header_length: int
    _length_field: int  # Merkle-Damgard length field (8 or 16)

    def compute(self, seq: int, content_type: int, version: int, data: Buffer) -> bytes:
        raise NotImplementedError

    def compression_calls(self, data_length: int) -> int:
        """Inner-hash compression-function calls for data of this length (RFC 6234 §4 padding)."""
        total = self._prefix_length + self._header_length + data_length + 1 + self._length_field
        return (total + self.block_size - 1) // self.block_size


class TlsHmac(_RecordMac):
    """HMAC(MAC_write_key, seq_num + type + version + length + content) (RFC 5246 §6.2.3.1)."""

    def __init__(self, hash_name: str, key: bytes) -> None:
        algorithm = _HASHES[hash_name]()
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
        mac.update(_TLS_MAC_HEADER.pack(seq, content_type, version, len(data)))
        mac.update(data)
        return mac.finalize()

    def compute_over(self, header: bytes, *parts: Buffer) -> bytes:
        """HMAC over an explicit header and parts (RFC 7366 §3)."""
        mac = self._template.copy()
        mac.update(header)
        for part in parts:
            mac.update(part)
        return mac.finalize()


class Ssl3Mac(_RecordMac):
    """hash(MAC_write_secret + pad_2 + hash(MAC_write_secret + pad_1 + seq_num + type + length + content))
    with pad_1 = 0x36, pad_2 = 0x5c repeated 48 times for MD5, 40 for SHA-1 (RFC 6101 §5.2.3.1)."""

    def __init__(self, hash_name: str, key: bytes) -> None:
        algorithm = _HASHES[hash_name]()
        pad_length = {"md5": 48, "sha1": 40}.get(hash_name)
        if pad_length is None:
            raise ConfigurationError(f"SSL 3.0 has no MAC with {hash_name}")
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


def make_record_mac(mac: MacAlgorithm, version: int, key: bytes) -> _RecordMac:
    """SSL 3.0 MAC for version 0x0300, HMAC otherwise (RFC 6101 §5.2.3.1 / RFC 5246 §6.2.3.1)."""
    if len(key) != mac.length:
        raise ConfigurationError(f"MAC key must be {mac.length} bytes for {mac.hash_name}, got {len(key)}")
    if version == ProtocolVersion.SSL3:
        return Ssl3Mac(mac.hash_name, key)
    return TlsHmac(mac.hash_name, key)


# ----------------------------------------------------------------------------- null / stream + MAC


class StreamProtection(RecordProtection):
    """GenericStreamCipher: encrypt(content + MAC) with RC4, or content + MAC with the null cipher
    (RFC 5246 §6.2.3.1, RFC 6101 §5.2.3.1). The RC4 keystream runs on across records (stateful)."""

    protects = True

    def __init__(self, name: str, record_mac: _RecordMac, cipher_key: bytes | None) -> None:
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

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """content + MAC, then the stream cipher."""
        data = bytes(plaintext) + self._mac.compute(seq, content_type, version, plaintext)
        return data if self._encryptor is None else self._encryptor.update(data)

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Decrypt, split off the MAC and compare it in constant time."""
        data = bytes(fragment) if self._decryptor is None else self._decryptor.update(fragment)
        if len(data) < self._mac_length:
            raise _bad()
        content = data[: len(data) - self._mac_length]
        expected = self._mac.compute(seq, content_type, version, content)
        if not _consttime.compare_digest(expected, data[len(content) :]):
            raise _bad()
        return content


# ------------------------------------------------------------------------------------------- CBC


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


class _CbcBase(RecordProtection):
    protects = True

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, version: int, record_mac: _RecordMac) -> None:
        self.name = name
        if algorithm == "3DES":
            block_cipher: algorithms.AES | TripleDES = TripleDES(key)
        elif algorithm == "AES":
            block_cipher = algorithms.AES(key)
        else:
            raise ConfigurationError(f"not a CBC cipher: {algorithm}")
        self._block = block_cipher.block_size // 8
        self._version = version
        self._explicit_iv = version >= ProtocolVersion.TLS1_1
        self._iv_length = self._block if self._explicit_iv else 0
        self._ssl3 = version == ProtocolVersion.SSL3
        if self._explicit_iv:
            iv = os.urandom(self._block)  # the chaining start is irrelevant with explicit IVs
        elif len(iv) != self._block:
            raise ConfigurationError(f"{name} needs a {self._block}-byte IV in {ProtocolVersion(version).label}")
        cipher = Cipher(block_cipher, modes.CBC(iv))
        self._encryptor = cipher.encryptor()
        self._decryptor = cipher.decryptor()
        self._ecb = Cipher(block_cipher, modes.ECB())  # used only by tests to aim the explicit IV
        self._pads = _SSL3_PADS if self._ssl3 else _TLS_PADS  # indexed by padding length
        self._last_output = iv  # ends with the last ciphertext block written (the next record's chaining value)
        self._mac = record_mac
        self._mac_length = record_mac.length
        # smallest valid fragment: [IV] + whole blocks holding at least MAC + padding-length byte
        mac_blocks = (self._mac_length + 1 + self._block - 1) // self._block
        self._min_fragment = (mac_blocks + (1 if self._explicit_iv else 0)) * self._block
        self.expansion = self._iv_length + self._mac_length + self._block  # minimal padding is 1..block bytes
        self._random_pool = b""
        self._random_position = 0
        #: source of the random block R of RFC 4346 §6.2.3.2 (2)(b); tests replace it to fix the IV.
        self.random_block: Callable[[int], bytes] = self._pooled_random_block

    def _pooled_random_block(self, length: int) -> bytes:
        """``length`` bytes from os.urandom, fetched 64 blocks at a time (one system call per 64 records)."""
        position = self._random_position
        if position + length > len(self._random_pool):
            self._random_pool = os.urandom(64 * length)
            position = 0
        self._random_position = position + length
        return self._random_pool[position : position + length]

    def _padding(self, length: int) -> bytes:
        """Minimal padding for ``length`` bytes of content + MAC: in TLS every byte holds the padding
        length (RFC 5246 §6.2.3.2); SSL 3.0 leaves the padding bytes free (RFC 6101 §5.2.3.2) and, like
        OpenSSL and BoringSSL, we send zeros followed by the length byte."""
        pad = self._block - 1 - length % self._block
        return _SSL3_PADS[pad] if self._ssl3 else _TLS_PADS[pad]

    def _encrypt(self, *parts: Buffer) -> bytes:
        """CBC-encrypt the concatenated parts; with explicit IVs a random block R is prepended and its
        ciphertext is the record's IV (RFC 4346 §6.2.3.2 (2)(b))."""
        data = b"".join((self.random_block(self._block), *parts)) if self._explicit_iv else b"".join(parts)
        out = self._encryptor.update(data)
        self._last_output = out  # no copy of the residue block per record: the test hook slices it
        return out


    def iv_for_next_record(self, explicit_iv: bytes) -> None:
        """Test hook: make the next sealed record (only that one) carry ``explicit_iv`` (TLS 1.1+ only).

        Chooses R = D(explicit_iv) XOR residue so that E(R XOR residue) = explicit_iv; the production
        code path is then unchanged.
        """
        decryptor = self._ecb.decryptor()
        r_block = bytes(a ^ b for a, b in zip(decryptor.update(explicit_iv), self._last_output[-self._block :], strict=True))

        def fixed_block_once(length: int) -> bytes:
            self.random_block = self._pooled_random_block  # one record only, then random again
            return r_block

        self.random_block = fixed_block_once


class CbcMacThenEncrypt(_CbcBase):
    """GenericBlockCipher, MAC-then-encrypt (RFC 5246 §6.2.3.2, RFC 4346 §6.2.3.2, RFC 2246 §6.2.3.2,
    RFC 6101 §5.2.3.2), with the Lucky 13 countermeasure described in the module docstring."""

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, version: int, record_mac: _RecordMac) -> None:
        super().__init__(name, algorithm, key, iv, version, record_mac)
        mac = record_mac
        # compression_calls(n) = (n + _calls_offset) // block_size, see _RecordMac.compression_calls
        self._calls_offset = mac._prefix_length + mac._header_length + 1 + mac._length_field + mac.block_size - 1
        self._hash_block = mac.block_size
        self._dummy = hashes.Hash(mac.algorithm)  # same compression function as the MAC

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """E(IV?, content + MAC + padding) with minimal padding."""
        mac = self._mac.compute(seq, content_type, version, plaintext)
        return self._encrypt(plaintext, mac, self._padding(len(plaintext) + self._mac_length))

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + ``seal(...)`` with padding and encryption inlined (one join, one cipher call)."""
        block = self._block
        mac = self._mac.compute(seq, content_type, version, plaintext)
        padding = self._pads[block - 1 - (len(plaintext) + self._mac_length) % block]
        if self._explicit_iv:
            out = self._encryptor.update(_JOIN((self.random_block(block), plaintext, mac, padding)))
        else:
            out = self._encryptor.update(_JOIN((plaintext, mac, padding)))
        self._last_output = out
        return _RECORD_HEADER_PACK(content_type, version, len(out)) + out

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Decrypt, check padding and MAC together; one BadRecordMAC for any failure."""
        n = len(fragment)
        if n % self._block or n < self._min_fragment:
            raise _bad()
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
            raise _bad()
        return content


class CbcEncryptThenMac(_CbcBase):
    """Encrypt-then-MAC (RFC 7366 §3): MAC(MAC_write_key, seq_num + type + version + length + IV +
    ENC(content + padding)), with length = len(IV + ciphertext); the MAC is checked before decrypting."""

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, version: int, record_mac: _RecordMac) -> None:
        if not isinstance(record_mac, TlsHmac):
            raise ConfigurationError("encrypt-then-MAC needs a TLS HMAC (not SSL 3.0)")
        super().__init__(name, algorithm, key, iv, version, record_mac)
        self._hmac = record_mac

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """IV + E(content + padding) + MAC."""
        ciphertext = self._encrypt(plaintext, self._padding(len(plaintext)))
        mac = self._hmac.compute_over(_TLS_MAC_HEADER.pack(seq, content_type, version, len(ciphertext)), ciphertext)
        return ciphertext + mac

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + IV + E(content + padding) + MAC, inlined: one join for the whole record."""
        block = self._block
        padding = self._pads[block - 1 - len(plaintext) % block]
        if self._explicit_iv:
            ciphertext = self._encryptor.update(_JOIN((self.random_block(block), plaintext, padding)))
        else:
            ciphertext = self._encryptor.update(_JOIN((plaintext, padding)))
        self._last_output = ciphertext
        size = len(ciphertext)
        mac = self._hmac.compute_over(_MAC_HEADER_PACK(seq, content_type, version, size), ciphertext)
        return _JOIN((_RECORD_HEADER_PACK(content_type, version, size + self._mac_length), ciphertext, mac))

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Check the MAC over IV + ciphertext, then decrypt and check the padding."""
        block = self._block
        n = len(fragment) - self._mac_length
        if n < block + self._iv_length or n % block:
            raise _bad()
        view = memoryview(fragment)
        body = view[:n]
        expected = self._hmac.compute_over(_TLS_MAC_HEADER.pack(seq, content_type, version, n), body)
        if not _consttime.compare_digest(expected, view[n:]):
            raise _bad()
        out = self._decryptor.update(body)
        pad = out[n - 1]
        start = self._iv_length
        if pad >= n - start or out[n - pad - 1 : n] != _TLS_PADS[pad]:
            raise _bad()  # after a good MAC the padding check needs no constant time (RFC 7366 §3)
        return out[start : n - pad - 1]


# ------------------------------------------------------------------------------------------ AEAD


def _aead_object(algorithm: str, key: bytes, tag_length: int) -> AESGCM | AESCCM | ChaCha20Poly1305:
    if algorithm == "AES-GCM":
        return AESGCM(key)
    if algorithm == "AES-CCM":
        return AESCCM(key, tag_length=tag_length)
    if algorithm == "CHACHA20-POLY1305":
        return ChaCha20Poly1305(key)
    raise ConfigurationError(f"not an AEAD: {algorithm}")


class AeadExplicitNonce(RecordProtection):
    """TLS 1.2 AES-GCM / AES-CCM (RFC 5288 §3, RFC 6655 §3): nonce = salt(4, the write IV) +
    nonce_explicit(8, sent before the ciphertext; we use the sequence number), AAD = seq_num + type +
    version + plaintext length (RFC 5246 §6.2.3.3).

    Hot path (measured, see docs/performance.md): ``seal_record`` writes nonce, AAD and record header
    with one ``struct.pack_into`` into a reusable scratch buffer (the salt is written once) and joins
    header + AEAD output once; ``open`` builds salt + explicit nonce and the AAD as small bytes (cheaper
    than refilling bytearrays) and decrypts the ciphertext through a memoryview. AEAD methods are bound once.
    """

    protects = True

    def __init__(self, name: str, algorithm: str, key: bytes, salt: bytes, tag_length: int) -> None:
        if len(salt) != 4:
            raise ConfigurationError(f"{name} needs a 4-byte implicit nonce (salt), got {len(salt)}")
        self.name = name
        self._aead = _aead_object(algorithm, key, tag_length)
        self._encrypt = self._aead.encrypt
        self._decrypt = self._aead.decrypt
        self._encrypt_into = self._aead.encrypt_into
        self._decrypt_into = self._aead.decrypt_into
        self._salt = salt
        self._tag = tag_length
        self._overhead = self.expansion = 8 + tag_length
        # seal scratch: salt(4) seq(8) | type version length(2) | type version record_length seq(8), so that
        # [0:12] is the nonce, [4:17] the AAD and [17:30] the record header + nonce_explicit: one pack_into
        self._scratch = bytearray(salt + bytes(26))
        scratch = memoryview(self._scratch)
        self._seal_nonce, self._seal_aad, self._seal_prefix = scratch[0:12], scratch[4:17], scratch[17:30]

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """nonce_explicit + AEAD-Encrypt(key, salt + nonce_explicit, plaintext, AAD)."""
        explicit = _SEQ.pack(seq)
        return explicit + self._aead.encrypt(
            self._salt + explicit, plaintext, _TLS_MAC_HEADER.pack(seq, content_type, version, len(plaintext))
        )

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + nonce_explicit + AEAD output (one pack for nonce, AAD and header; one join)."""
        size = len(plaintext)
        _SEAL_SCRATCH_PACK_INTO(
            self._scratch, 4, seq, content_type, version, size, content_type, version, size + self._overhead, seq
        )
        return _JOIN((self._seal_prefix, self._encrypt(self._seal_nonce, plaintext, self._seal_aad)))

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """Header + nonce_explicit + AEAD output written into ``out`` with no copy of the ciphertext."""
        size = len(plaintext)
        end = 13 + size + self._tag
        _SEAL_SCRATCH_PACK_INTO(
            self._scratch, 4, seq, content_type, version, size, content_type, version, size + self._overhead, seq
        )
        out[0:13] = self._seal_prefix
        self._encrypt_into(self._seal_nonce, plaintext, self._seal_aad, out[13:end])
        return end

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """Take nonce_explicit from the fragment, AEAD-Decrypt; any failure is BadRecordMAC."""
        size = len(fragment) - self._overhead
        if size < 0:
            raise _bad()
        view = fragment if type(fragment) is memoryview else memoryview(fragment)
        try:  # salt + view[:8] and a packed bytes AAD measure faster than filling reusable bytearrays
            return self._decrypt(self._salt + view[:8], view[8:], _MAC_HEADER_PACK(seq, content_type, version, size))
        except InvalidTag:
            raise _bad() from None

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` decrypting straight into ``out``; unverified bytes are wiped on failure
        (:func:`_decrypt_into_or_wipe`)."""
        size = len(fragment) - self._overhead
        if size < 0:
            raise _bad()
        if size > len(out):
            return len(self.open(seq, content_type, version, fragment))
        view = fragment if type(fragment) is memoryview else memoryview(fragment)
        aad = _MAC_HEADER_PACK(seq, content_type, version, size)
        _decrypt_into_or_wipe(self._decrypt_into, self._salt + view[:8], view[8:], aad, out[:size])
        return size


class AeadXorNonce(RecordProtection):
    """TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2): nonce = 12-byte IV XOR left-padded seq_num, no explicit
    nonce; AAD = seq_num + type + version + plaintext length.

    Hot path: the nonce is IV XOR seq computed as integers; ``seal_record`` packs AAD and record header
    with one ``struct.pack_into``.
    """

    protects = True

    def __init__(self, name: str, algorithm: str, key: bytes, iv: bytes, tag_length: int) -> None:
        if len(iv) != 12:
            raise ConfigurationError(f"{name} needs a 12-byte IV, got {len(iv)}")
        self.name = name
        self._aead = _aead_object(algorithm, key, tag_length)
        self._encrypt = self._aead.encrypt
        self._decrypt = self._aead.decrypt
        self._encrypt_into = self._aead.encrypt_into
        self._decrypt_into = self._aead.decrypt_into
        self._iv = int.from_bytes(iv, "big")
        self._tag = self.expansion = tag_length
        # seal scratch: seq(8) type version length(2) | type version record_length: [0:13] is the AAD,
        # [13:18] the record header, both written by one pack_into
        scratch = memoryview(bytearray(18))
        self._scratch, self._seal_aad, self._seal_header = scratch, scratch[0:13], scratch[13:18]

    def _nonce(self, seq: int) -> bytes:
        return (self._iv ^ seq).to_bytes(12, "big")

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """AEAD-Encrypt(key, IV XOR seq, plaintext, AAD)."""
        nonce = (self._iv ^ seq).to_bytes(12, "big")
        return self._aead.encrypt(nonce, plaintext, _TLS_MAC_HEADER.pack(seq, content_type, version, len(plaintext)))

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + AEAD output (one pack for AAD and header; one join)."""
        size = len(plaintext)
        _XOR_SCRATCH_PACK_INTO(self._scratch, 0, seq, content_type, version, size, content_type, version, size + self._tag)
        return _JOIN((self._seal_header, self._encrypt((self._iv ^ seq).to_bytes(12, "big"), plaintext, self._seal_aad)))

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """Header + AEAD output written into ``out`` with no copy of the ciphertext."""
        size = len(plaintext)
        end = 5 + size + self._tag
        _XOR_SCRATCH_PACK_INTO(self._scratch, 0, seq, content_type, version, size, content_type, version, size + self._tag)
        out[0:5] = self._seal_header
        self._encrypt_into((self._iv ^ seq).to_bytes(12, "big"), plaintext, self._seal_aad, out[5:end])
        return end

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """AEAD-Decrypt; any failure is BadRecordMAC."""
        size = len(fragment) - self._tag
        if size < 0:
            raise _bad()
        try:
            return self._decrypt(
                (self._iv ^ seq).to_bytes(12, "big"), fragment, _MAC_HEADER_PACK(seq, content_type, version, size)
            )
        except InvalidTag:
            raise _bad() from None

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` decrypting straight into ``out``; unverified bytes are wiped on failure
        (:func:`_decrypt_into_or_wipe`)."""
        size = len(fragment) - self._tag
        if size < 0:
            raise _bad()
        if size > len(out):
            return len(self.open(seq, content_type, version, fragment))
        _decrypt_into_or_wipe(
            self._decrypt_into, (self._iv ^ seq).to_bytes(12, "big"), fragment,
            _MAC_HEADER_PACK(seq, content_type, version, size), out[:size],
        )
        return size


class Tls13Aead(AeadXorNonce):
    """TLS 1.3 record protection (RFC 8446 §5.2, §5.3): nonce = IV XOR padded seq_num, AAD = the record
    header (opaque_type, legacy_record_version, length of the ciphertext). The inner content type and
    padding are added and stripped by :class:`tlsstate.record.HalfConnection`."""

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """AEAD-Encrypt(key, IV XOR seq, TLSInnerPlaintext, header)."""
        header = _RECORD_HEADER.pack(content_type, version, len(plaintext) + self._tag)
        return self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), plaintext, header)

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + AEAD output; the header is the AAD."""
        header = _RECORD_HEADER.pack(content_type, version, len(plaintext) + self._tag)
        return header + self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), plaintext, header)

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """AEAD-Decrypt with the record header as AAD; any failure is BadRecordMAC."""
        if len(fragment) < self._tag:
            raise _bad()
        header = _RECORD_HEADER.pack(content_type, version, len(fragment))
        try:
            return self._aead.decrypt((self._iv ^ seq).to_bytes(12, "big"), fragment, header)
        except InvalidTag:
            raise _bad() from None

    def seal_record_into(self, seq: int, content_type: int, version: int, plaintext: Buffer, out: memoryview) -> int:
        """Header + AEAD output (the header is the AAD) written into ``out``."""
        end = 5 + len(plaintext) + self._tag
        header = _RECORD_HEADER.pack(content_type, version, end - 5)
        out[0:5] = header
        self._encrypt_into((self._iv ^ seq).to_bytes(12, "big"), plaintext, header, out[5:end])
        return end

    def open_into(self, seq: int, content_type: int, version: int, fragment: Buffer, out: memoryview) -> int:
        """``open`` decrypting the TLSInnerPlaintext straight into ``out``; unverified bytes wiped on failure."""
        size = len(fragment) - self._tag
        if size < 0:
            raise _bad()
        if size > len(out):
            return len(self.open(seq, content_type, version, fragment))
        header = _RECORD_HEADER.pack(content_type, version, len(fragment))
        _decrypt_into_or_wipe(self._decrypt_into, (self._iv ^ seq).to_bytes(12, "big"), fragment, header, out[:size])
        return size


class Tls13DraftAead(Tls13Aead):
    """Record protection of TLS 1.3 drafts before 25: as RFC 8446 §5.2 but with empty additional data
    (draft-ietf-tls-tls13-24 §5.2); read from captures only."""

    def seal(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """AEAD-Encrypt(key, IV XOR seq, TLSInnerPlaintext, no additional data)."""
        return self._aead.encrypt((self._iv ^ seq).to_bytes(12, "big"), plaintext, None)

    def seal_record(self, seq: int, content_type: int, version: int, plaintext: Buffer) -> bytes:
        """Header + AEAD output."""
        sealed = self.seal(seq, content_type, version, plaintext)
        return _RECORD_HEADER.pack(content_type, version, len(sealed)) + sealed

    def open(self, seq: int, content_type: int, version: int, fragment: Buffer) -> bytes:
        """AEAD-Decrypt with no additional data; any failure is BadRecordMAC."""
        if len(fragment) < self._tag:
            raise _bad()
        try:
            return self._aead.decrypt((self._iv ^ seq).to_bytes(12, "big"), fragment, None)
        except InvalidTag:
            raise _bad() from None


# --------------------------------------------------------------------------------------- factories


def _check_length(what: str, value: bytes, expected: int) -> None:
    if len(value) != expected:
        raise ConfigurationError(f"{what} must be {expected} bytes, got {len(value)}")


def make_protection(
    suite: CipherSuite,
    version: ProtocolVersion | int,
    mac_key: bytes,
    key: bytes,
    iv: bytes,
    *,
    encrypt_then_mac: bool = False,
) -> RecordProtection:
    """The protection for one direction of an SSL 3.0 – TLS 1.2 connection (RFC 5246 §6.2.3).

    ``mac_key``, ``key``, ``iv`` are that direction's write values from the key block (RFC 5246 §6.3).
    ``encrypt_then_mac`` applies to CBC suites only (RFC 7366 §3: ignored for stream/AEAD).
    """
    version = int(version)
    if not ProtocolVersion.SSL3 <= version <= ProtocolVersion.TLS1_2:
        raise ConfigurationError(f"make_protection is for SSL 3.0 - TLS 1.2, not 0x{version:04x}")
    if suite.is_tls13:
        raise ConfigurationError(f"{suite.name} is a TLS 1.3 suite: use make_tls13_protection")
    spec = suite.cipher
    _check_length(f"{suite.name} write key", key, spec.key_length)
    family = spec.family
    if family is CipherFamily.AEAD:
        if spec.nonce_style is NonceStyle.EXPLICIT_PREFIX:
            return AeadExplicitNonce(spec.name, spec.algorithm, key, iv, spec.tag_length)
        return AeadXorNonce(spec.name, spec.algorithm, key, iv, spec.tag_length)
    record_mac = make_record_mac(suite.mac, version, mac_key)
    mac_name = suite.mac.hash_name.upper().replace("SHA", "SHA-").replace("SHA-1", "SHA1")
    if family is CipherFamily.NULL:
        return StreamProtection(f"NULL-{mac_name}", record_mac, None)
    if family is CipherFamily.STREAM:
        return StreamProtection(f"{spec.name}-{mac_name}", record_mac, key)
    if encrypt_then_mac and version != ProtocolVersion.SSL3:
        return CbcEncryptThenMac(f"{spec.name}-{mac_name}-EtM", spec.algorithm, key, iv, version, record_mac)
    return CbcMacThenEncrypt(f"{spec.name}-{mac_name}", spec.algorithm, key, iv, version, record_mac)


def make_tls13_protection(
    suite: CipherSuite, key: bytes, iv: bytes, *, header_is_additional_data: bool = True, name: str | None = None
) -> RecordProtection:
    """TLS 1.3 protection from a traffic key and IV (RFC 8446 §5.2, §7.3).

    ``header_is_additional_data=False`` gives the TLS 1.3 drafts before 25 (empty additional data); ``name``
    overrides the protection's display name (e.g. ``AES-128-GCM (draft-23)``).
    """
    spec = suite.cipher
    if spec.family is not CipherFamily.AEAD:
        raise ConfigurationError(f"{suite.name} is not an AEAD suite")
    _check_length(f"{suite.name} traffic key", key, spec.key_length)
    kind = Tls13Aead if header_is_additional_data else Tls13DraftAead
    return kind(name or spec.name, spec.algorithm, key, iv, spec.tag_length)

