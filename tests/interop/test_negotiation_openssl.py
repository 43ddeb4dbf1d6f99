"""``tlsstate serve`` and ``connect`` against the OpenSSL tools: the negotiation rules of issue 12.

- Cipher suite choice: ``openssl s_client -cipher`` with lists in an order our server would not choose gets the
  client's first suite we support (as ``openssl s_server`` answers), and our order with ``--server-cipher-order``.
- ALPN (RFC 7301 §3.2): ``s_client -alpn`` with no name in common with ``serve --alpn`` gets the fatal
  no_application_protocol; with one in common, that one.

Every process is started with a timeout and killed in a ``finally``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, make_cli_pki, serve

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("negotiation-pki"))


def s_client(port: int, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    openssl = require_binary("openssl")
    return subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", *args],
                          input=stdin.decode(), capture_output=True, text=True, timeout=TIMEOUT)


def negotiated_cipher(output: str) -> str | None:
    """The suite in s_client's session summary ("New, TLSv1.2, Cipher is X")."""
    match = re.search(r"^New, TLSv1(?:\.[12])?, Cipher is (\S+)$", output, re.MULTILINE)
    return match.group(1) if match else None


# ------------------------------------------------------------------------------- cipher suite order

#: (s_client -cipher list, what our default server picks, what --server-cipher-order picks); our defaults rank
#: ECDHE-RSA-AES128-GCM-SHA256 first for an RSA certificate and the plain-RSA suites last.
ORDERS = [
    ("AES256-SHA:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256", "AES256-SHA", "ECDHE-RSA-AES128-GCM-SHA256"),
    ("ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
     "ECDHE-RSA-AES128-GCM-SHA256"),
    ("DHE-RSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256", "DHE-RSA-AES128-SHA", "ECDHE-RSA-AES128-SHA"),
    # an ECDSA suite cannot run with our RSA certificate: the next one the client lists
    ("ECDHE-ECDSA-AES128-GCM-SHA256:AES256-GCM-SHA384:ECDHE-RSA-AES256-SHA", "AES256-GCM-SHA384",
     "ECDHE-RSA-AES256-SHA"),
]


@pytest.mark.parametrize(("cipher_list", "client_pick", "server_pick"), ORDERS,
                         ids=[f"order{i}" for i in range(len(ORDERS))])
def test_s_client_cipher_order(pki: dict[str, Path], cipher_list: str, client_pick: str, server_pick: str) -> None:
    """``serve`` (default) against ``s_client -tls1_2 -cipher LIST``: the client's first suite we support; the same
    list to ``serve --server-cipher-order``: our first suite the client offers."""
    identity = ["--cert", str(pki["cert"]), "--key", str(pki["key"])]
    for extra, expected in (([], client_pick), (["--server-cipher-order"], server_pick)):
        with serve([*identity, "--count", "1", "--www", *extra]) as server:
            out = s_client(server.port, "-tls1_2", "-ign_eof", "-cipher", f"{cipher_list}:@SECLEVEL=0",
                           stdin=b"GET / HTTP/1.0\r\n\r\n")
            server.finish()
        assert negotiated_cipher(out.stdout) == expected, (extra, out.stdout[-800:], out.stderr[-500:])
        assert f"Cipher is {expected}" in out.stdout.split("HTTP/1.0 200 OK", 1)[1]  # our --www page agrees


def test_s_client_default_list_with_tls13_suites_first(pki: dict[str, Path]) -> None:
    """s_client's default hello puts TLS 1.3 suites first: we skip them and take its first TLS 1.2 suite that we
    support (OpenSSL 3.0 lists ECDHE-ECDSA-AES256-GCM-SHA384, then ECDHE-RSA-AES256-GCM-SHA384)."""
    with serve(["--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "1"]) as server:
        out = s_client(server.port)
        server.finish()
    assert negotiated_cipher(out.stdout) == "ECDHE-RSA-AES256-GCM-SHA384", out.stdout[-800:]


# ------------------------------------------------------------------------------- ALPN


@pytest.mark.parametrize(("offered", "selected"), [("spdy/3,h3", None), ("h3,http/1.1", "http/1.1")])
def test_s_client_alpn(pki: dict[str, Path], offered: str, selected: str | None) -> None:
    with serve(["--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "1", "--alpn", "h2,http/1.1"]) as server:
        out = s_client(server.port, "-tls1_2", "-alpn", offered)
        server.finish()
    if selected is None:
        assert "alert no application protocol" in out.stderr, out.stderr[-500:]
        assert "sent alert no_application_protocol" in server.lines[-1]
    else:
        assert f"ALPN protocol: {selected}" in out.stdout, out.stdout[-800:]
