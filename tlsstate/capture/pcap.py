"""Capture files → TCP segments: pcap / pcapng (incl. gzip and Decryption Secrets Blocks), link layers, IPv4/IPv6.

Choice of reader: packet decoding (Ethernet, Linux cooked SLL/SLL2, BSD loopback, raw IP, IPv4, IPv6, TCP) uses
dpkt — small, pure Python, long maintained, already a dependency — so no header parsing is ours. The *file*
framing is walked here because dpkt's readers do not do what decryption needs: ``dpkt.pcap.Reader`` silently
yields a short last packet from a truncated file, and ``dpkt.pcapng.Reader`` ignores Decryption Secrets Blocks
(pcapng §4.7, type 0x0000000A, secrets type 0x544c534b = TLS key log), keeps the link type of the first
interface only and stops at a second Section Header Block. Both framings are a few fixed headers
(pcap: https://www.tcpdump.org/manpages/pcap-savefile.5.html; pcapng: draft-ietf-opsawg-pcapng), and
errors here are reported as :class:`CaptureError` with the byte offset while every packet before it is kept.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import dpkt

from tlsstate.capture.frames import VIEW_FROM, fast_segment_fields
from tlsstate.wire.errors import CaptureError, CaptureReadFailed

__all__ = ["CaptureError", "CaptureReader", "Segment", "open_capture"]

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER = 0x1A2B3C4D
BLOCK_IDB, BLOCK_PB, BLOCK_SPB, BLOCK_EPB, BLOCK_DSB = 0x1, 0x2, 0x3, 0x6, 0xA
DSB_TLS_KEY_LOG = 0x544C534B

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LOOP = 0, 1, 101, 108
LINKTYPE_LINUX_SLL, LINKTYPE_IPV4, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL2 = 113, 228, 229, 276
LINKTYPE_RAW_OLD = (12, 14)  # OpenBSD / other values of DLT_RAW
SUPPORTED_LINKTYPES = {
    LINKTYPE_NULL: "BSD loopback", LINKTYPE_ETHERNET: "Ethernet", LINKTYPE_RAW: "raw IP", LINKTYPE_LOOP: "OpenBSD loopback",
    LINKTYPE_LINUX_SLL: "Linux cooked (SLL)", LINKTYPE_LINUX_SLL2: "Linux cooked (SLL2)", LINKTYPE_IPV4: "raw IPv4",
    LINKTYPE_IPV6: "raw IPv6", 12: "raw IP", 14: "raw IP",
}
SHB_BYTES = struct.pack("<I", PCAPNG_SHB)
# refuse absurd lengths instead of allocating them: a pcapng block (a key log DSB can be large) and a packet
# (libpcap's largest snapshot length is 262144 bytes)
MAX_BLOCK = 16 * 1024 * 1024
MAX_PACKET = 1024 * 1024
READ_BUFFER = 1 << 20


@dataclass(slots=True)
class Segment:
    """One TCP segment: addresses as text, ports, 32-bit seq, flags, payload, capture index (1-based frame number)
    and time, the 32-bit acknowledgment number (meaningful when ACK is set) and the window field (unscaled)."""

    index: int
    time: float
    src: str
    sport: int
    dst: str
    dport: int
    seq: int
    flags: int
    payload: bytes | memoryview  # a view into the packet read from the file
    ack: int = 0
    window: int = 65535


def _ip_text(packed: bytes) -> str:
    text: str = dpkt.utils.inet_to_str(packed)
    return text


class _Stream(Protocol):
    """What the reader needs of a file: sequential reads (a file, a GzipFile, a BytesIO)."""

    def read(self, size: int = -1, /) -> bytes: ...
    def tell(self) -> int: ...
    def close(self) -> None: ...


class CaptureReader:
    """Iterates the TCP segments of a capture; collects key log text from DSBs and problems as warnings.

    The capture is read sequentially from ``stream`` (a plain file, or a :class:`gzip.GzipFile` decompressing
    as it goes), one packet at a time, so memory does not grow with the capture size. ``segments()`` yields
    :class:`Segment`. After iteration: ``keylog_text`` (all DSB TLS key logs), ``warnings`` (unknown link
    types, undecodable packets), ``error`` (truncation/corruption: where reading stopped), ``packets`` (count
    read). ``position`` is the (decompressed) byte offset reached, ``size`` / ``progress`` the file size and
    how much of the file has been consumed (compressed bytes for a gzip file), for progress bars.
    """

    def __init__(self, stream: _Stream, name: str = "capture", size: int | None = None,
                 raw: _Stream | None = None) -> None:
        self.name = name
        self.stream = stream
        self._raw = raw if raw is not None else stream
        self.keylog_text: list[str] = []
        self.warnings: list[str] = []
        self.error: str | None = None
        self.packets = 0
        self.size = size if size is not None else 0
        self.position = 0
        self._unknown_links: set[int] = set()

    @classmethod
    def from_bytes(cls, data: bytes, name: str = "capture") -> CaptureReader:
        """A reader over capture bytes already in memory."""
        return cls(io.BytesIO(data), name, len(data))

    @property
    def progress(self) -> int:
        """Bytes of the file consumed so far (for a progress bar against ``size``)."""
        try:
            return min(self._raw.tell(), self.size) if self.size else self.position
        except (OSError, ValueError):
            return self.position

    def close(self) -> None:
        """Close the stream (and the file under a gzip stream)."""
        self.stream.close()
        if self._raw is not self.stream:
            self._raw.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer only at the end of the data); decompression errors become CaptureReadFailed."""
        try:
            data = self.stream.read(n)
        except EOFError:
            raise CaptureReadFailed(f"{self.name}: truncated gzip data after byte {self.position}") from None
        except (OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError; bad deflate data is zlib.error
            raise CaptureReadFailed(f"{self.name}: corrupt gzip data after byte {self.position} ({exc})") from None
        return data

    # ----------------------------------------------------------------- file framing
    def frames(self) -> Iterator[tuple[int, float, bytes]]:
        """(linktype, time, frame bytes) for every packet; sets ``error`` on damage and stops."""
        try:
            head = self._read(4)
            if len(head) < 4:
                self.error = f"{self.name}: not a capture file (only {len(head)} bytes)"
                return
            magic_le = struct.unpack("<I", head)[0]
            if magic_le == PCAPNG_SHB:
                yield from self._pcapng(head)
            elif {magic_le, struct.unpack(">I", head)[0]} & {PCAP_MAGIC_US, PCAP_MAGIC_NS}:
                yield from self._pcap(head)
            else:
                self.error = f"{self.name}: not a pcap or pcapng file (magic 0x{magic_le:08x})"
        except CaptureReadFailed as exc:
            self.error = str(exc)

    def _pcap(self, magic: bytes) -> Iterator[tuple[int, float, bytes]]:
        header = magic + self._read(20)
        if len(header) < 24:
            self.error = f"{self.name}: truncated pcap file header"
            return
        endian = "<" if struct.unpack_from("<I", header)[0] in (PCAP_MAGIC_US, PCAP_MAGIC_NS) else ">"
        magic_value, _maj, _min, _tz, _sig, _snap, linktype = struct.unpack(endian + "IHHiIII", header)
        divisor = 1e9 if magic_value == PCAP_MAGIC_NS else 1e6
        linktype &= 0xFFFF  # the LinkType is the low 16 bits; FCS length and reserved bits above (draft-ietf-opsawg-pcap §4)
        record = struct.Struct(endian + "IIII")
        read = self._read
        pos = 24
        while True:
            self.position = pos
            head = read(16)
            if not head:
                return
            if len(head) < 16:
                self.error = f"{self.name}: truncated packet header at byte {pos}"
                return
            sec, frac, caplen, _orig = record.unpack(head)
            if caplen > MAX_PACKET:
                self.error = f"{self.name}: corrupt packet length {caplen} at byte {pos}"
                return
            frame = read(caplen)
            if len(frame) < caplen:
                self.error = f"{self.name}: truncated packet at byte {pos} ({len(frame)} of {caplen} bytes)"
                return
            pos += 16 + caplen
            self.position = pos
            yield linktype, sec + frac / divisor, frame

    def _pcapng(self, first: bytes) -> Iterator[tuple[int, float, bytes]]:
        read = self._read
        pos = 0
        endian = "<"
        interfaces: list[tuple[int, float]] = []  # (linktype, ticks per second)
        head = first + read(8)
        while head:
            self.position = pos
            if len(head) < 12:
                self.error = f"{self.name}: truncated pcapng block at byte {pos}"
                return
            if head[:4] == SHB_BYTES:  # the section header's type reads the same in both byte orders
                if struct.unpack_from("<I", head, 8)[0] == PCAPNG_BYTE_ORDER:
                    endian = "<"
                elif struct.unpack_from(">I", head, 8)[0] == PCAPNG_BYTE_ORDER:
                    endian = ">"
                else:
                    self.error = f"{self.name}: bad pcapng byte-order magic at byte {pos}"
                    return
                interfaces = []
            block_type, block_len = struct.unpack_from(endian + "II", head)
            if block_len < 12 or block_len % 4 or block_len > MAX_BLOCK:
                self.error = f"{self.name}: corrupt pcapng block length {block_len} at byte {pos}"
                return
            rest = read(block_len - 12)
            if len(rest) < block_len - 12:
                self.error = f"{self.name}: truncated pcapng block (type 0x{block_type:x}) at byte {pos}"
                return
            block_at = pos
            pos += block_len
            self.position = pos
            if block_type == BLOCK_EPB:  # the common block, read without joining head and rest: the body (between
                # the length and the trailing length copy) is head[8:12] (interface id) + rest[:-4], as long as rest
                if len(rest) >= 20:
                    if_id = struct.unpack_from(endian + "I", head, 8)[0]
                    ts_hi, ts_lo, caplen, _orig = struct.unpack_from(endian + "IIII", rest)
                    if if_id >= len(interfaces) or 20 + caplen > len(rest):
                        self.warnings.append(f"{self.name}: malformed packet block at byte {block_at}")
                    else:
                        linktype, ticks = interfaces[if_id]
                        yield linktype, ((ts_hi << 32) | ts_lo) / ticks, rest[16 : 16 + caplen]
                head = read(12)
                continue
            body = memoryview(head[8:] + rest)[:-4]  # between the length and the trailing length copy
            if block_type == BLOCK_IDB and len(body) >= 8:
                linktype = struct.unpack_from(endian + "H", body)[0]
                interfaces.append((linktype, _if_tsresol(bytes(body[8:]), endian)))
            elif block_type == BLOCK_PB and len(body) >= 20:
                if_id, _drops, ts_hi, ts_lo, caplen = struct.unpack_from(endian + "HHIII", body)
                if if_id < len(interfaces) and 24 + caplen <= len(body) + 4:
                    linktype, ticks = interfaces[if_id]
                    yield linktype, ((ts_hi << 32) | ts_lo) / ticks, bytes(body[20 : 20 + caplen])
            elif block_type == BLOCK_SPB and len(body) >= 4 and interfaces:
                original = struct.unpack_from(endian + "I", body)[0]
                yield interfaces[0][0], 0.0, bytes(body[4 : 4 + min(original, len(body) - 4)])
            elif block_type == BLOCK_DSB and len(body) >= 8:
                secrets_type, secrets_len = struct.unpack_from(endian + "II", body)
                if secrets_type == DSB_TLS_KEY_LOG:
                    self.keylog_text.append(bytes(body[8 : 8 + secrets_len]).decode("utf-8", errors="replace"))
            head = read(12)

    # ----------------------------------------------------------------- packets
    def segments(self, fast: bool = True) -> Iterator[Segment]:
        """Every TCP segment of the capture, in file order. The common frame layouts are decoded by
        :func:`~tlsstate.capture.frames.fast_segment_fields`, every other frame by dpkt (``fast=False``: all by dpkt;
        the results are the same)."""
        index = 0
        for linktype, ts, frame in self.frames():
            index += 1
            self.packets = index
            fields = fast_segment_fields(linktype, frame) if fast else None
            if fields is not None:
                yield Segment(index, ts, *fields)
                continue
            try:
                try:
                    # dpkt slices each layer out of its parent: over a memoryview the slices are views, so the TCP
                    # payload reaches reassembly without copies (a 64 KiB segment was copied three times)
                    ip = self._network_layer(linktype, memoryview(frame) if len(frame) > VIEW_FROM else frame)
                except (AttributeError, TypeError):  # a rarer dpkt path that needs bytes methods (e.g. 802.3)
                    ip = self._network_layer(linktype, frame)
            except (dpkt.UnpackError, struct.error, ValueError, IndexError):
                continue
            if ip is None:
                continue
            tcp = ip.data
            if not isinstance(tcp, dpkt.tcp.TCP):
                continue
            if isinstance(ip, dpkt.ip.IP) and (ip.mf or ip.offset):  # IP fragments are not reassembled
                continue
            payload = tcp.data if isinstance(tcp.data, bytes | memoryview) else bytes(tcp.data)
            yield Segment(index, ts, _ip_text(ip.src), tcp.sport, _ip_text(ip.dst), tcp.dport, tcp.seq, tcp.flags, payload,
                          tcp.ack, tcp.win)

    def _network_layer(self, linktype: int, frame: bytes | memoryview) -> dpkt.ip.IP | dpkt.ip6.IP6 | None:
        if linktype == LINKTYPE_ETHERNET:
            layer = dpkt.ethernet.Ethernet(frame).data
        elif linktype == LINKTYPE_LINUX_SLL:
            layer = dpkt.sll.SLL(frame).data
        elif linktype == LINKTYPE_LINUX_SLL2:
            layer = dpkt.sll2.SLL2(frame).data
        elif linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
            layer = _ip_by_version(frame[4:])
        elif linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6, *LINKTYPE_RAW_OLD):
            layer = _ip_by_version(frame)
        else:
            if linktype not in self._unknown_links:
                self._unknown_links.add(linktype)
                self.warnings.append(f"{self.name}: unsupported link type {linktype}; its packets are skipped")
            return None
        if isinstance(layer, dpkt.ip.IP | dpkt.ip6.IP6):
            return layer
        return None


def _ip_by_version(data: bytes | memoryview) -> dpkt.ip.IP | dpkt.ip6.IP6 | None:
    if not data:
        return None
    version = data[0] >> 4
    if version == 4:
        return dpkt.ip.IP(data)
    if version == 6:
        return dpkt.ip6.IP6(data)
    return None


def _if_tsresol(options: bytes, endian: str) -> float:
    """Ticks per second from the if_tsresol option (pcapng §4.2), default 10^6."""
    pos = 0
    while pos + 4 <= len(options):
        code, length = struct.unpack_from(endian + "HH", options, pos)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = options[pos + 4]
            return float(2 ** (value & 0x7F) if value & 0x80 else 10 ** value)
        pos += 4 + ((length + 3) & ~3)
    return 1e6


def open_capture(path: str | Path) -> CaptureReader:
    """Open a capture file (gzip-compressed ones too) as a :class:`CaptureReader`; close it when done.

    Both kinds are read sequentially, a packet at a time — a gzip file is decompressed as it is read, never
    whole — so the resident memory of decryption is bounded by the TCP windows and records in flight (and
    one block of at most ``MAX_BLOCK`` bytes), not by the capture size. Corrupt or truncated gzip data ends
    reading with ``error`` set (a :class:`CaptureError` when nothing was readable). An OSError opening the
    file propagates for the caller to report.
    """
    path = Path(path)
    handle = io.BufferedReader(io.FileIO(path, "rb"), READ_BUFFER)
    try:
        size = os.fstat(handle.fileno()).st_size
        if handle.peek(2)[:2] == b"\x1f\x8b":
            return CaptureReader(gzip.GzipFile(fileobj=handle, mode="rb"), str(path), size, raw=handle)
        return CaptureReader(handle, str(path), size)
    except BaseException:
        handle.close()
        raise
