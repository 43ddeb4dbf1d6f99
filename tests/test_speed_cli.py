"""``tlsstate speed`` runs and reports the documented keys (tiny durations; this is not a timed test)."""

from __future__ import annotations

import json

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


def test_speed_optional_sections_and_bad_input() -> None:
    result = CliRunner().invoke(cli, ["speed", "--no-records", "--decrypt", "--json", "--seconds", "0.001",
                                      "--repeat", "1"])
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.output), list)
    bad = CliRunner().invoke(cli, ["speed", "--suite", "NOPE"])
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output
