"""TLS 1.3 client certificates (RFC 9846 §4.3.2, §4.4.2-§4.4.3), both roles, against OpenSSL 3.0 on loopback.

- ``openssl s_client -tls1_3 -cert`` -> our server with ``verify_client`` required: our CertificateRequest, its
  chain verified against our client CA, its CertificateVerify (client context string) checked; without a
  certificate the handshake ends in certificate_required (§4.4.2.4), which s_client reports; "optional" lets it in.
- our client with a certificate -> ``openssl s_server -tls1_3 -Verify 1``: s_server verifies our chain and
  CertificateVerify and prints our certificate's subject; without one, s_server refuses us.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.env import free_port
from tests.interop.test_interop_openssl import TIMEOUT, OurServer, Peer, openssl, read_exactly
from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import AlertReceived, ProtocolError

pytestmark = pytest.mark.interop
TLS13 = ProtocolVersion.TLS1_3


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("tls13-client-auth")
    ca, ca_key = make_ca("tlsstate 1.3 CA", "rsa2048")
    (folder / "ca.pem").write_bytes(certificate_pem(ca))
    server, server_key = issue_certificate(ca, ca_key, ["localhost", "127.0.0.1"], "rsa2048")
    write_pem_files(server, server_key, folder / "server.pem", folder / "server.key")
    client, client_key = issue_certificate(ca, ca_key, ["client.example"], "ecdsa-p256")
    write_pem_files(client, client_key, folder / "client.pem", folder / "client.key")
    return {"ca": folder / "ca.pem", "server": ([server], server_key), "client": ([client], client_key),
            "server_files": (folder / "server.pem", folder / "server.key"),
            "client_files": (folder / "client.pem", folder / "client.key")}


def _server_config(pki: dict[str, Any], verify_client: str) -> TLSConfig:
    chain, key = pki["server"]
    return TLSConfig(max_version=TLS13, certificate_chain=chain, private_key=key, verify_client=verify_client,
                     client_cafile=str(pki["ca"]))


def _s_client(pki: dict[str, Any], port: int, *extra: str) -> Peer:
    return Peer([openssl(), "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-CAfile", str(pki["ca"]),
                 "-servername", "localhost", "-quiet", *extra], stdin=b"ping\n")


@pytest.mark.parametrize("verify_client", ["required", "optional"])
def test_s_client_certificate_verified_by_our_server(pki: dict[str, Any], verify_client: str) -> None:
    cert, key = pki["client_files"]
    with OurServer(_server_config(pki, verify_client), lambda tls: read_exactly(tls, 5)) as server:
        peer = _s_client(pki, server.port, "-cert", str(cert), "-key", str(key))
        try:
            server.thread.join(TIMEOUT)
            peer.finish()
        finally:
            peer.stop()
    assert not server.errors, server.errors
    hs = server.handshakes[0]
    assert hs is not None and hs.version == TLS13
    assert hs.peer_certificates[0] == pki["client"][0][0]
    assert server.results == [b"ping\n"]


def test_s_client_without_certificate_gets_certificate_required(pki: dict[str, Any]) -> None:
    with OurServer(_server_config(pki, "required"), lambda tls: read_exactly(tls, 5)) as server:
        peer = _s_client(pki, server.port)
        try:
            server.thread.join(TIMEOUT)
            peer.finish()
        finally:
            peer.stop()
    assert server.errors and isinstance(server.errors[0], ProtocolError)
    assert server.errors[0].alert == AlertDescription.CERTIFICATE_REQUIRED
    assert "certificate required" in peer.text()


def test_s_client_without_certificate_optional_completes(pki: dict[str, Any]) -> None:
    with OurServer(_server_config(pki, "optional"), lambda tls: read_exactly(tls, 5)) as server:
        peer = _s_client(pki, server.port)
        try:
            server.thread.join(TIMEOUT)
            peer.finish()
        finally:
            peer.stop()
    assert not server.errors, server.errors
    assert server.handshakes[0] is not None and server.handshakes[0].peer_certificates == ()
    assert server.results == [b"ping\n"]


def _s_server(pki: dict[str, Any]) -> tuple[Peer, int]:
    port = free_port()
    cert, key = pki["server_files"]
    peer = Peer([openssl(), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
                 "-naccept", "1", "-tls1_3", "-Verify", "1", "-CAfile", str(pki["ca"]), "-rev"])
    peer.wait_for("ACCEPT")
    return peer, port


def test_our_client_certificate_verified_by_s_server(pki: dict[str, Any]) -> None:
    chain, key = pki["client"]
    config = TLSConfig(max_version=TLS13, cafile=str(pki["ca"]), server_name="localhost",
                       client_certificate_chain=chain, client_private_key=key)
    peer, port = _s_server(pki)
    try:
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            assert tls.handshake is not None and tls.handshake.version == TLS13
            tls.sendall(b"abc\n")
            assert read_exactly(tls, 4) == b"cba\n"
        peer.wait_for("CONNECTION CLOSED")
    finally:
        peer.stop()
    text = peer.text()
    assert "Protocol version: TLSv1.3" in text
    assert "client.example" in text or "verify return:1" in text


def test_our_client_without_certificate_refused_by_s_server(pki: dict[str, Any]) -> None:
    config = TLSConfig(max_version=TLS13, cafile=str(pki["ca"]), server_name="localhost")
    peer, port = _s_server(pki)
    try:
        with pytest.raises((AlertReceived, OSError)), TLSSocket.connect("127.0.0.1", port, config,
                                                                        timeout=TIMEOUT) as tls:
            tls.sendall(b"abc\n")
            read_exactly(tls, 4)
            raise AssertionError("s_server answered a client without a certificate")
        peer.wait_for("peer did not return a certificate")
    finally:
        peer.stop()
