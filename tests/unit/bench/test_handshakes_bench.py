"""tlsstate.bench.handshakes: the in-memory handshake benchmark runs every case beside CPython ssl.

Figures are not asserted (the machine is shared); the benchmark itself raises if a "resumed" handshake
did not resume, on either side, or a "full" one did, so these checks can fail.
"""

from __future__ import annotations

from tlsstate.bench.handshakes import CASES, run_handshake_bench


def test_handshake_bench_rows() -> None:
    rows = run_handshake_bench(seconds=0.05, repeat=1)
    assert [row["case"] for row in rows] == [case[0] for case in CASES]
    for row in rows:
        assert row["tlsstate_hs_s"] > 0 and row["ssl_hs_s"] > 0
        assert row["ratio"] == round(row["tlsstate_hs_s"] / row["ssl_hs_s"], 2) or abs(
            row["ratio"] - row["tlsstate_hs_s"] / row["ssl_hs_s"]) < 0.02
        assert row["target"] in (0.7, 0.5)
    assert rows[0]["suite"] == "ECDHE-RSA-AES128-GCM-SHA256" and rows[1]["suite"] == "AES128-GCM-SHA256"


def test_speed_handshakes_cli_uses_the_bench() -> None:
    """``tlsstate speed --handshakes --json`` (tlsstate/cli/speed.py) runs this benchmark."""
    import json

    from click.testing import CliRunner

    from tlsstate.cli.main import cli

    result = CliRunner().invoke(cli, ["speed", "--handshakes", "--seconds", "0.02", "--repeat", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["case"] for row in rows] == [case[0] for case in CASES]
    assert all(row["benchmark"] == "handshakes" and row["ssl_hs_s"] > 0 for row in rows)
