"""A blocking socket wrapper over the sans-I/O :class:`~tlsstate.connection.Connection`.

The connection object does the protocol (RFC 5246 §7); this module only moves its bytes over a TCP
socket: :class:`TLSSocket` (``connect`` for clients, ``do_handshake``, ``sendall``, ``recv``, ``close``
with close_notify, RFC 5246 §7.2.1) and :class:`TLSListener` (``accept`` for servers).

Errors surface as the typed errors of :mod:`tlsstate.wire.errors`: a protocol fault is the
``ProtocolError`` the connection raised (its alert is sent to the peer first, best effort); a peer's
fatal alert is ``AlertReceived`` (its message names the alert); a transport that ends without
close_notify is ``ConnectionClosedError(clean=False)``; a timeout is :class:`TLSTimeout`.
Every blocking call is bounded by the socket timeout.

Memory: decrypted application data the program has not read yet is bounded by ``max_buffered``
(issue 5, resource bounds). While that much is waiting, :meth:`TLSSocket.read_some` does not read from
TCP at all, so the peer is held back by TCP flow control instead of filling our memory; ``recv`` reads
only when nothing is buffered. The buffer never holds more than ``max_buffered`` plus what one TCP
read of at most 64 KiB (and the partial record before it, < 2^14 + 2048 bytes) decrypts to.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.events import AlertEvent, ApplicationData, HandshakeComplete
from tlsstate.events import ConnectionClosed as ClosedEvent
from tlsstate.wire.constants import AlertDescription
from tlsstate.wire.errors import ConnectionClosedError, ProtocolError, TLSError, TLSTimeout

DEFAULT_TIMEOUT = 30.0
_READ_SIZE = 65536
#: Default bound on decrypted, not yet read application data per TLSSocket (bytes).
DEFAULT_MAX_BUFFERED = 256 * 1024
#: After a fatal alert: how long (seconds) and how much (bytes) close() reads and discards what the peer still sends,
#: so that the socket is not closed with unread data, which makes the stack send a reset that can overtake the alert.
DRAIN_SECONDS = 1.0
DRAIN_BYTES = 4 * 1024 * 1024


#: Observer of the raw TCP bytes: called with ("out", bytes sent) and ("in", bytes received).
WireTap = Callable[[str, bytes], None]


class TLSSocket:
    """A TLS connection over a connected TCP socket (client or server side).

    Not thread-safe: one thread per TLSSocket. ``handshake`` holds the
    :class:`~tlsstate.events.HandshakeComplete` once ``do_handshake`` returned; ``warnings`` collects
    the warning alerts the peer sent (e.g. ``no_renegotiation``).
    """

    def __init__(
        self, sock: socket.socket, connection: Connection, *, server_side: bool = False,
        timeout: float | None = DEFAULT_TIMEOUT, on_wire: WireTap | None = None,
        handshake_timeout: float | None = None, max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        if max_buffered < 1:
            raise ValueError("max_buffered must be at least 1 byte")
        self.sock = sock
        self.timeout = timeout
        #: Bound on the whole handshake (seconds, None = none): a slow-loris peer that trickles one
        #: byte per idle timeout cannot hold a connection slot longer than this.
        self.handshake_timeout = handshake_timeout
        self.server_side = server_side
        self.on_wire = on_wire
        self.connection = connection
        self.sock.settimeout(timeout)
        self.handshake: HandshakeComplete | None = None
        self.warnings: list[AlertEvent] = []
        self._plaintext: deque[bytes] = deque()
        #: Decrypted application data not yet read above which no more is read from TCP.
        self.max_buffered = max_buffered
        self._buffered = 0  # bytes in self._plaintext
        #: TLS 1.3 server: bytes of accepted 0-RTT data among what was received (RFC 9846 §4.2.10).
        self.early_data_received = 0
        self._eof = False  # the peer's close_notify (or a transport EOF) has been seen
        self._truncated = False  # the transport ended without close_notify
        self._closed = False
        self._handshake_started = False

    # ------------------------------------------------------------------ construction

    @classmethod
    def connect(
        cls, host: str, port: int, config: TLSConfig, *, timeout: float | None = DEFAULT_TIMEOUT, handshake: bool = True,
        on_wire: WireTap | None = None, max_buffered: int = DEFAULT_MAX_BUFFERED, early_data: bytes | None = None,
    ) -> TLSSocket:
        """Open a TCP connection to ``host:port`` and (by default) run the client handshake.

        ``on_wire`` sees every raw byte sent and received (for tools like ``tlsstate demo``). ``early_data``: TLS 1.3
        0-RTT data sent right after the ClientHello when the stored ticket allows it
        (:meth:`~tlsstate.connection.Connection.send_early_data`: it may be replayed, RFC 9846 §8);
        :attr:`early_data_status` then says whether the server took it.
        """
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError:
            raise TLSTimeout(f"TCP connect to {host}:{port} timed out") from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = cls(sock, Connection(config, server_side=False), timeout=timeout, on_wire=on_wire,
                      max_buffered=max_buffered)
            if early_data:
                tls.connection.send_early_data(early_data)
            if handshake:
                tls.do_handshake()
        except BaseException:
            sock.close()
            raise
        return tls

    def settimeout(self, timeout: float | None) -> None:
        """Bound every later blocking call by ``timeout`` seconds (None = block forever)."""
        self.timeout = timeout
        self.sock.settimeout(timeout)

    def getpeername(self) -> tuple[str, int]:
        """The peer's (host, port)."""
        name = self.sock.getpeername()
        return str(name[0]), int(name[1])

    # ------------------------------------------------------------------ I/O plumbing

    def _flush(self) -> None:
        """Send everything the connection has queued."""
        data = self.connection.bytes_to_send()
        if data:
            if self.on_wire is not None:
                self.on_wire("out", data)
            try:
                self.sock.sendall(data)
            except TimeoutError:
                raise TLSTimeout("send timed out") from None
            except OSError as exc:
                raise ConnectionClosedError(clean=False) from exc

    def _flush_quietly(self) -> None:
        """Best effort: push out a queued fatal alert after an error."""
        try:
            data = self.connection.bytes_to_send()
        except Exception:
            return
        if data:
            with contextlib.suppress(OSError):
                self.sock.sendall(data)

    def _read_transport(self) -> None:
        """One blocking read from TCP, fed to the connection (b"" = EOF)."""
        try:
            data = self.sock.recv(_READ_SIZE)
        except TimeoutError:
            raise TLSTimeout("receive timed out") from None
        except OSError as exc:
            data = b""
            if not self._handshake_started:
                raise ConnectionClosedError(clean=False) from exc
        if data and self.on_wire is not None:
            self.on_wire("in", data)
        try:
            self.connection.receive_bytes(data)
        except ProtocolError:
            self._flush_quietly()
            raise

    def _pump_events(self) -> None:
        """Drain the connection's events into our buffers; flush anything it wants to send."""
        try:
            while (event := self.connection.next_event()) is not None:
                if isinstance(event, ApplicationData):
                    if event.data:
                        self._plaintext.append(event.data)
                        self._buffered += len(event.data)
                        if event.early_data:  # TLS 1.3 0-RTT, replayable (RFC 9846 §8)
                            self.early_data_received += len(event.data)
                elif isinstance(event, HandshakeComplete):
                    self.handshake = event
                elif isinstance(event, AlertEvent):
                    self.warnings.append(event)
                elif isinstance(event, ClosedEvent):
                    self._eof = True
                    if not event.clean:
                        self._truncated = True
        except ProtocolError:
            self._flush_quietly()
            raise
        self._flush()

    # ------------------------------------------------------------------ public API

    def do_handshake(self) -> HandshakeComplete:
        """Run the handshake to completion (RFC 5246 §7.3); returns its parameters."""
        if self.handshake is not None:
            return self.handshake
        if not self._handshake_started:
            self._handshake_started = True
            if not self.server_side:
                self.connection.start_handshake()
            self._flush()
        deadline = None if self.handshake_timeout is None else time.monotonic() + self.handshake_timeout
        try:
            while self.handshake is None:
                if self._eof:
                    raise ConnectionClosedError(clean=not self._truncated)
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TLSTimeout(f"handshake not finished within {self.handshake_timeout:g} s")
                    self.sock.settimeout(remaining if self.timeout is None else min(self.timeout, remaining))
                self._read_transport()
                self._pump_events()
        finally:
            if deadline is not None:
                self.sock.settimeout(self.timeout)
        return self.handshake

    def request_client_certificate(self) -> None:
        """TLS 1.3 server: post-handshake authentication (RFC 9846 §4.6.2); the client's chain arrives in
        ``connection.peer_certificates`` once its answer has been read."""
        self.connection.request_client_certificate()
        self._flush()

    def key_update(self, *, request_peer: bool = True) -> None:
        """TLS 1.3: send a KeyUpdate now (RFC 9846 §4.6.3); see :meth:`Connection.key_update`."""
        self.connection.key_update(request_peer=request_peer)
        self._flush()

    def renegotiate(self, *, wait: bool = True) -> HandshakeComplete | None:
        """Start a secure renegotiation (RFC 5746; :meth:`Connection.renegotiate`): a client sends a ClientHello, a
        server a HelloRequest. With ``wait``, read until the new handshake completes (application data that
        arrives meanwhile is kept for :meth:`recv`) and return its HandshakeComplete; a peer that refuses with
        no_renegotiation (see ``warnings``) or closes raises ConnectionClosedError / TLSError. Bounded by
        ``handshake_timeout``."""
        if self.handshake is None:
            self.do_handshake()
        handshakes, refusals = self.connection.handshakes, self._refusals()
        self.connection.renegotiate()
        self._flush()
        if not wait:
            return None
        deadline = None if self.handshake_timeout is None else time.monotonic() + self.handshake_timeout
        while self.connection.handshakes == handshakes:
            if self._refusals() > refusals:
                raise TLSError("the peer refused to renegotiate (warning no_renegotiation)")
            if self._eof:
                raise ConnectionClosedError(clean=not self._truncated)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TLSTimeout(f"renegotiation not finished within {self.handshake_timeout:g} s")
                self.sock.settimeout(remaining if self.timeout is None else min(self.timeout, remaining))
            try:
                self._read_transport()
            finally:
                self.sock.settimeout(self.timeout)
            self._pump_events()
        return self.handshake

    def _refusals(self) -> int:
        return sum(1 for w in self.warnings if w.description == AlertDescription.NO_RENEGOTIATION)

    def sendall(self, data: bytes) -> None:
        """Protect and send all of ``data`` (fragmented into records, RFC 5246 §6.2.1)."""
        if self.handshake is None:
            self.do_handshake()
        if data:
            self.connection.send_data(bytes(data))
            self._flush()

    def recv(self, max_bytes: int = _READ_SIZE) -> bytes:
        """Up to ``max_bytes`` of application data; b"" after the peer's close_notify.

        A transport EOF without close_notify raises ``ConnectionClosedError(clean=False)`` (truncation,
        RFC 5246 §7.2.1).
        """
        if self.handshake is None:
            self.do_handshake()
        while not self._plaintext:
            if self._eof:
                if self._truncated:
                    raise ConnectionClosedError(clean=False)
                return b""
            self._read_transport()
            self._pump_events()
        chunk = self._plaintext.popleft()
        if len(chunk) > max_bytes:
            self._plaintext.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self._buffered -= len(chunk)
        return chunk

    def recv_all(self, limit: int = 1 << 30) -> bytes:
        """Everything until the peer's close_notify; more than ``limit`` bytes raises TLSError."""
        parts: list[bytes] = []
        total = 0
        while chunk := self.recv():
            total += len(chunk)
            if total > limit:
                raise TLSError(f"peer sent more than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def read_some(self) -> bool:
        """One blocking transport read (bounded by the timeout), processed into buffered plaintext.

        Returns False without reading when ``max_buffered`` bytes of application data are waiting to be
        read (``recv``/``take_plaintext`` first: the peer meanwhile waits on TCP flow control) or after
        the peer's close_notify; True when it read.
        """
        if self.handshake is None:
            self.do_handshake()
            return True
        if self._eof or self._buffered >= self.max_buffered:
            return False
        self._read_transport()
        self._pump_events()
        return True

    def take_plaintext(self) -> list[bytes]:
        """All application data received so far and not yet read (does not block)."""
        chunks = list(self._plaintext)
        self._plaintext.clear()
        self._buffered = 0
        return chunks

    def export_keying_material(
        self, label: str | bytes, context: bytes | None, length: int, *, allow_legacy_master_secret: bool = False,
        early: bool = False,
    ) -> bytes:
        """Keying material from the completed handshake (RFC 5705; RFC 9846 §7.5; ``early``: the 0-RTT exporter): see
        :meth:`tlsstate.connection.Connection.export_keying_material` (``ssl.SSLSocket`` has no such method)."""
        return self.connection.export_keying_material(
            label, context, length, allow_legacy_master_secret=allow_legacy_master_secret, early=early
        )

    @property
    def early_data_status(self) -> str:
        """TLS 1.3 0-RTT: "not sent", "pending", "accepted" or "rejected" (data not accepted was not delivered)."""
        return self.connection.early_data_status

    @property
    def buffered(self) -> int:
        """Bytes of decrypted application data received and not yet read."""
        return self._buffered

    @property
    def truncated(self) -> bool:
        """True when the transport ended without the peer's close_notify (RFC 5246 §7.2.1)."""
        return self._truncated

    @property
    def peer_closed(self) -> bool:
        """True once the peer's close_notify (or EOF) arrived and all data was read."""
        return self._eof and not self._plaintext

    def close(self) -> None:
        """Send close_notify (RFC 5246 §7.2.1) when the connection is usable, then close the socket."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.handshake is not None:
                self.connection.close()
                self._flush()
        except (TLSError, OSError):
            pass
        finally:
            if self.connection.error is not None:
                self._drain_after_alert()
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()

    def _drain_after_alert(self) -> None:
        """After a fatal alert: send FIN, then read and drop what the peer sends until it closes (bounded).

        A socket closed with bytes still unread makes TCP send a reset (RFC 2525 §2.17), which can reach the peer
        before it has read our alert (its send then fails with EPIPE/ECONNRESET and the alert is never seen). Reading
        until the peer's FIN, at most DRAIN_SECONDS and DRAIN_BYTES, lets the alert arrive; a peer that never
        stops sending is cut off at the bound.
        """
        deadline = time.monotonic() + DRAIN_SECONDS
        drained = 0
        try:
            self.sock.shutdown(socket.SHUT_WR)
            while drained < DRAIN_BYTES:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.sock.settimeout(remaining)
                chunk = self.sock.recv(_READ_SIZE)
                if not chunk:
                    return
                drained += len(chunk)
        except OSError:  # includes the timeout: the bound was reached, or the peer reset first
            return

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class TLSListener:
    """A listening TCP socket whose ``accept`` returns server-side :class:`TLSSocket` objects.

    ``accept`` does not run the handshake (call ``do_handshake`` in the connection's own thread), so a
    slow or hostile peer cannot block the accept loop. ``timeout`` bounds each blocking read (idle
    time); ``handshake_timeout`` bounds the whole handshake of every accepted connection.
    """

    def __init__(
        self, host: str, port: int, config: TLSConfig, *, backlog: int = 64, timeout: float | None = DEFAULT_TIMEOUT,
        handshake_timeout: float | None = None, max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        config.check(server_side=True)
        self.max_buffered = max_buffered
        self.config = config
        self.timeout = timeout
        self.handshake_timeout = handshake_timeout
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
            self.sock.listen(backlog)
        except BaseException:
            self.sock.close()
            raise

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port): useful with port 0."""
        name = self.sock.getsockname()
        return str(name[0]), int(name[1])

    def accept(self, timeout: float | None = None) -> tuple[TLSSocket, tuple[str, int]]:
        """Wait (at most ``timeout`` seconds, None = forever) for a TCP connection."""
        self.sock.settimeout(timeout)
        try:
            conn, addr = self.sock.accept()
        except TimeoutError:
            raise TLSTimeout("no connection to accept") from None
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = TLSSocket(conn, Connection(self.config, server_side=True), server_side=True, timeout=self.timeout,
                        handshake_timeout=self.handshake_timeout, max_buffered=self.max_buffered)
        return tls, (str(addr[0]), int(addr[1]))

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()

    def __enter__(self) -> TLSListener:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
