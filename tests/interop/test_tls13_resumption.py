"""TLS 1.3 resumption with tickets (RFC 9846 §2.2, §4.6.1, §4.2.11), both roles, against real peers: OpenSSL 3.0
(``s_server -www`` naming "Reused, TLSv1.3"; ``s_client -sess_out`` / ``-sess_in`` against ``tlsstate serve``),
CPython ``ssl`` (``session`` / ``session_reused``) and ``tlsstate connect --reconnect``. The PSK binder, the
resumption PSK of each ticket's nonce and psk_dhe_ke are checked by the peers themselves: a wrong one fails.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers.connections import HOST, credentials, write_pem
from tests.helpers.env import require_binary
from tests.helpers.peers import make_cli_pki, run_connect, s_server_www
from tests.helpers.peers import serve as tlsstate_serve
from tlsstate.config import TLSConfig
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.sessions.cache import SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire.constants import NamedGroup, ProtocolVersion

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TLS13 = ProtocolVersion.TLS1_3
TIMEOUT = 20.0


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("resumption-pki"))


def _get_page(port: int, config: TLSConfig) -> tuple[bool, str]:
    with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        page = tls.recv_all().decode("latin-1")  # reading to the end also takes the NewSessionTickets
        assert tls.handshake is not None
        return tls.handshake.resumed, page


@pytest.mark.parametrize("groups", [None, [NamedGroup.SECP384R1]], ids=["x25519", "hrr-p384"])
def test_our_client_resumes_with_s_server(pki: dict[str, Path], groups: list[NamedGroup] | None) -> None:
    """The second connection offers the ticket s_server sent: "Reused, TLSv1.3" (with -groups P-384 after a
    HelloRetryRequest too, the binder computed again over message_hash and the HRR)."""
    extra = ["-tls1_3"] + (["-groups", "P-384"] if groups else [])
    with s_server_www(pki, extra) as port:
        config = TLSConfig(max_version=TLS13, cafile=str(pki["ca"]), server_name="localhost",
                           session_store=SessionStore())
        first = _get_page(port, config)
        second = _get_page(port, config)
    assert first[0] is False and "New, TLSv1.3" in first[1]
    assert second[0] is True and "Reused, TLSv1.3" in second[1], second[1][:300]


def test_s_client_resumes_with_tlsstate_serve(pki: dict[str, Path], tmp_path: Path) -> None:
    openssl = require_binary("openssl")
    session = tmp_path / "sess.pem"
    args = ["--www", "--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "2"]
    with tlsstate_serve(args) as server:
        outputs = []
        for flag in ("-sess_out", "-sess_in"):
            out = subprocess.run(
                [openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3", "-CAfile", str(pki["ca"]),
                 "-servername", "localhost", flag, str(session), "-ign_eof"],
                input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=TIMEOUT,
            )
            outputs.append(out.stdout.decode("latin-1"))
        assert server.finish() == 0
    assert "New, TLSv1.3" in outputs[0]
    assert "Reused, TLSv1.3" in outputs[1], outputs[1][-1500:]
    assert "Reused, TLSv1.3, Cipher is" in outputs[1].split("HTTP/1.0 200", 1)[1]  # our page says so too
    log = [ln for ln in server.lines if " ok " in ln]
    assert len(log) == 2 and " resumed" not in log[0] and log[1].rstrip().split(" ok ")[0].endswith("resumed")


def test_cpython_ssl_client_resumes_with_our_server(tmp_path: Path) -> None:
    chain, key = credentials("rsa")
    config = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key, ticket_keys=TicketKeys())
    listener = TLSListener("127.0.0.1", 0, config, timeout=10)
    resumed: list[bool] = []

    def serve() -> None:
        for _ in range(2):
            tls, _ = listener.accept(timeout=10)
            with tls:
                tls.sendall(tls.recv(5)[::-1])
                assert tls.handshake is not None
                resumed.append(tls.handshake.resumed)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        ctx = ssl.create_default_context(cafile=write_pem(tmp_path)[2])
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        session = None
        reused = []
        for _ in range(2):
            with ctx.wrap_socket(socket.create_connection(listener.address, timeout=10), server_hostname=HOST,
                                 session=session) as s:
                s.sendall(b"hello")
                assert s.recv(5) == b"olleh"  # the tickets arrive with the reply
                reused.append(s.session_reused)
                session = s.session
        thread.join(10)
    finally:
        listener.close()
    assert reused == [False, True] and resumed == [False, True]


def test_our_client_resumes_with_cpython_ssl_server(tmp_path: Path) -> None:
    cert, key, ca = write_pem(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    reused: list[bool] = []
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]

        def accept() -> None:
            for _ in range(2):
                conn, _ = sock.accept()
                with server_ctx.wrap_socket(conn, server_side=True) as s:
                    s.sendall(s.recv(5)[::-1])
                    reused.append(s.session_reused)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        config = TLSConfig(max_version=TLS13, cafile=ca, server_name=HOST, session_store=SessionStore())
        ours = []
        for _ in range(2):
            with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
                tls.sendall(b"abcde")
                assert tls.recv() == b"edcba"
                assert tls.handshake is not None
                ours.append(tls.handshake.resumed)
        thread.join(10)
    assert ours == [False, True] and reused == [False, True]


def test_connect_reconnect_resumes_by_psk(pki: dict[str, Path]) -> None:
    with s_server_www(pki, ["-tls1_3"]) as port:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--reconnect", "--wait", "2"])
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert "Protocol  : TLS 1.3" in status and "Session: Reused" in status and "Resumption: yes" in status


# ------------------------------------------------------------------------------- external PSKs (RFC 9846 §4.2.11)

PSK_ID, PSK_KEY = "tlsstate-client", bytes(range(32))


def test_connect_with_external_psk_against_s_server_without_certificate(pki: dict[str, Path]) -> None:
    """s_server -nocert -psk: no certificate at all, the handshake stands on the external PSK (with psk_dhe_ke)."""
    from tests.helpers.env import free_port
    from tests.interop.test_interop_openssl import Peer

    openssl = require_binary("openssl")
    port = free_port()
    peer = Peer([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-nocert", "-tls1_3", "-psk", PSK_KEY.hex(),
                 "-psk_identity", PSK_ID, "-naccept", "1", "-rev"])
    try:
        peer.wait_for("ACCEPT")
        out = run_connect([f"localhost:{port}", "--psk-identity", PSK_ID, "--psk", PSK_KEY.hex(), "--wait", "3"],
                          stdin=b"pre-shared\n")
        peer.wait_for("CONNECTION CLOSED")
    finally:
        peer.stop()
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert "Protocol  : TLS 1.3" in status and "Session: Reused" in status
    assert out.stdout == b"derahs-erp\n"


def test_s_client_with_external_psk_against_tlsstate_serve(tmp_path: Path) -> None:
    openssl = require_binary("openssl")
    with tlsstate_serve(["--www", "--count", "2", "--psk-identity", PSK_ID, "--psk", PSK_KEY.hex()]) as server:
        good = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3",
                               "-psk", PSK_KEY.hex(), "-psk_identity", PSK_ID, "-ign_eof"],
                              input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=TIMEOUT)
        wrong = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3",
                                "-psk", bytes(32).hex(), "-psk_identity", PSK_ID, "-ign_eof"],
                               input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=TIMEOUT)
        server.finish()
    text = good.stdout.decode("latin-1")
    assert "Reused, TLSv1.3" in text, text[-1500:]
    assert "HTTP/1.0 200" in text
    assert any("decrypt_error" in ln for ln in server.lines), server.lines  # the wrong key: a bad binder
    assert b"decrypt error" in wrong.stdout + wrong.stderr
