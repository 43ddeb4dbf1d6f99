"""tlsstate.io.sockets: the blocking wrapper over real loopback TCP (tlsstate and CPython ssl as peers).

Peers other than tlsstate: CPython ``ssl`` (OpenSSL) as server and client, so these tests do not only
check tlsstate against itself. Every socket has a timeout; every thread is joined.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import self_signed_localhost
from tlsstate.crypto.suites import lookup
from tlsstate.io.sockets import TLSListener, TLSSocket, TLSTimeout
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import AlertReceived, ConnectionClosedError, ProtocolError

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Any], Any, Path, Path]:
    chain, key = self_signed_localhost()
    folder = tmp_path_factory.mktemp("io-cert")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(chain[0].public_bytes(Encoding.PEM))
    key_path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return chain, key, cert_path, key_path


def server_config(identity: tuple[list[Any], Any, Path, Path], **kw: Any) -> TLSConfig:
    return TLSConfig(certificate_chain=identity[0], private_key=identity[1], **kw)


def client_config(identity: tuple[list[Any], Any, Path, Path], **kw: Any) -> TLSConfig:
    kw.setdefault("cafile", str(identity[2]))
    kw.setdefault("server_name", "localhost")
    return TLSConfig(**kw)


class ServerThread:
    """Accept one connection on a TLSListener and run ``handler`` on it; keeps its exception."""

    def __init__(self, config: TLSConfig, handler: Callable[[TLSSocket], Any]) -> None:
        self.listener = TLSListener("127.0.0.1", 0, config, timeout=TIMEOUT)
        self.port = self.listener.address[1]
        self.handler = handler
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            tls, _ = self.listener.accept(timeout=TIMEOUT)
            with tls:
                self.result = self.handler(tls)
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> ServerThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(TIMEOUT)
        self.listener.close()
        assert not self.thread.is_alive()


def echo_until_close(tls: TLSSocket) -> bytes:
    tls.do_handshake()
    received = b""
    while chunk := tls.recv():
        received += chunk
        tls.sendall(chunk)
    return received


def test_tlsstate_both_ends_echo_and_close_notify(identity: Any) -> None:
    with (
        ServerThread(server_config(identity), echo_until_close) as server,
        TLSSocket.connect("127.0.0.1", server.port, client_config(identity), timeout=TIMEOUT) as tls,
    ):
        assert tls.handshake is not None and tls.handshake.version == ProtocolVersion.TLS1_2
        payload = bytes(range(256)) * 300  # 76.8 KB: several records
        tls.sendall(payload)
        got = b""
        while len(got) < len(payload):
            got += tls.recv(5000)
        assert got == payload
    assert server.error is None
    assert server.result == payload  # the server saw our close_notify as a clean end (recv returned b"")


def test_peer_fatal_alert_is_reported_by_name(identity: Any) -> None:
    """No common suite: the tlsstate server sends handshake_failure; the client raises AlertReceived naming it."""
    server_cfg = server_config(identity, cipher_suites=[lookup("TLS_RSA_WITH_AES_128_GCM_SHA256")])
    client_cfg = client_config(identity, cipher_suites=[lookup("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")])
    with (
        ServerThread(server_cfg, lambda tls: tls.do_handshake()) as server,
        pytest.raises(AlertReceived, match="handshake_failure"),
    ):
        TLSSocket.connect("127.0.0.1", server.port, client_cfg, timeout=TIMEOUT)
    assert isinstance(server.error, ProtocolError)
    assert server.error.alert.label == "handshake_failure"


def test_truncation_without_close_notify(identity: Any) -> None:
    """The server drops TCP without close_notify: recv raises ConnectionClosedError(clean=False) (RFC 5246 §7.2.1)."""

    def send_then_drop(tls: TLSSocket) -> None:
        tls.do_handshake()
        tls.sendall(b"partial")
        tls.sock.shutdown(socket.SHUT_RDWR)
        tls.sock.close()

    with (
        ServerThread(server_config(identity), send_then_drop) as server,
        TLSSocket.connect("127.0.0.1", server.port, client_config(identity), timeout=TIMEOUT) as tls,
    ):
        assert tls.recv() == b"partial"
        with pytest.raises(ConnectionClosedError) as info:
            tls.recv()
        assert info.value.clean is False


def test_timeout_is_typed(identity: Any) -> None:
    """A silent TCP peer: the handshake gives up with TLSTimeout, not a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        with pytest.raises(TLSTimeout):
            TLSSocket.connect("127.0.0.1", port, client_config(identity), timeout=0.3)


def test_server_survives_garbage(identity: Any) -> None:
    """Garbage instead of a ClientHello: the server side raises a typed ProtocolError and sends an alert."""

    def handshake(tls: TLSSocket) -> None:
        tls.do_handshake()

    with (
        ServerThread(server_config(identity), handshake) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw,
    ):
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
        answer = raw.recv(100)
    assert isinstance(server.error, ProtocolError)
    assert answer[:1] == bytes([21])  # an alert record came back


@contextlib.contextmanager
def _ssl_echo_server(ctx: ssl.SSLContext) -> Iterator[tuple[int, list[Any]]]:
    """A CPython ssl (OpenSSL) echo server for one connection on a free loopback port: yields the port and
    a list that receives (version, cipher) on handshake, or the exception that ended it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    seen: list[Any] = []

    def run() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            with ctx.wrap_socket(conn, server_side=True) as tls:
                seen.append((tls.version(), tls.cipher()[0]))
                while data := tls.recv(65536):
                    tls.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            seen.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], seen
    finally:
        thread.join(TIMEOUT)
        listener.close()


@pytest.fixture
def ssl_server(identity: Any) -> Iterator[tuple[int, list[Any]]]:
    """A CPython ssl (OpenSSL) TLS 1.2 echo server for one connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(identity[2], identity[3])
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with _ssl_echo_server(ctx) as server:
        yield server


def test_client_against_cpython_ssl_server(identity: Any, ssl_server: tuple[int, list[Any]]) -> None:
    port, seen = ssl_server
    with TLSSocket.connect("127.0.0.1", port, client_config(identity), timeout=TIMEOUT) as tls:
        assert tls.handshake is not None
        tls.sendall(b"ping over OpenSSL")
        assert tls.recv() == b"ping over OpenSSL"
        suite = tls.handshake.cipher_suite.openssl_name
    assert seen and seen[0] == ("TLSv1.2", suite)


def test_server_against_cpython_ssl_client(identity: Any) -> None:
    with ServerThread(server_config(identity), echo_until_close) as server:
        ctx = ssl.create_default_context(cafile=str(identity[2]))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.sendall(b"hello tlsstate server")
            assert tls.recv(100) == b"hello tlsstate server"
            tls.unwrap()  # close_notify both ways
    assert server.error is None and server.result == b"hello tlsstate server"


SSL_CASES = [  # (our version, ssl.TLSVersion, OpenSSL suite name)
    (ProtocolVersion.TLS1_0, ssl.TLSVersion.TLSv1, "ECDHE-RSA-AES256-SHA"),
    (ProtocolVersion.TLS1_1, ssl.TLSVersion.TLSv1_1, "AES128-SHA"),
    (ProtocolVersion.TLS1_2, ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES256-SHA384"),
    (ProtocolVersion.TLS1_2, ssl.TLSVersion.TLSv1_2, "AES256-GCM-SHA384"),
    (ProtocolVersion.TLS1_2, ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305"),
    (ProtocolVersion.TLS1_2, ssl.TLSVersion.TLSv1_2, "AES128-CCM"),
]


def _ssl_pin(ctx: ssl.SSLContext, version: ssl.TLSVersion, suite: str) -> None:
    ctx.minimum_version = ctx.maximum_version = version
    ctx.set_ciphers(f"{suite}:@SECLEVEL=0")


@pytest.mark.interop
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize(("version", "ssl_version", "suite"), SSL_CASES, ids=[c[2] for c in SSL_CASES])
def test_cpython_ssl_both_roles(identity: Any, version: ProtocolVersion, ssl_version: ssl.TLSVersion, suite: str) -> None:
    """Pinned version and suite, 100 KB each way, with CPython ssl as client and then as server."""
    ours = lookup(suite)
    data = bytes(range(251)) * 400
    # CPython ssl client -> tlsstate server
    with ServerThread(server_config(identity, min_version=version, max_version=version, cipher_suites=[ours]),
                      echo_until_close) as server:
        ctx = ssl.create_default_context(cafile=str(identity[2]))
        _ssl_pin(ctx, ssl_version, suite)
        with (
            socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.cipher()[0] == suite
            tls.sendall(data)
            got = b""
            while len(got) < len(data):
                got += tls.recv(65536)
            assert got == data
            tls.unwrap()
    assert server.error is None and server.result == data
    # tlsstate client -> CPython ssl server
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(identity[2], identity[3])
    _ssl_pin(ctx, ssl_version, suite)
    with _ssl_echo_server(ctx) as (port, seen):
        config = client_config(identity, min_version=version, max_version=version, cipher_suites=[ours])
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            tls.sendall(data)
            got = b""
            while len(got) < len(data):
                got += tls.recv()
            assert got == data
    assert seen and seen[0] == ({ProtocolVersion.TLS1_0: "TLSv1", ProtocolVersion.TLS1_1: "TLSv1.1",
                                  ProtocolVersion.TLS1_2: "TLSv1.2"}[version], suite)
