"""Sessions no peer here still offers, built from the RFC layouts (tests/helpers/synthetic_tls.py: its own PRFs,
export key derivation, MACs, padding and DEFLATE, pyca ciphers), decrypted by tshark and by tlsstate: both must give
exactly the bytes that were sent, and tlsstate must verify both Finished messages.

Covered: static ECDH_ECDSA / ECDH_RSA (CBC, GCM, RC4, Camellia), ECDH_anon, DES, IDEA, SEED, the 40-bit export
suites in TLS 1.0 and SSL 3.0 (RC4-40, RC2-CBC-40, DES40: RFC 2246 §6.3, RFC 6101 §6.2.2), an ECDHE suite in
SSL 3.0, DEFLATE-compressed sessions (RFC 3749) in TLS 1.0 and 1.2. What must not produce plaintext (another
compression method, a decompression bomb, an unknown suite) is in tests/unit/capture/test_capture_rfc_built.py.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.helpers.env import require_binary
from tests.helpers.synthetic_tls import (
    SSL3,
    TLS10,
    TLS11,
    TLS12,
    Params,
    Session,
    build_session,
    tshark_follow,
    write_session,
)
from tlsstate.capture.decrypt import ConnectionResult, decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.report import render_explain
from tlsstate.crypto.certs import generate_self_signed

pytestmark = pytest.mark.interop

#: A ServerECDHParams (named_curve secp256r1, RFC 8422 §5.4) with a placeholder signature (SSL 3.0 / TLS 1.0
#: layout: vec16 only); neither tshark nor a capture reader checks it.
ECDHE_P256_SKE = b"\x03\x00\x17\x41\x04" + bytes(range(64)) + b"\x00\x02sg"
ECDH_ANON_SKE = b"\x03\x00\x1d\x20" + bytes(range(32))  # x25519, unsigned (RFC 4492 §2.5)

ECDSA_P384_CERTIFICATE = generate_self_signed(["localhost"], "ecdsa-p384", days=1)[0].public_bytes(Encoding.DER)

CASES = {
    "ecdh-ecdsa-aes128-tls12": Params(0xC004, TLS12, "AES", 16, "sha1", 16, kx="ecdh",
                                      certificate=ECDSA_P384_CERTIFICATE),
    "ecdh-ecdsa-rc4-tls10": Params(0xC002, TLS10, "RC4", 16, "sha1", kx="ecdh"),
    "ecdh-rsa-aes256-sha384-tls12": Params(0xC02A, TLS12, "AES", 32, "sha384", 16, prf_hash="sha384", kx="ecdh"),
    "ecdh-rsa-aes128-gcm-tls12": Params(0xC031, TLS12, "AES-GCM", 16, "", kx="ecdh"),
    "ecdh-ecdsa-camellia128-tls12": Params(0xC074, TLS12, "CAMELLIA", 16, "sha256", 16, kx="ecdh"),
    "ecdh-anon-aes128-tls11": Params(0xC018, TLS11, "AES", 16, "sha1", 16, kx="ecdh", server_key_exchange=ECDH_ANON_SKE),
    "des-cbc-sha-tls10": Params(0x0009, TLS10, "DES", 8, "sha1", 8),
    "dhe-rsa-des-ssl3": Params(0x0015, SSL3, "DES", 8, "sha1", 8, kx="dh"),
    "idea-cbc-sha-tls11": Params(0x0007, TLS11, "IDEA", 16, "sha1", 8),
    "seed-sha-tls12": Params(0x0096, TLS12, "SEED", 16, "sha1", 16),
    "exp-rc4-md5-tls10": Params(0x0003, TLS10, "RC4", 16, "md5", 0, 5),
    "exp-rc4-md5-ssl3": Params(0x0003, SSL3, "RC4", 16, "md5", 0, 5),
    "exp-rc2-cbc-md5-tls10": Params(0x0006, TLS10, "RC2", 16, "md5", 8, 5),
    "exp-rc2-cbc-md5-ssl3": Params(0x0006, SSL3, "RC2", 16, "md5", 8, 5),
    "exp-des-cbc-sha-tls10": Params(0x0008, TLS10, "DES", 8, "sha1", 8, 5),
    "exp-edh-dss-des-cbc-sha-tls10": Params(0x0011, TLS10, "DES", 8, "sha1", 8, 5, kx="dh"),
    "exp-edh-rsa-des-cbc-sha-ssl3": Params(0x0014, SSL3, "DES", 8, "sha1", 8, 5, kx="dh"),
    "ecdhe-rsa-aes128-sha-ssl3": Params(0xC013, SSL3, "AES", 16, "sha1", 16, kx="ecdh",
                                        server_key_exchange=ECDHE_P256_SKE),
    "deflate-aes128-sha-tls10": Params(0x002F, TLS10, "AES", 16, "sha1", 16, compression=1),
    "deflate-ecdhe-aes256-gcm-tls12": Params(0xC030, TLS12, "AES-GCM", 32, "", prf_hash="sha384", compression=1,
                                             kx="ecdh", server_key_exchange=ECDHE_P256_SKE[:-4] + b"\x04\x01\x00\x02sg"),
}

#: The group each case must report: from the ServerKeyExchange, or the static ECDH certificate's curve.
GROUPS = {"ecdh-ecdsa-aes128-tls12": "secp384r1", "ecdh-anon-aes128-tls11": "x25519",
          "ecdhe-rsa-aes128-sha-ssl3": "secp256r1", "deflate-ecdhe-aes256-gcm-tls12": "secp256r1"}

CLIENT_DATA = [b"GET / HTTP/1.1\r\nHost: old.example\r\n\r\n" + b"a" * 3000, b"x" * 16000, bytes(range(256)) * 16]
SERVER_DATA = [b"HTTP/1.1 200 OK\r\n\r\n" + b"b" * 5000, b"hello " * 100]


def _decrypt(capture: Path, keylog: Path) -> ConnectionResult:
    keys = KeySource()
    keys.add_keylog_file(keylog)
    [conn] = decrypt_capture(capture, keys).connections
    return conn


def _built(name: str, tmp_path: Path, client: list[bytes] | None = None) -> tuple[Session, Path, Path]:
    session = build_session(CASES[name], client if client is not None else CLIENT_DATA, SERVER_DATA)
    capture, keylog = write_session(session, tmp_path, name)
    return session, capture, keylog


@pytest.mark.parametrize("name", list(CASES))
def test_rfc_built_session_decrypts_like_tshark(name: str, tmp_path: Path) -> None:
    tshark = require_binary("tshark")
    session, capture, keylog = _built(name, tmp_path)
    theirs = tshark_follow(tshark, capture, keylog)
    assert theirs == (session.client_data, session.server_data), f"tshark disagrees with the builder on {name}"
    conn = _decrypt(capture, keylog)
    got = conn.to_json()
    if CASES[name].export_material:  # --explain says how the final keys came from the 5-byte key material
        rfc = "RFC 6101 §6.2.2, export" if CASES[name].version == SSL3 else "RFC 2246 §6.3, export"
        assert rfc in " ".join(render_explain(conn).replace("│", " ").split())  # the tree wraps long lines
    assert got["cipher_suite"] == f"0x{CASES[name].suite_id:04x}"
    assert got["client_to_server_sha256"] == hashlib.sha256(theirs[0]).hexdigest(), got
    assert got["server_to_client_sha256"] == hashlib.sha256(theirs[1]).hexdigest(), got
    assert got["records_failed"] == got["records_undecryptable"] == 0, got
    assert got["finished_verified"] is True
    assert got["compression"] == ("deflate" if CASES[name].compression else "null")
    assert got["client_to_server_first_line"] == "GET / HTTP/1.1"
    assert got["group"] == GROUPS.get(name), got["group"]
    if CASES[name].version == SSL3:
        assert got["version"] == "SSL 3.0"
