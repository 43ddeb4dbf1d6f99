"""The six values of a TLS ≤ 1.2 connection state, cut from the key block.

RFC 5246 §6.3: the key block is partitioned, in this order, into client_write_MAC_key,
server_write_MAC_key, client_write_key, server_write_key, client_write_IV, server_write_IV.
Lengths come from the suite row: ``mac_key_length()``, ``cipher.key_length`` and ``iv_length(version)``
(RFC 6101 §6.2.2 for SSL 3.0, RFC 5288 §3 GCM salt, RFC 7905 §2 ChaCha20 nonce mask). Export ciphers take only
the MAC keys and 5 bytes of key material per side from the key block; their final keys and IVs are derived from
that and the randoms (RFC 2246 §6.3, RFC 6101 §6.2.2: :func:`tlsstate.crypto.prf.export_keys`).

Secrets never appear in a repr: a value prints as ``<secret 20B>``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from tlsstate.crypto import prf
from tlsstate.crypto.suites import CipherSuite
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError

KEY_NAMES: tuple[str, ...] = (
    "client_write_mac_key",
    "server_write_mac_key",
    "client_write_key",
    "server_write_key",
    "client_write_iv",
    "server_write_iv",
)


def redact(value: bytes | None) -> str:
    """How a secret prints: ``<secret 20B>`` (its length only), ``None`` when absent."""
    return "None" if value is None else f"<secret {len(value)}B>"


@dataclass(frozen=True, slots=True, repr=False)
class ConnectionKeys:
    """The six values of RFC 5246 §6.3 (empty bytes where the suite/version has none)."""

    client_write_mac_key: bytes
    server_write_mac_key: bytes
    client_write_key: bytes
    server_write_key: bytes
    client_write_iv: bytes
    server_write_iv: bytes

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={redact(getattr(self, name))}" for name in KEY_NAMES)
        return f"ConnectionKeys({inner})"

    __str__ = __repr__

    def as_hex_dict(self) -> dict[str, str]:
        """The six values as lowercase hex, keyed by their RFC names (the ``tlsstate keys --json`` keys)."""
        return {name: getattr(self, name).hex() for name in KEY_NAMES}

    def for_writer(self, writer: str) -> tuple[bytes, bytes, bytes]:
        """(mac_key, key, iv) protecting the records that ``writer`` ("client" or "server") sends."""
        if writer == "client":
            return self.client_write_mac_key, self.client_write_key, self.client_write_iv
        if writer == "server":
            return self.server_write_mac_key, self.server_write_key, self.server_write_iv
        raise ConfigurationError(f"writer must be 'client' or 'server', not {writer!r}")


def _check_suite_version(suite: CipherSuite, version: ProtocolVersion | int) -> None:
    if suite.is_tls13:
        raise ConfigurationError(f"{suite.name} is a TLS 1.3 suite: its keys come from schedule13, not a key block")
    if not suite.readable_in(version):
        try:
            name = ProtocolVersion(int(version)).label
        except ValueError:
            name = f"0x{int(version):04x}"
        raise ConfigurationError(f"{suite.name} is not valid in {name}")


def key_block_length(suite: CipherSuite, version: ProtocolVersion | int) -> int:
    """Bytes of key block the suite needs in ``version``: 2 × (MAC key + write key + IV) (RFC 5246 §6.3)."""
    return suite.key_block_length(version)


def partition_key_block(suite: CipherSuite, version: ProtocolVersion | int, block: bytes) -> ConnectionKeys:
    """Cut the key block into the six values in RFC 5246 §6.3 order.

    ``block`` may be longer than needed (the rest is ignored, as in a Wireshark key expansion); shorter is an error.
    For an export cipher the write keys are the 5-byte key material and the IVs are empty: the final values come
    from :func:`derive_connection_keys` (they need the randoms).
    """
    _check_suite_version(suite, version)
    mac_len = suite.mac_key_length()
    key_len = suite.cipher.key_material_length
    iv_len = 0 if suite.cipher.is_export else suite.iv_length(version)
    needed = 2 * (mac_len + key_len + iv_len)
    if len(block) < needed:
        raise ConfigurationError(f"key block of {len(block)} bytes is shorter than the {needed} {suite.name} needs")
    parts: list[bytes] = []
    offset = 0
    for length in (mac_len, mac_len, key_len, key_len, iv_len, iv_len):
        parts.append(block[offset : offset + length])
        offset += length
    return ConnectionKeys(*parts)


def derive_connection_keys(
    suite: CipherSuite, version: ProtocolVersion | int, master: bytes, client_random: bytes, server_random: bytes
) -> ConnectionKeys:
    """key_block = PRF(master, "key expansion", server_random + client_random), partitioned (RFC 5246 §6.3).

    SSL 3.0 uses the MD5/SHA-1 expansion (RFC 6101 §6.2.2). Export ciphers: the final keys and IVs from the key
    material and the randoms (RFC 2246 §6.3, RFC 6101 §6.2.2).
    """
    _check_suite_version(suite, version)
    block = prf.key_block(version, suite.prf_hash, master, client_random, server_random, suite.key_block_length(version))
    keys = partition_key_block(suite, version, block)
    if not suite.cipher.is_export:
        return keys
    client_key, server_key, client_iv, server_iv = prf.export_keys(
        version, keys.client_write_key, keys.server_write_key, client_random, server_random,
        suite.cipher.key_length, suite.iv_length(version),
    )
    return replace(keys, client_write_key=client_key, server_write_key=server_key, client_write_iv=client_iv,
                   server_write_iv=server_iv)


@dataclass(slots=True, repr=False)
class SecurityParameters:
    """What a finished TLS ≤ 1.2 handshake produces (RFC 5246 §6.1, Appendix A.6).

    ``premaster_secret`` is None when the session was resumed (only the master secret is known).
    The repr shows lengths of secrets, never their bytes.
    """

    version: ProtocolVersion | int
    suite: CipherSuite
    client_random: bytes
    server_random: bytes
    premaster_secret: bytes | None
    master_secret: bytes
    extended_master_secret: bool
    encrypt_then_mac: bool
    keys: ConnectionKeys
    session_id: bytes = b""

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("premaster_secret", "master_secret"):
                shown = redact(value)
            elif f.name == "suite":
                shown = value.name
            elif f.name == "version":
                try:
                    shown = ProtocolVersion(int(value)).label
                except ValueError:
                    shown = f"0x{int(value):04x}"
            elif isinstance(value, bytes):
                shown = value.hex()  # randoms and session id are public (sent in clear)
            else:
                shown = repr(value)
            parts.append(f"{f.name}={shown}")
        return f"SecurityParameters({', '.join(parts)})"

    __str__ = __repr__
