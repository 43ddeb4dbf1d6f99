"""``tlsstate keys`` / ``tlsstate prf`` through click's CliRunner, checked against external vectors.

* keys --json for every Wireshark capture session with a pre-master secret (SSL 3.0, TLS 1.0, TLS 1.2, PSK GCM/CCM):
  master secret and the six values equal tshark's; the same from --master-secret
* keys --session-hash: NIST ACVP RFC 7627 EMS cases (master secret, key block prefix, six values)
* keys with no arguments: the built-in example is the dmgr.pcapng session, equal to tshark's values
* prf: Botan/IETF TLS 1.2 PRF vectors, the OpenSSL TLS 1.0 CAVP vector, SSL 3.0 expansion = Wireshark's master secret
* bad input: exit status 2, one line on stderr, no traceback
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.helpers.env import VECTORS
from tlsstate.cli.main import cli

SIX = (
    "client_write_mac_key",
    "server_write_mac_key",
    "client_write_key",
    "server_write_key",
    "client_write_iv",
    "server_write_iv",
)
WIRESHARK_TO_RFC = {
    "client_write_mac_key": "client_mac_key",
    "server_write_mac_key": "server_mac_key",
    "client_write_key": "client_write_key",
    "server_write_key": "server_write_key",
    "client_write_iv": "client_write_iv",
    "server_write_iv": "server_write_iv",
}


def run(*args: str) -> Result:
    return CliRunner(env={"COLUMNS": "200"}).invoke(cli, list(args))


def _wireshark_sessions() -> list[Any]:
    cases = []
    for path in sorted((VECTORS / "wireshark-test-suite" / "expected-tshark").glob("*.json")):
        for index, km in enumerate(json.loads(path.read_text()).get("key_material", [])):
            if km.get("pre_master_secret") and km.get("client_random"):
                cases.append(pytest.param(km, id=f"{path.stem}-{index}-{km['cipher_suite_name']}"))
    return cases


WIRESHARK = _wireshark_sessions()
VERSION_NAMES = {"0x0300": "ssl3", "0x0301": "tls1.0", "0x0302": "tls1.1", "0x0303": "0x0303"}


def _check_against_wireshark(document: dict[str, Any], km: dict[str, str]) -> None:
    assert document["master_secret"] == km["master_secret"]
    assert km["key_expansion"].startswith(document["key_block"])
    for ours, theirs in WIRESHARK_TO_RFC.items():
        if document[ours] or theirs not in km:
            # present in ours -> must equal Wireshark's; absent in Wireshark (AEAD MAC keys) -> must be empty in ours
            assert document[ours] == km.get(theirs, ""), ours
        else:
            # TLS 1.1+ CBC: no IV in the key block (Wireshark prints the unused bytes that follow the keys)
            assert ours.endswith("_iv") and km["version"] == "0x0303"


def test_wireshark_session_count() -> None:
    assert len(WIRESHARK) == 9


@pytest.mark.parametrize("km", WIRESHARK)
def test_keys_json_matches_wireshark(km: dict[str, str]) -> None:
    common = [
        "--version",
        VERSION_NAMES[km["version"]],
        "--suite",
        km["cipher_suite"],
        "--client-random",
        km["client_random"],
        "--server-random",
        km["server_random"],
        "--json",
    ]
    result = run("keys", *common, "--premaster", km["pre_master_secret"])
    assert result.exit_code == 0, result.output + result.stderr
    document = json.loads(result.stdout)
    _check_against_wireshark(document, km)
    assert document["cipher_suite"] == km["cipher_suite_name"]
    assert document["extended_master_secret"] is False

    from_master = run("keys", *common, "--master-secret", km["master_secret"])
    assert from_master.exit_code == 0
    assert json.loads(from_master.stdout) == document


def test_keys_json_stable_keys() -> None:
    result = run("keys", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    required = {"master_secret", *SIX}
    assert required <= set(document)
    assert all(document[k] == document[k].lower() for k in required)


def test_keys_example_is_the_dmgr_capture_session() -> None:
    path = VECTORS / "wireshark-test-suite" / "expected-tshark" / "dmgr.json"
    km = json.loads(path.read_text())["key_material"][0]
    result = run("keys", "--json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    _check_against_wireshark(document, km)
    assert "dmgr.pcapng" in document["example_source"]

    screen = run("keys")
    assert screen.exit_code == 0
    text = screen.stdout
    assert "dmgr.pcapng" in text
    assert "authenticates records the client sends (HMAC-SHA1)" in text
    assert "encrypts records the server sends (AES-128-CBC)" in text
    assert "implicit CBC IV" in text
    for theirs in WIRESHARK_TO_RFC.values():
        assert km[theirs] in text


def test_keys_screen_explains_iv_roles() -> None:
    random = "11" * 32
    master = "22" * 48
    cases = {
        ("tls1.2", "AES128-SHA"): "not used in this version",
        ("tls1.2", "ECDHE-RSA-AES128-GCM-SHA256"): "GCM salt",
        ("tls1.2", "ECDHE-RSA-CHACHA20-POLY1305"): "ChaCha20-Poly1305 nonce mask",
        ("tls1.2", "AES128-CCM"): "CCM salt",
        ("tls1.0", "RC4-SHA"): "not used: RC4-128 has no IV",
    }
    for (version, suite), expected in cases.items():
        result = run(
            "keys", "--version", version, "--suite", suite, "--client-random", random, "--server-random", random,
            "--master-secret", master,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert expected in result.stdout, (suite, result.stdout)
        assert "key block" in result.stdout


def _ems_cases() -> list[Any]:
    data = json.loads((VECTORS / "nist-acvp" / "TLS-v1.2-KDF-RFC7627" / "internalProjection.json").read_text())
    suites = {"SHA2-256": "TLS_RSA_WITH_AES_128_GCM_SHA256", "SHA2-384": "TLS_RSA_WITH_AES_256_GCM_SHA384"}
    cases = []
    for group in data["testGroups"]:
        needed = {"SHA2-256": 40, "SHA2-384": 72}.get(group["hashAlg"], 1 << 20)  # key block bytes the suite uses
        if group["keyBlockLength"] // 8 >= needed:
            for test in group["tests"][:5]:
                cases.append(pytest.param(suites[group["hashAlg"]], test, id=f"g{group['tgId']}-t{test['tcId']}"))
    return cases


EMS = _ems_cases()


def test_ems_case_count() -> None:
    assert len(EMS) == 15  # SHA-256: 512- and 1024-bit groups; SHA-384: the 1024-bit group (AES-256-GCM needs 72 bytes)


@pytest.mark.parametrize(("suite", "test"), EMS)
def test_keys_extended_master_secret_matches_acvp(suite: str, test: dict[str, str]) -> None:
    result = run(
        "keys", "--version", "tls1.2", "--suite", suite, "--client-random", test["clientRandom"],
        "--server-random", test["serverRandom"], "--premaster", test["preMasterSecret"],
        "--session-hash", test["sessionHash"], "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    key_block = test["keyBlock"].lower()
    assert document["master_secret"] == test["masterSecret"].lower()
    assert document["extended_master_secret"] is True
    assert key_block.startswith(document["key_block"])
    # AES-GCM: no MAC keys; keys then 4-byte salts, cut in RFC 5246 §6.3 order from ACVP's key block
    key_hex = 32 if "128" in suite else 64
    assert document["client_write_mac_key"] == document["server_write_mac_key"] == ""
    assert document["client_write_key"] == key_block[:key_hex]
    assert document["server_write_key"] == key_block[key_hex : 2 * key_hex]
    assert document["client_write_iv"] == key_block[2 * key_hex : 2 * key_hex + 8]
    assert document["server_write_iv"] == key_block[2 * key_hex + 8 : 2 * key_hex + 16]


# --- prf ----------------------------------------------------------------------------------------------------------------


def test_prf_botan_tls12_vectors() -> None:
    text = (VECTORS / "botan" / "kdf" / "tls_prf.vec").read_text()
    checked = 0
    for hash_name, section in (("sha256", "[TLS-12-PRF(HMAC(SHA-256))]"), ("sha384", "[TLS-12-PRF(HMAC(SHA-384))]")):
        block = text.split(section, 1)[1].split("[", 1)[0]
        fields = dict(line.split(" = ", 1) for line in block.strip().splitlines())
        expected = fields["Output"].lower()
        result = run(
            "prf", "--version", "tls1.2", "--hash", hash_name, "--secret", fields["Secret"],
            "--label", bytes.fromhex(fields["Label"]).decode(), "--seed", fields["Salt"],
            "--length", str(len(expected) // 2),
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == expected
        checked += 1
    assert checked == 2


def test_prf_openssl_tls10_cavp_vector() -> None:
    # OpenSSL evpkdf_tls11_prf.txt, first block (CAVP SP800-135 TLS 1.0/1.1 COUNT=0)
    text = (VECTORS / "openssl-evp-kdf" / "evpkdf_tls11_prf.txt").read_text()
    block = text.split("KDF = TLS1-PRF", 2)[1]
    values = {line.split(" = ")[0]: line.split(" = ")[1] for line in block.strip().splitlines()}
    secret = values["Ctrl.Secret"].split(":")[1]
    seed = values["Ctrl.client_random"].split(":")[1] + values["Ctrl.server_random"].split(":")[1]
    assert values["Ctrl.label"] == "seed:master secret"
    result = run(
        "prf", "--version", "tls1.1", "--secret", secret, "--label", "master secret", "--seed", seed, "--length", "48"
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == values["Output"]


def test_prf_ssl3_is_the_expansion() -> None:
    # The SSL 3.0 master secret of rsasnakeoil2's second session, as tshark derived it.
    path = VECTORS / "wireshark-test-suite" / "expected-tshark" / "rsasnakeoil2.json"
    km = json.loads(path.read_text())["key_material"][1]
    result = run(
        "prf", "--version", "ssl3", "--secret", km["pre_master_secret"],
        "--seed", km["client_random"] + km["server_random"], "--length", "48",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.strip() == km["master_secret"]


# --- bad input ----------------------------------------------------------------------------------------------------------

R32 = "00" * 32
M48 = "00" * 48
BASE = ["keys", "--version", "tls1.2", "--suite", "AES128-SHA", "--client-random", R32, "--server-random", R32]
BAD = {
    "odd hex": [*BASE, "--premaster", "0" * 95],
    "not hex": [*BASE, "--master-secret", "zz" * 48],
    "unknown suite": ["keys", "--version", "tls1.2", "--suite", "NOPE-SHA", "--client-random", R32, "--server-random", R32,
                      "--master-secret", M48],
    "suite not in version": ["keys", "--version", "tls1.0", "--suite", "AES128-GCM-SHA256", "--client-random", R32,
                             "--server-random", R32, "--master-secret", M48],
    "ssl3 gcm": ["keys", "--version", "ssl3", "--suite", "ECDHE-RSA-AES128-GCM-SHA256", "--client-random", R32,
                 "--server-random", R32, "--master-secret", M48],
    "tls1.1 export": ["keys", "--version", "tls1.1", "--suite", "EXP-RC4-MD5", "--client-random", R32,
                      "--server-random", R32, "--master-secret", M48],
    "tls13 suite": ["keys", "--version", "tls1.2", "--suite", "TLS_AES_128_GCM_SHA256", "--client-random", R32,
                    "--server-random", R32, "--master-secret", M48],
    "tls13 version": ["keys", "--version", "tls1.3", "--suite", "AES128-SHA", "--client-random", R32,
                      "--server-random", R32, "--master-secret", M48],
    "bad version": ["keys", "--version", "tls9", "--suite", "AES128-SHA", "--client-random", R32, "--server-random", R32,
                    "--master-secret", M48],
    "short master": [*BASE, "--master-secret", "00" * 47],
    "short rsa premaster": [*BASE, "--premaster", "00" * 47],
    "short client random": ["keys", "--version", "tls1.2", "--suite", "AES128-SHA", "--client-random", "00" * 31,
                            "--server-random", R32, "--master-secret", M48],
    "long server random": ["keys", "--version", "tls1.2", "--suite", "AES128-SHA", "--client-random", R32,
                           "--server-random", "00" * 33, "--master-secret", M48],
    "both secrets": [*BASE, "--premaster", M48, "--master-secret", M48],
    "no secret": BASE,
    "missing options": ["keys", "--version", "tls1.2"],
    "session hash with master": [*BASE, "--master-secret", M48, "--session-hash", "00" * 32],
    "session hash wrong length": [*BASE, "--premaster", M48, "--session-hash", "00" * 20],
    "session hash ssl3": ["keys", "--version", "ssl3", "--suite", "AES128-SHA", "--client-random", R32,
                          "--server-random", R32, "--premaster", M48, "--session-hash", "00" * 36],
    "unknown option": ["keys", "--bogus"],
    "prf length not int": ["prf", "--version", "tls1.2", "--secret", "00", "--label", "x", "--seed", "00", "--length", "x"],
    "prf length zero": ["prf", "--version", "tls1.2", "--secret", "00", "--label", "x", "--seed", "00", "--length", "0"],
    "prf length huge": ["prf", "--version", "tls1.2", "--secret", "00", "--label", "x", "--seed", "00", "--length",
                        "100000000"],
    "prf ssl3 label": ["prf", "--version", "ssl3", "--secret", "00", "--label", "x", "--seed", "00", "--length", "16"],
    "prf ssl3 too long": ["prf", "--version", "ssl3", "--secret", "00", "--seed", "00", "--length", "417"],
    "prf tls13": ["prf", "--version", "tls1.3", "--secret", "00", "--label", "x", "--seed", "00", "--length", "16"],
    "prf hash with tls1.0": ["prf", "--version", "tls1.0", "--hash", "sha384", "--secret", "00", "--label", "x",
                             "--seed", "00", "--length", "16"],
    "prf bad hash": ["prf", "--version", "tls1.2", "--hash", "md4", "--secret", "00", "--label", "x", "--seed", "00",
                     "--length", "16"],
    "prf missing label": ["prf", "--version", "tls1.2", "--secret", "00", "--seed", "00", "--length", "16"],
    "prf missing secret": ["prf", "--version", "tls1.2", "--label", "x", "--seed", "00", "--length", "16"],
    "prf odd seed": ["prf", "--version", "tls1.2", "--secret", "00", "--label", "x", "--seed", "000", "--length", "16"],
}  # fmt: skip


@pytest.mark.parametrize("args", list(BAD.values()), ids=list(BAD))
def test_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(("version", "suite", "params"), [
    ("tls1.0", "EXP-RC4-MD5", ("RC4", 16, "md5", 0)),
    ("ssl3", "EXP-RC2-CBC-MD5", ("RC2", 16, "md5", 8)),
    ("tls1.0", "EXP-EDH-RSA-DES-CBC-SHA", ("DES", 8, "sha1", 8)),
    ("ssl3", "ECDHE-RSA-AES128-SHA", ("AES", 16, "sha1", 16)),  # RFC 4492 never forbade ECC in SSL 3.0
    ("tls1.1", "ECDH-ECDSA-CAMELLIA128-SHA256", None),  # SHA-256 HMAC suites are TLS 1.2 only
])
def test_keys_for_export_and_ssl3_ecc_suites(version: str, suite: str, params: tuple[str, int, str, int] | None) -> None:
    """The six values of the export suites (RFC 2246 §6.3, RFC 6101 §6.2.2) and of an ECC suite in SSL 3.0 equal
    the independent derivation of tests/helpers/synthetic_tls.py (the one tshark agrees with on captures)."""
    from tests.helpers.synthetic_tls import SSL3, TLS10, Params, derive_keys

    client_random, server_random, master = bytes(range(32)), bytes(range(32, 64)), bytes(range(100, 148))
    result = run("keys", "--version", version, "--suite", suite, "--client-random", client_random.hex(),
                 "--server-random", server_random.hex(), "--master-secret", master.hex(), "--json")
    if params is None:
        assert result.exit_code == 2
        return
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    cipher, key_length, mac, block = params
    wire_version = SSL3 if version == "ssl3" else TLS10
    expected = derive_keys(Params(0, wire_version, cipher, key_length, mac, block, 5 if "EXP" in suite else 0),
                           master, client_random, server_random)
    for index, side in enumerate(("client", "server")):
        assert got[f"{side}_write_mac_key"] == expected.mac[index].hex()
        assert got[f"{side}_write_key"] == expected.key[index].hex()
        assert got[f"{side}_write_iv"] == expected.iv[index].hex()
