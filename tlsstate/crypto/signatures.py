"""Signatures in ServerKeyExchange and CertificateVerify.

TLS 1.2 (RFC 5246 §4.7, §7.4.1.4.1; RFC 8446 §4.2.3 code points for RSA-PSS; RFC 8422 §5.10 Ed25519):
the signature names its scheme. TLS 1.0/1.1 (RFC 4346 §4.7, §7.4.3) and SSL 3.0 (RFC 6101 §5.6.3):
RSA signs MD5(data) || SHA-1(data) with PKCS#1 v1.5 *without* a DigestInfo; ECDSA signs SHA-1(data)
(RFC 4492 §5.4). The data are ``client_random + server_random + params`` for a ServerKeyExchange and
the handshake messages so far for a CertificateVerify.

Every primitive comes from pyca/cryptography; a failed verification raises
:class:`~tlsstate.wire.errors.DecryptError` (decrypt_error alert, RFC 5246 §7.2.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from tlsstate.crypto.hashes import HASH_ALGORITHMS, hash_algorithm
from tlsstate.wire.constants import ProtocolVersion, SignatureScheme
from tlsstate.wire.errors import DecodeError, DecryptError, HandshakeFailure, IllegalParameter

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_TLS12 = int(ProtocolVersion.TLS1_2)


class MD5SHA1(hashes.HashAlgorithm):
    """The 36-byte MD5 || SHA-1 "hash" signed by RSA in TLS 1.0/1.1 and SSL 3.0 (RFC 4346 §4.7).

    Used only through ``utils.Prehashed``: OpenSSL then signs the 36 bytes with PKCS#1 v1.5
    type 1 padding and no DigestInfo, exactly as the RFC asks.
    """

    name = "md5-sha1"
    digest_size = 36
    block_size = 64


def md5_sha1(data: bytes) -> bytes:
    """MD5(data) || SHA-1(data) (RFC 4346 §4.7), computed with pyca hashes."""
    md5 = hashes.Hash(hashes.MD5())
    md5.update(data)
    sha1 = hashes.Hash(hashes.SHA1())
    sha1.update(data)
    return md5.finalize() + sha1.finalize()


@dataclass(frozen=True, slots=True)
class SchemeInfo:
    """How one TLS 1.2 SignatureScheme signs: key kind (``rsa``, ``rsa_pss``, ``ecdsa``, ``ed25519``)
    and hash (None for Ed25519)."""

    key_kind: str
    hash_name: str | None


#: Schemes tlsstate can sign and verify in TLS 1.2.
SCHEMES: dict[int, SchemeInfo] = {
    SignatureScheme.RSA_PKCS1_SHA1: SchemeInfo("rsa", "sha1"),
    SignatureScheme.RSA_PKCS1_SHA224: SchemeInfo("rsa", "sha224"),
    SignatureScheme.RSA_PKCS1_SHA256: SchemeInfo("rsa", "sha256"),
    SignatureScheme.RSA_PKCS1_SHA384: SchemeInfo("rsa", "sha384"),
    SignatureScheme.RSA_PKCS1_SHA512: SchemeInfo("rsa", "sha512"),
    SignatureScheme.RSA_PSS_RSAE_SHA256: SchemeInfo("rsa_pss", "sha256"),
    SignatureScheme.RSA_PSS_RSAE_SHA384: SchemeInfo("rsa_pss", "sha384"),
    SignatureScheme.RSA_PSS_RSAE_SHA512: SchemeInfo("rsa_pss", "sha512"),
    SignatureScheme.ECDSA_SHA1: SchemeInfo("ecdsa", "sha1"),
    SignatureScheme.ECDSA_SHA224: SchemeInfo("ecdsa", "sha224"),
    SignatureScheme.ECDSA_SECP256R1_SHA256: SchemeInfo("ecdsa", "sha256"),
    SignatureScheme.ECDSA_SECP384R1_SHA384: SchemeInfo("ecdsa", "sha384"),
    SignatureScheme.ECDSA_SECP521R1_SHA512: SchemeInfo("ecdsa", "sha512"),
    SignatureScheme.ED25519: SchemeInfo("ed25519", None),
}

#: What tlsstate offers in signature_algorithms and prefers when it signs (strongest first).
DEFAULT_SIGNATURE_SCHEMES: tuple[int, ...] = (
    SignatureScheme.ECDSA_SECP256R1_SHA256,
    SignatureScheme.ECDSA_SECP384R1_SHA384,
    SignatureScheme.ECDSA_SECP521R1_SHA512,
    SignatureScheme.ED25519,
    SignatureScheme.RSA_PSS_RSAE_SHA256,
    SignatureScheme.RSA_PSS_RSAE_SHA384,
    SignatureScheme.RSA_PSS_RSAE_SHA512,
    SignatureScheme.RSA_PKCS1_SHA256,
    SignatureScheme.RSA_PKCS1_SHA384,
    SignatureScheme.RSA_PKCS1_SHA512,
    SignatureScheme.ECDSA_SHA1,
    SignatureScheme.RSA_PKCS1_SHA1,
)


def key_kind(key: PrivateKey | PublicKey) -> str:
    """``rsa``, ``ecdsa`` or ``ed25519`` for a supported key; IllegalParameter otherwise."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ecdsa"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    raise IllegalParameter(f"unsupported key type {type(key).__name__}")


def _scheme_fits(scheme: int, kind: str) -> bool:
    info = SCHEMES.get(scheme)
    return info is not None and (info.key_kind == kind or (info.key_kind == "rsa_pss" and kind == "rsa"))


def scheme_name(scheme: int) -> str:
    """IANA name, e.g. ``rsa_pss_rsae_sha256``, or ``0x0000`` for unknown values."""
    try:
        return SignatureScheme(scheme).name.lower()
    except ValueError:
        return f"0x{scheme:04x}"


def choose_scheme(
    key: PrivateKey,
    peer_schemes: Sequence[int] | None,
    version: int,
    preferred: Sequence[int] = DEFAULT_SIGNATURE_SCHEMES,
) -> int | None:
    """The scheme to sign with (RFC 5246 §7.4.1.4.1, §7.4.3); None before TLS 1.2 (no scheme is sent).

    ``peer_schemes`` is the peer's signature_algorithms (ClientHello extension or CertificateRequest
    list); None means it sent none, which in TLS 1.2 means {sha1} with our key's algorithm.
    HandshakeFailure if nothing fits the key.
    """
    if version < _TLS12:
        return None
    kind = key_kind(key)
    if peer_schemes is None:
        default = {"rsa": SignatureScheme.RSA_PKCS1_SHA1, "ecdsa": SignatureScheme.ECDSA_SHA1}.get(kind)
        if default is None:
            raise HandshakeFailure(f"a peer without signature_algorithms cannot accept an {kind} signature")
        return int(default)
    wanted = set(preferred)
    offered = {s for s in peer_schemes if s in wanted}  # small, however long the peer's list (32,760)
    for scheme in preferred:
        if scheme in offered and _scheme_fits(scheme, kind):
            return int(scheme)
    raise HandshakeFailure(f"no signature scheme offered by the peer fits our {kind} key")


def _padding_and_hash(scheme: int, kind: str) -> tuple[padding.AsymmetricPadding | None, hashes.HashAlgorithm | None]:
    info = SCHEMES.get(scheme)
    if info is None or not _scheme_fits(scheme, kind):
        raise IllegalParameter(f"signature scheme {scheme_name(scheme)} cannot be used with an {kind} key")
    algorithm = hash_algorithm(info.hash_name) if info.hash_name else None
    if info.key_kind == "rsa_pss":
        assert algorithm is not None
        return padding.PSS(padding.MGF1(algorithm), algorithm.digest_size), algorithm
    if info.key_kind == "rsa":
        return padding.PKCS1v15(), algorithm
    return None, algorithm


def sign(key: PrivateKey, data: bytes, version: int, scheme: int | None = None) -> bytes:
    """Sign ``data`` for a ``digitally-signed`` struct (RFC 5246 §4.7; RFC 4346 §4.7 before TLS 1.2).

    TLS 1.2 needs ``scheme`` (see :func:`choose_scheme`); RSA-PSS uses salt length = hash length
    (RFC 8446 §4.2.3). Before TLS 1.2: RSA over MD5||SHA-1 without DigestInfo, ECDSA over SHA-1.
    """
    kind = key_kind(key)
    if version >= _TLS12:
        if scheme is None:
            raise ValueError("TLS 1.2 signatures need a signature scheme")
        pad, algorithm = _padding_and_hash(scheme, kind)
        if isinstance(key, rsa.RSAPrivateKey):
            assert pad is not None and algorithm is not None
            return key.sign(data, pad, algorithm)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            assert algorithm is not None
            return key.sign(data, ec.ECDSA(algorithm))
        return key.sign(data)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(md5_sha1(data), padding.PKCS1v15(), utils.Prehashed(MD5SHA1()))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA1()))
    raise HandshakeFailure(f"{kind} keys cannot sign before TLS 1.2")


def verify(key: PublicKey, data: bytes, signature: bytes, version: int, scheme: int | None = None) -> None:
    """Verify a peer's signature (RFC 5246 §4.7, §7.4.3, §7.4.8); DecryptError if it does not verify.

    A TLS 1.2 scheme that does not fit the key (or is unknown) -> IllegalParameter. Callers check that
    the scheme is one they offered (RFC 5246 §7.4.1.4.1).
    """
    kind = key_kind(key)
    try:
        if version >= _TLS12:
            if scheme is None:
                raise DecodeError("TLS 1.2 signature without its SignatureAndHashAlgorithm")
            pad, algorithm = _padding_and_hash(scheme, kind)
            if isinstance(key, rsa.RSAPublicKey):
                assert pad is not None and algorithm is not None
                key.verify(signature, data, pad, algorithm)
            elif isinstance(key, ec.EllipticCurvePublicKey):
                assert algorithm is not None
                key.verify(signature, data, ec.ECDSA(algorithm))
            else:
                key.verify(signature, data)
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, md5_sha1(data), padding.PKCS1v15(), utils.Prehashed(MD5SHA1()))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA1()))
        else:
            raise IllegalParameter(f"{kind} signatures are not defined before TLS 1.2")
    except (InvalidSignature, ValueError, UnsupportedAlgorithm) as exc:
        raise DecryptError(f"{kind} signature does not verify") from exc


def server_key_exchange_data(client_random: bytes, server_random: bytes, params: bytes) -> bytes:
    """What a ServerKeyExchange signs: ClientHello.random + ServerHello.random + params (RFC 5246 §7.4.3)."""
    return client_random + server_random + params


# ---------------------------------------------------------------------------------------------
# SSL 3.0 CertificateVerify (RFC 6101 §5.6.8)
# ---------------------------------------------------------------------------------------------

_PAD1 = b"\x36"
_PAD2 = b"\x5c"


def _ssl3_hash(hash_name: str, master_secret: bytes, handshake_messages: bytes) -> bytes:
    pad_length = 48 if hash_name == "md5" else 40
    algorithm = HASH_ALGORITHMS[hash_name]
    inner = hashes.Hash(algorithm())
    inner.update(handshake_messages + master_secret + _PAD1 * pad_length)
    outer = hashes.Hash(algorithm())
    outer.update(master_secret + _PAD2 * pad_length + inner.finalize())
    return outer.finalize()


def ssl3_certificate_verify_hashes(master_secret: bytes, handshake_messages: bytes) -> bytes:
    """SSL 3.0 CertificateVerify digest: md5_hash || sha_hash with
    ``hash(master_secret + pad_2 + hash(handshake_messages + master_secret + pad_1))`` (RFC 6101 §5.6.8).
    RSA signs all 36 bytes; DSA/ECDSA would sign the 20-byte SHA part."""
    return _ssl3_hash("md5", master_secret, handshake_messages) + _ssl3_hash("sha1", master_secret, handshake_messages)


def ssl3_sign_certificate_verify(key: rsa.RSAPrivateKey, master_secret: bytes, handshake_messages: bytes) -> bytes:
    """SSL 3.0 RSA CertificateVerify signature (RFC 6101 §5.6.8)."""
    digest = ssl3_certificate_verify_hashes(master_secret, handshake_messages)
    return key.sign(digest, padding.PKCS1v15(), utils.Prehashed(MD5SHA1()))


def ssl3_verify_certificate_verify(
    key: rsa.RSAPublicKey, master_secret: bytes, handshake_messages: bytes, signature: bytes
) -> None:
    """Verify an SSL 3.0 RSA CertificateVerify (RFC 6101 §5.6.8); DecryptError on failure."""
    digest = ssl3_certificate_verify_hashes(master_secret, handshake_messages)
    try:
        key.verify(signature, digest, padding.PKCS1v15(), utils.Prehashed(MD5SHA1()))
    except (InvalidSignature, ValueError) as exc:
        raise DecryptError("SSL 3.0 CertificateVerify signature does not verify") from exc
