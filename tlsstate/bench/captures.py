"""Generated captures of real TLS (CPython ``ssl``, i.e. OpenSSL) for the page benchmark and the page tests.

Client and server are joined by memory BIOs (no sockets, no capture privileges) with ``keylog_filename`` set;
every byte each side writes is framed as Ethernet/IPv4/TCP by :class:`tlsstate.capture.writer.TcpCaptureWriter`,
one TCP connection per TLS connection (client port 50000 + n), all in one pcap file. The client sends
``records`` records of ``payload`` (one ``SSLObject.write`` per record) and the server answers each batch with
``reply``. The server name (SNI) and the payloads are the caller's: hostile ones too.
"""

from __future__ import annotations

import contextlib
import io
import ssl
from dataclasses import dataclass
from pathlib import Path

from tlsstate.bench.decrypt import _self_signed
from tlsstate.capture.writer import CLIENT, SERVER, TcpCaptureWriter

__all__ = ["GeneratedCapture", "ssl_capture"]

BATCH = 1000  # client records between two pumps


@dataclass
class GeneratedCapture:
    """The files made and what they hold."""

    capture: Path
    keylog: Path
    connections: int
    client_records: int  # application data records the client sent, over all connections


class _Pair:
    """A client and a server SSLObject joined by memory BIOs; ``flush`` moves bytes and writes them to TCP."""

    def __init__(self, client_ctx: ssl.SSLContext, server_ctx: ssl.SSLContext, server_hostname: str) -> None:
        self.bios = [ssl.MemoryBIO() for _ in range(4)]
        c_in, c_out, s_in, s_out = self.bios
        self.client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
        self.server = server_ctx.wrap_bio(s_in, s_out, server_side=True)

    def flush(self, tcp: TcpCaptureWriter) -> None:
        c_in, c_out, s_in, s_out = self.bios
        for from_client, src, dst in ((True, c_out, s_in), (False, s_out, c_in)):
            data = src.read()
            if data:
                tcp.send(from_client, data)
                dst.write(data)

    def handshake(self, tcp: TcpCaptureWriter) -> None:
        for _ in range(20):
            for side in (self.client, self.server):
                with contextlib.suppress(ssl.SSLWantReadError):
                    side.do_handshake()
            self.flush(tcp)
            if self.client.version() and self.server.version():
                break
        self.flush(tcp)

    def drain(self, side: ssl.SSLObject) -> None:
        with contextlib.suppress(ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            while side.read(1 << 20):
                pass


def _contexts(directory: Path, keylog: Path, tls13: bool) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    cert, key = _self_signed(directory)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.num_tickets = 0  # no NewSessionTicket records: the record counts are exactly what was written
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    version = ssl.TLSVersion.TLSv1_3 if tls13 else ssl.TLSVersion.TLSv1_2
    for ctx in (server_ctx, client_ctx):
        ctx.minimum_version = ctx.maximum_version = version
        if not tls13:
            ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
    client_ctx.keylog_filename = str(keylog)
    return client_ctx, server_ctx


def ssl_capture(directory: Path, *, connections: int = 1, records: int = 4, payload: bytes = b"GET / HTTP/1.0\r\n\r\n",
                reply: bytes = b"HTTP/1.0 200 OK\r\n\r\nhello", server_hostname: str = "bench.local",
                tls13: bool = False) -> GeneratedCapture:
    """Write ``capture.pcap`` and ``keys.log`` into ``directory`` (see the module docstring)."""
    keylog = directory / "keys.log"
    client_ctx, server_ctx = _contexts(directory, keylog, tls13)
    path = directory / "capture.pcap"
    with path.open("wb") as out:
        first = TcpCaptureWriter(out)  # writes the pcap file header; later connections share its frame writer
        for number in range(connections):
            tcp = first if number == 0 else TcpCaptureWriter(io.BytesIO(), client=(CLIENT[0], CLIENT[1] + number % 15000),
                                                                server=SERVER)
            if number:
                tcp.frames, tcp.packets = first.frames, first.packets
            with tcp:
                pair = _Pair(client_ctx, server_ctx, server_hostname)
                pair.handshake(tcp)
                for start in range(0, records, BATCH):
                    for _ in range(min(BATCH, records - start)):
                        pair.client.write(payload)
                    pair.flush(tcp)
                    pair.drain(pair.server)
                    pair.server.write(reply)
                    pair.flush(tcp)
                    pair.drain(pair.client)
            first.packets = tcp.packets
    return GeneratedCapture(path, keylog, connections, connections * records)
