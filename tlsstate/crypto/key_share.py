"""TLS 1.3 key exchange through ``key_share`` (RFC 9846 §4.2.8, §7.4): each group's share and shared secret.

A client makes one :class:`ClientShare` per group it offers a share for and later meets the server's share with
:meth:`ClientShare.shared_secret`; a server answers a client's share in one step with :func:`server_share` (for a
KEM group that step is the encapsulation). Every received share is validated before use, a bad one is
illegal_parameter (§4.2.8.2, RFC 10024 §4):

- (EC)DHE (§4.2.8.2, §7.4.2): exact length, uncompressed point on the curve
  (:func:`tlsstate.crypto.dh.load_ec_public`); X25519/X448 refuse the all-zero result of a small-order value. The
  secret is the x-coordinate, or the X25519/X448 output.
- FFDHE (§4.2.8.1, §7.4.1; RFC 7919): Y big-endian, left-padded to the size of p, 1 < Y < p-1; the secret Z is
  left-padded to the size of p too (unlike TLS 1.2, which strips the zeros).
- The hybrids of RFC 10024 (pyca's ML-KEM-768, FIPS 203): X25519MLKEM768 (0x11EC) puts ML-KEM first, in the shares
  (encapsulation key || X25519 value; ciphertext || X25519 value) and in the secret (ML-KEM secret || X25519
  secret); SecP256r1MLKEM768 (0x11EB) puts ECDH first everywhere. Lengths are checked before either part is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric import mlkem

from tlsstate.crypto.dh import FFDHE_PRIMES, DheKeyPair, check_dh_public, generate_ecdhe, generate_ffdhe, group_name
from tlsstate.wire.constants import NamedGroup
from tlsstate.wire.errors import IllegalParameter

G = NamedGroup
#: The groups a TLS 1.3 handshake can run, in tlsstate's order of preference (RFC 9846 §4.2.7).
TLS13_GROUPS: tuple[int, ...] = (
    G.X25519MLKEM768, G.X25519, G.SECP256R1MLKEM768, G.SECP256R1, G.SECP384R1, G.SECP521R1, G.X448,
    G.FFDHE2048, G.FFDHE3072, G.FFDHE4096, G.FFDHE6144, G.FFDHE8192,
)
_EC_GROUPS = frozenset({G.X25519, G.X448, G.SECP256R1, G.SECP384R1, G.SECP521R1})

MLKEM768_ENCAPSULATION_KEY = 1184  # FIPS 203 §8 Table 3
MLKEM768_CIPHERTEXT = 1088
_X25519 = 32
_P256 = 65


class KeyPair(Protocol):
    """What each kind of group's private side offers: its public value and the secret with a peer's value."""

    @property
    def public_bytes(self) -> bytes: ...

    def shared_secret(self, peer: bytes) -> bytes: ...


def is_ffdhe(group: int) -> bool:
    """An RFC 7919 finite-field group (0x0100-0x01FF)."""
    return 0x0100 <= group <= 0x01FF


def is_hybrid(group: int) -> bool:
    """One of the RFC 10024 ML-KEM hybrids."""
    return group in (G.X25519MLKEM768, G.SECP256R1MLKEM768)


def supported(group: int) -> bool:
    """Whether tlsstate runs ``group`` in TLS 1.3."""
    return group in TLS13_GROUPS


# ------------------------------------------------------------------------------------------ FFDHE


@dataclass(frozen=True)
class _Ffdhe:
    """An RFC 7919 key pair with TLS 1.3's fixed-length encodings (RFC 9846 §4.2.8.1, §7.4.1)."""

    group: int
    pair: DheKeyPair = field(repr=False)

    @property
    def size(self) -> int:
        return (self.pair.p.bit_length() + 7) // 8

    @property
    def public_bytes(self) -> bytes:
        return self.pair.public_value.to_bytes(self.size, "big")

    def shared_secret(self, peer: bytes) -> bytes:
        if len(peer) != self.size:
            raise IllegalParameter(f"{group_name(self.group)} share is {len(peer)} bytes, expected {self.size}")
        check_dh_public(self.pair.p, peer)
        return self.pair.shared_secret(peer).rjust(self.size, b"\x00")


# ------------------------------------------------------------------------------------------ hybrids


@dataclass(frozen=True)
class _Hybrid:
    """A client's hybrid share: an ML-KEM-768 decapsulation key and an ECDH key pair (RFC 10024 §3)."""

    group: int
    kem: mlkem.MLKEM768PrivateKey = field(repr=False)
    ecdh: KeyPair = field(repr=False)

    @property
    def _kem_first(self) -> bool:
        return self.group == G.X25519MLKEM768

    @property
    def public_bytes(self) -> bytes:
        kem = self.kem.public_key().public_bytes_raw()
        return kem + self.ecdh.public_bytes if self._kem_first else self.ecdh.public_bytes + kem

    def shared_secret(self, peer: bytes) -> bytes:
        ecdh_length = _X25519 if self._kem_first else _P256
        expected = MLKEM768_CIPHERTEXT + ecdh_length
        if len(peer) != expected:
            raise IllegalParameter(f"{group_name(self.group)} server share is {len(peer)} bytes, expected {expected}")
        if self._kem_first:
            ciphertext, ecdh_peer = peer[:MLKEM768_CIPHERTEXT], peer[MLKEM768_CIPHERTEXT:]
        else:
            ecdh_peer, ciphertext = peer[:ecdh_length], peer[ecdh_length:]
        ecdh_secret = self.ecdh.shared_secret(ecdh_peer)
        try:
            kem_secret = self.kem.decapsulate(ciphertext)
        except ValueError:
            raise IllegalParameter(f"{group_name(self.group)} ciphertext is not valid") from None
        return kem_secret + ecdh_secret if self._kem_first else ecdh_secret + kem_secret


def _hybrid_server(group: int, client: bytes) -> tuple[bytes, bytes]:
    """Encapsulate to the client's ML-KEM key and answer its ECDH value (RFC 10024 §3)."""
    kem_first = group == G.X25519MLKEM768
    ecdh_group, ecdh_length = (G.X25519, _X25519) if kem_first else (G.SECP256R1, _P256)
    expected = MLKEM768_ENCAPSULATION_KEY + ecdh_length
    if len(client) != expected:
        raise IllegalParameter(f"{group_name(group)} client share is {len(client)} bytes, expected {expected}")
    if kem_first:
        kem_key, ecdh_peer = client[:MLKEM768_ENCAPSULATION_KEY], client[MLKEM768_ENCAPSULATION_KEY:]
    else:
        ecdh_peer, kem_key = client[:ecdh_length], client[ecdh_length:]
    pair = generate_ecdhe(ecdh_group)
    ecdh_secret = pair.shared_secret(ecdh_peer)
    try:
        kem_secret, ciphertext = mlkem.MLKEM768PublicKey.from_public_bytes(kem_key).encapsulate()
    except ValueError:
        raise IllegalParameter(f"{group_name(group)} ML-KEM-768 encapsulation key is not valid") from None
    if kem_first:
        return ciphertext + pair.public_bytes, kem_secret + ecdh_secret
    return pair.public_bytes + ciphertext, ecdh_secret + kem_secret


# ------------------------------------------------------------------------------------------ both roles


@dataclass(frozen=True)
class ClientShare:
    """Our share for one group in a ClientHello and the private part behind it."""

    group: int
    key_pair: KeyPair = field(repr=False)

    @property
    def public_bytes(self) -> bytes:
        """``KeyShareEntry.key_exchange`` (RFC 9846 §4.2.8)."""
        return self.key_pair.public_bytes

    def shared_secret(self, server_key_exchange: bytes) -> bytes:
        """The shared secret with the server's share (RFC 9846 §7.4); illegal_parameter if the share is invalid."""
        return self.key_pair.shared_secret(server_key_exchange)


def _key_pair(group: int) -> KeyPair:
    if group in _EC_GROUPS:
        return generate_ecdhe(group)
    if group in FFDHE_PRIMES:
        return _Ffdhe(group, generate_ffdhe(group))
    ecdh_group = G.X25519 if group == G.X25519MLKEM768 else G.SECP256R1
    return _Hybrid(group, mlkem.MLKEM768PrivateKey.generate(), generate_ecdhe(ecdh_group))


def client_share(group: int) -> ClientShare:
    """A fresh share for ``group`` (RFC 9846 §4.2.8)."""
    _require_supported(group)
    return ClientShare(int(group), _key_pair(group))


def server_share(group: int, client_key_exchange: bytes) -> tuple[bytes, bytes]:
    """Answer the client's share: ``(our key_exchange, shared secret)``; the client's share is validated first
    (illegal_parameter when it is not a valid value of the group, RFC 9846 §4.2.8)."""
    _require_supported(group)
    if is_hybrid(group):
        return _hybrid_server(group, client_key_exchange)
    pair = _key_pair(group)
    return pair.public_bytes, pair.shared_secret(client_key_exchange)


def _require_supported(group: int) -> None:
    if not supported(group):
        raise IllegalParameter(f"group {group_name(group)} is not supported for a TLS 1.3 key share")


__all__ = ["TLS13_GROUPS", "ClientShare", "KeyPair", "client_share", "is_ffdhe", "is_hybrid", "server_share", "supported"]
