"""TLS 1.3 (RFC 9846) against the other peers, both roles where the peer has both: CPython ``ssl`` (client and server,
over memory BIOs, 1 MiB each way by hash), ``curl --tlsv1.3`` against ``tlsstate serve --www``, GnuTLS
(``gnutls-cli`` against our server, our client against ``gnutls-serv``). Checked by what the peer itself reports
(``SSLObject.version()``/``cipher()``, curl's page and verbose output, GnuTLS's description line) and data hashes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.connections import HOST, credentials, write_pem
from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import SslPeer, exchange, shutdown, transfer
from tests.helpers.peers import serve as tlsstate_serve
from tests.interop.test_interop_gnutls import run_gnutls_cli
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import by_name
from tlsstate.events import HandshakeComplete
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.constants import NamedGroup, ProtocolVersion

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TLS13 = ProtocolVersion.TLS1_3
TIMEOUT = 20.0
MIB = 1 << 20
SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]


def _ssl13(server_side: bool, tmp: Path, kind: str = "rsa") -> ssl.SSLContext:
    cert, key, ca = write_pem(tmp, kind)
    if server_side:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(ca)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def _completes(events: list[object]) -> HandshakeComplete:
    found = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(found) == 1, events
    return found[0]


# ------------------------------------------------------------------------------- CPython ssl


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("kind", ["rsa", "p256"])
def test_our_client_against_cpython_ssl_server(suite: str, kind: str, tmp_path: Path) -> None:
    chain, _ = credentials(kind)
    ours = by_name(suite)
    assert ours is not None
    config = TLSConfig(max_version=TLS13, cipher_suites=[ours], server_name=HOST, cafile=None, verify=False)
    conn = Connection(config, server_side=False)
    conn.start_handshake()
    peer = SslPeer(_ssl13(True, tmp_path, kind), server_side=True)
    peer.incoming.write(conn.bytes_to_send())
    hs = _completes(exchange(conn, peer))
    assert (hs.version, hs.cipher_suite.name, hs.key_exchange_group) == (TLS13, suite, NamedGroup.X25519)
    assert peer.obj.version() == "TLSv1.3" and peer.obj.cipher()[0] == suite
    assert hs.peer_certificates[0] == chain[0]
    transfer(conn, peer, MIB)
    shutdown(peer)


@pytest.mark.parametrize("suite", SUITES)
@pytest.mark.parametrize("kind", ["rsa", "p384"])
def test_cpython_ssl_client_against_our_server(suite: str, kind: str, tmp_path: Path) -> None:
    chain, key = credentials(kind)
    ours = by_name(suite)
    assert ours is not None
    config = TLSConfig(max_version=TLS13, cipher_suites=[ours], certificate_chain=[chain[0]], private_key=key)
    conn = Connection(config, server_side=True)
    peer = SslPeer(_ssl13(False, tmp_path, kind), server_side=False)  # verifies our chain and host name
    hs = _completes(exchange(conn, peer))
    assert (hs.version, hs.cipher_suite.name, hs.server_name) == (TLS13, suite, HOST)
    assert peer.obj.version() == "TLSv1.3" and peer.obj.cipher()[0] == suite
    transfer(conn, peer, MIB)


def test_cpython_ssl_client_default_context_negotiates_tls13(tmp_path: Path) -> None:
    """An unpinned ``ssl.create_default_context()`` client and our default-versions server meet at TLS 1.3."""
    chain, key = credentials("rsa")
    config = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key)
    conn = Connection(config, server_side=True)
    ctx = ssl.create_default_context(cafile=write_pem(tmp_path, "rsa")[2])
    hs = _completes(exchange(conn, SslPeer(ctx, server_side=False)))
    assert hs.version == TLS13


# ------------------------------------------------------------------------------- curl


def _pki(tmp: Path) -> tuple[str, str, str]:
    return write_pem(tmp, "rsa")


def test_curl_tlsv13_against_tlsstate_serve(tmp_path: Path) -> None:
    """The issue's first symptom: ``curl --tlsv1.3`` against ``tlsstate serve`` got handshake_failure."""
    curl = require_binary("curl")
    cert, key, ca = _pki(tmp_path)
    with tlsstate_serve(["--www", "--cert", cert, "--key", key, "--count", "1"]) as server:
        result = subprocess.run(
            [curl, "-sS", "-v", "--tlsv1.3", "--cacert", ca, "--resolve", f"{HOST}:{server.port}:127.0.0.1",
             f"https://{HOST}:{server.port}/"],
            capture_output=True, timeout=TIMEOUT,
        )
        server.finish()
    page, verbose = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 0, verbose[-1500:]
    assert "SSL connection using TLSv1.3 / TLS_AES_" in verbose or "TLSv1.3 (IN)" in verbose
    assert "TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" in page or "TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" in page
    assert "<th>Group</th><td>x25519</td>" in page
    assert any("TLS 1.3" in line and "x25519" in line for line in server.lines), server.lines


# ------------------------------------------------------------------------------- GnuTLS


def test_gnutls_cli_against_our_server(tmp_path: Path) -> None:
    cert, key, ca = _pki(tmp_path)
    with tlsstate_serve(["--www", "--cert", cert, "--key", key, "--count", "1"]) as server:
        _code, text = run_gnutls_cli(
            ["--x509cafile", ca, "-p", str(server.port), HOST, "--priority",
             "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-SECP256R1"],
            tmp_path / "cli.out", request=b"GET / HTTP/1.0\r\n\r\n",
        )
        server.finish()
    line = next((ln for ln in text.splitlines() if "- Description:" in ln), "")
    assert "(TLS1.3" in line and "(ECDHE-SECP256R1)" in line, text[-1500:]
    assert "TLSv1.3, Cipher is TLS_AES_" in text and "<th>Group</th><td>secp256r1</td>" in text
    assert any("TLS 1.3" in ln and "secp256r1" in ln for ln in server.lines), server.lines


def test_our_client_against_gnutls_serv(tmp_path: Path) -> None:
    gnutls_serv = require_binary("gnutls-serv")
    cert, key, ca = _pki(tmp_path)
    port = free_port()
    proc = subprocess.Popen(
        [gnutls_serv, "--echo", "--port", str(port), "--x509certfile", cert, "--x509keyfile", key,
         "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # it logs every line it echoes: never a full pipe
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        config = TLSConfig(max_version=TLS13, cafile=ca, server_name=HOST)
        upload = b"".join(os.urandom(256).hex().encode() + b"\n" for _ in range(MIB // 513))  # gnutls-serv echoes lines
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            assert tls.handshake is not None
            assert tls.handshake.version == TLS13
            assert tls.handshake.cipher_suite.name == "TLS_CHACHA20_POLY1305_SHA256"
            got = bytearray()
            for offset in range(0, len(upload), 513 * 32):  # read the echo as we go (no TCP deadlock)
                piece = upload[offset:offset + 513 * 32]
                tls.sendall(piece)
                while len(got) < offset + len(piece):
                    chunk = tls.recv()
                    if not chunk:
                        break
                    got += chunk
        assert hashlib.sha256(got).digest() == hashlib.sha256(upload).digest()
    finally:
        proc.kill()
        proc.wait(5)


@pytest.mark.parametrize("server_side", [False, True], ids=["our-client", "our-server"])
def test_automatic_key_update_with_cpython_ssl(server_side: bool, tmp_path: Path) -> None:
    """key_update_after=8: a KeyUpdate every 8 records of 1 MiB each way (RFC 9846 §5.5); CPython's OpenSSL follows
    every one (the hashes match) and our direction went through the expected number of epochs."""
    chain, key = credentials("rsa")
    if server_side:
        config = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key, key_update_after=8)
        conn = Connection(config, server_side=True)
        peer = SslPeer(_ssl13(False, tmp_path), server_side=False)
    else:
        config = TLSConfig(max_version=TLS13, server_name=HOST, verify=False, key_update_after=8)
        conn = Connection(config, server_side=False)
        conn.start_handshake()
        peer = SslPeer(_ssl13(True, tmp_path), server_side=True)
        peer.incoming.write(conn.bytes_to_send())
    _completes(exchange(conn, peer))
    transfer(conn, peer, MIB)
    assert conn.write_state.epoch == 2 + (MIB // 16384) // 8


def test_curl_hello_retry_named_in_serve_log_and_page(tmp_path: Path) -> None:
    """serve --groups secp256r1 and curl sharing only X25519: a HelloRetryRequest, which the page and the log name."""
    curl = require_binary("curl")
    cert, key, ca = _pki(tmp_path)
    with tlsstate_serve(["--www", "--cert", cert, "--key", key, "--count", "1", "--groups", "secp256r1"]) as server:
        result = subprocess.run(
            [curl, "-sS", "--tlsv1.3", "--curves", "X25519:P-256", "--cacert", ca, "--resolve",
             f"{HOST}:{server.port}:127.0.0.1", f"https://{HOST}:{server.port}/"],
            capture_output=True, timeout=TIMEOUT,
        )
        server.finish()
    page = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()[-800:]
    assert "<th>Group</th><td>secp256r1</td>" in page and "<th>HelloRetryRequest</th><td>yes</td>" in page
    assert any("TLS 1.3" in ln and "secp256r1 HRR" in ln for ln in server.lines), server.lines


# ------------------------------------------------------------------------------- post-handshake authentication


def _client_identity(tmp: Path) -> tuple[Any, Any, str, str, str]:
    """A client certificate (clientAuth) from its own CA: (certificate, key, cert file, key file, CA file)."""
    from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files

    ca, ca_key = make_ca("tlsstate client CA", "ecdsa-p256")
    leaf, leaf_key = issue_certificate(ca, ca_key, ["client.example"], "ecdsa-p256")
    (tmp / "client-ca.pem").write_bytes(certificate_pem(ca))
    write_pem_files(leaf, leaf_key, tmp / "client.pem", tmp / "client.key")
    return leaf, leaf_key, str(tmp / "client.pem"), str(tmp / "client.key"), str(tmp / "client-ca.pem")


def test_post_handshake_auth_our_server_cpython_client(tmp_path: Path) -> None:
    """RFC 9846 §4.6.2: CPython's client offers post_handshake_auth; after the handshake our server asks, OpenSSL
    answers with its certificate, CertificateVerify and Finished; the chain arrives as a PeerCertificates event."""
    from tlsstate.events import PeerCertificates

    chain, key = credentials("rsa")
    leaf, _, cert, key_file, ca = _client_identity(tmp_path)
    # no CertificateRequest in the handshake (verify_client "none"); the CA checks the post-handshake answer
    config = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key, client_cafile=ca)
    conn = Connection(config, server_side=True)
    ctx = _ssl13(False, tmp_path)
    ctx.post_handshake_auth = True
    ctx.load_cert_chain(cert, key_file)
    peer = SslPeer(ctx, server_side=False)
    hs = _completes(exchange(conn, peer))
    assert hs.peer_certificates == ()
    conn.request_client_certificate()
    peer.incoming.write(conn.bytes_to_send())
    with pytest.raises(ssl.SSLWantReadError):
        peer.obj.read(1)  # OpenSSL answers the CertificateRequest while reading
    conn.receive_bytes(peer.outgoing.read())
    events = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    assert events == [PeerCertificates((leaf,))] and conn.peer_certificates == [leaf]
    transfer(conn, peer, 1 << 16)


def test_post_handshake_auth_our_client_cpython_server(tmp_path: Path) -> None:
    """Our client offers post_handshake_auth; CPython's server calls verify_client_post_handshake(); our answer is
    verified by OpenSSL (getpeercert() then names our certificate) and the data keeps flowing."""
    leaf, leaf_key, _, _, ca = _client_identity(tmp_path)
    config = TLSConfig(max_version=TLS13, verify=False, server_name=HOST, post_handshake_auth=True,
                       client_certificate_chain=[leaf], client_private_key=leaf_key)
    conn = Connection(config, server_side=False)
    conn.start_handshake()
    ctx = _ssl13(True, tmp_path)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.post_handshake_auth = True
    ctx.load_verify_locations(ca)
    peer = SslPeer(ctx, server_side=True)
    peer.incoming.write(conn.bytes_to_send())
    _completes(exchange(conn, peer))
    assert peer.obj.getpeercert() in (None, {})
    peer.obj.verify_client_post_handshake()
    peer.obj.write(b"who are you?")
    conn.receive_bytes(peer.outgoing.read())
    got = b""
    while (event := conn.next_event()) is not None:
        got += getattr(event, "data", b"")
    assert got == b"who are you?"
    peer.incoming.write(conn.bytes_to_send())  # Certificate, CertificateVerify, Finished
    conn.send_data(b"me")
    peer.incoming.write(conn.bytes_to_send())
    assert peer.obj.read(2) == b"me"
    subject = dict(x[0] for x in peer.obj.getpeercert()["subject"])
    assert subject["commonName"] == "client.example"
