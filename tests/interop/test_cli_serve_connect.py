"""``tlsstate serve`` and ``tlsstate connect`` as processes, against curl and the OpenSSL tools.

- curl -k against ``serve --www``: a 200 page naming the protocol and ``Cipher is <OpenSSL name>``.
- ``serve`` survives hostile/incompatible peers and keeps serving; one log line per connection.
- ``connect`` against ``openssl s_server -www``: verified chain, parameters, HTTP answer on stdout,
  resumption with --reconnect, --show-keys, and a key log identical to the one OpenSSL wrote.
Every process is started with a timeout and killed in a ``finally``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import TIMEOUT, make_cli_pki, run_connect, s_server_www, serve

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("cli-pki"))


def test_curl_gets_www_page(pki: dict[str, Path], tmp_path: Path) -> None:
    curl = require_binary("curl")
    ours, theirs = tmp_path / "serve.keys", tmp_path / "curl.keys"
    # TLS 1.0-1.2 (serve offers TLS 1.3 too by default; that is test_curl_tls13_key_log_matches_ours)
    with serve(["--www", "--count", "1", "--keylog", str(ours), "--versions", "tls1.0-tls1.2"]) as server:
        env = {**os.environ, "SSLKEYLOGFILE": str(theirs)}
        out = subprocess.run([curl, "-sk", "--max-time", "10", f"https://127.0.0.1:{server.port}/"],
                             capture_output=True, text=True, timeout=TIMEOUT, env=env)
        assert server.finish() == 0
    assert out.returncode == 0, out.stderr
    assert "Cipher is ECDHE-RSA-AES256-GCM-SHA384" in out.stdout  # curl+OpenSSL's first suite we support
    assert "Protocol  : TLSv1.2" in out.stdout
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 1 and " ok " in log[0] and "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" in log[0]
    # the server's key log line is the one curl (OpenSSL) wrote for the same connection
    ours_lines = [ln.lower() for ln in ours.read_text().splitlines()]
    assert len(ours_lines) == 1 and ours_lines[0].startswith("client_random ")
    if theirs.exists():  # curl honours SSLKEYLOGFILE when built with OpenSSL (Debian's is)
        assert ours_lines[0] in [ln.lower() for ln in theirs.read_text().splitlines()]


def test_curl_with_ca_and_pem_identity(pki: dict[str, Path]) -> None:
    """--cert/--key, --versions and --ciphers; curl verifies the chain against our test CA."""
    curl = require_binary("curl")
    args = ["--www", "--count", "1", "--cert", str(pki["cert"]), "--key", str(pki["key"]),
            "--versions", "tls1.1", "--ciphers", "ECDHE-RSA-AES256-SHA"]
    with serve(args) as server:
        out = subprocess.run([curl, "-s", "--max-time", "10", "--cacert", str(pki["ca"]), "--tlsv1.1",
                              "--ciphers", "ECDHE-RSA-AES256-SHA:@SECLEVEL=0", f"https://localhost:{server.port}/"],
                             capture_output=True, text=True, timeout=TIMEOUT)
        server.finish()
    assert out.returncode == 0, out.stderr
    assert "Cipher is ECDHE-RSA-AES256-SHA" in out.stdout and "TLSv1.1" in out.stdout


def test_serve_survives_bad_peers_and_logs_each(pki: dict[str, Path]) -> None:
    openssl = require_binary("openssl")
    with serve(["--www", "--count", "4", "--versions", "tls1.2"]) as server:
        # 1: not TLS at all
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as raw:
            raw.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert raw.recv(7)[:1] == b"\x15"  # an alert record
        # 2: a TLS 1.1-only client -> protocol_version
        bad = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_1",
                              "-cipher", "DEFAULT:@SECLEVEL=0"], input=b"", capture_output=True, timeout=TIMEOUT)
        assert bad.returncode != 0
        # 3: TCP connect and close without a byte
        socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT).close()
        # 4: a good client is still served
        good = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-quiet"],
                              input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=TIMEOUT)
        assert server.finish() == 0
    assert good.stdout.startswith(b"HTTP/1.0 200 OK") and b"Cipher is " in good.stdout
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 4, log
    assert any("unexpected_message" in ln or "decode_error" in ln for ln in log)
    assert any("protocol_version" in ln for ln in log)
    assert any(ln.split()[1] == "TLS" and " ok " in ln for ln in log)
    for line in log:  # never secrets: no long hex strings in the log
        assert not re.search(r"[0-9a-f]{32}", line)


def test_connect_against_s_server(pki: dict[str, Path], tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.keys", tmp_path / "openssl.keys"
    with s_server_www(pki, ["-alpn", "http/1.1"], keylog=theirs) as port:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--alpn", "h2,http/1.1",
                           "--show-keys", "--keylog", str(ours), "--reconnect", "--wait", "2", "--versions", "tls1.2"])
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert "Protocol  : TLS 1.2" in status
    assert "Cipher    : TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" in status
    assert "s:CN=localhost" in status and "i:CN=tlsstate cli CA" in status
    assert "Extended master secret: yes" in status and "ALPN protocol: http/1.1" in status
    for name in ("client write MAC key", "server write MAC key", "client write key", "server write key",
                 "client write IV", "server write IV"):
        assert name in status
    assert "Session: New" in status and "Session: Reused" in status and "Resumption: yes" in status
    assert out.stdout.startswith(b"HTTP/1.0 200 ok")
    assert b"TLSv1.2" in out.stdout  # s_server's page names the protocol it negotiated with us
    ours_lines = {ln for ln in ours.read_text().splitlines() if ln.startswith("CLIENT_RANDOM")}
    theirs_lines = {ln.lower() for ln in theirs.read_text().splitlines() if ln.startswith("CLIENT_RANDOM")}
    assert ours_lines and {ln.lower() for ln in ours_lines} <= theirs_lines  # OpenSSL's own key log agrees


def test_connect_versions_ciphers_no_ems(pki: dict[str, Path]) -> None:
    with s_server_www(pki, ["-cipher", "DEFAULT:@SECLEVEL=0"]) as port:
        out = run_connect([f"127.0.0.1:{port}", "--insecure", "--versions", "tls1.0", "--ciphers", "AES128-SHA",
                           "--no-ems", "--no-etm", "--wait", "2"])
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert "Protocol  : TLS 1.0" in status and "TLS_RSA_WITH_AES_128_CBC_SHA" in status
    assert "Extended master secret: no" in status and "Encrypt-then-MAC: no" in status
    assert out.stdout.startswith(b"HTTP/1.0 200 ok")


def test_connect_rejects_unknown_ca(pki: dict[str, Path]) -> None:
    with s_server_www(pki, []) as port:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["other_ca"])])
    assert out.returncode == 1
    err = out.stderr.decode()
    assert "Traceback" not in err and re.search(r"unknown_ca|bad_certificate", err), err


def test_connect_usage_errors() -> None:
    out = run_connect(["localhost:1", "--insecure", "--cafile", __file__])
    assert out.returncode == 2 and b"Traceback" not in out.stderr
    out = run_connect(["localhost:notaport"])
    assert out.returncode == 2 and b"Traceback" not in out.stderr
    out = run_connect([f"127.0.0.1:{free_port()}", "--insecure", "--timeout", "2"])
    assert out.returncode == 1 and b"Traceback" not in out.stderr


def test_serve_is_concurrent(pki: dict[str, Path]) -> None:
    """A silent peer holding a connection open does not stop another client from being served."""
    curl = require_binary("curl")
    with serve(["--www", "--count", "2", "--timeout", "5"]) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as idle:
            started = time.monotonic()
            out = subprocess.run([curl, "-sk", "--max-time", "10", f"https://127.0.0.1:{server.port}/"],
                                 capture_output=True, text=True, timeout=TIMEOUT)
            assert time.monotonic() - started < 4  # served while the idle connection is still open
            assert out.returncode == 0 and "Cipher is " in out.stdout
            idle.sendall(b"")
        assert server.finish() == 0
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 2 and sum(" ok " in ln for ln in log) == 1


GNUTLS_CASES = [  # (priority string, OpenSSL name on the page, protocol, EtM expected)
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "TLSv1.2", "no"),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+RSA:-CIPHER-ALL:+AES-128-CCM", "AES128-CCM", "TLSv1.2", "no"),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.1:-KX-ALL:+RSA:-CIPHER-ALL:+AES-256-CBC", "AES256-SHA", "TLSv1.1", "yes"),
    ("NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+AES-128-CBC:%NO_ETM:-GROUP-ALL:+GROUP-SECP384R1",
     "ECDHE-RSA-AES128-SHA", "TLSv1", "no"),
]


@pytest.mark.parametrize(("priority", "cipher", "protocol", "etm"), GNUTLS_CASES, ids=[c[1] for c in GNUTLS_CASES])
def test_gnutls_cli_against_serve(pki: dict[str, Path], priority: str, cipher: str, protocol: str, etm: str) -> None:
    """GnuTLS (a third implementation) verifies our chain and gets the page; EtM as negotiated."""
    gnutls = require_binary("gnutls-cli")
    args = ["--www", "--count", "1", "--cert", str(pki["cert"]), "--key", str(pki["key"])]
    with serve(args) as server:
        out = subprocess.run([gnutls, "--x509cafile", str(pki["ca"]), "-p", str(server.port), "localhost",
                              "--priority", priority],
                             input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=TIMEOUT)
        assert server.finish() == 0
    page = out.stdout.decode(errors="replace")
    assert out.returncode == 0, out.stderr.decode(errors="replace")
    assert f"New, {protocol}, Cipher is {cipher}" in page
    assert f"<th>Encrypt-then-MAC</th><td>{etm}</td>" in page
    assert "<th>Server name (SNI)</th><td>localhost</td>" in page


def test_connect_reports_truncation(pki: dict[str, Path]) -> None:
    """A server that drops TCP without close_notify: connect prints the data and says it was not closed cleanly."""
    from tlsstate.config import TLSConfig
    from tlsstate.crypto.certs import load_cert_and_key
    from tlsstate.io.sockets import TLSListener

    chain, key = load_cert_and_key(pki["cert"], pki["key"])
    listener = TLSListener("127.0.0.1", 0, TLSConfig(certificate_chain=chain, private_key=key), timeout=TIMEOUT)

    def run() -> None:
        tls, _ = listener.accept(timeout=TIMEOUT)
        tls.do_handshake()
        tls.sendall(b"cut short")
        tls.sock.shutdown(socket.SHUT_RDWR)
        tls.sock.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        out = run_connect([f"localhost:{listener.address[1]}", "--cafile", str(pki["ca"]), "--wait", "5"], stdin=b"")
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert out.returncode == 0
    assert out.stdout == b"cut short"
    assert b"connection closed without close_notify" in out.stderr


# ------------------------------------------------------------------------------- TLS 1.3 (the default)

TLS13_LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"}


def _keylog(path: Path) -> set[str]:
    return {ln.strip().lower() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")}


def test_connect_tls13_against_s_server_shows_schedule_and_key_log(pki: dict[str, Path], tmp_path: Path) -> None:
    """connect's default is TLS 1.3 (RFC 9846): --show-keys prints the schedule; the key log we wrote holds the
    same NSS lines (CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT/SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET) as
    OpenSSL's own -keylogfile for the connection."""
    ours, theirs = tmp_path / "ours.keys", tmp_path / "openssl.keys"
    with s_server_www(pki, ["-groups", "P-256:X25519"], keylog=theirs) as port:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--show-keys", "--keylog", str(ours),
                           "--wait", "2"])
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert "Protocol  : TLS 1.3" in status and "Group     : x25519" in status
    assert "Extended master secret" not in status
    for title in ("handshake secret", "master secret", "client handshake traffic secret",
                  "server application traffic secret 0", "exporter master secret", "client application 0 write key"):
        assert title in status
    assert b"TLSv1.3" in out.stdout
    mine = _keylog(ours)
    assert {ln.split()[0].upper() for ln in mine} == TLS13_LABELS
    assert mine <= _keylog(theirs)


def test_curl_tls13_key_log_matches_ours(pki: dict[str, Path], tmp_path: Path) -> None:
    curl = require_binary("curl")
    ours, theirs = tmp_path / "serve.keys", tmp_path / "curl.keys"
    with serve(["--www", "--count", "1", "--keylog", str(ours)]) as server:
        env = {**os.environ, "SSLKEYLOGFILE": str(theirs)}
        out = subprocess.run([curl, "-sk", "--tlsv1.3", "--max-time", "10", f"https://127.0.0.1:{server.port}/"],
                             capture_output=True, text=True, timeout=TIMEOUT, env=env)
        assert server.finish() == 0
    assert out.returncode == 0, out.stderr
    assert "New, TLSv1.3, Cipher is TLS_AES_" in out.stdout
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 1 and " ok " in log[0] and "TLS 1.3" in log[0]
    mine = _keylog(ours)
    assert {ln.split()[0].upper() for ln in mine} == TLS13_LABELS
    if theirs.exists():
        assert mine <= _keylog(theirs)

