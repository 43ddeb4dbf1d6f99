"""The key exchange group of a captured connection, by its IANA name, and the sizes of the TLS 1.3 key shares.

TLS ≤ 1.2: the ServerKeyExchange's ServerECDHParams name the curve (RFC 8422 §5.4); ServerDHParams carry the prime,
named when it is an RFC 7919 group (``ffdhe2048``...), ``modp<bits>`` for the RFC 2409 / RFC 3526 primes (not TLS
named groups, but OpenSSL's default DHE parameters), else ``custom DH <bits>-bit``; static ECDH takes the curve of
the server certificate's key (RFC 4492 §2.1). TLS 1.3: the ServerHello's key_share (RFC 8446 §4.2.8), the group a
HelloRetryRequest asked for, and every share the ClientHellos offered with its length (hybrids such as
X25519MLKEM768 send 1,216 bytes from the client and 1,120 from the server). A damaged message is the caller's note.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from tlsstate.crypto.dh import ffdhe_group_of, group_name, modp_group_of
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ExtensionType, KeyExchange
from tlsstate.wire.messages import ClientHello, ServerHello, ServerKeyExchange

__all__ = ["KeyExchangeGroup", "certificate_group", "server_key_exchange_group"]


@dataclass
class KeyExchangeGroup:
    """What the report says about one connection's key exchange."""

    group: str | None = None  # IANA name of the group the key exchange used
    client_shares: list[tuple[str, int]] = field(default_factory=list)  # TLS 1.3: (group, bytes) offered, in order
    server_share_bytes: int | None = None  # TLS 1.3: length of the server's key_exchange
    retry_group: str | None = None  # TLS 1.3: the group a HelloRetryRequest selected

    def client_hello(self, hello: ClientHello) -> None:
        """The key shares of a (first or second) ClientHello; the second replaces the first (RFC 8446 §4.1.2)."""
        found = ext.find_extension(hello.extensions, ExtensionType.KEY_SHARE)
        if found is not None:
            self.client_shares = [(group_name(e.group), len(e.key_exchange)) for e in ext.parse_key_share_client(found.data)]

    def server_hello(self, hello: ServerHello, retry: bool) -> None:
        """A TLS 1.3 ServerHello's share, or the group a HelloRetryRequest asks for (RFC 8446 §4.2.8)."""
        found = ext.find_extension(hello.extensions, ExtensionType.KEY_SHARE)
        if found is None:
            return
        if retry:
            self.retry_group = group_name(ext.parse_key_share_hello_retry(found.data))
            return
        entry = ext.parse_key_share_server(found.data)
        self.group = group_name(entry.group)
        self.server_share_bytes = len(entry.key_exchange)

    def server_key_exchange(self, body: bytes, version: int, key_exchange: KeyExchange) -> None:
        """TLS ≤ 1.2: the group the ServerKeyExchange names."""
        self.group = server_key_exchange_group(body, version, key_exchange) or self.group

    def certificate(self, der: bytes) -> None:
        """Static ECDH: the curve of the server certificate."""
        self.group = certificate_group(der) or self.group

    def to_json(self) -> dict[str, object]:
        """The ``key_shares`` object of ``--json`` (TLS 1.3; empty lists / None otherwise)."""
        return {
            "client": [{"group": name, "bytes": size} for name, size in self.client_shares],
            "server_bytes": self.server_share_bytes,
            "hello_retry_group": self.retry_group,
        }

    def describe(self) -> str:
        """One line for ``--explain``: the group and, in TLS 1.3, the share sizes."""
        parts = [self.group or "none"]
        if self.server_share_bytes is not None:
            mine = next((size for name, size in self.client_shares if name == self.group), None)
            sizes = f"client share {mine} bytes, " if mine is not None else ""
            parts.append(f"({sizes}server share {self.server_share_bytes} bytes)")
        if self.retry_group:
            parts.append(f"after a HelloRetryRequest for {self.retry_group}")
        return " ".join(parts)


def server_key_exchange_group(body: bytes, version: int, key_exchange: KeyExchange) -> str | None:
    """The group a TLS ≤ 1.2 ServerKeyExchange names (RFC 8422 §5.4, RFC 5246 §7.4.3, RFC 7919 §3)."""
    message = ServerKeyExchange.parse(body, version, key_exchange)
    if message.named_group is not None:
        return group_name(message.named_group)
    if message.dh_p:
        named = ffdhe_group_of(message.dh_p, message.dh_g)
        if named is not None:
            return group_name(named)
        modp = modp_group_of(message.dh_p, message.dh_g)
        if modp is not None:
            return f"modp{modp}"  # RFC 2409 / RFC 3526 (not a TLS named group)
        return f"custom DH {int.from_bytes(message.dh_p, 'big').bit_length()}-bit"
    return None


def certificate_group(der: bytes) -> str | None:
    """Static ECDH (RFC 4492 §2.1-§2.2): the curve of the server certificate's public key, or None."""
    try:
        key = x509.load_der_x509_certificate(der).public_key()
    except (ValueError, x509.InvalidVersion, UnsupportedAlgorithm):  # damaged, or a key type pyca does not know
        return None
    return key.curve.name if isinstance(key, ec.EllipticCurvePublicKey) else None
