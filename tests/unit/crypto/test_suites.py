"""The cipher suite registry checked against two independent implementations' own tables.

`openssl ciphers -V` (OpenSSL 3) and `gnutls-cli --list` (GnuTLS) print id, name and properties of every
suite they know. Every row we share with them must agree on id, OpenSSL name, key exchange, cipher,
key length, MAC and (for GnuTLS) the minimum protocol version.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.helpers.env import require_binary
from tlsstate.crypto import suites
from tlsstate.crypto.suites import CipherFamily, KeyExchange, MacAlgorithm
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError

OPENSSL_ROW = re.compile(
    r"\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+(\S+)\s+Kx=(\S+)\s+Au=(\S+)\s+Enc=(\S+)\s+Mac=(\S+)"
)


def _openssl_table() -> list[dict[str, str]]:
    """Every suite OpenSSL knows, with its legacy provider (SEED, and IDEA/DES/export where built) when it loads."""
    exe = require_binary("openssl")
    spec = "ALL:eNULL:COMPLEMENTOFALL:@SECLEVEL=0"
    legacy = subprocess.run([exe, "ciphers", "-provider", "legacy", "-provider", "default", "-V", spec],
                            capture_output=True, text=True, timeout=30)
    out = legacy.stdout if legacy.returncode == 0 else subprocess.run(
        [exe, "ciphers", "-V", spec], capture_output=True, text=True, check=True, timeout=30,
    ).stdout
    rows = []
    for line in out.splitlines():
        m = OPENSSL_ROW.match(line)
        if m:
            rows.append({
                "id": m.group(1) + m.group(2), "name": m.group(3), "version": m.group(4),
                "kx": m.group(5), "au": m.group(6), "enc": m.group(7), "mac": m.group(8),
            })
    assert len(rows) > 50, out[:500]
    return rows


OPENSSL_KX = {
    KeyExchange.RSA: ("RSA", "RSA"),
    KeyExchange.DHE_RSA: ("DH", "RSA"),
    KeyExchange.ECDHE_RSA: ("ECDH", "RSA"),
    KeyExchange.ECDHE_ECDSA: ("ECDH", "ECDSA"),
    KeyExchange.PSK: ("PSK", "PSK"),
    KeyExchange.DHE_PSK: ("DHEPSK", "PSK"),
    KeyExchange.RSA_PSK: ("RSAPSK", "RSA"),
    KeyExchange.ECDHE_PSK: ("ECDHEPSK", "PSK"),
    KeyExchange.TLS13: ("any", "any"),
    KeyExchange.DHE_DSS: ("DH", "DSS"),
    KeyExchange.DH_ANON: ("DH", "None"),
    KeyExchange.ECDH_ANON: ("ECDH", "None"),
    KeyExchange.DH_DSS: ("DH/DSS", "DH"),
    KeyExchange.DH_RSA: ("DH/RSA", "DH"),
    KeyExchange.ECDH_ECDSA: ("ECDH/ECDSA", "ECDH"),
    KeyExchange.ECDH_RSA: ("ECDH/RSA", "ECDH"),
    KeyExchange.RSA_EXPORT: ("RSA(512)", "RSA"),
    KeyExchange.DHE_DSS_EXPORT: ("DH(512)", "DSS"),
    KeyExchange.DHE_RSA_EXPORT: ("DH(512)", "RSA"),
    KeyExchange.DH_ANON_EXPORT: ("DH(512)", "None"),
    KeyExchange.SRP_SHA: ("SRP", "SRP"),
    KeyExchange.SRP_SHA_RSA: ("SRP", "RSA"),
    KeyExchange.SRP_SHA_DSS: ("SRP", "DSS"),
}


def _openssl_enc(spec: suites.CipherSpec) -> str:
    bits = spec.key_length * 8
    return {
        "NULL": "None",
        "RC4": f"RC4({bits})",
        "3DES": "3DES(168)",
        "AES": f"AES({bits})",
        "AES-GCM": f"AESGCM({bits})",
        "AES-CCM": f"AESCCM8({bits})" if spec.tag_length == 8 else f"AESCCM({bits})",
        "CHACHA20-POLY1305": "CHACHA20/POLY1305(256)",
        "CAMELLIA": f"Camellia({bits})",
        "SEED": "SEED(128)",
        "IDEA": "IDEA(128)",
        "DES": "DES(40)" if spec.is_export else "DES(56)",
        "RC2": "RC2(40)",
    }[spec.algorithm] if not (spec.is_export and spec.algorithm == "RC4") else "RC4(40)"


def test_registry_agrees_with_openssl() -> None:
    compared = 0
    for row in _openssl_table():
        ours = suites.by_id(int(row["id"], 16))
        if ours is None:
            continue
        compared += 1
        assert ours.openssl_name == row["name"], (row, ours)
        assert OPENSSL_KX[ours.key_exchange] == (row["kx"], row["au"]), (row, ours)
        assert _openssl_enc(ours.cipher) == row["enc"], (row, ours)
        expected_mac = "AEAD" if ours.is_aead else {
            MacAlgorithm.MD5: "MD5", MacAlgorithm.SHA1: "SHA1",
            MacAlgorithm.SHA256: "SHA256", MacAlgorithm.SHA384: "SHA384",
        }[ours.mac]
        assert row["mac"] == expected_mac, (row, ours)
        _check_min_version(ours, row["version"])
    # OpenSSL 3 knows nearly all of our suites (it lacks none of the AES/ChaCha/3DES/NULL/Camellia ones)
    assert compared >= 140, compared


def _check_min_version(ours: suites.CipherSuite, theirs: str) -> None:
    """Compare the lowest version a suite may be used in.

    The two libraries disagree with each other on PSK suites with SHA-2 HMACs (RFC 5487 §3.2 and
    RFC 5489 allow them from TLS 1.0; GnuTLS marks some TLS 1.2-only), so those follow the RFC alone.
    GnuTLS has no SSL 3.0 and OpenSSL calls RFC 4279 suites "SSLv3": both mean "before TLS 1.2".
    """
    if ours.key_exchange.uses_psk and not ours.is_aead:
        assert ours.min_version == ProtocolVersion.TLS1_0
        return
    if theirs == "TLSv1.3":
        assert ours.is_tls13
    elif theirs == "TLSv1.2":
        assert ours.min_version == ProtocolVersion.TLS1_2, (theirs, ours)
    else:
        assert theirs in ("SSLv3", "TLSv1"), theirs
        assert ours.min_version <= ProtocolVersion.TLS1_0, (theirs, ours)


def _gnutls_table() -> list[tuple[str, int, str]]:
    exe = require_binary("gnutls-cli")
    out = subprocess.run([exe, "--list"], capture_output=True, text=True, timeout=30).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"(TLS_\S+)\s+0x([0-9a-f]{2}), 0x([0-9a-f]{2})\s+(\S+)", line)
        if m:
            rows.append((m.group(1), int(m.group(2) + m.group(3), 16), m.group(4)))
    assert len(rows) > 50
    return rows


GNUTLS_KX_PREFIX = {
    KeyExchange.RSA: "TLS_RSA_", KeyExchange.DHE_RSA: "TLS_DHE_RSA_", KeyExchange.ECDHE_RSA: "TLS_ECDHE_RSA_",
    KeyExchange.ECDHE_ECDSA: "TLS_ECDHE_ECDSA_", KeyExchange.PSK: "TLS_PSK_", KeyExchange.DHE_PSK: "TLS_DHE_PSK_",
    KeyExchange.RSA_PSK: "TLS_RSA_PSK_", KeyExchange.ECDHE_PSK: "TLS_ECDHE_PSK_", KeyExchange.TLS13: "TLS_",
    KeyExchange.DHE_DSS: "TLS_DHE_DSS_", KeyExchange.DH_ANON: "TLS_DH_ANON_", KeyExchange.ECDH_ANON: "TLS_ECDH_ANON_",
    KeyExchange.SRP_SHA: "TLS_SRP_SHA_", KeyExchange.SRP_SHA_RSA: "TLS_SRP_SHA_RSA_",
    KeyExchange.SRP_SHA_DSS: "TLS_SRP_SHA_DSS_",
}


def test_registry_agrees_with_gnutls() -> None:
    compared = 0
    for name, suite_id, min_version in _gnutls_table():
        ours = suites.by_id(suite_id)
        if ours is None:
            continue
        compared += 1
        assert name.startswith(GNUTLS_KX_PREFIX[ours.key_exchange]), (name, ours)
        _check_min_version(ours, min_version.replace("TLS1.0", "TLSv1").replace("TLS1.", "TLSv1."))
        gnutls_key_bits = re.search(r"_(128|256)_", name)
        if gnutls_key_bits:
            assert ours.cipher.key_length * 8 == int(gnutls_key_bits.group(1)), (name, ours)
    assert compared >= 80, compared


def test_every_row_is_consistent() -> None:
    ids = [s.id for s in suites.CIPHER_SUITES]
    assert len(ids) == len(set(ids))
    for s in suites.CIPHER_SUITES:
        if s.is_aead:
            assert s.mac is MacAlgorithm.NULL and s.cipher.tag_length in (8, 16)
        else:
            assert s.mac is not MacAlgorithm.NULL and s.cipher.tag_length == 0
        if s.family is CipherFamily.CBC:
            assert s.cipher.block_size in (8, 16)
        # RFC 5246 §6.3: key block = 2 x (mac key + enc key + iv); RFC 2246 §6.3 export: 2 x (mac key + 5)
        for v in (ProtocolVersion.SSL3, ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_2):
            if s.cipher.is_export:
                assert s.key_block_length(v) == 2 * (s.mac_key_length() + 5)
                assert s.max_version == ProtocolVersion.TLS1_0  # RFC 4346 §A.5
            else:
                assert s.key_block_length(v) == 2 * (s.mac_key_length() + s.cipher.key_length + s.iv_length(v))


@pytest.mark.parametrize(
    ("text", "suite_id"),
    [("AES128-SHA", 0x002F), ("TLS_RSA_WITH_AES_128_CBC_SHA", 0x002F), ("0x002f", 0x002F), ("002F", 0x002F),
     ("ecdhe-rsa-aes128-gcm-sha256", 0xC02F), ("0xcca8", 0xCCA8), ("TLS_AES_128_GCM_SHA256", 0x1301)],
)
def test_lookup(text: str, suite_id: int) -> None:
    assert suites.lookup(text).id == suite_id


@pytest.mark.parametrize("text", ["", "AES129-SHA", "0x9999", "0xzzzz", "0x0000"])
def test_lookup_rejects_unknown(text: str) -> None:
    with pytest.raises(ConfigurationError):
        suites.lookup(text)


def test_iv_lengths_follow_the_version() -> None:
    cbc = suites.lookup("AES128-SHA")
    assert cbc.iv_length(ProtocolVersion.SSL3) == 16
    assert cbc.iv_length(ProtocolVersion.TLS1_0) == 16
    assert cbc.iv_length(ProtocolVersion.TLS1_1) == 0
    assert suites.lookup("ECDHE-RSA-AES128-GCM-SHA256").iv_length(ProtocolVersion.TLS1_2) == 4
    assert suites.lookup("AES128-CCM8").iv_length(ProtocolVersion.TLS1_2) == 4
    assert suites.lookup("ECDHE-RSA-CHACHA20-POLY1305").iv_length(ProtocolVersion.TLS1_2) == 12
    assert suites.lookup("DES-CBC3-SHA").iv_length(ProtocolVersion.TLS1_0) == 8
