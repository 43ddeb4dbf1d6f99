"""TLS 1.3 key shares (tlsstate.crypto.key_share): the RFC 10024 hybrid layouts checked part by part with pyca's
primitives directly (not only our two halves against each other), the FFDHE fixed-length encodings of RFC 9846
§4.2.8.1 / §7.4.1, the RFC 7919 primes, and the validation of every received share (illegal_parameter)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519

from tlsstate.crypto import dh, key_share
from tlsstate.wire.constants import NamedGroup
from tlsstate.wire.errors import IllegalParameter

G = NamedGroup


def test_x25519mlkem768_puts_mlkem_first_in_shares_and_secret() -> None:
    """RFC 10024: client share = ML-KEM-768 encapsulation key (1184) || X25519 (32); server share = ciphertext (1088)
    || X25519 (32); secret = ML-KEM shared secret || X25519 shared secret."""
    client = key_share.client_share(G.X25519MLKEM768)
    share = client.public_bytes
    assert len(share) == 1216
    kem = mlkem.MLKEM768PublicKey.from_public_bytes(share[:1184])
    peer_x = x25519.X25519PublicKey.from_public_bytes(share[1184:])
    server_public, secret = key_share.server_share(G.X25519MLKEM768, share)
    assert len(server_public) == 1120 and len(secret) == 64
    hybrid = client.key_pair
    assert isinstance(hybrid, key_share._Hybrid)
    assert hybrid.kem.decapsulate(server_public[:1088]) == secret[:32]
    assert kem.public_bytes_raw() == hybrid.kem.public_key().public_bytes_raw()
    server_x = x25519.X25519PublicKey.from_public_bytes(server_public[1088:])
    ecdh = hybrid.ecdh
    assert isinstance(ecdh, dh.EcdheKeyPair) and isinstance(ecdh.private_key, x25519.X25519PrivateKey)
    assert ecdh.private_key.exchange(server_x) == secret[32:]
    assert peer_x.public_bytes_raw() == ecdh.public_bytes
    assert client.shared_secret(server_public) == secret


def test_secp256r1mlkem768_puts_ecdh_first_in_shares_and_secret() -> None:
    """RFC 10024: P-256 uncompressed point (65) first, then the ML-KEM key (1184) / ciphertext (1088); the secret is
    the ECDH x-coordinate (32) || the ML-KEM secret (32)."""
    client = key_share.client_share(G.SECP256R1MLKEM768)
    share = client.public_bytes
    assert len(share) == 1249 and share[0] == 4
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), share[:65])
    mlkem.MLKEM768PublicKey.from_public_bytes(share[65:])
    server_public, secret = key_share.server_share(G.SECP256R1MLKEM768, share)
    assert len(server_public) == 1153 and server_public[0] == 4 and len(secret) == 64
    hybrid = client.key_pair
    assert isinstance(hybrid, key_share._Hybrid) and isinstance(hybrid.ecdh, dh.EcdheKeyPair)
    assert hybrid.kem.decapsulate(server_public[65:]) == secret[32:]
    private = hybrid.ecdh.private_key
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public[:65])
    assert private.exchange(ec.ECDH(), peer) == secret[:32]
    assert client.shared_secret(server_public) == secret


@pytest.mark.parametrize(("group", "bad"), [
    (G.X25519MLKEM768, bytes(1215)),
    (G.X25519MLKEM768, bytes(1217)),
    (G.SECP256R1MLKEM768, bytes(1249)),  # the P-256 part is not a point
    (G.X25519, bytes(32)),  # all-zero result
    (G.SECP384R1, b"\x04" + bytes(96)),
    (G.FFDHE2048, (1).to_bytes(256, "big")),  # y = 1
    (G.FFDHE2048, (5).to_bytes(255, "big")),  # not left-padded to the size of p
    (0x0042, b"\x00"),
])
def test_invalid_client_shares_are_illegal_parameter(group: int, bad: bytes) -> None:
    with pytest.raises(IllegalParameter):
        key_share.server_share(group, bad)


@pytest.mark.parametrize("group", [G.X25519MLKEM768, G.SECP256R1MLKEM768])
def test_invalid_server_hybrid_shares_are_illegal_parameter(group: int) -> None:
    client = key_share.client_share(group)
    server_public, _ = key_share.server_share(group, client.public_bytes)
    for bad in (server_public[:-1], server_public + b"\x00"):
        with pytest.raises(IllegalParameter):
            client.shared_secret(bad)


def test_ffdhe_shares_and_secret_have_the_length_of_p() -> None:
    """RFC 9846 §4.2.8.1 / §7.4.1: Y and Z are left-padded to the size of the prime (256 bytes for ffdhe2048)."""
    client = key_share.client_share(G.FFDHE2048)
    assert len(client.public_bytes) == 256
    server_public, secret = key_share.server_share(G.FFDHE2048, client.public_bytes)
    assert len(server_public) == 256 and len(secret) == 256
    assert client.shared_secret(server_public) == secret


def test_rfc7919_construction_gives_the_rfc_primes() -> None:
    """The formula of RFC 7919 Appendix A reproduces the three hex constants taken from the RFC; the two larger
    groups are made by it and are the primes tlslite-ng ships."""
    assert dh.rfc7919_prime(2048, 560316) == dh.FFDHE2048_P
    assert dh.rfc7919_prime(3072, 2625351) == dh.FFDHE3072_P
    assert dh.rfc7919_prime(4096, 5736041) == dh.FFDHE4096_P
    mathtls = pytest.importorskip("tlslite.mathtls")
    assert mathtls.FFDHE6144[1] == dh.FFDHE6144_P and mathtls.FFDHE8192[1] == dh.FFDHE8192_P
