"""Where decryption keys come from: NSS key logs, RSA private keys, a pre-shared key.

* RSA key exchange (RFC 5246 §7.4.7.1): the premaster is decrypted from the ClientKeyExchange with the
  server's private key (PKCS #1 v1.5). Keys are loaded from PEM (PKCS #1 or PKCS #8), DER or PKCS #12 and
  matched to the server certificate by public modulus, so several keys may be given.
* PSK (RFC 4279 §2): premaster = uint16 N, N zero bytes, uint16 N, psk; RSA_PSK (§4): uint16 48, the
  RSA-decrypted 48 bytes, uint16 N, psk.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key, pkcs12

from tlsstate.wire.errors import ConfigurationError
from tlsstate.wire.keylog import KeyLog, load_keylog, parse_keylog

__all__ = ["KeySource", "RsaKey", "load_rsa_key", "psk_premaster", "rsa_psk_premaster"]


@dataclass
class RsaKey:
    """An RSA private key and the file it came from (never printed)."""

    key: rsa.RSAPrivateKey = field(repr=False)
    source: str

    @property
    def modulus(self) -> int:
        """Public modulus n (for matching a certificate)."""
        return self.key.public_key().public_numbers().n


def load_rsa_key(path: str | Path, password: str | None = None) -> RsaKey:
    """Load an RSA private key from PEM/DER (PKCS #1 or #8) or PKCS #12; ConfigurationError if impossible."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read RSA key {path}: {exc.strerror}") from None
    secret = password.encode() if password is not None else None
    errors: list[str] = []
    key: object = None
    loaders: list[Callable[[], object]] = []
    if b"-----BEGIN" in data:
        loaders.append(lambda: load_pem_private_key(data, secret))
    else:
        loaders.append(lambda: pkcs12.load_key_and_certificates(data, secret)[0])
        loaders.append(lambda: load_der_private_key(data, secret))
    for loader in loaders:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # BER-encoded PKCS #12 (e.g. IBM's) parses with a warning
                key = loader()
            break
        except (ValueError, TypeError) as exc:
            errors.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if key is None:
        raise ConfigurationError(f"cannot load RSA key {path}: {'; '.join(errors) or 'no key in file'}")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"{path} holds a {type(key).__name__}, not an RSA private key")
    return RsaKey(key, str(path))


def psk_premaster(psk: bytes) -> bytes:
    """RFC 4279 §2: ``uint16 N || N zero bytes || uint16 N || psk``."""
    n = len(psk)
    return struct.pack(">H", n) + bytes(n) + struct.pack(">H", n) + psk


def rsa_psk_premaster(rsa_premaster: bytes, psk: bytes) -> bytes:
    """RFC 4279 §4: ``uint16 48 || 48-byte RSA premaster || uint16 N || psk``."""
    return struct.pack(">H", len(rsa_premaster)) + rsa_premaster + struct.pack(">H", len(psk)) + psk


@dataclass
class KeySource:
    """All key material given to one decryption run."""

    keylog: KeyLog = field(default_factory=KeyLog)
    rsa_keys: list[RsaKey] = field(default_factory=list)
    psk: bytes | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)

    def add_keylog_file(self, path: str | Path) -> None:
        """Merge a key log file (malformed lines become warnings)."""
        try:
            keylog, warnings = load_keylog(path)
        except OSError as exc:
            raise ConfigurationError(f"cannot read key log {path}: {exc.strerror}") from None
        self.keylog.merge(keylog)
        self.warnings.extend(warnings)

    def add_keylog_text(self, text: str, source: str) -> None:
        """Merge key log text (e.g. from a pcapng Decryption Secrets Block)."""
        keylog, warnings = parse_keylog(text, source=source)
        self.keylog.merge(keylog)
        self.warnings.extend(warnings)

    def rsa_key_for(self, certificate_der: bytes | None) -> RsaKey | None:
        """The RSA key whose modulus matches the server certificate (the only key if no certificate seen)."""
        if not self.rsa_keys:
            return None
        if certificate_der is None:
            return self.rsa_keys[0] if len(self.rsa_keys) == 1 else None
        try:
            public = x509.load_der_x509_certificate(certificate_der).public_key()
        except (ValueError, x509.InvalidVersion, UnsupportedAlgorithm):  # damaged, or a key type pyca does not know
            return None
        if not isinstance(public, rsa.RSAPublicKey):
            return None
        modulus = public.public_numbers().n
        for key in self.rsa_keys:
            if key.modulus == modulus:
                return key
        return None

    @staticmethod
    def rsa_decrypt(key: RsaKey, encrypted: bytes) -> bytes | None:
        """PKCS #1 v1.5 decryption of an encrypted premaster; None when it fails."""
        try:
            return key.key.decrypt(encrypted, padding.PKCS1v15())
        except ValueError:
            return None
