"""The public-key steps of a TLS 1.0-1.2 handshake, in one place for both roles.

ECDHE key agreement (RFC 8422 §5.4, §5.7, §5.11), the RSA premaster (RFC 5246 §7.4.7.1, with the
Bleichenbacher countermeasure on the server), ServerKeyExchange signatures (RFC 5246 §4.7, §7.4.3;
TLS 1.0/1.1: RSA over MD5||SHA-1 without DigestInfo, ECDSA over SHA-1, RFC 4346 §4.7 / RFC 8422 §5.10)
and server certificate checks. Every primitive is pyca/cryptography's.
"""

from __future__ import annotations

import hmac
import os

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tlsstate import signatures
from tlsstate.constants import AlertDescription, NamedGroup, SignatureScheme
from tlsstate.errors import HandshakeFailure, IllegalParameter, ProtocolError

EcdhePrivateKey = x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_CURVES: dict[int, type[ec.EllipticCurve]] = {
    NamedGroup.SECP256R1: ec.SECP256R1,
    NamedGroup.SECP384R1: ec.SECP384R1,
    NamedGroup.SECP521R1: ec.SECP521R1,
}
ECDHE_GROUPS = frozenset({NamedGroup.X25519, *_CURVES})

# ------------------------------------------------------------------------------------------- ECDHE


def ecdhe_generate(group: int) -> tuple[EcdhePrivateKey, bytes]:
    """An ephemeral key pair and its ECPoint encoding (X25519: 32 raw bytes; NIST: uncompressed, RFC 8422 §5.4)."""
    if group == NamedGroup.X25519:
        x_key = x25519.X25519PrivateKey.generate()
        return x_key, x_key.public_key().public_bytes_raw()
    curve = _CURVES.get(group)
    if curve is None:
        raise HandshakeFailure(f"named group {group} is not supported for ECDHE")
    ec_key = ec.generate_private_key(curve())
    return ec_key, ec_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def ecdhe_shared_secret(private_key: EcdhePrivateKey, group: int, peer_public: bytes) -> bytes:
    """The premaster secret: the shared x-coordinate (RFC 8422 §5.10). A bad point is illegal_parameter."""
    try:
        if isinstance(private_key, x25519.X25519PrivateKey):
            if len(peer_public) != 32:
                raise ValueError("X25519 public key must be 32 bytes")
            return private_key.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))
        curve = _CURVES[group]()
        if not peer_public or peer_public[0] != 4:
            raise ValueError("only uncompressed points are negotiated")
        peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, peer_public)
        return private_key.exchange(ec.ECDH(), peer)
    except (ValueError, KeyError) as exc:
        raise IllegalParameter(f"invalid ECDHE public value: {exc}") from None


# --------------------------------------------------------------------------------------------- RSA


def rsa_encrypt_premaster(server_key: rsa.RSAPublicKey, client_version: int) -> tuple[bytes, bytes]:
    """(premaster, EncryptedPreMasterSecret): client_version || 46 random bytes, PKCS#1 v1.5 (RFC 5246 §7.4.7.1)."""
    premaster = client_version.to_bytes(2, "big") + os.urandom(46)
    return premaster, server_key.encrypt(premaster, padding.PKCS1v15())


def rsa_decrypt_premaster(private_key: rsa.RSAPrivateKey, encrypted: bytes, client_version: int) -> bytes:
    """The premaster, or on *any* failure a random one, by the same path (RFC 5246 §7.4.7.1 steps 1-5).

    No exception, no distinct alert: a bad premaster surfaces later as bad_record_mac on the client's
    Finished, exactly like a wrong key.
    """
    fallback = client_version.to_bytes(2, "big") + os.urandom(46)
    try:
        decrypted = private_key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:
        decrypted = b""
    good = len(decrypted) == 48
    candidate = decrypted if good else fallback
    good &= hmac.compare_digest(candidate[:2], fallback[:2])
    return candidate if good else fallback


# -------------------------------------------------------------------------------------- signatures

#: RFC 5246 §7.4.1.4.1: no signature_algorithms in a TLS 1.2 ClientHello means {sha1,rsa}/{sha1,ecdsa}.
DEFAULT_TLS12_SCHEMES = (SignatureScheme.RSA_PKCS1_SHA1, SignatureScheme.ECDSA_SHA1)


def choose_signature_scheme(key: PrivateKey, peer_schemes: list[int] | None, version: int, ours: list[int]) -> int | None:
    """The scheme to sign the ServerKeyExchange with, or None when nothing fits (TLS 1.2; RFC 5246 §7.4.1.4.1)."""
    try:
        return signatures.choose_scheme(key, peer_schemes, version, [*ours, *DEFAULT_TLS12_SCHEMES])
    except HandshakeFailure:
        return None


def sign_params(key: PrivateKey, version: int, scheme: int | None, data: bytes) -> bytes:
    """``digitally-signed`` over ``data`` (RFC 5246 §4.7; TLS 1.0/1.1: RFC 4346 §4.7, RFC 8422 §5.10)."""
    return signatures.sign(key, data, version, scheme)


def verify_params(
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, version: int, scheme: int | None, data: bytes, signature: bytes
) -> None:
    """Check a ServerKeyExchange signature: decrypt_error if bad (RFC 5246 §7.4.3, §7.2.2)."""
    signatures.verify(public_key, data, signature, version, scheme)


# ---------------------------------------------------------------------------------- certificates


def load_peer_certificates(chain: tuple[bytes, ...]) -> list[x509.Certificate]:
    """DER certificates -> objects; undecodable is bad_certificate (RFC 5246 §7.2.2)."""
    try:
        return [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError as exc:
        raise ProtocolError(f"undecodable certificate: {exc}", AlertDescription.BAD_CERTIFICATE) from None


def verify_server_chain(chain: list[x509.Certificate], server_name: str | None, cafile: str | None) -> None:
    """Path validation and host name check with pyca's X.509 verifier (RFC 5280, RFC 6125).

    Failures are bad_certificate, unknown_ca or certificate_expired as fits.
    """
    from cryptography.x509.verification import PolicyBuilder, VerificationError

    if not chain:
        raise ProtocolError("server sent no certificate", AlertDescription.BAD_CERTIFICATE)
    store = _load_store(cafile)
    builder = PolicyBuilder().store(store)
    try:
        if server_name:
            verifier = builder.build_server_verifier(_subject(server_name))
            verifier.verify(chain[0], chain[1:])
        else:
            raise ProtocolError(
                "certificate verification needs a server name (or verify=False)", AlertDescription.BAD_CERTIFICATE
            )
    except VerificationError as exc:
        text = str(exc)
        alert = AlertDescription.CERTIFICATE_EXPIRED if "expired" in text else AlertDescription.BAD_CERTIFICATE
        if "issuer" in text or "candidates exhausted" in text:
            alert = AlertDescription.UNKNOWN_CA
        raise ProtocolError(f"certificate verification failed: {text}", alert) from None


def _subject(server_name: str) -> x509.GeneralName:
    import ipaddress

    from cryptography.x509.verification import DNSName, IPAddress  # type: ignore[attr-defined]

    try:
        return IPAddress(ipaddress.ip_address(server_name))  # type: ignore[no-any-return]
    except ValueError:
        return DNSName(server_name)  # type: ignore[no-any-return]


_STORES: dict[str | None, object] = {}


def _load_store(cafile: str | None) -> object:
    from cryptography.x509.verification import Store

    if cafile in _STORES:
        return _STORES[cafile]
    path = cafile
    if path is None:
        import ssl

        paths = ssl.get_default_verify_paths()
        path = paths.cafile or paths.openssl_cafile
    try:
        with open(path, "rb") as f:
            certs = x509.load_pem_x509_certificates(f.read())
    except (OSError, ValueError) as exc:
        raise ProtocolError(f"cannot load CA certificates from {path}: {exc}", AlertDescription.INTERNAL_ERROR) from None
    store = Store(certs)
    _STORES[cafile] = store
    return store

