"""HTTPS clients against ``tlsstate serve --www``: curl (OpenSSL) and Python's urllib / http.client (CPython ssl).

The server identity is a test CA + leaf made with :mod:`tlsstate.crypto.certs`; every client verifies it with
the CA (no ``-k``). The page names the negotiated parameters ("Cipher is <OpenSSL name>"), which are
compared with what the client itself reports (curl's ``%{ssl_cipher}``-free output, ssl's ``cipher()``).
"""

from __future__ import annotations

import http.client
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.env import require_binary
from tests.helpers.peers import serve as tlsstate_serve
from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TIMEOUT = 20.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("https-pki")
    ca_cert, ca_key = make_ca("tlsstate https CA", "rsa2048")
    leaf, leaf_key = issue_certificate(ca_cert, ca_key, ["localhost", "127.0.0.1"], "rsa2048")
    (folder / "ca.pem").write_bytes(certificate_pem(ca_cert))
    write_pem_files(leaf, leaf_key, folder / "leaf.pem", folder / "leaf.key")
    client_ca, client_ca_key = make_ca("tlsstate client CA", "ecdsa-p256")
    client, client_key = issue_certificate(client_ca, client_ca_key, ["client.example"], "ecdsa-p256")
    (folder / "client-ca.pem").write_bytes(certificate_pem(client_ca))
    write_pem_files(client, client_key, folder / "client.pem", folder / "client.key")
    return {"ca": folder / "ca.pem", "cert": folder / "leaf.pem", "key": folder / "leaf.key",
            "client_ca": folder / "client-ca.pem", "client_cert": folder / "client.pem",
            "client_key": folder / "client.key"}


def identity(pki: dict[str, Path]) -> list[str]:
    return ["--www", "--cert", str(pki["cert"]), "--key", str(pki["key"])]


CURL_CASES = [  # (curl options, serve options, expected page line, page fragments)
    (["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"], [],
     "TLSv1.2, Cipher is ECDHE-RSA-AES256-GCM-SHA384", ["<th>Extended master secret</th><td>yes</td>"]),
    (["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-CHACHA20-POLY1305"], [],
     "TLSv1.2, Cipher is ECDHE-RSA-CHACHA20-POLY1305", []),
    (["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "DHE-RSA-AES128-GCM-SHA256"], ["--dhe-groups", "ffdhe2048"],
     "TLSv1.2, Cipher is DHE-RSA-AES128-GCM-SHA256", ["<th>Key exchange</th><td>DHE_RSA</td>"]),
    (["--tlsv1.2", "--tls-max", "1.2", "--ciphers", "ECDHE-RSA-AES128-SHA256"], ["--no-etm"],
     "TLSv1.2, Cipher is ECDHE-RSA-AES128-SHA256", ["<th>Encrypt-then-MAC</th><td>no</td>"]),
    (["--tls-max", "1.2", "--http1.1"], ["--alpn", "http/1.1"],  # the client's first suite we support
     "TLSv1.2, Cipher is ECDHE-RSA-AES256-GCM-SHA384", ["<th>ALPN</th><td>http/1.1</td>",
                                                        "<th>Server name (SNI)</th><td>localhost</td>"]),
]


@pytest.mark.parametrize(("curl_args", "serve_args", "line", "fragments"), CURL_CASES,
                         ids=["ecdhe-gcm", "chacha20", "dhe", "cbc-sha256", "alpn"])
def test_curl_with_cacert(pki: dict[str, Path], curl_args: list[str], serve_args: list[str], line: str,
                          fragments: list[str]) -> None:
    curl = require_binary("curl")
    with tlsstate_serve([*identity(pki), "--count", "1", *serve_args]) as server:
        out = subprocess.run([curl, "-sS", "--cacert", str(pki["ca"]), *curl_args,
                              f"https://localhost:{server.port}/"], capture_output=True, timeout=TIMEOUT)
        assert server.finish() == 0
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    page = out.stdout.decode()
    assert line in page
    for fragment in fragments:
        assert fragment in page


def test_curl_client_certificate(pki: dict[str, Path]) -> None:
    """serve --verify-client required: curl with its certificate gets the page, curl without is refused."""
    curl = require_binary("curl")
    args = [*identity(pki), "--count", "2", "--verify-client", "required", "--client-ca", str(pki["client_ca"])]
    with tlsstate_serve(args) as server:
        url = f"https://localhost:{server.port}/"
        good = subprocess.run([curl, "-sS", "--tls-max", "1.2", "--cacert", str(pki["ca"]), "--cert",
                               str(pki["client_cert"]), "--key", str(pki["client_key"]), url],
                              capture_output=True, timeout=TIMEOUT)
        bad = subprocess.run([curl, "-sS", "--tls-max", "1.2", "--cacert", str(pki["ca"]), url],
                             capture_output=True, timeout=TIMEOUT)
        server.finish()
    assert good.returncode == 0, good.stderr.decode(errors="replace")
    assert "Cipher is" in good.stdout.decode()
    assert bad.returncode != 0 and b"Cipher is" not in bad.stdout


def _client_context(pki: dict[str, Path], maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    ctx.maximum_version = maximum
    return ctx


def test_urllib_request(pki: dict[str, Path]) -> None:
    with tlsstate_serve([*identity(pki), "--count", "1"]) as server:
        with urllib.request.urlopen(f"https://localhost:{server.port}/", context=_client_context(pki),
                                    timeout=TIMEOUT) as response:
            status, page = response.status, response.read().decode()
        assert server.finish() == 0
    assert status == 200
    assert "TLSv1.2, Cipher is ECDHE-RSA-AES" in page


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
@pytest.mark.parametrize(("version", "ciphers"), [
    (ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES256-GCM-SHA384"),
    (ssl.TLSVersion.TLSv1_2, "AES128-CCM"),
    (ssl.TLSVersion.TLSv1_1, "ECDHE-RSA-AES128-SHA"),
    (ssl.TLSVersion.TLSv1, "AES256-SHA"),
])
def test_http_client_reports_same_cipher(pki: dict[str, Path], version: ssl.TLSVersion, ciphers: str) -> None:
    """http.client over CPython ssl: the page's "Cipher is" equals ssl's own ``cipher()``."""
    ctx = _client_context(pki, version)
    ctx.minimum_version = version
    ctx.set_ciphers(ciphers + ":@SECLEVEL=0")
    with tlsstate_serve([*identity(pki), "--count", "1", "--versions", "tls1.0-tls1.2"]) as server:
        conn = http.client.HTTPSConnection("localhost", server.port, context=ctx, timeout=TIMEOUT)
        try:
            conn.connect()
            assert isinstance(conn.sock, ssl.SSLSocket)
            cipher_name = (conn.sock.cipher() or ("",))[0]
            protocol = conn.sock.version()
            conn.request("GET", "/")
            response = conn.getresponse()
            page = response.read().decode()
        finally:
            conn.close()
        assert server.finish() == 0
    assert response.status == 200
    assert cipher_name == ciphers
    assert f"{protocol}, Cipher is {cipher_name}" in page
