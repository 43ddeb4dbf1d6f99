"""Test helpers for live peers, shared by many test modules.

- ``tlsstate serve`` / ``tlsstate connect`` as child processes (:class:`Serve`, :func:`serve`, :func:`run_connect`),
  ``openssl s_server -www`` (:func:`s_server_www`) and a CA-issued localhost identity (the ``pki`` fixture).
- CPython ``ssl`` (OpenSSL) over MemoryBIO against a sans-I/O :class:`~tlsstate.connection.Connection`
  (:class:`SslPeer`, :func:`exchange`, :func:`transfer`, :func:`shutdown`, :func:`ssl_context`).

Every process is started with a timeout and killed in a ``finally``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.connections import HOST, write_pem
from tests.helpers.env import free_port, require_binary
from tlsstate.connection import Connection
from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files
from tlsstate.crypto.suites import CipherSuite
from tlsstate.events import ApplicationData, Event
from tlsstate.wire.constants import ProtocolVersion

TLSSTATE = [sys.executable, "-c", "import sys; from tlsstate.cli.main import main; sys.exit(main())"]
TIMEOUT = 20.0

# --------------------------------------------------------------------- tlsstate serve / connect, s_server


def make_cli_pki(folder: Path) -> dict[str, Path]:
    """A test CA, a localhost leaf it issued (PEM files) and an unrelated CA, in ``folder``."""
    ca_cert, ca_key = make_ca("tlsstate cli CA", "rsa2048")
    leaf, leaf_key = issue_certificate(ca_cert, ca_key, ["localhost", "127.0.0.1"], "rsa2048")
    (folder / "ca.pem").write_bytes(certificate_pem(ca_cert))
    write_pem_files(leaf, leaf_key, folder / "leaf.pem", folder / "leaf.key")
    other_ca, _ = make_ca("some other CA", "ecdsa-p256")
    (folder / "other-ca.pem").write_bytes(certificate_pem(other_ca))
    return {"ca": folder / "ca.pem", "cert": folder / "leaf.pem", "key": folder / "leaf.key",
            "other_ca": folder / "other-ca.pem"}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """:func:`make_cli_pki` once per module (import it as a fixture: ``from peers import pki``)."""
    return make_cli_pki(tmp_path_factory.mktemp("cli-pki"))


class Serve:
    """``tlsstate serve`` as a child process; ``port`` is read from its ACCEPT line."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([*TLSSTATE, "serve", "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.port = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        assert self.ready.wait(TIMEOUT), "serve did not start"

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))
            match = re.match(r"ACCEPT [\d.]+:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                self.ready.set()
        self.ready.set()

    def finish(self) -> int:
        try:
            return self.proc.wait(TIMEOUT)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.reader.join(5)


@contextmanager
def serve(args: list[str]) -> Iterator[Serve]:
    server = Serve(args)
    try:
        yield server
    finally:
        server.stop()



@contextmanager
def s_server_www(pki: dict[str, Path], extra: list[str], keylog: Path | None = None) -> Iterator[int]:
    openssl = require_binary("openssl")
    port = free_port()
    args = [openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki["cert"]), "-key", str(pki["key"]),
            "-www", *extra]
    if keylog:
        args += ["-keylogfile", str(keylog)]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:  # s_server -www accepts any number of connections: probe it
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(5)


def run_connect(args: list[str], stdin: bytes = b"GET / HTTP/1.0\r\n\r\n") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*TLSSTATE, "connect", *args], input=stdin, capture_output=True, timeout=TIMEOUT)



# --------------------------------------------------------------------- CPython ssl over MemoryBIO

SSL_VERSIONS = {
    ProtocolVersion.TLS1_0: ssl.TLSVersion.TLSv1,
    ProtocolVersion.TLS1_1: ssl.TLSVersion.TLSv1_1,
    ProtocolVersion.TLS1_2: ssl.TLSVersion.TLSv1_2,
}


def ssl_context(
    server_side: bool, version: ProtocolVersion, suite: CipherSuite | None, pem: Path, kind: str
) -> ssl.SSLContext:
    """An OpenSSL context pinned to one version (and suite), SECLEVEL 0 so TLS 1.0/1.1 are allowed."""
    cert, key, ca = write_pem(pem, kind)
    if server_side:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca)
    ctx.minimum_version = SSL_VERSIONS[version]
    ctx.maximum_version = SSL_VERSIONS[version]
    ctx.set_ciphers(f"{suite.openssl_name if suite else 'ALL'}:@SECLEVEL=0")
    return ctx


class SslPeer:
    """An ``ssl.SSLObject`` over two MemoryBIOs."""

    def __init__(self, ctx: ssl.SSLContext, server_side: bool, session: ssl.SSLSession | None = None) -> None:
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(
            self.incoming, self.outgoing, server_side=server_side,
            server_hostname=None if server_side else HOST, session=session,
        )
        self.done = False

    def step(self) -> None:
        if not self.done:
            try:
                self.obj.do_handshake()
                self.done = True
            except ssl.SSLWantReadError:
                pass


def exchange(conn: Connection, peer: SslPeer, rounds: int = 40) -> list[Event]:
    """Drive both sides until the handshake is done on both and no bytes move."""
    events: list[Event] = []
    for _ in range(rounds):
        peer.step()
        data = peer.outgoing.read()
        if data:
            conn.receive_bytes(data)
        while (event := conn.next_event()) is not None:
            events.append(event)
        out = conn.bytes_to_send()
        if out:
            peer.incoming.write(out)
        if peer.done and conn.handshake_complete and not data and not out:
            break
    assert peer.done and conn.handshake_complete, (conn, events)
    return events


def shutdown(peer: SslPeer) -> None:
    """Have the ssl peer send its close_notify."""
    with contextlib.suppress(ssl.SSLWantReadError):
        peer.obj.unwrap()


def transfer(conn: Connection, peer: SslPeer, size: int) -> None:
    """``size`` random bytes each way; compare SHA-256 digests."""
    to_peer, to_us = os.urandom(size), os.urandom(size)
    conn.send_data(to_peer)
    peer.incoming.write(conn.bytes_to_send())
    got = bytearray()
    while len(got) < size:
        got += peer.obj.read(size - len(got))
    assert hashlib.sha256(got).digest() == hashlib.sha256(to_peer).digest()
    view = memoryview(to_us)
    sent = 0
    while sent < size:
        sent += peer.obj.write(view[sent:])
    conn.receive_bytes(peer.outgoing.read())
    ours = bytearray()
    while (event := conn.next_event()) is not None:
        assert isinstance(event, ApplicationData)
        ours += event.data
    assert hashlib.sha256(ours).digest() == hashlib.sha256(to_us).digest()

