"""TLS 1.3 signatures (RFC 9846 §4.2.3, §4.4.3): which schemes a CertificateVerify may use, and what it signs.

The signed content is 64 spaces, the context string ("TLS 1.3, server CertificateVerify" or "TLS 1.3, client
CertificateVerify"), a zero byte and Transcript-Hash(Handshake Context, Certificate) (§4.4.3). RSA signs with
RSASSA-PSS only (rsa_pss_rsae_*; PKCS#1 v1.5 appears in TLS 1.3 only inside certificates), ECDSA with the hash
bound to the curve (ecdsa_secp256r1_sha256 needs a P-256 key), Ed25519 as itself. The signing and verifying are
:func:`tlsstate.crypto.signatures.sign` / ``verify`` with the scheme.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tlsstate.crypto import signatures
from tlsstate.wire.constants import ProtocolVersion, SignatureScheme
from tlsstate.wire.errors import HandshakeFailure, IllegalParameter

S = SignatureScheme

#: Schemes tlsstate signs and verifies with in a TLS 1.3 CertificateVerify, in our preference order.
TLS13_SIGNATURE_SCHEMES: tuple[int, ...] = (
    S.ECDSA_SECP256R1_SHA256, S.ECDSA_SECP384R1_SHA384, S.ECDSA_SECP521R1_SHA512, S.ED25519,
    S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512,
)

_CURVE_OF_SCHEME = {
    S.ECDSA_SECP256R1_SHA256: "secp256r1", S.ECDSA_SECP384R1_SHA384: "secp384r1", S.ECDSA_SECP521R1_SHA512: "secp521r1",
}

SERVER_CONTEXT = b"TLS 1.3, server CertificateVerify"
CLIENT_CONTEXT = b"TLS 1.3, client CertificateVerify"

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def signed_content(transcript_hash: bytes, *, by_server: bool) -> bytes:
    """What a TLS 1.3 CertificateVerify signs (RFC 9846 §4.4.3)."""
    return b" " * 64 + (SERVER_CONTEXT if by_server else CLIENT_CONTEXT) + b"\x00" + transcript_hash


def fits(scheme: int, key: PrivateKey | PublicKey) -> bool:
    """Whether ``scheme`` is a TLS 1.3 CertificateVerify scheme for this key (RFC 9846 §4.2.3)."""
    if scheme not in TLS13_SIGNATURE_SCHEMES:
        return False
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return scheme in (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512)
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return _CURVE_OF_SCHEME.get(SignatureScheme(scheme)) == key.curve.name
    return scheme == S.ED25519 and isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey)


def choose(key: PrivateKey, peer_schemes: Sequence[int], preferred: Sequence[int] = TLS13_SIGNATURE_SCHEMES) -> int:
    """Our first scheme the peer lists that fits our key; handshake_failure when none does (RFC 9846 §4.4.2.2)."""
    offered = set(peer_schemes)
    for scheme in preferred:
        if scheme in offered and fits(scheme, key):
            return int(scheme)
    raise HandshakeFailure("no TLS 1.3 signature scheme offered by the peer fits our certificate's key")


def sign(key: PrivateKey, scheme: int, transcript_hash: bytes, *, by_server: bool) -> bytes:
    """CertificateVerify.signature (RFC 9846 §4.4.3)."""
    return signatures.sign(key, signed_content(transcript_hash, by_server=by_server), ProtocolVersion.TLS1_2, scheme)


def verify(
    key: PublicKey, scheme: int, offered: Sequence[int], transcript_hash: bytes, signature: bytes, *, by_server: bool
) -> None:
    """Check a peer's CertificateVerify (RFC 9846 §4.4.3): a scheme we did not offer or that does not fit its
    certificate is illegal_parameter, a signature that does not verify decrypt_error."""
    if scheme not in offered or not fits(scheme, key):
        raise IllegalParameter(
            f"CertificateVerify with {signatures.scheme_name(scheme)}, which was not offered or does not fit the key"
        )
    signatures.verify(key, signed_content(transcript_hash, by_server=by_server), signature, ProtocolVersion.TLS1_2, scheme)


__all__ = ["TLS13_SIGNATURE_SCHEMES", "choose", "fits", "sign", "signed_content", "verify"]
