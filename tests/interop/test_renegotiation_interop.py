"""Secure renegotiation (RFC 5746) live on loopback, both roles, against OpenSSL and GnuTLS.

- our client renegotiates with ``openssl s_server -client_renegotiation`` and answers its ``r`` (HelloRequest);
  without ``-client_renegotiation`` OpenSSL refuses and our connection carries on;
- ``openssl s_client``'s ``R`` renegotiates with ``tlsstate serve --client-renegotiation``; ``serve
  --request-renegotiation`` asks s_client; plain ``serve`` refuses with no_renegotiation;
- ``gnutls-cli --rehandshake`` against ``serve --client-renegotiation``, gnutls-cli answering ``serve
  --request-renegotiation``; our client against ``gnutls-serv --echo``, renegotiating itself and answering its
  ``**REHANDSHAKE**``;
- ``tlsstate connect``'s ``R`` line against ``s_server -client_renegotiation`` (a resumed renegotiation).

Each checks the data across the renegotiation and that there are two epochs; where the peer writes a key log, its
two CLIENT_RANDOM lines are ours byte for byte (the new master secret agrees with OpenSSL's).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import TIMEOUT, make_cli_pki, run_connect, serve
from tlsstate.config import TLSConfig
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.errors import TLSError

pytestmark = pytest.mark.interop

SUITES = {  # OpenSSL name -> (our name, s_server -cipher)
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "AES128-SHA256": "TLS_RSA_WITH_AES_128_CBC_SHA256",  # CBC: EtM is negotiated again in the new handshake
}


@pytest.fixture(scope="module")
def cli_pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("renegotiation-pki"))


def keylog_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("CLIENT_RANDOM ")]


def wait_for(predicate: object, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextmanager
def s_server(cli_pki: dict[str, Path], tmp: Path, extra: list[str]) -> Iterator[tuple[int, subprocess.Popen[bytes], Path]]:
    """``openssl s_server`` (TLS 1.2, key log) with stdin as a pipe and its output in a file."""
    openssl = require_binary("openssl")
    port = free_port()
    out = tmp / "s_server.out"
    keylog = tmp / "s_server.keys"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cli_pki["cert"]), "-key", str(cli_pki["key"]),
             "-tls1_2", "-keylogfile", str(keylog), *extra],
            stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: b"ACCEPT" in out.read_bytes(), "s_server to listen")
            yield port, proc, keylog
        finally:
            proc.kill()
            proc.wait(5)


def client_config(suite: str | None = None, **overrides: object) -> TLSConfig:
    from tlsstate.crypto.suites import by_name

    config = TLSConfig(verify=False, server_name="localhost")
    if suite is not None:
        found = by_name(suite)
        assert found is not None
        config.cipher_suites = [found]
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


def read_until(tls: TLSSocket, wanted: bytes) -> bytes:
    data = b""
    while wanted not in data:
        chunk = tls.recv()
        assert chunk, f"peer closed before {wanted!r}; got {data!r}"
        data += chunk
    return data


def our_keylog(tls: TLSSocket) -> list[str]:
    return [f"CLIENT_RANDOM {e.client_random.hex()} {e.master_secret.hex()}" for e in tls.connection.epochs]


# ------------------------------------------------------------------------------------------ OpenSSL s_server


@pytest.mark.parametrize("openssl_suite", list(SUITES))
def test_our_client_renegotiates_with_s_server(cli_pki: dict[str, Path], tmp_path: Path, openssl_suite: str) -> None:
    with s_server(cli_pki, tmp_path, ["-client_renegotiation", "-rev", "-cipher", openssl_suite]) as (port, _, keylog), \
            TLSSocket.connect("127.0.0.1", port, client_config(SUITES[openssl_suite]), timeout=TIMEOUT) as tls:
        tls.sendall(b"before\n")
        assert read_until(tls, b"\n") == b"erofeb\n"
        first = tls.connection.security
        done = tls.renegotiate()
        assert done is not None and done.renegotiation and done.cipher_suite.name == SUITES[openssl_suite]
        tls.sendall(b"after\n")
        assert read_until(tls, b"\n") == b"retfa\n"
        epochs = tls.connection.epochs
        assert len(epochs) == 2 and epochs[0] is first
        assert epochs[1].master_secret != first.master_secret and epochs[1].keys != first.keys
        assert tls.connection.write_state.seq < 5  # reset by the new epoch's ChangeCipherSpec
        if openssl_suite.startswith("AES"):
            assert done.encrypt_then_mac
        wait_for(lambda: len(keylog_lines(keylog)) == 2, "s_server's second key log line")
        assert keylog_lines(keylog) == our_keylog(tls)


def test_our_client_answers_s_server_hello_request(cli_pki: dict[str, Path], tmp_path: Path) -> None:
    with s_server(cli_pki, tmp_path, []) as (port, proc, keylog), \
            TLSSocket.connect("127.0.0.1", port, client_config(server_renegotiation=True), timeout=TIMEOUT) as tls:
        assert proc.stdin is not None
        tls.sendall(b"hello\n")
        wait_for(lambda: b"hello" in (tmp_path / "s_server.out").read_bytes(), "s_server to print hello")
        proc.stdin.write(b"r\n")  # s_server: renegotiate (HelloRequest)
        proc.stdin.flush()
        tls.settimeout(0.2)
        wait_for(lambda: _read_quietly(tls) and len(tls.connection.epochs) == 2, "the renegotiation")
        tls.settimeout(TIMEOUT)
        proc.stdin.write(b"from-server\n")
        proc.stdin.flush()
        assert read_until(tls, b"from-server\n").endswith(b"from-server\n")
        tls.sendall(b"after\n")
        wait_for(lambda: b"after" in (tmp_path / "s_server.out").read_bytes(), "s_server to print after")
        assert tls.handshake is not None and tls.handshake.renegotiation
        wait_for(lambda: len(keylog_lines(keylog)) == 2, "s_server's second key log line")
        assert keylog_lines(keylog) == our_keylog(tls)


def _read_quietly(tls: TLSSocket) -> bool:
    from tlsstate.wire.errors import TLSTimeout

    with suppress(TLSTimeout):
        tls.read_some()
    return True


def test_connect_R_line_renegotiates_with_s_server(cli_pki: dict[str, Path], tmp_path: Path) -> None:
    """``tlsstate connect``: a stdin line that is only R renegotiates (as in s_client); --show-keys shows both
    epochs, which are the two lines of s_server's key log. connect keeps its session, so the renegotiation resumes
    it (RFC 5246 §7.3 Figure 2 under the first epoch's keys): the same master secret, new randoms and key block."""
    with s_server(cli_pki, tmp_path, ["-client_renegotiation", "-rev"]) as (port, _, keylog):
        done = run_connect([f"127.0.0.1:{port}", "--insecure", "--show-keys", "--wait", "1"], b"before\nR\nafter\n")
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert done.stdout == b"erofeb\nretfa\n"
    assert "RENEGOTIATING" in err
    def shown(title: str) -> list[str]:
        return [line.split(":", 1)[1].strip() for line in err.splitlines() if line.startswith(title)]

    logged = [line.split()[1:] for line in keylog_lines(keylog)]
    assert [list(pair) for pair in zip(shown("client random"), shown("master secret"), strict=True)] == logged
    assert len(logged) == 2 and logged[0][0] != logged[1][0]
    assert shown("Session") == ["New", "Reused"]
    client_keys = shown("client write key")
    assert len(client_keys) == 2 and client_keys[0] != client_keys[1]


def test_s_server_refuses_our_renegotiation_and_we_carry_on(cli_pki: dict[str, Path], tmp_path: Path) -> None:
    """OpenSSL 3.0 refuses client-initiated renegotiation by default: the warning no_renegotiation; RFC 5746 §4.2
    lets the client go on in the current epoch."""
    with s_server(cli_pki, tmp_path, ["-rev"]) as (port, _, _keylog), \
            TLSSocket.connect("127.0.0.1", port, client_config(), timeout=TIMEOUT) as tls:
        with pytest.raises(TLSError, match="refused"):
            tls.renegotiate()
        assert not tls.connection.renegotiating and len(tls.connection.epochs) == 1
        tls.sendall(b"still\n")
        assert read_until(tls, b"\n") == b"llits\n"


# ------------------------------------------------------------------------------------------ OpenSSL s_client


def s_client_session(port: int, tmp: Path, lines: list[bytes], settle: float = 0.8) -> tuple[str, Path]:
    """``openssl s_client`` sending ``lines`` one by one (``R`` renegotiates), with a key log; its output."""
    openssl = require_binary("openssl")
    keylog = tmp / "s_client.keys"
    proc = subprocess.Popen(
        [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", "-keylogfile", str(keylog)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        assert proc.stdin is not None
        time.sleep(settle)
        for line in lines:
            try:
                proc.stdin.write(line)
                proc.stdin.flush()
            except BrokenPipeError:  # s_client gave up (a refused renegotiation)
                break
            time.sleep(settle)
        out, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    return out.decode(errors="replace"), keylog


def test_s_client_R_renegotiates_with_serve(tmp_path: Path) -> None:
    keylog = tmp_path / "serve.keys"
    with serve(["--client-renegotiation", "--once", "--keylog", str(keylog)]) as server:
        out, client_keys = s_client_session(server.port, tmp_path, [b"before\n", b"R\n", b"after\n"])
        server.finish()
    lines = out.splitlines()
    assert "RENEGOTIATING" in lines and "before" in lines and "after" in lines, out
    assert lines.index("before") < lines.index("RENEGOTIATING") < lines.index("after")
    assert any("renegotiated=1 ok" in line for line in server.lines), server.lines
    assert len(keylog_lines(keylog)) == 2 and keylog_lines(keylog) == keylog_lines(client_keys)


def test_serve_requests_renegotiation_from_s_client(tmp_path: Path) -> None:
    keylog = tmp_path / "serve.keys"
    with serve(["--request-renegotiation", "--once", "--keylog", str(keylog)]) as server:
        out, client_keys = s_client_session(server.port, tmp_path, [b"first\n", b"second\n"])
        server.finish()
    lines = out.splitlines()
    assert "first" in lines and "second" in lines, out
    assert any("renegotiated=1 ok" in line for line in server.lines), server.lines
    assert len(keylog_lines(keylog)) == 2 and keylog_lines(keylog) == keylog_lines(client_keys)


def test_serve_refuses_s_client_R_without_client_renegotiation(tmp_path: Path) -> None:
    """Without --client-renegotiation: the warning no_renegotiation, as before (RFC 5746 §4.4)."""
    keylog = tmp_path / "serve.keys"
    with serve(["--once", "--keylog", str(keylog)]) as server:
        out, _ = s_client_session(server.port, tmp_path, [b"before\n", b"R\n", b"after\n"])
        server.finish()
    assert "before" in out.splitlines(), out
    assert "no renegotiation" in out, out  # our warning no_renegotiation; OpenSSL then gives up (its choice, §4.2)
    assert len(keylog_lines(keylog)) == 1  # no second handshake
    assert not any("renegotiated=" in line for line in server.lines), server.lines


# ------------------------------------------------------------------------------------------ GnuTLS


def test_gnutls_cli_rehandshake_with_serve(tmp_path: Path) -> None:
    cli = require_binary("gnutls-cli")
    keylog = tmp_path / "serve.keys"
    with serve(["--client-renegotiation", "--once", "--keylog", str(keylog)]) as server:
        proc = subprocess.Popen(
            [cli, "--insecure", "--rehandshake", "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2", "-p", str(server.port),
             "127.0.0.1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            assert proc.stdin is not None
            time.sleep(1.0)
            proc.stdin.write(b"across\n")
            proc.stdin.flush()
            time.sleep(0.8)
            out, _ = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        server.finish()
    text = out.decode(errors="replace")
    assert "ReHandshake was completed" in text or "Rehandshake was completed" in text, text
    assert "across" in text.splitlines(), text
    assert len(keylog_lines(keylog)) == 2
    assert any("renegotiated=1 ok" in line for line in server.lines), server.lines


def test_serve_requests_renegotiation_from_gnutls_cli(tmp_path: Path) -> None:
    """serve --request-renegotiation: gnutls-cli answers our HelloRequest ("Rehandshake was performed")."""
    cli = require_binary("gnutls-cli")
    keylog = tmp_path / "serve.keys"
    with serve(["--request-renegotiation", "--once", "--keylog", str(keylog)]) as server:
        proc = subprocess.Popen(
            [cli, "--insecure", "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2", "-p", str(server.port), "127.0.0.1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            assert proc.stdin is not None
            for line in (b"first\n", b"second\n"):
                time.sleep(0.9)
                proc.stdin.write(line)
                proc.stdin.flush()
            time.sleep(0.8)
            out, _ = proc.communicate(timeout=TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        server.finish()
    lines = out.decode(errors="replace").splitlines()
    assert "first" in lines and "second" in lines and "*** Rehandshake was performed." in lines, lines
    assert lines.index("first") < lines.index("*** Rehandshake was performed.") < lines.index("second")
    assert len(keylog_lines(keylog)) == 2
    assert any("renegotiated=1 ok" in line for line in server.lines), server.lines


@contextmanager
def gnutls_serv_echo(cli_pki: dict[str, Path]) -> Iterator[int]:
    serv = require_binary("gnutls-serv")
    port = free_port()
    proc = subprocess.Popen([serv, "--echo", "-p", str(port), "--x509certfile", str(cli_pki["cert"]),
                             "--x509keyfile", str(cli_pki["key"]), "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def listening() -> bool:
            import socket

            assert proc.poll() is None, "gnutls-serv exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(listening, "gnutls-serv to listen")
        yield port
    finally:
        proc.kill()
        proc.wait(5)


def test_our_client_renegotiates_with_gnutls_serv(cli_pki: dict[str, Path]) -> None:
    with gnutls_serv_echo(cli_pki) as port, TLSSocket.connect("127.0.0.1", port, client_config(), timeout=TIMEOUT) as tls:
        tls.sendall(b"before\n")
        assert read_until(tls, b"\n") == b"before\n"
        done = tls.renegotiate()
        assert done is not None and done.renegotiation
        tls.sendall(b"after\n")
        assert read_until(tls, b"\n") == b"after\n"
        assert len(tls.connection.epochs) == 2


def test_our_client_answers_gnutls_serv_rehandshake(cli_pki: dict[str, Path]) -> None:
    config = client_config(server_renegotiation=True)
    with gnutls_serv_echo(cli_pki) as port, TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
        tls.sendall(b"**REHANDSHAKE**\n")  # gnutls-serv --echo: send a HelloRequest
        tls.settimeout(0.2)
        wait_for(lambda: _read_quietly(tls) and len(tls.connection.epochs) == 2, "the renegotiation")
        tls.settimeout(TIMEOUT)
        tls.sendall(b"after\n")
        assert read_until(tls, b"after\n").endswith(b"after\n")
        assert tls.handshake is not None and tls.handshake.renegotiation


def test_connect_html_draws_both_epochs_of_a_renegotiation(cli_pki: dict[str, Path], tmp_path: Path) -> None:
    """``connect --html`` of a renegotiated connection (issue 14: "Renegotiation adds a new branch"): one tree branch
    per handshake with s_server's key log values, and every tapped record opens under its epoch's keys (the second
    handshake under the first epoch's, RFC 5746), none red."""
    page = tmp_path / "reneg.html"
    with s_server(cli_pki, tmp_path, ["-client_renegotiation", "-rev"]) as (port, _, keylog):
        done = run_connect([f"127.0.0.1:{port}", "--insecure", "--show-keys", "--wait", "1", "--html", str(page)],
                           b"before\nR\nafter\n")
    assert done.returncode == 0, done.stderr.decode()
    markup = page.read_text()
    assert "handshake 1" in markup and "handshake 2" in markup
    for client_random, master_secret in (line.split()[1:] for line in keylog_lines(keylog)):
        assert client_random in markup and master_secret in markup  # both epochs, in full (--show-keys)
    rows = re.findall(r'<tr id="c0r\d+" class="([^"]*)"', markup)
    assert len(rows) > 10 and not [c for c in rows if "bad" in c.split()]
    assert "client write key (epoch 2)" in markup and "server write key (epoch 2)" in markup
