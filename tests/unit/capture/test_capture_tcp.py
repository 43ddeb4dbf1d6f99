"""TCP reassembly (RFC 9293 §3.4): any order, duplication and overlap of segments gives the sent stream;
sequence-number wrap-around; lost data becomes a reported gap; the out-of-order buffer is bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tlsstate.capture.tcp import Gap, StreamReassembler


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
