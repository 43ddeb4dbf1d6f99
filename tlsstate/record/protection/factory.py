"""The protection factories: a suite, version and one direction's keys → the record protection of that mode
(RFC 5246 §6.2.3, §6.3; RFC 8446 §5.2, §7.3). Reached through :mod:`tlsstate.record.keying` only."""

from __future__ import annotations

from tlsstate.crypto.suites import CipherFamily, CipherSuite, NonceStyle
from tlsstate.record.protection.aead12 import AeadExplicitNonce, AeadXorNonce
from tlsstate.record.protection.aead13 import Tls13Aead, Tls13DraftAead
from tlsstate.record.protection.base import RecordProtection
from tlsstate.record.protection.cbc import CbcEncryptThenMac, CbcMacThenEncrypt
from tlsstate.record.protection.mac import make_record_mac
from tlsstate.record.protection.stream import StreamProtection
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError


def _check_length(what: str, value: bytes, expected: int) -> None:
    if len(value) != expected:
        raise ConfigurationError(f"{what} must be {expected} bytes, got {len(value)}")


def make_protection(
    suite: CipherSuite,
    version: ProtocolVersion | int,
    mac_key: bytes,
    key: bytes,
    iv: bytes,
    *,
    encrypt_then_mac: bool = False,
) -> RecordProtection:
    """The protection for one direction of an SSL 3.0 – TLS 1.2 connection (RFC 5246 §6.2.3).

    ``mac_key``, ``key``, ``iv`` are that direction's write values from the key block (RFC 5246 §6.3).
    ``encrypt_then_mac`` applies to CBC suites only (RFC 7366 §3: ignored for stream/AEAD).
    """
    version = int(version)
    if not ProtocolVersion.SSL3 <= version <= ProtocolVersion.TLS1_2:
        raise ConfigurationError(f"make_protection is for SSL 3.0 - TLS 1.2, not 0x{version:04x}")
    if suite.is_tls13:
        raise ConfigurationError(f"{suite.name} is a TLS 1.3 suite: use make_tls13_protection")
    spec = suite.cipher
    _check_length(f"{suite.name} write key", key, spec.key_length)
    family = spec.family
    if family is CipherFamily.AEAD:
        if spec.nonce_style is NonceStyle.EXPLICIT_PREFIX:
            return AeadExplicitNonce(spec.name, spec.algorithm, key, iv, spec.tag_length)
        return AeadXorNonce(spec.name, spec.algorithm, key, iv, spec.tag_length)
    record_mac = make_record_mac(suite.mac, version, mac_key)
    mac_name = suite.mac.hash_name.upper().replace("SHA", "SHA-").replace("SHA-1", "SHA1")
    if family is CipherFamily.NULL:
        return StreamProtection(f"NULL-{mac_name}", record_mac, None)
    if family is CipherFamily.STREAM:
        return StreamProtection(f"{spec.name}-{mac_name}", record_mac, key)
    if encrypt_then_mac and version != ProtocolVersion.SSL3:
        return CbcEncryptThenMac(f"{spec.name}-{mac_name}-EtM", spec.algorithm, key, iv, version, record_mac)
    return CbcMacThenEncrypt(f"{spec.name}-{mac_name}", spec.algorithm, key, iv, version, record_mac)


def make_tls13_protection(
    suite: CipherSuite, key: bytes, iv: bytes, *, header_is_additional_data: bool = True, name: str | None = None
) -> RecordProtection:
    """TLS 1.3 protection from a traffic key and IV (RFC 8446 §5.2, §7.3).

    ``header_is_additional_data=False`` gives the TLS 1.3 drafts before 25 (empty additional data); ``name``
    overrides the protection's display name (e.g. ``AES-128-GCM (draft-23)``).
    """
    spec = suite.cipher
    if spec.family is not CipherFamily.AEAD:
        raise ConfigurationError(f"{suite.name} is not an AEAD suite")
    _check_length(f"{suite.name} traffic key", key, spec.key_length)
    kind = Tls13Aead if header_is_additional_data else Tls13DraftAead
    return kind(name or spec.name, spec.algorithm, key, iv, spec.tag_length)
