"""TCP stream reassembly for captures (RFC 9293 §3.4 sequence-number arithmetic).

One :class:`StreamReassembler` per direction turns segments — in any order, retransmitted, overlapping —
into the byte stream the receiver saw, delivered in order through a callback. Out-of-order data waits in
a buffer bounded by ``max_buffer`` bytes (a TCP window is at most 1 GiB with scaling; the default 32 MiB
covers real windows); when the buffer overflows, or at end of capture / FIN with data still missing, the
hole is declared a *gap*: it is reported (offset and length) and delivery continues after it, so the TLS
layer can resynchronise on a record boundary instead of stopping. Overlapping data keeps the first copy
received (like most stacks; retransmissions normally carry the same bytes).

:class:`TcpTracker` maps segments to connections (the 4-tuple, with the SYN sender as client when seen)
and starts a new connection when a SYN reuses a finished 4-tuple. A connection whose two streams are complete (each
delivered up to its FIN, RFC 9293 §3.6) or that was reset is *done*: the tracker forgets it and reports it through
``on_done``, so a capture of many connections is followed in memory bounded by the open ones; later segments of
its 4-tuple without SYN (retransmissions, the last ACK) are ignored.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from tlsstate.capture.pcap import Segment

__all__ = ["Gap", "StreamReassembler", "TcpConnection", "TcpTracker"]

FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
MOD = 1 << 32
HALF = 1 << 31
DEFAULT_MAX_BUFFER = 32 * 1024 * 1024
DONE_REMEMBERED = 65536  # 4-tuples of done connections whose stray segments are recognised and ignored


@dataclass(slots=True)
class Gap:
    """Bytes missing from a stream: ``offset`` (stream position) and ``length``."""

    offset: int
    length: int


class StreamReassembler:
    """One direction of a TCP connection: segments in → contiguous bytes out (``deliver(data)``).

    Positions are unbounded stream offsets (64-bit style) derived from the 32-bit sequence numbers, so
    wrap-around is handled. ``deliver`` receives bytes; ``on_gap`` receives a :class:`Gap` before the data
    that follows it; ``on_retransmit`` (optional) the number of bytes a segment repeated.
    """

    def __init__(
        self,
        deliver: Callable[[bytes | memoryview], None],
        on_gap: Callable[[Gap], None],
        max_buffer: int = DEFAULT_MAX_BUFFER,
        on_retransmit: Callable[[int], None] | None = None,
    ) -> None:
        self.deliver = deliver
        self.on_gap = on_gap
        self.on_retransmit = on_retransmit
        self.max_buffer = max_buffer
        self.isn: int | None = None  # sequence number of stream offset 0
        self.next_offset = 0  # next stream offset to deliver
        self.last_seq32 = 0
        self._last_offset = 0  # stream offset of last_seq32
        self.pending: dict[int, bytes | memoryview] = {}  # offset -> data (out of order)
        self.pending_bytes = 0
        self.gaps: list[Gap] = []
        self.bytes_delivered = 0
        self.retransmitted_bytes = 0
        self.saw_syn = False
        self.mid_stream = False
        self.fin = False
        self.fin_offset: int | None = None  # stream offset of the FIN

    def _offset(self, seq: int) -> int:
        """Unwrapped stream offset of a 32-bit sequence number, nearest to the last one seen."""
        assert self.isn is not None
        delta = (seq - self.last_seq32) % MOD
        if delta >= HALF:
            delta -= MOD
        return self._last_offset + delta

    def syn(self, seq: int) -> None:
        """A SYN: the stream starts at seq + 1."""
        if self.isn is None:
            self.isn = (seq + 1) % MOD
            self.last_seq32 = self.isn
            self._last_offset = 0
            self.saw_syn = True

    def segment(self, seq: int, payload: bytes | memoryview, fin: bool = False) -> None:
        """Add one segment's payload."""
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
        if fin:
            self.fin = True
            self.fin_offset = offset + len(payload)
        if not payload:
            return
        end = offset + len(payload)
        if end <= self.next_offset:
            self._retransmitted(len(payload))
            return
        if offset < self.next_offset:
            self._retransmitted(self.next_offset - offset)
            payload = payload[self.next_offset - offset :]
            offset = self.next_offset
        if offset == self.next_offset:
            self._emit(payload)
            self._drain()
            return
        old = self.pending.get(offset)
        if old is None or len(old) < len(payload):
            self.pending_bytes += len(payload) - (len(old) if old else 0)
            self.pending[offset] = payload
        while self.pending_bytes > self.max_buffer:
            self._skip_to_first_pending()

    def _retransmitted(self, count: int) -> None:
        """Bytes that were delivered already arrived again (a retransmission or an overlap)."""
        self.retransmitted_bytes += count
        if self.on_retransmit is not None:
            self.on_retransmit(count)

    def _emit(self, data: bytes | memoryview) -> None:
        self.next_offset += len(data)
        self.bytes_delivered += len(data)
        self.deliver(data)

    def _drain(self) -> None:
        pending = self.pending
        while pending:
            ready = [o for o in pending if o <= self.next_offset]
            if not ready:
                return
            for offset in sorted(ready):
                data = pending.pop(offset)
                self.pending_bytes -= len(data)
                if offset + len(data) <= self.next_offset:
                    self._retransmitted(len(data))
                    continue
                self._emit(data[self.next_offset - offset :])

    def _skip_to_first_pending(self) -> None:
        first = min(self.pending)
        gap = Gap(self.next_offset, first - self.next_offset)
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
        stream = conn.client_stream if from_client else conn.server_stream
        if is_syn:
            stream.syn(seg.seq)
            return
        if flags & RST:
            if seg.payload:
                stream.segment(seg.seq, seg.payload)
            conn.reset = True
        else:
            stream.segment(seg.seq, seg.payload, bool(flags & FIN))
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
