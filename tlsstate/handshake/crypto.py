"""The public-key steps of a TLS 1.0-1.2 handshake, in one place for both roles.

ECDHE key agreement (RFC 8422 §5.4, §5.7, §5.11), the RSA premaster (RFC 5246 §7.4.7.1, with the
Bleichenbacher countermeasure on the server), ServerKeyExchange signatures (RFC 5246 §4.7, §7.4.3;
TLS 1.0/1.1: RSA over MD5||SHA-1 without DigestInfo, ECDSA over SHA-1, RFC 4346 §4.7 / RFC 8422 §5.10)
and server certificate checks. Every primitive is pyca/cryptography's.
"""

from __future__ import annotations

import ipaddress
import ssl
import threading

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from tlsstate import dh, signatures
from tlsstate.constants import AlertDescription, NamedGroup
from tlsstate.errors import HandshakeFailure, ProtocolError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
EcdheKeyPair = dh.EcdheKeyPair

#: Groups tlsstate offers and accepts for ECDHE in TLS 1.0-1.2 (RFC 8422 §5.1.1).
ECDHE_GROUPS = frozenset({NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1})

# ------------------------------------------------------------------------------------------- ECDHE


def ecdhe_generate(group: int) -> tuple[EcdheKeyPair, bytes]:
    """An ephemeral key pair and its ECPoint encoding (RFC 8422 §5.4)."""
    pair = dh.generate_ecdhe(group)
    return pair, pair.public_bytes


def ecdhe_shared_secret(pair: EcdheKeyPair, peer_public: bytes) -> bytes:
    """The premaster secret (RFC 8422 §5.10); an invalid peer point is illegal_parameter (§5.11)."""
    return pair.shared_secret(peer_public)


# --------------------------------------------------------------------------------------------- RSA


def rsa_encrypt_premaster(server_key: rsa.RSAPublicKey, client_version: int) -> tuple[bytes, bytes]:
    """(premaster, EncryptedPreMasterSecret): client_version || 46 random bytes, PKCS#1 v1.5 (RFC 5246 §7.4.7.1)."""
    premaster = dh.make_rsa_premaster(client_version)
    return premaster, dh.rsa_encrypt_premaster(server_key, premaster)


def rsa_decrypt_premaster(private_key: rsa.RSAPrivateKey, encrypted: bytes, client_version: int) -> bytes:
    """The premaster, or on *any* failure a random one by the same path (RFC 5246 §7.4.7.1).

    No exception and no distinct alert: a bad premaster surfaces as bad_record_mac on the client's
    Finished, exactly like a wrong key.
    """
    return dh.rsa_decrypt_premaster(private_key, encrypted, client_version)


# -------------------------------------------------------------------------------------- signatures

def choose_signature_scheme(key: PrivateKey, peer_schemes: list[int] | None, version: int, ours: list[int]) -> int | None:
    """The scheme to sign the ServerKeyExchange with, or None when nothing fits (TLS 1.2; RFC 5246 §7.4.1.4.1).

    ``peer_schemes`` None (no signature_algorithms) means {sha1} with the key's algorithm.
    """
    try:
        return signatures.choose_scheme(key, peer_schemes, version, ours)
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


def load_peer_certificates(
    chain: tuple[bytes, ...],
) -> tuple[list[x509.Certificate], rsa.RSAPublicKey | ec.EllipticCurvePublicKey]:
    """DER certificates -> objects and the leaf's public key (RFC 5246 §7.4.2).

    Undecodable certificates or keys are bad_certificate; a key that is neither RSA nor EC is
    unsupported_certificate (RFC 5246 §7.2.2).
    """
    try:
        certificates = [x509.load_der_x509_certificate(der) for der in chain]
        key = certificates[0].public_key()
    except (ValueError, IndexError, x509.InvalidVersion) as exc:
        raise ProtocolError(f"undecodable certificate: {exc}", AlertDescription.BAD_CERTIFICATE) from None
    except UnsupportedAlgorithm as exc:
        raise ProtocolError(f"unsupported certificate key: {exc}", AlertDescription.UNSUPPORTED_CERTIFICATE) from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ProtocolError(
            f"certificate key type {type(key).__name__} is not supported", AlertDescription.UNSUPPORTED_CERTIFICATE
        )
    return certificates, key


def verify_server_chain(chain: list[x509.Certificate], server_name: str | None, cafile: str | None) -> None:
    """Path validation and host name check with pyca's X.509 verifier (RFC 5280, RFC 6125).

    Failures are bad_certificate, unknown_ca or certificate_expired as fits (RFC 5246 §7.2.2).
    """
    if not chain:
        raise ProtocolError("server sent no certificate", AlertDescription.BAD_CERTIFICATE)
    if not server_name:
        raise ProtocolError(
            "certificate verification needs a server name (or verify=False)", AlertDescription.BAD_CERTIFICATE
        )
    subject: DNSName | IPAddress
    try:
        subject = IPAddress(ipaddress.ip_address(server_name))
    except ValueError:
        subject = DNSName(server_name)
    verifier = PolicyBuilder().store(_load_store(cafile)).build_server_verifier(subject)
    try:
        verifier.verify(chain[0], chain[1:])
    except (VerificationError, ValueError) as exc:
        text = str(exc)
        alert = AlertDescription.BAD_CERTIFICATE
        if "expired" in text or "not yet valid" in text:
            alert = AlertDescription.CERTIFICATE_EXPIRED
        elif "issuer" in text or "candidates exhausted" in text:
            alert = AlertDescription.UNKNOWN_CA
        raise ProtocolError(f"certificate verification failed: {text}", alert) from None


_STORES: dict[str | None, Store] = {}
_STORES_LOCK = threading.Lock()


def _load_store(cafile: str | None) -> Store:
    """Trust anchors from ``cafile`` or the system bundle, loaded once per path."""
    with _STORES_LOCK:
        store = _STORES.get(cafile)
        if store is not None:
            return store
        path = cafile
        if path is None:
            defaults = ssl.get_default_verify_paths()
            path = defaults.cafile or defaults.openssl_cafile
        try:
            with open(path, "rb") as f:
                certs = x509.load_pem_x509_certificates(f.read())
        except (OSError, ValueError) as exc:
            raise ProtocolError(f"cannot load CA certificates from {path}: {exc}", AlertDescription.INTERNAL_ERROR) from None
        store = _STORES[cafile] = Store(certs)
        return store
