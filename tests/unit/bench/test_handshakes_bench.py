"""tlsstate.bench.handshakes: the in-memory handshake benchmark runs every case beside CPython ssl.

Figures are not asserted (the machine is shared); the benchmark itself raises if a "resumed" handshake
did not resume, on either side, or a "full" one did, so these checks can fail.
"""

from __future__ import annotations

import ssl
import tempfile

from tlsstate.bench import handshakes
from tlsstate.bench.handshakes import CASES, run_handshake_bench


def test_handshake_bench_rows() -> None:
    rows = run_handshake_bench(seconds=0.05, repeat=1)
    assert [row["case"] for row in rows] == [case.name for case in CASES]
    for row, case in zip(rows, CASES, strict=True):
        assert row["tlsstate_hs_s"] > 0 and row["version"] == case.version
        if case.target is None:  # X25519MLKEM768: OpenSSL 3.0 behind ssl has none; reported beside X25519
            assert row["ssl_hs_s"] is None and row["ratio"] is None and row["vs_x25519"] > 0
            continue
        assert row["ssl_hs_s"] > 0
        assert abs(row["ratio"] - row["tlsstate_hs_s"] / row["ssl_hs_s"]) < 0.02
        assert row["meets_target"] == (row["ratio"] >= row["target"])
    assert [row["target"] for row in rows] == [1.0, 1.0, 0.5, 1.0, 1.0, 1.0, None]
    assert rows[0]["suite"] == "ECDHE-RSA-AES128-GCM-SHA256" and rows[1]["suite"] == "AES128-GCM-SHA256"
    assert {row["suite"] for row in rows[3:]} == {"TLS_AES_256_GCM_SHA384"}


def test_tls13_ssl_reference_does_the_same_handshake() -> None:
    """The ssl side of each TLS 1.3 case negotiates TLS 1.3, the suite and the certificate tlsstate uses, and its
    resumed case resumes from a ticket the server sent (session_reused)."""
    with tempfile.TemporaryDirectory() as tmp:
        setup = handshakes._Setup(tmp)
        for case in CASES:
            if case.version != "TLS 1.3" or case.target is None:
                continue
            client_ctx, server_ctx = setup.ssl_contexts(case)
            first = handshakes.ssl_handshake(client_ctx, server_ctx, None, read_tickets=case.resumed)
            assert first.version() == "TLSv1.3" and first.cipher()[0] == case.suite
            assert not first.session_reused
            assert first.session is not None and first.session.has_ticket == case.resumed
            if case.resumed:
                again = handshakes.ssl_handshake(client_ctx, server_ctx, first.session, read_tickets=True)
                assert again.session_reused
            server_key = setup.certificate(case.key_type)[1]
            client_cfg, server_cfg = setup.tlsstate_configs(case)
            assert server_cfg.private_key is server_key and client_cfg.max_version == server_cfg.min_version
    assert ssl.HAS_TLSv1_3


def test_speed_handshakes_cli_uses_the_bench() -> None:
    """``tlsstate speed --handshakes --json`` (tlsstate/cli/speed.py) runs this benchmark."""
    import json

    from click.testing import CliRunner

    from tlsstate.cli.main import cli

    result = CliRunner().invoke(cli, ["speed", "--handshakes", "--seconds", "0.02", "--repeat", "1", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [row["case"] for row in rows] == [case.name for case in CASES]
    assert all(row["benchmark"] == "handshakes" for row in rows)
    assert all(row["ssl_hs_s"] > 0 for row, case in zip(rows, CASES, strict=True) if case.target is not None)
