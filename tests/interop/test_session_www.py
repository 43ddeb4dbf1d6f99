"""``tlsstate serve --www`` against real clients resuming sessions and sending client certificates.

- The page's first line is ``New`` on a full handshake and ``Reused`` on a resumed one, like
  ``openssl s_server -www``: OpenSSL ``s_client -sess_out/-sess_in`` (by session ID and by ticket) and
  CPython ``ssl`` (``session=``) resume, and their own verdict (s_client's summary line,
  ``SSLSocket.session_reused``) is what the page must say.
- A client certificate sent with ``s_client -cert/-key`` to ``serve --verify-client`` is named on the page
  and in the log line (subject, issuer, SPKI SHA-256); the expected values come from ``openssl x509`` /
  ``openssl pkey`` / ``openssl dgst`` on the same file. A resumed session still names it.
- ``connect`` prints the server's SPKI SHA-256, checked the same way against ``openssl s_server``.
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, make_cli_pki, run_connect, s_server_www, serve
from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files

pytestmark = [pytest.mark.interop, pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")]

REQUEST = b"GET / HTTP/1.0\r\n\r\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("www-pki"))


@pytest.fixture(scope="module")
def client_identity(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An ECDSA client certificate for "client.test" and the RSA CA that issued it (PEM files)."""
    folder = tmp_path_factory.mktemp("www-client")
    ca_cert, ca_key = make_ca("tlsstate client CA", "rsa2048")
    leaf, leaf_key = issue_certificate(ca_cert, ca_key, ["client.test"], "ecdsa-p256")
    (folder / "client-ca.pem").write_bytes(certificate_pem(ca_cert))
    write_pem_files(leaf, leaf_key, folder / "client.pem", folder / "client.key")
    return {"ca": folder / "client-ca.pem", "cert": folder / "client.pem", "key": folder / "client.key"}


def openssl_facts(cert: Path) -> dict[str, str]:
    """Subject, issuer (RFC 2253 order and escaping) and SPKI SHA-256 of a PEM certificate, by the openssl CLI."""
    openssl = require_binary("openssl")

    def name(which: str) -> str:
        out = subprocess.run([openssl, "x509", "-in", str(cert), "-noout", f"-{which}", "-nameopt", "RFC2253"],
                             capture_output=True, text=True, timeout=TIMEOUT, check=True).stdout
        return out.strip().partition("=")[2]

    pubkey = subprocess.run([openssl, "x509", "-in", str(cert), "-noout", "-pubkey"],
                            capture_output=True, timeout=TIMEOUT, check=True).stdout
    der = subprocess.run([openssl, "pkey", "-pubin", "-outform", "DER"], input=pubkey,
                         capture_output=True, timeout=TIMEOUT, check=True).stdout
    digest = subprocess.run([openssl, "dgst", "-sha256", "-r"], input=der,
                            capture_output=True, timeout=TIMEOUT, check=True).stdout.decode()
    return {"subject": name("subject"), "issuer": name("issuer"), "spki": digest.split()[0].lower()}


def s_client(port: int, *args: str) -> tuple[str, str]:
    """One ``openssl s_client`` GET; (s_client's own verdict "New"/"Reused", the page after the HTTP head)."""
    openssl = require_binary("openssl")
    out = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", "-ign_eof", *args],
                         input=REQUEST, capture_output=True, timeout=TIMEOUT)
    text = out.stdout.decode(errors="replace")
    head, sep, page = text.partition("HTTP/1.0 200 OK")
    assert sep, (text[-1500:], out.stderr.decode(errors="replace")[-800:])
    verdict = re.search(r"^(New|Reused), TLSv1\.2, Cipher is", head, re.MULTILINE)  # s_client's summary
    assert verdict is not None, head[-1500:]
    return verdict.group(1), page


def page_session(page: str) -> str:
    first = re.search(r"^(New|Reused), TLSv1\.2, Cipher is \S+$", page, re.MULTILINE)
    assert first is not None, page
    assert f"<th>Session</th><td>{first.group(1)}</td>" in page
    return first.group(1)


@pytest.mark.parametrize("mode", ["session-id", "ticket"])
def test_s_client_resumed_session_says_reused(tmp_path: Path, mode: str) -> None:
    """-sess_out then -sess_in: s_client reports New then Reused, and so does the page (session ID cache without
    tickets; or tickets with the cache off, so only the ticket can resume)."""
    extra = ["--no-tickets"] if mode == "session-id" else ["--tickets", "--session-cache-size", "0"]
    session = tmp_path / "session.pem"
    with serve(["--www", "--count", "2", *extra]) as server:
        first = s_client(server.port, "-sess_out", str(session))
        second = s_client(server.port, "-sess_in", str(session))
        assert server.finish() == 0
    assert first[0] == "New" and page_session(first[1]) == "New"
    assert second[0] == "Reused" and page_session(second[1]) == "Reused"
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 2 and " resumed " not in log[0] and " resumed " in log[1]


def _get(port: int, ctx: ssl.SSLContext, session: ssl.SSLSession | None) -> tuple[bool, str, ssl.SSLSession | None]:
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
        tls.sendall(REQUEST)
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
        return tls.session_reused, data.decode(errors="replace"), tls.session


def test_cpython_ssl_resumed_session_says_reused(pki: dict[str, Path]) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca"])
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with serve(["--www", "--count", "2", "--cert", str(pki["cert"]), "--key", str(pki["key"])]) as server:
        reused, page, session = _get(server.port, ctx, None)
        assert not reused and page_session(page) == "New"
        assert session is not None
        reused, page, _ = _get(server.port, ctx, session)
        assert reused and page_session(page) == "Reused"
        assert server.finish() == 0


@pytest.mark.parametrize("mode", ["session-id", "ticket"])
def test_client_certificate_on_page_and_log(
    pki: dict[str, Path], client_identity: dict[str, Path], tmp_path: Path, mode: str
) -> None:
    """serve --verify-client required: s_client -cert/-key; the page and log name that certificate, also when
    the session is resumed (the certificate comes from the session cache or the ticket)."""
    facts = openssl_facts(client_identity["cert"])
    extra = ["--no-tickets"] if mode == "session-id" else ["--tickets", "--session-cache-size", "0"]
    args = ["--www", "--count", "2", "--cert", str(pki["cert"]), "--key", str(pki["key"]),
            "--verify-client", "required", "--client-ca", str(client_identity["ca"]), *extra]
    session = tmp_path / "session.pem"
    identity = ["-cert", str(client_identity["cert"]), "-key", str(client_identity["key"])]
    with serve(args) as server:
        first = s_client(server.port, *identity, "-sess_out", str(session))
        second = s_client(server.port, *identity, "-sess_in", str(session))
        assert server.finish() == 0
    assert (first[0], second[0]) == ("New", "Reused")
    for _, page in (first, second):
        assert f"<th>Client certificate subject</th><td>{facts['subject']}</td>" in page, page
        assert f"<th>Client certificate issuer</th><td>{facts['issuer']}</td>" in page
        assert f"<th>Client certificate SPKI SHA-256</th><td>{facts['spki']}</td>" in page
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 2
    for line in log:
        assert line.endswith(f" client-cert s:{facts['subject']} i:{facts['issuer']} spki-sha256:{facts['spki']}"), line


def test_no_client_certificate_is_said(pki: dict[str, Path], client_identity: dict[str, Path]) -> None:
    args = ["--www", "--count", "1", "--verify-client", "optional", "--client-ca", str(client_identity["ca"])]
    with serve(args) as server:
        verdict, page = s_client(server.port)
        assert server.finish() == 0
    assert verdict == "New" and "<th>Client certificate</th><td>(none)</td>" in page
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 1 and "client-cert" not in log[0]


def test_connect_prints_server_spki(pki: dict[str, Path]) -> None:
    facts = openssl_facts(pki["cert"])
    ca_facts = openssl_facts(pki["ca"])
    with s_server_www(pki, ["-cert_chain", str(pki["ca"])]) as port:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--wait", "2"])
    status = out.stderr.decode()
    assert out.returncode == 0, status
    spkis = re.findall(r"^\s+spki-sha256:([0-9a-f]{64})$", status, re.MULTILINE)
    assert spkis[0] == facts["spki"], status
    assert spkis[1:] == [ca_facts["spki"]]  # s_server -cert_chain sent the CA after the leaf
    assert f"s:{facts['subject']}  i:{facts['issuer']}" in status
