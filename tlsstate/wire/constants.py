"""Protocol registry values: content types, handshake types, alerts, versions, extensions.

Numbers are from the IANA TLS registries; each enum names the RFC section that defines it.
"""

from __future__ import annotations

from enum import Enum, IntEnum


class ContentType(IntEnum):
    """TLSPlaintext.type (RFC 5246 §6.2.1; heartbeat RFC 6520)."""

    CHANGE_CIPHER_SPEC = 20
    ALERT = 21
    HANDSHAKE = 22
    APPLICATION_DATA = 23
    HEARTBEAT = 24


class HandshakeType(IntEnum):
    """Handshake.msg_type (RFC 5246 §7.4, RFC 5077 §3.3, RFC 8446 §4)."""

    HELLO_REQUEST = 0
    CLIENT_HELLO = 1
    SERVER_HELLO = 2
    HELLO_VERIFY_REQUEST = 3
    NEW_SESSION_TICKET = 4
    END_OF_EARLY_DATA = 5
    ENCRYPTED_EXTENSIONS = 8
    CERTIFICATE = 11
    SERVER_KEY_EXCHANGE = 12
    CERTIFICATE_REQUEST = 13
    SERVER_HELLO_DONE = 14
    CERTIFICATE_VERIFY = 15
    CLIENT_KEY_EXCHANGE = 16
    FINISHED = 20
    CERTIFICATE_URL = 21
    CERTIFICATE_STATUS = 22
    KEY_UPDATE = 24
    MESSAGE_HASH = 254


class AlertLevel(IntEnum):
    """Alert.level (RFC 5246 §7.2)."""

    WARNING = 1
    FATAL = 2


class AlertDescription(IntEnum):
    """Alert.description (RFC 5246 §7.2, RFC 6066, RFC 7301, RFC 7507, RFC 8446 §6)."""

    CLOSE_NOTIFY = 0
    UNEXPECTED_MESSAGE = 10
    BAD_RECORD_MAC = 20
    DECRYPTION_FAILED = 21
    RECORD_OVERFLOW = 22
    DECOMPRESSION_FAILURE = 30
    HANDSHAKE_FAILURE = 40
    NO_CERTIFICATE = 41
    BAD_CERTIFICATE = 42
    UNSUPPORTED_CERTIFICATE = 43
    CERTIFICATE_REVOKED = 44
    CERTIFICATE_EXPIRED = 45
    CERTIFICATE_UNKNOWN = 46
    ILLEGAL_PARAMETER = 47
    UNKNOWN_CA = 48
    ACCESS_DENIED = 49
    DECODE_ERROR = 50
    DECRYPT_ERROR = 51
    EXPORT_RESTRICTION = 60
    PROTOCOL_VERSION = 70
    INSUFFICIENT_SECURITY = 71
    INTERNAL_ERROR = 80
    INAPPROPRIATE_FALLBACK = 86
    USER_CANCELED = 90
    NO_RENEGOTIATION = 100
    MISSING_EXTENSION = 109
    UNSUPPORTED_EXTENSION = 110
    UNRECOGNIZED_NAME = 112
    BAD_CERTIFICATE_STATUS_RESPONSE = 113
    UNKNOWN_PSK_IDENTITY = 115
    CERTIFICATE_REQUIRED = 116
    NO_APPLICATION_PROTOCOL = 120

    @property
    def label(self) -> str:
        """The RFC spelling, e.g. ``bad_record_mac``."""
        return self.name.lower()


class ProtocolVersion(IntEnum):
    """ProtocolVersion on the wire (RFC 6101 §5.2.1, RFC 5246 §6.2.1, RFC 8446 §4.2.1)."""

    SSL3 = 0x0300
    TLS1_0 = 0x0301
    TLS1_1 = 0x0302
    TLS1_2 = 0x0303
    TLS1_3 = 0x0304

    @property
    def label(self) -> str:
        """Human name: ``SSL 3.0``, ``TLS 1.2``..."""
        return _VERSION_LABELS[self]

    @property
    def cli_name(self) -> str:
        """Command-line spelling: ``ssl3``, ``tls1.0``..."""
        return _VERSION_CLI[self]


#: ProtocolVersion members by wire value: a dict lookup costs far less than an enum call (handshake hot paths).
PROTOCOL_VERSIONS: dict[int, ProtocolVersion] = {int(v): v for v in ProtocolVersion}

_VERSION_LABELS = {
    ProtocolVersion.SSL3: "SSL 3.0",
    ProtocolVersion.TLS1_0: "TLS 1.0",
    ProtocolVersion.TLS1_1: "TLS 1.1",
    ProtocolVersion.TLS1_2: "TLS 1.2",
    ProtocolVersion.TLS1_3: "TLS 1.3",
}
_VERSION_CLI = {
    ProtocolVersion.SSL3: "ssl3",
    ProtocolVersion.TLS1_0: "tls1.0",
    ProtocolVersion.TLS1_1: "tls1.1",
    ProtocolVersion.TLS1_2: "tls1.2",
    ProtocolVersion.TLS1_3: "tls1.3",
}


def parse_version(text: str) -> ProtocolVersion:
    """Parse ``ssl3``, ``tls1.0`` .. ``tls1.3``, ``TLSv1.2``, ``1.2`` or a wire value like ``0x0303``.

    Raises ValueError with a one-line message for anything else.
    """
    t = text.strip().lower().replace("v", "").replace(" ", "").replace("_", ".")
    if t.startswith("0x"):
        try:
            value = int(t, 16)
            return ProtocolVersion(value)
        except ValueError:
            raise ValueError(f"unknown protocol version {text!r}") from None
    aliases = {
        "ssl3": ProtocolVersion.SSL3, "ssl3.0": ProtocolVersion.SSL3, "3.0": ProtocolVersion.SSL3,
        "tls1": ProtocolVersion.TLS1_0, "tls1.0": ProtocolVersion.TLS1_0, "1.0": ProtocolVersion.TLS1_0,
        "tls1.1": ProtocolVersion.TLS1_1, "1.1": ProtocolVersion.TLS1_1,
        "tls1.2": ProtocolVersion.TLS1_2, "1.2": ProtocolVersion.TLS1_2,
        "tls1.3": ProtocolVersion.TLS1_3, "1.3": ProtocolVersion.TLS1_3,
    }
    try:
        return aliases[t]
    except KeyError:
        raise ValueError(
            f"unknown protocol version {text!r} (use ssl3, tls1.0, tls1.1, tls1.2, tls1.3 or 0x0303)"
        ) from None


class ExtensionType(IntEnum):
    """Extension.extension_type (IANA "TLS ExtensionType Values")."""

    SERVER_NAME = 0
    MAX_FRAGMENT_LENGTH = 1
    STATUS_REQUEST = 5
    SUPPORTED_GROUPS = 10
    EC_POINT_FORMATS = 11
    SIGNATURE_ALGORITHMS = 13
    HEARTBEAT = 15
    APPLICATION_LAYER_PROTOCOL_NEGOTIATION = 16
    SIGNED_CERTIFICATE_TIMESTAMP = 18
    PADDING = 21
    ENCRYPT_THEN_MAC = 22
    EXTENDED_MASTER_SECRET = 23
    RECORD_SIZE_LIMIT = 28
    SESSION_TICKET = 35
    PRE_SHARED_KEY = 41
    EARLY_DATA = 42
    SUPPORTED_VERSIONS = 43
    COOKIE = 44
    PSK_KEY_EXCHANGE_MODES = 45
    CERTIFICATE_AUTHORITIES = 47
    POST_HANDSHAKE_AUTH = 49
    SIGNATURE_ALGORITHMS_CERT = 50
    KEY_SHARE = 51
    RENEGOTIATION_INFO = 0xFF01


class NamedGroup(IntEnum):
    """Supported groups (RFC 8422 §5.1.1, RFC 7919 §2, RFC 9846 §4.2.7, RFC 10024 hybrids)."""

    SECP256R1 = 23
    SECP384R1 = 24
    SECP521R1 = 25
    X25519 = 29
    X448 = 30
    FFDHE2048 = 256
    FFDHE3072 = 257
    FFDHE4096 = 258
    FFDHE6144 = 259
    FFDHE8192 = 260
    SECP256R1MLKEM768 = 0x11EB  # RFC 10024: ECDH first, then ML-KEM-768
    X25519MLKEM768 = 0x11EC  # RFC 10024: ML-KEM-768 first, then X25519


#: IANA TLS Supported Groups registry names (RFC 8422 §5.1.1, RFC 7919 §2, RFC 8446 §4.2.7, RFC 8734, RFC 9370;
#: draft-ietf-tls-ecdhe-mlkem for the ML-KEM hybrids; the pre-standard Kyber codepoints as Chromium named them).
#: Every group a capture may show, not only those tlsstate runs (:class:`NamedGroup`).
GROUP_NAMES: dict[int, str] = {
    **{i + 1: name for i, name in enumerate((
        "sect163k1", "sect163r1", "sect163r2", "sect193r1", "sect193r2", "sect233k1", "sect233r1", "sect239k1",
        "sect283k1", "sect283r1", "sect409k1", "sect409r1", "sect571k1", "sect571r1", "secp160k1", "secp160r1",
        "secp160r2", "secp192k1", "secp192r1", "secp224k1", "secp224r1", "secp256k1", "secp256r1", "secp384r1",
        "secp521r1", "brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "x25519", "x448",
        "brainpoolP256r1tls13", "brainpoolP384r1tls13", "brainpoolP512r1tls13",
    ))},
    256: "ffdhe2048", 257: "ffdhe3072", 258: "ffdhe4096", 259: "ffdhe6144", 260: "ffdhe8192",
    0x0200: "MLKEM512", 0x0201: "MLKEM768", 0x0202: "MLKEM1024",
    0x11EB: "SecP256r1MLKEM768", 0x11EC: "X25519MLKEM768", 0x11ED: "SecP384r1MLKEM1024",
    0x6399: "X25519Kyber768Draft00", 0x639A: "SecP256r1Kyber768Draft00",
    0xFF01: "arbitrary_explicit_prime_curves", 0xFF02: "arbitrary_explicit_char2_curves",
}


class SignatureScheme(IntEnum):
    """SignatureAndHashAlgorithm as one 16-bit code (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3)."""

    RSA_PKCS1_MD5 = 0x0101
    RSA_PKCS1_SHA1 = 0x0201
    ECDSA_SHA1 = 0x0203
    RSA_PKCS1_SHA224 = 0x0301
    ECDSA_SHA224 = 0x0303
    RSA_PKCS1_SHA256 = 0x0401
    ECDSA_SECP256R1_SHA256 = 0x0403
    RSA_PKCS1_SHA384 = 0x0501
    ECDSA_SECP384R1_SHA384 = 0x0503
    RSA_PKCS1_SHA512 = 0x0601
    ECDSA_SECP521R1_SHA512 = 0x0603
    RSA_PSS_RSAE_SHA256 = 0x0804
    RSA_PSS_RSAE_SHA384 = 0x0805
    RSA_PSS_RSAE_SHA512 = 0x0806
    ED25519 = 0x0807
    ED448 = 0x0808
    RSA_PSS_PSS_SHA256 = 0x0809
    RSA_PSS_PSS_SHA384 = 0x080A
    RSA_PSS_PSS_SHA512 = 0x080B


class CompressionMethod(IntEnum):
    """CompressionMethod (RFC 5246 §7.4.1.2); tlsstate only ever uses NULL."""

    NULL = 0
    DEFLATE = 1


# Signalling cipher suite values: not suites, but meaningful in a ClientHello's list.
TLS_EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF  # RFC 5746 §3.3
TLS_FALLBACK_SCSV = 0x5600  # RFC 7507 §2

# Record size limits (RFC 5246 §6.2.1-§6.2.3, RFC 8446 §5.1/§5.2).
MAX_PLAINTEXT_LENGTH = 2**14
MAX_COMPRESSED_LENGTH = 2**14 + 1024
MAX_CIPHERTEXT_LENGTH = 2**14 + 2048
MAX_TLS13_CIPHERTEXT_LENGTH = 2**14 + 256
RECORD_HEADER_LENGTH = 5
#: Not a TLS content type: what stands for an SSLv2-format ClientHello (RFC 5246 Appendix E.2, whose 2-byte header
#: is a length with the top bit set; 0x80 is that bit) where records are listed by type (deframer, capture report).
SSLV2_CLIENT_HELLO = 0x80
MAX_SEQUENCE_NUMBER = 2**64 - 1


class KeyExchange(Enum):
    """How the premaster secret is agreed (RFC 5246 §7.4.3, RFC 4279, RFC 8422; RFC 4492 static ECDH and
    ECDH_anon; RFC 2246 §D.1 / RFC 4346 §A.5 the export suites, which TLS 1.1 forbids)."""

    RSA = "RSA"
    DHE_RSA = "DHE_RSA"
    ECDHE_RSA = "ECDHE_RSA"
    ECDHE_ECDSA = "ECDHE_ECDSA"
    PSK = "PSK"
    DHE_PSK = "DHE_PSK"
    RSA_PSK = "RSA_PSK"
    ECDHE_PSK = "ECDHE_PSK"
    TLS13 = "TLS13"  # TLS 1.3 suites do not fix the key exchange (RFC 8446 §4.1.1)
    # Read in captures and derived by ``tlsstate keys``; the handshake does not run these (config.py).
    DHE_DSS = "DHE_DSS"
    DH_DSS = "DH_DSS"  # static DH: the server certificate holds the DH key (RFC 5246 §7.4.3)
    DH_RSA = "DH_RSA"
    DH_ANON = "DH_anon"  # unauthenticated DH: a ServerKeyExchange without a signature
    ECDH_ECDSA = "ECDH_ECDSA"  # static ECDH (RFC 4492 §2.1-§2.2): no ServerKeyExchange
    ECDH_RSA = "ECDH_RSA"
    ECDH_ANON = "ECDH_anon"  # RFC 4492 §2.5: unsigned ECDHE
    RSA_EXPORT = "RSA_EXPORT"  # RFC 2246 §D.1: RSA with 40-bit keys (a temporary 512-bit RSA key if needed)
    DHE_DSS_EXPORT = "DHE_DSS_EXPORT"
    DHE_RSA_EXPORT = "DHE_RSA_EXPORT"
    DH_ANON_EXPORT = "DH_anon_EXPORT"
    SRP_SHA = "SRP_SHA"  # RFC 5054 §2.7: SRP, the ServerKeyExchange unsigned
    SRP_SHA_RSA = "SRP_SHA_RSA"
    SRP_SHA_DSS = "SRP_SHA_DSS"

    @property
    def uses_psk(self) -> bool:
        """True for the RFC 4279 family."""
        return self in (KeyExchange.PSK, KeyExchange.DHE_PSK, KeyExchange.RSA_PSK, KeyExchange.ECDHE_PSK)

    @property
    def is_ephemeral(self) -> bool:
        """True when the server sends ephemeral (EC)DH parameters."""
        return self.server_params in ("dh", "ecdh")

    @property
    def server_params(self) -> str | None:
        """What a ServerKeyExchange carries: ``"dh"`` (ServerDHParams, RFC 5246 §7.4.3), ``"ecdh"``
        (ServerECDHParams, RFC 8422 §5.4) or None (no ephemeral (EC)DH; RSA_EXPORT's temporary RSA key too)."""
        return _SERVER_PARAMS.get(self)

    @property
    def client_public(self) -> str | None:
        """What a ClientKeyExchange's public value is: ``"dh"`` (dh_Yc, vec16), ``"ecdh"`` (ECPoint, vec8),
        ``"rsa"`` (EncryptedPreMasterSecret) or None (PSK alone). Static (EC)DH may send it empty (implicit)."""
        return _CLIENT_PUBLIC.get(self)

    @property
    def signed(self) -> bool:
        """Whether the ServerKeyExchange ends in a signature (not for anon, plain SRP or PSK key exchanges)."""
        return not self.uses_psk and self not in (
            KeyExchange.DH_ANON, KeyExchange.ECDH_ANON, KeyExchange.DH_ANON_EXPORT, KeyExchange.SRP_SHA,
        )

    @property
    def uses_srp(self) -> bool:
        """True for the RFC 5054 family (ServerSRPParams N, g, s, B; the client sends A)."""
        return self in (KeyExchange.SRP_SHA, KeyExchange.SRP_SHA_RSA, KeyExchange.SRP_SHA_DSS)


_SERVER_PARAMS: dict[KeyExchange, str] = {
    **{kx: "dh" for kx in (KeyExchange.DHE_RSA, KeyExchange.DHE_PSK, KeyExchange.DHE_DSS, KeyExchange.DH_ANON,
                           KeyExchange.DHE_DSS_EXPORT, KeyExchange.DHE_RSA_EXPORT, KeyExchange.DH_ANON_EXPORT)},
    **{kx: "ecdh" for kx in (KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA, KeyExchange.ECDHE_PSK,
                             KeyExchange.ECDH_ANON)},
}
_CLIENT_PUBLIC: dict[KeyExchange, str] = {
    **_SERVER_PARAMS,
    KeyExchange.DH_DSS: "dh", KeyExchange.DH_RSA: "dh",
    KeyExchange.ECDH_ECDSA: "ecdh", KeyExchange.ECDH_RSA: "ecdh",
    KeyExchange.RSA: "rsa", KeyExchange.RSA_PSK: "rsa", KeyExchange.RSA_EXPORT: "rsa",
}
