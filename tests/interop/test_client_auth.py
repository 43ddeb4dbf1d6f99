"""Client certificates (RFC 5246 §7.4.4, §7.4.6, §7.4.8) against OpenSSL (CPython ``ssl`` over MemoryBIO).

Our server asks for and verifies an OpenSSL client's certificate and CertificateVerify (RSA and ECDSA,
TLS 1.0-1.2); our client presents a certificate to an OpenSSL server that requires one. In memory:
a CertificateVerify by the wrong key is decrypt_error, a required certificate not sent is
handshake_failure, an unknown issuer is unknown_ca, an expired server certificate certificate_expired.
"""

from __future__ import annotations

import datetime
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.helpers.connections import HOST, client_config, handshake, server_config
from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, SslPeer, exchange, run_connect, s_server_www, serve, ssl_context, transfer
from tests.helpers.peers import pki as pki_cli  # noqa: F401  (fixture)
from tlsstate.connection import Connection
from tlsstate.crypto import certs
from tlsstate.crypto.suites import by_name
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import AlertReceived, ProtocolError

pytestmark = [pytest.mark.interop, pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")]

VERSIONS = [ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_2]
KEYS = ["rsa2048", "ecdsa-p256"]


class ClientPki:
    """A client CA and one client leaf per key type, also as PEM files."""

    def __init__(self, directory: Path) -> None:
        self.ca, self.ca_key = certs.make_ca("tlsstate client CA")
        self.cafile = str(directory / "client-ca.pem")
        Path(self.cafile).write_bytes(certs.certificate_pem(self.ca))
        self.leaves: dict[str, tuple[x509.Certificate, certs.PrivateKey, str, str]] = {}
        for key_type in KEYS:
            leaf, key = certs.issue_certificate(self.ca, self.ca_key, ["client.example"], key_type)
            cert_path, key_path = directory / f"client-{key_type}.crt", directory / f"client-{key_type}.key"
            cert_path.write_bytes(certs.certificate_pem(leaf))
            key_path.write_bytes(certs.private_key_pem(key))
            self.leaves[key_type] = (leaf, key, str(cert_path), str(key_path))


@pytest.fixture(scope="module")
def pem_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clientauth")


@pytest.fixture(scope="module")
def pki(pem_dir: Path) -> ClientPki:
    return ClientPki(pem_dir)


def _suite(version: ProtocolVersion) -> str:
    return "ECDHE-RSA-AES128-GCM-SHA256" if version == ProtocolVersion.TLS1_2 else "ECDHE-RSA-AES128-SHA"


@pytest.mark.parametrize("key_type", KEYS)
@pytest.mark.parametrize("version", VERSIONS, ids=[v.cli_name for v in VERSIONS])
def test_our_server_verifies_openssl_client_certificate(
    pem_dir: Path, pki: ClientPki, version: ProtocolVersion, key_type: str
) -> None:
    leaf, _, cert_path, key_path = pki.leaves[key_type]
    ctx = ssl_context(False, version, by_name(_suite(version)), pem_dir, "rsa")
    ctx.load_cert_chain(cert_path, key_path)
    peer = SslPeer(ctx, server_side=False)
    conn = Connection(
        server_config("rsa", min_version=version, max_version=version, verify_client="required", client_cafile=pki.cafile),
        server_side=True,
    )
    exchange(conn, peer)
    assert conn.peer_certificates[0] == leaf
    assert conn.handshake_info is not None and conn.handshake_info.peer_certificates[0] == leaf  # the event carries it
    transfer(conn, peer, 5000)


def test_required_without_certificate_is_handshake_failure(pem_dir: Path, pki: ClientPki) -> None:
    peer = SslPeer(ssl_context(False, ProtocolVersion.TLS1_2, None, pem_dir, "rsa"), server_side=False)
    conn = Connection(server_config("rsa", verify_client="required", client_cafile=pki.cafile), server_side=True)
    with pytest.raises(ProtocolError) as info:
        exchange(conn, peer)
    assert info.value.alert == AlertDescription.HANDSHAKE_FAILURE


def test_optional_without_certificate_completes(pem_dir: Path, pki: ClientPki) -> None:
    peer = SslPeer(ssl_context(False, ProtocolVersion.TLS1_2, None, pem_dir, "rsa"), server_side=False)
    conn = Connection(server_config("rsa", verify_client="optional", client_cafile=pki.cafile), server_side=True)
    exchange(conn, peer)
    assert conn.peer_certificates == []
    assert conn.handshake_info is not None and conn.handshake_info.peer_certificates == ()
    transfer(conn, peer, 100)


@pytest.mark.parametrize("key_type", KEYS)
@pytest.mark.parametrize("version", VERSIONS, ids=[v.cli_name for v in VERSIONS])
def test_our_client_certificate_accepted_by_openssl(
    pem_dir: Path, pki: ClientPki, version: ProtocolVersion, key_type: str
) -> None:
    leaf, key, _, _ = pki.leaves[key_type]
    ctx = ssl_context(True, version, by_name(_suite(version)), pem_dir, "rsa")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(pki.cafile)
    peer = SslPeer(ctx, server_side=True)
    conn = Connection(
        client_config(min_version=version, max_version=version, client_certificate_chain=[leaf], client_private_key=key),
        server_side=False,
    )
    conn.start_handshake()
    exchange(conn, peer)
    got = peer.obj.getpeercert(binary_form=True)
    assert got == leaf.public_bytes(serialization.Encoding.DER)  # OpenSSL verified chain and CertificateVerify
    transfer(conn, peer, 5000)


def test_openssl_requires_certificate_we_have_none(pem_dir: Path) -> None:
    ctx = ssl_context(True, ProtocolVersion.TLS1_2, None, pem_dir, "rsa")
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(str(pem_dir / "rsa-ca.crt"))
    peer = SslPeer(ctx, server_side=True)
    conn = Connection(client_config(), server_side=False)
    conn.start_handshake()
    with pytest.raises((ssl.SSLError, AlertReceived)):
        exchange(conn, peer)


def test_certificate_verify_by_wrong_key_is_decrypt_error(pki: ClientPki) -> None:
    leaf, _, _, _ = pki.leaves["rsa2048"]
    other = certs.generate_private_key("rsa2048")
    for version in VERSIONS:
        with pytest.raises(ProtocolError) as info:
            handshake(
                client_config(min_version=version, max_version=version,
                              client_certificate_chain=[leaf], client_private_key=other),
                server_config("rsa", verify_client="required", client_cafile=pki.cafile),
            )
        assert info.value.alert == AlertDescription.DECRYPT_ERROR


def test_client_certificate_from_unknown_ca(pki: ClientPki) -> None:
    stranger_ca, stranger_key = certs.make_ca("someone else")
    leaf, key = certs.issue_certificate(stranger_ca, stranger_key, ["client.example"], "ecdsa-p256")
    with pytest.raises(ProtocolError) as info:
        handshake(
            client_config(client_certificate_chain=[leaf], client_private_key=key),
            server_config("rsa", verify_client="optional", client_cafile=pki.cafile),
        )
    assert info.value.alert == AlertDescription.UNKNOWN_CA


def test_expired_server_certificate_is_certificate_expired(tmp_path: Path) -> None:
    """The client checks the chain with certs.verify_server_certificate: certificate_expired (RFC 5246 §7.2.2)."""
    ca, ca_key = certs.make_ca("expired test CA", days=3650)
    long_ago = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    leaf, key = certs.issue_certificate(
        ca, ca_key, [HOST], "ecdsa-p256", not_before=long_ago, not_after=long_ago + datetime.timedelta(days=30)
    )
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(certs.certificate_pem(ca))
    server = server_config("p256")
    server.certificate_chain, server.private_key = [leaf], key
    with pytest.raises(ProtocolError) as info:
        handshake(client_config(verify=True, cafile=str(cafile)), server)
    assert info.value.alert == AlertDescription.CERTIFICATE_EXPIRED


# ------------------------------------------------------------------ CLI against the openssl binary


def _s_client(port: int, *extra: str, data: bytes = b"hello\n") -> subprocess.CompletedProcess[bytes]:
    openssl = require_binary("openssl")
    return subprocess.run(
        [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", *extra],
        input=data, capture_output=True, timeout=TIMEOUT,
    )


def test_serve_requires_client_certificate_from_s_client(pki_cli: dict[str, Path]) -> None:  # noqa: F811
    args = ["--cert", str(pki_cli["cert"]), "--key", str(pki_cli["key"]), "--verify-client", "required",
            "--client-ca", str(pki_cli["ca"]), "--count", "2"]
    with serve(args) as server:
        ok = _s_client(server.port, "-cert", str(pki_cli["cert"]), "-key", str(pki_cli["key"]))
        refused = _s_client(server.port)
        server.finish()
    assert ok.returncode == 0 and b"New, TLSv1.2, Cipher is ECDHE" in ok.stdout, ok.stderr
    assert b"Acceptable client certificate CA names" in ok.stdout and b"CN = tlsstate cli CA" in ok.stdout
    assert refused.returncode != 0 and b"alert handshake failure" in refused.stderr  # alert 40 (RFC 5246 §7.4.6)


def test_connect_presents_certificate_to_s_server(pki_cli: dict[str, Path]) -> None:  # noqa: F811
    with s_server_www(pki_cli, ["-Verify", "1", "-CAfile", str(pki_cli["ca"])]) as port:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki_cli["ca"]), "--cert", str(pki_cli["cert"]),
                           "--key", str(pki_cli["key"]), "--wait", "2"])
        without = run_connect([f"localhost:{port}", "--cafile", str(pki_cli["ca"]), "--wait", "2"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(b"HTTP/1.0 200 ok")
    assert b"Client certificate" in out.stdout or b"TLSv1.3" in out.stdout
    assert without.returncode != 0 or not without.stdout.startswith(b"HTTP/1.0 200 ok")
