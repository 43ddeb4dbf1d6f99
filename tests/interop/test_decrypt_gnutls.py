"""GnuTLS peers (gnutls-serv --echo / gnutls-cli with SSLKEYLOGFILE) on loopback, captured by dumpcap: a second
independent TLS implementation, and the families OpenSSL does not enable by default (AES-CCM in TLS 1.2 and
TLS 1.3, ChaCha20 in TLS 1.3, TLS 1.1 CBC). Each connection must give back the echoed line, verify both
Finished messages and agree with tshark."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture
from tests.helpers.env import free_port, require_binary
from tlsstate.capture.decrypt import CaptureResult, decrypt_capture
from tlsstate.capture.keysource import KeySource

pytestmark = pytest.mark.interop

PRIORITIES = {
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-CCM": ("TLS 1.3", "0x1304"),
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305": ("TLS 1.3", "0x1303"),
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CCM": ("TLS 1.2", None),
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-CBC:-MAC-ALL:+SHA1": ("TLS 1.2", None),
    "NORMAL:-VERS-ALL:+VERS-TLS1.1:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1": ("TLS 1.1", None),
}


@pytest.fixture(scope="module")
def gnutls_capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, list[tuple[str, bytes]]]]:
    serv, cli, openssl = (require_binary(b) for b in ("gnutls-serv", "gnutls-cli", "openssl"))
    tmp = tmp_path_factory.mktemp("gnutls")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp / "key.pem"),
                    "-out", str(tmp / "cert.pem"), "-subj", "/CN=localhost", "-days", "2"],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    capture, keylog = tmp / "gnutls.pcapng", tmp / "keys.log"
    sent: list[tuple[str, bytes]] = []
    with loopback_capture(capture, [port]):
        server = subprocess.Popen(
            [serv, "--echo", "-p", str(port), "--x509certfile", str(tmp / "cert.pem"), "--x509keyfile",
             str(tmp / "key.pem"), "--priority", "NORMAL:+AES-128-CCM:+VERS-TLS1.3:+VERS-TLS1.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.7)
            for priority in PRIORITIES:
                line = f"hello over {priority}\n".encode()
                subprocess.run([cli, "--insecure", "-p", str(port), "127.0.0.1", "--priority", priority], input=line,
                               capture_output=True, timeout=10, env=dict(os.environ, SSLKEYLOGFILE=str(keylog)),
                               check=True)
                sent.append((priority, line))
            time.sleep(0.3)
        finally:
            server.kill()
            server.wait()
    yield capture, keylog, sent


def _decrypt(capture: Path, keylog: Path) -> CaptureResult:
    keys = KeySource()
    keys.add_keylog_file(keylog)
    return decrypt_capture(capture, keys)


def test_gnutls_connections_decrypt_and_verify(gnutls_capture: tuple[Path, Path, list[tuple[str, bytes]]]) -> None:
    capture, keylog, sent = gnutls_capture
    result = _decrypt(capture, keylog)
    assert len(result.connections) == len(sent)
    for conn, (priority, line) in zip(result.connections, sent, strict=True):
        got = conn.to_json()
        version, suite = PRIORITIES[priority]
        assert got["version"] == version, priority
        if suite:
            assert got["cipher_suite"] == suite
        assert got["client_to_server_sha256"] == hashlib.sha256(line).hexdigest(), priority
        assert got["server_to_client_sha256"] == hashlib.sha256(line).hexdigest(), priority  # echoed
        assert got["records_failed"] == 0 and got["records_undecryptable"] == 0
        assert got["finished_verified"] is True, priority


def test_gnutls_capture_agrees_with_tshark(gnutls_capture: tuple[Path, Path, list[tuple[str, bytes]]]) -> None:
    tshark = require_binary("tshark")
    capture, keylog, _sent = gnutls_capture
    for conn in _decrypt(capture, keylog).connections:
        fields = subprocess.run(
            [tshark, "-r", str(capture), "-o", f"tls.keylog_file:{keylog}", "-Y",
             f"tcp.stream eq {conn.tcp.number} && tls.app_data", "-T", "fields", "-e", "tcp.srcport", "-e", "data.data"],
            capture_output=True, text=True, timeout=60).stdout
        client_port = int(conn.client.rsplit(":", 1)[1])
        seen = {True: b"", False: b""}
        for row in fields.splitlines():
            port, *values = row.split("\t")
            seen[int(port) == client_port] += b"".join(bytes.fromhex(v) for value in values for v in value.split(",") if v)
        got = conn.to_json()
        assert hashlib.sha256(seen[True]).hexdigest() == got["client_to_server_sha256"], conn.number
        assert hashlib.sha256(seen[False]).hexdigest() == got["server_to_client_sha256"], conn.number
