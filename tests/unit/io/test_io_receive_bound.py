"""TLSSocket keeps at most ``max_buffered`` (+ one TCP read) of unread application data (issue 5, item 3).

A peer that sends much faster than the program reads must be held back by TCP flow control, not by our
memory: here a tlsstate server pushes 32 MiB while the client calls ``read_some`` without consuming.
The bytes held are measured with ``take_plaintext`` (what a program would get), the sender's progress
with its own counter; then everything is read and compared with what was sent (nothing lost).
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import generate_self_signed
from tlsstate.io.sockets import TLSListener, TLSSocket

TOTAL = 32 * 1024 * 1024
CHUNK = 64 * 1024
MAX_BUFFERED = 128 * 1024
#: max_buffered + one TCP read (64 KiB) + one partial protected record carried over (< 2^14 + 2048)
BOUND = MAX_BUFFERED + 65536 + 2**14 + 2048


def _payload(index: int) -> bytes:
    return hashlib.sha256(index.to_bytes(4, "big")).digest() * (CHUNK // 32)


class FastSender:
    """A TLSListener that sends TOTAL bytes to the one client it accepts, counting what sendall accepted."""

    def __init__(self) -> None:
        cert, key = generate_self_signed(["localhost"], "ecdsa-p256")
        self.listener = TLSListener("127.0.0.1", 0, TLSConfig(certificate_chain=[cert], private_key=key), timeout=30)
        self.sent = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            tls, _ = self.listener.accept(timeout=30)
            with tls:
                tls.do_handshake()
                for index in range(TOTAL // CHUNK):
                    tls.sendall(_payload(index))
                    self.sent += CHUNK
        except BaseException as exc:  # reported by the test
            self.error = exc

    def close(self) -> None:
        self.thread.join(60)
        self.listener.close()


@pytest.fixture
def sender() -> Any:
    server = FastSender()
    yield server
    server.close()


def test_unread_data_is_bounded_and_nothing_is_lost(sender: FastSender) -> None:
    port = sender.listener.address[1]
    with TLSSocket.connect("127.0.0.1", port, TLSConfig(verify=False), timeout=30, max_buffered=MAX_BUFFERED) as tls:
        reads = 0
        while reads < 5000 and tls.read_some():  # the program "forgets" to consume
            reads += 1
        held = tls.take_plaintext()
        held_bytes = sum(len(c) for c in held)
        assert reads < 5000, "read_some kept reading though nothing was consumed"
        assert MAX_BUFFERED <= held_bytes <= BOUND, (held_bytes, BOUND)
        sent_while_full = sender.sent
        assert sent_while_full < TOTAL, "the sender was not held back (all data sent while the reader was full)"
        received = hashlib.sha256(b"".join(held))
        got = held_bytes
        while got < TOTAL:  # now read it all: nothing lost, nothing reordered
            chunk = tls.recv(1 << 20)
            assert chunk, "stream ended early"
            received.update(chunk)
            got += len(chunk)
            assert tls.buffered <= BOUND
    sender.thread.join(60)
    assert sender.error is None, sender.error
    assert got == TOTAL
    assert received.hexdigest() == hashlib.sha256(b"".join(_payload(i) for i in range(TOTAL // CHUNK))).hexdigest()


def test_read_some_reads_again_once_data_is_consumed(sender: FastSender) -> None:
    port = sender.listener.address[1]
    with TLSSocket.connect("127.0.0.1", port, TLSConfig(verify=False), timeout=30, max_buffered=MAX_BUFFERED) as tls:
        while tls.read_some():
            pass
        assert tls.buffered >= MAX_BUFFERED
        assert tls.read_some() is False  # still full: no read
        first = tls.take_plaintext()  # consume everything buffered
        assert sum(map(len, first)) >= MAX_BUFFERED and tls.buffered == 0
        assert tls.read_some() is True  # room again: reads
        assert tls.buffered > 0
        while tls.recv(1 << 20):  # let the sender finish
            pass
    sender.thread.join(60)


def test_max_buffered_must_be_positive() -> None:
    import socket

    a, b = socket.socketpair()
    try:
        from tlsstate.connection import Connection

        with pytest.raises(ValueError):
            TLSSocket(a, Connection(TLSConfig(verify=False), server_side=False), max_buffered=0)
    finally:
        a.close()
        b.close()
