"""Key-exchange helpers: ECDHE (RFC 8422, RFC 7748), finite-field DHE (RFC 5246 §8.1.2, RFC 7919)
and the RSA premaster secret (RFC 5246 §7.4.7.1), all on pyca/cryptography primitives.

Peer values are validated before use: a bad length, a point not on the curve, a DH value outside
1 < y < p-1 or an all-zero X25519/X448 result raise :class:`~tlsstate.wire.errors.IllegalParameter`.
Private keys never appear in a repr.
"""

from __future__ import annotations

import functools
import hmac
import os
import warnings
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dh, ec, padding, rsa, x448, x25519

from tlsstate.wire.constants import GROUP_NAMES, AlertDescription, NamedGroup
from tlsstate.wire.errors import IllegalParameter, InsufficientSecurity, ProtocolError

try:  # FFDH is deprecated in pyca/cryptography 50 but TLS 1.0-1.2 DHE still needs it.
    from cryptography.utils import CryptographyDeprecationWarning
except ImportError:  # pragma: no cover
    CryptographyDeprecationWarning = DeprecationWarning  # type: ignore[misc, assignment]

# ---------------------------------------------------------------------------------------------
# RFC 7919 Appendix A groups (generator 2). p = 2^b - 2^{b-64} + {[2^{b-130} e] + X} * 2^64 - 1.
# ---------------------------------------------------------------------------------------------

FFDHE2048_P = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B423861285C97FFFFFFFFFFFFFFFF",
    16,
)

FFDHE3072_P = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B4238611FCFDCDE355B3B6519035BBC34F4DEF99C023861B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C"
    "AEFE130985139270B4130C93BC437944F4FD4452E2D74DD364F2E21E71F54BFF5CAE82AB9C9DF69EE86D2BC522363A0D"
    "ABC521979B0DEADA1DBF9A42D5C4484E0ABCD06BFA53DDEF3C1B20EE3FD59D7C25E41D2B66C62E37FFFFFFFFFFFFFFFF",
    16,
)

FFDHE4096_P = int(
    "FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF9"
    "7D2FE363630C75D8F681B202AEC4617AD3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935"
    "984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797ABC0AB182B324FB61D108A94BB2C8E3FB"
    "B96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61"
    "9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA"
    "886B4238611FCFDCDE355B3B6519035BBC34F4DEF99C023861B46FC9D6E6C9077AD91D2691F7F7EE598CB0FAC186D91C"
    "AEFE130985139270B4130C93BC437944F4FD4452E2D74DD364F2E21E71F54BFF5CAE82AB9C9DF69EE86D2BC522363A0D"
    "ABC521979B0DEADA1DBF9A42D5C4484E0ABCD06BFA53DDEF3C1B20EE3FD59D7C25E41D2B669E1EF16E6F52C3164DF4FB"
    "7930E9E4E58857B6AC7D5F42D69F6D187763CF1D5503400487F55BA57E31CC7A7135C886EFB4318AED6A1E012D9E6832"
    "A907600A918130C46DC778F971AD0038092999A333CB8B7A1A1DB93D7140003C2A4ECEA9F98D0ACC0A8291CDCEC97DCF"
    "8EC9B55A7F88A46B4DB5A851F44182E1C68A007E5E655F6AFFFFFFFFFFFFFFFF",
    16,
)


def rfc7919_prime(bits: int, x: int) -> int:
    """The RFC 7919 Appendix A construction: p = 2^b - 2^{b-64} + {[2^{b-130} e] + X} * 2^64 - 1, with
    floor(2^{b-130} e) computed exactly in integers (e = sum of 1/k!). For the three groups above it gives the
    RFC's hex constants (tested); for ffdhe6144 / ffdhe8192 it is how the two larger primes are defined here."""
    shift = bits - 130 + 64  # 64 guard bits below the binary point
    total, term, k = 0, 1 << shift, 0
    while term:
        total += term
        k += 1
        term //= k
    return (1 << bits) - (1 << (bits - 64)) + ((total >> 64) + x) * (1 << 64) - 1


FFDHE6144_P = rfc7919_prime(6144, 15705020)  # RFC 7919 Appendix A.4
FFDHE8192_P = rfc7919_prime(8192, 10965728)  # RFC 7919 Appendix A.5

FFDHE_GENERATOR = 2

#: NamedGroup -> prime for the RFC 7919 groups tlsstate supports.
FFDHE_PRIMES: dict[int, int] = {  # keys are NamedGroup values
    int(NamedGroup.FFDHE2048): FFDHE2048_P,
    int(NamedGroup.FFDHE3072): FFDHE3072_P,
    int(NamedGroup.FFDHE4096): FFDHE4096_P,
    int(NamedGroup.FFDHE6144): FFDHE6144_P,
    int(NamedGroup.FFDHE8192): FFDHE8192_P,
}

#: Smallest DH prime a client accepts from a server (RFC 7919 §4 leaves the floor to policy; Logjam).
MIN_DH_PRIME_BITS = 1024

_NIST_CURVES: dict[int, type[ec.EllipticCurve]] = {
    NamedGroup.SECP256R1: ec.SECP256R1,
    NamedGroup.SECP384R1: ec.SECP384R1,
    NamedGroup.SECP521R1: ec.SECP521R1,
}
_MONTGOMERY_LENGTHS: dict[int, int] = {NamedGroup.X25519: 32, NamedGroup.X448: 56}

#: Groups :func:`generate_ecdhe` accepts, in tlsstate's preference order.
SUPPORTED_EC_GROUPS: tuple[int, ...] = (
    NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1, NamedGroup.X448,
)


def _coordinate_length(curve: ec.EllipticCurve) -> int:
    return (curve.key_size + 7) // 8




def group_name(group: int) -> str:
    """The IANA name (``x25519``, ``secp256r1``, ``ffdhe2048``, ``X25519MLKEM768``...) or ``0x1234``."""
    return GROUP_NAMES.get(group, f"0x{group:04x}")


# ---------------------------------------------------------------------------------------------
# ECDHE
# ---------------------------------------------------------------------------------------------

EcPrivate = ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey | x448.X448PrivateKey


@dataclass(frozen=True)
class EcdheKeyPair:
    """An ephemeral ECDH key pair on one named group (RFC 8422 §5.4, RFC 7748 §6)."""

    group: int
    private_key: EcPrivate = field(repr=False)

    @property
    def public_bytes(self) -> bytes:
        """Uncompressed point 04||X||Y for NIST curves (RFC 8422 §5.4.1); raw u-coordinate for X25519/X448."""
        key = self.private_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            numbers = key.public_key().public_numbers()
            size = _coordinate_length(key.curve)
            return b"\x04" + numbers.x.to_bytes(size, "big") + numbers.y.to_bytes(size, "big")
        return key.public_key().public_bytes_raw()

    def shared_secret(self, peer_public: bytes) -> bytes:
        """The premaster secret: ECDH x-coordinate (RFC 8422 §5.10) or X25519/X448 output (RFC 7748 §6).

        IllegalParameter for an invalid peer value or an all-zero Montgomery result (RFC 8422 §5.11).
        """
        key = self.private_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            peer_ec = load_ec_public(self.group, peer_public)
            assert isinstance(peer_ec, ec.EllipticCurvePublicKey)
            return key.exchange(ec.ECDH(), peer_ec)
        peer = load_ec_public(self.group, peer_public)
        try:
            secret = _montgomery_exchange(key, peer)
        except ValueError:
            raise IllegalParameter(f"{group_name(self.group)} peer value gives an all-zero shared secret") from None
        if not any(secret):
            raise IllegalParameter(f"{group_name(self.group)} peer value gives an all-zero shared secret")
        return secret


def _montgomery_exchange(
    key: x25519.X25519PrivateKey | x448.X448PrivateKey,
    peer: ec.EllipticCurvePublicKey | x25519.X25519PublicKey | x448.X448PublicKey,
) -> bytes:
    """X25519 / X448 (RFC 7748 §6); ValueError (from pyca) for a low-order peer value."""
    if isinstance(key, x25519.X25519PrivateKey):
        if not isinstance(peer, x25519.X25519PublicKey):
            raise IllegalParameter("peer key does not match the x25519 group")
        return key.exchange(peer)
    if not isinstance(peer, x448.X448PublicKey):
        raise IllegalParameter("peer key does not match the x448 group")
    return key.exchange(peer)


def generate_ecdhe(group: int) -> EcdheKeyPair:
    """A fresh ephemeral key pair for ``group`` (x25519, x448, secp256r1/384r1/521r1).

    IllegalParameter for any other group (e.g. one a peer picked that we did not offer).
    """
    private: EcPrivate
    if group == NamedGroup.X25519:
        private = x25519.X25519PrivateKey.generate()
    elif group == NamedGroup.X448:
        private = x448.X448PrivateKey.generate()
    elif group in _NIST_CURVES:
        private = ec.generate_private_key(_NIST_CURVES[group]())
    else:
        raise IllegalParameter(f"unsupported ECDHE group {group_name(group)}")
    return EcdheKeyPair(int(group), private)


def load_ec_public(
    group: int, data: bytes
) -> ec.EllipticCurvePublicKey | x25519.X25519PublicKey | x448.X448PublicKey:
    """Validate and load a peer's ECDHE public value (RFC 8422 §5.11, RFC 7748 §5).

    NIST curves: only the uncompressed form 04||X||Y of exactly the curve's size, on the curve.
    X25519/X448: exactly 32/56 bytes. Anything else -> IllegalParameter.
    """
    if group in _MONTGOMERY_LENGTHS:
        expected = _MONTGOMERY_LENGTHS[group]
        if len(data) != expected:
            raise IllegalParameter(f"{group_name(group)} public value is {len(data)} bytes, expected {expected}")
        if group == NamedGroup.X25519:
            return x25519.X25519PublicKey.from_public_bytes(data)
        return x448.X448PublicKey.from_public_bytes(data)
    if group not in _NIST_CURVES:
        raise IllegalParameter(f"unsupported ECDHE group {group_name(group)}")
    curve = _NIST_CURVES[group]()
    expected = 1 + 2 * _coordinate_length(curve)
    if len(data) != expected or data[0] != 4:
        raise IllegalParameter(f"{group_name(group)} point must be uncompressed ({expected} bytes starting 04)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, data)
    except ValueError:
        raise IllegalParameter(f"{group_name(group)} point is not on the curve") from None


def validate_ec_public(group: int, data: bytes) -> None:
    """Raise IllegalParameter unless ``data`` is a valid public value for ``group``."""
    load_ec_public(group, data)


# ---------------------------------------------------------------------------------------------
# Finite-field DHE
# ---------------------------------------------------------------------------------------------


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


def strip_leading_zeros(secret: bytes) -> bytes:
    """RFC 5246 §8.1.2: "Leading bytes of Z that contain all zero bits are stripped" (DH premaster)."""
    return secret.lstrip(b"\x00")


@dataclass(frozen=True)
class DheKeyPair:
    """An ephemeral finite-field DH key pair (RFC 5246 §7.4.3 ServerDHParams / §7.4.7.2)."""

    p: int
    g: int
    private_key: dh.DHPrivateKey = field(repr=False)

    @property
    def p_bytes(self) -> bytes:
        """dh_p, big-endian without leading zeros."""
        return _int_bytes(self.p)

    @property
    def g_bytes(self) -> bytes:
        """dh_g, big-endian without leading zeros."""
        return _int_bytes(self.g)

    @property
    def public_value(self) -> int:
        """Our public value g^x mod p."""
        return self.private_key.public_key().public_numbers().y

    @property
    def public_bytes(self) -> bytes:
        """dh_Ys / dh_Yc, big-endian without leading zeros (as OpenSSL sends them in TLS 1.0-1.2)."""
        return _int_bytes(self.public_value)

    def shared_secret(self, peer_public: bytes) -> bytes:
        """The premaster secret Z with leading zero bytes stripped (RFC 5246 §8.1.2).

        IllegalParameter unless 1 < y < p-1 (RFC 7919 §3 / NIST SP 800-56A partial validation).
        """
        y = check_dh_public(self.p, peer_public)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            parameters = dh.DHParameterNumbers(self.p, self.g)
            peer = dh.DHPublicNumbers(y, parameters).public_key()
            secret = self.private_key.exchange(peer)
        return strip_leading_zeros(secret)


def check_dh_public(p: int, public: bytes) -> int:
    """Decode a peer DH public value and check 1 < y < p-1; IllegalParameter otherwise."""
    y = int.from_bytes(public, "big")
    if not 1 < y < p - 1:
        raise IllegalParameter("DH public value is not in the range 1 < y < p-1")
    return y


def check_dh_parameters(p: bytes, g: bytes, min_bits: int = MIN_DH_PRIME_BITS) -> tuple[int, int]:
    """Check server DH parameters (RFC 5246 §7.4.3): p odd and at least ``min_bits`` bits
    (InsufficientSecurity otherwise), 1 < g < p-1 (IllegalParameter). Returns (p, g)."""
    p_int = int.from_bytes(p, "big")
    g_int = int.from_bytes(g, "big")
    if p_int.bit_length() < min_bits:
        raise InsufficientSecurity(f"DH prime of {p_int.bit_length()} bits is below the {min_bits}-bit minimum")
    if p_int % 2 == 0:
        raise IllegalParameter("DH prime is even")
    if not 1 < g_int < p_int - 1:
        raise IllegalParameter("DH generator is not in the range 1 < g < p-1")
    return p_int, g_int


def generate_dhe(p: int, g: int = FFDHE_GENERATOR) -> DheKeyPair:
    """An ephemeral key pair for the group (p, g) (server: its own group; client: the server's)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            parameters = dh.DHParameterNumbers(p, g).parameters()
            private = parameters.generate_private_key()
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InsufficientSecurity(f"unusable DH group: {exc}") from None
    return DheKeyPair(p, g, private)


def generate_ffdhe(group: int) -> DheKeyPair:
    """An ephemeral key pair on an RFC 7919 group (ffdhe2048 .. ffdhe8192)."""
    if group not in FFDHE_PRIMES:
        raise IllegalParameter(f"unsupported FFDHE group {group_name(group)}")
    return generate_dhe(FFDHE_PRIMES[int(group)], FFDHE_GENERATOR)


def ffdhe_group_of(p: bytes | int, g: bytes | int) -> int | None:
    """The RFC 7919 NamedGroup whose (p, 2) these are, or None."""
    p_int = p if isinstance(p, int) else int.from_bytes(p, "big")
    g_int = g if isinstance(g, int) else int.from_bytes(g, "big")
    if g_int != FFDHE_GENERATOR:
        return None
    for group, prime in FFDHE_PRIMES.items():
        if prime == p_int:
            return group
    return None


#: The "k" of each Oakley/MODP prime p = 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) * pi) + k), generator 2:
#: RFC 2409 §6.1-§6.2 (768, 1024 bits), RFC 3526 §2-§7 (1536 - 8192 bits). Not TLS named groups, but what many
#: servers send in a TLS 1.2 ServerKeyExchange (OpenSSL 3's default DHE parameters are the 2048-bit one).
MODP_OFFSETS: dict[int, int] = {768: 149686, 1024: 129093, 1536: 741804, 2048: 124476, 3072: 1690314,
                                4096: 240904, 6144: 929484, 8192: 4743158}


def _arctan_inverse(x: int, one: int) -> int:
    """arctan(1/x) * one, by the alternating series (integer fixed point)."""
    total, power, n, sign = 0, one // x, 1, 1
    while power:
        total += sign * (power // n)
        power //= x * x
        n += 2
        sign = -sign
    return total


@functools.lru_cache(maxsize=len(MODP_OFFSETS))
def modp_prime(bits: int) -> int:
    """The RFC 2409 / RFC 3526 MODP prime of ``bits`` bits (pi by Machin's formula, 64 guard bits)."""
    guard = 64
    one = 1 << (bits - 130 + guard)
    pi = 16 * _arctan_inverse(5, one) - 4 * _arctan_inverse(239, one)
    return (1 << bits) - (1 << (bits - 64)) - 1 + (1 << 64) * ((pi >> guard) + MODP_OFFSETS[bits])


def modp_group_of(p: bytes | int, g: bytes | int) -> int | None:
    """The size in bits of the RFC 2409 / RFC 3526 MODP group whose (p, 2) these are, or None."""
    p_int = p if isinstance(p, int) else int.from_bytes(p, "big")
    g_int = g if isinstance(g, int) else int.from_bytes(g, "big")
    bits = p_int.bit_length()
    if g_int != FFDHE_GENERATOR or bits not in MODP_OFFSETS:
        return None
    return bits if modp_prime(bits) == p_int else None


# ---------------------------------------------------------------------------------------------
# RSA key transport (RFC 5246 §7.4.7.1, RFC 6101 §5.6.7.1)
# ---------------------------------------------------------------------------------------------

PREMASTER_LENGTH = 48


def make_rsa_premaster(client_version: int) -> bytes:
    """``PreMasterSecret``: client_version (the version offered in the ClientHello) + 46 random bytes."""
    return client_version.to_bytes(2, "big") + os.urandom(PREMASTER_LENGTH - 2)


def rsa_encrypt_premaster(public_key: rsa.RSAPublicKey, premaster: bytes) -> bytes:
    """RSAES-PKCS1-v1_5 encryption of the premaster with the server's key (RFC 5246 §7.4.7.1).

    The key comes from the server's certificate: if pyca cannot encrypt with it (e.g. an even modulus,
    or a modulus too short for PKCS#1 v1.5 padding of 48 bytes, RFC 8017 §7.2.1) that is the
    certificate's fault, so the error is bad_certificate (RFC 5246 §7.2.2), never an internal error.
    """
    try:
        return public_key.encrypt(premaster, padding.PKCS1v15())
    except ValueError as exc:
        raise ProtocolError(f"cannot encrypt the premaster to the certificate's RSA key: {exc}",
                            AlertDescription.BAD_CERTIFICATE) from None


def _select(condition_mask: int, if_true: bytes, if_false: bytes) -> bytes:
    """Byte-wise ``if_true if mask == 0xFF else if_false`` with the same operations either way (on the two values
    as integers: f ^ ((t ^ f) & mask in every byte), a few operations instead of a Python step per byte)."""
    if len(if_true) != len(if_false):
        raise ValueError("_select needs two values of one length")
    n = len(if_true)
    wide = int.from_bytes(bytes((condition_mask,)) * n, "big")
    f = int.from_bytes(if_false, "big")
    return (f ^ ((int.from_bytes(if_true, "big") ^ f) & wide)).to_bytes(n, "big")


def rsa_decrypt_premaster(private_key: rsa.RSAPrivateKey, encrypted: bytes, client_hello_version: int) -> bytes:
    """Server side of RSA key transport with the RFC 5246 §7.4.7.1 countermeasure (Bleichenbacher).

    A random 48-byte premaster is generated first; the ciphertext is decrypted with every error
    caught; the result is used only if it is 48 bytes whose first two equal ClientHello.client_version.
    Otherwise the random premaster is returned. No exception and no early return depend on the
    decryption, and both outcomes take the same selection path (as far as Python allows): the
    failure only shows up later as a Finished mismatch.
    """
    fallback = os.urandom(PREMASTER_LENGTH)
    try:
        decrypted = private_key.decrypt(encrypted, padding.PKCS1v15())
    except Exception:  # every failure is handled identically
        decrypted = b""
    length_ok = len(decrypted) == PREMASTER_LENGTH
    candidate = decrypted[:PREMASTER_LENGTH].ljust(PREMASTER_LENGTH, b"\x00")
    version_ok = hmac.compare_digest(candidate[:2], client_hello_version.to_bytes(2, "big"))
    mask = -int(length_ok & version_ok) & 0xFF
    return _select(mask, candidate, fallback)
