"""STARTTLS and other in-band upgrades in live captures (issue 13 item 4).

The client is real: ``openssl s_client -starttls PROTO`` speaks each protocol's plaintext prelude, then TLS, and
writes the key log (``-keylogfile``). The server side is scripted: it answers the prelude the way the protocol's
RFC says and then runs TLS with CPython ``ssl``. Captured on loopback by dumpcap, decrypted by us and by tshark
(told the protocol of the port with ``-d``, so its own dissector finds the upgrade): the plaintext bytes and their
SHA-256 must be tshark's and the ones the peers exchanged, the prelude is counted and named, never decrypted data.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture
from tests.helpers.env import free_port, require_binary
from tlsstate.capture.decrypt import CaptureResult, decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.crypto.certs import generate_self_signed, write_pem_files

pytestmark = pytest.mark.interop

Talk = Callable[[socket.socket], None]  # the server's side of the plaintext prelude


def _line(sock: socket.socket) -> bytes:
    """One CRLF-terminated line from the client (bounded)."""
    got = bytearray()
    while not got.endswith(b"\n") and len(got) < 4096:
        chunk = sock.recv(1)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _until(sock: socket.socket, marker: bytes) -> bytes:
    got = bytearray()
    while marker not in got and len(got) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _exactly(sock: socket.socket, length: int) -> bytes:
    got = bytearray()
    while len(got) < length:
        chunk = sock.recv(length - len(got))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _smtp(sock: socket.socket) -> None:  # RFC 3207 §4
    sock.sendall(b"220 mail.example ESMTP ready\r\n")
    _line(sock)  # EHLO
    sock.sendall(b"250-mail.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
    _line(sock)  # STARTTLS
    sock.sendall(b"220 2.0.0 Ready to start TLS\r\n")


def _imap(sock: socket.socket) -> None:  # RFC 3501 §6.2.1
    sock.sendall(b"* OK IMAP4rev1 ready\r\n")
    _line(sock)  # . CAPABILITY
    sock.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n. OK CAPABILITY completed\r\n")
    _line(sock)  # . STARTTLS
    sock.sendall(b". OK Begin TLS negotiation now\r\n")


def _pop3(sock: socket.socket) -> None:  # RFC 2595 §4
    sock.sendall(b"+OK POP3 server ready\r\n")
    _line(sock)  # STLS
    sock.sendall(b"+OK Begin TLS negotiation\r\n")


def _ftp(sock: socket.socket) -> None:  # RFC 4217 §4
    sock.sendall(b"220 FTP server ready\r\n")
    _line(sock)  # AUTH TLS
    sock.sendall(b"234 AUTH TLS successful\r\n")


def _xmpp(sock: socket.socket) -> None:  # RFC 6120 §5.4
    _until(sock, b">")  # the stream header (openssl sends it in one write)
    sock.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                 b"xmlns:stream='http://etherx.jabber.org/streams' id='1' from='localhost' version='1.0'>"
                 b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
                 b"</stream:features>")
    _until(sock, b"/>")  # <starttls .../>
    sock.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")


def _ldap(sock: socket.socket) -> None:  # RFC 4511 §4.14.2: ExtendedResponse, resultCode success
    sock.recv(4096)
    sock.sendall(bytes.fromhex("300c020101780 70a010004000400".replace(" ", "")))


def _postgres(sock: socket.socket) -> None:  # PostgreSQL protocol: SSLRequest answered "S"
    _exactly(sock, 8)
    sock.sendall(b"S")


def _mysql(sock: socket.socket) -> None:  # MySQL HandshakeV10 with CLIENT_SSL; the client answers SSLRequest
    caps = 0x0000A20F | 0x0800  # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH, ..., SSL
    body = (b"\x0a" + b"8.0.0-scripted\x00" + (7).to_bytes(4, "little") + b"abcdefgh" + b"\x00"
            + (caps & 0xFFFF).to_bytes(2, "little") + b"\x21" + b"\x02\x00" + (caps >> 16).to_bytes(2, "little")
            + b"\x15" + bytes(10) + b"ijklmnopqrst\x00" + b"mysql_native_password\x00")
    sock.sendall(len(body).to_bytes(3, "little") + b"\x00" + body)
    _exactly(sock, 4 + 32)  # SSLRequest (32 bytes, sequence 1); the ClientHello follows at once


def _nntp(sock: socket.socket) -> None:  # RFC 4642 §2.2
    sock.sendall(b"200 news.example ready\r\n")
    _line(sock)  # CAPABILITIES (RFC 3977 §5.2)
    sock.sendall(b"101 Capability list:\r\nVERSION 2\r\nSTARTTLS\r\n.\r\n")
    _line(sock)  # STARTTLS
    sock.sendall(b"382 Continue with TLS negotiation\r\n")


@dataclass(frozen=True)
class Case:
    starttls: str  # openssl s_client -starttls name
    talk: Talk
    protocol: str  # what tlsstate must name
    dissector: str  # tshark -d tcp.port==N,<dissector>
    version: str  # "-tls1_2" / "-tls1_3"


CASES = [
    Case("smtp", _smtp, "smtp", "smtp", "-tls1_3"),
    Case("imap", _imap, "imap", "imap", "-tls1_2"),
    Case("pop3", _pop3, "pop3", "pop", "-tls1_3"),
    Case("ftp", _ftp, "ftp", "ftp", "-tls1_2"),
    Case("xmpp", _xmpp, "xmpp", "xmpp", "-tls1_3"),
    Case("ldap", _ldap, "ldap", "ldap", "-tls1_2"),
    Case("postgres", _postgres, "postgresql", "pgsql", "-tls1_3"),
    Case("mysql", _mysql, "mysql", "mysql", "-tls1_2"),
    Case("nntp", _nntp, "nntp", "nntp", "-tls1_3"),
]


@dataclass
class Upgraded:
    case: Case
    port: int
    request: bytes
    response: bytes


@dataclass
class Capture:
    path: Path
    keylog: Path
    sessions: list[Upgraded]


def _serve(listener: socket.socket, ctx: ssl.SSLContext, talk: Talk, request: bytes, response: bytes,
           failure: list[BaseException]) -> None:
    try:
        conn, _ = listener.accept()
        conn.settimeout(10)
        talk(conn)
        with ctx.wrap_socket(conn, server_side=True) as tls:
            got = bytearray()
            while len(got) < len(request):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                got += chunk
            tls.sendall(response)
            tls.unwrap()
    except BaseException as exc:  # surfaced in the test
        failure.append(exc)


def _session(openssl: str, case: Case, port: int, ctx: ssl.SSLContext, keylog: Path) -> Upgraded:
    request = f"{case.starttls} request over TLS\n".encode() * 20
    response = f"{case.starttls} response over TLS\r\n".encode() * 200
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(10)
    failure: list[BaseException] = []
    thread = threading.Thread(target=_serve, args=(listener, ctx, case.talk, request, response, failure), daemon=True)
    thread.start()
    try:
        proc = subprocess.run(
            [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-starttls", case.starttls, case.version,
             "-keylogfile", str(keylog), "-quiet", "-ign_eof", "-servername", "localhost"],
            input=request, capture_output=True, timeout=20)
    finally:
        thread.join(10)
        listener.close()
    if failure:
        raise AssertionError(f"{case.starttls}: {failure[0]!r}; s_client said {proc.stderr[-300:]!r}")
    assert response in proc.stdout, (case.starttls, proc.stderr[-500:])
    return Upgraded(case, port, request, response)


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    openssl = require_binary("openssl")
    tmp = tmp_path_factory.mktemp("starttls")
    cert, key = generate_self_signed(["localhost"], "ecdsa-p256", days=1)
    write_pem_files(cert, key, tmp / "cert.pem", tmp / "key.pem")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    keylog = tmp / "keys.log"
    ports = [free_port() for _ in CASES]
    path = tmp / "starttls.pcapng"
    sessions: list[Upgraded] = []
    with loopback_capture(path, ports):
        for case, port in zip(CASES, ports, strict=True):
            sessions.append(_session(openssl, case, port, ctx, keylog))
    yield Capture(path, keylog, sessions)


def _decrypt(capture: Capture) -> CaptureResult:
    keys = KeySource()
    keys.add_keylog_file(capture.keylog)
    return decrypt_capture(capture.path, keys)


def _tshark_follow(tshark: str, capture: Capture, session: Upgraded, stream: int) -> tuple[bytes, bytes]:
    """(client→server, server→client) of tshark's ``follow,tls,raw`` for one TCP stream."""
    out = subprocess.run(
        [tshark, "-r", str(capture.path), "-o", f"tls.keylog_file:{capture.keylog}", "-q",
         "-d", f"tcp.port=={session.port},{session.case.dissector}", "-z", f"follow,tls,raw,{stream}"],
        capture_output=True, text=True, timeout=120).stdout
    node0 = out.split("Node 0:", 1)[1].split("\n", 1)[0].strip()
    body = out.split("Node 1:", 1)[1].split("\n", 1)[1]
    first, second = bytearray(), bytearray()
    for line in body.splitlines():
        if line.startswith("====="):
            break
        if line.startswith("\t"):
            second += bytes.fromhex(line.strip())
        elif line.strip():
            first += bytes.fromhex(line.strip())
    client_first = not node0.endswith(f":{session.port}")
    return (bytes(first), bytes(second)) if client_first else (bytes(second), bytes(first))


def _by_port(result: CaptureResult) -> dict[int, dict[str, object]]:
    return {int(c.server.rsplit(":", 1)[1]): c.to_json() for c in result.connections}


def test_every_upgrade_is_found_named_and_decrypted(upgraded: Capture) -> None:
    got = _by_port(_decrypt(upgraded))
    assert len(got) == len(CASES)
    for session in upgraded.sessions:
        conn = got[session.port]
        name = session.case.starttls
        assert conn["client_to_server_sha256"] == hashlib.sha256(session.request).hexdigest(), name
        assert conn["server_to_client_sha256"] == hashlib.sha256(session.response).hexdigest(), name
        assert conn["records_failed"] == 0 and conn["records_undecryptable"] == 0, (name, conn)
        assert conn["finished_verified"] is True, name
        prelude = conn["prelude"]
        assert isinstance(prelude, dict), name
        assert prelude["protocol"] == session.case.protocol, (name, prelude)
        assert prelude["client_to_server_bytes"] > 0 and prelude["server_to_client_bytes"] > 0, (name, prelude)


def test_upgrades_agree_with_tshark(upgraded: Capture) -> None:
    tshark = require_binary("tshark")
    result = _decrypt(upgraded)
    for conn in result.connections:
        port = int(conn.server.rsplit(":", 1)[1])
        session = next(s for s in upgraded.sessions if s.port == port)
        client, server = _tshark_follow(tshark, upgraded, session, conn.tcp.number)
        assert server, session.case.starttls  # tshark decrypted it: its dissector found the upgrade
        ours = conn.to_json()
        assert ours["client_to_server_bytes"] == len(client), session.case.starttls
        assert ours["client_to_server_sha256"] == hashlib.sha256(client).hexdigest(), session.case.starttls
        assert ours["server_to_client_sha256"] == hashlib.sha256(server).hexdigest(), session.case.starttls
