"""The I/O wrappers over TLS 1.3 (RFC 9846): the asyncio streams against CPython's asyncio TLS server, the blocking
socket's listener against a CPython ``ssl`` client, and ``TLSContext`` reporting TLS 1.3 like ``ssl`` does. Data
is compared by SHA-256; the peers' own reports (``version()``, ``cipher()``) name what was negotiated."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import threading
from pathlib import Path

import pytest

from tests.helpers.connections import HOST, client_config, server_config, write_pem
from tlsstate.io import aio
from tlsstate.io.context import TLSContext
from tlsstate.io.sockets import TLSListener
from tlsstate.wire.constants import ProtocolVersion

pytestmark = pytest.mark.timeout(60)
TLS13 = ProtocolVersion.TLS1_3
MIB = 1 << 20


def test_aio_client_against_cpython_asyncio_tls13_server(tmp_path: Path) -> None:
    cert, key, _ca = write_pem(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    payload = os.urandom(MIB)

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=ctx)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await aio.open_connection("127.0.0.1", port, client_config(max_version=TLS13))
            assert writer.get_extra_info("tls_version") == TLS13
            assert writer.get_extra_info("cipher").startswith("TLS_AES_")

            async def send() -> None:
                for i in range(0, MIB, 100_000):
                    writer.write(payload[i:i + 100_000])
                    await writer.drain()

            sender = asyncio.create_task(send())
            got = await reader.readexactly(MIB)
            await sender
            assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
            writer.close()
            await writer.wait_closed()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_listener_serves_cpython_ssl_client_tls13(tmp_path: Path) -> None:
    ca = write_pem(tmp_path)[2]
    listener = TLSListener("127.0.0.1", 0, server_config(max_version=TLS13), timeout=10)
    payload = os.urandom(MIB)
    done: list[bytes] = []

    def serve() -> None:
        tls, _ = listener.accept(timeout=10)
        with tls:
            got = bytearray()
            while len(got) < MIB:
                got += tls.recv()
            tls.sendall(hashlib.sha256(got).digest())
            done.append(bytes(got))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        client = ssl.create_default_context(cafile=ca)
        with client.wrap_socket(socket.create_connection(listener.address, timeout=10), server_hostname=HOST) as s:
            assert s.version() == "TLSv1.3"
            s.sendall(payload)
            assert s.recv(32) == hashlib.sha256(payload).digest()
        thread.join(10)
    finally:
        listener.close()
    assert done and hashlib.sha256(done[0]).digest() == hashlib.sha256(payload).digest()


def test_context_reports_tls13_like_ssl(tmp_path: Path) -> None:
    cert, key, ca = write_pem(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]

        def accept() -> None:
            conn, _ = sock.accept()
            with server.wrap_socket(conn, server_side=True) as s:
                s.sendall(s.recv(5))

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        ctx = TLSContext()
        ctx.load_verify_locations(ca)
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=HOST) as tls:
            assert tls.version() == "TLSv1.3"
            assert tls.cipher()[0].startswith("TLS_AES_") and tls.cipher()[1] == "TLSv1.3"
            tls.sendall(b"hello")
            assert tls.recv(5) == b"hello"
        thread.join(10)
