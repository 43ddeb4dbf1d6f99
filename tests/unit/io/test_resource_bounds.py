"""Resource bounds of ``tlsstate serve`` (issue 5 item 3): a 16 MiB ClientHello, slow-loris peers and
--max-connections, measured on the real process (/proc/PID/status VmRSS, /proc/PID/fd).

The server refuses a handshake message longer than Connection.max_handshake_message_length from its
4-byte header (RFC 5246 §7.4: uint24 length), so the 16 MiB are never buffered; --handshake-timeout
bounds a peer that trickles one byte per idle timeout.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from tests.hostile.peer import HANDSHAKE, ServeProcess, fd_count, record, rss_kib
from tlsstate.config import TLSConfig
from tlsstate.io.sockets import TLSSocket

MIB = 1024


@pytest.fixture
def server() -> Iterator[ServeProcess]:
    proc = ServeProcess(["--timeout", "1", "--handshake-timeout", "2", "--max-connections", "8"])
    try:
        yield proc
    finally:
        proc.stop()


def good_client(port: int) -> bytes:
    with TLSSocket.connect("127.0.0.1", port, TLSConfig(verify=False), timeout=10) as tls:
        tls.sendall(b"hello")
        return tls.recv()


def test_16mib_client_hello_refused_early_rss_bounded(server: ServeProcess) -> None:
    assert good_client(server.port) == b"hello"
    idle = rss_kib(server.pid)
    sent = 0
    answer = b""
    with server.connect() as sock:
        body = b"\x01\xff\xff\xff" + bytes(16 * 1024 - 4)  # ClientHello header declaring 2^24-1 bytes
        try:
            sock.sendall(record(HANDSHAKE, body, 0x0301))
            sent += len(body)
            chunk = record(HANDSHAKE, bytes(16 * 1024), 0x0301)
            while sent < 16 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed after its alert: refused early
        sock.settimeout(3)
        with contextlib.suppress(OSError):
            answer = sock.recv(7)
    assert answer[:1] in (b"", b"\x15")
    peak = rss_kib(server.pid)
    assert good_client(server.port) == b"hello"  # others served meanwhile
    print(f"\n16 MiB ClientHello: idle VmRSS {idle} KiB, after {peak} KiB, client sent {sent} bytes before refusal")
    assert peak < idle + 64 * MIB, (idle, peak)
    assert sent < 16 * 1024 * 1024, "the server read the whole 16 MiB instead of refusing at the header"


def test_slow_loris_bounded_by_handshake_timeout(server: ServeProcess) -> None:
    """Six peers trickle one byte every 0.5 s (inside the 1 s idle timeout): cut off at the 2 s deadline."""
    idle = rss_kib(server.pid)
    ended: list[float] = []
    start = time.monotonic()

    def loris() -> None:
        with server.connect(timeout=10) as sock:
            try:
                for byte in record(HANDSHAKE, b"\x01\x00\x00\x40" + bytes(64), 0x0301):
                    sock.sendall(bytes([byte]))
                    time.sleep(0.5)
                    if time.monotonic() - start > 8:
                        break
                sock.recv(1)
            except OSError:
                pass
            ended.append(time.monotonic() - start)

    threads = [threading.Thread(target=loris) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    assert good_client(server.port) == b"hello"  # served while six slots are held
    for thread in threads:
        thread.join(15)
    assert len(ended) == 6 and max(ended) < 5.0, ended
    after = rss_kib(server.pid)
    print(f"\nslow-loris: 6 peers cut after {max(ended):.2f} s max; VmRSS {idle} -> {after} KiB")
    assert after < idle + 64 * MIB
    deadline = time.monotonic() + 5  # the log lines arrive through a pipe reader thread
    while sum("timeout" in line for line in server.lines) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum("timeout" in line for line in server.lines) >= 6, [ln for ln in server.lines if "timeout" not in ln]


def test_max_connections_bounds_concurrency() -> None:
    """With --max-connections 2 two idle peers hold both slots; a third client waits until one is freed."""
    proc = ServeProcess(["--timeout", "1.5", "--handshake-timeout", "30", "--max-connections", "2"])
    try:
        baseline_fds = fd_count(proc.pid)
        idle = [proc.connect() for _ in range(2)]
        time.sleep(0.3)
        assert fd_count(proc.pid) <= baseline_fds + 2  # nothing beyond the two accepted sockets
        start = time.monotonic()
        assert good_client(proc.port) == b"hello"
        waited = time.monotonic() - start
        assert waited > 1.0, waited  # not accepted before an idle peer timed out (1.5 s)
        for sock in idle:
            sock.close()
    finally:
        proc.stop()


def test_idle_connection_timeout_frees_fd(server: ServeProcess) -> None:
    time.sleep(0.2)
    before = fd_count(server.pid)
    socks = [server.connect() for _ in range(4)]
    time.sleep(0.3)
    assert fd_count(server.pid) == before + 4
    time.sleep(2.0)  # idle timeout 1 s
    assert fd_count(server.pid) == before
    for sock in socks:
        assert sock.recv(1) == b""
        sock.close()
