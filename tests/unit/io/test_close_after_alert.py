"""After a fatal alert the server reads what the peer already sent before closing (issue 11 item 10).

A TCP socket closed with unread bytes in its receive queue answers with a reset (RFC 9293 §3.10.4 leaves it to
the stack; Linux does it, RFC 2525 §2.17), and a reset can overtake the alert: the peer's next send fails with
ECONNRESET/EPIPE, or its receive returns an error instead of the alert. So after sending the alert the socket
sends FIN (shutdown for writing), reads and discards what the peer sends until the peer closes or a bounded time
or byte count passes, and only then closes.

The peer here is a raw TCP client written in the test: a ClientHello for a suite the server does not have, then,
while the server answers with handshake_failure, more bytes (a second flight it will never read). The client then
reads: it must get the alert record and a clean end of stream, not a reset.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from typing import Any

import pytest

from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import self_signed_localhost
from tlsstate.crypto.suites import lookup
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.wire.errors import ProtocolError

TIMEOUT = 10.0


def _client_hello(suite: int) -> bytes:
    """A minimal TLS 1.2 ClientHello record (RFC 5246 §7.4.1.2) offering one suite and no extensions."""
    body = b"\x03\x03" + bytes(32) + b"\x00" + struct.pack("!HH", 2, suite) + b"\x01\x00"
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def _serve_one(listener: TLSListener, errors: list[BaseException]) -> None:
    tls: TLSSocket | None = None
    try:
        tls, _ = listener.accept(timeout=TIMEOUT)
        tls.do_handshake()
    except ProtocolError as exc:
        errors.append(exc)
    finally:
        if tls is not None:
            tls.close()


@pytest.mark.parametrize("extra", [64 * 1024, 1024 * 1024])
def test_peer_receives_the_alert_not_a_reset(extra: int) -> None:
    chain, key = self_signed_localhost()
    config = TLSConfig(certificate_chain=chain, private_key=key,
                       cipher_suites=[lookup("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")])
    listener = TLSListener("127.0.0.1", 0, config, timeout=TIMEOUT)
    errors: list[BaseException] = []
    thread = threading.Thread(target=_serve_one, args=(listener, errors), daemon=True)
    thread.start()
    try:
        with socket.create_connection(listener.address, timeout=TIMEOUT) as sock:
            sock.sendall(_client_hello(0x009C))  # TLS_RSA_WITH_AES_128_GCM_SHA256: not the server's
            time.sleep(0.2)  # the server has failed and sent its alert by now
            # An application-data-looking flight the server never reads (it stopped at the alert).
            record = b"\x17\x03\x03" + struct.pack("!H", 16384) + bytes(16384)
            sent = 0
            while sent < extra:
                sock.sendall(record)
                sent += len(record)
            received = b""
            while True:
                chunk = sock.recv(65536)  # a reset raises ConnectionResetError here
                if not chunk:
                    break
                received += chunk
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert not thread.is_alive()
    assert len(errors) == 1 and "handshake_failure" in str(errors[0])
    # the alert record: fatal (2) handshake_failure (40), RFC 5246 §7.2
    assert received == b"\x15\x03\x03\x00\x02\x02\x28" or received.endswith(b"\x00\x02\x02\x28")


def test_drain_is_bounded_against_a_peer_that_never_stops(monkeypatch: Any) -> None:
    """A peer that keeps sending after the alert cannot hold the server's close for longer than the bound."""
    monkeypatch.setattr("tlsstate.io.sockets.DRAIN_SECONDS", 0.3)
    chain, key = self_signed_localhost()
    config = TLSConfig(certificate_chain=chain, private_key=key,
                       cipher_suites=[lookup("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")])
    listener = TLSListener("127.0.0.1", 0, config, timeout=TIMEOUT)
    errors: list[BaseException] = []
    done = threading.Event()

    def serve() -> None:
        _serve_one(listener, errors)
        done.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started = time.monotonic()
    try:
        with socket.create_connection(listener.address, timeout=TIMEOUT) as sock:
            sock.sendall(_client_hello(0x009C))
            sock.settimeout(0.05)
            while not done.is_set() and time.monotonic() - started < TIMEOUT:
                with contextlib.suppress(TimeoutError, OSError):
                    sock.sendall(bytes(1024))
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert not thread.is_alive()
    assert done.is_set() and time.monotonic() - started < 3.0


def test_asyncio_server_lets_the_alert_arrive() -> None:
    """The same peer against tlsstate.io.aio.start_server: the failed handshake's connection drains before closing."""
    import asyncio

    from tlsstate.io import aio

    chain, key = self_signed_localhost()
    config = TLSConfig(certificate_chain=chain, private_key=key,
                       cipher_suites=[lookup("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")])

    async def never_called(reader: aio.TLSStreamReader, writer: aio.TLSStreamWriter) -> None:
        raise AssertionError("the handshake cannot succeed")

    async def scenario() -> bytes:
        server = await aio.start_server(never_called, "127.0.0.1", 0, config)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_client_hello(0x009C))
            await writer.drain()
            await asyncio.sleep(0.2)
            record = b"\x17\x03\x03" + struct.pack("!H", 16384) + bytes(16384)
            for _ in range(64):  # 1 MiB the server never reads as TLS
                writer.write(record)
                await writer.drain()
            received = await asyncio.wait_for(reader.read(), TIMEOUT)  # until EOF; a reset raises
            writer.close()
            return received
        finally:
            server.close()
            await server.wait_closed()

    received = asyncio.run(asyncio.wait_for(scenario(), 2 * TIMEOUT))
    assert received.endswith(b"\x00\x02\x02\x28")  # fatal handshake_failure (RFC 5246 §7.2)
