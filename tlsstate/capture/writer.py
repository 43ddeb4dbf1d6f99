"""Build a capture from two byte streams: TCP payloads → Ethernet/IPv4/TCP frames → a pcap or pcapng file.

The inverse of :mod:`tlsstate.capture.pcap`, for making captures without capture privileges (the decryption
benchmark) and for editing real ones (tests that reorder, retransmit or drop TCP segments).

File formats written (little-endian, microsecond timestamps, LINKTYPE_ETHERNET unless told otherwise):

* **pcap** — https://www.tcpdump.org/manpages/pcap-savefile.5.html (also draft-ietf-opsawg-pcap §4-§5):
  a 24-byte file header (magic 0xA1B2C3D4, version 2.4, thiszone 0, sigfigs 0, snaplen, link type), then per
  packet a 16-byte record header (seconds, microseconds, captured length, original length) and the frame.
* **pcapng** — draft-ietf-opsawg-pcapng: §4.1 Section Header Block (byte-order magic 0x1A2B3C4D, version 1.0,
  section length -1 = unknown), §4.2 Interface Description Block (link type, snaplen; no options, so
  if_tsresol is the default 10^-6 s), §4.3 Enhanced Packet Block per frame (interface 0, 64-bit timestamp in
  microseconds split high/low, captured and original length, frame padded to 32 bits). No options anywhere.

Frames made by :class:`TcpCaptureWriter`: Ethernet II (locally administered MACs, EtherType 0x0800), IPv4
(RFC 791 §3.1: IHL 5, DF, TTL 64, identification = packet number; header checksum per RFC 1071), TCP
(RFC 9293 §3.1: 20-byte header, no options, window 65535, checksum over the IPv4 pseudo-header). One connection:
SYN, SYN-ACK, ACK (RFC 9293 §3.5), each chunk of payload cut into PSH|ACK segments of at most
``segment_size`` bytes with consistent sequence/acknowledgement numbers, then FIN|ACK from each side.

Frame-level editing (:func:`read_frames`, :func:`write_frames`, :func:`reorder_and_retransmit`,
:func:`drop_segment`) decodes with dpkt, like the reader, so edits never go through our own parser.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import dpkt

from tlsstate.capture.pcap import BLOCK_EPB, BLOCK_IDB, LINKTYPE_ETHERNET, PCAP_MAGIC_US, PCAPNG_BYTE_ORDER, PCAPNG_SHB

__all__ = [
    "CLIENT", "SERVER", "CaptureFormat", "FrameWriter", "TcpCaptureWriter", "drop_segment", "read_frames",
    "reorder_and_retransmit", "tcp_payload_length", "write_frames", "write_tcp_capture",
]

CaptureFormat = Literal["pcap", "pcapng"]
Frame = tuple[float, bytes]  # (timestamp in seconds, link-layer frame), as dpkt's readers yield them

CLIENT = ("10.0.0.1", 50000)
SERVER = ("10.0.0.2", 4433)
SNAPLEN = 262144  # libpcap's largest snapshot length
START_US = 1_700_000_000 * 1_000_000  # first packet time (2023-11-14), then 10 µs per packet
CLIENT_MAC, SERVER_MAC = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
TH_FIN, TH_SYN, TH_PSH, TH_ACK = 0x01, 0x02, 0x08, 0x10


class FrameWriter:
    """Link-layer frames → a pcap or pcapng file (see the module docstring for the exact layout)."""

    def __init__(self, out: BinaryIO, fmt: CaptureFormat = "pcap", linktype: int = LINKTYPE_ETHERNET,
                 snaplen: int = SNAPLEN) -> None:
        if fmt not in ("pcap", "pcapng"):
            raise ValueError(f"unknown capture format {fmt!r} (pcap or pcapng)")
        self.out, self.fmt, self.snaplen = out, fmt, snaplen
        if fmt == "pcap":
            out.write(struct.pack("<IHHiIII", PCAP_MAGIC_US, 2, 4, 0, 0, snaplen, linktype))
        else:
            out.write(struct.pack("<IIIHHqI", PCAPNG_SHB, 28, PCAPNG_BYTE_ORDER, 1, 0, -1, 28))
            out.write(struct.pack("<IIHHII", BLOCK_IDB, 20, linktype, 0, snaplen, 20))

    def write(self, frame: bytes, ts_us: int) -> None:
        """One frame at ``ts_us`` microseconds since the epoch (whole frame captured: captured = original)."""
        if len(frame) > self.snaplen:
            raise ValueError(f"frame of {len(frame)} bytes exceeds snaplen {self.snaplen}")
        if self.fmt == "pcap":
            sec, usec = divmod(ts_us, 1_000_000)
            self.out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            self.out.write(frame)
            return
        pad = -len(frame) % 4
        total = 32 + len(frame) + pad
        self.out.write(struct.pack("<IIIIIII", BLOCK_EPB, total, 0, ts_us >> 32, ts_us & 0xFFFFFFFF,
                                   len(frame), len(frame)))
        self.out.write(frame)
        self.out.write(b"\0" * pad + struct.pack("<I", total))


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class TcpCaptureWriter:
    """One TCP connection between ``client`` and ``server`` written as it goes: the three-way handshake on
    entry, :meth:`send` for payload, the two FINs on a clean exit. ``packets`` counts the frames written."""

    def __init__(self, out: BinaryIO, *, segment_size: int = 32768, fmt: CaptureFormat = "pcap",
                 client: tuple[str, int] = CLIENT, server: tuple[str, int] = SERVER) -> None:
        if not 0 < segment_size <= 65495:  # IPv4 total length is 16 bits: 65535 - 20 - 20
            raise ValueError(f"segment_size {segment_size} outside 1..65495")
        self.frames = FrameWriter(out, fmt)
        self.segment_size = segment_size
        self._ip = {True: bytes(map(int, client[0].split("."))), False: bytes(map(int, server[0].split(".")))}
        self._port = {True: client[1], False: server[1]}
        self._seq = {True: 1000, False: 5000000}  # initial sequence numbers of client and server
        self.packets = 0

    def __enter__(self) -> TcpCaptureWriter:
        self._segment(True, TH_SYN, b"")
        self._segment(False, TH_SYN | TH_ACK, b"")
        self._segment(True, TH_ACK, b"")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self._segment(True, TH_FIN | TH_ACK, b"")
            self._segment(False, TH_FIN | TH_ACK, b"")

    def send(self, from_client: bool, data: bytes) -> None:
        """``data`` from one side, as PSH|ACK segments of at most ``segment_size`` bytes."""
        for start in range(0, len(data), self.segment_size):
            self._segment(from_client, TH_PSH | TH_ACK, data[start : start + self.segment_size])

    def _segment(self, from_client: bool, flags: int, payload: bytes) -> None:
        src, dst = self._ip[from_client], self._ip[not from_client]
        tcp = struct.pack("!HHIIBBHHH", self._port[from_client], self._port[not from_client],
                          self._seq[from_client] & 0xFFFFFFFF, self._seq[not from_client] & 0xFFFFFFFF,
                          5 << 4, flags, 65535, 0, 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), self.packets & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
        macs = (SERVER_MAC + CLIENT_MAC) if from_client else (CLIENT_MAC + SERVER_MAC)  # destination first
        self.frames.write(macs + b"\x08\x00" + ip + tcp, START_US + 10 * (self.packets + 1))
        self.packets += 1
        self._seq[from_client] += len(payload) + (1 if flags & (TH_SYN | TH_FIN) else 0)


def write_tcp_capture(path: Path, chunks: Iterable[tuple[bool, bytes]], segment_size: int = 32768,
                      fmt: CaptureFormat = "pcap", *, client: tuple[str, int] = CLIENT,
                      server: tuple[str, int] = SERVER) -> int:
    """Write one TCP connection carrying ``chunks`` (``(from_client, data)`` in wire order) to ``path``;
    returns the number of packets (5 for the handshake and the FINs, plus one per segment)."""
    with path.open("wb") as out, TcpCaptureWriter(out, segment_size=segment_size, fmt=fmt,
                                                  client=client, server=server) as conn:
        for from_client, data in chunks:
            conn.send(from_client, data)
    return conn.packets


def read_frames(path: Path) -> tuple[int, list[Frame]]:
    """(link type, frames) of a pcap or pcapng file, read by dpkt (first interface's link type for pcapng)."""
    with path.open("rb") as handle:
        reader = dpkt.pcap.UniversalReader(handle)
        return reader.datalink(), list(reader)


def write_frames(path: Path, frames: Iterable[Frame], linktype: int = LINKTYPE_ETHERNET,
                 fmt: CaptureFormat = "pcap") -> None:
    """Write ``(timestamp, frame)`` pairs as they are (timestamps rounded to the microsecond)."""
    with path.open("wb") as out:
        writer = FrameWriter(out, fmt, linktype)
        for ts, frame in frames:
            writer.write(frame, round(ts * 1_000_000))


def _tcp(frame: bytes) -> dpkt.tcp.TCP | None:
    ip = dpkt.ethernet.Ethernet(frame).data
    return ip.data if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP) else None


def tcp_payload_length(frame: bytes) -> int:
    """TCP payload bytes in an Ethernet/IPv4 frame (0 for anything else)."""
    tcp = _tcp(frame)
    return 0 if tcp is None else len(tcp.data)


def reorder_and_retransmit(frames: list[Frame]) -> list[Frame]:
    """Damage a capture the way real networks do, without changing the streams: of the frames carrying TCP
    payload, swap every third pair (out of order), send every fifth again (retransmission), and append the
    first half of the middle one at the end (an overlapping partial retransmission, much later)."""
    out = list(frames)
    data_idx = [i for i, (_, f) in enumerate(out) if tcp_payload_length(f) > 0]
    for k in range(0, len(data_idx) - 1, 3):
        a, b = data_idx[k], data_idx[k + 1]
        out[a], out[b] = out[b], out[a]
    again = set(data_idx[::5])
    result: list[Frame] = []
    for i, item in enumerate(out):
        result.append(item)
        if i in again:
            result.append(item)
    ts, frame = out[data_idx[len(data_idx) // 2]]
    eth = dpkt.ethernet.Ethernet(frame)
    ip, tcp = eth.data, eth.data.data
    tcp.data = tcp.data[: len(tcp.data) // 2]
    ip.len, ip.sum, tcp.sum = len(ip), 0, 0  # dpkt recomputes both checksums when serializing
    result.append((ts, bytes(eth)))
    return result


def drop_segment(frames: list[Frame], sport: int, min_payload: int = 1000) -> tuple[list[Frame], int]:
    """Lose one segment: the middle one of those from port ``sport`` with more than ``min_payload`` payload
    bytes. Returns the frames without it and its payload length."""
    candidates = [i for i, (_, f) in enumerate(frames)
                  if tcp_payload_length(f) > min_payload and (tcp := _tcp(f)) is not None and tcp.sport == sport]
    victim = candidates[len(candidates) // 2]
    return [p for i, p in enumerate(frames) if i != victim], tcp_payload_length(frames[victim][1])
