"""Live captures: CPython ``ssl`` (OpenSSL) client and server on loopback, recorded by dumpcap/tshark, key log
from ``keylog_filename``. Our decryption must give exactly the bytes the peers exchanged, and the same
per-direction SHA-256 as tshark decrypting the same file; reordered and retransmitted segments injected
into the capture (edited with tlsstate.capture.writer, which decodes frames with dpkt) must not change the
result; a dropped segment is reported as a gap."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture
from tests.helpers.env import free_port, require_binary
from tlsstate.capture.decrypt import CaptureResult, DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource, load_rsa_key
from tlsstate.capture.writer import drop_segment, read_frames, reorder_and_retransmit, write_frames
from tlsstate.crypto.certs import generate_self_signed, write_pem_files

pytestmark = [pytest.mark.interop, pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # TLS 1.0/1.1 enums


@dataclass
class Case:
    name: str
    version: ssl.TLSVersion
    ciphers: str | None
    expect_suite: str


CASES = [
    Case("tls12-aes128gcm", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256", "0xc02f"),
    Case("tls12-aes256cbc-sha384", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-AES256-SHA384", "0xc028"),  # EtM (OpenSSL default)
    Case("tls12-chacha20", ssl.TLSVersion.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305", "0xcca8"),
    Case("tls12-aes128-sha-rsa", ssl.TLSVersion.TLSv1_2, "AES128-SHA", "0x002f"),
    Case("tls11-aes256-sha", ssl.TLSVersion.TLSv1_1, "ECDHE-RSA-AES256-SHA:@SECLEVEL=0", "0xc014"),
    Case("tls10-aes128-sha", ssl.TLSVersion.TLSv1, "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", "0xc013"),
    Case("tls13-aes256gcm", ssl.TLSVersion.TLSv1_3, None, "0x1302"),  # OpenSSL default suite order
]


def _certificate(tmp: Path) -> tuple[Path, Path]:
    cert, key = generate_self_signed(["localhost"], "rsa2048", days=1)  # RSA: the RSA-key-exchange case needs it
    write_pem_files(cert, key, tmp / "cert.pem", tmp / "key.pem")
    return tmp / "cert.pem", tmp / "key.pem"


def _receive(tls: ssl.SSLSocket, length: int) -> bytes:
    """Read until ``length`` bytes have arrived or the peer closes."""
    got = bytearray()
    while len(got) < length:
        chunk = tls.recv(65536)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def _exchange(case: Case, port: int, cert: Path, key: Path, keylog: Path, request: bytes, response: bytes) -> None:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.minimum_version = server_ctx.maximum_version = case.version
    if case.ciphers:
        server_ctx.set_ciphers(case.ciphers)
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    client_ctx.minimum_version = client_ctx.maximum_version = case.version
    client_ctx.set_alpn_protocols(["http/1.1"])
    server_ctx.set_alpn_protocols(["http/1.1"])
    if case.ciphers:
        client_ctx.set_ciphers(case.ciphers)
    client_ctx.keylog_filename = str(keylog)
    listener = socket.create_server(("127.0.0.1", port))
    listener.settimeout(10)
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                _receive(tls, len(request))
                tls.sendall(response)
                tls.unwrap()
        except BaseException as exc:  # surfaced in the main thread
            failure.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(request)
        assert _receive(tls, len(response)) == response
        with contextlib.suppress(ssl.SSLError, OSError):
            tls.unwrap()
    thread.join(10)
    listener.close()
    if failure:
        raise failure[0]


@dataclass
class LiveCapture:
    path: Path
    keylog: Path
    rsa_key: Path
    exchanged: list[tuple[Case, int, bytes, bytes]]  # case, port, request, response


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCapture]:
    tmp = tmp_path_factory.mktemp("live")
    cert, key = _certificate(tmp)
    keylog = tmp / "keys.log"
    ports = [free_port() for _ in CASES]
    capture = tmp / "live.pcapng"
    exchanged: list[tuple[Case, int, bytes, bytes]] = []
    with loopback_capture(capture, ports):
        for case, port in zip(CASES, ports, strict=True):
            request = b"GET /" + case.name.encode() + b" HTTP/1.1\r\n\r\n" + os.urandom(70_000)
            response = b"HTTP/1.1 200 OK\r\n\r\n" + os.urandom(300_000)
            _exchange(case, port, cert, key, keylog, request, response)
            exchanged.append((case, port, request, response))
    yield LiveCapture(capture, keylog, key, exchanged)


def _decrypt(path: Path, keylog: Path) -> CaptureResult:
    keys = KeySource()
    keys.add_keylog_file(keylog)
    return decrypt_capture(path, keys)


def _by_port(result: CaptureResult) -> dict[int, dict[str, object]]:
    return {int(c.server.rsplit(":", 1)[1]): c.to_json() for c in result.connections}


def test_live_decrypts_exactly_what_was_sent(live: LiveCapture) -> None:
    result = _decrypt(live.path, live.keylog)
    got = _by_port(result)
    for case, port, request, response in live.exchanged:
        conn = got[port]
        assert conn["cipher_suite"] == case.expect_suite, case.name
        names = {ssl.TLSVersion.TLSv1: "TLS 1.0", ssl.TLSVersion.TLSv1_1: "TLS 1.1", ssl.TLSVersion.TLSv1_2: "TLS 1.2",
                 ssl.TLSVersion.TLSv1_3: "TLS 1.3"}
        assert conn["version"] == names[case.version]
        assert conn["client_to_server_sha256"] == hashlib.sha256(request).hexdigest(), case.name
        assert conn["server_to_client_sha256"] == hashlib.sha256(response).hexdigest(), case.name
        assert conn["records_failed"] == 0 and conn["records_undecryptable"] == 0, (case.name, conn)
        assert conn["alpn"] == "http/1.1"
        assert conn["finished_verified"] is True  # both Finished messages match the rebuilt transcript
        assert conn["sni"] == "localhost"


def _tshark_follow(tshark: str, path: Path, keylog: Path, stream: int, client_endpoint: str) -> tuple[bytes, bytes]:
    """(client→server, server→client) plaintext from tshark's ``follow,tls,raw``: lines of node 0 are flush left,
    node 1's are indented; node 0 is whichever endpoint sent the first decrypted data (its address is printed)."""
    out = subprocess.run([tshark, "-r", str(path), "-o", f"tls.keylog_file:{keylog}", "-q",
                          "-z", f"follow,tls,raw,{stream}"], capture_output=True, text=True, timeout=120).stdout
    node0, node1 = bytearray(), bytearray()
    node0_endpoint = out.split("Node 0:", 1)[1].split("\n", 1)[0].strip()
    body = out.split("Node 1:", 1)[1].split("\n", 1)[1]
    for line in body.splitlines():
        if line.startswith("====="):
            break
        if line.startswith("\t"):
            node1 += bytes.fromhex(line.strip())
        elif line.strip():
            node0 += bytes.fromhex(line.strip())
    if node0_endpoint == client_endpoint:
        return bytes(node0), bytes(node1)
    return bytes(node1), bytes(node0)


def test_live_agrees_with_tshark(live: LiveCapture) -> None:
    tshark = require_binary("tshark")
    result = _decrypt(live.path, live.keylog)
    for conn in result.connections:
        client, server = _tshark_follow(tshark, live.path, live.keylog, conn.tcp.number, conn.client)
        got = conn.to_json()
        assert got["client_to_server_sha256"] == hashlib.sha256(client).hexdigest(), conn.number
        assert got["server_to_client_sha256"] == hashlib.sha256(server).hexdigest(), conn.number
        assert len(server) > 0


def test_reordered_and_retransmitted_segments_change_nothing(live: LiveCapture, tmp_path: Path) -> None:
    baseline = _by_port(_decrypt(live.path, live.keylog))

    linktype, frames = read_frames(live.path)
    mutated = tmp_path / "mutated.pcap"
    write_frames(mutated, reorder_and_retransmit(frames), linktype)
    again = _by_port(_decrypt(mutated, live.keylog))
    for port, conn in baseline.items():
        for field in ("client_to_server_sha256", "server_to_client_sha256", "client_to_server_bytes",
                      "server_to_client_bytes", "records_ok", "records_failed"):
            assert again[port][field] == conn[field], (port, field)


def test_lost_segment_is_a_reported_gap_and_decryption_resumes(live: LiveCapture, tmp_path: Path) -> None:
    """A server segment is dropped: the gap is reported, the records it cut are lost, and decryption resumes
    after it (the sequence number is found again), so the plaintext is the response minus one middle piece."""
    linktype, frames = read_frames(live.path)
    for index, (case, port, _request, response) in enumerate(live.exchanged):
        if case.name not in ("tls12-aes128gcm", "tls13-aes256gcm", "tls12-aes256cbc-sha384"):
            continue
        kept, dropped = drop_segment(frames, sport=port)
        lossy = tmp_path / f"lossy{index}.pcap"
        write_frames(lossy, kept, linktype)
        keys = KeySource()
        keys.add_keylog_file(live.keylog)
        plain: dict[tuple[int, str], bytearray] = {}

        def sink(number: int, writer: str, plain: dict[tuple[int, str], bytearray] = plain):  # type: ignore[no-untyped-def]
            return plain.setdefault((number, writer), bytearray()).extend

        result = decrypt_capture(lossy, keys, DecryptOptions(sink_factory=sink))
        [conn] = [c for c in result.connections if c.server.endswith(f":{port}")]
        got = conn.to_json()
        assert got["gaps"] and got["gaps"][0]["direction"] == "server_to_client", case.name
        assert got["records_failed"] == 0, case.name
        assert any("resynchronised after the gap" in n for n in got["notes"]), (case.name, got["notes"])
        data = bytes(plain[(conn.tcp.number, "server")])
        assert 0 < len(data) < len(response)
        head = next(i for i in range(len(data)) if data[i] != response[i])
        tail = len(data) - head
        assert data[head:] == response[len(response) - tail :], case.name  # prefix + suffix of what was sent
        # lost: the records the hole touched (loopback segments may be up to 64 KiB, several records)
        assert len(response) - len(data) <= dropped + 2 * 16384, case.name


def test_rsa_key_exchange_with_extended_master_secret(live: LiveCapture) -> None:
    """No key log: the server's RSA key decrypts the premaster of the RSA-key-exchange connection; OpenSSL
    negotiates extended_master_secret, so the master comes from the session hash (RFC 7627 §4)."""
    keys = KeySource()
    keys.rsa_keys.append(load_rsa_key(live.rsa_key))
    got = {int(c.server.rsplit(":", 1)[1]): c for c in decrypt_capture(live.path, keys).connections}
    for case, port, request, response in live.exchanged:
        conn = got[port]
        if case.name != "tls12-aes128-sha-rsa":
            assert conn.to_json()["records_undecryptable"] > 0  # ECDHE: an RSA key is not enough
            continue
        assert conn.session.ems
        assert [step for step, _v, _s in conn.session.derivations[0].steps if step == "session_hash"]
        assert conn.to_json()["client_to_server_sha256"] == hashlib.sha256(request).hexdigest()
        assert conn.to_json()["server_to_client_sha256"] == hashlib.sha256(response).hexdigest()
