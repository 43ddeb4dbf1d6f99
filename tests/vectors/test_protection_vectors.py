"""Record protection against EXTERNAL record vectors (see ../shared/vectors/SOURCES.md §1c, §3).

* BoringSSL 2014 SSL 3.0 "legacy AEAD" KATs: KEY = mac_key || enc_key || IV, AD = seq(8) || type(1),
  CT || TAG = the record fragment (SSL 3.0 MAC, minimal padding). Every case seals and opens.
* aws-lc TLS CBC-HMAC KATs: AD = seq(8) || type(1) || version(2). ``*_tls_tests`` (TLS 1.1+): KEY =
  mac_key || enc_key, NONCE = the explicit IV, fragment = NONCE || CT || TAG. ``*_implicit_iv_tests``
  (TLS 1.0): KEY = mac_key || enc_key || IV, fragment = CT || TAG. Sealable cases (minimal padding) must
  produce the exact bytes; NO_SEAL cases must open; FAILS cases must raise BadRecordMAC.
* Botan tls_null.vec, tls_cbc_kat.vec, tls_cbc.vec, tls_cbc_padding.vec.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.env import VECTORS
from tests.helpers.records import aim_explicit_iv
from tlsstate.crypto import suites
from tlsstate.record.protection import (
    CbcEncryptThenMac,
    CbcMacThenEncrypt,
    StreamProtection,
    TlsHmac,
    make_protection,
    tls_cbc_padding_length,
)
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import BadRecordMAC

Case = dict[str, str]


def _read_blocks(path: Path) -> list[Case]:
    """Blank-line separated ``KEY: value`` blocks (BoringSSL file_test format)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:  # type: ignore[operator]
        text = handle.read()
    cases: list[Case] = []
    current: Case = {}
    for line in [*text.splitlines(), ""]:
        line = line.strip()
        if not line:
            if "KEY" in current:
                cases.append(current)
            current = {}
            continue
        if line.startswith("#"):
            continue
        key, _, value = line.partition(":")
        current[key.strip()] = value.strip()
    return cases


def _read_botan(path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Botan .vec: ``[Section]`` headers and ``Key = Value`` groups ending at a blank line."""
    section = ""
    current: dict[str, str] = {}
    for line in [*path.read_text().splitlines(), ""]:
        line = line.strip()
        if line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if not line:
            if current:
                yield section, current
            current = {}
            continue
        key, _, value = line.partition("=")
        current[key.strip()] = value.strip()


# ----------------------------------------------------------------------------- SSL 3.0 (BoringSSL)

SSL3_FILES = {
    "aes_128_cbc_sha1_ssl3_tests.txt": 0x002F,
    "aes_256_cbc_sha1_ssl3_tests.txt": 0x0035,
    "des_ede3_cbc_sha1_ssl3_tests.txt": 0x000A,
    "rc4_md5_ssl3_tests.txt": 0x0004,
    "rc4_sha1_ssl3_tests.txt": 0x0005,
}
SSL3_DIR = VECTORS / "boringssl-legacy-aead" / "boringssl-2014-ssl3"
SSL3_CASES = [
    pytest.param(name, index, case, id=f"{name.split('_ssl3')[0]}-{index}")
    for name in SSL3_FILES
    for index, case in enumerate(_read_blocks(SSL3_DIR / name))
]


def _split_key(suite: suites.CipherSuite, version: int, key: bytes) -> tuple[bytes, bytes, bytes]:
    mac_length = suite.mac_key_length()
    key_length = suite.cipher.key_length
    mac_key, enc_key, iv = key[:mac_length], key[mac_length : mac_length + key_length], key[mac_length + key_length :]
    assert len(iv) == suite.iv_length(version)
    return mac_key, enc_key, iv


def test_ssl3_case_count() -> None:
    assert len(SSL3_CASES) == 500


@pytest.mark.parametrize(("name", "index", "case"), SSL3_CASES)
def test_ssl3_record_vectors(name: str, index: int, case: Case) -> None:
    suite = suites.by_id(SSL3_FILES[name])
    assert suite is not None
    version = ProtocolVersion.SSL3
    keys = _split_key(suite, version, bytes.fromhex(case["KEY"]))
    ad = bytes.fromhex(case["AD"])
    seq, content_type = int.from_bytes(ad[:8], "big"), ad[8]
    plaintext = bytes.fromhex(case["IN"])
    fragment = bytes.fromhex(case["CT"] + case["TAG"])
    sealer = make_protection(suite, version, *keys)
    assert sealer.seal(seq, content_type, version, plaintext) == fragment
    opener = make_protection(suite, version, *keys)
    assert opener.open(seq, content_type, version, fragment) == plaintext


# ------------------------------------------------------------------------------- TLS CBC (aws-lc)

AWSLC_SUITES = {
    "aes_128_cbc_sha1": 0x002F,
    "aes_128_cbc_sha256": 0x003C,
    "aes_256_cbc_sha1": 0x0035,
    "aes_256_cbc_sha384": 0xC028,
    "des_ede3_cbc_sha1": 0x000A,
}
AWSLC_DIR = VECTORS / "boringssl-legacy-aead" / "aws-lc"
AWSLC_FILES = sorted(p.name for p in AWSLC_DIR.glob("*.txt.gz"))
AWSLC_CASES = [
    pytest.param(name, index, case, id=f"{name.split('_tests')[0]}-{index}")
    for name in AWSLC_FILES
    for index, case in enumerate(_read_blocks(AWSLC_DIR / name))
]


def test_awslc_case_count() -> None:
    assert len(AWSLC_FILES) == 9
    assert len(AWSLC_CASES) == 8 * 424 + 488


@pytest.mark.parametrize(("name", "index", "case"), AWSLC_CASES)
def test_awslc_tls_cbc_vectors(name: str, index: int, case: Case) -> None:
    suite = suites.by_id(AWSLC_SUITES[name.split("_tls")[0]])
    assert suite is not None
    implicit = "implicit_iv" in name
    version = ProtocolVersion.TLS1_0 if implicit else ProtocolVersion.TLS1_2
    keys = _split_key(suite, version, bytes.fromhex(case["KEY"]))
    ad = bytes.fromhex(case["AD"])
    assert len(ad) == 11
    seq, content_type, record_version = int.from_bytes(ad[:8], "big"), ad[8], int.from_bytes(ad[9:], "big")
    nonce = bytes.fromhex(case["NONCE"])
    plaintext = bytes.fromhex(case["IN"])
    fragment = nonce + bytes.fromhex(case["CT"] + case["TAG"])
    opener = make_protection(suite, version, *keys)
    assert isinstance(opener, CbcMacThenEncrypt)
    if case.get("FAILS") == "01":
        with pytest.raises(BadRecordMAC):
            opener.open(seq, content_type, record_version, fragment)
        return
    assert opener.open(seq, content_type, record_version, fragment) == plaintext
    if case.get("NO_SEAL") != "01":
        sealer = make_protection(suite, version, *keys)
        assert isinstance(sealer, CbcMacThenEncrypt)
        if not implicit:
            aim_explicit_iv(sealer, keys[1], nonce)
        assert sealer.seal(seq, content_type, record_version, plaintext) == fragment


# ------------------------------------------------------------------------------------------ Botan

BOTAN = VECTORS / "botan"
NULL_CASES = [pytest.param(s, c, id=f"{s or 'valid'}-{i}") for i, (s, c) in enumerate(_read_botan(BOTAN / "tls_null.vec"))]


def test_botan_null_case_count() -> None:
    assert len(NULL_CASES) == 5


@pytest.mark.parametrize(("section", "case"), NULL_CASES)
def test_botan_tls_null(section: str, case: dict[str, str]) -> None:
    """Botan's NULL-cipher AEAD MACs its AssociatedData verbatim (its length field is arbitrary here, e.g.
    0x6789 for a 5-byte message), so the vector exercises our record HMAC with that exact 13-byte header;
    the protection's open() must reject the zero MACs of the invalid cases."""
    hash_name = case["Hash"].lower().replace("-", "")
    ad = bytes.fromhex(case["AssociatedData"])
    message = bytes.fromhex(case["Message"])
    fragment = bytes.fromhex(case["Fragment"])
    record_mac = TlsHmac(hash_name, bytes.fromhex(case["Key"]))
    assert fragment[: len(message)] == message
    if section:
        assert section in ("InvalidMAC", "InvalidAssociatedDataLength")
        protection = StreamProtection("NULL", record_mac, None)
        seq, content_type, version = int.from_bytes(ad[:8], "big"), ad[8], int.from_bytes(ad[9:11], "big")
        with pytest.raises(BadRecordMAC):
            protection.open(seq, content_type, version, fragment)
        return
    assert record_mac.compute_over(ad, message) == fragment[len(message) :]
    # and the same MAC through the record path when the header's length is the real one
    seq, content_type, version = int.from_bytes(ad[:8], "big"), ad[8], int.from_bytes(ad[9:11], "big")
    header = ad[:11] + len(message).to_bytes(2, "big")
    protection = StreamProtection("NULL", record_mac, None)
    assert protection.seal(seq, content_type, version, message) == message + record_mac.compute_over(header, message)


KAT_CASES = [pytest.param(s, c, id=f"{c['BlockCipher']}-{c['Protocol']}-etm{c['EncryptThenMAC']}-{i}")
             for i, (s, c) in enumerate(_read_botan(BOTAN / "tls_cbc_kat.vec"))]
KAT_SUITES = {("AES-128", "HMAC(SHA-256)"): 0x003C, ("TripleDES", "HMAC(SHA-1)"): 0x000A}


def test_botan_cbc_kat_count() -> None:
    assert len(KAT_CASES) == 10


@pytest.mark.parametrize(("section", "case"), KAT_CASES)
def test_botan_tls_cbc_kat(section: str, case: dict[str, str]) -> None:
    suite = suites.by_id(KAT_SUITES[(case["BlockCipher"], case["MAC"])])
    assert suite is not None
    mac_length, key_length = int(case["KeylenMAC"]), int(case["KeylenCipher"])
    key = bytes.fromhex(case["Key"])
    mac_key, enc_key = key[:mac_length], key[mac_length : mac_length + key_length]
    ad = bytes.fromhex(case["AssociatedData"])
    seq, content_type, record_version = int.from_bytes(ad[:8], "big"), ad[8], int.from_bytes(ad[9:11], "big")
    nonce = bytes.fromhex(case["Nonce"])
    plaintext = bytes.fromhex(case["Plaintext"])
    fragment = nonce + bytes.fromhex(case["Ciphertext"])
    etm = case["EncryptThenMAC"] == "true"
    # TLS 1.2 / DTLS 1.2 record format: explicit IV; DTLS's epoch is the top 16 bits of the 64-bit seq
    kinds = (CbcEncryptThenMac if etm else CbcMacThenEncrypt)
    sealer = make_protection(suite, ProtocolVersion.TLS1_2, mac_key, enc_key, b"", encrypt_then_mac=etm)
    assert isinstance(sealer, kinds)
    aim_explicit_iv(sealer, enc_key, nonce)
    assert sealer.seal(seq, content_type, record_version, plaintext) == fragment
    opener = make_protection(suite, ProtocolVersion.TLS1_2, mac_key, enc_key, b"", encrypt_then_mac=etm)
    assert opener.open(seq, content_type, record_version, fragment) == plaintext
    tampered = bytearray(fragment)
    tampered[-1] ^= 1
    with pytest.raises(BadRecordMAC):
        make_protection(suite, ProtocolVersion.TLS1_2, mac_key, enc_key, b"", encrypt_then_mac=etm).open(
            seq, content_type, record_version, bytes(tampered)
        )


PADDING_CASES = [pytest.param(c, id=str(i)) for i, (_, c) in enumerate(_read_botan(BOTAN / "tls_cbc_padding.vec"))]


def test_botan_padding_count() -> None:
    assert len(PADDING_CASES) == 22


@pytest.mark.parametrize("case", PADDING_CASES)
def test_botan_tls_cbc_padding(case: dict[str, str]) -> None:
    assert tls_cbc_padding_length(bytes.fromhex(case["Record"])) == int(case["Output"])


VALIDITY_CASES = [pytest.param(c, id=str(i)) for i, (_, c) in enumerate(_read_botan(BOTAN / "tls_cbc.vec"))]


def test_botan_cbc_validity_count() -> None:
    assert len(VALIDITY_CASES) == 10


@pytest.mark.parametrize("case", VALIDITY_CASES)
def test_botan_tls_cbc_record_validity(case: dict[str, str]) -> None:
    """Botan decrypts ``Record`` with a no-op block cipher (D(C) = C) in CBC mode under a zero IV and a
    MAC that always outputs zeros; ``Valid`` says whether padding and MAC check out. We replay that:
    plaintext block i = C_i XOR C_(i-1), then our padding check, room for the MAC, and a zero MAC."""
    mac_length, block = int(case["MACsize"]), int(case["Blocksize"])
    record = bytes.fromhex(case["Record"])
    previous = bytes(block) + record[:-block]
    decrypted = bytes(a ^ b for a, b in zip(record, previous, strict=True))
    padding = tls_cbc_padding_length(decrypted)
    valid = padding > 0 and len(decrypted) - padding >= mac_length
    if valid:
        mac = decrypted[len(decrypted) - padding - mac_length : len(decrypted) - padding]
        valid = mac == bytes(mac_length)
    assert valid == (case["Valid"] == "1")
