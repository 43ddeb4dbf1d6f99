"""Real loopback TLS captures, damaged segment by segment with dpkt, and tshark's TCP analysis of the result.

- :func:`live_tls_capture`: a CPython ``ssl`` client and server exchange data over 127.0.0.1 while dumpcap records
  it (pcapng, Ethernet on ``lo``; TCP_MAXSEG makes Ethernet-sized segments); the client logs its keys.
- :class:`Damage`: edits of the capture's frames (decoded and re-encoded by dpkt, checksums recomputed):
  duplicate, delay (reorder), drop, overlap partially, alter a copy's bytes, inject a keep-alive.
- :func:`tshark_tcp`: tshark's per-frame view (``tcp.analysis.*`` flags, sequence numbers, payload length),
  the independent reference the tests compare the reassembler with.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dpkt

from tests.helpers.capture import loopback_capture
from tests.helpers.env import free_port
from tests.helpers.peers import make_cli_pki

Frame = tuple[float, bytes]
RETRANSMISSION_DELAY = 0.2  # seconds: far more than a loopback RTT
MSS = 1400  # segment size asked of both sockets, so a loopback exchange is many Ethernet-sized segments


def live_tls_capture(folder: Path, request: bytes, response: bytes, chunk: int = 4096) -> tuple[Path, Path, int]:
    """One TLS 1.2 (AES-128-GCM) connection on loopback: the client sends ``request`` in ``chunk``-byte writes,
    the server answers ``response`` likewise; returns (capture, key log, server port)."""
    pki = make_cli_pki(folder)
    port, capture, keylog = free_port(), folder / "live.pcapng", folder / "keys.log"
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki["cert"], pki["key"])
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_verify_locations(pki["ca"])
    for ctx in (server_ctx, client_ctx):
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    client_ctx.keylog_filename = str(keylog)
    failure: list[BaseException] = []

    def receive(tls: ssl.SSLSocket, length: int) -> bytes:
        got = bytearray()
        while len(got) < length:
            data = tls.recv(65536)
            if not data:
                break
            got += data
        return bytes(got)

    def send(tls: ssl.SSLSocket, data: bytes) -> None:
        for start in range(0, len(data), chunk):
            tls.sendall(data[start : start + chunk])

    with loopback_capture(capture, [port]):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, MSS)  # inherited by the accepted socket
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        listener.settimeout(10)

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                conn.settimeout(10)
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    receive(tls, len(request))
                    send(tls, response)
                    with contextlib.suppress(ssl.SSLError, OSError):
                        tls.unwrap()
            except BaseException as exc:  # surfaced in the main thread
                failure.append(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, MSS)
            raw.settimeout(10)
            raw.connect(("127.0.0.1", port))
            with raw, client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                send(tls, request)
                assert receive(tls, len(response)) == response
                with contextlib.suppress(ssl.SSLError, OSError):
                    tls.unwrap()
        finally:
            thread.join(10)
            listener.close()
    if failure:
        raise failure[0]
    return capture, keylog, port


def _tcp(frame: bytes) -> tuple[dpkt.ethernet.Ethernet, dpkt.tcp.TCP] | None:
    eth = dpkt.ethernet.Ethernet(frame)
    ip = eth.data
    if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP):
        return eth, ip.data
    return None


def _rebuilt(frame: bytes, edit: Callable[[dpkt.tcp.TCP], None]) -> bytes:
    """``frame`` with its TCP header / payload changed by ``edit`` (lengths and both checksums recomputed)."""
    found = _tcp(frame)
    assert found is not None
    eth, tcp = found
    edit(tcp)
    ip = eth.data
    ip.data = tcp
    ip.len, ip.sum, tcp.sum = len(ip), 0, 0  # dpkt recomputes both checksums when serializing
    return bytes(eth)


@dataclass
class Damage:
    """Frame edits on a capture's frames, applied in order; ``port`` picks the sender (its source port)."""

    frames: list[Frame]

    def data_frames(self, port: int, length: int | None = None) -> list[int]:
        """Indexes of frames from ``port`` carrying TCP payload (of exactly ``length`` bytes when given)."""
        out = []
        for i, (_, frame) in enumerate(self.frames):
            found = _tcp(frame)
            if found is not None and found[1].sport == port and len(found[1].data) > 0 and (
                    length is None or len(found[1].data) == length):
                out.append(i)
        return out

    def back_to_back(self, port: int, skip: int = 0) -> int:
        """The position among ``port``'s data frames of the first one (after the first ``skip``) followed by the next
        with only pure acknowledgments from the peer between them (so the two can be reordered)."""
        frames = self.data_frames(port)
        for k in range(skip, len(frames) - 1):
            between = [_tcp(self.frames[i][1]) for i in range(frames[k] + 1, frames[k + 1])]
            if all(t is not None and t[1].sport != port and not t[1].data and not t[1].flags & 0x07
                   for t in between):
                return k
        raise AssertionError(f"no two reorderable data frames from port {port}")

    def control_frame(self, port: int, flag: int) -> int:
        """Index of the first frame from ``port`` with TCP ``flag`` set (dpkt.tcp.TH_SYN, TH_FIN...)."""
        for i, (_, frame) in enumerate(self.frames):
            found = _tcp(frame)
            if found is not None and found[1].sport == port and found[1].flags & flag:
                return i
        raise AssertionError(f"no frame from port {port} with flag {flag:#x}")

    def insert_after(self, index: int, frame: bytes, delay: float = RETRANSMISSION_DELAY) -> None:
        """``frame`` right after frame ``index``, ``delay`` seconds after it; later frames move by ``delay`` too, so
        the times stay in order and tshark (which tells a retransmission from an out-of-order segment by the time
        since the highest sequence number, against the first RTT) sees a retransmission."""
        ts = self.frames[index][0] + delay
        self.frames[index + 1 :] = [(t + delay, f) for t, f in self.frames[index + 1 :]]
        self.frames.insert(index + 1, (ts, frame))

    def duplicate(self, index: int, at: int | None = None) -> None:
        """Send frame ``index`` again, right after it or after frame ``at``."""
        self.insert_after(index if at is None else at, self.frames[index][1])

    def reorder(self, index: int, after: int) -> None:
        """Data frame ``index`` arrives right after the sender's next data frame ``after``, one microsecond later
        (within a loopback RTT, so tshark calls it out of order); the peer's acknowledgments that were between
        them (pure ACKs, see :meth:`back_to_back`) follow it, as the receiver can only acknowledge it then."""
        moved = self.frames[index:after]
        ts = self.frames[after][0]
        self.frames[index : after + 1] = [self.frames[after]] + [(ts + (k + 1) * 1e-6, f)
                                                                 for k, (_, f) in enumerate(moved)]

    def drop(self, index: int) -> int:
        """Lose frame ``index``; returns its payload length."""
        _, frame = self.frames.pop(index)
        found = _tcp(frame)
        assert found is not None
        return len(found[1].data)

    def overlap(self, index: int, next_index: int, at: int) -> None:
        """A segment made of the second half of frame ``index``'s payload and the first half of ``next_index``'s
        (a retransmission straddling two segments), inserted after frame ``at``."""
        _, frame = self.frames[index]
        found, following = _tcp(frame), _tcp(self.frames[next_index][1])
        assert found is not None and following is not None
        first, second = found[1].data, following[1].data
        half = len(first) // 2

        def edit(tcp: dpkt.tcp.TCP) -> None:
            tcp.seq = (tcp.seq + half) % (1 << 32)
            tcp.data = first[half:] + second[: len(second) // 2]

        self.insert_after(at, _rebuilt(frame, edit))

    def alter(self, index: int, flip: int = 8, start: int = 0) -> None:
        """Frame ``index`` with ``flip`` payload bytes from ``start`` inverted."""
        self.frames[index] = (self.frames[index][0], self._altered(index, flip, start))

    def altered_copy(self, index: int, at: int, flip: int = 8, start: int = 0) -> None:
        """Frame ``index`` sent again after frame ``at`` with ``flip`` payload bytes from ``start`` changed (the
        same sequence numbers, other bytes: an overlap conflict)."""
        self.insert_after(at, self._altered(index, flip, start))

    def _altered(self, index: int, flip: int, start: int) -> bytes:
        _, frame = self.frames[index]

        def edit(tcp: dpkt.tcp.TCP) -> None:
            data = bytearray(tcp.data)
            for i in range(start, min(start + flip, len(data))):
                data[i] ^= 0xFF
            tcp.data = bytes(data)

        return _rebuilt(frame, edit)

    def zero_window_probe(self, index: int) -> None:
        """The receiver's last segment before data frame ``index`` advertises a zero window, and the sender probes
        it (RFC 9293 §3.8.6.1) with the first byte of frame ``index``, 100 µs before sending that frame."""
        found = _tcp(self.frames[index][1])
        assert found is not None
        sender = found[1].sport
        last = max(i for i in range(index) if (t := _tcp(self.frames[i][1])) is not None and t[1].sport != sender)

        def closed(tcp: dpkt.tcp.TCP) -> None:
            tcp.win = 0

        def probe(tcp: dpkt.tcp.TCP) -> None:
            tcp.data = tcp.data[:1]

        self.frames[last] = (self.frames[last][0], _rebuilt(self.frames[last][1], closed))
        self.frames.insert(index, (self.frames[index][0] - 1e-4, _rebuilt(self.frames[index][1], probe)))

    def keep_alive(self, index: int) -> None:
        """After data frame ``index`` (the sender's latest so far): a keep-alive, one garbage byte at the sequence
        number just before the next one (RFC 9293 §3.8.4), with ACK only."""
        _, frame = self.frames[index]
        found = _tcp(frame)
        assert found is not None
        length = len(found[1].data)

        def edit(tcp: dpkt.tcp.TCP) -> None:
            tcp.seq = (tcp.seq + length - 1) % (1 << 32)
            tcp.data = b"\x00"
            tcp.flags = dpkt.tcp.TH_ACK

        self.insert_after(index, _rebuilt(frame, edit), 0.0)


@dataclass
class TsharkFrame:
    """One TCP frame as tshark analyses it (relative sequence numbers)."""

    number: int
    time: float
    sport: int
    seq: int
    length: int
    flags: set[str]


ANALYSIS = ("retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order", "lost_segment",
            "keep_alive", "zero_window_probe", "duplicate_ack", "zero_window")


def tshark_tcp(tshark: str, capture: Path) -> list[TsharkFrame]:
    """tshark's TCP analysis of ``capture``, frame by frame (default preferences: analysis on, relative seq)."""
    fields = ["frame.number", "frame.time_epoch", "tcp.srcport", "tcp.seq", "tcp.len",
              *(f"tcp.analysis.{name}" for name in ANALYSIS)]
    out = subprocess.run([tshark, "-r", str(capture), "-Y", "tcp", "-T", "fields", "-E", "separator=|",
                          *(arg for name in fields for arg in ("-e", name))],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    frames = []
    for line in out.splitlines():
        cells = line.split("|")
        flags = {name for name, cell in zip(ANALYSIS, cells[5:], strict=True) if cell}
        frames.append(TsharkFrame(int(cells[0]), float(cells[1]), int(cells[2]), int(cells[3]), int(cells[4]), flags))
    return frames


def tshark_record_frames(tshark: str, capture: Path, keylog: Path) -> list[int]:
    """The frame number of every TLS record tshark dissects (a record is shown in the frame that completes it;
    one entry per record, in capture order)."""
    out = subprocess.run([tshark, "-r", str(capture), "-o", f"tls.keylog_file:{keylog}", "-Y", "tls", "-T", "fields",
                          "-e", "frame.number", "-e", "tls.record.content_type"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    frames: list[int] = []
    for line in out.splitlines():
        number, _, types = line.partition("\t")
        frames += [int(number)] * len([t for t in types.split(",") if t])
    return frames
