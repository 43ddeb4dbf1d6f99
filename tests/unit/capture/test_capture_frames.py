"""The struct fast path for common frame layouts (capture/frames.py) against dpkt, the general path: on every shared
capture and on frames mutated at random and by hand, every segment the fast path decodes is the one dpkt decodes
(the same fields, the same payload bytes), and a frame it declines is decoded by dpkt as before."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest

from tlsstate.capture.frames import fast_segment_fields
from tlsstate.capture.pcap import Segment, open_capture
from tlsstate.capture.writer import read_frames, write_frames

CAPTURES = "wireshark-test-suite/captures"


def _fields(segment: Segment) -> tuple[object, ...]:
    return (segment.index, segment.time, segment.src, segment.sport, segment.dst, segment.dport, segment.seq,
            segment.flags, bytes(segment.payload), segment.ack, segment.window)


def _both_paths(path: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
    """The segments of ``path`` read with the fast path and with dpkt only, and how many the fast path decoded."""
    with open_capture(path) as reader:
        fast = [_fields(s) for s in reader.segments()]
    with open_capture(path) as reader:
        slow = [_fields(s) for s in reader.segments(fast=False)]
    linktype, frames = read_frames(path) if path.suffix == ".pcap" else (None, [])
    decoded = sum(1 for _ts, frame in frames if fast_segment_fields(linktype or 0, frame) is not None)
    return fast, slow, decoded


@pytest.mark.parametrize("name", ["rsasnakeoil2.pcap", "tls-renegotiation.pcap", "tls12-aes128ccm.pcap",
                                  "tls12-aes256gcm.pcap", "tls12-chacha20poly1305.pcap",
                                  "tls13-20-chacha20poly1305.pcap", "rsa-p-lt-q.pcap", "dmgr.pcapng",
                                  "dhe1.pcapng.gz"])
def test_shared_captures_decode_the_same(vectors: Path, name: str) -> None:
    fast, slow, decoded = _both_paths(vectors / CAPTURES / name)
    assert fast == slow
    assert fast, "no TCP segment read"
    if name.endswith(".pcap"):
        assert decoded == len(fast)  # plain Ethernet/IPv4/TCP: the fast path decodes every frame


def _ipv4_frame(payload: bytes, *, ihl: int = 5, total: int | None = None, fragment: int = 0, protocol: int = 6,
                data_offset: int = 5, version: int = 4, flags: int = 0x18) -> bytes:
    options = bytes(4 * (data_offset - 5)) if data_offset >= 5 else b""
    tcp = struct.pack(">HHIIHHHH", 443, 50000, 0x01020304, 0x0A0B0C0D, (data_offset << 12) | flags, 512, 0, 0)
    tcp += options + payload
    ip_options = bytes(4 * (ihl - 5)) if ihl > 5 else b""
    length = 20 + len(ip_options) + len(tcp) if total is None else total
    ip = struct.pack(">BBHHHBBH4s4s", (version << 4) | ihl, 0, length, 1, fragment, 64, protocol, 0,
                     bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2))) + ip_options
    return ip + tcp


def _ethernet(ip: bytes, ethertype: int = 0x0800) -> bytes:
    return bytes(6) + bytes((2, 0, 0, 0, 0, 1)) + struct.pack(">H", ethertype) + ip


def _ipv6_packet(payload: bytes, *, plen: int | None = None, next_header: int = 6) -> bytes:
    tcp = struct.pack(">HHIIHHHH", 443, 50000, 7, 9, (8 << 12) | 0x10, 100, 0, 0) + bytes(12) + payload
    header = struct.pack(">IHBB", 6 << 28, len(tcp) if plen is None else plen, next_header, 64)
    return header + bytes(15) + b"\x01" + bytes(15) + b"\x02" + tcp


HAND_MADE = {
    "plain": _ethernet(_ipv4_frame(b"hello")),
    "ip options": _ethernet(_ipv4_frame(b"hello", ihl=7)),
    "tcp timestamps": _ethernet(_ipv4_frame(b"hello", data_offset=8)),
    "tso total length 0": _ethernet(_ipv4_frame(b"hello", total=0)),
    "link padding": _ethernet(_ipv4_frame(b"")) + bytes(6),
    "total length short of the tcp header": _ethernet(_ipv4_frame(b"hello", total=30)),
    "total length inside the payload": _ethernet(_ipv4_frame(b"hello world", total=45)),
    "total length beyond the frame": _ethernet(_ipv4_frame(b"hello", total=1500)),
    "data offset past the end": _ethernet(_ipv4_frame(b"", data_offset=15))[:54],
    "data offset below 5": _ethernet(_ipv4_frame(b"hello", data_offset=3)),
    "ihl below 5": _ethernet(_ipv4_frame(b"hello", ihl=4)),
    "more fragments": _ethernet(_ipv4_frame(b"hello", fragment=0x2000)),
    "fragment offset": _ethernet(_ipv4_frame(b"hello", fragment=0x0010)),
    "don't fragment": _ethernet(_ipv4_frame(b"hello", fragment=0x4000)),
    "udp": _ethernet(_ipv4_frame(b"hello", protocol=17)),
    "version 6 nibble under ethertype ipv4": _ethernet(_ipv4_frame(b"hello", version=6)),
    "ipv6": _ethernet(_ipv6_packet(b"hello"), 0x86DD),
    "ipv6 payload length 0": _ethernet(_ipv6_packet(b"hello", plen=0), 0x86DD),
    "ipv6 payload length short": _ethernet(_ipv6_packet(b"hello", plen=22), 0x86DD),
    "ipv6 hop-by-hop header": _ethernet(_ipv6_packet(b"hello", next_header=0), 0x86DD),
    "vlan tag": bytes(12) + b"\x81\x00\x00\x05" + b"\x08\x00" + _ipv4_frame(b"hello"),
    "802.3 length": _ethernet(_ipv4_frame(b"hello"), 0x0040),
    "all flags": _ethernet(_ipv4_frame(b"hello", flags=0x1FF)),
    "big frame": _ethernet(_ipv4_frame(bytes(range(256)) * 20)),
    "truncated ip header": _ethernet(_ipv4_frame(b""))[:30],
    "truncated tcp header": _ethernet(_ipv4_frame(b""))[:40],
}


@pytest.mark.parametrize("linktype", [1, 101, 0])
def test_hand_made_frames(tmp_path: Path, linktype: int) -> None:
    frames = []
    for frame in HAND_MADE.values():
        if linktype == 1:
            frames.append(frame)
        elif frame[12:14] in (b"\x08\x00", b"\x86\xdd"):  # the IP packet alone, or after the loopback family word
            frames.append(frame[14:] if linktype == 101 else b"\x02\x00\x00\x00" + frame[14:])
    path = tmp_path / "hand.pcap"
    write_frames(path, [(float(i), f) for i, f in enumerate(frames)], linktype)
    fast, slow, decoded = _both_paths(path)
    assert fast == slow
    assert decoded >= 10  # the common layouts among them took the fast path
    assert len(fast) >= decoded


def test_mutated_frames(vectors: Path, tmp_path: Path) -> None:
    """Frames of a shared capture with header bytes overwritten, cut short or grown: the two paths agree."""
    _linktype, frames = read_frames(vectors / CAPTURES / "tls12-chacha20poly1305.pcap")
    rng = random.Random(13)
    for linktype, strip in ((1, 0), (101, 14)):
        mutated = []
        for _ in range(4000):
            frame = bytearray(rng.choice(frames)[1][strip:])
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(min(len(frame), 80 - strip))
                frame[at] = rng.choice((0, 1, 5, 6, 0x40, 0x45, 0x60, 0x86, 0xDD, 0xFF, rng.randrange(256)))
            if rng.random() < 0.3:
                frame = frame[: rng.randrange(len(frame) + 1)]
            if rng.random() < 0.1:
                frame += bytes(rng.randrange(64))
            mutated.append((0.0, bytes(frame)))
        path = tmp_path / f"mutated-{linktype}.pcap"
        write_frames(path, mutated, linktype)
        fast, slow, decoded = _both_paths(path)
        assert fast == slow
        assert decoded > 1000
