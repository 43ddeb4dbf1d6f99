"""The six values (tlsstate.crypto.keys) against Wireshark's split of real captures' key blocks.

tshark 4.0.17 printed, for every session it decrypted, the key expansion and its split into client/server MAC key,
write key and IV (../shared/vectors/wireshark-test-suite/expected-tshark/*.json). Those captures cover SSL 3.0 and
TLS 1.0 CBC (implicit IVs), TLS 1.2 CBC (no IV in the key block), AES-CCM and AES-GCM (4-byte salts) and seven
ChaCha20-Poly1305 suites (12-byte nonce masks), so they check partition_key_block's sizes and RFC 5246 §6.3 order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers.env import VECTORS
from tlsstate.crypto.keys import KEY_NAMES, ConnectionKeys, SecurityParameters, derive_connection_keys, partition_key_block
from tlsstate.crypto.suites import lookup
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError


def _key_material() -> list[Any]:
    cases = []
    for path in sorted((VECTORS / "wireshark-test-suite" / "expected-tshark").glob("*.json")):
        data = json.loads(path.read_text())
        for index, km in enumerate(data.get("key_material", [])):
            cases.append(pytest.param(km, id=f"{path.stem}-{index}-{km['cipher_suite_name']}"))
    return cases


KEY_MATERIAL = _key_material()


def test_key_material_coverage() -> None:
    """Every family the brief names is present: TLS 1.0/SSL 3.0 CBC, TLS 1.2 CBC, GCM, CCM, ChaCha20."""
    assert len(KEY_MATERIAL) == 20  # dhe1, dmgr, rsa-p-lt-q, 3 rsasnakeoil2, 5 renegotiation, CCM, GCM, 7 ChaCha
    names = {p.values[0]["cipher_suite_name"] for p in KEY_MATERIAL}
    assert {"TLS_PSK_WITH_AES_128_CCM", "TLS_PSK_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"} <= names
    assert sum("CHACHA20" in n for n in names) == 7
    assert {p.values[0]["version"] for p in KEY_MATERIAL} == {"0x0300", "0x0301", "0x0303"}


@pytest.mark.parametrize("km", KEY_MATERIAL)
def test_partition_matches_wireshark(km: dict[str, str]) -> None:
    suite = lookup(km["cipher_suite"])
    version = ProtocolVersion(int(km["version"], 16))
    block = bytes.fromhex(km["key_expansion"])
    keys = partition_key_block(suite, version, block)

    assert keys.client_write_mac_key.hex() == km.get("client_mac_key", "")
    assert keys.server_write_mac_key.hex() == km.get("server_mac_key", "")
    assert keys.client_write_key.hex() == km["client_write_key"]
    assert keys.server_write_key.hex() == km["server_write_key"]
    if suite.iv_length(version):
        assert keys.client_write_iv.hex() == km["client_write_iv"]
        assert keys.server_write_iv.hex() == km["server_write_iv"]
    else:
        # TLS 1.1+ CBC: the IV is explicit per record (RFC 4346 §6.3), nothing is cut from the key block.
        # Wireshark still prints the bytes that follow the keys; they sit right after the write keys.
        assert keys.client_write_iv == keys.server_write_iv == b""
        after_keys = 2 * (suite.mac_key_length() + suite.cipher.key_length)
        iv_len = len(km["client_write_iv"]) // 2
        assert block[after_keys : after_keys + iv_len].hex() == km["client_write_iv"]

    if km.get("master_secret") and km.get("client_random"):
        derived = derive_connection_keys(
            suite,
            version,
            bytes.fromhex(km["master_secret"]),
            bytes.fromhex(km["client_random"]),
            bytes.fromhex(km["server_random"]),
        )
        assert derived == keys


def test_partition_order_and_sizes_for_every_family() -> None:
    """RFC 5246 §6.3 order on a block of distinct bytes; sizes per suite row (spot checks of the registry)."""
    block = bytes(range(256))
    expectations = {
        # suite, version: (mac, key, iv)
        ("0x002f", ProtocolVersion.TLS1_0): (20, 16, 16),
        ("0x002f", ProtocolVersion.TLS1_2): (20, 16, 0),
        ("0x000a", ProtocolVersion.SSL3): (20, 24, 8),
        ("0x0005", ProtocolVersion.TLS1_2): (20, 16, 0),
        ("0x009c", ProtocolVersion.TLS1_2): (0, 16, 4),
        ("0xcca8", ProtocolVersion.TLS1_2): (0, 32, 12),
        ("0x003d", ProtocolVersion.TLS1_2): (32, 32, 0),
        ("0x0002", ProtocolVersion.TLS1_0): (20, 0, 0),
    }
    for (suite_id, version), (mac, key, iv) in expectations.items():
        keys = partition_key_block(lookup(suite_id), version, block)
        offset = 0
        for name, length in zip(KEY_NAMES, (mac, mac, key, key, iv, iv), strict=True):
            assert getattr(keys, name) == block[offset : offset + length], (suite_id, name)
            offset += length


def test_repr_never_shows_secrets() -> None:
    keys = ConnectionKeys(b"\xaa" * 20, b"\xbb" * 20, b"\xcc" * 16, b"\xdd" * 16, b"\xee" * 16, b"")
    text = repr(keys) + str(keys)
    assert "<secret 20B>" in text and "<secret 0B>" in text
    for byte in ("aa", "bb", "cc", "dd", "ee"):
        assert byte * 4 not in text
    assert keys.as_hex_dict() == {
        "client_write_mac_key": "aa" * 20,
        "server_write_mac_key": "bb" * 20,
        "client_write_key": "cc" * 16,
        "server_write_key": "dd" * 16,
        "client_write_iv": "ee" * 16,
        "server_write_iv": "",
    }
    assert keys.for_writer("server") == (b"\xbb" * 20, b"\xdd" * 16, b"")

    params = SecurityParameters(
        version=ProtocolVersion.TLS1_2,
        suite=lookup("AES128-SHA"),
        client_random=b"\x01" * 32,
        server_random=b"\x02" * 32,
        premaster_secret=b"\xf1" * 48,
        master_secret=b"\xf2" * 48,
        extended_master_secret=True,
        encrypt_then_mac=False,
        keys=keys,
    )
    text = repr(params)
    assert "f1f1" not in text and "f2f2" not in text and "aaaa" not in text
    assert "<secret 48B>" in text and "TLS_RSA_WITH_AES_128_CBC_SHA" in text and "TLS 1.2" in text


def test_bad_inputs_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"not valid in SSL 3\.0"):
        partition_key_block(lookup("0x009c"), ProtocolVersion.SSL3, bytes(100))
    with pytest.raises(ConfigurationError, match=r"TLS 1\.3"):
        partition_key_block(lookup("0x1301"), ProtocolVersion.TLS1_3, bytes(100))
    with pytest.raises(ConfigurationError, match="shorter"):
        partition_key_block(lookup("0x002f"), ProtocolVersion.TLS1_0, bytes(103))
    with pytest.raises(ConfigurationError):
        derive_connection_keys(lookup("0x002f"), ProtocolVersion.TLS1_2, bytes(47), bytes(32), bytes(32))
    with pytest.raises(ConfigurationError):
        ConnectionKeys(b"", b"", b"", b"", b"", b"").for_writer("both")
