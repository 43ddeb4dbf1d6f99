"""TCP retransmissions, reordering, keep-alives and losses as the reassembler counts them, against tshark's analysis.

A real loopback TLS 1.2 connection (CPython ssl, recorded by dumpcap) is damaged frame by frame with dpkt
(tests/helpers/tcp_damage.py): SYN-ACK sent again, segments duplicated at once and much later, one arriving out of
order, one lost, a copy straddling two segments, a later copy with other bytes, a keep-alive. (A copy that also
carries new bytes is left to the unit tests: tshark 4.0 calls the segment after it out of order or retransmitted
by its timing alone.) tshark 4.0 (default preferences) flags each frame (``tcp.analysis.retransmission`` /
``spurious_retransmission`` / ``fast_retransmission``, ``out_of_order``, ``lost_segment``, ``keep_alive``); the
expected repeated bytes of each flagged frame come from tshark's own relative sequence numbers and lengths (the part
below the highest sequence number tshark had seen in that direction). tshark numbers a stream from the SYN
(relative seq 1 = our stream offset 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dpkt
import pytest

from tests.helpers.env import require_binary
from tests.helpers.synthetic_tls import tshark_follow
from tests.helpers.tcp_damage import Damage, TsharkFrame, live_tls_capture, tshark_tcp
from tlsstate.capture.decrypt import ConnectionResult, DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.writer import read_frames, write_frames

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

REQUEST = bytes(range(256)) * 400  # 102,400 bytes: 25 records of 4096
RESPONSE = bytes(range(255, -1, -1)) * 1000  # 256,000 bytes: 63 records
RETRANSMITTED = ("retransmission", "spurious_retransmission", "fast_retransmission")


@dataclass
class Live:
    capture: Path
    keylog: Path
    port: int  # the server's
    client_port: int
    linktype: int
    frames: list[tuple[float, bytes]]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    require_binary("tshark")
    capture, keylog, port = live_tls_capture(tmp_path_factory.mktemp("tcp-live"), REQUEST, RESPONSE)
    linktype, frames = read_frames(capture)
    first = dpkt.ethernet.Ethernet(frames[0][1]).data.data  # the client's SYN
    yield Live(capture, keylog, port, first.sport, linktype, frames)


def _decrypt(path: Path, keylog: Path) -> ConnectionResult:
    keys = KeySource()
    keys.add_keylog_file(keylog)
    [conn] = decrypt_capture(path, keys, DecryptOptions(keep_records=True)).connections
    return conn


def _expected(frames: list[TsharkFrame], port: int) -> dict[str, object]:
    """From tshark's per-frame view of the sender ``port``: its flagged frames and what each repeated."""
    highest = 1  # just past the SYN (relative sequence numbers)
    repeated: dict[int, int] = {}
    out_of_order, lost, keep_alives = [], [], 0
    for f in frames:
        if f.sport != port:
            continue
        if f.flags & set(RETRANSMITTED):
            repeated[f.number] = min(f.seq + f.length, highest) - f.seq if f.length else 0
        if "out_of_order" in f.flags:
            out_of_order.append(f.number)
        if "lost_segment" in f.flags:
            lost.append((f.number, highest - 1, f.seq - highest))  # frame, stream offset and length of the hole
        keep_alives += "keep_alive" in f.flags
        if "keep_alive" not in f.flags:
            highest = max(highest, f.seq + f.length)
    # a hole that an out-of-order segment filled later is no loss
    ooo = {(f.seq + f.length) for f in frames if f.number in out_of_order}
    gaps = [(frame, offset, length) for frame, offset, length in lost if offset + 1 + length not in ooo]
    return {"repeated": repeated, "out_of_order": out_of_order, "gaps": gaps, "keep_alives": keep_alives}


def _ours(conn: ConnectionResult, client: bool) -> dict[str, object]:
    stream = conn.tcp.client_stream if client else conn.tcp.server_stream
    return {"repeated": {r.frame: r.length for r in stream.retransmissions}, "out_of_order": stream.out_of_order,
            "gaps": [(g.frame, g.offset, g.length) for g in stream.gaps], "keep_alives": stream.keep_alives}


def test_counts_per_direction_match_tsharks_analysis(live: Live, tmp_path: Path) -> None:
    d = Damage(list(live.frames))
    server, client = d.data_frames(live.port), d.data_frames(live.client_port)
    # segments sent back to back (no ACK between them) can arrive in the other order; the other edits follow them
    s0, c0 = d.back_to_back(live.port, 2), d.back_to_back(live.client_port, 1)
    assert len(server) > s0 + 16 and len(client) > c0 + 7, (len(server), s0, len(client), c0)
    # edits from the last frame back, so the indexes of earlier ones stay valid
    edits = sorted([
        (server[-1], lambda: d.keep_alive(server[-1])),
        (server[s0 + 14], lambda: d.altered_copy(server[s0 + 13], server[s0 + 14])),
        (server[s0 + 11], lambda: d.overlap(server[s0 + 9], server[s0 + 10], server[s0 + 11])),
        (server[s0 + 7], lambda: d.drop(server[s0 + 7])),
        (server[s0 + 5], lambda: d.duplicate(server[s0 + 3], server[s0 + 5])),
        (server[s0], lambda: d.reorder(server[s0], server[s0 + 1])),
        (server[1], lambda: d.duplicate(server[1])),
        (client[c0 + 6], lambda: d.duplicate(client[c0 + 6])),
        (client[c0 + 4], lambda: d.overlap(client[c0 + 2], client[c0 + 3], client[c0 + 4])),
        (client[c0], lambda: d.reorder(client[c0], client[c0 + 1])),
        (1, lambda: d.insert_after(1, d.frames[1][1], 0.0)),  # the SYN-ACK again, at once
    ], key=lambda item: -item[0])
    for _, edit in edits:
        edit()
    damaged = tmp_path / "damaged.pcap"
    write_frames(damaged, d.frames, live.linktype)

    analysis = tshark_tcp(require_binary("tshark"), damaged)
    conn = _decrypt(damaged, live.keylog)
    for port, is_client in ((live.port, False), (live.client_port, True)):
        expected, ours = _expected(analysis, port), _ours(conn, is_client)
        assert ours == expected, (port, ours, expected)
    server_side = _ours(conn, False)
    # SYN-ACK, at-once and late copies, the straddling and the altered copy; one reordering; one loss
    assert len(server_side["repeated"]) == 5 and len(server_side["out_of_order"]) == 1  # type: ignore[arg-type]
    assert len(server_side["gaps"]) == 1  # type: ignore[arg-type]
    document = conn.to_json()
    assert document["server_to_client_retransmitted_bytes"] == sum(_expected(analysis, live.port)["repeated"].values())  # type: ignore[attr-defined]
    assert document["server_to_client_differing_bytes"] == 8  # the altered copy's first 8 bytes
    assert document["server_to_client_keep_alives"] == 1
    assert any("differ from the first copy; the first copy was used" in note for note in document["notes"])


def test_a_zero_window_probe_is_not_data(live: Live, tmp_path: Path) -> None:
    """RFC 9293 §3.8.6.1 / §3.10.7.4: a receiver with a zero window does not accept the probe's byte, so the segment
    that carries that byte afterwards is not a retransmission: tshark flags only the probe, and so do we."""
    d = Damage(list(live.frames))
    d.zero_window_probe(d.data_frames(live.port)[10])
    damaged = tmp_path / "zwp.pcap"
    write_frames(damaged, d.frames, live.linktype)
    analysis = tshark_tcp(require_binary("tshark"), damaged)
    probes = [f for f in analysis if "zero_window_probe" in f.flags]
    assert [f.sport for f in probes] == [live.port]
    assert not [f for f in analysis if f.flags & set(RETRANSMITTED)]
    conn = _decrypt(damaged, live.keylog)
    document = conn.to_json()
    assert document["server_to_client_zero_window_probes"] == 1 and conn.tcp.server_stream.retransmissions == []
    assert document["server_to_client_retransmitted_bytes"] == 0 and document["records_failed"] == 0
    _, server_plain = tshark_follow(require_binary("tshark"), damaged, live.keylog)
    assert server_plain == RESPONSE
    assert document["server_to_client_sha256"] == hashlib.sha256(server_plain).hexdigest()


@pytest.mark.parametrize("altered", ["first", "later"])
def test_the_first_copy_is_used_as_tshark_does(live: Live, tmp_path: Path, altered: str) -> None:
    """One segment arrives twice with different bytes: tshark decrypts from the first copy; so do we (the same
    plaintext, byte for byte), and the difference is reported."""
    d = Damage(list(live.frames))
    # a segment holding exactly one application data record (5-byte header, 8-byte explicit nonce, 4096 bytes,
    # 16-byte tag): 100 bytes of its body are changed, so only that record's tag can fail
    candidates = d.data_frames(live.port, 5 + 8 + 4096 + 16)
    assert candidates, "no server segment of exactly one record"
    one_record = candidates[len(candidates) // 2]
    if altered == "first":
        d.duplicate(one_record, one_record + 1)
        d.alter(one_record, 100, 1000)
    else:
        d.altered_copy(one_record, one_record + 1, 100, 1000)
    damaged = tmp_path / f"{altered}.pcap"
    write_frames(damaged, d.frames, live.linktype)
    client_plain, server_plain = tshark_follow(require_binary("tshark"), damaged, live.keylog)
    document = _decrypt(damaged, live.keylog).to_json()
    assert document["client_to_server_sha256"] == hashlib.sha256(client_plain).hexdigest()
    assert document["server_to_client_sha256"] == hashlib.sha256(server_plain).hexdigest()
    assert document["server_to_client_differing_bytes"] == 100
    if altered == "later":
        assert server_plain == RESPONSE and document["records_failed"] == 0
    else:  # the first copy is damaged: that record fails, and tshark (as we, above) stops the direction there
        assert RESPONSE.startswith(server_plain) and len(server_plain) < len(RESPONSE)
        assert document["records_failed"] >= 1
