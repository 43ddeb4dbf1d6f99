"""The key exchange group of each connection, from live OpenSSL captures: TLS 1.2 ECDHE (ServerECDHParams) and
DHE (an RFC 7919 prime), TLS 1.3 key shares, and a HelloRetryRequest forced by a client whose first group the
server does not take. OpenSSL's own report (``s_client``'s "Server Temp Key") is the expectation; the connection
must still decrypt like tshark."""

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
from tests.helpers.synthetic_tls import tshark_follow
from tlsstate.capture.decrypt import ConnectionResult, DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.report import render_explain

pytestmark = pytest.mark.interop


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]  # s_client options
    group: str  # IANA name we must report
    temp_key: str  # what s_client prints as "Server Temp Key" (OpenSSL's independent view)
    hello_retry: bool = False


CASES = [
    Case(("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", "-groups", "secp384r1"), "secp384r1", "ECDH, secp384r1"),
    Case(("-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA", "-groups", "x25519"), "x25519", "X25519"),
    Case(("-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"), "modp2048", "DH, 2048 bits"),  # RFC 3526 group 14
    Case(("-tls1_3", "-groups", "x25519"), "x25519", "X25519"),
    Case(("-tls1_3", "-groups", "secp384r1"), "secp384r1", "ECDH, secp384r1"),
    Case(("-tls1_3", "-groups", "secp521r1:x25519"), "x25519", "X25519", hello_retry=True),  # server: no secp521r1
]


@dataclass
class Captured:
    path: Path
    keylog: Path
    temp_keys: list[str]


@pytest.fixture(scope="module")
def groups_capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    openssl = require_binary("openssl")
    folder = tmp_path_factory.mktemp("groups")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem"), "-subj", "/CN=localhost", "-days", "2"],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    capture, keylog = folder / "groups.pcapng", folder / "keys.log"
    temp_keys: list[str] = []
    with loopback_capture(capture, [port]):
        server = subprocess.Popen(
            [openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(folder / "cert.pem"), "-key",
             str(folder / "key.pem"), "-groups", "x25519:secp384r1", "-www"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.7)
            for case in CASES:
                out = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", *case.args, "-ign_eof",
                                      "-keylogfile", str(keylog)], input=b"GET / HTTP/1.0\r\n\r\n",
                                     capture_output=True, timeout=20, check=True).stdout.decode(errors="replace")
                temp_keys.append(next(line.split(":", 1)[1] for line in out.splitlines()
                                      if line.startswith("Server Temp Key")).strip())
        finally:
            stop_process(server)
    yield Captured(capture, keylog, temp_keys)


def _connections(captured: Captured) -> list[ConnectionResult]:
    keys = KeySource()
    keys.add_keylog_file(captured.keylog)
    return decrypt_capture(captured.path, keys, DecryptOptions(keep_records=True)).connections


def test_group_named_for_every_connection(groups_capture: Captured) -> None:
    tshark = require_binary("tshark")
    connections = _connections(groups_capture)
    assert len(connections) == len(CASES)
    for conn, case, temp_key in zip(connections, CASES, groups_capture.temp_keys, strict=True):
        assert temp_key.startswith(case.temp_key), (case, temp_key)  # OpenSSL agrees on the group
        got = conn.to_json()
        assert got["group"] == case.group, (case, got["group"])
        assert got["hello_retry"] is case.hello_retry, case
        assert got["finished_verified"] is True, case
        client, server = tshark_follow(tshark, groups_capture.path, groups_capture.keylog, conn.tcp.number,
                                        int(conn.server.rsplit(":", 1)[1]))
        assert got["client_to_server_sha256"] == hashlib.sha256(client).hexdigest(), case
        assert got["server_to_client_sha256"] == hashlib.sha256(server).hexdigest(), case
        assert f"key exchange group: {case.group}" in render_explain(conn)
        if "-tls1_3" in case.args:
            shares = got["key_shares"]
            assert shares["client"][-1]["group"] == case.group  # the share the server took (after any retry)
            assert shares["server_bytes"] == {"x25519": 32, "secp384r1": 97}[case.group]
            if case.hello_retry:
                assert shares["hello_retry_group"] == "x25519"
                assert "after a HelloRetryRequest for x25519" in render_explain(conn)
        else:
            assert got["key_shares"] == {"client": [], "server_bytes": None, "hello_retry_group": None}
