"""Load on ``tlsstate serve`` (issue 5 item 4): 1,000 connections in a row plus 64 at once, 10% hostile.

Every good client must complete its handshake and echo; the server must be alive afterwards, its
VmRSS back within 10% of the level after the first 100 connections (no leak) and its descriptor
count (/proc/PID/fd) back to the idle count. Loopback only, bounded in count and time.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

from tests.hostile.peer import HANDSHAKE, ServeProcess, fd_count, record, rss_kib
from tlsstate.config import TLSConfig
from tlsstate.crypto.suites import by_name
from tlsstate.io.sockets import TLSSocket

SEQUENTIAL = 1000
CONCURRENT = 64
CLIENT_SUITES = [s for s in (by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), by_name("TLS_RSA_WITH_AES_128_CBC_SHA"),
                             by_name("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256")) if s is not None]


def good(port: int, index: int) -> bool:
    config = TLSConfig(verify=False, cipher_suites=[CLIENT_SUITES[index % len(CLIENT_SUITES)]])
    with TLSSocket.connect("127.0.0.1", port, config, timeout=20) as tls:
        payload = b"load %d" % index
        tls.sendall(payload)
        return tls.recv() == payload


def _raw(port: int, data: bytes, half_close: bool = False) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if not data:
            return  # connect and leave at once
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except OSError:
            pass


HOSTILE: list[Callable[[int], None]] = [
    lambda port: _raw(port, os.urandom(300)),                                          # garbage
    lambda port: _raw(port, record(HANDSHAKE, b"\x01\xff\xff\xff" + bytes(100), 0x0301)),  # 16 MiB declared
    lambda port: _raw(port, record(HANDSHAKE, b"\x01\x00\x00\x30" + bytes(20), 0x0301), True),  # truncated
    lambda port: _raw(port, record(24, b"\x01\x00\x10" + bytes(32))),                   # heartbeat
    lambda port: _raw(port, b""),                                                      # connect and leave
]


def one(port: int, index: int) -> bool | None:
    """Connection ``index``: every tenth one hostile (returns None), else a good client (True when echoed)."""
    if index % 10 == 9:
        HOSTILE[(index // 10) % len(HOSTILE)](port)
        return None
    return good(port, index)


def test_load_sequential_and_concurrent() -> None:
    server = ServeProcess(["--timeout", "5", "--handshake-timeout", "10", "--max-connections", "64"])
    try:
        time.sleep(0.2)
        idle_fds = fd_count(server.pid)
        started = time.monotonic()
        failures: list[int] = []
        rss_after_100 = 0
        for index in range(SEQUENTIAL):
            if one(server.port, index) is False:
                failures.append(index)
            if index == 99:
                rss_after_100 = rss_kib(server.pid)
        sequential_seconds = time.monotonic() - started

        results: dict[int, bool | None] = {}

        def worker(index: int) -> None:
            try:
                results[index] = one(server.port, index)
            except Exception:
                results[index] = False

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONCURRENT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        concurrent_failures = [i for i, ok in results.items() if ok is False]

        time.sleep(1.0)
        assert server.alive()
        assert good(server.port, 0)
        time.sleep(0.5)
        rss_end = rss_kib(server.pid)
        end_fds = fd_count(server.pid)
        print(f"\nload: {SEQUENTIAL} sequential in {sequential_seconds:.1f}s, {CONCURRENT} concurrent; "
              f"RSS after 100 {rss_after_100} KiB, at end {rss_end} KiB; fds idle {idle_fds}, end {end_fds}")
        assert not failures, failures
        assert len(results) == CONCURRENT and not concurrent_failures, concurrent_failures
        assert rss_end <= rss_after_100 * 1.10, (rss_after_100, rss_end)
        assert end_fds == idle_fds, (idle_fds, end_fds)
        hostile_lines = [line for line in server.lines if "sent alert" in line or "without close_notify" in line]
        assert len(hostile_lines) >= (SEQUENTIAL + CONCURRENT) // 10 * 3 // 5
    finally:
        server.stop()
