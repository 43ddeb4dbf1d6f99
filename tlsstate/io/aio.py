"""asyncio streams over the sans-I/O :class:`~tlsstate.connection.Connection`.

``open_connection`` / ``start_server`` mirror :func:`asyncio.open_connection` and
:func:`asyncio.start_server`, but the returned :class:`TLSStreamReader` / :class:`TLSStreamWriter`
carry TLS 1.0-1.2 records (RFC 5246 §6) produced by tlsstate. The TCP side is a plain asyncio stream.

Write atomicity: ``TLSStreamWriter.write`` seals *all* records for the data and hands their bytes to
the transport in one synchronous call, so a task cancelled in ``drain`` (or anywhere else) has written
either whole records or none; the record sequence numbers never get ahead of the wire.
Backpressure: ``drain`` waits on the TCP transport's write buffer (asyncio flow control).
Errors are the typed errors of :mod:`tlsstate.wire.errors` (a peer's fatal alert is ``AlertReceived``,
EOF without close_notify is ``ConnectionClosedError(clean=False)``, RFC 5246 §7.2.1).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.events import AlertEvent, ApplicationData, HandshakeComplete
from tlsstate.events import ConnectionClosed as ClosedEvent
from tlsstate.io.sockets import DRAIN_BYTES, DRAIN_SECONDS
from tlsstate.wire.constants import AlertDescription
from tlsstate.wire.errors import ConnectionClosedError, ProtocolError, TLSError

_READ_SIZE = 65536
DEFAULT_HANDSHAKE_TIMEOUT = 30.0

ClientConnectedCallback = Callable[["TLSStreamReader", "TLSStreamWriter"], Awaitable[None] | None]


class _TLSChannel:
    """The shared state of one connection: the Connection plus the raw TCP reader/writer."""

    def __init__(self, connection: Connection, raw_reader: asyncio.StreamReader, raw_writer: asyncio.StreamWriter) -> None:
        self.connection = connection
        self.raw_reader = raw_reader
        self.raw_writer = raw_writer
        self.handshake: HandshakeComplete | None = None
        self.warnings: list[AlertEvent] = []
        self.plaintext = bytearray()
        self.eof = False
        self.truncated = False
        self.closed = False
        self._read_lock = asyncio.Lock()

    def flush(self) -> None:
        """Hand everything queued to the transport in one write (whole records only)."""
        data = self.connection.bytes_to_send()
        if data and not self.raw_writer.is_closing():
            self.raw_writer.write(data)

    def _flush_quietly(self) -> None:
        with contextlib.suppress(Exception):
            self.flush()

    def pump(self) -> None:
        """Drain the connection's events into buffers; then flush what it queued."""
        try:
            while (event := self.connection.next_event()) is not None:
                if isinstance(event, ApplicationData):
                    self.plaintext += event.data
                elif isinstance(event, HandshakeComplete):
                    self.handshake = event
                elif isinstance(event, AlertEvent):
                    self.warnings.append(event)
                elif isinstance(event, ClosedEvent):
                    self.eof = True
                    self.truncated = not event.clean
        except ProtocolError:
            self._flush_quietly()
            raise
        self.flush()

    async def read_transport(self) -> None:
        """One TCP read fed to the connection (cancel-safe: asyncio keeps unread TCP bytes buffered)."""
        async with self._read_lock:
            try:
                data = await self.raw_reader.read(_READ_SIZE)
            except (ConnectionError, OSError):
                data = b""
            try:
                self.connection.receive_bytes(data)
            except ProtocolError:
                self._flush_quietly()
                raise
            self.pump()

    async def handshake_done(self, server_side: bool) -> HandshakeComplete:
        """Run the handshake (RFC 5246 §7.3) to completion."""
        if not server_side:
            self.connection.start_handshake()
        self.flush()
        while self.handshake is None:
            if self.eof:
                raise ConnectionClosedError(clean=not self.truncated)
            await self.raw_writer.drain()
            await self.read_transport()
        await self.raw_writer.drain()
        return self.handshake


def _refusals(warnings: list[AlertEvent]) -> int:
    return sum(1 for w in warnings if w.description == AlertDescription.NO_RENEGOTIATION)


class TLSStreamReader:
    """Decrypted application data, with the read methods of :class:`asyncio.StreamReader`."""

    def __init__(self, channel: _TLSChannel) -> None:
        self._channel = channel

    async def _fill(self) -> bool:
        """Read more plaintext; False at a clean EOF (close_notify). Truncation raises."""
        channel = self._channel
        while True:
            if channel.plaintext:
                return True
            if channel.eof:
                if channel.truncated:
                    raise ConnectionClosedError(clean=False)
                return False
            await channel.read_transport()

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (``-1``: everything until close_notify); b"" at EOF."""
        channel = self._channel
        if n < 0:
            while await self._fill():
                if channel.eof:
                    break
                await channel.read_transport()
            data = bytes(channel.plaintext)
            channel.plaintext.clear()
            return data
        if n == 0 or not await self._fill():
            return b""
        data = bytes(channel.plaintext[:n])
        del channel.plaintext[:n]
        return data

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or :class:`asyncio.IncompleteReadError` at EOF."""
        channel = self._channel
        while len(channel.plaintext) < n:
            if channel.eof:
                partial = bytes(channel.plaintext)
                channel.plaintext.clear()
                if channel.truncated:
                    raise ConnectionClosedError(clean=False)
                raise asyncio.IncompleteReadError(partial, n)
            await channel.read_transport()
        data = bytes(channel.plaintext[:n])
        del channel.plaintext[:n]
        return data

    async def readuntil(self, separator: bytes = b"\n", limit: int = 1 << 20) -> bytes:
        """Bytes up to and including ``separator``; more than ``limit`` without it raises TLSError."""
        channel = self._channel
        while (index := channel.plaintext.find(separator)) < 0:
            if len(channel.plaintext) > limit:
                raise TLSError(f"separator not found within {limit} bytes")
            if channel.eof:
                partial = bytes(channel.plaintext)
                channel.plaintext.clear()
                raise asyncio.IncompleteReadError(partial, None)
            await channel.read_transport()
        end = index + len(separator)
        data = bytes(channel.plaintext[:end])
        del channel.plaintext[:end]
        return data

    async def readline(self) -> bytes:
        """One line including ``\\n`` (or the rest at EOF)."""
        try:
            return await self.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial

    def at_eof(self) -> bool:
        """True once close_notify arrived and all data was read."""
        return self._channel.eof and not self._channel.plaintext


class TLSStreamWriter:
    """The write side, with the methods of :class:`asyncio.StreamWriter`."""

    def __init__(self, channel: _TLSChannel) -> None:
        self._channel = channel

    @property
    def connection(self) -> Connection:
        """The underlying sans-I/O connection."""
        return self._channel.connection

    @property
    def handshake(self) -> HandshakeComplete | None:
        """The negotiated parameters (version, suite, ALPN, EMS/EtM flags)."""
        return self._channel.handshake

    @property
    def transport(self) -> asyncio.BaseTransport:
        """The TCP transport."""
        return self._channel.raw_writer.transport

    def export_keying_material(
        self, label: str | bytes, context: bytes | None, length: int, *, allow_legacy_master_secret: bool = False,
        early: bool = False,
    ) -> bytes:
        """Keying material from the completed handshake (RFC 5705; RFC 9846 §7.5; ``early``: the 0-RTT exporter): see
        :meth:`tlsstate.connection.Connection.export_keying_material`."""
        return self._channel.connection.export_keying_material(
            label, context, length, allow_legacy_master_secret=allow_legacy_master_secret, early=early
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Seal ``data`` into records and write them to the transport in one call (never partially)."""
        if self._channel.closed:
            raise ConnectionClosedError(clean=True)
        if data:
            self._channel.connection.send_data(bytes(data))
            self._channel.flush()

    def writelines(self, data: list[bytes]) -> None:
        """``write`` of the concatenation."""
        self.write(b"".join(data))

    async def drain(self) -> None:
        """Wait until the transport's write buffer is below its high-water mark (backpressure)."""
        await self._channel.raw_writer.drain()

    async def renegotiate(self) -> HandshakeComplete:
        """A secure renegotiation (RFC 5746; :meth:`Connection.renegotiate`): a client sends a ClientHello, a server
        a HelloRequest; returns the new handshake's parameters once it completes (data that arrives meanwhile is
        kept for the reader). A peer that refuses with no_renegotiation raises TLSError."""
        channel = self._channel
        connection = channel.connection
        handshakes, refusals = connection.handshakes, _refusals(channel.warnings)
        connection.renegotiate()
        channel.flush()
        while connection.handshakes == handshakes:
            if _refusals(channel.warnings) > refusals:
                raise TLSError("the peer refused to renegotiate (warning no_renegotiation)")
            if channel.eof:
                raise ConnectionClosedError(clean=not channel.truncated)
            await channel.raw_writer.drain()
            await channel.read_transport()
        await channel.raw_writer.drain()
        assert channel.handshake is not None
        return channel.handshake

    def can_write_eof(self) -> bool:
        """TLS half-close is close_notify: use ``close``."""
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Like asyncio: ``peername``/``sockname``/``socket`` from TCP, plus ``tls_version``, ``cipher``, ``alpn``,
        ``peercert`` (DER of the peer's leaf certificate), ``early_data_status`` (TLS 1.3 0-RTT: "not sent",
        "accepted", "rejected")."""
        channel = self._channel
        handshake = channel.handshake
        if name == "tls_version":
            return handshake.version if handshake else default
        if name == "cipher":
            return handshake.cipher_suite.name if handshake else default
        if name == "alpn":
            return handshake.alpn if handshake else default
        if name == "early_data_status":
            return channel.connection.early_data_status
        if name == "peercert":
            certs = channel.connection.peer_certificates
            if not certs:
                return default
            from cryptography.hazmat.primitives.serialization import Encoding

            return certs[0].public_bytes(Encoding.DER)
        return channel.raw_writer.get_extra_info(name, default)

    def is_closing(self) -> bool:
        """True once ``close`` was called or the transport is closing."""
        return self._channel.closed or self._channel.raw_writer.is_closing()

    def close(self) -> None:
        """Send close_notify (RFC 5246 §7.2.1) and close the transport."""
        channel = self._channel
        if channel.closed:
            return
        channel.closed = True
        with contextlib.suppress(TLSError, OSError):
            if channel.handshake is not None:
                channel.connection.close()
                channel.flush()
        channel.raw_writer.close()

    async def wait_closed(self) -> None:
        """Wait until the transport is closed."""
        with contextlib.suppress(ConnectionError, OSError):
            await self._channel.raw_writer.wait_closed()


async def _drain_after_alert(raw_reader: asyncio.StreamReader, raw_writer: asyncio.StreamWriter) -> None:
    """After a fatal handshake alert: send it and FIN, then read and drop what the peer still sends until it closes,
    at most DRAIN_SECONDS and DRAIN_BYTES (as :meth:`tlsstate.io.sockets.TLSSocket.close`): closing with unread
    bytes makes TCP send a reset that can overtake the alert (RFC 2525 §2.17)."""
    drained = 0
    with contextlib.suppress(ConnectionError, OSError, TimeoutError):
        async with asyncio.timeout(DRAIN_SECONDS):
            await raw_writer.drain()
            if raw_writer.can_write_eof():
                raw_writer.write_eof()
            while drained < DRAIN_BYTES:
                chunk = await raw_reader.read(_READ_SIZE)
                if not chunk:
                    return
                drained += len(chunk)


async def _wrap(
    raw_reader: asyncio.StreamReader, raw_writer: asyncio.StreamWriter, config: TLSConfig, *, server_side: bool,
    handshake_timeout: float | None, early_data: bytes | None = None,
) -> tuple[TLSStreamReader, TLSStreamWriter]:
    channel = _TLSChannel(Connection(config, server_side=server_side), raw_reader, raw_writer)
    try:
        if early_data:
            channel.connection.send_early_data(early_data)
        async with asyncio.timeout(handshake_timeout):
            await channel.handshake_done(server_side)
    except ProtocolError:
        await _drain_after_alert(raw_reader, raw_writer)
        raw_writer.close()
        raise
    except BaseException:
        raw_writer.close()
        raise
    return TLSStreamReader(channel), TLSStreamWriter(channel)


async def open_connection(
    host: str, port: int, config: TLSConfig, *, handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
    limit: int = 1 << 18, early_data: bytes | None = None, **kwargs: Any,
) -> tuple[TLSStreamReader, TLSStreamWriter]:
    """Connect to ``host:port``, run the client handshake and return the (reader, writer) pair.

    ``early_data``: TLS 1.3 0-RTT data sent right after the ClientHello when the stored ticket allows it (it may be
    replayed, RFC 9846 §8); ``writer.get_extra_info("early_data_status")`` then says whether the server took it.
    ``kwargs`` go to :func:`asyncio.open_connection` (e.g. ``local_addr``); never ``ssl``.
    """
    raw_reader, raw_writer = await asyncio.open_connection(host, port, limit=limit, **kwargs)
    return await _wrap(raw_reader, raw_writer, config, server_side=False, handshake_timeout=handshake_timeout,
                       early_data=early_data)


async def start_server(
    client_connected_cb: ClientConnectedCallback, host: str | None, port: int, config: TLSConfig, *,
    handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT, limit: int = 1 << 18, **kwargs: Any,
) -> asyncio.Server:
    """Like :func:`asyncio.start_server`: each connection runs the server handshake, then
    ``client_connected_cb(reader, writer)``. A failed handshake closes that connection only."""
    config.check(server_side=True)

    async def on_connect(raw_reader: asyncio.StreamReader, raw_writer: asyncio.StreamWriter) -> None:
        try:
            reader, writer = await _wrap(raw_reader, raw_writer, config, server_side=True,
                                         handshake_timeout=handshake_timeout)
        except (TLSError, OSError, TimeoutError):
            return
        result = client_connected_cb(reader, writer)
        if result is not None:
            await result

    return await asyncio.start_server(on_connect, host, port, limit=limit, **kwargs)


__all__ = ["TLSStreamReader", "TLSStreamWriter", "open_connection", "start_server"]
