"""TLS 1.3 features against OpenSSL's s_server/s_client on loopback, captured by dumpcap:
HelloRetryRequest, KeyUpdate in both directions (OpenSSL logs the new secrets as ``*_TRAFFIC_SECRET_N``),
PSK resumption with accepted 0-RTT early data. Checked against the bytes the peers were given and tshark."""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture, stop_process
from tests.helpers.env import free_port, require_binary
from tlsstate.capture.decrypt import CaptureResult, DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource

pytestmark = pytest.mark.interop

CLIENT_DATA = b"hello after key update\n"
SERVER_DATA = b"server reply\n"
EARLY_DATA = b"GET /early HTTP/1.0\n"
LATE_SERVER_DATA = b"late reply\n"


@dataclass
class Run:
    capture: Path
    keylog: Path
    early_accepted: bool
    early_rejected: bool  # the third connection's (the same session again: OpenSSL's tickets are single-use)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    openssl = require_binary("openssl")
    tmp = tmp_path_factory.mktemp("tls13")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem"), "-subj", "/CN=localhost", "-days", "2"],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    capture, keylog, session = tmp / "tls13.pcapng", tmp / "keys.log", tmp / "sess.pem"
    (tmp / "early.txt").write_bytes(EARLY_DATA)
    early_accepted = False
    with loopback_capture(capture, [port]):
        server = client = None
        try:
            server = subprocess.Popen(
                [openssl, "s_server", "-accept", str(port), "-cert", str(tmp / "cert.pem"), "-key", str(tmp / "key.pem"),
                 "-tls1_3", "-groups", "P-256", "-early_data", "-num_tickets", "1"],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            # 1: the client's key share is X25519, the server wants P-256 -> HelloRetryRequest; then "K" = KeyUpdate
            # with update_requested (the server answers with its own KeyUpdate); data both ways after it
            client = subprocess.Popen(
                [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-groups", "X25519:P-256",
                 "-keylogfile", str(keylog), "-sess_out", str(session)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert client.stdin and server.stdin
            time.sleep(0.5)
            client.stdin.write(b"K\n")
            client.stdin.flush()
            time.sleep(0.3)
            client.stdin.write(CLIENT_DATA)
            client.stdin.flush()
            time.sleep(0.3)
            server.stdin.write(SERVER_DATA)
            server.stdin.flush()
            time.sleep(0.3)
            client.stdin.close()
            client.wait(10)
            # 2: resumption with 0-RTT early data (P-256 key share: no HelloRetryRequest, so 0-RTT can be accepted)
            resumed = subprocess.run(
                [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-groups", "P-256",
                 "-keylogfile", str(keylog), "-sess_in", str(session), "-early_data", str(tmp / "early.txt")],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            early_accepted = b"Early data was accepted" in resumed.stdout
            # 3: the same session once more: OpenSSL's server rejects the early data (single-use tickets, RFC 9846
            # §8.1)
            again = subprocess.run(
                [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", "-groups", "P-256",
                 "-keylogfile", str(keylog), "-sess_in", str(session), "-early_data", str(tmp / "early.txt")],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
            early_rejected = b"Early data was rejected" in again.stdout
        finally:
            for proc in (client, server):
                if proc is not None:
                    stop_process(proc)
    yield Run(capture, keylog, early_accepted, early_rejected)


def _decrypt(run: Run) -> CaptureResult:
    keys = KeySource()
    keys.add_keylog_file(run.keylog)
    assert keys.warnings == []  # the *_TRAFFIC_SECRET_N lines are understood
    return decrypt_capture(run.capture, keys, DecryptOptions(keep_records=True))


def test_hello_retry_request_and_key_update(run: Run) -> None:
    result = _decrypt(run)
    assert len(result.connections) == 3
    conn = result.connections[0]
    got = conn.to_json()
    assert got["version"] == "TLS 1.3" and got["records_failed"] == 0 and got["records_undecryptable"] == 0
    assert "HelloRetryRequest" in got["notes"]
    assert got["finished_verified"] is True  # transcript with message_hash(ClientHello1) (RFC 8446 §4.4.1)
    assert got["client_to_server_sha256"] == hashlib.sha256(CLIENT_DATA).hexdigest()
    assert got["server_to_client_sha256"] == hashlib.sha256(SERVER_DATA).hexdigest()
    keys = {r.key for r in conn.session.records if r.content_type == 23}
    assert "CLIENT_TRAFFIC_SECRET_1 (epoch 3)" in keys and "SERVER_TRAFFIC_SECRET_1 (epoch 3)" in keys


def test_resumption_with_early_data(run: Run) -> None:
    if not run.early_accepted:
        pytest.skip("this OpenSSL did not accept the early data")
    result = _decrypt(run)
    conn = result.connections[1]
    got = conn.to_json()
    assert got["resumed"] and got["records_failed"] == 0 and got["records_undecryptable"] == 0
    assert got["finished_verified"] is True  # the client's covers EndOfEarlyData
    assert got["client_to_server_sha256"] == hashlib.sha256(EARLY_DATA).hexdigest()
    early = [r for r in conn.session.records if r.key.startswith("CLIENT_EARLY_TRAFFIC_SECRET")]
    assert early and all(r.verdict == "ok" for r in early)


def test_accepted_and_rejected_early_data_are_told_apart(run: Run) -> None:
    """``early_data`` in --json and the text notes say what OpenSSL's server did with the 0-RTT data (its s_client
    printed "Early data was accepted" / "rejected"): the rejected copy is in the client's stream as sent, marked."""
    if not (run.early_accepted and run.early_rejected):
        pytest.skip("this OpenSSL did not accept and then reject the early data")
    from tlsstate.capture.report import render_explain

    result = _decrypt(run)
    full, accepted, rejected = (conn.to_json() for conn in result.connections)
    assert full["early_data"] is None
    assert accepted["early_data"] == {"accepted": True, "records": 1, "bytes": len(EARLY_DATA)}
    assert rejected["early_data"] == {"accepted": False, "records": 1, "bytes": len(EARLY_DATA)}
    assert rejected["records_failed"] == 0 and rejected["finished_verified"] is True
    # the stream as sent (as tshark shows it, test_tshark_agrees): the rejected 0-RTT data is in it, hence the marker
    assert rejected["client_to_server_sha256"] == hashlib.sha256(EARLY_DATA).hexdigest()
    text = render_explain(result.connections[2])
    assert f"0-RTT data decrypted: {len(EARLY_DATA)} bytes, REJECTED by the server" in text
    assert f"0-RTT data decrypted: {len(EARLY_DATA)} bytes, accepted" in render_explain(result.connections[1])


def test_tshark_agrees(run: Run) -> None:
    tshark = require_binary("tshark")
    result = _decrypt(run)
    for conn in result.connections:
        fields = subprocess.run(
            [tshark, "-r", str(run.capture), "-o", f"tls.keylog_file:{run.keylog}", "-Y",
             f"tcp.stream eq {conn.tcp.number} && tls.app_data", "-T", "fields", "-e", "tcp.srcport",
             "-e", "tls.segment.data", "-e", "data.data"], capture_output=True, text=True, timeout=60).stdout
        client_port = int(conn.client.rsplit(":", 1)[1])
        sent = {True: b"", False: b""}
        for line in fields.splitlines():
            port, *values = line.split("\t")
            blob = b"".join(bytes.fromhex(v.replace(":", "")) for value in values for v in value.split(",") if v)
            sent[int(port) == client_port] += blob
        got = conn.to_json()
        assert hashlib.sha256(sent[True]).hexdigest() == got["client_to_server_sha256"], conn.number
        assert hashlib.sha256(sent[False]).hexdigest() == got["server_to_client_sha256"], conn.number


def test_cli_explain_and_table_for_tls13(run: Run) -> None:
    from tlsstate.capture.decrypt import ConnectionResult
    from tlsstate.capture.report import render_explain

    result = _decrypt(run)
    conn: ConnectionResult = result.connections[0]
    text = render_explain(conn)
    for label in ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_1", 'HKDF-Expand-Label(secret, "key"'):
        assert label in text
    assert text.count("connection 0") == 1
    secret = KeySource()
    secret.add_keylog_file(run.keylog)
    value = next(iter(secret.keylog.tls13.values()))["CLIENT_HANDSHAKE_TRAFFIC_SECRET"].hex()
    assert value not in text and value in render_explain(conn, show_secrets=True)


def test_early_data_without_its_key(run: Run, tmp_path: Path) -> None:
    """Without CLIENT_EARLY_TRAFFIC_SECRET the 0-RTT records are undecryptable, the rest still decrypts."""
    if not run.early_accepted:
        pytest.skip("this OpenSSL did not accept the early data")
    lines = [line for line in run.keylog.read_text().splitlines() if not line.startswith("CLIENT_EARLY")]
    partial = tmp_path / "no-early.log"
    partial.write_text("\n".join(lines) + "\n")
    keys = KeySource()
    keys.add_keylog_file(partial)
    conn = decrypt_capture(run.capture, keys, DecryptOptions(keep_records=True)).connections[1]
    got = conn.to_json()
    verdicts = [(r.content_type, r.verdict, r.key) for r in conn.session.records if r.direction == "c>s"]
    assert got["records_failed"] == 0 and got["records_undecryptable"] >= 1, verdicts
    assert verdicts[2][1] == "no_keys"  # the 0-RTT record, after ClientHello and the compatibility CCS
    assert got["client_to_server_bytes"] == 0 and got["finished_verified"] is True
