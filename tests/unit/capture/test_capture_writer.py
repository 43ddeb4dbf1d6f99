"""tlsstate.capture.writer checked by an independent reader: Wireshark's tshark/captype read what we write.

Expected numbers come from the formats, not from the writer: every frame is 14 (Ethernet) + 20 (IPv4) + 20 (TCP)
= 54 header bytes plus its payload; a connection is SYN, SYN-ACK, ACK, ceil(len / segment) data segments per
chunk, then one FIN from each side. tshark also checks both checksums and reassembles each direction."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import require_binary
from tlsstate.capture.writer import (
    CLIENT,
    SERVER,
    drop_segment,
    read_frames,
    reorder_and_retransmit,
    write_frames,
    write_tcp_capture,
)

# small enough that tshark 4.0's conv table prints exact "bytes" (from 10,000 on it rounds to "kB")
SEGMENT = 536  # the default TCP MSS (RFC 9293 §3.7.1)
CHUNKS = [(True, os.urandom(1200)), (False, os.urandom(1500)), (True, os.urandom(10)), (False, os.urandom(536 * 2))]
CLIENT_FRAMES = 2 + 3 + 1 + 1  # SYN, ACK; 1200 = 536 + 536 + 128; 10; FIN
SERVER_FRAMES = 1 + 3 + 2 + 1  # SYN-ACK; 1500 = 536 + 536 + 428; 1072 = 536 + 536; FIN
DATA_SEGMENTS = 3 + 3 + 1 + 2
CLIENT_PAYLOAD, SERVER_PAYLOAD = 1210, 2572


def _tshark(*args: str) -> str:
    tshark = require_binary("tshark")
    return subprocess.run([tshark, *args], capture_output=True, text=True, timeout=60, check=True).stdout


def _conversation(path: Path) -> tuple[int, int, int, int]:
    """(client→server frames, bytes, server→client frames, bytes) from ``tshark -q -z conv,tcp``."""
    out = _tshark("-r", str(path), "-q", "-z", "conv,tcp")
    rows = [line for line in out.splitlines() if "<->" in line]
    assert len(rows) == 1, out
    assert rows[0].split()[:3] == [f"{CLIENT[0]}:{CLIENT[1]}", "<->", f"{SERVER[0]}:{SERVER[1]}"], out
    columns = re.findall(r"(\d+)\s+(\d+)\s+bytes", rows[0])
    assert len(columns) == 3, rows[0]  # <-, ->, total; each as "frames N bytes"
    frames, numbers = [int(f) for f, _ in columns], [int(b) for _, b in columns]
    assert frames[2] == frames[0] + frames[1] and numbers[2] == numbers[0] + numbers[1]
    # columns: "<-" (to the address on the left = server→client), "->" (client→server), total
    return frames[1], numbers[1], frames[0], numbers[0]


def _follow(path: Path) -> tuple[bytes, bytes]:
    """(client→server, server→client) bytes as tshark reassembles them (``follow,tcp,raw``; the client speaks
    first, so it is node 0: its lines are flush left, node 1's indented)."""
    out = _tshark("-r", str(path), "-q", "-z", "follow,tcp,raw,0")
    assert f"Node 0: {CLIENT[0]}:{CLIENT[1]}" in out, out[:500]
    client, server = bytearray(), bytearray()
    for line in out.split("Node 1:", 1)[1].splitlines()[1:]:
        if line.startswith("====="):
            break
        (server if line.startswith("\t") else client).extend(bytes.fromhex(line.strip()))
    return bytes(client), bytes(server)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_tshark_reads_the_written_capture(fmt: str, tmp_path: Path) -> None:
    path = tmp_path / f"conn.{fmt}"
    packets = write_tcp_capture(path, CHUNKS, SEGMENT, fmt)  # type: ignore[arg-type]
    assert packets == CLIENT_FRAMES + SERVER_FRAMES
    captype = require_binary("captype")
    assert subprocess.run([captype, str(path)], capture_output=True, text=True, timeout=30).stdout.split()[-1] == fmt
    assert _conversation(path) == (CLIENT_FRAMES, 54 * CLIENT_FRAMES + CLIENT_PAYLOAD,
                                   SERVER_FRAMES, 54 * SERVER_FRAMES + SERVER_PAYLOAD)
    # both checksums verified by tshark (1 = good), 10 µs apart, no TCP analysis warnings
    fields = _tshark("-r", str(path), "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-T", "fields",
                     "-e", "ip.checksum.status", "-e", "tcp.checksum.status", "-e", "frame.time_delta",
                     "-e", "tcp.analysis.flags")
    rows = [line.split("\t") for line in fields.splitlines()]
    assert len(rows) == packets
    assert all(r[0] == "1" and r[1] == "1" and r[3] == "" for r in rows), rows
    assert {r[2] for r in rows[1:]} == {"0.000010000"}
    client = b"".join(d for c, d in CHUNKS if c)
    server = b"".join(d for c, d in CHUNKS if not c)
    assert _follow(path) == (client, server)


def test_edited_capture_keeps_the_streams(tmp_path: Path) -> None:
    """pcapng in, reordered/retransmitted pcap out: more frames, the same reassembled bytes; a dropped segment
    is missing from what tshark reassembles and counts."""
    original = tmp_path / "conn.pcapng"
    write_tcp_capture(original, CHUNKS, SEGMENT, "pcapng")
    linktype, frames = read_frames(original)
    assert linktype == 1 and len(frames) == CLIENT_FRAMES + SERVER_FRAMES
    edited = tmp_path / "edited.pcap"
    write_frames(edited, reorder_and_retransmit(frames), linktype)
    c_frames, _c_bytes, s_frames, _s_bytes = _conversation(edited)
    # every 5th of the 9 data segments again (2) and half of one (the middle data segment) at the end
    assert c_frames + s_frames == CLIENT_FRAMES + SERVER_FRAMES + 2 + 1
    client = b"".join(d for c, d in CHUNKS if c)
    server = b"".join(d for c, d in CHUNKS if not c)
    assert _follow(edited) == (client, server)

    kept, lost = drop_segment(frames, sport=SERVER[1], min_payload=500)
    assert lost == SEGMENT  # the middle one of the server's four 536-byte segments
    lossy = tmp_path / "lossy.pcap"
    write_frames(lossy, kept, linktype)
    assert _conversation(lossy) == (CLIENT_FRAMES, 54 * CLIENT_FRAMES + CLIENT_PAYLOAD,
                                    SERVER_FRAMES - 1, 54 * (SERVER_FRAMES - 1) + SERVER_PAYLOAD - lost)
    client, server = _follow(lossy)
    assert client == b"".join(d for c, d in CHUNKS if c)
    sent = b"".join(d for c, d in CHUNKS if not c)
    # server segments of more than 500 bytes start at 0, 536, 1500, 2036: the middle one (1500) is gone; tshark
    # puts a "[N bytes missing in capture file]" note in the hole
    assert server.startswith(sent[:1500]) and server.endswith(sent[2036:]) and sent[1500:2036] not in server
