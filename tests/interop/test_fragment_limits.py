"""record_size_limit (RFC 8449) and max_fragment_length (RFC 6066 §4) against OpenSSL and in memory.

OpenSSL (CPython ``ssl`` and the ``openssl`` binary) negotiates max_fragment_length with us in both
roles and enforces it on what we send; our side enforces it on what OpenSSL sends (record_overflow
otherwise). record_size_limit, which OpenSSL 3 does not implement, is checked in memory: records we
send respect the peer's limit, and a record over our limit is record_overflow.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from tests.helpers.connections import client_config, completes, handshake, server_config
from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, SslPeer, exchange, pki, run_connect, s_server_www, serve, ssl_context, transfer  # noqa: F401
from tlsstate.connection import Connection
from tlsstate.crypto.suites import by_name
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import ProtocolError

pytestmark = [pytest.mark.interop, pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")]


def _record_lengths(data: bytes) -> list[int]:
    lengths, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("!H", data, offset + 3)
        lengths.append(length)
        offset += 5 + length
    assert offset == len(data)
    return lengths


@pytest.fixture(scope="module")
def pem_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mfl")


@pytest.mark.parametrize("size", [512, 1024, 2048, 4096])
@pytest.mark.parametrize("name", ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA256"])
def test_our_client_max_fragment_length_with_openssl(pem_dir: Path, size: int, name: str) -> None:
    """OpenSSL's server honours our max_fragment_length; ours would raise record_overflow on a bigger record."""
    ctx = ssl_context(True, ProtocolVersion.TLS1_2, by_name(name), pem_dir, "rsa")
    peer = SslPeer(ctx, server_side=True)
    conn = Connection(client_config(max_fragment_length=size), server_side=False)
    conn.start_handshake()
    exchange(conn, peer)
    assert conn.read_state.max_plaintext_length == size
    transfer(conn, peer, 20000)
    conn.send_data(bytes(3 * size))
    assert len(_record_lengths(conn.bytes_to_send())) == 3


def test_openssl_s_client_maxfraglen_against_serve(tmp_path: Path) -> None:
    openssl = require_binary("openssl")
    with serve(["--count", "1"]) as server:
        out = subprocess.run(
            [openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2", "-maxfraglen", "512", "-tlsextdebug"],
            input=b"x" * 3000 + b"\n", capture_output=True, timeout=TIMEOUT,
        )
        server.finish()
    assert out.returncode == 0, out.stderr
    assert b'TLS server extension "max fragment length" (id=1), len=1' in out.stdout  # echoed (RFC 6066 §4)
    assert b"Cipher is ECDHE" in out.stdout  # and OpenSSL accepted our 512-byte records (else record_overflow)


def test_record_size_limit_in_memory() -> None:
    client, server, client_events, _ = handshake(client_config(record_size_limit=256), server_config("rsa"))
    completes(client_events)
    assert client.read_state.max_plaintext_length == 256
    server.send_data(bytes(5000))
    assert len(_record_lengths(server.bytes_to_send())) == 20  # ceil(5000 / 256)
    client.send_data(bytes(5000))
    assert len(_record_lengths(client.bytes_to_send())) == 1  # the server announced 16384


def test_record_over_record_size_limit_is_record_overflow() -> None:
    client, server, _, _ = handshake(client_config(record_size_limit=256), server_config("rsa"))
    server._send_limit = 16384  # a peer that ignores our limit
    server.send_data(bytes(1000))
    with pytest.raises(ProtocolError) as info:
        client.receive_bytes(server.bytes_to_send())
        while client.next_event() is not None:
            pass
    assert info.value.alert == AlertDescription.RECORD_OVERFLOW


def test_record_size_limit_wins_over_max_fragment_length() -> None:
    """RFC 8449 §5: a server given both uses record_size_limit."""
    client, server, client_events, _ = handshake(
        client_config(record_size_limit=1000, max_fragment_length=512), server_config("rsa", record_size_limit=2000)
    )
    completes(client_events)
    assert client.read_state.max_plaintext_length == 1000
    assert server.read_state.max_plaintext_length == 2000
    server.send_data(bytes(3000))
    assert len(_record_lengths(server.bytes_to_send())) == 3


def test_connect_max_fragment_length_against_s_server(pki: dict[str, Path]) -> None:  # noqa: F811
    with s_server_www(pki, []) as port:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--max-fragment-length", "512",
                           "--record-size-limit", "1024", "--wait", "2"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"HTTP/1.0 200 ok") and len(out.stdout) > 512  # the page came in 512-byte records
