"""The common frame layouts decoded with ``struct``: Ethernet II / raw IP / BSD loopback, IPv4 or IPv6, TCP.

Decoding a frame through dpkt builds three objects (link, IP, TCP) and sets every header field as an attribute;
with 1448-byte segments that was half of a capture's decryption time. :func:`fast_segment_fields` reads only the
fields a :class:`~tlsstate.capture.pcap.Segment` carries straight from the frame, for the layouts nearly every
capture has:

* link: Ethernet II with EtherType 0x0800 / 0x86DD (no 802.1Q tag), raw IP (by the version nibble), BSD / OpenBSD
  loopback (a 4-byte family word, then IP by the version nibble);
* IPv4 (RFC 791 §3.1) with any header length ≥ 20, not a fragment, protocol 6; IPv6 (RFC 8200 §3) whose next
  header is TCP (no extension header);
* TCP (RFC 9293 §3.1) with any data offset ≥ 5 (options, e.g. timestamps, are skipped).

Anything else — VLAN tags, SLL, IPv6 extension headers, fragments, headers that do not fit, a data offset below 5
— returns None and the caller decodes the frame with dpkt, the general path. On the frames it accepts the fast path
gives exactly what dpkt gives (``tests/unit/capture/test_capture_frames.py`` compares the two on every shared capture
and on mutated frames): the IP payload ends at the IPv4 total length / IPv6 payload length when it is non-zero (the
rest is link padding) and at the frame's end when it is zero (TCP segmentation offload), and a TCP data offset past
the end leaves an empty payload, as dpkt's slicing does.
"""

from __future__ import annotations

import socket
import struct

__all__ = ["VIEW_FROM", "fast_segment_fields", "ip_text"]

_ETHERNET_TYPE = struct.Struct(">H")
_IPV4 = struct.Struct(">BxHxxHxB")  # version/IHL, total length, flags/fragment offset, protocol
_IPV6 = struct.Struct(">4xHB")  # payload length, next header
_TCP = struct.Struct(">HHIIHH")  # ports, seq, ack, data offset/flags, window
ETHERTYPE_IPV4, ETHERTYPE_IPV6 = 0x0800, 0x86DD
TCP = 6
ETHERNET, RAW_IP, NULL, LOOP = 1, (101, 228, 229, 12, 14), 0, 108
VIEW_FROM = 4096  # payloads of larger frames are memoryviews into the frame (copies cost more than a view's overhead)

_texts: dict[bytes, str] = {}
TEXTS_KEPT = 4096  # addresses remembered as text (a capture of many hosts only makes the cache restart)

Fields = tuple[str, int, str, int, int, int, bytes | memoryview, int, int]


def ip_text(packed: bytes) -> str:
    """An IPv4 (4 bytes) or IPv6 (16 bytes) address as text, as ``dpkt.utils.inet_to_str`` writes it."""
    text = _texts.get(packed)
    if text is None:
        text = socket.inet_ntop(socket.AF_INET if len(packed) == 4 else socket.AF_INET6, packed)
        if len(_texts) >= TEXTS_KEPT:
            _texts.clear()
        _texts[packed] = text
    return text


def fast_segment_fields(linktype: int, frame: bytes) -> Fields | None:
    """(src, sport, dst, dport, seq, flags, payload, ack, window) of a TCP segment in one of the common layouts, or
    None when the frame must go to dpkt (any other layout, or one the fast path does not decode byte for byte)."""
    size = len(frame)
    if linktype == ETHERNET:
        if size < 34:
            return None
        ethertype = _ETHERNET_TYPE.unpack_from(frame, 12)[0]
        base = 14
        if ethertype == ETHERTYPE_IPV4:
            if frame[14] >> 4 != 4:  # dpkt decodes it as IPv4 whatever the nibble says; leave that to dpkt
                return None
        elif ethertype != ETHERTYPE_IPV6 or frame[14] >> 4 != 6:
            return None
    elif linktype in RAW_IP:
        base = 0
    elif linktype in (NULL, LOOP):
        base = 4
    else:
        return None
    if size < base + 20:
        return None
    version = frame[base] >> 4
    if version == 4:
        version_ihl, total, fragment, protocol = _IPV4.unpack_from(frame, base)
        header = (version_ihl & 0x0F) << 2
        if header < 20 or fragment & 0x3FFF or protocol != TCP:  # a fragment (MF or an offset) or not TCP
            return None
        end = min(base + total, size) if total else size
        src, dst = frame[base + 12 : base + 16], frame[base + 16 : base + 20]
    elif version == 6:
        if size < base + 40:
            return None
        length, next_header = _IPV6.unpack_from(frame, base)
        if next_header != TCP:
            return None
        header = 40
        end = min(base + 40 + length, size) if length else size
        src, dst = frame[base + 8 : base + 24], frame[base + 24 : base + 40]
    else:
        return None
    start = base + header
    if end - start < 20:
        return None
    sport, dport, seq, ack, offset_flags, window = _TCP.unpack_from(frame, start)
    offset = (offset_flags >> 12) << 2
    if offset < 20:
        return None
    first = start + offset
    payload = memoryview(frame)[first:end] if size > VIEW_FROM else frame[first:end]
    return (ip_text(bytes(src)), sport, ip_text(bytes(dst)), dport, seq, offset_flags & 0x1FF, payload, ack, window)
