"""SSL 3.0 client authentication (RFC 6101 §5.6.6, §5.6.8) and TLS_FALLBACK_SCSV (RFC 7507).

The SSL 3.0 handshake, MAC, padding and Finished against tlslite-ng in both roles are in
tests/test_interop_tlslite.py; here: an SSL 3.0 CertificateVerify (master-secret hashes) verified by
tlslite-ng's client signing and by our own server, the no_certificate warning path, and the fallback
SCSV answered with inappropriate_fallback to ``openssl s_client -fallback_scsv``.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.helpers.connections import client_config, completes, handshake, server_config
from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, serve
from tlsstate.connection import Connection
from tlsstate.crypto import certs
from tlsstate.crypto.suites import by_name
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import ProtocolError

pytestmark = pytest.mark.interop

SSL3 = {"min_version": ProtocolVersion.SSL3, "max_version": ProtocolVersion.SSL3, "enable_ssl3": True,
        "cipher_suites": [by_name("TLS_RSA_WITH_AES_128_CBC_SHA")]}


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("ssl3")
    ca, ca_key = certs.make_ca("ssl3 client CA")
    leaf, key = certs.issue_certificate(ca, ca_key, ["client.example"], "rsa2048")
    (folder / "ca.pem").write_bytes(certs.certificate_pem(ca))
    return {"cafile": str(folder / "ca.pem"), "leaf": leaf, "key": key}


def test_ssl3_client_certificate_in_memory(client_pki: dict[str, Any]) -> None:
    _, server, client_events, _ = handshake(
        client_config(**SSL3, client_certificate_chain=[client_pki["leaf"]], client_private_key=client_pki["key"]),
        server_config("rsa", **SSL3, verify_client="required", client_cafile=client_pki["cafile"]),
    )
    assert completes(client_events).version == ProtocolVersion.SSL3
    assert server.peer_certificates == [client_pki["leaf"]]


def test_ssl3_bad_certificate_verify_is_decrypt_error(client_pki: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as info:
        handshake(
            client_config(**SSL3, client_certificate_chain=[client_pki["leaf"]],
                          client_private_key=certs.generate_private_key("rsa2048")),
            server_config("rsa", **SSL3, verify_client="required", client_cafile=client_pki["cafile"]),
        )
    assert info.value.alert == AlertDescription.DECRYPT_ERROR


def test_ssl3_no_certificate_warning(client_pki: dict[str, Any]) -> None:
    _, server, client_events, _ = handshake(
        client_config(**SSL3), server_config("rsa", **SSL3, verify_client="optional", client_cafile=client_pki["cafile"])
    )
    completes(client_events)
    assert server.peer_certificates == []
    with pytest.raises(ProtocolError) as info:
        handshake(client_config(**SSL3),
                  server_config("rsa", **SSL3, verify_client="required", client_cafile=client_pki["cafile"]))
    assert info.value.alert == AlertDescription.HANDSHAKE_FAILURE


def test_tlslite_ssl3_client_certificate_against_our_server(client_pki: dict[str, Any]) -> None:
    tlslite = pytest.importorskip("tlslite")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    box: dict[str, Any] = {}
    config = server_config("rsa", **SSL3, verify_client="required", client_cafile=client_pki["cafile"])

    def run() -> None:
        try:
            conn, _ = listener.accept()
            with TLSSocket(conn, Connection(config, server_side=True), server_side=True, timeout=TIMEOUT) as tls:
                tls.do_handshake()
                data = b""
                while len(data) < 10:  # tlslite splits CBC records 1/n-1
                    chunk = tls.recv(100)
                    assert chunk
                    data += chunk
                tls.sendall(data[::-1])
                box["peer"] = tls.connection.peer_certificates
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        settings = tlslite.HandshakeSettings()
        settings.minVersion = settings.maxVersion = (3, 0)
        settings.cipherNames = ["aes128"]
        chain = tlslite.X509CertChain()
        chain.parsePemList(certs.certificate_pem(client_pki["leaf"]).decode())
        key_pem = client_pki["key"].private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode()
        client = tlslite.TLSConnection(socket.create_connection(listener.getsockname(), timeout=TIMEOUT))
        try:
            client.handshakeClientCert(chain, tlslite.parsePEMKey(key_pem, private=True), settings=settings)
            client.write(b"hello ssl3")
            back = b""
            while len(back) < 10:
                back += client.read(max=100)
            assert back == b"3lss olleh"
        finally:
            client.close()
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert box["peer"] == [client_pki["leaf"]]


@pytest.mark.parametrize(("flag", "refused"), [("-tls1_1", True), ("-tls1", True), ("-tls1_2", False)])
def test_fallback_scsv_against_serve(flag: str, refused: bool) -> None:
    """RFC 7507 §3: SCSV with a version below our highest -> inappropriate_fallback; at our highest it is fine."""
    openssl = require_binary("openssl")
    with serve(["--count", "1", "--ciphers", "ECDHE-RSA-AES128-SHA,ECDHE-RSA-AES128-GCM-SHA256"]) as server:
        out = subprocess.run(
            [openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", flag, "-fallback_scsv",
             "-cipher", "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"],
            input=b"", capture_output=True, timeout=TIMEOUT,
        )
        server.finish()
    if refused:
        assert out.returncode != 0 and b"inappropriate fallback" in out.stderr, out.stderr
    else:
        assert out.returncode == 0 and b"Protocol  : TLSv1.2" in out.stdout and b"Cipher is ECDHE" in out.stdout, out.stderr


def test_fallback_scsv_in_memory_unused_path() -> None:
    """Our own client never sends the SCSV: a TLS 1.1-only client to a TLS 1.2 server completes at TLS 1.1."""
    _, _, events, _ = handshake(client_config(max_version=ProtocolVersion.TLS1_1), server_config("rsa"))
    assert completes(events).version == ProtocolVersion.TLS1_1

