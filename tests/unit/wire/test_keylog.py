"""NSS key log reader/writer: every label, line-numbered warnings, real files from Wireshark's test suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlsstate.wire.keylog import KeyLogWriter, load_keylog, open_default_keylog, parse_keylog

WS = "wireshark-test-suite"


def test_wireshark_chacha_keylog_all_entries(vectors: Path) -> None:
    keylog, warnings = load_keylog(vectors / WS / "keys" / "tls12-chacha20poly1305.keys")
    assert warnings == []
    # 7 sessions: 6 CLIENT_RANDOM lines and one RSA line (the RSA-PSK session), per the upstream file.
    text = (vectors / WS / "keys" / "tls12-chacha20poly1305.keys").read_text()
    n_cr = sum(1 for line in text.splitlines() if line.startswith("CLIENT_RANDOM "))
    n_rsa = sum(1 for line in text.splitlines() if line.startswith("RSA "))
    assert len(keylog.master_by_client_random) == n_cr
    assert len(keylog.premaster_by_encrypted_prefix) == n_rsa == 1
    assert keylog.rsa_premaster(bytes.fromhex("3e2ffbd86d10f694") + b"rest") is not None


def test_dhe1_master_matches_wireshark(vectors: Path) -> None:
    keylog, warnings = load_keylog(vectors / WS / "keys" / "dhe1_keylog.dat")
    assert warnings == []
    expected = json.loads((vectors / WS / "expected-tshark" / "dhe1.json").read_text())
    client_random = bytes.fromhex(expected["server_hellos"][0]["client_random"])
    master = keylog.master_secret(client_random)
    assert master is not None and len(master) == 48  # upper-case hex in the file is accepted
    assert keylog.line_of("CLIENT_RANDOM", client_random) == 2


def test_tls13_labels(vectors: Path) -> None:
    keylog, warnings = load_keylog(vectors / WS / "keys" / "tls13-20-chacha20poly1305.keys")
    assert warnings == []
    cr = bytes.fromhex("3d89529eeebe176375ef29bd146a49e02c375771628244948f6e9408457fdbc1")
    assert set(keylog.tls13[cr]) == {
        "SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
    }
    assert keylog.tls13_secret(cr, "CLIENT_TRAFFIC_SECRET_0") == bytes.fromhex(
        "292497c163345eaa5b16b0b7907faa31dbb7ce76ac9a1c35ca99ba9dafeae72c")


def test_every_label_and_bad_lines_with_numbers() -> None:
    cr = "11" * 32
    text = "\n".join([
        "# comment",
        f"CLIENT_RANDOM {cr} {'22' * 48}",
        f"PMS_CLIENT_RANDOM {cr} {'33' * 48}",
        f"RSA 0102030405060708 {'44' * 48}",
        f"RSA Session-ID:{'55' * 32} Master-Key:{'66' * 48}",
        f"CLIENT_EARLY_TRAFFIC_SECRET {cr} {'77' * 32}",
        f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {'78' * 32}",
        f"SERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {'79' * 32}",
        f"CLIENT_TRAFFIC_SECRET_0 {cr} {'7a' * 48}",
        f"SERVER_TRAFFIC_SECRET_3 {cr} {'7b' * 32}",
        f"EXPORTER_SECRET {cr} {'7c' * 32}",
        "CLIENT_RANDOM zz 00",                       # line 12: not hex
        f"CLIENT_RANDOM {cr} {'22' * 47}",          # line 13: short master
        "BOGUS_LABEL 00 00",                          # line 14
        "only two",                                   # line 15
        "",
    ])
    keylog, warnings = parse_keylog(text, source="k.log")
    assert [w.split(":")[0] for w in warnings] == [f"k.log line {n}" for n in (12, 13, 14, 15)]
    assert all("22" * 10 not in w for w in warnings)  # secrets never echoed
    c = bytes.fromhex(cr)
    assert keylog.master_secret(c) == bytes.fromhex("22" * 48)
    assert keylog.premaster_secret(c) == bytes.fromhex("33" * 48)
    assert keylog.rsa_premaster(bytes.fromhex("0102030405060708aa")) == bytes.fromhex("44" * 48)
    assert keylog.session_master(bytes.fromhex("55" * 32)) == bytes.fromhex("66" * 48)
    assert keylog.tls13_secret(c, "SERVER_TRAFFIC_SECRET_3") == bytes.fromhex("7b" * 32)
    assert keylog.tls13_secret(c, "CLIENT_EARLY_TRAFFIC_SECRET") == bytes.fromhex("77" * 32)
    assert "22" * 8 not in repr(keylog)


def test_writer_output_is_read_back_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))
    writer = open_default_keylog()
    assert writer is not None
    cr = os.urandom(32)
    writer.client_random(cr, b"\x01" * 48)
    writer.tls13("SERVER_TRAFFIC_SECRET_0", cr, b"\x02" * 32)
    with pytest.raises(ValueError):
        writer.tls13("CLIENT_RANDOM", cr, b"\x02" * 32)
    writer.close()
    assert path.stat().st_mode & 0o777 == 0o600
    lines = path.read_text().splitlines()
    assert lines[0] == f"CLIENT_RANDOM {cr.hex()} {'01' * 48}"
    keylog, warnings = load_keylog(path)
    assert warnings == [] and keylog.master_secret(cr) == b"\x01" * 48
    monkeypatch.delenv("SSLKEYLOGFILE")
    assert open_default_keylog() is None
    with KeyLogWriter(tmp_path / "other.log") as w:
        assert "other.log" in repr(w)


def test_shared_sslkeylogfile_writer_is_closed_at_exit(tmp_path: Path) -> None:
    """The process-wide SSLKEYLOGFILE writer a Connection uses is closed at interpreter exit: the line is in the
    file and Python reports no unclosed file (it did, as a ResourceWarning, before the atexit hook)."""
    keylog = tmp_path / "keys.log"
    script = (
        "from tlsstate.wire.keylog import shared_default_keylog\n"
        "shared_default_keylog().client_random(bytes(32), bytes(48))\n"
    )
    env = {**os.environ, "SSLKEYLOGFILE": str(keylog), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", script], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "ResourceWarning" not in done.stderr
    assert keylog.read_text() == f"CLIENT_RANDOM {'00' * 32} {'00' * 48}\n"
