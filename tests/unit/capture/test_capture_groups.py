"""The key exchange group a capture reports: TLS 1.3 key shares (hybrid ML-KEM sizes, HelloRetryRequest) from hellos
written out byte by byte here (RFC 8446 §4.1.2-§4.2.8 layouts, IANA codepoints), TLS 1.2 ServerKeyExchange groups,
and the MODP primes checked against OpenSSL's own copies."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import require_binary
from tlsstate.capture.decrypt import decrypt_capture
from tlsstate.capture.groups import server_key_exchange_group
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.writer import write_tcp_capture
from tlsstate.crypto.dh import FFDHE2048_P, modp_group_of, modp_prime
from tlsstate.wire.constants import KeyExchange

X25519MLKEM768, SECP256R1MLKEM768, X25519, SECP256R1 = 0x11EC, 0x11EB, 0x001D, 0x0017
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")  # RFC 8446 §4.1.3


def _ext(ext_type: int, body: bytes) -> bytes:
    return struct.pack(">HH", ext_type, len(body)) + body


def _record(handshake_type: int, body: bytes) -> bytes:
    message = bytes([handshake_type]) + len(body).to_bytes(3, "big") + body
    return struct.pack(">BHH", 22, 0x0303, len(message)) + message


def _client_hello(shares: list[tuple[int, int]]) -> bytes:
    """A TLS 1.3 ClientHello offering ``shares`` as (group, key_exchange length)."""
    entries = b"".join(struct.pack(">HH", group, size) + os.urandom(size) for group, size in shares)
    extensions = (_ext(43, b"\x02\x03\x04") + _ext(10, struct.pack(">H", 2 * len(shares)) + b"".join(
        struct.pack(">H", group) for group, _ in shares)) + _ext(51, struct.pack(">H", len(entries)) + entries))
    body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + b"\x00\x02\x13\x01\x01\x00"
    return _record(1, body + struct.pack(">H", len(extensions)) + extensions)


def _server_hello(key_share: bytes, random: bytes | None = None) -> bytes:
    extensions = _ext(43, b"\x03\x04") + _ext(51, key_share)
    body = b"\x03\x03" + (random or os.urandom(32)) + b"\x20" + bytes(32) + b"\x13\x01\x00"
    return _record(2, body + struct.pack(">H", len(extensions)) + extensions)


def _report(tmp_path: Path, chunks: list[tuple[bool, bytes]]) -> dict[str, object]:
    capture = tmp_path / "hello.pcap"
    write_tcp_capture(capture, chunks, segment_size=536)  # a 1,216-byte share crosses TCP segments
    [conn] = decrypt_capture(capture, KeySource()).connections
    return conn.to_json()


def test_hybrid_key_shares_and_their_sizes(tmp_path: Path) -> None:
    """X25519MLKEM768: client share 1,216 bytes (ML-KEM-768 encapsulation key 1,184 + X25519 32), server 1,120
    (ciphertext 1,088 + 32) (draft-ietf-tls-ecdhe-mlkem §4.3)."""
    got = _report(tmp_path, [
        (True, _client_hello([(X25519MLKEM768, 1216), (X25519, 32)])),
        (False, _server_hello(struct.pack(">HH", X25519MLKEM768, 1120) + os.urandom(1120))),
    ])
    assert got["group"] == "X25519MLKEM768"
    assert got["hello_retry"] is False
    assert got["key_shares"] == {"client": [{"group": "X25519MLKEM768", "bytes": 1216}, {"group": "x25519", "bytes": 32}],
                                 "server_bytes": 1120, "hello_retry_group": None}


def test_hello_retry_request_then_the_second_share(tmp_path: Path) -> None:
    """The client offers x25519, the server's HelloRetryRequest selects SecP256r1MLKEM768 (1,153 + 1,184 bytes from
    the client, 65 + 1,088 from the server), the second ClientHello's share is taken."""
    got = _report(tmp_path, [
        (True, _client_hello([(X25519, 32)])),
        (False, _server_hello(struct.pack(">H", SECP256R1MLKEM768), HRR_RANDOM)),
        (True, _client_hello([(SECP256R1MLKEM768, 1249)])),
        (False, _server_hello(struct.pack(">HH", SECP256R1MLKEM768, 1153) + os.urandom(1153))),
    ])
    assert got["hello_retry"] is True
    assert got["group"] == "SecP256r1MLKEM768"
    assert got["key_shares"] == {"client": [{"group": "SecP256r1MLKEM768", "bytes": 1249}], "server_bytes": 1153,
                                 "hello_retry_group": "SecP256r1MLKEM768"}


def _server_dh_params(p: int, g: int = 2) -> bytes:
    def vec(value: int) -> bytes:
        data = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return struct.pack(">H", len(data)) + data

    return vec(p) + vec(g) + vec(12345) + b"\x04\x01\x00\x02sg"  # TLS 1.2: scheme + signature


def test_tls12_server_key_exchange_groups() -> None:
    ecdh = b"\x03\x00\x18\x03\x04\x01\x02" + b"\x04\x01\x00\x02sg"  # named_curve secp384r1 (24)
    assert server_key_exchange_group(ecdh, 0x0303, KeyExchange.ECDHE_RSA) == "secp384r1"
    assert server_key_exchange_group(_server_dh_params(FFDHE2048_P), 0x0303, KeyExchange.DHE_RSA) == "ffdhe2048"
    assert server_key_exchange_group(_server_dh_params(modp_prime(1024)), 0x0303, KeyExchange.DHE_RSA) == "modp1024"
    custom = modp_prime(1024) + 2**200
    assert server_key_exchange_group(_server_dh_params(custom), 0x0303, KeyExchange.DHE_RSA) == "custom DH 1024-bit"


RFC2409_GROUP2 = int(  # RFC 2409 §6.2, the 1024-bit MODP group, as printed there
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)


@pytest.mark.parametrize("bits", [1536, 2048, 3072, 4096, 6144, 8192])
def test_modp_primes_are_openssls(bits: int, tmp_path: Path) -> None:
    openssl = require_binary("openssl")
    pem = subprocess.run([openssl, "genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", f"group:modp_{bits}"],
                         capture_output=True, check=True, timeout=30).stdout.decode()
    p, g = _der_integers(base64.b64decode("".join(pem.splitlines()[1:-1])))
    assert (p, g) == (modp_prime(bits), 2)
    assert modp_group_of(p, 2) == bits
    assert modp_group_of(p, 5) is None


def _der_integers(der: bytes) -> list[int]:
    """The INTEGERs of a DER SEQUENCE (PKCS #3 DHParameter: prime, base)."""
    def length(pos: int) -> tuple[int, int]:
        first = der[pos]
        if first < 0x80:
            return first, pos + 1
        count = first & 0x7F
        return int.from_bytes(der[pos + 1 : pos + 1 + count], "big"), pos + 1 + count

    assert der[0] == 0x30
    _, pos = length(1)
    values = []
    while pos < len(der):
        assert der[pos] == 0x02
        size, pos = length(pos + 1)
        values.append(int.from_bytes(der[pos : pos + size], "big"))
        pos += size
    return values


def test_modp_1024_is_rfc_2409_group_2() -> None:
    assert modp_prime(1024) == RFC2409_GROUP2
    assert modp_group_of(RFC2409_GROUP2 - 2, 2) is None


def test_damaged_inputs_give_no_group_and_no_exception() -> None:
    from tlsstate.capture.groups import KeyExchangeGroup, certificate_group
    from tlsstate.wire.errors import TLSError

    assert certificate_group(b"\x30\x03\x02\x01\x00") is None
    with pytest.raises(TLSError):  # the follower turns this into a note (TlsSession._read_group)
        server_key_exchange_group(b"\x03\x00", 0x0303, KeyExchange.ECDHE_RSA)
    shares = KeyExchangeGroup()
    assert shares.describe() == "none"


def test_duplicate_key_share_is_a_note(tmp_path: Path) -> None:
    """RFC 8446 §4.2.8: one group twice is illegal; a capture notes it and goes on."""
    got = _report(tmp_path, [(True, _client_hello([(X25519, 32), (X25519, 32)])),
                             (False, _server_hello(struct.pack(">HH", X25519, 32) + os.urandom(32)))])
    assert got["group"] == "x25519"
    notes = got["notes"]
    assert isinstance(notes, list) and any("key exchange group not read" in note for note in notes), notes


def _mutated_certificates() -> list[bytes]:
    """A certificate as the capture fuzz target damaged it (2026-12-02): version 22 (pyca raises x509.InvalidVersion,
    not a ValueError) and an unknown public key algorithm (UnsupportedAlgorithm when the key is read)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz")])
    now = datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC)
    der = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
           .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
           .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    version, rsa_oid = bytes.fromhex("a003020102"), bytes.fromhex("06092a864886f70d0101010500")
    assert der.count(version) == 1 and der.count(rsa_oid) == 1
    return [der.replace(version, version[:-1] + b"\x16"), der.replace(rsa_oid, rsa_oid[:-3] + b"\x7f\x05\x00")]


def test_certificates_pyca_refuses_give_no_group_and_no_rsa_key() -> None:
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import rsa

    from tlsstate.capture.groups import certificate_group
    from tlsstate.capture.keysource import KeySource, RsaKey

    bad_version, unknown_key = _mutated_certificates()
    with pytest.raises(x509.InvalidVersion):
        x509.load_der_x509_certificate(bad_version)
    with pytest.raises(UnsupportedAlgorithm):
        x509.load_der_x509_certificate(unknown_key).public_key()

    keys = KeySource()
    keys.rsa_keys.append(RsaKey(rsa.generate_private_key(public_exponent=65537, key_size=1024), "test key"))
    for der in (bad_version, unknown_key):
        assert certificate_group(der) is None
        assert keys.rsa_key_for(der) is None
