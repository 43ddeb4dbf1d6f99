"""A capture without the TCP handshake whose server has the higher port: the TCP layer guesses the client wrong (it
takes the lower port for the server's) and the ClientHello corrects it (capture/session.py ``_swap_roles``). The
capture and key log are the Wireshark test suite's (SOURCES.md); only the server's port is rewritten, 443 → 50443,
above the clients' 4183x, so every connection starts with its roles the wrong way round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dpkt

from tlsstate.capture.decrypt import decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.writer import read_frames, write_frames

WS = "wireshark-test-suite"
TLS12 = "tls12-chacha20poly1305"  # 443 <-> 4183x, no SYN in the capture
HIGH_PORT = 50443


def _moved_server_port(frames: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    out = []
    for ts, frame in frames:
        eth = dpkt.ethernet.Ethernet(frame)
        tcp = eth.data.data
        assert not tcp.flags & dpkt.tcp.TH_SYN  # the premise: nothing tells the TCP layer who the client is
        tcp.sport, tcp.dport = (HIGH_PORT if p == 443 else p for p in (tcp.sport, tcp.dport))
        eth.data.sum, tcp.sum = 0, 0  # dpkt recomputes both checksums when serializing
        out.append((ts, bytes(eth)))
    return out


def _decrypt(capture: Path, keylog: Path) -> list[Any]:
    keys = KeySource()
    keys.add_keylog_file(keylog)
    return list(decrypt_capture(capture, keys).connections)


def test_roles_guessed_wrong_are_swapped_by_the_client_hello(vectors: Path, tmp_path: Path) -> None:
    original = vectors / WS / "captures" / f"{TLS12}.pcap"
    keylog = vectors / WS / "keys" / f"{TLS12}.keys"
    linktype, frames = read_frames(original)
    moved = tmp_path / "high-server-port.pcap"
    write_frames(moved, _moved_server_port(frames), linktype)

    expected, swapped = _decrypt(original, keylog), _decrypt(moved, keylog)
    assert len(swapped) == len(expected) > 1
    for before, after in zip(expected, swapped, strict=True):
        b, a = before.to_json(), after.to_json()
        assert a["client"].endswith(f":{b['client'].rsplit(':', 1)[1]}") and a["server"].endswith(f":{HIGH_PORT}")
        assert "roles swapped: the ClientHello came from the port guessed as server" in a["notes"]
        assert a["records_ok"] == b["records_ok"] > 0 and a["records_failed"] == a["records_undecryptable"] == 0
        same = ("finished_verified", "cipher_suite", "client_to_server_bytes", "client_to_server_sha256",
                "server_to_client_bytes", "server_to_client_sha256", "client_to_server_first_line")
        assert {k: a[k] for k in same} == {k: b[k] for k in same} and a["finished_verified"]
