"""Key-exchange helpers against external values: the TLS 1.3 trace vectors (X25519), OpenSSL's
built-in RFC 7919 groups and `pkeyutl -derive`, the RFC 7919 Appendix A formula, OpenSSL RSA
encryption, and the RSA ClientKeyExchange of a real SSL 3.0 capture (Wireshark's pre-master secret)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dh as pyca_dh
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519

from tests.helpers.env import require_binary
from tlsstate.crypto import dh
from tlsstate.wire.constants import NamedGroup
from tlsstate.wire.errors import IllegalParameter, InsufficientSecurity

# pyca 50 deprecates FFDH; TLS 1.0-1.2 DHE still needs it (tlsstate.crypto.dh silences it itself).
pytestmark = pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields")


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run([require_binary("openssl"), *args], input=data, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout


def _trace_values(vectors: Path) -> dict[str, list[bytes]]:
    """``label (N octets):  hex hex ...`` values from the TLS 1.3 traces, in order, per label."""
    text = (vectors / "rfc8448" / "draft-ietf-tls-tls13-vectors.txt").read_text()
    out: dict[str, list[bytes]] = {}
    for match in re.finditer(r"(\w[\w ]*?) \((\d+) octets\):((?:\s+[0-9a-f]{2})+)", text):
        label, length, hexdata = match.group(1).strip(), int(match.group(2)), match.group(3)
        value = bytes.fromhex("".join(hexdata.split()))[:length]
        if len(value) == length:
            out.setdefault(label, []).append(value)
    return out


def test_x25519_against_tls13_trace(vectors: Path) -> None:
    """Simple 1-RTT trace: the server's key pair and the (EC)DHE input to the handshake secret."""
    values = _trace_values(vectors)
    client_private, server_private = values["private key"][:2]
    client_public, server_public = values["public key"][:2]
    shared = values["IKM"][1]  # [0] is the all-zero early-secret IKM
    server = dh.EcdheKeyPair(NamedGroup.X25519, x25519.X25519PrivateKey.from_private_bytes(server_private))
    client = dh.EcdheKeyPair(NamedGroup.X25519, x25519.X25519PrivateKey.from_private_bytes(client_private))
    assert server.public_bytes == server_public and client.public_bytes == client_public
    assert server.shared_secret(client_public) == shared
    assert client.shared_secret(server_public) == shared
    assert "private_key" not in repr(server) and server_private.hex() not in repr(server)


@pytest.mark.parametrize(
    ("group", "openssl_algorithm"),
    [
        (NamedGroup.X25519, ["-algorithm", "X25519"]),
        (NamedGroup.X448, ["-algorithm", "X448"]),
        (NamedGroup.SECP256R1, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        (NamedGroup.SECP384R1, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
        (NamedGroup.SECP521R1, ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"]),
    ],
)
def test_ecdhe_agrees_with_openssl(tmp_path: Path, group: int, openssl_algorithm: list[str]) -> None:
    theirs = tmp_path / "theirs.pem"
    _openssl("genpkey", *openssl_algorithm, "-out", str(theirs))
    their_key = serialization.load_pem_private_key(theirs.read_bytes(), None)
    their_public = their_key.public_key()  # type: ignore[union-attr]
    if isinstance(their_public, ec.EllipticCurvePublicKey):
        their_wire = their_public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    else:
        their_wire = their_public.public_bytes_raw()  # type: ignore[union-attr]
    ours = dh.generate_ecdhe(group)
    expected_length = {29: 32, 30: 56, 23: 65, 24: 97, 25: 133}[group]
    assert len(ours.public_bytes) == expected_length
    our_public = dh.load_ec_public(group, ours.public_bytes)
    (tmp_path / "ours.pub.pem").write_bytes(
        our_public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    openssl_secret = _openssl("pkeyutl", "-derive", "-inkey", str(theirs), "-peerkey", str(tmp_path / "ours.pub.pem"))
    assert ours.shared_secret(their_wire) == openssl_secret
    assert len(openssl_secret) == {29: 32, 30: 56, 23: 32, 24: 48, 25: 66}[group]


def test_ecdhe_rejects_bad_peer_values() -> None:
    x = dh.generate_ecdhe(NamedGroup.X25519)
    for bad in (b"", bytes(31), bytes(33)):
        with pytest.raises(IllegalParameter):
            x.shared_secret(bad)
    with pytest.raises(IllegalParameter, match="all-zero"):  # the zero point: small order, zero output
        x.shared_secret(bytes(32))
    with pytest.raises(IllegalParameter, match="all-zero"):  # u = 1, another small-order point
        x.shared_secret(b"\x01" + bytes(31))
    p256 = dh.generate_ecdhe(NamedGroup.SECP256R1)
    good = p256.public_bytes
    with pytest.raises(IllegalParameter, match="uncompressed"):  # compressed form
        p256.shared_secret(bytes([2 + (good[-1] & 1)]) + good[1:33])
    with pytest.raises(IllegalParameter, match="uncompressed"):
        p256.shared_secret(good[:-1])
    off_curve = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(IllegalParameter, match="not on the curve"):
        p256.shared_secret(off_curve)
    with pytest.raises(IllegalParameter):
        p256.shared_secret(b"\x04" + bytes(64))
    with pytest.raises(IllegalParameter):
        dh.generate_ecdhe(0x1234)
    with pytest.raises(IllegalParameter):  # a P-384 point offered on P-256
        p256.shared_secret(dh.generate_ecdhe(NamedGroup.SECP384R1).public_bytes)


# ----------------------------------------------------------------------------------------------
# Finite-field DHE
# ----------------------------------------------------------------------------------------------


def _e_times_2_to(bits: int) -> int:
    """floor(e * 2^bits), exact (series with guard bits)."""
    guard = bits + 64
    scale = 1 << guard
    total, term, n = 0, scale, 0
    while term:
        total += term
        n += 1
        term //= n
    return total >> 64


@pytest.mark.parametrize(
    ("group", "bits", "x"),
    [(NamedGroup.FFDHE2048, 2048, 560316), (NamedGroup.FFDHE3072, 3072, 2625351), (NamedGroup.FFDHE4096, 4096, 5736041)],
)
def test_ffdhe_primes_match_rfc7919_formula_and_openssl(tmp_path: Path, group: int, bits: int, x: int) -> None:
    """RFC 7919 Appendix A: p = 2^b - 2^{b-64} + {[2^{b-130} e] + X} * 2^64 - 1; and OpenSSL's built-in group."""
    formula = 2**bits - 2 ** (bits - 64) + (_e_times_2_to(bits - 130) + x) * 2**64 - 1
    assert dh.FFDHE_PRIMES[group] == formula
    pem = _openssl("genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:{dh.group_name(group)}")
    numbers = serialization.load_pem_parameters(pem).parameter_numbers()  # type: ignore[attr-defined]
    assert (numbers.p, numbers.g) == (dh.FFDHE_PRIMES[group], 2)
    assert dh.ffdhe_group_of(numbers.p.to_bytes(bits // 8, "big"), b"\x02") == group
    assert dh.ffdhe_group_of(numbers.p, 5) is None


def test_dhe_leading_zero_stripped_like_openssl(tmp_path: Path) -> None:
    """RFC 5246 §8.1.2: find a key pair whose Z starts with a zero byte; OpenSSL's derive (unpadded) agrees."""
    p = dh.FFDHE_PRIMES[NamedGroup.FFDHE2048]
    ours = dh.generate_ffdhe(NamedGroup.FFDHE2048)
    assert ours.p_bytes == p.to_bytes(256, "big") and ours.g_bytes == b"\x02"
    parameters = pyca_dh.DHParameterNumbers(p, 2).parameters()
    for _ in range(3000):
        theirs = parameters.generate_private_key()
        padded = theirs.exchange(ours.private_key.public_key())
        if padded[0] == 0:
            break
    else:  # pragma: no cover - probability ~1e-5
        pytest.fail("no leading-zero secret found")
    their_public = theirs.public_key().public_numbers().y.to_bytes(256, "big")
    secret = ours.shared_secret(their_public)
    assert secret == padded.lstrip(b"\x00") and len(secret) < 256
    (tmp_path / "ours.pem").write_bytes(
        ours.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    (tmp_path / "theirs.pub.pem").write_bytes(
        theirs.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    openssl_secret = _openssl("pkeyutl", "-derive", "-inkey", str(tmp_path / "ours.pem"),
                              "-peerkey", str(tmp_path / "theirs.pub.pem"))
    assert openssl_secret == secret


def test_dh_public_value_range() -> None:
    pair = dh.generate_ffdhe(NamedGroup.FFDHE2048)
    p = pair.p
    for bad in (0, 1, p - 1, p, p + 1):
        with pytest.raises(IllegalParameter):
            pair.shared_secret(bad.to_bytes(257, "big"))
    assert pair.shared_secret((2).to_bytes(1, "big"))
    assert dh.check_dh_public(p, b"\x00\x02") == 2


def test_dh_parameter_checks(vectors: Path) -> None:
    with pytest.raises(InsufficientSecurity):
        dh.check_dh_parameters((2**511 + 1).to_bytes(64, "big"), b"\x02")
    p = dh.FFDHE_PRIMES[NamedGroup.FFDHE2048]
    with pytest.raises(IllegalParameter):
        dh.check_dh_parameters(p.to_bytes(256, "big"), b"\x01")
    with pytest.raises(IllegalParameter):
        dh.check_dh_parameters((p - 1).to_bytes(256, "big"), b"\x02")
    assert dh.check_dh_parameters(p.to_bytes(256, "big"), b"\x02") == (p, 2)
    # The server group of a real capture (TLS 1.2 DHE-RSA-CHACHA20-POLY1305) is accepted and usable.
    from tests.vectors.test_messages_captures import _messages, conversations
    from tlsstate.crypto.suites import KeyExchange
    from tlsstate.wire import messages as m

    ctx = m.ParseContext(0x0303, KeyExchange.DHE_RSA)
    full = []
    for conv in conversations(vectors / "wireshark-test-suite" / "captures" / "tls12-chacha20poly1305.pcap"):
        hello_length = int.from_bytes(conv.server.handshake[1:4], "big")
        if m.ServerHello.parse(conv.server.handshake[4 : 4 + hello_length]).cipher_suite != 0xCCAA:
            continue
        msgs = _messages(conv.server, ctx)
        if any(isinstance(msg, m.ServerKeyExchange) for _r, msg in msgs):
            full.append((conv, msgs))
    assert full
    conv, server_msgs = full[0]
    ske = next(msg for _r, msg in server_msgs if isinstance(msg, m.ServerKeyExchange))
    cke = next(msg for _r, msg in _messages(conv.client, ctx) if isinstance(msg, m.ClientKeyExchange))
    cap_p, cap_g = dh.check_dh_parameters(ske.dh_p, ske.dh_g)
    dh.check_dh_public(cap_p, ske.dh_public)
    client = dh.generate_dhe(cap_p, cap_g)
    assert len(client.shared_secret(ske.dh_public)) <= len(ske.dh_p)
    dh.check_dh_public(cap_p, cke.dh_public)


# ----------------------------------------------------------------------------------------------
# RSA key transport
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, rsa.RSAPrivateKey]:
    folder = tmp_path_factory.mktemp("rsa")
    private, public = folder / "key.pem", folder / "pub.pem"
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(private))
    _openssl("pkey", "-in", str(private), "-pubout", "-out", str(public))
    key = serialization.load_pem_private_key(private.read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return private, public, key


def test_rsa_premaster_round_trip_with_openssl(rsa_key: tuple[Path, Path, rsa.RSAPrivateKey], tmp_path: Path) -> None:
    private, public, key = rsa_key
    premaster = dh.make_rsa_premaster(0x0303)
    assert len(premaster) == 48 and premaster[:2] == b"\x03\x03"
    encrypted = dh.rsa_encrypt_premaster(key.public_key(), premaster)
    (tmp_path / "ct").write_bytes(encrypted)
    assert _openssl("pkeyutl", "-decrypt", "-inkey", str(private), "-in", str(tmp_path / "ct")) == premaster
    theirs = _openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", str(public), data=premaster)
    assert dh.rsa_decrypt_premaster(key, theirs, 0x0303) == premaster


def test_rsa_countermeasure_returns_random_premaster(rsa_key: tuple[Path, Path, rsa.RSAPrivateKey]) -> None:
    """RFC 5246 §7.4.7.1: bad padding, bad length or bad version -> a random 48-byte premaster, no error."""
    _private, public, key = rsa_key
    wrong_version = b"\x03\x01" + bytes(range(46))
    wrong_length = b"\x03\x03" + bytes(range(45))
    cases = [
        bytes(256),  # not PKCS#1 at all
        b"\x01" * 256,
        b"\x00" * 10,  # wrong ciphertext length
        _openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", str(public), data=wrong_version),
        _openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", str(public), data=wrong_length),
        b"",
    ]
    for ciphertext in cases:
        first = dh.rsa_decrypt_premaster(key, ciphertext, 0x0303)
        second = dh.rsa_decrypt_premaster(key, ciphertext, 0x0303)
        assert len(first) == 48 and first != second  # fresh randomness every time
        assert first not in (wrong_version, wrong_length.ljust(48, b"\x00"))
    good = b"\x03\x01" + bytes(range(46))
    assert dh.rsa_decrypt_premaster(key, dh.rsa_encrypt_premaster(key.public_key(), good), 0x0301) == good


def test_rsa_decrypt_real_ssl3_client_key_exchange(vectors: Path) -> None:
    """rsasnakeoil2 (SSL 3.0): our countermeasure path yields Wireshark's pre-master secret."""
    import json

    from tests.vectors.test_messages_captures import _messages, conversations
    from tlsstate.crypto.suites import KeyExchange
    from tlsstate.wire import messages as m

    key = serialization.load_pem_private_key(
        (vectors / "wireshark-test-suite" / "keys" / "rsasnakeoil2.key").read_bytes(), None
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    expected = json.loads((vectors / "wireshark-test-suite" / "expected-tshark" / "rsasnakeoil2.json").read_text())
    premasters = {k["pre_master_secret"] for k in expected["key_material"] if "pre_master_secret" in k}
    found = 0
    for conv in conversations(vectors / "wireshark-test-suite" / "captures" / "rsasnakeoil2.pcap"):
        for _raw, msg in _messages(conv.client, m.ParseContext(0x0300, KeyExchange.RSA)):
            if isinstance(msg, m.ClientKeyExchange):
                assert dh.rsa_decrypt_premaster(key, msg.encrypted_premaster, 0x0300).hex() in premasters
                found += 1
    assert found >= 1
