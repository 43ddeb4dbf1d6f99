"""``tlsstate serve``, ``connect`` and TLSSocket against OpenSSL, GnuTLS and tlslite-ng: the rules of issue 12.

- Cipher suite choice: ``openssl s_client -cipher`` with lists in an order our server would not choose gets the
  client's first suite we support (as ``openssl s_server`` answers), and our order with ``--server-cipher-order``.
- ALPN (RFC 7301 §3.2): ``s_client -alpn`` with no name in common with ``serve --alpn`` gets the fatal
  no_application_protocol; with one in common, that one.
- 1/n-1 record splitting in TLS 1.0 CBC: ``s_client -msg`` shows the record headers our server sends (a record
  of one byte, then the rest) and receives the page intact; ``s_server -rev`` and ``gnutls-serv --echo`` reassemble
  what our client splits (its records read off the wire); GnuTLS's client reads our split ``--www`` page;
  tlslite-ng (the one live SSL 3.0 peer) reassembles our split SSL 3.0 writes and we read its own split ones.

Every process is started with a timeout and killed in a ``finally``.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import TIMEOUT, make_cli_pki, run_connect, serve
from tlsstate.config import TLSConfig
from tlsstate.crypto.suites import by_name
from tlsstate.io.sockets import TLSSocket
from tlsstate.record import Deframer
from tlsstate.wire.constants import ContentType, ProtocolVersion

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("negotiation-pki"))


def s_client(port: int, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    openssl = require_binary("openssl")
    return subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", *args],
                          input=stdin.decode(), capture_output=True, text=True, timeout=TIMEOUT)


def s_client_bytes(port: int, *args: str, stdin: bytes = b"") -> bytes:
    """s_client's stdout as bytes (text mode would turn the page's CR LF into LF)."""
    openssl = require_binary("openssl")
    return subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", *args],
                          input=stdin, capture_output=True, timeout=TIMEOUT).stdout


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
    support (OpenSSL 3.0 lists ECDHE-ECDSA-AES256-GCM-SHA384, then ECDHE-RSA-AES256-GCM-SHA384). The server is held
    to TLS 1.2 (serve offers TLS 1.3 too by default, which s_client would then take)."""
    with serve(["--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "1", "--versions",
                "tls1.0-tls1.2"]) as server:
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


# ------------------------------------------------------------------------------- 1/n-1 record splitting


def application_record_lengths(output: str) -> list[int]:
    """Lengths of the application data records s_client -msg saw arrive ("<<< ... RecordHeader", then 17 03 01 LL LL)."""
    headers = re.findall(r"<<< [^\n]*RecordHeader[^\n]*\n\s+17 03 0[0-3] ([0-9a-f]{2}) ([0-9a-f]{2})", output)
    return [int(high + low, 16) for high, low in headers]


def mte_length(plaintext_length: int, mac_length: int = 20) -> int:
    """A TLS 1.0 AES-CBC MAC-then-encrypt record: plaintext + MAC + padding to the 16-byte block (no explicit IV)."""
    return 16 * ((plaintext_length + mac_length) // 16 + 1)


@pytest.mark.parametrize("split", [True, False], ids=["split", "no-record-splitting"])
def test_s_client_sees_split_records(pki: dict[str, Path], split: bool) -> None:
    """``serve --www --versions tls1.0`` answers s_client (AES128-SHA, no EtM) with its page: first a record of one
    byte (32 bytes on the wire), then the rest; the page arrives whole. ``--no-record-splitting``: one record."""
    args = ["--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "1", "--www", "--versions", "tls1.0"]
    with serve([*args, *([] if split else ["--no-record-splitting"])]) as server:
        out = s_client_bytes(server.port, "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-no_etm", "-ign_eof",
                             "-msg", stdin=b"GET / HTTP/1.0\r\n\r\n")
        server.finish()
    data = re.sub(rb"[<>]{3} [^\n]*\n(    [0-9a-f ]+\n)*", b"", out)  # s_client -msg lines between the records
    assert b"HTTP/1.0 200 OK\r\n" in data and b"</html>\n" in data, data[-800:]
    page = data[data.index(b"HTTP/1.0 200 OK"):data.index(b"</html>\n") + len(b"</html>\n")]
    lengths = application_record_lengths(out.decode(errors="replace"))
    if split:
        assert lengths == [32, mte_length(len(page) - 1)], (lengths, len(page))
    else:
        assert lengths == [mte_length(len(page))], (lengths, len(page))


def sent_application_records(wire: bytes) -> list[int]:
    deframer = Deframer()
    deframer.feed(wire)
    return [len(r.fragment) for r in deframer if r.content_type == ContentType.APPLICATION_DATA]


def tls10_client_config(**extra: object) -> TLSConfig:
    suite = by_name("TLS_RSA_WITH_AES_128_CBC_SHA")
    assert suite is not None
    config = TLSConfig(min_version=ProtocolVersion.TLS1_0, max_version=ProtocolVersion.TLS1_0, cipher_suites=[suite],
                       encrypt_then_mac=False, verify=False, server_name="localhost")
    for name, value in extra.items():
        setattr(config, name, value)
    return config


def split_round_trip(port: int, lines: list[bytes], expect: list[bytes]) -> list[int]:
    """Send each line as one write from our TLS 1.0 client; read the peer's answer; the record lengths we sent."""
    wire = bytearray()
    tap = lambda direction, data: wire.extend(data) if direction == "out" else None  # noqa: E731
    with TLSSocket.connect("127.0.0.1", port, tls10_client_config(), timeout=TIMEOUT, on_wire=tap) as tls:
        for line, answer in zip(lines, expect, strict=True):
            tls.sendall(line)
            got = b""
            while len(got) < len(answer):
                chunk = tls.recv()
                assert chunk, got
                got += chunk
            assert got == answer
    return sent_application_records(bytes(wire))


def test_s_server_reassembles_our_split_writes(pki: dict[str, Path]) -> None:
    """``s_server -rev`` reverses whole lines: every line we split 1/n-1 comes back reversed, so OpenSSL put the
    one-byte record and the rest together. On the wire: 32 bytes, then the rest, per write."""
    openssl = require_binary("openssl")
    port = free_port()
    proc = subprocess.Popen([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki["cert"]), "-key",
                             str(pki["key"]), "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-rev"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)  # (a probe connection: no -naccept 1 here)
        lines = [b"first line\n", b"x" * 5000 + b"\n", b"ab\n"]
        lengths = split_round_trip(port, lines, [line[:-1][::-1] + b"\n" for line in lines])
    finally:
        proc.kill()
        proc.wait(5)
    assert lengths == [n for line in lines for n in (32, mte_length(len(line) - 1))]


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "peer did not start"
            time.sleep(0.05)


@contextmanager
def gnutls_echo(pki: dict[str, Path]) -> Iterator[int]:
    serv = require_binary("gnutls-serv")
    port = free_port()
    proc = subprocess.Popen([serv, "--echo", "-p", str(port), "--x509certfile", str(pki["cert"]), "--x509keyfile",
                             str(pki["key"]), "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.0:%NO_ETM"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        proc.kill()
        proc.wait(5)


def test_gnutls_serv_reassembles_our_split_writes(pki: dict[str, Path]) -> None:
    """``gnutls-serv --echo`` answers whole lines: our split lines come back intact."""
    lines = [b"hello gnutls\n", bytes(range(32, 127)) * 100 + b"\n"]
    with gnutls_echo(pki) as port:
        lengths = split_round_trip(port, lines, lines)
    assert lengths == [n for line in lines for n in (32, mte_length(len(line) - 1))]


def test_gnutls_cli_reads_our_split_page(pki: dict[str, Path], tmp_path: Path) -> None:
    """gnutls-cli (TLS 1.0, CBC) against ``serve --www``: the page, split 1/n-1 by us, arrives whole."""
    cli = require_binary("gnutls-cli")
    args = ["--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "1", "--www", "--versions", "tls1.0"]
    with serve(args) as server:
        proc = subprocess.run([cli, "--x509cafile", str(pki["ca"]), "-p", str(server.port), "localhost",
                               "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+AES-128-CBC"],
                              input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=TIMEOUT)
        server.finish()
    text = proc.stdout.decode(errors="replace")
    assert "HTTP/1.0 200 OK" in text and "</html>" in text, (text[-500:], proc.stderr[-500:])
    assert re.search(r"New, TLSv1, Cipher is (ECDHE-RSA-)?AES128-SHA\n", text), text[-800:]
    page = text[text.index("<html>"):text.index("</html>")]
    assert page.count("<tr>") == page.count("</tr>") >= 8 and "<td>TLSv1 (TLS 1.0)</td>" in page, page


def test_ssl3_split_with_tlslite() -> None:
    """SSL 3.0 AES128-SHA against a tlslite-ng server that answers each read with its SHA-256: our writes go out as
    32 bytes (1 + 20-byte SSL 3.0 MAC + padding, RFC 6101 §5.2.3.2), then the rest; tlslite reassembles them."""
    tlslite = pytest.importorskip("tlslite")
    from cryptography.hazmat.primitives import serialization

    from tests.helpers.connections import credentials

    chain, key = credentials("rsa")
    cert_pem = chain[0].public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    messages = [b"hello ssl3", b"y" * 3000]
    box: dict[str, object] = {}

    def run() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            tls = tlslite.TLSConnection(conn)
            settings = tlslite.HandshakeSettings()
            settings.minVersion = settings.maxVersion = (3, 0)
            settings.cipherNames = ["aes128"]
            certificates = tlslite.X509CertChain()
            certificates.parsePemList(cert_pem)
            tls.handshakeServer(certChain=certificates, privateKey=tlslite.parsePEMKey(key_pem, private=True),
                                settings=settings)
            for message in messages:
                data = b""
                while len(data) < len(message):
                    data += tls.read(max=65536)
                tls.write(data[::-1])
            tls.close()
        except BaseException as exc:  # reported below
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wire = bytearray()
    tap = lambda direction, data: wire.extend(data) if direction == "out" else None  # noqa: E731
    config = tls10_client_config(min_version=ProtocolVersion.SSL3, max_version=ProtocolVersion.SSL3, enable_ssl3=True)
    try:
        with TLSSocket.connect("127.0.0.1", listener.getsockname()[1], config, timeout=TIMEOUT, on_wire=tap) as tls:
            for message in messages:
                tls.sendall(message)
                got = b""
                while len(got) < len(message):
                    got += tls.recv()
                assert got == message[::-1]
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert sent_application_records(bytes(wire)) == [n for m in messages for n in (32, mte_length(len(m) - 1))]


@pytest.mark.parametrize("split", [True, False], ids=["split", "no-record-splitting"])
def test_connect_record_splitting_seen_by_s_server(pki: dict[str, Path], split: bool) -> None:
    """``tlsstate connect --versions tls1.0 --ciphers AES128-SHA --no-etm`` sends its 18-byte request to
    ``s_server -www -msg``: as 32 + 48 bytes of records (1 + 17 plaintext bytes), or one 48-byte record with
    ``--no-record-splitting``; s_server answers the page either way."""
    openssl = require_binary("openssl")
    port = free_port()
    proc = subprocess.Popen([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki["cert"]), "-key",
                             str(pki["key"]), "-tls1", "-cipher", "AES128-SHA:@SECLEVEL=0", "-www", "-msg",
                             "-naccept", "1"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # no probe connection: -naccept 1
            if line.startswith(b"ACCEPT"):
                break
        result = run_connect([f"127.0.0.1:{port}", "--insecure", "--versions", "tls1.0", "--ciphers", "AES128-SHA",
                              "--no-etm", *([] if split else ["--no-record-splitting"])])
        output = proc.stdout.read().decode(errors="replace") if proc.wait(TIMEOUT) is not None else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
    assert result.returncode == 0 and b"HTTP/1.0 200 ok" in result.stdout, result.stderr[-500:]
    assert application_record_lengths(output) == ([32, 48] if split else [48]), output[-1500:]
