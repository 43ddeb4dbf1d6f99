"""TCP reassembly (RFC 9293 §3.4): any order, duplication and overlap of segments gives the sent stream;
sequence-number wrap-around; lost data becomes a reported gap; the out-of-order buffer is bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tlsstate.capture.tcp import RECENT_BYTES, RECENT_PIECES, Gap, Retransmission, StreamReassembler


def _reassembler(max_buffer: int = 1 << 20) -> tuple[StreamReassembler, bytearray, list[Gap]]:
    out = bytearray()
    gaps: list[Gap] = []
    return StreamReassembler(out.extend, gaps.append, max_buffer), out, gaps


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=3000),
    cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=20),
    isn=st.integers(min_value=0, max_value=2**32 - 1),
    order=st.randoms(use_true_random=False),
    duplicates=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 500)), max_size=8),
)
def test_any_order_and_duplication_gives_the_stream(data: bytes, cuts: list[int], isn: int, order, duplicates) -> None:  # type: ignore[no-untyped-def]
    bounds = sorted({0, len(data), *(c for c in cuts if c < len(data))})
    segments = [(bounds[i], data[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)]
    # retransmissions / overlapping copies of arbitrary ranges
    segments += [(start, data[start : start + length]) for start, length in duplicates if start < len(data)]
    first = segments[0]
    rest = segments[1:]
    order.shuffle(rest)
    reassembler, out, gaps = _reassembler()
    reassembler.syn((isn - 1) % 2**32)
    for offset, payload in [first, *rest] if order.random() < 0.5 else [*rest, first]:
        reassembler.segment((isn + offset) % 2**32, payload)
    reassembler.finish()
    assert bytes(out) == data
    assert gaps == []
    # exact accounting: every byte sent is new once; every other copy of it is counted repeated (or was the one
    # byte of something that looks like a keep-alive)
    sent = sum(len(payload) for _, payload in segments)
    assert reassembler.retransmitted_bytes + reassembler.keep_alives == sent - len(data)
    assert reassembler.differing_bytes == 0


def test_wraparound_and_gap_reporting() -> None:
    reassembler, out, gaps = _reassembler()
    isn = 2**32 - 10
    reassembler.syn(isn - 1)
    reassembler.segment(isn, b"A" * 6)
    reassembler.segment((isn + 6) % 2**32, b"B" * 6)  # crosses 2^32
    reassembler.segment((isn + 20) % 2**32, b"D" * 4)  # 8 bytes missing before it
    reassembler.finish()
    assert bytes(out) == b"A" * 6 + b"B" * 6 + b"D" * 4
    assert gaps == [Gap(12, 8)]


def test_mid_stream_start_and_bounded_buffer() -> None:
    reassembler, out, gaps = _reassembler(max_buffer=100)
    reassembler.segment(5000, b"x" * 10)  # no SYN: the stream starts here
    assert reassembler.mid_stream and bytes(out) == b"x" * 10
    for i in range(5):  # a hole at 5010..5050, then 150 bytes out of order: more than the buffer allows
        reassembler.segment(5050 + 30 * i, b"y" * 30)
    assert gaps == [Gap(10, 40)]  # declared as soon as the buffer overflowed
    assert reassembler.pending_bytes <= 100
    reassembler.finish()
    assert bytes(out) == b"x" * 10 + b"y" * 150
    assert reassembler.retransmitted_bytes == 0


def _counting() -> tuple[StreamReassembler, bytearray, list[Gap], list[Retransmission]]:
    out = bytearray()
    gaps: list[Gap] = []
    events: list[Retransmission] = []
    reassembler = StreamReassembler(out.extend, gaps.append, 1 << 20, events.append)
    reassembler.syn(999)  # ISN 999: stream offset 0 is sequence number 1000 (RFC 9293 §3.4)
    return reassembler, out, gaps, events


def test_every_repeated_byte_is_counted_once_with_offset_and_frame() -> None:
    data = bytes(range(256)) * 4
    r, out, _gaps, events = _counting()
    r.segment(1000, data[0:100], frame=4)
    r.segment(1000, data[0:100], frame=5)  # a whole copy of delivered data
    r.segment(1050, data[50:150], frame=6)  # half old, half new
    r.segment(1300, data[300:400], frame=7)  # out of order: held
    r.segment(1250, data[250:350], frame=8)  # overlaps the held piece's first 50 bytes from below
    r.segment(1350, data[350:450], frame=9)  # overlaps its last 50 bytes and goes beyond
    r.segment(1240, data[240:460], frame=10)  # spans the held pieces: 10 + 200 + 10 new, 200 repeated
    r.segment(1150, data[150:240], frame=11)  # fills the hole: everything is delivered
    assert bytes(out) == data[:460]
    assert [(e.frame, e.offset, e.length) for e in events] == [(5, 0, 100), (6, 50, 50), (8, 300, 50),
                                                               (9, 350, 50), (10, 250, 200)]
    assert r.retransmitted_bytes == 450 and r.retransmitted_segments == 5 and r.differing_bytes == 0
    assert r.out_of_order == [8, 10, 11]  # new bytes below the highest seen: they filled holes


def test_a_copy_with_other_bytes_is_counted_and_the_first_copy_kept() -> None:
    r, out, _gaps, events = _counting()
    r.segment(1000, b"A" * 10, frame=1)
    r.segment(1000, b"AAAAxxAAAA", frame=2)  # delivered already: compared with what was delivered
    r.segment(1020, b"C" * 10, frame=3)
    r.segment(1020, b"CCCCCCCCyy", frame=4)  # held: compared with the held piece
    r.segment(1010, b"B" * 10, frame=5)
    assert bytes(out) == b"A" * 10 + b"B" * 10 + b"C" * 10
    assert [(e.frame, e.length, e.differing) for e in events] == [(2, 10, 2), (4, 10, 2)]
    assert r.differing_bytes == 4


def test_keep_alive_and_control_retransmissions() -> None:
    r, out, _gaps, events = _counting()
    r.syn(999, frame=2)  # the SYN again (RFC 9293 §3.8.1): it sits at offset -1 and carries no bytes
    r.segment(1000, b"hello", frame=3)
    r.segment(1004, b"\x00", frame=4)  # keep-alive (RFC 9293 §3.8.4): SND.NXT - 1 with one garbage byte
    r.segment(1005, b"", fin=True, frame=5)
    r.segment(1005, b"", fin=True, frame=6)  # the FIN again
    assert bytes(out) == b"hello" and r.keep_alives == 1
    assert [(e.frame, e.offset, e.length, e.control) for e in events] == [(2, -1, 0, "syn"), (6, 5, 0, "fin")]
    assert r.retransmitted_bytes == 0 and r.complete


def test_a_hole_the_receiver_acknowledged_is_a_gap_at_once() -> None:
    r, out, gaps, _events = _counting()
    r.segment(1000, b"a" * 10, frame=1)
    r.segment(1020, b"c" * 10, frame=3)  # frame 2 (offsets 10..19) was not captured
    assert gaps == [] and bytes(out) == b"a" * 10  # it may still come (a reordering)
    r.acked(1020)  # acknowledged up to the held piece: the segment may still come (frames reordered around it)
    assert gaps == []
    r.acked(1025)  # the receiver has bytes up to 1024, past the hole: they will not be sent again (RFC 9293 §3.4)
    assert gaps == [Gap(10, 10, 3)] and bytes(out) == b"a" * 10 + b"c" * 10
    r.segment(1010, b"b" * 10, frame=4)  # a late copy after all: delivered bytes again, not data
    assert r.retransmitted_bytes == 10 and bytes(out) == b"a" * 10 + b"c" * 10


def test_the_copies_kept_for_comparison_are_bounded() -> None:
    """Tiny segments must not make every retransmission's comparison long, nor large ones keep many frames alive:
    what is kept of the delivered stream is bounded in pieces and bytes; older repeats are counted, unchecked."""
    r, out, _gaps, events = _counting()
    for i in range(5000):
        r.segment(1000 + i, bytes([i & 0xFF]), frame=i + 1)
    assert len(r._recent) <= RECENT_PIECES
    r.segment(1000, b"\x00\x01", frame=6000)  # the first two bytes again: long gone from what is kept
    assert events[-1].length == 2 and events[-1].unchecked == 2 and events[-1].differing == 0
    for i in range(4):
        r.segment(1000 + 5000 + i * 65536, bytes(65536), frame=7000 + i)
    assert r._recent_bytes <= RECENT_BYTES + 65536 and len(out) == 5000 + 4 * 65536


def test_a_zero_window_probe_is_not_accepted() -> None:
    """RFC 9293 §3.8.6.1: with the receiver's window at 0 the sender probes with one new byte, which the receiver
    does not accept (§3.10.7.4); the segment that brings it when the window opens is new data, not a repeat."""
    r, out, _gaps, events = _counting()
    r.segment(1000, b"abc", frame=1)
    r.receiver_window = 0
    r.segment(1003, b"d", frame=2)  # the probe
    assert r.zero_window_probes == 1 and bytes(out) == b"abc"
    r.receiver_window = 65535
    r.segment(1003, b"defg", frame=3)
    assert bytes(out) == b"abcdefg" and events == [] and r.retransmitted_bytes == 0
