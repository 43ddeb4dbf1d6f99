"""STARTTLS with a real server from Debian's packages (issue 13 item 4): PostgreSQL with ``ssl = on``.

A throwaway cluster (initdb, loopback only, trust authentication for TLS connections) is started on a free port;
the client speaks the PostgreSQL protocol itself (SSLRequest, answered "S"; then TLS with CPython ``ssl`` and its
key log; StartupMessage, a query, Terminate) and keeps every plaintext byte both ways. The loopback capture must
show one TLS connection after a plaintext prelude named ``postgresql`` (8 bytes SSLRequest / 1 byte "S"), whose
decrypted bytes are the client's and tshark's (``-d tcp.port==N,pgsql``: its dissector follows the SSLRequest).
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture, stop_process
from tests.helpers.env import free_port, require_binary
from tlsstate.capture.decrypt import decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.crypto.certs import generate_self_signed, write_pem_files

pytestmark = pytest.mark.interop

SSL_REQUEST = struct.pack(">II", 8, 80877103)  # PostgreSQL protocol: length 8, code 1234 << 16 | 5679
START_TIMEOUT = 30.0


def _postgres_bin() -> Path:
    found = shutil.which("postgres") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI but not installed (see .ci/run)")
        pytest.skip("PostgreSQL not installed")
    return Path(found).resolve().parent


def _as_owner(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: then it runs as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Server:
    port: int
    folder: Path


@pytest.fixture(scope="module")
def postgres() -> Iterator[Server]:
    bindir = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="tlsstate-pg-"))
    try:
        data = folder / "data"
        cert, key = generate_self_signed(["localhost"], "ecdsa-p256", days=1)
        write_pem_files(cert, key, folder / "server.crt", folder / "server.key")
        os.chmod(folder / "server.key", 0o600)
        if os.geteuid() == 0:
            for path in (folder, folder / "server.crt", folder / "server.key"):
                shutil.chown(path, "postgres", "postgres")
        subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-A", "reject", "-U", "postgres"]),
                       check=True, capture_output=True, timeout=120)
        (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 trust\n")
        port = free_port()
        proc = subprocess.Popen(_as_owner([
            str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-c", "listen_addresses=127.0.0.1",
            "-c", f"unix_socket_directories={folder}", "-c", "ssl=on", "-c", f"ssl_cert_file={folder / 'server.crt'}",
            "-c", f"ssl_key_file={folder / 'server.key'}"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        pytest.skip("PostgreSQL did not start here")
                    time.sleep(0.1)
            yield Server(port, folder)
        finally:
            stop_process(proc, timeout=20)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Client:
    """The frontend side of the PostgreSQL protocol over TLS, keeping every plaintext byte each way."""

    def __init__(self, tls: ssl.SSLSocket) -> None:
        self.tls = tls
        self.sent = bytearray()
        self.received = bytearray()
        self._pending = bytearray()

    def send(self, kind: bytes, body: bytes) -> None:
        message = kind + struct.pack(">I", 4 + len(body)) + body
        self.tls.sendall(message)
        self.sent += message

    def _more(self) -> bytes:
        try:
            chunk = self.tls.recv(65536)
        except (ssl.SSLError, OSError):
            return b""
        self.received += chunk
        return chunk

    def until_ready(self) -> list[tuple[bytes, bytes]]:
        """Backend messages (type, body) up to and including ReadyForQuery."""
        messages = []
        while True:
            got = self._pending
            while len(got) < 5 or len(got) < 1 + struct.unpack_from(">I", got, 1)[0]:
                chunk = self._more()
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                got += chunk
            length = struct.unpack_from(">I", got, 1)[0]
            messages.append((bytes(got[:1]), bytes(got[5 : 1 + length])))
            del got[: 1 + length]
            if messages[-1][0] == b"Z":
                return messages

    def drain(self) -> None:
        while self._more():
            pass


def _session(port: int, keylog: Path) -> tuple[bytes, bytes, list[tuple[bytes, bytes]]]:
    """One PostgreSQL session over TLS: (client's plaintext, server's plaintext, the query's messages)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = str(keylog)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(SSL_REQUEST)
        assert raw.recv(1) == b"S"  # the server agrees to TLS
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            client = _Client(tls)
            params = b"user\0postgres\0database\0postgres\0\0"
            startup = struct.pack(">II", 8 + len(params), 196608) + params  # StartupMessage, protocol 3.0
            tls.sendall(startup)
            client.sent += startup
            assert not [m for m in client.until_ready() if m[0] == b"E"]
            client.send(b"Q", b"SELECT 'decrypted by tlsstate', 6 * 7\0")
            answer = client.until_ready()
            client.send(b"X", b"")  # Terminate
            client.drain()
    return bytes(client.sent), bytes(client.received), answer


def _tshark_follow(path: Path, keylog: Path, port: int) -> tuple[bytes, bytes]:
    out = subprocess.run(
        [require_binary("tshark"), "-r", str(path), "-o", f"tls.keylog_file:{keylog}", "-d", f"tcp.port=={port},pgsql",
         "-q", "-z", "follow,tls,raw,0"], capture_output=True, text=True, timeout=120).stdout
    node0 = out.split("Node 0:", 1)[1].split("\n", 1)[0].strip()
    body = out.split("Node 1:", 1)[1].split("\n", 1)[1]
    first, second = bytearray(), bytearray()
    for line in body.splitlines():
        if line.startswith("====="):
            break
        (second if line.startswith("\t") else first).extend(bytes.fromhex(line.strip()))
    client_first = not node0.endswith(f":{port}")
    return (bytes(first), bytes(second)) if client_first else (bytes(second), bytes(first))


def test_a_real_postgresql_upgrade_decrypts_like_tshark(postgres: Server, tmp_path: Path) -> None:
    keylog, path = tmp_path / "keys.log", tmp_path / "postgres.pcapng"
    with loopback_capture(path, [postgres.port]):
        sent, received, answer = _session(postgres.port, keylog)
    assert any(kind == b"D" and b"decrypted by tlsstate" in body and b"42" in body for kind, body in answer)
    keys = KeySource()
    keys.add_keylog_file(keylog)
    (conn,) = [c.to_json() for c in decrypt_capture(path, keys).connections]
    assert conn["prelude"] == {"protocol": "postgresql", "client_to_server_bytes": 8, "server_to_client_bytes": 1}
    assert conn["client_to_server_sha256"] == hashlib.sha256(sent).hexdigest()
    assert conn["server_to_client_sha256"] == hashlib.sha256(received).hexdigest()
    assert conn["records_failed"] == 0 and conn["records_undecryptable"] == 0 and conn["finished_verified"] is True
    client, server = _tshark_follow(path, keylog, postgres.port)
    assert (client, server) == (sent, received)
