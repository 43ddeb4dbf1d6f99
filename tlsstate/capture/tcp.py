"""TCP stream reassembly for captures (RFC 9293 §3.4 sequence-number arithmetic).

One :class:`StreamReassembler` per direction turns segments — in any order, retransmitted, overlapping —
into the byte stream the receiver saw, delivered in order through a callback. Out-of-order data waits in
a buffer bounded by ``max_buffer`` bytes (a TCP window is at most 1 GiB with scaling; the default 32 MiB
covers real windows); when the receiver acknowledges bytes past the hole (it got what the capture missed), the
buffer overflows, or the capture ends with data still missing, the
hole is declared a *gap*: it is reported (offset, length, frame) and delivery continues after it, so the TLS
layer can resynchronise on a record boundary instead of stopping. Overlapping data keeps the first copy
received (as Wireshark does); every repeated byte is counted, per segment, with its stream offset and capture
frame (:class:`Retransmission`), and repeated bytes that differ from the copy kept are counted as such.
Keep-alives (RFC 9293 §3.8.4) and zero-window probes (§3.8.6.1) are counted apart and carry no data. What counts
as what was checked frame by frame against tshark 4.0's ``tcp.analysis`` flags (tests/interop).

:class:`TcpTracker` maps segments to connections (the 4-tuple, with the SYN sender as client when seen)
and starts a new connection when a SYN reuses a finished 4-tuple. A connection whose two streams are complete (each
delivered up to its FIN, RFC 9293 §3.6) or that was reset is *done*: the tracker forgets it and reports it through
``on_done``, so a capture of many connections is followed in memory bounded by the open ones; later segments of
its 4-tuple without SYN (retransmissions, the last ACK) are ignored.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tlsstate.capture.pcap import Segment

__all__ = ["Gap", "Retransmission", "StreamReassembler", "TcpConnection", "TcpTracker"]

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
MOD = 1 << 32
HALF = 1 << 31
DEFAULT_MAX_BUFFER = 32 * 1024 * 1024
MAX_EVENTS = 10_000  # retransmissions kept per stream with their position (all are counted)
DONE_REMEMBERED = 65536  # 4-tuples of done connections whose stray segments are recognised and ignored


@dataclass(slots=True)
class Gap:
    """Bytes missing from a stream: ``offset`` (stream position) and ``length``; ``frame`` is the capture frame
    whose data follows the hole (the one tshark flags ``tcp.analysis.lost_segment``), 0 when unknown."""

    offset: int
    length: int
    frame: int = 0


@dataclass(slots=True)
class Retransmission:
    """One segment that carried stream bytes (or a SYN / FIN) the receiver had already been given.

    ``offset`` is the stream offset of its first repeated byte (RFC 9293 §3.4: sequence number minus ISN + 1),
    ``length`` the bytes it repeated (0 for a bare SYN or FIN sent again, ``control`` saying which), ``frame``
    and ``time`` where it is in the capture. ``differing`` counts repeated bytes whose value is not the one
    already held: the first copy is always the one kept (what Wireshark and tshark do), and ``unchecked`` counts
    repeated bytes too old to compare (delivered more than about ``RECENT_BYTES`` before)."""

    offset: int
    length: int
    frame: int = 0
    time: float = 0.0
    differing: int = 0
    unchecked: int = 0
    control: str = ""  # "syn" or "fin" for a repeated control flag without data


# delivered bytes kept (references to the pieces, no copies) to compare retransmitted copies against: about a
# window in flight; more keeps large frames alive and costs the allocator (measured: +6% CPU at 64 KiB segments)
RECENT_BYTES = 128 * 1024
RECENT_PIECES = 512  # and at most this many pieces (a capture of tiny segments must not make each comparison long)


class StreamReassembler:
    """One direction of a TCP connection: segments in → contiguous bytes out (``deliver(data)``).

    Positions are unbounded stream offsets (64-bit style) derived from the 32-bit sequence numbers, so
    wrap-around is handled. ``deliver`` receives bytes; ``on_gap`` receives a :class:`Gap` before the data
    that follows it; ``on_retransmit`` (optional) a :class:`Retransmission` per segment that repeated bytes.

    Every byte of a segment is either new (delivered, or held out of order until the hole before it fills) or
    a repeat of a byte already delivered or held: repeats are counted exactly, per segment, whether the segment
    is a whole copy, a partial overlap on either side, or spans several held pieces. The held pieces never
    overlap (a later copy only adds the bytes no earlier one had), so draining is a lookup per piece.
    A TCP keep-alive (RFC 9293 §3.8.4: at most one byte at the sequence number before the next expected, sent
    to provoke an ACK) is counted in ``keep_alives``, not as a retransmission, and its garbage byte is ignored.
    """

    def __init__(
        self,
        deliver: Callable[[bytes | memoryview], None],
        on_gap: Callable[[Gap], None],
        max_buffer: int = DEFAULT_MAX_BUFFER,
        on_retransmit: Callable[[Retransmission], None] | None = None,
    ) -> None:
        self.deliver = deliver
        self.on_gap = on_gap
        self.on_retransmit = on_retransmit
        self.max_buffer = max_buffer
        self.isn: int | None = None  # sequence number of stream offset 0
        self.next_offset = 0  # next stream offset to deliver
        self.last_seq32 = 0
        self._last_offset = 0  # stream offset of last_seq32
        self.pending: dict[int, bytes | memoryview] = {}  # offset -> data (out of order; pieces never overlap)
        self._pending_order: list[int] = []  # the offsets of ``pending``, sorted
        self._pending_frame: dict[int, int] = {}  # offset -> the frame that brought that held piece
        self.pending_bytes = 0
        self.gaps: list[Gap] = []
        self.retransmissions: list[Retransmission] = []  # the first MAX_EVENTS; the counters below count all
        self.bytes_delivered = 0
        self.retransmitted_bytes = 0
        self.retransmitted_segments = 0
        self.differing_bytes = 0  # repeated bytes whose value differed from the copy kept (an overlap conflict)
        self.keep_alives = 0
        self.zero_window_probes = 0
        self.receiver_window = 1  # the window the receiver last advertised (only whether it is 0 matters)
        self.out_of_order_segments = 0
        self.out_of_order: list[int] = []  # frames of the first MAX_EVENTS out-of-order segments
        self.saw_syn = False
        self.mid_stream = False
        self.fin = False
        self.fin_offset: int | None = None  # stream offset of the FIN
        self._recent: deque[tuple[int, bytes | memoryview]] = deque()  # (offset, data) delivered lately
        self._recent_bytes = 0
        self._acked = 0  # stream offset up to which the receiver acknowledged

    def _offset(self, seq: int) -> int:
        """Unwrapped stream offset of a 32-bit sequence number, nearest to the last one seen."""
        assert self.isn is not None
        delta = (seq - self.last_seq32) % MOD
        if delta >= HALF:
            delta -= MOD
        return self._last_offset + delta

    def syn(self, seq: int, frame: int = 0, time: float = 0.0) -> None:
        """A SYN: the stream starts at seq + 1; the same SYN again is a retransmission (RFC 9293 §3.8.1)."""
        if self.isn is None:
            self.isn = (seq + 1) % MOD
            self.last_seq32 = self.isn
            self._last_offset = 0
            self.saw_syn = True
        elif self.saw_syn and (seq + 1) % MOD == self.isn:
            self._report(Retransmission(-1, 0, frame, time, control="syn"))  # the SYN is at offset -1

    def segment(self, seq: int, payload: bytes | memoryview, fin: bool = False, frame: int = 0,
                time: float = 0.0) -> None:
        """Add one segment's payload (``frame`` and ``time``: where it is in the capture, for the reports)."""
        if self.isn is None:
            if not payload:
                return
            self.isn = seq
            self.last_seq32 = seq
            self._last_offset = 0
            self.mid_stream = True
        offset = self._offset(seq)
        if -HALF < offset - self._last_offset < HALF:
            self.last_seq32 = seq
            self._last_offset = offset
        end = offset + len(payload)
        if fin:
            if self.fin_offset == end and not payload:
                self._report(Retransmission(end, 0, frame, time, control="fin"))
            self.fin = True
            self.fin_offset = end
        if not payload:
            return
        if self.receiver_window == 0 and len(payload) == 1 and offset == self._highest() and not fin:
            # a zero-window probe (RFC 9293 §3.8.6.1): the receiver, whose window is 0, does not accept its byte
            # (§3.10.7.4), so the segment that carries it later is no retransmission (tshark agrees)
            self.zero_window_probes += 1
            return
        if offset == self.next_offset and not self.pending:  # the common case: the next bytes, nothing held
            recent = self._recent  # _emit and _trim_recent, inlined for the common case
            recent.append((offset, payload))
            kept = self._recent_bytes + len(payload)
            while (kept > RECENT_BYTES or len(recent) > RECENT_PIECES) and len(recent) > 1:
                kept -= len(recent.popleft()[1])
            self._recent_bytes = kept
            self.next_offset = end
            self.bytes_delivered += end - offset
            self.deliver(payload)
            return
        if len(payload) == 1 and end == self._highest():
            self.keep_alives += 1  # RFC 9293 §3.8.4: one byte already acknowledged, only to provoke an ACK
            return
        event = Retransmission(-1, 0, frame, time)
        highest = self._highest()
        if offset < self.next_offset:
            cut = min(end, self.next_offset) - offset
            self._compare_delivered(event, offset, payload[:cut])
            if end <= self.next_offset:
                self._report(event)
                return
            payload = payload[cut:]
            offset = self.next_offset
        first_new = self._hold(event, offset, payload)
        if first_new is not None and first_new < highest:
            self.out_of_order_segments += 1  # new bytes below the highest seen: they fill a hole (a reordering)
            if len(self.out_of_order) < MAX_EVENTS:
                self.out_of_order.append(frame)
        if event.length:
            self._report(event)
        self._drain()
        while self.pending and (self.pending_bytes > self.max_buffer or self._pending_order[0] < self._acked):
            self._skip_to_first_pending()

    def acked(self, ack: int) -> None:
        """The receiver acknowledged up to ``ack`` (RFC 9293 §3.4: the next sequence number it expects). When that
        covers a hole and bytes held after it, the hole's bytes reached the receiver without the capture seeing
        them and will not be sent again: it is a gap now, not at the end of the capture (tshark:
        ``tcp.analysis.ack_lost_segment``). An acknowledgment that ends exactly at the hole's end is not enough:
        a capture whose frames were reordered around it (merged captures) may still bring the hole's segment."""
        if self.isn is None:
            return
        delta = (ack - self.last_seq32) % MOD
        if delta >= HALF:
            return  # an old acknowledgment: nothing new
        self._acked = max(self._acked, self._last_offset + delta)
        while self.pending and self._pending_order[0] < self._acked:
            self._skip_to_first_pending()

    def _hold(self, event: Retransmission, offset: int, payload: bytes | memoryview) -> int | None:
        """Keep the bytes of ``payload`` no held piece has yet; count (and compare) those it repeats. Returns the
        offset of the first new byte kept (None when it had none)."""
        order, pending = self._pending_order, self.pending
        end = offset + len(payload)
        at = bisect_left(order, offset)
        if at and order[at - 1] + len(pending[order[at - 1]]) > offset:
            at -= 1  # the piece before starts earlier but reaches into this segment
        position = offset
        pieces: list[tuple[int, bytes | memoryview]] = []
        while at < len(order) and order[at] < end:
            start = order[at]
            held = pending[start]
            stop = start + len(held)
            if start > position:
                pieces.append((position, payload[position - offset : start - offset]))
            low, high = max(start, position), min(stop, end)
            if high > low:
                self._repeat(event, low, high - low, held[low - start : high - start],
                             payload[low - offset : high - offset])
            position = max(position, stop)
            at += 1
        if position < end:
            pieces.append((position, payload[position - offset :]))
        for start, data in pieces:
            pending[start] = data
            self._pending_frame[start] = event.frame
            insort(order, start)
            self.pending_bytes += len(data)
        return pieces[0][0] if pieces else None

    def _compare_delivered(self, event: Retransmission, offset: int, again: bytes | memoryview) -> None:
        """Count ``again`` (bytes at ``offset``, all delivered already) in ``event``, comparing what is still held."""
        end = offset + len(again)
        event.offset = offset
        checked = 0
        for start, data in self._recent:
            stop = start + len(data)
            low, high = max(start, offset), min(stop, end)
            if high > low:
                self._repeat(event, low, high - low, data[low - start : high - start],
                             again[low - offset : high - offset])
                checked += high - low
        event.unchecked += len(again) - checked
        event.length += len(again) - checked

    def _repeat(self, event: Retransmission, offset: int, count: int, kept: bytes | memoryview,
                again: bytes | memoryview) -> None:
        """``count`` bytes at ``offset`` arrived again; those that differ from the copy kept are counted."""
        if event.offset < 0:
            event.offset = offset
        event.length += count
        if kept != again:
            event.differing += sum(1 for a, b in zip(bytes(kept), bytes(again), strict=True) if a != b)

    def _highest(self) -> int:
        """The stream offset just past the highest byte seen (held or delivered)."""
        if not self._pending_order:
            return self.next_offset
        last = self._pending_order[-1]
        return last + len(self.pending[last])

    def _report(self, event: Retransmission) -> None:
        self.retransmitted_bytes += event.length
        self.retransmitted_segments += 1
        self.differing_bytes += event.differing
        if len(self.retransmissions) < MAX_EVENTS:
            self.retransmissions.append(event)
        if self.on_retransmit is not None:
            self.on_retransmit(event)

    def _emit(self, data: bytes | memoryview) -> None:
        recent = self._recent
        recent.append((self.next_offset, data))
        self._recent_bytes += len(data)
        if self._recent_bytes > RECENT_BYTES or len(recent) > RECENT_PIECES:
            self._trim_recent()
        self.next_offset += len(data)
        self.bytes_delivered += len(data)
        self.deliver(data)

    def _trim_recent(self) -> None:
        """Forget the oldest delivered pieces beyond RECENT_BYTES / RECENT_PIECES (always keep the latest)."""
        recent = self._recent
        while len(recent) > 1 and (self._recent_bytes > RECENT_BYTES or len(recent) > RECENT_PIECES):
            self._recent_bytes -= len(recent.popleft()[1])

    def _drain(self) -> None:
        pending, order = self.pending, self._pending_order
        while order and order[0] == self.next_offset:
            start = order.pop(0)
            data = pending.pop(start)
            del self._pending_frame[start]
            self.pending_bytes -= len(data)
            self._emit(data)

    def _skip_to_first_pending(self) -> None:
        first = self._pending_order[0]
        gap = Gap(self.next_offset, first - self.next_offset, self._pending_frame[first])
        self.gaps.append(gap)
        self.on_gap(gap)
        self.next_offset = first
        self._drain()

    @property
    def complete(self) -> bool:
        """Every byte up to the FIN has been delivered."""
        return self.fin_offset is not None and self.next_offset >= self.fin_offset and not self.pending

    def finish(self) -> None:
        """End of capture: deliver what is buffered, declaring the holes before it as gaps."""
        while self.pending:
            self._skip_to_first_pending()


@dataclass
class TcpConnection:
    """A TCP connection found in the capture: client and server endpoints and one reassembler each way."""

    number: int
    client: tuple[str, int]
    server: tuple[str, int]
    first_packet: int
    client_stream: StreamReassembler
    server_stream: StreamReassembler
    client_known: bool  # True when a SYN told who the client is
    closed: bool = False
    reset: bool = False
    listener: object = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        """Both streams complete up to their FINs, or a reset with nothing left out of order."""
        client, server = self.client_stream, self.server_stream
        if self.reset:
            return not client.pending and not server.pending
        return client.complete and server.complete

    def endpoint_text(self, endpoint: tuple[str, int]) -> str:
        """``ip:port`` (IPv6 in brackets)."""
        host, port = endpoint
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


Factory = Callable[[int, tuple[str, int], tuple[str, int], int, bool], TcpConnection]


class TcpTracker:
    """Dispatches segments to connections; ``factory`` builds a connection with its two reassemblers."""

    def __init__(self, factory: Factory, on_done: Callable[[TcpConnection], None] | None = None) -> None:
        self.factory = factory
        self.on_done = on_done
        self.connections: dict[tuple[tuple[str, int], tuple[str, int]], TcpConnection] = {}
        self.all: list[TcpConnection] = []  # every connection not yet done, in the order first seen
        self.count = 0  # connections seen so far (their numbers)
        self._done: OrderedDict[tuple[tuple[str, int], tuple[str, int]], None] = OrderedDict()

    def add(self, seg: Segment) -> None:
        """Route one segment."""
        a, b = (seg.src, seg.sport), (seg.dst, seg.dport)
        key = (a, b) if a <= b else (b, a)
        conn = self.connections.get(key)
        flags = seg.flags
        is_syn = bool(flags & SYN)
        # a new SYN on a used 4-tuple is a new connection if its ISN differs (not a SYN retransmission)
        if (
            conn is not None and is_syn and not (flags & ACK) and conn.client == a
            and conn.client_stream.isn is not None and (seg.seq + 1) % MOD != conn.client_stream.isn
        ):
            conn.closed = True
            conn = None
        if conn is None and not is_syn and key in self._done:
            return  # a stray segment of a connection already done (retransmission, last ACK)
        if conn is None:
            self._done.pop(key, None)
            if is_syn and not (flags & ACK):
                client, server, known = a, b, True
            elif is_syn:
                client, server, known = b, a, True
            else:
                # no handshake seen: guess the lower port is the server's; the TLS layer may swap later
                client, server = (a, b) if seg.sport > seg.dport else (b, a)
                known = False
            conn = self.factory(self.count, client, server, seg.index, known)
            self.count += 1
            self.connections[key] = conn
            self.all.append(conn)
        from_client = a == conn.client
        if from_client:
            stream, peer = conn.client_stream, conn.server_stream
        else:
            stream, peer = conn.server_stream, conn.client_stream
        peer.receiver_window = seg.window  # what this side can receive: the other direction's window
        if peer.pending and flags & ACK:  # an acknowledgment matters only to a stream holding data after a hole
            peer.acked(seg.ack)
        if is_syn:
            stream.syn(seg.seq, seg.index, seg.time)
            return
        if flags & RST:
            if seg.payload:
                stream.segment(seg.seq, seg.payload, False, seg.index, seg.time)
            conn.reset = True
        else:
            stream.segment(seg.seq, seg.payload, bool(flags & FIN), seg.index, seg.time)
        # a connection can only become done on a FIN or RST, or on data that completes a stream whose FIN came early
        if self.on_done is not None and (flags & (FIN | RST) or stream.fin_offset is not None) and conn.done:
            self._retire(key, conn)

    def _retire(self, key: tuple[tuple[str, int], tuple[str, int]], conn: TcpConnection) -> None:
        """A done connection leaves the tracker (its 4-tuple is remembered to ignore stray segments)."""
        del self.connections[key]
        self.all.remove(conn)
        self._done[key] = None
        if len(self._done) > DONE_REMEMBERED:
            self._done.popitem(last=False)
        assert self.on_done is not None
        self.on_done(conn)

    def finish(self) -> None:
        """End of capture: flush every stream."""
        for conn in self.all:
            conn.client_stream.finish()
            conn.server_stream.finish()
