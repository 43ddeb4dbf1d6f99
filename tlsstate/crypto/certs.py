"""Certificates and private keys: loading, generating (self-signed, test CA), verifying, summarizing.

Verification is pyca/cryptography's RFC 5280 path builder with RFC 6125 name checks
(``cryptography.x509.verification``: ``PolicyBuilder`` with ``ExtensionPolicy`` overrides, ``ServerVerifier`` with a
``DNSName`` or ``IPAddress`` subject, ``ClientVerifier``); failures raise :class:`CertificateError` subclasses carrying
the RFC 5246 §7.2.2 alert: ``certificate_expired``, ``unknown_ca`` or ``bad_certificate``. The extension policies are
pyca's Web PKI defaults relaxed to what OpenSSL's verifier (and so ``openssl s_client``, curl and CPython ``ssl``)
accepts, see :data:`EE_POLICY` and :data:`CA_POLICY`.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, Policy, PolicyBuilder, Store, VerificationError

from tlsstate.wire.errors import (  # noqa: F401  (the certificate errors were defined here; still importable)
    CertificateError,
    CertificateExpired,
    ConfigurationError,
    HostnameMismatch,
    ProtocolError,
    UnknownCA,
)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"
DEFAULT_HOSTNAMES = ("localhost", "127.0.0.1", "::1")
KEY_TYPES = ("rsa2048", "rsa3072", "rsa4096", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519")


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

Source = str | os.PathLike[str] | bytes


def _read(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {os.fspath(source)}: {exc.strerror}") from None


def _password(password: str | bytes | None) -> bytes | None:
    return password.encode() if isinstance(password, str) else password


def load_certificates(source: Source) -> list[x509.Certificate]:
    """Every certificate in a PEM file/bytes (in order), or the one certificate of a DER file."""
    data = _read(source)
    try:
        pem = b"-----BEGIN" in data
        certs = x509.load_pem_x509_certificates(data) if pem else [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ConfigurationError(f"not a certificate (PEM or DER): {exc}") from None
    return certs


def _check_key(key: Any) -> PrivateKey:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise ConfigurationError(f"unsupported private key type {type(key).__name__} (use RSA, ECDSA or Ed25519)")
    return key


def load_private_key(source: Source, password: str | bytes | None = None) -> PrivateKey:
    """A private key from PEM (PKCS#8, traditional RSA/EC, encrypted or not) or DER (PKCS#8 / PKCS#1).

    A missing or wrong password -> ConfigurationError.
    """
    data = _read(source)
    secret = _password(password)
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, secret)
        else:
            key = serialization.load_der_private_key(data, secret)
    except TypeError as exc:  # encrypted without password / password for a plain key
        raise ConfigurationError(f"private key: {exc}") from None
    except ValueError as exc:
        raise ConfigurationError(f"cannot load private key (wrong password or not a key): {exc}") from None
    return _check_key(key)


def load_pkcs12(source: Source, password: str | bytes | None = None) -> tuple[PrivateKey, list[x509.Certificate]]:
    """(key, chain with the leaf first) from a PKCS#12 bundle (RFC 7292)."""
    data = _read(source)
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, _password(password))
    except ValueError as exc:
        raise ConfigurationError(f"cannot load PKCS#12 (wrong password or not PKCS#12): {exc}") from None
    if key is None or cert is None:
        raise ConfigurationError("PKCS#12 bundle has no private key and certificate")
    return _check_key(key), [cert, *extra]


def load_cert_and_key(
    cert_source: Source, key_source: Source | None = None, password: str | bytes | None = None
) -> tuple[list[x509.Certificate], PrivateKey]:
    """A chain and its key: PEM/DER files, one PEM holding both, or a ``.p12``/``.pfx`` bundle.

    ConfigurationError if the key does not match the leaf certificate.
    """
    name = os.fspath(cert_source) if not isinstance(cert_source, bytes) else ""
    if str(name).lower().endswith((".p12", ".pfx")):
        key, chain = load_pkcs12(cert_source, password)
    else:
        chain = load_certificates(cert_source)
        key = load_private_key(key_source if key_source is not None else cert_source, password)
    if not public_keys_equal(chain[0].public_key(), key.public_key()):
        raise ConfigurationError("the private key does not belong to the first certificate")
    return chain, key


def public_keys_equal(a: Any, b: Any) -> bool:
    """True if two public keys are the same key (compared as SubjectPublicKeyInfo DER)."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return bool(a.public_bytes(*spki) == b.public_bytes(*spki))


# Odd primes below 1000: a modulus divisible by one of them is not an RSA modulus worth using
# (NIST SP 800-89 §5.3.3 partial public-key validation checks for small factors).
_SMALL_PRIMES_PRODUCT = 1
for _p in range(3, 1000, 2):
    if all(_p % _d for _d in range(3, int(_p**0.5) + 1, 2)):
        _SMALL_PRIMES_PRODUCT *= _p
del _p


def check_peer_public_key(key: Any) -> None:
    """Partial validation of a peer certificate's public key before it is used (RFC 5246 §7.4.2, §7.2.2).

    RSA (RFC 8017 §3.1): the modulus ``n`` is a product of odd primes, so it must be odd, above 1 and
    free of small prime factors; the exponent ``e`` must satisfy 3 <= e <= n-1 and be odd (it is
    coprime to λ(n), which is even). An even modulus would otherwise reach pyca's ``encrypt`` and fail
    there as ``ValueError("Encryption failed")``. EC public keys are already checked on decoding by
    pyca (the point is on the curve). A failure is :class:`CertificateError` (bad_certificate).
    """
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        n, e = numbers.n, numbers.e
        if n <= 1 or n % 2 == 0:
            raise CertificateError("the certificate's RSA modulus is even: not an RSA key")
        if not 3 <= e < n or e % 2 == 0:
            raise CertificateError(f"the certificate's RSA public exponent {e} is invalid (RFC 8017 §3.1)")
        if math.gcd(n, _SMALL_PRIMES_PRODUCT) != 1:
            raise CertificateError("the certificate's RSA modulus has a small prime factor")


# ---------------------------------------------------------------------------------------------
# Generating
# ---------------------------------------------------------------------------------------------


def generate_private_key(key_type: str = "rsa2048") -> PrivateKey:
    """A new key: ``rsa2048|rsa3072|rsa4096|ecdsa-p256|ecdsa-p384|ecdsa-p521|ed25519``."""
    if key_type.startswith("rsa") and key_type[3:] in ("2048", "3072", "4096"):
        return rsa.generate_private_key(65537, int(key_type[3:]))
    curves: dict[str, ec.EllipticCurve] = {
        "ecdsa-p256": ec.SECP256R1(), "ecdsa-p384": ec.SECP384R1(), "ecdsa-p521": ec.SECP521R1(),
    }
    if key_type in curves:
        return ec.generate_private_key(curves[key_type])
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ConfigurationError(f"unknown key type {key_type!r} (use one of {', '.join(KEY_TYPES)})")


def _signing_hash(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _general_names(hostnames: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(
    days: int, not_before: datetime.datetime | None, not_after: datetime.datetime | None
) -> tuple[datetime.datetime, datetime.datetime]:
    start = not_before or datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    end = not_after or start + datetime.timedelta(days=days)
    return start, end


def _key_usage(key: PrivateKey, *, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey) and not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _leaf_builder(
    subject_key: PrivateKey,
    issuer_name: x509.Name,
    issuer_key: PrivateKey,
    hostnames: Sequence[str],
    start: datetime.datetime,
    end: datetime.datetime,
) -> x509.CertificateBuilder:
    if not hostnames:
        raise ConfigurationError("a certificate needs at least one host name")
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0]))
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(_general_names(hostnames)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(subject_key, ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
        # Also on self-signed leaves: pyca's verifier requires it of every end-entity certificate.
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    return builder


def generate_self_signed(
    hostnames: Sequence[str] = DEFAULT_HOSTNAMES,
    key_type: str = "rsa2048",
    days: int = 30,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """A self-signed server certificate naming ``hostnames`` (DNS names and IP addresses in the SAN)."""
    key = generate_private_key(key_type)
    start, end = _validity(days, not_before, not_after)
    builder = _leaf_builder(key, _name(hostnames[0] if hostnames else ""), key, hostnames, start, end)
    return builder.sign(key, _signing_hash(key)), key


def self_signed_localhost() -> tuple[list[x509.Certificate], rsa.RSAPrivateKey]:
    """A fresh self-signed RSA-2048 server certificate for ``localhost`` / 127.0.0.1 / ::1, as (chain, key).

    What ``tlsstate serve`` uses without ``--cert``, and what ``tlsstate demo`` and the handshake benchmark serve
    with (RSA, so that both RSA and ECDHE_RSA key exchange work, RFC 5246 §7.4.2).
    """
    certificate, key = generate_self_signed(DEFAULT_HOSTNAMES, "rsa2048")
    assert isinstance(key, rsa.RSAPrivateKey)
    return [certificate], key


def make_ca(
    common_name: str = "tlsstate test CA",
    key_type: str = "ecdsa-p256",
    days: int = 30,
    *,
    issuer: tuple[x509.Certificate, PrivateKey] | None = None,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """A CA certificate: a root (self-signed) or, with ``issuer=(ca_cert, ca_key)``, an intermediate."""
    key = generate_private_key(key_type)
    start, end = _validity(days, not_before, not_after)
    issuer_name = issuer[0].subject if issuer else _name(common_name)
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(key, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False
        )
    return builder.sign(signing_key, _signing_hash(signing_key)), key


def issue_certificate(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    hostnames: Sequence[str] = DEFAULT_HOSTNAMES,
    key_type: str = "ecdsa-p256",
    days: int = 30,
    *,
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """A leaf (serverAuth + clientAuth) for ``hostnames`` signed by a CA from :func:`make_ca`."""
    key = generate_private_key(key_type)
    start, end = _validity(days, not_before, not_after)
    builder = _leaf_builder(key, ca_cert.subject, ca_key, hostnames, start, end)
    return builder.sign(ca_key, _signing_hash(ca_key)), key


def certificate_pem(certificates: x509.Certificate | Sequence[x509.Certificate]) -> bytes:
    """PEM text of one certificate or a chain."""
    chain = [certificates] if isinstance(certificates, x509.Certificate) else list(certificates)
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)


def private_key_pem(key: PrivateKey, password: str | bytes | None = None) -> bytes:
    """PKCS#8 PEM of a key, encrypted with the best available algorithm when ``password`` is given."""
    secret = _password(password)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def write_pem_files(
    certificates: x509.Certificate | Sequence[x509.Certificate],
    key: PrivateKey,
    cert_path: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    password: str | bytes | None = None,
) -> None:
    """Write the chain (PEM) and the key (PKCS#8 PEM, mode 0600)."""
    Path(cert_path).write_bytes(certificate_pem(certificates))
    fd = os.open(os.fspath(key_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_key_pem(key, password))


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------

_STORE_CACHE: dict[tuple[str, int, int], Store] = {}


def _ca_key_usage(policy: Policy, cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    """RFC 5280 §4.2.1.3: a CA's keyUsage, when present, asserts keyCertSign (absent: allowed, as in OpenSSL)."""
    if usage is not None and not usage.key_cert_sign:
        raise ValueError("a CA certificate's keyUsage must assert keyCertSign (RFC 5280 §4.2.1.3)")


#: End-entity policy: pyca's Web PKI defaults, except that basicConstraints may say cA (``openssl req -x509`` marks
#: every self-signed certificate CA:TRUE; OpenSSL accepts such a leaf) and authorityKeyIdentifier may be missing
#: (RFC 5280 §4.2.1.1 only asks it of CA-issued certificates, and OpenSSL does not require it). The subjectAltName
#: rule (required for a server name) and the extendedKeyUsage check (serverAuth / clientAuth when present) stay.
EE_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
)

#: End-entity policy for client certificates (RFC 5246 §7.4.6): :data:`EE_POLICY`, and subjectAltName may be absent
#: (a client certificate names a person or a device, often by its subject alone; OpenSSL does not ask for one).
CLIENT_EE_POLICY = EE_POLICY.may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)


def _server_auth_usage(policy: Policy, cert: x509.Certificate, usage: x509.ExtendedKeyUsage | None) -> None:
    """RFC 5280 §4.2.1.12: an extendedKeyUsage, when present, allows serverAuth (or anyExtendedKeyUsage)."""
    if usage is not None and not {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE} & set(usage):
        raise ValueError("the certificate's extendedKeyUsage does not allow serverAuth (RFC 5280 §4.2.1.12)")


#: A server leaf with no subjectAltName at all: pyca's server verifier insists on one, so the path is checked by its
#: client verifier under this policy (:data:`CLIENT_EE_POLICY`, with the extendedKeyUsage check made serverAuth's)
#: and the name against the subject's common name (RFC 6125 §6.4.4), as OpenSSL, curl and CPython ``ssl`` do. (Its CA
#: policy then checks a CA's extendedKeyUsage, when one has it, for clientAuth: such a CA is refused on this path.)
NO_SAN_SERVER_EE_POLICY = CLIENT_EE_POLICY.may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _server_auth_usage)

#: CA policy: pyca's Web PKI defaults, except that keyUsage may be absent (``openssl req -x509`` with OpenSSL 3.0's
#: default configuration writes none); when present it must assert keyCertSign. basicConstraints cA, path length and
#: name constraints are still checked (RFC 5280 §6.1).
CA_POLICY = ExtensionPolicy.webpki_defaults_ca().may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _ca_key_usage)


def _policy_builder(store: Store, moment: datetime.datetime, ee_policy: ExtensionPolicy = EE_POLICY) -> PolicyBuilder:
    """The path builder both verifiers use: the anchors, the validation time and our extension policies.

    A leaf that is itself in the store is a path of its own (as in OpenSSL, curl and CPython ``ssl``): a
    self-signed certificate given as the CA file is trusted. So is a CA-issued leaf put in the CA file without its
    issuer (curl and CPython >= 3.13 set OpenSSL's X509_V_FLAG_PARTIAL_CHAIN to the same effect).
    """
    return PolicyBuilder().store(store).time(moment).extension_policies(ca_policy=CA_POLICY, ee_policy=ee_policy)


def load_trust_store(cafile: str | os.PathLike[str] | None = None) -> Store:
    """A pyca Store from a PEM CA file (default: the system bundle, :data:`SYSTEM_CA_FILE`); cached per file."""
    path = os.fspath(cafile) if cafile is not None else SYSTEM_CA_FILE
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read CA file {path}: {exc.strerror}") from None
    cache_key = (path, stat.st_mtime_ns, stat.st_size)
    store = _STORE_CACHE.get(cache_key)
    if store is None:
        with warnings.catch_warnings():  # system bundles hold old roots with non-positive serials
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            certs = load_certificates(path)
        if not certs:
            raise ConfigurationError(f"no certificates in CA file {path}")
        store = Store(certs)
        _STORE_CACHE[cache_key] = store
    return store


def _store(cafile: str | os.PathLike[str] | None, ca_certs: Sequence[x509.Certificate] | None) -> Store:
    if ca_certs is not None:
        if not ca_certs:
            raise ConfigurationError("empty list of trusted CA certificates")
        return Store(list(ca_certs))
    return load_trust_store(cafile)


def _subject_name(hostname: str) -> Any:
    """The verifier's subject: an IP address, or a DNS name (IDNA-encoded to its A-label form).

    A name that is neither -> ConfigurationError (it is our own input, not the peer's fault).
    """
    from cryptography.x509.verification import DNSName, IPAddress  # type: ignore[attr-defined]

    try:
        return IPAddress(ipaddress.ip_address(hostname.strip("[]")))
    except ValueError:
        pass
    try:
        return DNSName(_a_label(hostname))
    except ValueError:
        raise ConfigurationError(f"not a valid host name or IP address: {hostname!r}") from None


def _a_label(hostname: str) -> str:
    """A DNS name in its lower-case A-label (IDNA) form; ConfigurationError when it is none."""
    try:
        return hostname.rstrip(".").encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        raise ConfigurationError(f"not a valid host name or IP address: {hostname!r}") from None


def _is_ip_literal(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        return False
    return True


def _as_certificates(chain: Sequence[x509.Certificate | bytes]) -> list[x509.Certificate]:
    out = []
    for item in chain:
        if isinstance(item, x509.Certificate):
            out.append(item)
            continue
        try:
            out.append(x509.load_der_x509_certificate(item))
        except ValueError as exc:
            raise CertificateError(f"undecodable certificate: {exc}") from None
    if not out:
        raise CertificateError("the peer sent no certificate")
    return out


def _check_validity(chain: Sequence[x509.Certificate], now: datetime.datetime) -> None:
    for position, cert in enumerate(chain):
        if now > cert.not_valid_after_utc:
            raise CertificateExpired(
                f"certificate {position} ({cert.subject.rfc4514_string()}) expired "
                f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
            )
        if now < cert.not_valid_before_utc:
            raise CertificateExpired(
                f"certificate {position} ({cert.subject.rfc4514_string()}) is not valid before "
                f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
            )


def _raise_for(exc: VerificationError, what: str) -> None:
    text = str(exc)
    if "subjectAltName" in text:
        raise HostnameMismatch(f"{what}: {text}") from None
    if "not valid at validation time" in text:
        raise CertificateExpired(f"{what}: {text}") from None
    if "candidates exhausted" in text or "no valid chain" in text:
        raise UnknownCA(f"{what}: no chain to a trusted CA ({text})") from None
    raise CertificateError(f"{what}: {text}") from None


def verify_server_certificate(
    chain: Sequence[x509.Certificate | bytes],
    hostname: str,
    *,
    cafile: str | os.PathLike[str] | None = None,
    ca_certs: Sequence[x509.Certificate] | None = None,
    now: datetime.datetime | None = None,
) -> list[x509.Certificate]:
    """Verify a server's chain (leaf first; DER or objects) for ``hostname`` (DNS name or IP address).

    Trust anchors: ``ca_certs``, else ``cafile``, else the system bundle. Returns the validated path
    (leaf ... anchor). Raises CertificateExpired (certificate_expired), HostnameMismatch
    (bad_certificate), UnknownCA (unknown_ca) or CertificateError (bad_certificate).
    """
    certs = _as_certificates(chain)
    moment = now or datetime.datetime.now(datetime.UTC)
    _check_validity(certs, moment)
    subject = _subject_name(hostname)
    if not _has_subject_alt_name(certs[0]):
        return _verify_by_common_name(certs, hostname, _store(cafile, ca_certs), moment)
    builder = _policy_builder(_store(cafile, ca_certs), moment)
    try:
        verifier = builder.build_server_verifier(subject)
    except ValueError:
        raise ConfigurationError(f"not a valid host name or IP address: {hostname!r}") from None
    try:
        return list(verifier.verify(certs[0], certs[1:]))
    except VerificationError as exc:
        _raise_for(exc, f"server certificate for {hostname!r}")
        raise  # pragma: no cover - _raise_for always raises


def _has_subject_alt_name(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    return True


def _verify_by_common_name(
    certs: list[x509.Certificate], hostname: str, store: Store, moment: datetime.datetime
) -> list[x509.Certificate]:
    """A leaf without subjectAltName: the path by :data:`NO_SAN_SERVER_EE_POLICY`, then the DNS name against the
    common name (RFC 6125 §6.4.4). An IP address is never matched against a common name (OpenSSL's X509_check_ip)."""
    what = f"server certificate for {hostname!r}"
    if _is_ip_literal(hostname):
        raise HostnameMismatch(f"{what}: no subjectAltName, so no iPAddress entry can match {hostname}")
    builder = _policy_builder(store, moment, NO_SAN_SERVER_EE_POLICY)
    try:
        path = list(builder.build_client_verifier().verify(certs[0], certs[1:]).chain)
    except VerificationError as exc:
        _raise_for(exc, what)
        raise  # pragma: no cover
    if not certificate_covers(certs[0], _a_label(hostname)):
        names = ", ".join(_dns_names(certs[0])) or "(none)"
        raise HostnameMismatch(f"{what}: no subjectAltName, and its common name ({names}) does not match")
    return path


def verify_client_certificate(
    chain: Sequence[x509.Certificate | bytes],
    *,
    cafile: str | os.PathLike[str] | None = None,
    ca_certs: Sequence[x509.Certificate] | None = None,
    now: datetime.datetime | None = None,
) -> list[x509.Certificate]:
    """Verify a client's chain (RFC 5246 §7.4.6) against the given anchors; same errors as the server check."""
    certs = _as_certificates(chain)
    moment = now or datetime.datetime.now(datetime.UTC)
    _check_validity(certs, moment)
    builder = _policy_builder(_store(cafile, ca_certs), moment, CLIENT_EE_POLICY)
    try:
        verified = builder.build_client_verifier().verify(certs[0], certs[1:])
    except VerificationError as exc:
        _raise_for(exc, "client certificate")
        raise  # pragma: no cover
    return list(verified.chain)


# ---------------------------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CertificateSummary:
    """What a person wants to see about a certificate."""

    subject: str
    issuer: str
    serial_number: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    key_type: str
    key_size: int
    subject_alt_names: tuple[str, ...]
    sha256_fingerprint: str
    self_signed: bool
    is_ca: bool

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (datetimes as ISO 8601)."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial_number": self.serial_number,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key_type": self.key_type,
            "key_size": self.key_size,
            "subject_alt_names": list(self.subject_alt_names),
            "sha256_fingerprint": self.sha256_fingerprint,
            "self_signed": self.self_signed,
            "is_ca": self.is_ca,
        }

    def lines(self) -> list[str]:
        """Readable ``label: value`` lines."""
        return [
            f"subject: {self.subject}",
            f"issuer: {self.issuer}",
            f"validity: {self.not_before:%Y-%m-%d %H:%M:%S} UTC .. {self.not_after:%Y-%m-%d %H:%M:%S} UTC",
            f"key: {self.key_type} {self.key_size} bits",
            f"subject alt names: {', '.join(self.subject_alt_names) or '(none)'}",
            f"sha256 fingerprint: {self.sha256_fingerprint}",
        ]


@functools.lru_cache(maxsize=64)
def _dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The certificate's DNS names, lower case: its subjectAltName dNSNames, else its subject common names
    (RFC 6125 §6.4.4)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return tuple(name.lower() for name in san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        return tuple(str(a.value).lower() for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))


def certificate_covers(cert: x509.Certificate, host_name: str) -> bool:
    """True when ``cert`` names ``host_name`` (an A-label DNS name): an exact match, case-insensitive, or a wildcard
    ``*.`` as the whole leftmost label standing for exactly one label (RFC 6125 §6.4.1-§6.4.3). A server uses it to
    know whether it has a certificate for a client's server_name (RFC 6066 §3)."""
    host = host_name.lower()
    _, _, parent = host.partition(".")
    return any(name == host or (name.startswith("*.") and parent and name[2:] == parent) for name in _dns_names(cert))


def _key_description(cert: x509.Certificate) -> tuple[str, int]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, 0


def summarize(cert: x509.Certificate) -> CertificateSummary:
    """Subject, issuer, validity, key type/size, SANs and SHA-256 fingerprint (colon-separated hex)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(
            [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
            + [f"IP:{a}" for a in san.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        names = ()
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    key_type, key_size = _key_description(cert)
    fingerprint = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateSummary(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial_number=f"{cert.serial_number:X}",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key_type=key_type,
        key_size=key_size,
        subject_alt_names=names,
        sha256_fingerprint=":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)),
        self_signed=cert.subject == cert.issuer,
        is_ca=is_ca,
    )
