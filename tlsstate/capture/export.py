"""Captures for other tools, written from a decryption: ``decrypt --write-pcap`` and ``decrypt --inject-secrets``.

* :class:`PlaintextCapture` (``--write-pcap FILE``): the decrypted application data as a plaintext pcap, so
  Wireshark, Zeek or Suricata read the protocol inside. One TCP connection per TLS connection, between the same
  addresses and ports: a three-way handshake at its first data (RFC 9293 §3.5), each decrypted chunk as PSH|ACK
  segments stamped with the capture time of the packet that completed its record, then a FIN each way when the
  connection is done. Ethernet II frames over IPv4 (RFC 791) or IPv6 (RFC 8200); dpkt builds the headers and
  computes the IPv4 header and TCP checksums (RFC 1071, RFC 9293 §3.1), so none of that packing is ours.
* :func:`inject_secrets` (``--inject-secrets FILE``): the original capture's packets, unchanged, as pcapng
  (draft-ietf-opsawg-pcapng: §4.1 SHB, §4.2 one IDB per link type, §4.3 EPBs with microsecond timestamps) with a
  Decryption Secrets Block (§4.7, secrets type 0x544c534b: TLS key log) right after the section header holding
  exactly the key log lines the capture's TLS connections use (:func:`used_keylog_lines`), what ``editcap
  --inject-secrets`` does minus the unrelated lines.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import dpkt

from tlsstate.capture.decrypt import ConnectionResult
from tlsstate.capture.pcap import (
    BLOCK_DSB,
    BLOCK_EPB,
    BLOCK_IDB,
    DSB_TLS_KEY_LOG,
    PCAPNG_BYTE_ORDER,
    PCAPNG_SHB,
    open_capture,
)
from tlsstate.capture.tcp import TcpConnection
from tlsstate.capture.writer import SNAPLEN, FrameWriter
from tlsstate.wire.errors import CaptureWriteFailed
from tlsstate.wire.keylog import KeyLog

__all__ = ["PlaintextCapture", "inject_secrets", "used_keylog_lines"]

MSS = 65000  # payload bytes per written segment (IPv4 total length is 16 bits)
CLIENT_ISN, SERVER_ISN = 1000, 5000000
TH_FIN, TH_SYN, TH_PSH, TH_ACK = 0x01, 0x02, 0x08, 0x10
CLIENT_MAC, SERVER_MAC = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"
PCAP_SECONDS_LIMIT = 1 << 32  # a pcap record header's ts_sec is a 32-bit count of seconds
PCAPNG_TICKS_LIMIT = 1 << 64  # an EPB's timestamp is 64 bits of (here) microseconds (pcapng §4.3)
TLS13_USED = ("CLIENT_EARLY_TRAFFIC_SECRET", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
              "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0")


def _microseconds(time: float, limit_us: int, what: str) -> int:
    """``time`` (seconds since the epoch, as read from the capture) in whole microseconds, or CaptureWriteFailed when
    the output's timestamp cannot hold it (a hostile pcapng may claim 2^64 ticks of a second each, if_tsresol 0)."""
    microseconds = round(time * 1_000_000)
    if not 0 <= microseconds < limit_us:
        raise CaptureWriteFailed(f"a packet time of {time:.6g} s since 1970 is outside what {what} can hold")
    return microseconds


class _Stream:
    """One TCP connection to write: its endpoints, whether its handshake is written, the next sequence numbers."""

    def __init__(self, client: tuple[str, int], server: tuple[str, int]) -> None:
        self.client, self.server = client, server
        self.ipv6 = ipaddress.ip_address(client[0]).version == 6
        self.seq = {True: CLIENT_ISN, False: SERVER_ISN}
        self.opened = False


class PlaintextCapture:
    """``--write-pcap``: plaintext sinks per (TCP connection, writer) that write TCP segments to a pcap file.

    :meth:`clock` is told the capture time of each packet as it is read, :meth:`sink` gives the decryption its
    plaintext sinks, :meth:`done` closes a connection with FINs, :meth:`close` closes the rest and the file."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.frames = FrameWriter(out, "pcap")
        self.time = 0.0
        self.packets = 0
        self.failed = False  # a segment could not be written: close() then writes no more
        self._streams: dict[int, _Stream] = {}  # TCP connections not yet handed out

    def clock(self, time: float) -> None:
        """The capture time of the packet being read."""
        self.time = time

    def started(self, conn: TcpConnection) -> None:
        """A TCP connection is first seen: its endpoints (the TCP layer's client opens the written connection;
        data keeps the direction it had on the wire)."""
        self._streams[conn.number] = _Stream(conn.client, conn.server)

    def sink(self, number: int, writer: str) -> Callable[[bytes], None]:
        """Where the plaintext ``writer`` sends on TCP connection ``number`` goes."""
        from_client = writer == "client"

        stream = self._streams[number]

        def write(data: bytes) -> None:
            self._open(stream)
            for start in range(0, len(data), MSS):
                self._segment(stream, from_client, TH_PSH | TH_ACK, data[start : start + MSS])

        return write

    def done(self, tcp: TcpConnection, result: ConnectionResult | None) -> None:
        """A TCP connection is handed out: a TLS connection's stream (opened now if it carried no data) gets a FIN
        each way; one that is not TLS is not written."""
        stream = self._streams.pop(tcp.number, None)
        if stream is None or result is None:
            return
        self._finish(stream)

    def _finish(self, stream: _Stream) -> None:
        self._open(stream)
        self._segment(stream, True, TH_FIN | TH_ACK, b"")
        self._segment(stream, False, TH_FIN | TH_ACK, b"")

    def _open(self, stream: _Stream) -> None:
        if not stream.opened:
            stream.opened = True
            self._segment(stream, True, TH_SYN, b"")
            self._segment(stream, False, TH_SYN | TH_ACK, b"")
            self._segment(stream, True, TH_ACK, b"")

    def _segment(self, stream: _Stream, from_client: bool, flags: int, payload: bytes) -> None:
        src, dst = (stream.client, stream.server) if from_client else (stream.server, stream.client)
        tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=stream.seq[from_client] & 0xFFFFFFFF,
                           ack=(stream.seq[not from_client] & 0xFFFFFFFF) if flags & TH_ACK else 0,
                           flags=flags, win=65535, data=payload)
        src_ip, dst_ip = ipaddress.ip_address(src[0]).packed, ipaddress.ip_address(dst[0]).packed
        ip: dpkt.ip.IP | dpkt.ip6.IP6
        if stream.ipv6:
            ip = dpkt.ip6.IP6(src=src_ip, dst=dst_ip, nxt=dpkt.ip.IP_PROTO_TCP, hlim=64, data=tcp, plen=len(tcp))
            ethertype = dpkt.ethernet.ETH_TYPE_IP6
        else:
            ip = dpkt.ip.IP(src=src_ip, dst=dst_ip, p=dpkt.ip.IP_PROTO_TCP, ttl=64, id=self.packets & 0xFFFF, data=tcp)
            ip.df = 1
            ethertype = dpkt.ethernet.ETH_TYPE_IP
        macs = (SERVER_MAC, CLIENT_MAC) if from_client else (CLIENT_MAC, SERVER_MAC)  # destination first
        frame = dpkt.ethernet.Ethernet(dst=macs[0], src=macs[1], type=ethertype, data=ip)
        try:
            ts = _microseconds(self.time, PCAP_SECONDS_LIMIT * 1_000_000, "a pcap timestamp")
        except CaptureWriteFailed:
            self.failed = True
            raise
        self.frames.write(bytes(frame), ts)
        self.packets += 1
        stream.seq[from_client] += len(payload) + (1 if flags & (TH_SYN | TH_FIN) else 0)

    def close(self) -> None:
        """Close the streams that carried data and were not handed out (FIN each way), flush the file; after a
        CaptureWriteFailed only flush (the FINs would fail the same way)."""
        for stream in self._streams.values():
            if stream.opened and not self.failed:
                self._finish(stream)
        self._streams.clear()
        self.out.flush()


def used_keylog_lines(keylog: KeyLog, connections: Iterable[ConnectionResult]) -> list[str]:
    """The key log lines (NSS format) the connections' handshakes use: per client random its CLIENT_RANDOM /
    PMS_CLIENT_RANDOM line or its TLS 1.3 traffic secrets (later KeyUpdate generations are derived, RFC 8446 §7.2),
    the RSA lines of their encrypted premasters and the RSA Session-ID lines of their sessions; each once, in
    connection order."""
    lines: list[str] = []
    for conn in connections:
        ids = conn.session.key_ids
        for cr in ids.client_randoms:
            for label, value in (("CLIENT_RANDOM", keylog.master_secret(cr)), ("PMS_CLIENT_RANDOM",
                                                                                keylog.premaster_secret(cr))):
                if value is not None:
                    lines.append(f"{label} {cr.hex()} {value.hex()}")
            for label in TLS13_USED:
                secret = keylog.tls13_secret(cr, label)
                if secret is not None:
                    lines.append(f"{label} {cr.hex()} {secret.hex()}")
        for prefix in ids.encrypted_premasters:
            premaster = keylog.rsa_premaster(prefix)
            if premaster is not None:
                lines.append(f"RSA {prefix.hex()} {premaster.hex()}")
        for sid in ids.session_ids:
            master = keylog.session_master(sid)
            if master is not None:
                lines.append(f"RSA Session-ID:{sid.hex()} Master-Key:{master.hex()}")
    return list(dict.fromkeys(lines))


def _block(block_type: int, body: bytes) -> bytes:
    """A pcapng block: type, total length, body padded to 32 bits, total length again (little-endian)."""
    body += b"\0" * (-len(body) % 4)
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def inject_secrets(capture: str | Path, out_path: Path, keylog_lines: list[str]) -> int:
    """Write ``capture``'s packets to ``out_path`` as pcapng with a Decryption Secrets Block of ``keylog_lines``;
    returns the number of packets written. Raises OSError when a file cannot be read or written, CaptureWriteFailed
    for a packet time a pcapng timestamp cannot hold."""
    secrets = "".join(f"{line}\n" for line in keylog_lines).encode("ascii")
    interfaces: dict[int, int] = {}  # link type -> interface id
    packets = 0
    with open_capture(capture) as reader, out_path.open("wb") as out:
        out.write(struct.pack("<IIIHHqI", PCAPNG_SHB, 28, PCAPNG_BYTE_ORDER, 1, 0, -1, 28))
        out.write(_block(BLOCK_DSB, struct.pack("<II", DSB_TLS_KEY_LOG, len(secrets)) + secrets))
        for linktype, time, frame in reader.frames():
            interface = interfaces.get(linktype)
            if interface is None:
                interface = interfaces[linktype] = len(interfaces)
                out.write(_block(BLOCK_IDB, struct.pack("<HHI", linktype, 0, SNAPLEN)))
            ts = _microseconds(time, PCAPNG_TICKS_LIMIT, "a pcapng timestamp in microseconds")
            out.write(_block(BLOCK_EPB, struct.pack("<IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(frame),
                                                     len(frame)) + frame))
            packets += 1
    return packets
