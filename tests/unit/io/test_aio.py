"""asyncio streams (tlsstate.io.aio): echo, 1 MiB both ways, cancellation, backpressure, CPython ssl peers.

Interop peers are CPython's own asyncio TLS (``ssl=`` streams over OpenSSL); data is compared by SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.connections import HOST, client_config, server_config, write_pem
from tlsstate.io import aio
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import AlertReceived, ProtocolError, TLSError

pytestmark = pytest.mark.timeout(60)
MIB = 1 << 20


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, 30)

    return asyncio.run(bounded())


async def serving(handler: Callable[[aio.TLSStreamReader, aio.TLSStreamWriter], Awaitable[None]],
                  **config: object) -> tuple[asyncio.Server, int]:
    server = await aio.start_server(handler, "127.0.0.1", 0, server_config(**config))
    return server, server.sockets[0].getsockname()[1]


async def echo(reader: aio.TLSStreamReader, writer: aio.TLSStreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


def test_echo_lines_and_extra_info() -> None:
    async def main() -> None:
        server, port = await serving(echo)
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, client_config(alpn_protocols=["h2"]))
            writer.write(b"hello\nworld\n")
            await writer.drain()
            assert await reader.readline() == b"hello\n"
            assert await reader.readexactly(6) == b"world\n"
            assert writer.get_extra_info("tls_version") == ProtocolVersion.TLS1_2
            assert writer.get_extra_info("cipher").startswith("TLS_ECDHE_")
            assert writer.get_extra_info("peercert")[:1] == b"\x30"
            assert writer.get_extra_info("peername")[1] == port
            writer.close()
            await writer.wait_closed()

    run(main())


def test_one_mib_both_ways() -> None:
    payload = os.urandom(MIB)

    async def main() -> None:
        server, port = await serving(echo)
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, client_config())

            async def send() -> None:
                for i in range(0, MIB, 100_000):
                    writer.write(payload[i:i + 100_000])
                    await writer.drain()

            sender = asyncio.create_task(send())
            got = await reader.readexactly(MIB)
            await sender
            assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
            writer.close()

    run(main())


def test_cancelled_write_leaves_only_whole_records() -> None:
    """A writer cancelled while blocked in drain: the peer later decrypts every byte (no torn record)."""
    chunk = b"x" * 50_000
    received: list[bytes] = []
    server_may_read = asyncio.Event

    async def main() -> None:
        gate = server_may_read()

        async def slow(reader: aio.TLSStreamReader, writer: aio.TLSStreamWriter) -> None:
            await gate.wait()
            received.append(await reader.read())  # until close_notify; a torn record would fail the MAC
            writer.close()

        server, port = await serving(slow)
        async with server:
            _reader, writer = await aio.open_connection("127.0.0.1", port, client_config())
            writer.transport.set_write_buffer_limits(high=16_384)  # type: ignore[attr-defined]
            written = 0

            async def flood() -> None:
                nonlocal written
                while True:
                    writer.write(chunk)
                    written += 1
                    await writer.drain()

            task = asyncio.create_task(flood())
            await asyncio.sleep(0.3)
            assert not task.done()  # blocked in drain: the peer is not reading
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            writer.write(b"END")
            gate.set()
            writer.close()
            await writer.wait_closed()
            for _ in range(300):
                if received:
                    break
                await asyncio.sleep(0.05)
            assert received == [chunk * written + b"END"]

    run(main())


def test_backpressure_with_slow_reader() -> None:
    """drain() blocks while the peer does not read: the sender's buffer stays bounded."""
    async def main() -> None:
        gate = asyncio.Event()
        total = bytearray()

        async def slow(reader: aio.TLSStreamReader, writer: aio.TLSStreamWriter) -> None:
            await gate.wait()
            total.extend(await reader.read())
            writer.close()

        server, port = await serving(slow)
        async with server:
            _reader, writer = await aio.open_connection("127.0.0.1", port, client_config())
            writer.transport.set_write_buffer_limits(high=65_536)  # type: ignore[attr-defined]
            sent = 0

            async def flood() -> None:
                nonlocal sent
                while sent < 64 * MIB:
                    writer.write(b"y" * 65_536)
                    sent += 65_536
                    await writer.drain()

            task = asyncio.create_task(flood())
            await asyncio.sleep(0.5)
            stalled_at = sent
            assert stalled_at < 16 * MIB  # kernel buffers + one high-water mark, far from 64 MiB
            assert writer.transport.get_write_buffer_size() < 200_000  # type: ignore[attr-defined]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            gate.set()
            writer.close()
            await writer.wait_closed()
            for _ in range(300):
                if total:
                    break
                await asyncio.sleep(0.05)
            assert len(total) == sent

    run(main())


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    return write_pem(Path(tmp_path_factory.mktemp("aio")), "rsa")


def test_cpython_asyncio_ssl_client_against_our_server(pem: tuple[str, str, str]) -> None:
    _cert, _key, ca = pem
    payload = os.urandom(300_000)

    async def main() -> None:
        server, port = await serving(echo)
        async with server:
            ctx = ssl.create_default_context(cafile=ca)
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=HOST)
            writer.write(payload)
            await writer.drain()
            got = await reader.readexactly(len(payload))
            assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
            assert writer.get_extra_info("ssl_object").version() == "TLSv1.2"
            writer.close()

    run(main())


def test_our_client_against_cpython_asyncio_ssl_server(pem: tuple[str, str, str]) -> None:
    cert, key, ca = pem
    payload = os.urandom(300_000)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.readexactly(len(payload))
        writer.write(hashlib.sha256(data).digest())
        await writer.drain()
        writer.close()

    async def main() -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ctx)
        async with server:
            port = server.sockets[0].getsockname()[1]
            reader, writer = await aio.open_connection("127.0.0.1", port, client_config(verify=True, cafile=ca))
            writer.write(payload)
            await writer.drain()
            assert await reader.readexactly(32) == hashlib.sha256(payload).digest()
            writer.close()

    run(main())


def test_handshake_failure_is_typed() -> None:
    """A client whose suites the server does not share gets the server's fatal alert as AlertReceived."""
    async def main() -> None:
        server, port = await serving(echo, max_version=ProtocolVersion.TLS1_0, min_version=ProtocolVersion.TLS1_0)
        async with server:
            with pytest.raises((AlertReceived, ProtocolError)):
                await aio.open_connection("127.0.0.1", port, client_config(min_version=ProtocolVersion.TLS1_2))

    run(main())


def test_cancelled_read_loses_nothing() -> None:
    """A read cancelled while waiting leaves the stream usable: later data arrives whole and in order."""
    async def main() -> None:
        go = asyncio.Event()

        async def late(reader: aio.TLSStreamReader, writer: aio.TLSStreamWriter) -> None:
            await go.wait()
            writer.write(b"first;")
            writer.write(b"second")
            await writer.drain()
            writer.close()

        server, port = await serving(late)
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, client_config())
            pending = asyncio.create_task(reader.read(100))
            await asyncio.sleep(0.1)
            pending.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pending
            go.set()
            assert await reader.read() == b"first;second"
            assert reader.at_eof()
            writer.close()

    run(main())


def test_renegotiate_over_asyncio_streams() -> None:
    """RFC 5746: the asyncio client renegotiates with the asyncio server (client_renegotiation); the echo goes on
    in the new epoch; without client_renegotiation the refusal raises and the connection carries on."""
    async def main() -> None:
        for allowed in (True, False):
            server, port = await serving(echo, client_renegotiation=allowed)
            async with server:
                reader, writer = await aio.open_connection("127.0.0.1", port, client_config())
                writer.write(b"before\n")
                assert await reader.readline() == b"before\n"
                if allowed:
                    done = await writer.renegotiate()
                    assert done.renegotiation and writer.connection.handshakes == 2
                else:
                    with pytest.raises(TLSError, match="refused"):
                        await writer.renegotiate()
                    assert writer.connection.handshakes == 1
                writer.write(b"after\n")
                assert await reader.readline() == b"after\n"
                writer.close()
                await writer.wait_closed()

    run(main())
