"""TLS 1.3 0-RTT (RFC 9846 §2.3, §4.2.10) and psk_ke (§4.2.9) against OpenSSL 3.0, both roles, on loopback; and
tshark and ``tlsstate decrypt`` opening the early data of a capture from the key log our client wrote.

- ``tlsstate connect --reconnect --early-data FILE`` → ``openssl s_server -tls1_3 -early_data``: s_server prints the
  file under "Early data received"; a second s_server that cannot open the ticket rejects it, the handshake
  completes and our client says so.
- ``openssl s_client -sess_in -early_data FILE`` → ``tlsstate serve --early-data N --www``: "Early data was
  accepted" and our page says so; the same session again is rejected (single-use tickets) but resumes; a serve
  without the ticket key skips the early data and completes a full handshake.
- psk_ke: our client and server with ``-allow_no_dhe_kex`` peers: resumed with no key share (no group).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture
from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import make_cli_pki, run_connect
from tests.helpers.peers import serve as tlsstate_serve
from tests.interop.test_interop_openssl import Peer
from tlsstate.config import TLSConfig
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.sessions.cache import SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.keylog import KeyLogWriter

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TIMEOUT = 20.0
EARLY = b"GET / HTTP/1.0\r\n\r\n"
TLS13 = ProtocolVersion.TLS1_3


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_cli_pki(tmp_path_factory.mktemp("early-data-pki"))


def _s_server(pki: dict[str, Path], *extra: str) -> tuple[Peer, int]:
    openssl = require_binary("openssl")
    port = free_port()
    peer = Peer([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(pki["cert"]), "-key",
                 str(pki["key"]), "-tls1_3", *extra])  # stdin stays open: s_server keeps serving
    peer.wait_for("ACCEPT")
    return peer, port


def test_connect_early_data_accepted_by_s_server(pki: dict[str, Path], tmp_path: Path) -> None:
    early = tmp_path / "early.txt"
    early.write_bytes(b"zero round trip " + bytes(range(65, 91)))
    peer, port = _s_server(pki, "-early_data", "-naccept", "2")
    try:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--reconnect", "--early-data", str(early),
                           "--wait", "1"], stdin=b"first\n")
        peer.wait_for("Early data received", timeout=10)
        peer.wait_for(early.read_text(), timeout=10)
    finally:
        peer.stop()
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert f"Early data: accepted ({len(early.read_bytes())} bytes)" in status and "Resumption: yes" in status
    text = peer.text()  # (s_server writes the data unbuffered, its status lines buffered: no order to check)
    assert "Early data received" in text and "End of early data" in text and text.count(early.read_text()) == 1


def test_our_client_told_when_s_server_rejects(pki: dict[str, Path]) -> None:
    """The ticket of one s_server offered to another (same name, other ticket key): the early data is rejected and
    skipped by s_server, the handshake completes in full, and the client knows the data was not delivered."""
    config = TLSConfig(max_version=TLS13, cafile=str(pki["ca"]), server_name="localhost", session_store=SessionStore(),
                       session_key="both")
    first, first_port = _s_server(pki, "-early_data", "-naccept", "1")
    second, second_port = _s_server(pki, "-early_data", "-naccept", "1")
    try:
        with TLSSocket.connect("127.0.0.1", first_port, config, timeout=TIMEOUT) as tls:
            tls.sendall(b"hello\n")
            tls.read_some()  # s_server echoes nothing; its NewSessionTickets arrive with the handshake
        assert config.session_store is not None and config.session_store.lookup("both") is not None
        with TLSSocket.connect("127.0.0.1", second_port, config, timeout=TIMEOUT, handshake=False) as tls:
            tls.connection.send_early_data(b"not for this server\n")
            hs = tls.do_handshake()
            assert tls.connection.early_data_sent == 20
            assert not hs.resumed and not hs.early_data_accepted
            assert tls.connection.early_data_status == "rejected"
            tls.sendall(b"after the handshake\n")
            second.wait_for("after the handshake")
    finally:
        first.stop()
        second.stop()
    assert "not for this server" not in second.text()


def _s_client(port: int, ca: Path, *extra: str, stdin: bytes = b"") -> str:
    openssl = require_binary("openssl")
    out = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-CAfile", str(ca),
                          "-servername", "localhost", "-ign_eof", *extra],
                         input=stdin, capture_output=True, timeout=TIMEOUT)
    return (out.stdout + out.stderr).decode("latin-1")


def test_s_client_early_data_to_serve(pki: dict[str, Path], tmp_path: Path) -> None:
    session, early = tmp_path / "sess.pem", tmp_path / "early.txt"
    early.write_bytes(EARLY)
    args = ["--www", "--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "3", "--early-data", "4096"]
    with tlsstate_serve(args) as server:
        first = _s_client(server.port, pki["ca"], "-sess_out", str(session), stdin=EARLY)
        accepted = _s_client(server.port, pki["ca"], "-sess_in", str(session), "-early_data", str(early))
        replayed = _s_client(server.port, pki["ca"], "-sess_in", str(session), "-early_data", str(early),
                             stdin=EARLY)  # rejected: s_client sends its request again after the handshake
        assert server.finish() == 0
    assert "New, TLSv1.3" in first and "Max Early Data: 4096" in first
    assert "Early data was accepted" in accepted and "Reused, TLSv1.3" in accepted
    assert "<tr><th>Early data (0-RTT)</th><td>accepted</td></tr>" in accepted  # the page answered the early request
    assert "Early data was rejected" in replayed and "Reused, TLSv1.3" in replayed  # single-use ticket (§8.1)
    log = [ln for ln in server.lines if " ok " in ln or " closed" in ln]
    assert len(log) == 3 and f" 0-RTT={len(EARLY)} " in log[1] and "0-RTT" not in log[2] and " resumed" in log[2]


def test_serve_skips_early_data_it_cannot_take(pki: dict[str, Path], tmp_path: Path) -> None:
    """A session from one serve --early-data offered to another serve without it (nor its ticket key): s_client
    sends the early data, our server skips it by trial decryption and completes a full handshake (§4.2.10)."""
    session, early = tmp_path / "sess.pem", tmp_path / "early.txt"
    early.write_bytes(b"skipped early data\n")
    base = ["--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "1", "--timeout", "3"]
    with tlsstate_serve([*base, "--www", "--early-data", "100"]) as server:
        _s_client(server.port, pki["ca"], "-sess_out", str(session), stdin=EARLY)
        server.finish()
    with tlsstate_serve(base) as server:  # echo
        out = _s_client(server.port, pki["ca"], "-sess_in", str(session), "-early_data", str(early),
                        stdin=b"one round trip\n")
        server.finish()
    assert "Early data was rejected" in out and "New, TLSv1.3" in out
    assert "one round trip" in out and "skipped early data" not in out.split("Early data was rejected", 1)[1]
    log = [ln for ln in server.lines if " in=" in ln]
    assert len(log) == 1 and " in=15 " in log[0] and "0-RTT" not in log[0] and "resumed" not in log[0], log


def test_connect_psk_ke_with_s_server(pki: dict[str, Path]) -> None:
    peer, port = _s_server(pki, "-allow_no_dhe_kex", "-naccept", "2")
    try:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--reconnect", "--psk-mode", "psk_ke",
                           "--wait", "1"], stdin=b"psk_ke\n")
    finally:
        peer.stop()
    status = out.stderr.decode()
    assert out.returncode == 0, status
    second = status.split("(reconnect)", 1)[1]
    assert "Session: Reused" in second and "Group     :" not in second  # no key exchange
    assert "Group     :" in status.split("(reconnect)", 1)[0]


def test_s_client_psk_ke_to_serve(pki: dict[str, Path], tmp_path: Path) -> None:
    session = tmp_path / "sess.pem"
    args = ["--www", "--cert", str(pki["cert"]), "--key", str(pki["key"]), "--count", "2", "--psk-mode", "psk_ke"]
    with tlsstate_serve(args) as server:
        _s_client(server.port, pki["ca"], "-sess_out", str(session), "-allow_no_dhe_kex", stdin=EARLY)
        resumed = _s_client(server.port, pki["ca"], "-sess_in", str(session), "-allow_no_dhe_kex", stdin=EARLY)
        assert server.finish() == 0
    assert "Reused, TLSv1.3" in resumed and "Server Temp Key" not in resumed
    assert "<tr><th>Group</th><td>(none)</td></tr>" in resumed
    log = [ln for ln in server.lines if " ok " in ln]
    assert len(log) == 2 and "TLS_AES_128_GCM_SHA256 resumed" in log[1], log


def test_connect_external_psk_ke_with_s_server() -> None:
    """External PSK with psk_ke: s_server -nocert -psk -allow_no_dhe_kex; no certificate, no key exchange."""
    openssl = require_binary("openssl")
    port, key = free_port(), bytes(range(32))
    peer = Peer([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-nocert", "-tls1_3", "-psk", key.hex(),
                 "-psk_identity", "id", "-allow_no_dhe_kex", "-naccept", "1", "-rev"])
    try:
        peer.wait_for("ACCEPT")
        out = run_connect([f"localhost:{port}", "--psk-identity", "id", "--psk", key.hex(), "--psk-mode", "psk_ke",
                           "--wait", "2"], stdin=b"ke\n")
    finally:
        peer.stop()
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert "Session: Reused" in status and "Group     :" not in status and out.stdout == b"ek\n"


def test_tshark_and_decrypt_open_our_early_data(tmp_path: Path) -> None:
    """Our client resumes with 0-RTT against our server on loopback while dumpcap captures (a full handshake, 0-RTT
    accepted, 0-RTT rejected); with the client's key log (CLIENT_EARLY_TRAFFIC_SECRET among the lines) tshark and
    ``tlsstate decrypt`` read the early data too. Both show the client's stream as sent: the rejected early data,
    which our server skipped (it received ``later`` alone), is in it."""
    tshark = require_binary("tshark")
    from tests.helpers.connections import credentials

    chain, key = credentials("rsa")
    port, capture, keylog_path = free_port(), tmp_path / "early.pcapng", tmp_path / "keys.log"
    server_cfg = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key, ticket_keys=TicketKeys(),
                           max_early_data=1000)
    early, later, reply = b"early data: replayable\n", b"after the handshake\n", b"server reply\n"
    with loopback_capture(capture, [port]), KeyLogWriter(keylog_path) as keylog, \
            TLSListener("127.0.0.1", port, server_cfg, timeout=TIMEOUT) as listener:
        client_cfg = TLSConfig(max_version=TLS13, verify=False, server_name="localhost", session_store=SessionStore(),
                               keylog=keylog)
        received: list[bytes] = []

        def serve() -> None:
            for _ in range(3):
                tls, _ = listener.accept(timeout=TIMEOUT)
                with tls:
                    got = b""
                    while not got.endswith(later):
                        got += tls.recv()
                    received.append(got)
                    tls.sendall(reply)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        for status in ("not sent", "accepted", "rejected"):
            if status == "rejected":
                server_cfg.max_early_data = 0  # the third connection's early data is rejected and skipped
            with TLSSocket.connect("127.0.0.1", port, client_cfg, timeout=TIMEOUT, handshake=False) as tls:
                if status != "not sent":
                    tls.connection.send_early_data(early)
                tls.do_handshake()
                tls.sendall(later)
                got = b""
                while len(got) < len(reply):
                    got += tls.recv()
                assert tls.connection.early_data_status == status
        thread.join(TIMEOUT)
    assert received == [later, early + later, later]
    assert "CLIENT_EARLY_TRAFFIC_SECRET " in keylog_path.read_text()
    follow = subprocess.run([tshark, "-r", str(capture), "-o", f"tls.keylog_file:{keylog_path}", "-q", "-z",
                             "follow,tls,ascii,1"], capture_output=True, text=True, timeout=60)
    assert follow.returncode == 0, follow.stderr
    assert "early data: replayable" in follow.stdout, follow.stdout[-2000:]
    rejected = subprocess.run([tshark, "-r", str(capture), "-o", f"tls.keylog_file:{keylog_path}", "-q", "-z",
                               "follow,tls,ascii,2"], capture_output=True, text=True, timeout=60)
    assert "early data: replayable" in rejected.stdout  # tshark shows what the client sent, taken or not
    ours = subprocess.run([sys.executable, "-m", "tlsstate", "decrypt", str(capture), "--keylog", str(keylog_path),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert ours.returncode == 0, ours.stderr
    found = [c for c in json.loads(ours.stdout) if c["server"].endswith(f":{port}")]
    # as tshark: the client's stream as sent, the rejected early data included (the server skipped it, see above)
    assert [c["client_to_server_sha256"] for c in found] == [
        hashlib.sha256(later).hexdigest(), hashlib.sha256(early + later).hexdigest(),
        hashlib.sha256(early + later).hexdigest()]
    assert all(c["records_failed"] == 0 for c in found), found


def test_s_client_external_psk_ke_to_serve() -> None:
    """serve --psk-identity --psk --psk-mode psk_ke, s_client -psk -allow_no_dhe_kex: no certificate, no key share."""
    key = bytes(range(32))
    with tlsstate_serve(["--www", "--count", "1", "--psk-identity", "id", "--psk", key.hex(), "--psk-mode",
                         "psk_ke"]) as server:
        openssl = require_binary("openssl")
        out = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3", "-psk", key.hex(),
                              "-psk_identity", "id", "-allow_no_dhe_kex", "-ign_eof"],
                             input=EARLY, capture_output=True, timeout=TIMEOUT)
        assert server.finish() == 0
    text = out.stdout.decode("latin-1")
    assert "Reused, TLSv1.3" in text and "<tr><th>Group</th><td>(none)</td></tr>" in text, text[-1500:]
    assert "Server Temp Key" not in text


def test_connect_html_opens_the_early_data_record(tmp_path: Path) -> None:
    """connect --html: the early traffic secret hangs under the early secret (with its key, IV and the early
    exporter master secret) and the early data record opens under it; no record lacks its key."""
    early, page = tmp_path / "early.txt", tmp_path / "page.html"
    early.write_bytes(b"EARLY-ON-THE-PAGE")
    with tlsstate_serve(["--count", "2", "--timeout", "3", "--early-data", "100"]) as server:
        out = run_connect([f"127.0.0.1:{server.port}", "--insecure", "--reconnect", "--early-data", str(early),
                           "--wait", "1", "--html", str(page)], stdin=b"x\n")
        server.finish()
    assert out.returncode == 0, out.stderr.decode()
    text = page.read_text()
    assert "Early data: accepted (17 bytes)" in out.stderr.decode()
    assert 'Derive-Secret(early_secret, &#34;c e traffic&#34;, ClientHello)' in text or \
        'Derive-Secret(early_secret, "c e traffic", ClientHello)' in text
    assert "early_exporter_master_secret" in text and "EARLY-ON-THE-PAGE" in text and "no_keys" not in text


def test_early_exporter_matches_s_servers_early_exporter_secret(pki: dict[str, Path], tmp_path: Path) -> None:
    """Our client resumes with 0-RTT against ``s_server -early_data -keylogfile``; its early export (RFC 9846 §7.5)
    equals the exporter computed in the test from the EARLY_EXPORTER_SECRET that OpenSSL logged, and its regular
    export the one from OpenSSL's EXPORTER_SECRET."""
    from tests.helpers.exporters import tls13_export
    from tlsstate.wire.keylog import parse_keylog

    keylog = tmp_path / "openssl.keys"
    peer, port = _s_server(pki, "-early_data", "-naccept", "2", "-keylogfile", str(keylog))
    config = TLSConfig(max_version=TLS13, cafile=str(pki["ca"]), server_name="localhost", session_store=SessionStore())
    try:
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            tls.sendall(b"first\n")
            tls.read_some()  # s_server's NewSessionTickets come with its flight
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT, early_data=EARLY) as tls:
            assert tls.early_data_status == "accepted"
            early = tls.export_keying_material("EXPORTER-tlsstate", b"ctx", 48, early=True)
            regular = tls.export_keying_material("EXPORTER-tlsstate", b"ctx", 48)
            assert tls.connection.tls13_secrets is not None
            hash_name = tls.connection.tls13_secrets.hash_name
        peer.wait_for("End of early data", timeout=10)
    finally:
        peer.stop()
    keys, _ = parse_keylog(keylog.read_text())
    (secrets,) = [s for s in keys.tls13.values() if "EARLY_EXPORTER_SECRET" in s]
    assert early == tls13_export(hash_name, secrets["EARLY_EXPORTER_SECRET"], b"EXPORTER-tlsstate", b"ctx", 48)
    assert regular == tls13_export(hash_name, secrets["EXPORTER_SECRET"], b"EXPORTER-tlsstate", b"ctx", 48)
    assert early != regular


def test_connect_keymatexport_early_against_s_server(pki: dict[str, Path], tmp_path: Path) -> None:
    """``connect --reconnect --early-data FILE --keymatexport L --keymatexport-early``: the first connection (no 0-RTT)
    says the early exporter is unavailable; the second prints the material of RFC 9846 §7.5 from the
    EARLY_EXPORTER_SECRET that s_server logged (computed in the test)."""
    from tests.helpers.exporters import tls13_export
    from tlsstate.wire.keylog import parse_keylog

    early, keylog = tmp_path / "early.txt", tmp_path / "openssl.keys"
    early.write_bytes(EARLY)
    peer, port = _s_server(pki, "-early_data", "-naccept", "2", "-keylogfile", str(keylog))
    try:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki["ca"]), "--reconnect", "--early-data", str(early),
                           "--keymatexport", "EXPORTER-tlsstate", "--keymatexportlen", "24", "--keymatexport-early",
                           "--wait", "1"], stdin=b"first\n")
        peer.wait_for("End of early data", timeout=10)
    finally:
        peer.stop()
    text = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 0, text
    blocks = text.split("Early keying material exporter:")[1:]
    assert len(blocks) == 2, text
    assert "Error: the early exporter needs TLS 1.3 0-RTT data" in blocks[0]
    keys, _ = parse_keylog(keylog.read_text())
    (secrets,) = [s for s in keys.tls13.values() if "EARLY_EXPORTER_SECRET" in s]
    hash_name = "sha384" if len(secrets["EARLY_EXPORTER_SECRET"]) == 48 else "sha256"
    expected = tls13_export(hash_name, secrets["EARLY_EXPORTER_SECRET"], b"EXPORTER-tlsstate", b"", 24)
    assert f"Keying material: {expected.hex().upper()}" in blocks[1], blocks[1][:400]
