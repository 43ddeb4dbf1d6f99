"""A scripted raw-record TLS peer for the hostile-peer suite (RFC 5246 §6.2, §7.2).

The peer runs a real :class:`tlsstate.connection.Connection` in memory to produce correct bytes and
lets each test rewrite exactly the records it wants before they reach the socket (``tamper``), or
send raw bytes of its own (``send_raw``). What comes back is read at the record layer: a plaintext
alert record gives the alert description the other side chose; after the other side's
ChangeCipherSpec the records go through the in-memory connection, which decrypts them.

``ServeProcess`` starts ``tlsstate serve`` on a free loopback port and measures it (/proc VmRSS, fds).
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.keys import ConnectionKeys
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.wire import errors

TLSSTATE = [sys.executable, "-c", "import sys; from tlsstate.cli.main import main; sys.exit(main())"]
HANDSHAKE, CCS, ALERT, APPDATA, HEARTBEAT = 22, 20, 21, 23, 24


def record(content_type: int, body: bytes, version: int = 0x0303) -> bytes:
    """One TLSPlaintext/TLSCiphertext record (RFC 5246 §6.2.1) with exactly these bytes."""
    return struct.pack(">BHH", content_type, version, len(body)) + body


def handshake(msg_type: int, body: bytes) -> bytes:
    """A handshake message: type, uint24 length, body (RFC 5246 §7.4)."""
    return struct.pack(">B", msg_type) + len(body).to_bytes(3, "big") + body


def split_records(data: bytes) -> list[bytes]:
    """Whole records of an in-memory output (our own connection never emits partial ones)."""
    out = []
    while data:
        length = struct.unpack(">H", data[3:5])[0]
        out.append(data[: 5 + length])
        data = data[5 + length:]
    return out


@dataclass
class Outgoing:
    """One record the scripted peer is about to send."""

    index: int  # position among all records this peer sent
    content_type: int
    protected: bool  # sent after our ChangeCipherSpec
    data: bytes  # the whole record, header included


#: Rewrites one outgoing record: returns the bytes to send instead (b"" drops it).
Tamper = Callable[[Outgoing], bytes]


@dataclass
class Outcome:
    """How the other side ended the conversation."""

    alert: int | None = None  # fatal alert description received (plaintext or decrypted)
    closed: bool = False  # the transport reached EOF afterwards
    handshake_complete: bool = False
    local_error: errors.TLSError | None = None  # our in-memory connection's own error (if any)
    received_plaintext: bytes = b""
    log: list[str] = field(default_factory=list)


class ScriptedPeer:
    """One TCP connection driven by an in-memory Connection whose records a test may rewrite."""

    def __init__(self, sock: socket.socket, config: TLSConfig, *, server_side: bool, tamper: Tamper | None = None,
                 timeout: float = 10.0) -> None:
        self.sock = sock
        self.sock.settimeout(timeout)
        self.conn = Connection(config, server_side=server_side)
        self.tamper = tamper
        self.sent = 0
        self.ccs_sent = False
        self.peer_ccs_seen = False
        self.outcome = Outcome()
        self.keys: ConnectionKeys | None = None
        self._raw_in = b""
        original_install = self.conn._install_pending

        def spy_install(negotiated: Negotiated, keys: ConnectionKeys) -> None:
            self.keys = keys  # test-side spy: the scripted peer may seal records of its own
            original_install(negotiated, keys)

        self.conn._install_pending = spy_install  # type: ignore[method-assign]
        if not server_side:
            self.conn.start_handshake()

    def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the wire (no tampering)."""
        try:
            self.sock.sendall(data)
        except OSError:
            self.outcome.closed = True

    def flush(self) -> None:
        """Send what the connection queued, each record through ``tamper``."""
        try:
            data = self.conn.bytes_to_send()
        except errors.TLSError as exc:
            self.outcome.local_error = exc
            return
        for rec in split_records(data):
            out = Outgoing(self.sent, rec[0], self.ccs_sent, rec)
            self.sent += 1
            if rec[0] == CCS:
                self.ccs_sent = True
            self.send_raw(self.tamper(out) if self.tamper else rec)

    def _scan_plaintext_alerts(self, data: bytes) -> None:
        """Read alerts at the record layer until the peer's ChangeCipherSpec (after it they are encrypted)."""
        self._raw_in += data
        while len(self._raw_in) >= 5 and not self.peer_ccs_seen:
            length = struct.unpack(">H", self._raw_in[3:5])[0]
            if len(self._raw_in) < 5 + length:
                return
            rec, self._raw_in = self._raw_in[: 5 + length], self._raw_in[5 + length:]
            if rec[0] == CCS:
                self.peer_ccs_seen = True
            elif rec[0] == ALERT and length == 2 and rec[5] == 2 and self.outcome.alert is None:
                self.outcome.alert = rec[6]

    def step(self) -> bool:
        """One read from the socket, processed; False when the transport ended."""
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            self.outcome.log.append("timeout")
            return False
        except OSError:
            data = b""
        if not data:
            self.outcome.closed = True
            return False
        self._scan_plaintext_alerts(data)
        if self.outcome.local_error is None:
            try:
                self.conn.receive_bytes(data)
                while (event := self.conn.next_event()) is not None:
                    name = type(event).__name__
                    self.outcome.log.append(name)
                    if name == "HandshakeComplete":
                        self.outcome.handshake_complete = True
                    elif name == "ApplicationData":
                        self.outcome.received_plaintext += event.data  # type: ignore[attr-defined]
            except errors.AlertReceived as exc:
                if self.outcome.alert is None:
                    self.outcome.alert = int(exc.description)
            except errors.TLSError as exc:
                self.outcome.local_error = exc
        self.flush()
        return True

    def run(self, until: Callable[[Outcome], bool] | None = None, max_steps: int = 200) -> Outcome:
        """Exchange bytes until the peer closes (or ``until`` holds); bounded by ``max_steps`` reads."""
        self.flush()
        for _ in range(max_steps):
            if until is not None and until(self.outcome):
                break
            if not self.step():
                break
        return self.outcome

    def drain(self, seconds: float = 5.0) -> Outcome:
        """Read until EOF (or ``seconds``): the alert and the close that follow a violation."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.outcome.closed:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            if not self.step():
                break
        return self.outcome


def fd_count(pid: int) -> int:
    """Open file descriptors of a process (/proc/PID/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    """Resident set size in KiB (/proc/PID/status VmRSS)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class ServeProcess:
    """``tlsstate serve --port 0`` as a child process; ``port`` comes from its ACCEPT line."""

    def __init__(self, args: list[str], start_timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen([*TLSSTATE, "serve", "--host", "127.0.0.1", "--port", "0", *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.port = 0
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        if not self._ready.wait(start_timeout):
            self.stop()
            raise RuntimeError(f"serve did not start: {self.lines}")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("ACCEPT "):
                self.port = int(line.split()[1].rsplit(":", 1)[1])
                self._ready.set()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
