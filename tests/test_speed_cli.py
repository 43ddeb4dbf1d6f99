"""``tlsstate speed`` runs and reports the documented keys (tiny durations; this is not a timed test)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tlsstate.cli.main import cli

KEYS = {"suite", "record_size", "tlsstate_mb_s", "ssl_mb_s", "raw_mb_s"}


def test_speed_json_has_every_suite_and_size() -> None:
    result = CliRunner().invoke(cli, ["speed", "--json", "--repeat", "1", "--seconds", "0.001"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {(row["suite"], row["record_size"]) for row in rows} == {
        (suite, size)
        for suite in ("AES-128-GCM", "AES-256-GCM", "CHACHA20-POLY1305", "AES-128-CBC-SHA", "AES-128-CBC-SHA-EtM")
        for size in (16384, 1024, 64)
    }
    for row in rows:
        assert set(row) >= KEYS
        assert all(row[k] > 0 for k in ("tlsstate_mb_s", "ssl_mb_s", "raw_mb_s"))


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
