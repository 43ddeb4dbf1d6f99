"""The cipher suite registry: one table, one row per suite.

Each row says how a suite's connection state is built and used: key exchange, bulk cipher
(family, key length, IV/nonce shape), MAC, PRF hash and the protocol versions it is valid in.
Sources: RFC 5246 Appendix A.5/C, RFC 4279/4785/5487/5489 (PSK), RFC 4492/8422 (ECC),
RFC 5288/5289 (GCM), RFC 6655/7251 (CCM), RFC 7905 (ChaCha20-Poly1305), RFC 8446 §B.4 (TLS 1.3);
for reading old captures: RFC 5932/6367 (Camellia), RFC 4162 (SEED), RFC 5469 (DES, IDEA), RFC 2246 §D.1 and
RFC 6101 Appendix C (the 40-bit export suites), RFC 5054 (SRP). The handshake runs only the key exchanges config.py lists;
the others are here so that captures, ``tlsstate keys``, ``--records`` and ``--explain`` know them.

Look a suite up with :func:`by_id`, :func:`by_name` (IANA or OpenSSL name) or :func:`lookup`
(any of those, or hex text like ``0x002f``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tlsstate.wire.constants import KeyExchange as KeyExchange  # defined with the wire enums; re-exported
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError


class CipherFamily(Enum):
    """How records are protected (RFC 5246 §6.2.3)."""

    NULL = "null"  # MAC only
    STREAM = "stream"  # RC4 + MAC
    CBC = "cbc"  # block cipher, MAC-then-encrypt or encrypt-then-MAC (RFC 7366)
    AEAD = "aead"  # GCM, CCM, CCM_8, ChaCha20-Poly1305


class NonceStyle(Enum):
    """How an AEAD nonce is built from the write IV and the sequence number."""

    NONE = "none"
    EXPLICIT_PREFIX = "explicit"  # 4-byte salt from key block + 8-byte explicit nonce (RFC 5288 §3)
    XOR_SEQUENCE = "xor"  # 12-byte IV XOR padded sequence number (RFC 7905 §2, RFC 8446 §5.3)


@dataclass(frozen=True, slots=True)
class CipherSpec:
    """A bulk cipher: algorithm name as pyca names it, key length and nonce shape.

    ``block_size`` is non-zero for CBC only; ``tag_length`` for AEADs only. ``fixed_iv_length``
    is the part of the IV that comes from the key block for AEADs (4 for GCM/CCM, 12 for ChaCha20);
    CBC IVs are handled by :func:`CipherSuite.iv_length` because they depend on the version.
    """

    name: str  # short display name, e.g. "AES-128-GCM"
    #: "NULL", "RC4", "3DES", "DES", "AES", "CAMELLIA", "SEED", "IDEA", "RC2", "AES-GCM", "AES-CCM",
    #: "CHACHA20-POLY1305"
    algorithm: str
    family: CipherFamily
    key_length: int  # the key the cipher is keyed with (for export ciphers: the final, expanded key)
    block_size: int = 0
    fixed_iv_length: int = 0
    explicit_nonce_length: int = 0
    tag_length: int = 0
    nonce_style: NonceStyle = NonceStyle.NONE
    #: Export ciphers (RFC 2246 §6.3, RFC 6101 §6.2.2): the bytes of each write key in the key block (5); the
    #: final ``key_length``-byte key and the IVs are derived from it and the randoms. 0 for every other cipher.
    export_key_material: int = 0

    @property
    def is_export(self) -> bool:
        """A 40-bit export cipher (is_exportable in RFC 2246 §6.1)."""
        return self.export_key_material > 0

    @property
    def key_material_length(self) -> int:
        """Bytes of each write key cut from the key block (RFC 2246 §6.3 key_material_length)."""
        return self.export_key_material or self.key_length


class MacAlgorithm(Enum):
    """Record MAC hash (HMAC in TLS, the SSL 3.0 MAC in SSL 3.0) with its output length."""

    NULL = ("null", 0)
    MD5 = ("md5", 16)
    SHA1 = ("sha1", 20)
    SHA256 = ("sha256", 32)
    SHA384 = ("sha384", 48)

    @property
    def hash_name(self) -> str:
        """hashlib / pyca name."""
        return self.value[0]

    @property
    def length(self) -> int:
        """MAC output length in bytes (= mac key length, RFC 5246 §6.2.3.1)."""
        return self.value[1]


NULL_CIPHER = CipherSpec("NULL", "NULL", CipherFamily.NULL, 0)
RC4_128 = CipherSpec("RC4-128", "RC4", CipherFamily.STREAM, 16)
DES3_EDE_CBC = CipherSpec("3DES-EDE-CBC", "3DES", CipherFamily.CBC, 24, block_size=8)
AES_128_CBC = CipherSpec("AES-128-CBC", "AES", CipherFamily.CBC, 16, block_size=16)
AES_256_CBC = CipherSpec("AES-256-CBC", "AES", CipherFamily.CBC, 32, block_size=16)
AES_128_GCM = CipherSpec("AES-128-GCM", "AES-GCM", CipherFamily.AEAD, 16, 0, 4, 8, 16, NonceStyle.EXPLICIT_PREFIX)
AES_256_GCM = CipherSpec("AES-256-GCM", "AES-GCM", CipherFamily.AEAD, 32, 0, 4, 8, 16, NonceStyle.EXPLICIT_PREFIX)
AES_128_CCM = CipherSpec("AES-128-CCM", "AES-CCM", CipherFamily.AEAD, 16, 0, 4, 8, 16, NonceStyle.EXPLICIT_PREFIX)
AES_256_CCM = CipherSpec("AES-256-CCM", "AES-CCM", CipherFamily.AEAD, 32, 0, 4, 8, 16, NonceStyle.EXPLICIT_PREFIX)
AES_128_CCM_8 = CipherSpec("AES-128-CCM-8", "AES-CCM", CipherFamily.AEAD, 16, 0, 4, 8, 8, NonceStyle.EXPLICIT_PREFIX)
AES_256_CCM_8 = CipherSpec("AES-256-CCM-8", "AES-CCM", CipherFamily.AEAD, 32, 0, 4, 8, 8, NonceStyle.EXPLICIT_PREFIX)
CHACHA20_POLY1305 = CipherSpec(
    "CHACHA20-POLY1305", "CHACHA20-POLY1305", CipherFamily.AEAD, 32, 0, 12, 0, 16, NonceStyle.XOR_SEQUENCE
)
CAMELLIA_128_CBC = CipherSpec("CAMELLIA-128-CBC", "CAMELLIA", CipherFamily.CBC, 16, block_size=16)
CAMELLIA_256_CBC = CipherSpec("CAMELLIA-256-CBC", "CAMELLIA", CipherFamily.CBC, 32, block_size=16)
SEED_CBC = CipherSpec("SEED-CBC", "SEED", CipherFamily.CBC, 16, block_size=16)
IDEA_CBC = CipherSpec("IDEA-CBC", "IDEA", CipherFamily.CBC, 16, block_size=8)
DES_CBC = CipherSpec("DES-CBC", "DES", CipherFamily.CBC, 8, block_size=8)
# export: 5 key bytes in the key block, expanded to the final key (RFC 2246 §6.3 expanded_key_material)
DES40_CBC = CipherSpec("DES40-CBC", "DES", CipherFamily.CBC, 8, block_size=8, export_key_material=5)
RC2_CBC_40 = CipherSpec("RC2-CBC-40", "RC2", CipherFamily.CBC, 16, block_size=8, export_key_material=5)
RC4_40 = CipherSpec("RC4-40", "RC4", CipherFamily.STREAM, 16, export_key_material=5)
# TLS 1.3 uses a 12-byte IV XORed with the sequence number for every AEAD (RFC 8446 §5.3).
TLS13_AES_128_GCM = CipherSpec("AES-128-GCM", "AES-GCM", CipherFamily.AEAD, 16, 0, 12, 0, 16, NonceStyle.XOR_SEQUENCE)
TLS13_AES_256_GCM = CipherSpec("AES-256-GCM", "AES-GCM", CipherFamily.AEAD, 32, 0, 12, 0, 16, NonceStyle.XOR_SEQUENCE)
TLS13_AES_128_CCM = CipherSpec("AES-128-CCM", "AES-CCM", CipherFamily.AEAD, 16, 0, 12, 0, 16, NonceStyle.XOR_SEQUENCE)
TLS13_AES_128_CCM_8 = CipherSpec(
    "AES-128-CCM-8", "AES-CCM", CipherFamily.AEAD, 16, 0, 12, 0, 8, NonceStyle.XOR_SEQUENCE
)

SSL3 = ProtocolVersion.SSL3
TLS10 = ProtocolVersion.TLS1_0
TLS12 = ProtocolVersion.TLS1_2
TLS13 = ProtocolVersion.TLS1_3


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """One row of the registry."""

    id: int
    name: str  # IANA name, e.g. TLS_RSA_WITH_AES_128_CBC_SHA
    openssl_name: str  # e.g. AES128-SHA
    key_exchange: KeyExchange
    cipher: CipherSpec
    mac: MacAlgorithm
    prf_hash: str  # "sha256" or "sha384": the TLS 1.2 PRF / TLS 1.3 HKDF hash
    min_version: ProtocolVersion
    max_version: ProtocolVersion
    #: Lowest version whose records this suite can be read in: ``min_version``, except that the RFC 4492 ECC
    #: suites also ran in SSL 3.0 (RFC 4492 never forbade it; real clients sent them; Wireshark reads them).
    min_read_version: ProtocolVersion

    @property
    def hex_id(self) -> str:
        """``0x002f`` style."""
        return f"0x{self.id:04x}"

    @property
    def family(self) -> CipherFamily:
        """Protection family of the bulk cipher."""
        return self.cipher.family

    @property
    def is_aead(self) -> bool:
        """True for GCM/CCM/ChaCha20-Poly1305."""
        return self.cipher.family is CipherFamily.AEAD

    @property
    def is_tls13(self) -> bool:
        """True for the TLS 1.3 suites (0x13xx)."""
        return self.key_exchange is KeyExchange.TLS13

    def valid_for(self, version: ProtocolVersion | int) -> bool:
        """Whether the suite may be negotiated in ``version`` (what a live handshake accepts)."""
        return self.min_version <= version <= self.max_version

    def readable_in(self, version: ProtocolVersion | int) -> bool:
        """Whether keys can be derived and records read for this suite in ``version`` (captures, ``keys``)."""
        return self.min_read_version <= version <= self.max_version

    def mac_key_length(self) -> int:
        """Length of each write MAC key in the key block (0 for AEADs)."""
        return 0 if self.is_aead else self.mac.length

    def iv_length(self, version: ProtocolVersion | int) -> int:
        """Length of each write IV cut from the key block (RFC 5246 §6.3, RFC 4346 §6.3).

        SSL 3.0 / TLS 1.0 CBC: one block (the chained implicit IV). TLS 1.1+ CBC: none (explicit
        per-record IVs). GCM/CCM: the 4-byte salt. ChaCha20-Poly1305: 12 bytes. Others: none.
        """
        if self.cipher.family is CipherFamily.CBC:
            return self.cipher.block_size if version <= ProtocolVersion.TLS1_0 else 0
        return self.cipher.fixed_iv_length

    def key_block_length(self, version: ProtocolVersion | int) -> int:
        """Bytes of key block needed: 2 × (MAC key + write key + IV); export ciphers take only the MAC keys and
        the 5-byte key material from it (their final keys and IVs come from the randoms, RFC 2246 §6.3)."""
        if self.cipher.is_export:
            return 2 * (self.mac_key_length() + self.cipher.export_key_material)
        return 2 * (self.mac_key_length() + self.cipher.key_length + self.iv_length(version))

    def __str__(self) -> str:
        return f"{self.name} ({self.hex_id})"


def _prf_hash_for(name: str) -> str:
    return "sha384" if name.endswith("_SHA384") else "sha256"


def _suite(
    suite_id: int, name: str, openssl_name: str, kx: KeyExchange, cipher: CipherSpec, mac: MacAlgorithm
) -> CipherSuite:
    """One row; PRF hash and version range follow from the RFC that defines the suite."""
    if kx is KeyExchange.TLS13:
        lo, hi = TLS13, TLS13
    elif cipher.family is CipherFamily.AEAD:
        lo, hi = TLS12, TLS12  # RFC 5288/5289/6655/7905 AEAD suites are TLS 1.2 only
    elif mac in (MacAlgorithm.SHA256, MacAlgorithm.SHA384) and not kx.uses_psk:
        lo, hi = TLS12, TLS12  # RFC 5246/5289 SHA-2 HMAC suites are TLS 1.2 only
    elif mac in (MacAlgorithm.SHA256, MacAlgorithm.SHA384):
        # RFC 5487 §3.2 / RFC 5489 §3: PSK suites with SHA-2 HMACs also run in TLS 1.0/1.1,
        # with that version's PRF.
        lo, hi = TLS10, TLS12
    elif cipher.is_export:
        lo, hi = SSL3, TLS10  # RFC 4346 §A.5: TLS 1.1 implementations MUST NOT negotiate the export suites
    elif kx in _SSL3_KEY_EXCHANGES:
        lo, hi = SSL3, TLS12
    else:
        lo, hi = TLS10, TLS12  # ECC (RFC 4492) and PSK (RFC 4279) suites start at TLS 1.0
    read_from = SSL3 if lo == TLS10 and kx in _ECC_KEY_EXCHANGES else lo
    return CipherSuite(suite_id, name, openssl_name, kx, cipher, mac, _prf_hash_for(name), lo, hi, read_from)


#: Key exchanges SSL 3.0 defines (RFC 6101 §5.6.7 and Appendix A.6) and AES/Camellia/SEED reuse.
_SSL3_KEY_EXCHANGES = frozenset({
    KeyExchange.RSA, KeyExchange.DHE_RSA, KeyExchange.DHE_DSS, KeyExchange.DH_DSS, KeyExchange.DH_RSA,
    KeyExchange.DH_ANON, KeyExchange.RSA_EXPORT, KeyExchange.DHE_DSS_EXPORT, KeyExchange.DHE_RSA_EXPORT,
    KeyExchange.DH_ANON_EXPORT,
})
_ECC_KEY_EXCHANGES = frozenset({
    KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA, KeyExchange.ECDH_RSA, KeyExchange.ECDH_ECDSA,
    KeyExchange.ECDH_ANON,
})


K = KeyExchange
M = MacAlgorithm

# fmt: off
CIPHER_SUITES: tuple[CipherSuite, ...] = (
    # --- RSA key exchange (RFC 5246, RFC 5288, RFC 6655) ---
    _suite(0x0001, "TLS_RSA_WITH_NULL_MD5", "NULL-MD5", K.RSA, NULL_CIPHER, M.MD5),
    _suite(0x0002, "TLS_RSA_WITH_NULL_SHA", "NULL-SHA", K.RSA, NULL_CIPHER, M.SHA1),
    _suite(0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5", K.RSA, RC4_128, M.MD5),
    _suite(0x0005, "TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA", K.RSA, RC4_128, M.SHA1),
    _suite(0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA", K.RSA, DES3_EDE_CBC, M.SHA1),
    _suite(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA", K.RSA, AES_128_CBC, M.SHA1),
    _suite(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA", K.RSA, AES_256_CBC, M.SHA1),
    _suite(0x003B, "TLS_RSA_WITH_NULL_SHA256", "NULL-SHA256", K.RSA, NULL_CIPHER, M.SHA256),
    _suite(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256", K.RSA, AES_128_CBC, M.SHA256),
    _suite(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256", K.RSA, AES_256_CBC, M.SHA256),
    _suite(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256", K.RSA, AES_128_GCM, M.NULL),
    _suite(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384", K.RSA, AES_256_GCM, M.NULL),
    _suite(0xC09C, "TLS_RSA_WITH_AES_128_CCM", "AES128-CCM", K.RSA, AES_128_CCM, M.NULL),
    _suite(0xC09D, "TLS_RSA_WITH_AES_256_CCM", "AES256-CCM", K.RSA, AES_256_CCM, M.NULL),
    _suite(0xC0A0, "TLS_RSA_WITH_AES_128_CCM_8", "AES128-CCM8", K.RSA, AES_128_CCM_8, M.NULL),
    _suite(0xC0A1, "TLS_RSA_WITH_AES_256_CCM_8", "AES256-CCM8", K.RSA, AES_256_CCM_8, M.NULL),
    # --- DHE_RSA ---
    _suite(0x0016, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", "EDH-RSA-DES-CBC3-SHA", K.DHE_RSA, DES3_EDE_CBC, M.SHA1),
    _suite(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", "DHE-RSA-AES128-SHA", K.DHE_RSA, AES_128_CBC, M.SHA1),
    _suite(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", "DHE-RSA-AES256-SHA", K.DHE_RSA, AES_256_CBC, M.SHA1),
    _suite(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", "DHE-RSA-AES128-SHA256", K.DHE_RSA, AES_128_CBC, M.SHA256),
    _suite(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", "DHE-RSA-AES256-SHA256", K.DHE_RSA, AES_256_CBC, M.SHA256),
    _suite(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE-RSA-AES128-GCM-SHA256", K.DHE_RSA, AES_128_GCM, M.NULL),
    _suite(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE-RSA-AES256-GCM-SHA384", K.DHE_RSA, AES_256_GCM, M.NULL),
    _suite(0xC09E, "TLS_DHE_RSA_WITH_AES_128_CCM", "DHE-RSA-AES128-CCM", K.DHE_RSA, AES_128_CCM, M.NULL),
    _suite(0xC09F, "TLS_DHE_RSA_WITH_AES_256_CCM", "DHE-RSA-AES256-CCM", K.DHE_RSA, AES_256_CCM, M.NULL),
    _suite(0xC0A2, "TLS_DHE_RSA_WITH_AES_128_CCM_8", "DHE-RSA-AES128-CCM8", K.DHE_RSA, AES_128_CCM_8, M.NULL),
    _suite(0xC0A3, "TLS_DHE_RSA_WITH_AES_256_CCM_8", "DHE-RSA-AES256-CCM8", K.DHE_RSA, AES_256_CCM_8, M.NULL),
    _suite(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE-RSA-CHACHA20-POLY1305",
           K.DHE_RSA, CHACHA20_POLY1305, M.NULL),
    # --- ECDHE_ECDSA (RFC 8422, RFC 5289, RFC 7251) ---
    _suite(0xC006, "TLS_ECDHE_ECDSA_WITH_NULL_SHA", "ECDHE-ECDSA-NULL-SHA", K.ECDHE_ECDSA, NULL_CIPHER, M.SHA1),
    _suite(0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA", K.ECDHE_ECDSA, RC4_128, M.SHA1),
    _suite(0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-ECDSA-DES-CBC3-SHA",
           K.ECDHE_ECDSA, DES3_EDE_CBC, M.SHA1),
    _suite(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA", K.ECDHE_ECDSA, AES_128_CBC, M.SHA1),
    _suite(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA", K.ECDHE_ECDSA, AES_256_CBC, M.SHA1),
    _suite(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256",
           K.ECDHE_ECDSA, AES_128_CBC, M.SHA256),
    _suite(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384",
           K.ECDHE_ECDSA, AES_256_CBC, M.SHA384),
    _suite(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256",
           K.ECDHE_ECDSA, AES_128_GCM, M.NULL),
    _suite(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384",
           K.ECDHE_ECDSA, AES_256_GCM, M.NULL),
    _suite(0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM", "ECDHE-ECDSA-AES128-CCM", K.ECDHE_ECDSA, AES_128_CCM, M.NULL),
    _suite(0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM", "ECDHE-ECDSA-AES256-CCM", K.ECDHE_ECDSA, AES_256_CCM, M.NULL),
    _suite(0xC0AE, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "ECDHE-ECDSA-AES128-CCM8",
           K.ECDHE_ECDSA, AES_128_CCM_8, M.NULL),
    _suite(0xC0AF, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8", "ECDHE-ECDSA-AES256-CCM8",
           K.ECDHE_ECDSA, AES_256_CCM_8, M.NULL),
    _suite(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
           K.ECDHE_ECDSA, CHACHA20_POLY1305, M.NULL),
    # --- ECDHE_RSA ---
    _suite(0xC010, "TLS_ECDHE_RSA_WITH_NULL_SHA", "ECDHE-RSA-NULL-SHA", K.ECDHE_RSA, NULL_CIPHER, M.SHA1),
    _suite(0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA", K.ECDHE_RSA, RC4_128, M.SHA1),
    _suite(0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA", K.ECDHE_RSA, DES3_EDE_CBC, M.SHA1),
    _suite(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA", K.ECDHE_RSA, AES_128_CBC, M.SHA1),
    _suite(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA", K.ECDHE_RSA, AES_256_CBC, M.SHA1),
    _suite(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256",
           K.ECDHE_RSA, AES_128_CBC, M.SHA256),
    _suite(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384",
           K.ECDHE_RSA, AES_256_CBC, M.SHA384),
    _suite(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
           K.ECDHE_RSA, AES_128_GCM, M.NULL),
    _suite(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
           K.ECDHE_RSA, AES_256_GCM, M.NULL),
    _suite(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
           K.ECDHE_RSA, CHACHA20_POLY1305, M.NULL),
    # --- PSK (RFC 4279, RFC 4785, RFC 5487, RFC 6655, RFC 7905) ---
    _suite(0x002C, "TLS_PSK_WITH_NULL_SHA", "PSK-NULL-SHA", K.PSK, NULL_CIPHER, M.SHA1),
    _suite(0x008A, "TLS_PSK_WITH_RC4_128_SHA", "PSK-RC4-SHA", K.PSK, RC4_128, M.SHA1),
    _suite(0x008B, "TLS_PSK_WITH_3DES_EDE_CBC_SHA", "PSK-3DES-EDE-CBC-SHA", K.PSK, DES3_EDE_CBC, M.SHA1),
    _suite(0x008C, "TLS_PSK_WITH_AES_128_CBC_SHA", "PSK-AES128-CBC-SHA", K.PSK, AES_128_CBC, M.SHA1),
    _suite(0x008D, "TLS_PSK_WITH_AES_256_CBC_SHA", "PSK-AES256-CBC-SHA", K.PSK, AES_256_CBC, M.SHA1),
    _suite(0x00A8, "TLS_PSK_WITH_AES_128_GCM_SHA256", "PSK-AES128-GCM-SHA256", K.PSK, AES_128_GCM, M.NULL),
    _suite(0x00A9, "TLS_PSK_WITH_AES_256_GCM_SHA384", "PSK-AES256-GCM-SHA384", K.PSK, AES_256_GCM, M.NULL),
    _suite(0x00AE, "TLS_PSK_WITH_AES_128_CBC_SHA256", "PSK-AES128-CBC-SHA256", K.PSK, AES_128_CBC, M.SHA256),
    _suite(0x00AF, "TLS_PSK_WITH_AES_256_CBC_SHA384", "PSK-AES256-CBC-SHA384", K.PSK, AES_256_CBC, M.SHA384),
    _suite(0x00B0, "TLS_PSK_WITH_NULL_SHA256", "PSK-NULL-SHA256", K.PSK, NULL_CIPHER, M.SHA256),
    _suite(0x00B1, "TLS_PSK_WITH_NULL_SHA384", "PSK-NULL-SHA384", K.PSK, NULL_CIPHER, M.SHA384),
    _suite(0xC0A4, "TLS_PSK_WITH_AES_128_CCM", "PSK-AES128-CCM", K.PSK, AES_128_CCM, M.NULL),
    _suite(0xC0A5, "TLS_PSK_WITH_AES_256_CCM", "PSK-AES256-CCM", K.PSK, AES_256_CCM, M.NULL),
    _suite(0xC0A8, "TLS_PSK_WITH_AES_128_CCM_8", "PSK-AES128-CCM8", K.PSK, AES_128_CCM_8, M.NULL),
    _suite(0xC0A9, "TLS_PSK_WITH_AES_256_CCM_8", "PSK-AES256-CCM8", K.PSK, AES_256_CCM_8, M.NULL),
    _suite(0xCCAB, "TLS_PSK_WITH_CHACHA20_POLY1305_SHA256", "PSK-CHACHA20-POLY1305", K.PSK, CHACHA20_POLY1305, M.NULL),
    # --- DHE_PSK ---
    _suite(0x002D, "TLS_DHE_PSK_WITH_NULL_SHA", "DHE-PSK-NULL-SHA", K.DHE_PSK, NULL_CIPHER, M.SHA1),
    _suite(0x008E, "TLS_DHE_PSK_WITH_RC4_128_SHA", "DHE-PSK-RC4-SHA", K.DHE_PSK, RC4_128, M.SHA1),
    _suite(0x008F, "TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA", "DHE-PSK-3DES-EDE-CBC-SHA", K.DHE_PSK, DES3_EDE_CBC, M.SHA1),
    _suite(0x0090, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA", "DHE-PSK-AES128-CBC-SHA", K.DHE_PSK, AES_128_CBC, M.SHA1),
    _suite(0x0091, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA", "DHE-PSK-AES256-CBC-SHA", K.DHE_PSK, AES_256_CBC, M.SHA1),
    _suite(0x00AA, "TLS_DHE_PSK_WITH_AES_128_GCM_SHA256", "DHE-PSK-AES128-GCM-SHA256", K.DHE_PSK, AES_128_GCM, M.NULL),
    _suite(0x00AB, "TLS_DHE_PSK_WITH_AES_256_GCM_SHA384", "DHE-PSK-AES256-GCM-SHA384", K.DHE_PSK, AES_256_GCM, M.NULL),
    _suite(0x00B2, "TLS_DHE_PSK_WITH_AES_128_CBC_SHA256", "DHE-PSK-AES128-CBC-SHA256",
           K.DHE_PSK, AES_128_CBC, M.SHA256),
    _suite(0x00B3, "TLS_DHE_PSK_WITH_AES_256_CBC_SHA384", "DHE-PSK-AES256-CBC-SHA384",
           K.DHE_PSK, AES_256_CBC, M.SHA384),
    _suite(0x00B4, "TLS_DHE_PSK_WITH_NULL_SHA256", "DHE-PSK-NULL-SHA256", K.DHE_PSK, NULL_CIPHER, M.SHA256),
    _suite(0x00B5, "TLS_DHE_PSK_WITH_NULL_SHA384", "DHE-PSK-NULL-SHA384", K.DHE_PSK, NULL_CIPHER, M.SHA384),
    _suite(0xC0A6, "TLS_DHE_PSK_WITH_AES_128_CCM", "DHE-PSK-AES128-CCM", K.DHE_PSK, AES_128_CCM, M.NULL),
    _suite(0xC0A7, "TLS_DHE_PSK_WITH_AES_256_CCM", "DHE-PSK-AES256-CCM", K.DHE_PSK, AES_256_CCM, M.NULL),
    _suite(0xC0AA, "TLS_PSK_DHE_WITH_AES_128_CCM_8", "DHE-PSK-AES128-CCM8", K.DHE_PSK, AES_128_CCM_8, M.NULL),
    _suite(0xC0AB, "TLS_PSK_DHE_WITH_AES_256_CCM_8", "DHE-PSK-AES256-CCM8", K.DHE_PSK, AES_256_CCM_8, M.NULL),
    _suite(0xCCAD, "TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "DHE-PSK-CHACHA20-POLY1305",
           K.DHE_PSK, CHACHA20_POLY1305, M.NULL),
    # --- RSA_PSK ---
    _suite(0x002E, "TLS_RSA_PSK_WITH_NULL_SHA", "RSA-PSK-NULL-SHA", K.RSA_PSK, NULL_CIPHER, M.SHA1),
    _suite(0x0092, "TLS_RSA_PSK_WITH_RC4_128_SHA", "RSA-PSK-RC4-SHA", K.RSA_PSK, RC4_128, M.SHA1),
    _suite(0x0093, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA", "RSA-PSK-3DES-EDE-CBC-SHA", K.RSA_PSK, DES3_EDE_CBC, M.SHA1),
    _suite(0x0094, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA", "RSA-PSK-AES128-CBC-SHA", K.RSA_PSK, AES_128_CBC, M.SHA1),
    _suite(0x0095, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA", "RSA-PSK-AES256-CBC-SHA", K.RSA_PSK, AES_256_CBC, M.SHA1),
    _suite(0x00AC, "TLS_RSA_PSK_WITH_AES_128_GCM_SHA256", "RSA-PSK-AES128-GCM-SHA256", K.RSA_PSK, AES_128_GCM, M.NULL),
    _suite(0x00AD, "TLS_RSA_PSK_WITH_AES_256_GCM_SHA384", "RSA-PSK-AES256-GCM-SHA384", K.RSA_PSK, AES_256_GCM, M.NULL),
    _suite(0x00B6, "TLS_RSA_PSK_WITH_AES_128_CBC_SHA256", "RSA-PSK-AES128-CBC-SHA256",
           K.RSA_PSK, AES_128_CBC, M.SHA256),
    _suite(0x00B7, "TLS_RSA_PSK_WITH_AES_256_CBC_SHA384", "RSA-PSK-AES256-CBC-SHA384",
           K.RSA_PSK, AES_256_CBC, M.SHA384),
    _suite(0x00B8, "TLS_RSA_PSK_WITH_NULL_SHA256", "RSA-PSK-NULL-SHA256", K.RSA_PSK, NULL_CIPHER, M.SHA256),
    _suite(0x00B9, "TLS_RSA_PSK_WITH_NULL_SHA384", "RSA-PSK-NULL-SHA384", K.RSA_PSK, NULL_CIPHER, M.SHA384),
    _suite(0xCCAE, "TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256", "RSA-PSK-CHACHA20-POLY1305",
           K.RSA_PSK, CHACHA20_POLY1305, M.NULL),
    # --- ECDHE_PSK (RFC 5489, RFC 7905) ---
    _suite(0xC033, "TLS_ECDHE_PSK_WITH_RC4_128_SHA", "ECDHE-PSK-RC4-SHA", K.ECDHE_PSK, RC4_128, M.SHA1),
    _suite(0xC034, "TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA", "ECDHE-PSK-3DES-EDE-CBC-SHA",
           K.ECDHE_PSK, DES3_EDE_CBC, M.SHA1),
    _suite(0xC035, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA", "ECDHE-PSK-AES128-CBC-SHA", K.ECDHE_PSK, AES_128_CBC, M.SHA1),
    _suite(0xC036, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA", "ECDHE-PSK-AES256-CBC-SHA", K.ECDHE_PSK, AES_256_CBC, M.SHA1),
    _suite(0xC037, "TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256", "ECDHE-PSK-AES128-CBC-SHA256",
           K.ECDHE_PSK, AES_128_CBC, M.SHA256),
    _suite(0xC038, "TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384", "ECDHE-PSK-AES256-CBC-SHA384",
           K.ECDHE_PSK, AES_256_CBC, M.SHA384),
    _suite(0xC039, "TLS_ECDHE_PSK_WITH_NULL_SHA", "ECDHE-PSK-NULL-SHA", K.ECDHE_PSK, NULL_CIPHER, M.SHA1),
    _suite(0xC03A, "TLS_ECDHE_PSK_WITH_NULL_SHA256", "ECDHE-PSK-NULL-SHA256", K.ECDHE_PSK, NULL_CIPHER, M.SHA256),
    _suite(0xC03B, "TLS_ECDHE_PSK_WITH_NULL_SHA384", "ECDHE-PSK-NULL-SHA384", K.ECDHE_PSK, NULL_CIPHER, M.SHA384),
    _suite(0xCCAC, "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-PSK-CHACHA20-POLY1305",
           K.ECDHE_PSK, CHACHA20_POLY1305, M.NULL),
    # --- Camellia (RFC 5932, RFC 6367), SEED (RFC 4162), IDEA and DES (RFC 5469) with RSA, DHE_RSA, ECDHE ---
    _suite(0x0041, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA", "CAMELLIA128-SHA", K.RSA, CAMELLIA_128_CBC, M.SHA1),
    _suite(0x0084, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA", "CAMELLIA256-SHA", K.RSA, CAMELLIA_256_CBC, M.SHA1),
    _suite(0x00BA, "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256", "CAMELLIA128-SHA256", K.RSA, CAMELLIA_128_CBC, M.SHA256),
    _suite(0x00C0, "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256", "CAMELLIA256-SHA256", K.RSA, CAMELLIA_256_CBC, M.SHA256),
    _suite(0x0045, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA", "DHE-RSA-CAMELLIA128-SHA",
           K.DHE_RSA, CAMELLIA_128_CBC, M.SHA1),
    _suite(0x0088, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA", "DHE-RSA-CAMELLIA256-SHA",
           K.DHE_RSA, CAMELLIA_256_CBC, M.SHA1),
    _suite(0x00BE, "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", "DHE-RSA-CAMELLIA128-SHA256",
           K.DHE_RSA, CAMELLIA_128_CBC, M.SHA256),
    _suite(0x00C4, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256", "DHE-RSA-CAMELLIA256-SHA256",
           K.DHE_RSA, CAMELLIA_256_CBC, M.SHA256),
    _suite(0xC072, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", "ECDHE-ECDSA-CAMELLIA128-SHA256",
           K.ECDHE_ECDSA, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC073, "TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", "ECDHE-ECDSA-CAMELLIA256-SHA384",
           K.ECDHE_ECDSA, CAMELLIA_256_CBC, M.SHA384),
    _suite(0xC074, "TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256", "ECDH-ECDSA-CAMELLIA128-SHA256",
           K.ECDH_ECDSA, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC075, "TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384", "ECDH-ECDSA-CAMELLIA256-SHA384",
           K.ECDH_ECDSA, CAMELLIA_256_CBC, M.SHA384),
    _suite(0xC076, "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256", "ECDHE-RSA-CAMELLIA128-SHA256",
           K.ECDHE_RSA, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC077, "TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384", "ECDHE-RSA-CAMELLIA256-SHA384",
           K.ECDHE_RSA, CAMELLIA_256_CBC, M.SHA384),
    _suite(0xC078, "TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256", "ECDH-RSA-CAMELLIA128-SHA256",
           K.ECDH_RSA, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC079, "TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384", "ECDH-RSA-CAMELLIA256-SHA384",
           K.ECDH_RSA, CAMELLIA_256_CBC, M.SHA384),
    _suite(0xC094, "TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256", "PSK-CAMELLIA128-SHA256", K.PSK, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC095, "TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384", "PSK-CAMELLIA256-SHA384", K.PSK, CAMELLIA_256_CBC, M.SHA384),
    _suite(0xC096, "TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", "DHE-PSK-CAMELLIA128-SHA256",
           K.DHE_PSK, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC097, "TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", "DHE-PSK-CAMELLIA256-SHA384",
           K.DHE_PSK, CAMELLIA_256_CBC, M.SHA384),
    _suite(0xC098, "TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256", "RSA-PSK-CAMELLIA128-SHA256",
           K.RSA_PSK, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC099, "TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384", "RSA-PSK-CAMELLIA256-SHA384",
           K.RSA_PSK, CAMELLIA_256_CBC, M.SHA384),
    _suite(0xC09A, "TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256", "ECDHE-PSK-CAMELLIA128-SHA256",
           K.ECDHE_PSK, CAMELLIA_128_CBC, M.SHA256),
    _suite(0xC09B, "TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384", "ECDHE-PSK-CAMELLIA256-SHA384",
           K.ECDHE_PSK, CAMELLIA_256_CBC, M.SHA384),
    _suite(0x0096, "TLS_RSA_WITH_SEED_CBC_SHA", "SEED-SHA", K.RSA, SEED_CBC, M.SHA1),
    _suite(0x009A, "TLS_DHE_RSA_WITH_SEED_CBC_SHA", "DHE-RSA-SEED-SHA", K.DHE_RSA, SEED_CBC, M.SHA1),
    _suite(0x0007, "TLS_RSA_WITH_IDEA_CBC_SHA", "IDEA-CBC-SHA", K.RSA, IDEA_CBC, M.SHA1),
    _suite(0x0009, "TLS_RSA_WITH_DES_CBC_SHA", "DES-CBC-SHA", K.RSA, DES_CBC, M.SHA1),
    _suite(0x0015, "TLS_DHE_RSA_WITH_DES_CBC_SHA", "EDH-RSA-DES-CBC-SHA", K.DHE_RSA, DES_CBC, M.SHA1),
    # --- DHE_DSS (RFC 5246 Appendix A.5, RFC 5288, RFC 5932, RFC 4162) ---
    _suite(0x0012, "TLS_DHE_DSS_WITH_DES_CBC_SHA", "EDH-DSS-DES-CBC-SHA", K.DHE_DSS, DES_CBC, M.SHA1),
    _suite(0x0013, "TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA", "EDH-DSS-DES-CBC3-SHA", K.DHE_DSS, DES3_EDE_CBC, M.SHA1),
    _suite(0x0032, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA", "DHE-DSS-AES128-SHA", K.DHE_DSS, AES_128_CBC, M.SHA1),
    _suite(0x0038, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA", "DHE-DSS-AES256-SHA", K.DHE_DSS, AES_256_CBC, M.SHA1),
    _suite(0x0040, "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256", "DHE-DSS-AES128-SHA256", K.DHE_DSS, AES_128_CBC, M.SHA256),
    _suite(0x006A, "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256", "DHE-DSS-AES256-SHA256", K.DHE_DSS, AES_256_CBC, M.SHA256),
    _suite(0x00A2, "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256", "DHE-DSS-AES128-GCM-SHA256", K.DHE_DSS, AES_128_GCM, M.NULL),
    _suite(0x00A3, "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384", "DHE-DSS-AES256-GCM-SHA384", K.DHE_DSS, AES_256_GCM, M.NULL),
    _suite(0x0044, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA", "DHE-DSS-CAMELLIA128-SHA",
           K.DHE_DSS, CAMELLIA_128_CBC, M.SHA1),
    _suite(0x0087, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA", "DHE-DSS-CAMELLIA256-SHA",
           K.DHE_DSS, CAMELLIA_256_CBC, M.SHA1),
    _suite(0x00BD, "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256", "DHE-DSS-CAMELLIA128-SHA256",
           K.DHE_DSS, CAMELLIA_128_CBC, M.SHA256),
    _suite(0x00C3, "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256", "DHE-DSS-CAMELLIA256-SHA256",
           K.DHE_DSS, CAMELLIA_256_CBC, M.SHA256),
    _suite(0x0099, "TLS_DHE_DSS_WITH_SEED_CBC_SHA", "DHE-DSS-SEED-SHA", K.DHE_DSS, SEED_CBC, M.SHA1),
    # draft-ietf-tls-56-bit-ciphersuites-01 codepoint, never in an RFC; GnuTLS and Wireshark still know it
    _suite(0x0066, "TLS_DHE_DSS_WITH_RC4_128_SHA", "DHE-DSS-RC4-SHA", K.DHE_DSS, RC4_128, M.SHA1),
    # --- static DH, the server certificate holds the DH key (RFC 5246 Appendix A.5) ---
    _suite(0x000C, "TLS_DH_DSS_WITH_DES_CBC_SHA", "DH-DSS-DES-CBC-SHA", K.DH_DSS, DES_CBC, M.SHA1),
    _suite(0x000D, "TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA", "DH-DSS-DES-CBC3-SHA", K.DH_DSS, DES3_EDE_CBC, M.SHA1),
    _suite(0x000F, "TLS_DH_RSA_WITH_DES_CBC_SHA", "DH-RSA-DES-CBC-SHA", K.DH_RSA, DES_CBC, M.SHA1),
    _suite(0x0010, "TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA", "DH-RSA-DES-CBC3-SHA", K.DH_RSA, DES3_EDE_CBC, M.SHA1),
    _suite(0x0030, "TLS_DH_DSS_WITH_AES_128_CBC_SHA", "DH-DSS-AES128-SHA", K.DH_DSS, AES_128_CBC, M.SHA1),
    _suite(0x0031, "TLS_DH_RSA_WITH_AES_128_CBC_SHA", "DH-RSA-AES128-SHA", K.DH_RSA, AES_128_CBC, M.SHA1),
    _suite(0x0036, "TLS_DH_DSS_WITH_AES_256_CBC_SHA", "DH-DSS-AES256-SHA", K.DH_DSS, AES_256_CBC, M.SHA1),
    _suite(0x0037, "TLS_DH_RSA_WITH_AES_256_CBC_SHA", "DH-RSA-AES256-SHA", K.DH_RSA, AES_256_CBC, M.SHA1),
    _suite(0x003E, "TLS_DH_DSS_WITH_AES_128_CBC_SHA256", "DH-DSS-AES128-SHA256", K.DH_DSS, AES_128_CBC, M.SHA256),
    _suite(0x003F, "TLS_DH_RSA_WITH_AES_128_CBC_SHA256", "DH-RSA-AES128-SHA256", K.DH_RSA, AES_128_CBC, M.SHA256),
    _suite(0x0068, "TLS_DH_DSS_WITH_AES_256_CBC_SHA256", "DH-DSS-AES256-SHA256", K.DH_DSS, AES_256_CBC, M.SHA256),
    _suite(0x0069, "TLS_DH_RSA_WITH_AES_256_CBC_SHA256", "DH-RSA-AES256-SHA256", K.DH_RSA, AES_256_CBC, M.SHA256),
    _suite(0x00A0, "TLS_DH_RSA_WITH_AES_128_GCM_SHA256", "DH-RSA-AES128-GCM-SHA256", K.DH_RSA, AES_128_GCM, M.NULL),
    _suite(0x00A1, "TLS_DH_RSA_WITH_AES_256_GCM_SHA384", "DH-RSA-AES256-GCM-SHA384", K.DH_RSA, AES_256_GCM, M.NULL),
    _suite(0x00A4, "TLS_DH_DSS_WITH_AES_128_GCM_SHA256", "DH-DSS-AES128-GCM-SHA256", K.DH_DSS, AES_128_GCM, M.NULL),
    _suite(0x00A5, "TLS_DH_DSS_WITH_AES_256_GCM_SHA384", "DH-DSS-AES256-GCM-SHA384", K.DH_DSS, AES_256_GCM, M.NULL),
    _suite(0x0042, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA", "DH-DSS-CAMELLIA128-SHA", K.DH_DSS, CAMELLIA_128_CBC, M.SHA1),
    _suite(0x0043, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA", "DH-RSA-CAMELLIA128-SHA", K.DH_RSA, CAMELLIA_128_CBC, M.SHA1),
    _suite(0x0085, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA", "DH-DSS-CAMELLIA256-SHA", K.DH_DSS, CAMELLIA_256_CBC, M.SHA1),
    _suite(0x0086, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA", "DH-RSA-CAMELLIA256-SHA", K.DH_RSA, CAMELLIA_256_CBC, M.SHA1),
    _suite(0x00BB, "TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256", "DH-DSS-CAMELLIA128-SHA256",
           K.DH_DSS, CAMELLIA_128_CBC, M.SHA256),
    _suite(0x00BC, "TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256", "DH-RSA-CAMELLIA128-SHA256",
           K.DH_RSA, CAMELLIA_128_CBC, M.SHA256),
    _suite(0x00C1, "TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256", "DH-DSS-CAMELLIA256-SHA256",
           K.DH_DSS, CAMELLIA_256_CBC, M.SHA256),
    _suite(0x00C2, "TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256", "DH-RSA-CAMELLIA256-SHA256",
           K.DH_RSA, CAMELLIA_256_CBC, M.SHA256),
    _suite(0x0097, "TLS_DH_DSS_WITH_SEED_CBC_SHA", "DH-DSS-SEED-SHA", K.DH_DSS, SEED_CBC, M.SHA1),
    _suite(0x0098, "TLS_DH_RSA_WITH_SEED_CBC_SHA", "DH-RSA-SEED-SHA", K.DH_RSA, SEED_CBC, M.SHA1),
    # --- DH_anon: unauthenticated DH (RFC 5246 Appendix A.5) ---
    _suite(0x0018, "TLS_DH_anon_WITH_RC4_128_MD5", "ADH-RC4-MD5", K.DH_ANON, RC4_128, M.MD5),
    _suite(0x001A, "TLS_DH_anon_WITH_DES_CBC_SHA", "ADH-DES-CBC-SHA", K.DH_ANON, DES_CBC, M.SHA1),
    _suite(0x001B, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", "ADH-DES-CBC3-SHA", K.DH_ANON, DES3_EDE_CBC, M.SHA1),
    _suite(0x0034, "TLS_DH_anon_WITH_AES_128_CBC_SHA", "ADH-AES128-SHA", K.DH_ANON, AES_128_CBC, M.SHA1),
    _suite(0x003A, "TLS_DH_anon_WITH_AES_256_CBC_SHA", "ADH-AES256-SHA", K.DH_ANON, AES_256_CBC, M.SHA1),
    _suite(0x006C, "TLS_DH_anon_WITH_AES_128_CBC_SHA256", "ADH-AES128-SHA256", K.DH_ANON, AES_128_CBC, M.SHA256),
    _suite(0x006D, "TLS_DH_anon_WITH_AES_256_CBC_SHA256", "ADH-AES256-SHA256", K.DH_ANON, AES_256_CBC, M.SHA256),
    _suite(0x00A6, "TLS_DH_anon_WITH_AES_128_GCM_SHA256", "ADH-AES128-GCM-SHA256", K.DH_ANON, AES_128_GCM, M.NULL),
    _suite(0x00A7, "TLS_DH_anon_WITH_AES_256_GCM_SHA384", "ADH-AES256-GCM-SHA384", K.DH_ANON, AES_256_GCM, M.NULL),
    _suite(0x0046, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", "ADH-CAMELLIA128-SHA", K.DH_ANON, CAMELLIA_128_CBC, M.SHA1),
    _suite(0x0089, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", "ADH-CAMELLIA256-SHA", K.DH_ANON, CAMELLIA_256_CBC, M.SHA1),
    _suite(0x00BF, "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256", "ADH-CAMELLIA128-SHA256",
           K.DH_ANON, CAMELLIA_128_CBC, M.SHA256),
    _suite(0x00C5, "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256", "ADH-CAMELLIA256-SHA256",
           K.DH_ANON, CAMELLIA_256_CBC, M.SHA256),
    _suite(0x009B, "TLS_DH_anon_WITH_SEED_CBC_SHA", "ADH-SEED-SHA", K.DH_ANON, SEED_CBC, M.SHA1),
    # --- static ECDH and ECDH_anon (RFC 4492 §6, RFC 5289) ---
    _suite(0xC001, "TLS_ECDH_ECDSA_WITH_NULL_SHA", "ECDH-ECDSA-NULL-SHA", K.ECDH_ECDSA, NULL_CIPHER, M.SHA1),
    _suite(0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", "ECDH-ECDSA-RC4-SHA", K.ECDH_ECDSA, RC4_128, M.SHA1),
    _suite(0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDH-ECDSA-DES-CBC3-SHA",
           K.ECDH_ECDSA, DES3_EDE_CBC, M.SHA1),
    _suite(0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", "ECDH-ECDSA-AES128-SHA", K.ECDH_ECDSA, AES_128_CBC, M.SHA1),
    _suite(0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", "ECDH-ECDSA-AES256-SHA", K.ECDH_ECDSA, AES_256_CBC, M.SHA1),
    _suite(0xC00B, "TLS_ECDH_RSA_WITH_NULL_SHA", "ECDH-RSA-NULL-SHA", K.ECDH_RSA, NULL_CIPHER, M.SHA1),
    _suite(0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA", "ECDH-RSA-RC4-SHA", K.ECDH_RSA, RC4_128, M.SHA1),
    _suite(0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", "ECDH-RSA-DES-CBC3-SHA", K.ECDH_RSA, DES3_EDE_CBC, M.SHA1),
    _suite(0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", "ECDH-RSA-AES128-SHA", K.ECDH_RSA, AES_128_CBC, M.SHA1),
    _suite(0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", "ECDH-RSA-AES256-SHA", K.ECDH_RSA, AES_256_CBC, M.SHA1),
    _suite(0xC015, "TLS_ECDH_anon_WITH_NULL_SHA", "AECDH-NULL-SHA", K.ECDH_ANON, NULL_CIPHER, M.SHA1),
    _suite(0xC016, "TLS_ECDH_anon_WITH_RC4_128_SHA", "AECDH-RC4-SHA", K.ECDH_ANON, RC4_128, M.SHA1),
    _suite(0xC017, "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", "AECDH-DES-CBC3-SHA", K.ECDH_ANON, DES3_EDE_CBC, M.SHA1),
    _suite(0xC018, "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", "AECDH-AES128-SHA", K.ECDH_ANON, AES_128_CBC, M.SHA1),
    _suite(0xC019, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", "AECDH-AES256-SHA", K.ECDH_ANON, AES_256_CBC, M.SHA1),
    _suite(0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", "ECDH-ECDSA-AES128-SHA256",
           K.ECDH_ECDSA, AES_128_CBC, M.SHA256),
    _suite(0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", "ECDH-ECDSA-AES256-SHA384",
           K.ECDH_ECDSA, AES_256_CBC, M.SHA384),
    _suite(0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", "ECDH-RSA-AES128-SHA256", K.ECDH_RSA, AES_128_CBC, M.SHA256),
    _suite(0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", "ECDH-RSA-AES256-SHA384", K.ECDH_RSA, AES_256_CBC, M.SHA384),
    _suite(0xC02D, "TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", "ECDH-ECDSA-AES128-GCM-SHA256",
           K.ECDH_ECDSA, AES_128_GCM, M.NULL),
    _suite(0xC02E, "TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384", "ECDH-ECDSA-AES256-GCM-SHA384",
           K.ECDH_ECDSA, AES_256_GCM, M.NULL),
    _suite(0xC031, "TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256", "ECDH-RSA-AES128-GCM-SHA256",
           K.ECDH_RSA, AES_128_GCM, M.NULL),
    _suite(0xC032, "TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384", "ECDH-RSA-AES256-GCM-SHA384",
           K.ECDH_RSA, AES_256_GCM, M.NULL),
    # --- SRP (RFC 5054 §2.7) ---
    _suite(0xC01A, "TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA", "SRP-3DES-EDE-CBC-SHA", K.SRP_SHA, DES3_EDE_CBC, M.SHA1),
    _suite(0xC01B, "TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA", "SRP-RSA-3DES-EDE-CBC-SHA",
           K.SRP_SHA_RSA, DES3_EDE_CBC, M.SHA1),
    _suite(0xC01C, "TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA", "SRP-DSS-3DES-EDE-CBC-SHA",
           K.SRP_SHA_DSS, DES3_EDE_CBC, M.SHA1),
    _suite(0xC01D, "TLS_SRP_SHA_WITH_AES_128_CBC_SHA", "SRP-AES-128-CBC-SHA", K.SRP_SHA, AES_128_CBC, M.SHA1),
    _suite(0xC01E, "TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA", "SRP-RSA-AES-128-CBC-SHA", K.SRP_SHA_RSA, AES_128_CBC, M.SHA1),
    _suite(0xC01F, "TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA", "SRP-DSS-AES-128-CBC-SHA", K.SRP_SHA_DSS, AES_128_CBC, M.SHA1),
    _suite(0xC020, "TLS_SRP_SHA_WITH_AES_256_CBC_SHA", "SRP-AES-256-CBC-SHA", K.SRP_SHA, AES_256_CBC, M.SHA1),
    _suite(0xC021, "TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA", "SRP-RSA-AES-256-CBC-SHA", K.SRP_SHA_RSA, AES_256_CBC, M.SHA1),
    _suite(0xC022, "TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA", "SRP-DSS-AES-256-CBC-SHA", K.SRP_SHA_DSS, AES_256_CBC, M.SHA1),
    # --- the 40-bit export suites (RFC 2246 §D.1, RFC 6101 Appendix C): SSL 3.0 and TLS 1.0 only ---
    _suite(0x0003, "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXP-RC4-MD5", K.RSA_EXPORT, RC4_40, M.MD5),
    _suite(0x0006, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5", "EXP-RC2-CBC-MD5", K.RSA_EXPORT, RC2_CBC_40, M.MD5),
    _suite(0x0008, "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-DES-CBC-SHA", K.RSA_EXPORT, DES40_CBC, M.SHA1),
    _suite(0x000B, "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA", "EXP-DH-DSS-DES-CBC-SHA", K.DH_DSS, DES40_CBC, M.SHA1),
    _suite(0x000E, "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-DH-RSA-DES-CBC-SHA", K.DH_RSA, DES40_CBC, M.SHA1),
    _suite(0x0011, "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA", "EXP-EDH-DSS-DES-CBC-SHA",
           K.DHE_DSS_EXPORT, DES40_CBC, M.SHA1),
    _suite(0x0014, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA", "EXP-EDH-RSA-DES-CBC-SHA",
           K.DHE_RSA_EXPORT, DES40_CBC, M.SHA1),
    _suite(0x0017, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", "EXP-ADH-RC4-MD5", K.DH_ANON_EXPORT, RC4_40, M.MD5),
    _suite(0x0019, "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", "EXP-ADH-DES-CBC-SHA", K.DH_ANON_EXPORT, DES40_CBC, M.SHA1),
    # --- TLS 1.3 (RFC 8446 §B.4) ---
    _suite(0x1301, "TLS_AES_128_GCM_SHA256", "TLS_AES_128_GCM_SHA256", K.TLS13, TLS13_AES_128_GCM, M.NULL),
    _suite(0x1302, "TLS_AES_256_GCM_SHA384", "TLS_AES_256_GCM_SHA384", K.TLS13, TLS13_AES_256_GCM, M.NULL),
    _suite(0x1303, "TLS_CHACHA20_POLY1305_SHA256", "TLS_CHACHA20_POLY1305_SHA256",
           K.TLS13, CHACHA20_POLY1305, M.NULL),
    _suite(0x1304, "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_SHA256", K.TLS13, TLS13_AES_128_CCM, M.NULL),
    _suite(0x1305, "TLS_AES_128_CCM_8_SHA256", "TLS_AES_128_CCM_8_SHA256", K.TLS13, TLS13_AES_128_CCM_8, M.NULL),
)
# fmt: on

_BY_ID = {s.id: s for s in CIPHER_SUITES}
_BY_NAME = {s.name.upper(): s for s in CIPHER_SUITES}
_BY_NAME.update({s.openssl_name.upper(): s for s in CIPHER_SUITES})


def by_id(suite_id: int) -> CipherSuite | None:
    """The suite with this 16-bit id, or None if unknown."""
    return _BY_ID.get(suite_id)


def by_name(name: str) -> CipherSuite | None:
    """The suite with this IANA or OpenSSL name (case-insensitive), or None."""
    return _BY_NAME.get(name.strip().upper())


def lookup(text: str) -> CipherSuite:
    """Resolve a user-given suite: IANA name, OpenSSL name, or hex id (``0x002f``, ``002F``).

    Raises ConfigurationError with a one-line message if unknown.
    """
    suite = by_name(text)
    if suite is not None:
        return suite
    t = text.strip().lower()
    if t.startswith("0x"):
        t = t[2:]
    if t and len(t) <= 4 and all(c in "0123456789abcdef" for c in t):
        suite = by_id(int(t, 16))
        if suite is not None:
            return suite
    raise ConfigurationError(f"unknown cipher suite {text!r} (use an IANA name, OpenSSL name or hex id)")


def suite_name(suite_id: int) -> str:
    """IANA name for known ids, ``0x....`` otherwise."""
    suite = by_id(suite_id)
    return suite.name if suite else f"0x{suite_id:04x}"
