"""The library entry point ``tlsstate.capture.decrypt_connections`` (issue 13 item 9): typed results per connection
and record, the same as ``tlsstate decrypt --json``, streamed: a connection is handed out when it is done, before the
rest of the capture is read, and memory does not grow with the number of connections.

Captures: the Wireshark test suite's (SOURCES.md); for the streaming checks, the real TLS 1.3 bytes of its first
connection behind N three-way handshakes on N client ports (tlsstate.capture.writer; frames decoded with dpkt)."""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

import dpkt
import pytest
from click.testing import CliRunner

import tlsstate.capture as capture
from tlsstate.capture.writer import read_frames, write_frames, write_tcp_capture
from tlsstate.cli.decrypt import decrypt

WS = "wireshark-test-suite"
TLS13 = "tls13-20-chacha20poly1305"


def _payloads(vectors: Path) -> list[tuple[bool, bytes]]:
    """(from the client, payload) of the suite capture's first connection (client port 40730), in order."""
    _linktype, frames = read_frames(vectors / WS / "captures" / f"{TLS13}.pcap")
    out = []
    for _ts, frame in frames:
        tcp = dpkt.ethernet.Ethernet(frame).data.data
        if 40730 in (tcp.sport, tcp.dport) and tcp.data:
            out.append((tcp.sport == 40730, bytes(tcp.data)))
    return out


def _many(vectors: Path, tmp_path: Path, count: int) -> Path:
    """``count`` copies of that connection one after the other, each on its own client port, with SYN and FINs."""
    chunks = _payloads(vectors)
    frames = []
    linktype = 1
    for index in range(count):
        one = tmp_path / "one.pcap"
        write_tcp_capture(one, chunks, segment_size=65000, client=("10.0.0.1", 20000 + index))
        linktype, got = read_frames(one)
        frames += [(ts + index, frame) for ts, frame in got]
    path = tmp_path / f"many-{count}.pcap"
    write_frames(path, frames, linktype)
    return path


def test_results_are_the_json_of_the_cli(vectors: Path) -> None:
    for name in ("tls12-chacha20poly1305", TLS13):
        path, keys = vectors / WS / "captures" / f"{name}.pcap", vectors / WS / "keys" / f"{name}.keys"
        cli = json.loads(CliRunner().invoke(decrypt, [str(path), "--keylog", str(keys), "--json", "-q"]).output)
        assert [c.to_json() for c in capture.decrypt_connections(path, [keys])] == cli
        with_records = json.loads(CliRunner().invoke(
            decrypt, [str(path), "--keylog", str(keys), "--json", "--records", "-q"]).output)
        assert [c.to_json() for c in capture.decrypt_connections(path, [keys], records=True)] == with_records


def test_typed_results_per_connection_and_record(vectors: Path) -> None:
    path, keys = vectors / WS / "captures" / f"{TLS13}.pcap", vectors / WS / "keys" / f"{TLS13}.keys"
    run = capture.decrypt_connections(path, [keys], records=True)
    conns = list(run)
    assert run.packets == 16 and run.capture_error is None and run.non_tls_connections == 0
    first = conns[0]
    assert isinstance(first, capture.ConnectionResult) and first.version == "TLS 1.3 draft-20"
    assert first.session.server.app_bytes == 2608  # tshark's server->client byte count (expected-tshark)
    assert all(isinstance(r, capture.RecordInfo) for r in first.records)
    assert {r.verdict for r in first.records} == {"ok"} and first.prelude is None


def test_connections_are_handed_out_as_they_finish(vectors: Path, tmp_path: Path) -> None:
    path = _many(vectors, tmp_path, 30)
    events: list[tuple[str, int]] = []
    run = capture.decrypt_connections(path, [vectors / WS / "keys" / f"{TLS13}.keys"],
                                      on_plaintext=lambda number, _writer, _data: events.append(("data", number)))
    for conn in run:
        events.append(("result", conn.tcp.number))
    results = [n for kind, n in events if kind == "result"]
    assert results == list(range(30))
    # connection 0 is handed out before the last connection's plaintext has even been decrypted
    assert events.index(("result", 0)) < events.index(("data", 29))
    assert events.index(("result", 28)) < events.index(("data", 29))


def _peak(path: Path, keys: Path) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        for conn in capture.decrypt_connections(path, [keys]):
            assert conn.session.client.app_bytes == 16  # each copy decrypts (tshark: 16 bytes client->server)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_connections(vectors: Path, tmp_path: Path) -> None:
    keys = vectors / WS / "keys" / f"{TLS13}.keys"
    # measured: 1.7 MB peak for 100 connections, 2.1 MB for 400 (the reader's 1 MiB buffer fills, the done 4-tuples
    # are remembered); keeping every result instead: 3.4 MB and 10.6 MB (about 23 KB per connection)
    small, large = _many(vectors, tmp_path, 100), _many(vectors, tmp_path, 400)
    small_peak, large_peak = _peak(small, keys), _peak(large, keys)
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)  # 4x the connections, not 4x the memory


def test_the_readme_example_runs(vectors: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    code = readme.split("## Decrypting captures from Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace('"trace.pcapng"', repr(str(vectors / WS / "captures" / f"{TLS13}.pcap")))
    code = code.replace('"sslkeys.log"', repr(str(vectors / WS / "keys" / f"{TLS13}.keys")))
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines()[-1] == "16 packets; 0 non-TLS connections"
