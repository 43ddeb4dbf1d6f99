"""``tlsstate demo``: runs, exits 0, shows the six names and three bad_record_mac proofs per suite.

The --json output is also checked against an independent, test-local TLS 1.2 PRF (RFC 5246 §5, built
directly on the stdlib HMAC): the master secret must be PRF(premaster, "extended master secret",
SHA-256(handshake messages captured off the wire)) (RFC 7627 §4), and the six values the RFC 5246 §6.3
cut of PRF(master, "key expansion", server_random + client_random) — not merely what tlsstate computed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys

from click.testing import CliRunner

from tlsstate.cli.main import cli

SIX = ("client write MAC key", "server write MAC key", "client write key", "server write key",
       "client write IV", "server write IV")


def p_sha256(secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5 P_SHA256, written out independently of tlsstate.crypto.prf."""
    out, a = b"", seed
    while len(out) < length:
        a = hmac.digest(secret, a, "sha256")
        out += hmac.digest(secret, a + seed, "sha256")
    return out[:length]


def p_md5_sha1(secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 2246 §5 TLS 1.0 PRF core: P_MD5(S1) XOR P_SHA1(S2), the secret split in two (shared middle byte)."""
    half = (len(secret) + 1) // 2

    def p_hash(name: str, key: bytes) -> bytes:
        out, a = b"", seed
        while len(out) < length:
            a = hmac.digest(key, a, name)
            out += hmac.digest(key, a + seed, name)
        return out[:length]

    return bytes(x ^ y for x, y in zip(p_hash("md5", secret[:half]), p_hash("sha1", secret[-half:]), strict=True))


def test_demo_screen() -> None:
    result = CliRunner(env={"COLUMNS": "220"}).invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    text = result.output
    for name in SIX:
        assert name in text
    assert "not used by this suite" in text  # GCM has no MAC keys
    assert "TLS 1.0" in text and "TLS 1.2" in text
    assert text.count("rejected with bad_record_mac") == 9  # three proofs × (two suites + the TLS 1.3 part)
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in text and "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in text
    assert "premaster secret" in text and "master secret" in text
    assert "its own connection" in text


def test_demo_json_matches_independent_prf() -> None:
    result = CliRunner().invoke(cli, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["all_rejected_with_bad_record_mac"] is True
    runs = doc["runs"]
    assert [r["suite"] for r in runs] == ["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"]
    assert runs[1]["group"] == "x25519"
    lengths = {  # RFC 2246 §6.3 (TLS 1.0 CBC: implicit IVs) / RFC 5288 §3: (mac, key, iv) per side
        "TLS_RSA_WITH_AES_128_CBC_SHA": (20, 16, 16),
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": (0, 16, 4),
    }
    versions = {"TLS_RSA_WITH_AES_128_CBC_SHA": "TLS 1.0", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "TLS 1.2"}
    for run in runs:
        assert run["version"] == versions[run["suite"]]
        tls10 = run["version"] == "TLS 1.0"
        prf = p_md5_sha1 if tls10 else p_sha256
        assert len(bytes.fromhex(run["premaster_secret"])) == (48 if run["key_exchange"] == "RSA" else 32)
        master = bytes.fromhex(run["master_secret"])
        assert len(master) == 48
        # RFC 7627 §4 with an independent PRF: the transcript the demo captured off the wire, hashed here
        transcript = bytes.fromhex(run["handshake_transcript"])
        assert transcript[0] == 1  # ClientHello first
        session_hash = (hashlib.md5(transcript).digest() + hashlib.sha1(transcript).digest() if tls10
                        else hashlib.sha256(transcript).digest())
        assert run["extended_master_secret"] is True and run["session_hash"] == session_hash.hex()
        premaster = bytes.fromhex(run["premaster_secret"])
        assert prf(premaster, b"extended master secret" + session_hash, 48) == master
        seed = b"key expansion" + bytes.fromhex(run["server_random"]) + bytes.fromhex(run["client_random"])
        mac, key, iv = lengths[run["suite"]]
        block = prf(master, seed, 2 * (mac + key + iv))
        expected, pos = [], 0
        for size in (mac, mac, key, key, iv, iv):
            expected.append(block[pos:pos + size].hex() or "not used by this suite")
            pos += size
        assert [run["key_block"][name] for name in SIX] == expected
        assert len(run["proofs"]) == 3
        assert {p["attack"] for p in run["proofs"]} == {"flipped byte", "reflected record", "replayed record"}
        for proof in run["proofs"]:
            assert proof["rejected"] and proof["alert"] == "bad_record_mac"
            assert "bad_record_mac" in proof["server_saw"]  # the server got the client's fatal alert
        records = run["records"]
        # seq 0 was each side's Finished; the renegotiation (RFC 5746) starts a new epoch at 0 again
        assert [r["seq"] for r in records] == [1, 1, 2, 2, 1, 1, 2, 2]
        assert records[0]["key_label"].startswith("client write") and records[1]["key_label"].startswith("server write")
        assert [r["key_label"].endswith("(epoch 1)") for r in records] == [True] * 4 + [False] * 4
        assert all(r["key_label"].endswith("(epoch 2)") for r in records[4:])
        first, second = run["epochs"]
        assert first["master_secret"] == run["master_secret"] and first["key_block"] == run["key_block"]
        assert second["master_secret"] != first["master_secret"] and second["client_random"] != first["client_random"]
        master2 = bytes.fromhex(second["master_secret"])  # the new epoch's six values, by the independent PRF
        seed2 = b"key expansion" + bytes.fromhex(second["server_random"]) + bytes.fromhex(second["client_random"])
        block2, pos, expected2 = prf(master2, seed2, 2 * (mac + key + iv)), 0, []
        for size in (mac, mac, key, key, iv, iv):
            expected2.append(block2[pos:pos + size].hex() or "not used by this suite")
            pos += size
        assert [second["key_block"][name] for name in SIX] == expected2


def test_demo_as_a_process_exits_quickly() -> None:
    """The real console script: exit 0 within a bound (threads stopped, nothing hangs)."""
    code = "import sys; from tlsstate.cli.main import main; sys.exit(main(['demo']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"bad_record_mac" in proc.stdout
