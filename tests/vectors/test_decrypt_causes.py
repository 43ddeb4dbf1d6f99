"""Say why, record by record (issue 13 item 5): each record that is not decrypted carries its cause, and ``--json``
the same as fields. The captures and key logs are the Wireshark test suite's (SOURCES.md); each case breaks the key
log or the capture in one known way (a line removed, a secret changed, a segment dropped) and checks that the cause
names exactly that: the missing label and client random, the key log line of the wrong key, the TCP gap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dpkt
from click.testing import CliRunner

from tlsstate.capture.decrypt import decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.writer import SERVER, read_frames, tcp_payload_length, write_frames, write_tcp_capture
from tlsstate.cli.decrypt import decrypt

WS = "wireshark-test-suite"
TLS13 = "tls13-20-chacha20poly1305"  # draft-20, the RFC 8446 key log labels
TLS12 = "tls12-chacha20poly1305"
CR13 = "3d89529eeebe176375ef29bd146a49e02c375771628244948f6e9408457fdbc1"  # connection 0's client random
CR12 = "ab85fc5f6db67c9cf825cd8a1f34cf6c5e89ec09656a4944ec5536a36aed5728"


def _lines(vectors: Path, name: str) -> list[str]:
    return (vectors / WS / "keys" / f"{name}.keys").read_text().splitlines()


def _run(vectors: Path, name: str, keylog: Path, capture: Path | None = None) -> list[dict[str, Any]]:
    keys = KeySource()
    keys.add_keylog_file(keylog)
    result = decrypt_capture(capture or vectors / WS / "captures" / f"{name}.pcap", keys)
    return [conn.to_json() for conn in result.connections]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "edited.keys"
    path.write_text("\n".join(lines) + "\n")
    return path


def _tcp(frame: bytes) -> dpkt.tcp.TCP | None:
    ip = dpkt.ethernet.Ethernet(frame).data
    return ip.data if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP) else None


def _flip_secret(line: str) -> str:
    last = line[-1]
    return line[:-1] + ("0" if last != "0" else "1")


def test_a_missing_tls13_label_is_named_with_its_client_random(vectors: Path, tmp_path: Path) -> None:
    lines = [x for x in _lines(vectors, TLS13) if not x.startswith(f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR13}")]
    conn = _run(vectors, TLS13, _write(tmp_path, lines))[0]
    (entry,) = conn["undecryptable"]
    assert entry["direction"] == "client_to_server" and entry["cause"] == "missing_secret"
    assert entry["label"] == "CLIENT_HANDSHAKE_TRAFFIC_SECRET" and entry["client_random"] == CR13
    assert entry["message"] == f"no CLIENT_HANDSHAKE_TRAFFIC_SECRET for client random {CR13[:8]}…"
    assert entry["records"] == conn["records_undecryptable"] > 0
    assert conn["server_to_client_bytes"] == 2608  # the server's epochs still decrypt (tshark: 2,608 bytes)


def test_tls13_with_only_a_client_random_line_says_so(vectors: Path, tmp_path: Path) -> None:
    lines = [x for x in _lines(vectors, TLS13) if CR13 not in x] + [f"CLIENT_RANDOM {CR13} {'ab' * 48}"]
    conn = _run(vectors, TLS13, _write(tmp_path, lines))[0]
    causes = {e["direction"]: e for e in conn["undecryptable"]}
    assert causes["server_to_client"]["label"] == "SERVER_HANDSHAKE_TRAFFIC_SECRET"
    for entry in causes.values():
        assert "only a CLIENT_RANDOM line" in entry["message"], entry


def test_a_wrong_tls13_secret_names_its_key_log_line(vectors: Path, tmp_path: Path) -> None:
    lines = _lines(vectors, TLS13)
    number = next(i for i, x in enumerate(lines) if x.startswith(f"SERVER_HANDSHAKE_TRAFFIC_SECRET {CR13}"))
    lines[number] = _flip_secret(lines[number])
    keylog = _write(tmp_path, lines)
    conn = _run(vectors, TLS13, keylog)[0]
    server = [e for e in conn["undecryptable"] if e["direction"] == "server_to_client"]
    wrong = next(e for e in server if e["cause"] == "wrong_key")
    assert wrong["records"] == 1 and wrong["label"] == "SERVER_HANDSHAKE_TRAFFIC_SECRET"
    assert wrong["keylog_line"] == f"{keylog} line {number + 1}"
    assert f"line {number + 1}" in wrong["message"]
    assert conn["records_failed"] == 1
    assert conn["reason"] == wrong["message"]  # the table's note names the line too


def test_a_wrong_tls12_master_secret_names_its_key_log_line(vectors: Path, tmp_path: Path) -> None:
    lines = _lines(vectors, TLS12)
    number = next(i for i, x in enumerate(lines) if x.startswith(f"CLIENT_RANDOM {CR12}"))
    lines[number] = _flip_secret(lines[number])
    keylog = _write(tmp_path, lines)
    conn = _run(vectors, TLS12, keylog)[0]
    wrong = [e for e in conn["undecryptable"] if e["cause"] == "wrong_key"]
    assert {e["direction"] for e in wrong} == {"client_to_server", "server_to_client"}  # both Finished records
    assert all(e["keylog_line"] == f"{keylog} line {number + 1}" and e["label"] == "CLIENT_RANDOM" for e in wrong)
    assert any("does not open the client's Finished" in e["message"] for e in wrong)


def test_a_missing_tls12_line_names_the_label(vectors: Path, tmp_path: Path) -> None:
    lines = [x for x in _lines(vectors, TLS12) if CR12 not in x]
    conn = _run(vectors, TLS12, _write(tmp_path, lines))[0]
    assert {e["cause"] for e in conn["undecryptable"]} == {"missing_secret"}
    assert all(e["label"] == "CLIENT_RANDOM" and e["client_random"] == CR12 for e in conn["undecryptable"])
    assert f"no CLIENT_RANDOM for client random {CR12[:8]}…" in conn["reason"]


def test_a_tcp_gap_is_the_cause_with_its_offset(vectors: Path, tmp_path: Path) -> None:
    # the suite's capture has no SYN (a lost first segment is then undetectable): its first connection's segments
    # are rewritten as they are behind a three-way handshake, and the server's first flight (ServerHello and the
    # first encrypted records) is dropped
    _linktype, frames = read_frames(vectors / WS / "captures" / f"{TLS13}.pcap")
    segments = [tcp for _ts, f in frames if (tcp := _tcp(f)) is not None and 40730 in (tcp.sport, tcp.dport) and tcp.data]
    whole = tmp_path / "whole.pcap"
    write_tcp_capture(whole, [(t.sport == 40730, bytes(t.data)) for t in segments], segment_size=65000)
    linktype, rewritten = read_frames(whole)
    first = next(i for i, (_ts, f) in enumerate(rewritten)
                 if (tcp := _tcp(f)) is not None and tcp.sport == SERVER[1] and len(tcp.data) > 1000)
    kept, lost = rewritten[:first] + rewritten[first + 1 :], tcp_payload_length(rewritten[first][1])
    damaged = tmp_path / "gap.pcap"
    write_frames(damaged, kept, linktype)
    (conn,) = _run(vectors, TLS13, vectors / WS / "keys" / f"{TLS13}.keys", damaged)
    gaps = [e for e in conn["undecryptable"] if e["cause"] == "tcp_gap"]
    assert gaps and conn["server_to_client_bytes"] == 0, conn
    assert all(f"{lost} bytes missing at server stream offset 0" in e["message"] for e in gaps), gaps
    assert conn["records_undecryptable"] == sum(e["records"] for e in conn["undecryptable"])


def test_json_records_carry_the_cause(vectors: Path, tmp_path: Path) -> None:
    lines = [x for x in _lines(vectors, TLS13) if not x.startswith(f"CLIENT_HANDSHAKE_TRAFFIC_SECRET {CR13}")]
    keylog = _write(tmp_path, lines)
    capture = vectors / WS / "captures" / f"{TLS13}.pcap"
    out = CliRunner().invoke(decrypt, [str(capture), "--keylog", str(keylog), "--json", "--records", "-q"])
    conn = json.loads(out.output)[0]
    missing = [r for r in conn["records"] if r["verdict"] == "no_keys"]
    assert missing and all(r["cause"]["label"] == "CLIENT_HANDSHAKE_TRAFFIC_SECRET" for r in missing)
    assert all(r["cause"] is None for r in conn["records"] if r["verdict"] == "ok")
    text = CliRunner().invoke(decrypt, [str(capture), "--keylog", str(keylog), "--records", "-q"]).output
    assert f"no CLIENT_HANDSHAKE_TRAFFIC_SECRET for client random {CR13[:8]}…" in text
