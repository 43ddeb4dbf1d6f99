"""TLS 1.3 key exchange through ``key_share`` (RFC 9846 §4.2.8, §7.4): each group's share and shared secret.

A client makes one :class:`ClientShare` per group it offers a share for and later meets the server's share with
:meth:`ClientShare.shared_secret`; a server answers a client's share in one step with :func:`server_share`
(for a KEM group that step is the encapsulation). Every received share is validated before use
(:func:`tlsstate.crypto.dh.load_ec_public`: exact length, uncompressed point on the curve; X25519/X448: the
all-zero result of a small-order value is refused), a bad one is illegal_parameter (§4.2.8.2).

The (EC)DHE shared secret is the x-coordinate for the NIST curves (§7.4.2) and the X25519/X448 output
(RFC 7748 §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tlsstate.crypto.dh import EcdheKeyPair, generate_ecdhe, group_name
from tlsstate.wire.constants import NamedGroup
from tlsstate.wire.errors import IllegalParameter

#: The groups a TLS 1.3 handshake can run, in tlsstate's order of preference (RFC 9846 §4.2.7).
TLS13_GROUPS: tuple[int, ...] = (
    NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1, NamedGroup.X448,
)


@dataclass(frozen=True)
class ClientShare:
    """Our share for one group in a ClientHello and the private part behind it."""

    group: int
    key_pair: EcdheKeyPair = field(repr=False)

    @property
    def public_bytes(self) -> bytes:
        """``KeyShareEntry.key_exchange`` (RFC 9846 §4.2.8.2: 04||X||Y, or the X25519/X448 u-coordinate)."""
        return self.key_pair.public_bytes

    def shared_secret(self, server_key_exchange: bytes) -> bytes:
        """The (EC)DHE shared secret with the server's share (RFC 9846 §7.4.2); illegal_parameter if invalid."""
        return self.key_pair.shared_secret(server_key_exchange)


def is_ffdhe(group: int) -> bool:
    """An RFC 7919 finite-field group (0x0100-0x01FF)."""
    return 0x0100 <= group <= 0x01FF


def supported(group: int) -> bool:
    """Whether tlsstate runs ``group`` in TLS 1.3."""
    return group in TLS13_GROUPS


def client_share(group: int) -> ClientShare:
    """A fresh share for ``group`` (RFC 9846 §4.2.8)."""
    _require_supported(group)
    return ClientShare(int(group), generate_ecdhe(group))


def server_share(group: int, client_key_exchange: bytes) -> tuple[bytes, bytes]:
    """Answer the client's share: ``(our key_exchange, shared secret)``; the client's share is validated first
    (illegal_parameter when it is not a valid value of the group, RFC 9846 §4.2.8.2)."""
    _require_supported(group)
    pair = generate_ecdhe(group)
    secret = pair.shared_secret(client_key_exchange)
    return pair.public_bytes, secret


def _require_supported(group: int) -> None:
    if not supported(group):
        raise IllegalParameter(f"group {group_name(group)} is not supported for a TLS 1.3 key share")


__all__ = ["TLS13_GROUPS", "ClientShare", "client_share", "is_ffdhe", "server_share", "supported"]
