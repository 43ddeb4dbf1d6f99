"""The public-key steps of a TLS 1.0-1.2 handshake, in one place for both roles.

Thin adapters over the modules that own the primitives: ECDHE and the RSA premaster with the
RFC 5246 §7.4.7.1 countermeasure (:mod:`tlsstate.crypto.dh`), ServerKeyExchange signatures
(:mod:`tlsstate.crypto.signatures`, RFC 5246 §4.7/§7.4.3), certificate checks (:mod:`tlsstate.crypto.certs`).
The state machines call only these, so what they need from each module is visible here.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tlsstate.crypto import certs, dh, signatures, signatures13
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import ConfigurationError, HandshakeFailure, ProtocolError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
EcdheKeyPair = dh.EcdheKeyPair

#: Groups tlsstate offers and accepts for ECDHE in TLS 1.0-1.2 (RFC 8422 §5.1.1): x25519, x448 and the
#: three NIST curves, the ones :func:`tlsstate.crypto.dh.generate_ecdhe` makes keys for.
ECDHE_GROUPS = frozenset(dh.SUPPORTED_EC_GROUPS)

# ------------------------------------------------------------------------------------------- ECDHE


def ecdhe_generate(group: int) -> tuple[EcdheKeyPair, bytes]:
    """An ephemeral key pair and its ECPoint encoding (RFC 8422 §5.4)."""
    pair = dh.generate_ecdhe(group)
    return pair, pair.public_bytes


def ecdhe_shared_secret(pair: EcdheKeyPair, peer_public: bytes) -> bytes:
    """The premaster secret (RFC 8422 §5.10); an invalid peer point is illegal_parameter (§5.11)."""
    return pair.shared_secret(peer_public)


# -------------------------------------------------------------------------------------------- DHE

DheKeyPair = dh.DheKeyPair
#: RFC 7919 groups a server may pick for DHE; ffdhe2048 when the client names none.
FFDHE_GROUPS = frozenset(dh.FFDHE_PRIMES)


def dhe_generate_server(group: int) -> DheKeyPair:
    """The server's ephemeral key on an RFC 7919 group (RFC 5246 §7.4.3 ServerDHParams)."""
    return dh.generate_ffdhe(group)


def dhe_generate_client(dh_p: bytes, dh_g: bytes, min_bits: int = dh.MIN_DH_PRIME_BITS) -> DheKeyPair:
    """Our key on the server's group after checking it (p odd and >= ``min_bits`` bits, else
    insufficient_security; 1 < g < p-1, else illegal_parameter)."""
    p, g = dh.check_dh_parameters(dh_p, dh_g, min_bits)
    return dh.generate_dhe(p, g)


def dhe_shared_secret(pair: DheKeyPair, peer_public: bytes) -> bytes:
    """Z with leading zeros stripped (RFC 5246 §8.1.2); 1 < y < p-1 or illegal_parameter."""
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

def choose_signature_scheme(
    key: PrivateKey, peer_schemes: Sequence[int] | None, version: int, ours: list[int]
) -> int | None:
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
    unsupported_certificate (RFC 5246 §7.2.2); an RSA key that cannot be one (even modulus, small factor,
    bad exponent: RFC 8017 §3.1, :func:`tlsstate.crypto.certs.check_peer_public_key`) is bad_certificate, in
    both roles, before the key is used.
    """
    certificates, key = load_peer_certificates13(chain)
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ProtocolError(
            f"certificate key type {type(key).__name__} is not supported", AlertDescription.UNSUPPORTED_CERTIFICATE
        )
    return certificates, key


def load_peer_certificates13(chain: tuple[bytes, ...]) -> tuple[list[x509.Certificate], signatures13.PublicKey]:
    """:func:`load_peer_certificates` for TLS 1.3 (RFC 9846 §4.4.2), where Ed25519 keys sign too."""
    try:
        certificates = [x509.load_der_x509_certificate(der) for der in chain]
        key = certificates[0].public_key()
    except (ValueError, IndexError, x509.InvalidVersion) as exc:
        raise ProtocolError(f"undecodable certificate: {exc}", AlertDescription.BAD_CERTIFICATE) from None
    except UnsupportedAlgorithm as exc:
        raise ProtocolError(f"unsupported certificate key: {exc}", AlertDescription.UNSUPPORTED_CERTIFICATE) from None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise ProtocolError(
            f"certificate key type {type(key).__name__} is not supported", AlertDescription.UNSUPPORTED_CERTIFICATE
        )
    certs.check_peer_public_key(key)
    return certificates, key


def verify_client_chain(chain: list[x509.Certificate], cafile: str | None) -> None:
    """A client chain against the client CAs (RFC 5246 §7.4.6) by :func:`tlsstate.crypto.certs.verify_client_certificate`."""
    try:
        certs.verify_client_certificate(chain, cafile=cafile)
    except ConfigurationError:
        raise
    except ValueError as exc:
        raise ProtocolError(f"client certificate verification failed: {exc}", AlertDescription.BAD_CERTIFICATE) from None


def sign_certificate_verify(key: PrivateKey, version: int, scheme: int | None, messages: bytes, master: bytes) -> bytes:
    """CertificateVerify.signature over handshake_messages (RFC 5246 §7.4.8; TLS 1.0/1.1 MD5+SHA-1 / SHA-1;
    SSL 3.0: RFC 6101 §5.6.8 hashes with the master secret, RSA only)."""
    if version == ProtocolVersion.SSL3:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise HandshakeFailure("SSL 3.0 client authentication is implemented for RSA keys only")
        return signatures.ssl3_sign_certificate_verify(key, master, messages)
    return signatures.sign(key, messages, version, scheme)


def verify_certificate_verify(
    key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey, version: int, scheme: int | None, messages: bytes,
    signature: bytes, master: bytes,
) -> None:
    """Check a client's CertificateVerify (RFC 5246 §7.4.8): decrypt_error when it does not verify."""
    if version == ProtocolVersion.SSL3:
        if not isinstance(key, rsa.RSAPublicKey):
            raise HandshakeFailure("SSL 3.0 client authentication is implemented for RSA keys only")
        signatures.ssl3_verify_certificate_verify(key, master, messages, signature)
        return
    signatures.verify(key, messages, signature, version, scheme)


def verify_server_chain(chain: list[x509.Certificate], server_name: str | None, cafile: str | None) -> None:
    """Path validation and host name or IP address check (RFC 5280, RFC 6125) by
    :func:`tlsstate.crypto.certs.verify_server_certificate`; the same for every protocol version.

    Failures carry bad_certificate, unknown_ca or certificate_expired (RFC 5246 §7.2.2).
    """
    if not server_name:
        raise ProtocolError(
            "certificate verification needs a server name or IP address (or verify=False)",
            AlertDescription.BAD_CERTIFICATE,
        )
    try:
        certs.verify_server_certificate(chain, server_name, cafile=cafile)
    except ConfigurationError:  # our own bad input (CA file, host name): no alert is the peer's fault
        raise
    except ValueError as exc:  # a certificate pyca's verifier cannot even read
        raise ProtocolError(f"certificate verification failed: {exc}", AlertDescription.BAD_CERTIFICATE) from None
