"""The ssl-like Context API (tlsstate.io.context) against CPython ``ssl`` peers (OpenSSL) over loopback.

Each side's view is checked against the *peer's* report: ssl's version()/cipher()/ALPN and the
certificate bytes the peer really holds; data is compared by SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.helpers.connections import HOST, write_pem
from tlsstate.crypto.certs import UnknownCA
from tlsstate.io.context import TLSContext
from tlsstate.wire.errors import AlertReceived, ConfigurationError, ProtocolError

pytestmark = [pytest.mark.timeout(60), pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")]


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    return write_pem(Path(tmp_path_factory.mktemp("ctx")), "rsa")


@contextmanager
def peer_thread(target: Callable[[socket.socket], Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """A listening socket on a free loopback port; ``target(conn)`` runs in a thread; its result in box['result']."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(20)
            with conn:
                box["result"] = target(conn)
        except BaseException as exc:  # reported to the test
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], box
    finally:
        thread.join(25)
        listener.close()


def der_of(certfile: str) -> bytes:
    return x509.load_pem_x509_certificate(Path(certfile).read_bytes()).public_bytes(Encoding.DER)


@pytest.mark.parametrize(("version", "cipher"), [
    (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256"),
    (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305"),
    (ssl.TLSVersion.TLSv1_2, "AES256-SHA256"),
    (ssl.TLSVersion.TLSv1_1, "ECDHE-RSA-AES256-SHA"),
    (ssl.TLSVersion.TLSv1, "AES128-SHA"),
])
def test_client_against_ssl_server(pem: tuple[str, str, str], version: ssl.TLSVersion, cipher: str) -> None:
    cert, key, ca = pem
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.minimum_version = server_ctx.maximum_version = version
    server_ctx.set_ciphers(cipher + ":@SECLEVEL=0")
    server_ctx.set_alpn_protocols(["http/1.1"])
    payload = os.urandom(200_000)

    def serve(conn: socket.socket) -> tuple[str | None, Any, str | None, bytes]:
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            data = b""
            while len(data) < len(payload):
                data += tls.recv(65536)
            tls.sendall(hashlib.sha256(data).digest())
            return tls.version(), tls.cipher(), tls.selected_alpn_protocol(), data

    ctx = TLSContext()
    ctx.load_verify_locations(ca)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    with peer_thread(serve) as (port, box):  # noqa: SIM117
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=HOST) as tls:
            assert tls.send(payload) == len(payload)
            assert tls.recv(32) == hashlib.sha256(payload).digest()
            ours = (tls.version(), tls.cipher(), tls.selected_alpn_protocol(), tls.getpeercert(binary_form=True))
            dict_form = tls.getpeercert()
    assert "error" not in box, box.get("error")
    their_version, their_cipher, their_alpn, _ = box["result"]
    assert ours[0] == their_version
    assert ours[1] is not None and ours[1][0] == their_cipher[0] == cipher and ours[1][2] == their_cipher[2]
    assert ours[2] == their_alpn == "http/1.1"
    assert ours[3] == der_of(cert)
    assert ("DNS", HOST) in dict_form["subjectAltName"]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_2])
def test_server_against_ssl_client(pem: tuple[str, str, str], version: ssl.TLSVersion) -> None:
    cert, key, ca = pem
    ctx = TLSContext(server_side=True)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    ctx.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA:AES128-SHA")
    payload = os.urandom(100_000)

    def serve(conn: socket.socket) -> tuple[str | None, Any, str | None, bytes]:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            data = b""
            while len(data) < len(payload):
                data += tls.recv(65536)
            tls.sendall(data[::-1])
            return tls.version(), tls.cipher(), tls.selected_alpn_protocol(), data

    client_ctx = ssl.create_default_context(cafile=ca)
    client_ctx.minimum_version = client_ctx.maximum_version = version
    client_ctx.set_ciphers("ALL:@SECLEVEL=0")
    client_ctx.set_alpn_protocols(["h2"])
    with peer_thread(serve) as (port, box):  # noqa: SIM117
        with client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=HOST) as tls:
            tls.sendall(payload)
            back = b""
            while len(back) < len(payload):
                back += tls.recv(65536)
            theirs = (tls.version(), tls.cipher(), tls.selected_alpn_protocol())
    assert "error" not in box, box.get("error")
    assert back == payload[::-1]
    ours = box["result"]
    assert ours[0] == theirs[0]
    assert ours[1][0] == theirs[1][0] and ours[1][2] == theirs[1][2]
    assert ours[2] == theirs[2] == "h2"


def _ssl_server(cert: str, key: str) -> Callable[[socket.socket], Any]:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)

    def serve(conn: socket.socket) -> None:
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(10)
        except (ssl.SSLError, OSError):
            pass

    return serve


def test_unknown_ca_and_wrong_name_fail(pem: tuple[str, str, str], tmp_path: Path) -> None:
    cert, key, _ca = pem
    ctx = TLSContext()  # system trust store: the test CA is unknown
    with peer_thread(_ssl_server(cert, key)) as (port, _box), pytest.raises(UnknownCA):
        ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=HOST)
    ctx2 = TLSContext()
    ctx2.load_verify_locations(_ca)
    with peer_thread(_ssl_server(cert, key)) as (port, _box), pytest.raises(ProtocolError):
        ctx2.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="other.example")


def test_chain_checked_without_hostname(pem: tuple[str, str, str]) -> None:
    """check_hostname=False + CERT_REQUIRED: any name passes, but an unknown CA still fails (like ssl)."""
    cert, key, ca = pem
    ctx = TLSContext()
    ctx.check_hostname = False
    ctx.load_verify_locations(ca)
    with peer_thread(_ssl_server(cert, key)) as (port, _box):  # noqa: SIM117
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="other.example") as tls:
            assert tls.version() == "TLSv1.3"  # the default context goes up to TLS 1.3, like ssl's
    ctx_no_ca = TLSContext()
    ctx_no_ca.check_hostname = False
    with peer_thread(_ssl_server(cert, key)) as (port, _box), pytest.raises(UnknownCA):
        ctx_no_ca.wrap_socket(socket.create_connection(("127.0.0.1", port)))


def test_version_mismatch_is_an_alert(pem: tuple[str, str, str]) -> None:
    cert, key, ca = pem
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_2

    def serve(conn: socket.socket) -> None:
        with suppress(ssl.SSLError, OSError):
            server_ctx.wrap_socket(conn, server_side=True).recv(1)

    ctx = TLSContext()
    ctx.load_verify_locations(ca)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    with peer_thread(serve) as (port, _box), pytest.raises(AlertReceived, match="protocol_version"):
        ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname=HOST)


def test_configuration_errors(pem: tuple[str, str, str]) -> None:
    ctx = TLSContext()
    with pytest.raises(ConfigurationError):
        ctx.set_ciphers("NOT-A-SUITE")
    with pytest.raises(ConfigurationError):
        ctx.config(None)  # check_hostname without a server name
    ctx.verify_mode = ssl.CERT_NONE
    with pytest.raises(ConfigurationError):
        ctx.config(HOST)  # check_hostname with CERT_NONE, as ssl refuses
    with pytest.raises(ConfigurationError):
        TLSContext(server_side=True).config()  # a server without a certificate


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files

    folder = tmp_path_factory.mktemp("ctx-client")
    ca, ca_key = make_ca("context client CA", "ecdsa-p256")
    leaf, leaf_key = issue_certificate(ca, ca_key, ["client.example"], "ecdsa-p256")
    (folder / "ca.pem").write_bytes(certificate_pem(ca))
    write_pem_files(leaf, leaf_key, folder / "client.pem", folder / "client.key")
    return {"ca": str(folder / "ca.pem"), "cert": str(folder / "client.pem"), "key": str(folder / "client.key")}


def test_server_cert_required_against_ssl_client(pem: tuple[str, str, str], client_pki: dict[str, str]) -> None:
    """verify_mode=CERT_REQUIRED on our server: ssl's client certificate arrives intact; none is refused."""
    cert, key, ca = pem
    ctx = TLSContext(server_side=True)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(client_pki["ca"])
    ctx.verify_mode = ssl.CERT_REQUIRED

    def serve(conn: socket.socket) -> bytes:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"hi")
            return bytes(tls.getpeercert(binary_form=True))

    client_ctx = ssl.create_default_context(cafile=ca)
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    client_ctx.load_cert_chain(client_pki["cert"], client_pki["key"])
    with peer_thread(serve) as (port, box), client_ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname=HOST) as tls:
        assert tls.recv(2) == b"hi"
    assert "error" not in box, box.get("error")
    assert box["result"] == der_of(client_pki["cert"])

    bare_ctx = ssl.create_default_context(cafile=ca)
    bare_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with peer_thread(serve) as (port, box), suppress(ssl.SSLError, OSError), bare_ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname=HOST) as tls:
        tls.recv(2)
    assert isinstance(box.get("error"), ProtocolError), box


def test_client_certificate_to_ssl_server(pem: tuple[str, str, str], client_pki: dict[str, str]) -> None:
    """load_cert_chain on a client context: an ssl server with CERT_REQUIRED verifies our certificate."""
    cert, key, ca = pem
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.load_verify_locations(client_pki["ca"])
    server_ctx.verify_mode = ssl.CERT_REQUIRED

    def serve(conn: socket.socket) -> bytes | None:
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"ok")
            return tls.getpeercert(binary_form=True)

    ctx = TLSContext()
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(client_pki["cert"], client_pki["key"])
    with peer_thread(serve) as (port, box), ctx.wrap_socket(
            socket.create_connection(("127.0.0.1", port)), server_hostname=HOST) as tls:
        assert tls.recv(2) == b"ok"
    assert "error" not in box, box.get("error")
    assert box["result"] == der_of(client_pki["cert"])
