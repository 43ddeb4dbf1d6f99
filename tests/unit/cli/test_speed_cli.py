"""``tlsstate speed`` runs and reports the documented keys (tiny durations; this is not a timed test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tlsstate.cli.main import cli

KEYS = {"suite", "record_size", "tlsstate_mb_s", "tlsstate_into_mb_s", "tlsstate_connection_mb_s", "ssl_mb_s", "raw_mb_s"}


def test_speed_json_has_every_suite_and_size() -> None:
    result = CliRunner().invoke(cli, ["speed", "--json", "--repeat", "1", "--seconds", "0.001"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(row["suite"], row["record_size"]) for row in rows} == {
        (suite, size)
        for suite in ("AES-128-GCM", "AES-256-GCM", "CHACHA20-POLY1305", "AES-128-CBC-SHA", "AES-128-CBC-SHA-EtM",
                      "TLS13-AES-128-GCM", "TLS13-AES-256-GCM", "TLS13-CHACHA20-POLY1305")
        for size in (16384, 1024, 64)
    }
    names = {"TLS13-AES-128-GCM": "TLS_AES_128_GCM_SHA256", "TLS13-AES-256-GCM": "TLS_AES_256_GCM_SHA384",
             "TLS13-CHACHA20-POLY1305": "TLS_CHACHA20_POLY1305_SHA256"}
    for row in rows:
        assert set(row) >= KEYS
        assert all(row[k] > 0 for k in KEYS - {"suite", "record_size"})
        # a ratio only against the same suite: CPython ssl picks its TLS 1.3 suite from OpenSSL's configuration
        same = row["suite"] not in names or row["ssl_suite"] == names[row["suite"]]
        assert (row["ratio_vs_ssl"] is not None) == same, row


def test_tls13_aes128_against_ssl_with_the_shipped_openssl_configuration() -> None:
    """benchmarks/openssl-tls13-aes128.cnf (as docs/performance.md says) makes CPython ssl negotiate
    TLS_AES_128_GCM_SHA256, so the TLS13-AES-128-GCM row gets a ratio; without it, OpenSSL 3.0's default
    (TLS_AES_256_GCM_SHA384) and none."""
    config = Path(__file__).parents[3] / "benchmarks" / "openssl-tls13-aes128.cnf"
    command = [sys.executable, "-m", "tlsstate", "speed", "--json", "--suite", "TLS13-AES-128-GCM", "--size", "1024",
               "--repeat", "1", "--seconds", "0.001"]
    for env, suite in (({"OPENSSL_CONF": str(config)}, "TLS_AES_128_GCM_SHA256"), ({}, None)):
        environment = {k: v for k, v in os.environ.items() if k != "OPENSSL_CONF"} | env
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)
        if suite is not None:
            assert row["ssl_suite"] == suite and row["ratio_vs_ssl"] > 0
        else:
            assert row["ssl_suite"] != "TLS_AES_128_GCM_SHA256" and row["ratio_vs_ssl"] is None


def test_speed_table_with_filters() -> None:
    result = CliRunner().invoke(
        cli, ["speed", "--suite", "aes-128-gcm", "--size", "100", "--repeat", "1", "--seconds", "0.001"]
    )
    assert result.exit_code == 0, result.output
    assert "AES-128-GCM" in result.output and "vs ssl" in result.output
    assert "CHACHA20" not in result.output.split("vs ssl", 1)[1]


def test_speed_optional_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    """--handshakes / --decrypt call the optional bench modules with repeat/seconds, or say not available."""
    from tlsstate.cli import speed as speed_module

    calls: list[dict[str, object]] = []

    def fake_runner(**kwargs: object) -> list[dict[str, object]]:
        calls.append(kwargs)
        return [{"case": "x", "tlsstate_per_s": 1.0}]

    monkeypatch.setattr(speed_module, "_optional_runner",
                        lambda section: fake_runner if section == "handshakes" else None)
    result = CliRunner().invoke(cli, ["speed", "--handshakes", "--decrypt", "--json", "--repeat", "2", "--seconds", "0.01"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows == [{"case": "x", "tlsstate_per_s": 1.0, "benchmark": "handshakes"},
                    {"benchmark": "decrypt", "available": False}]
    assert calls == [{"repeat": 2, "seconds": 0.01}]
    text = CliRunner().invoke(cli, ["speed", "--decrypt"])
    assert text.exit_code == 0 and "not available" in text.output


def test_speed_missing_module_is_not_available(monkeypatch: pytest.MonkeyPatch) -> None:
    from tlsstate.cli import speed as speed_module

    monkeypatch.setitem(speed_module.OPTIONAL_BENCHMARKS, "decrypt", ("tlsstate.bench.no_such_module", "run"))
    assert speed_module._optional_runner("decrypt") is None


def test_speed_bad_input() -> None:
    for args in (["speed", "--suite", "NOPE"], ["speed", "--repeat", "0"], ["speed", "--size", "0"]):
        bad = CliRunner().invoke(cli, args)
        assert bad.exit_code == 2
        assert "Traceback" not in bad.output


def test_raw_aead_contender_uses_a_fresh_nonce_per_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fairness: the raw primitive must do what a record layer does (a new nonce each record), and
    open exactly what it sealed."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from tlsstate.bench import records

    seen: list[tuple[str, bytes, bytes]] = []

    class Recording:
        def __init__(self, key: bytes) -> None:
            self._aead = AESGCM(key)

        def encrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
            seen.append(("seal", nonce, data))
            return self._aead.encrypt(nonce, data, aad)

        def decrypt(self, nonce: bytes, data: bytes, aad: bytes) -> bytes:
            plaintext = self._aead.decrypt(nonce, data, aad)
            seen.append(("open", nonce, plaintext))
            return plaintext

    monkeypatch.setattr(records, "AESGCM", Recording)
    data = bytes(range(256)) * 4
    step = records.raw_step(records.BENCH_SUITES[0], data)
    for _ in range(5):
        step()
    seal_nonces = [nonce for kind, nonce, _ in seen if kind == "seal"]
    assert len(seal_nonces) == 5 and len(set(seal_nonces)) == 5
    assert all(len(nonce) == 12 for nonce in seal_nonces)
    assert [(kind, nonce) for kind, nonce, _ in seen] == [
        (kind, nonce) for nonce in seal_nonces for kind in ("seal", "open")
    ]
    assert all(payload == data for _, _, payload in seen)


def test_tlsstate_contender_moves_whole_records_through_the_deframer() -> None:
    """Fairness: the tlsstate step seals a whole record (header included), deframes it and opens it."""
    from tlsstate.bench import records

    data = b"x" * 1000
    for bench in records.BENCH_SUITES:
        step = records.tlsstate_step(bench, data)  # raises if the round trip does not give back `data`
        step()
