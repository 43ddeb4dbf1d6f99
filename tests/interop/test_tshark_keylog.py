"""tshark (and ``tlsstate decrypt``) decrypt a capture of tlsstate sessions with the NSS key log tlsstate wrote.

A tlsstate server and client talk over loopback while ``tshark -i lo`` captures; the client writes
``CLIENT_RANDOM`` lines (TLS 1.3: the five traffic and exporter secrets) with
:class:`tlsstate.wire.keylog.KeyLogWriter`. The TLS 1.3 sessions include X25519MLKEM768, a HelloRetryRequest and
KeyUpdates in both directions (tshark follows them from the traffic secret alone). Wireshark's own TLS dissector then
decrypts every session (``-z follow,tls,raw``) and must produce exactly the bytes each side sent —
an external check of the key log, the master secret and the record protection together.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers.env import free_port, require_binary
from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import generate_self_signed
from tlsstate.crypto.suites import lookup
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.wire.constants import NamedGroup, ProtocolVersion
from tlsstate.wire.keylog import KeyLogWriter

pytestmark = pytest.mark.interop

TIMEOUT = 20.0
SESSIONS: list[tuple[ProtocolVersion, str, bool, dict[str, object]]] = [  # (version, suite, EtM, TLS 1.3 settings)
    (ProtocolVersion.TLS1_2, "TLS_RSA_WITH_AES_128_CBC_SHA", True, {}),
    (ProtocolVersion.TLS1_2, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False, {}),
    (ProtocolVersion.TLS1_0, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", False, {}),
    (ProtocolVersion.TLS1_2, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", False, {}),
]
#: TLS 1.3 sessions go in a capture of their own (tshark 4's follow,tls then labels the nodes of every stream)
SESSIONS13: list[tuple[ProtocolVersion, str, bool, dict[str, object]]] = [
    (ProtocolVersion.TLS1_3, "TLS_AES_128_GCM_SHA256", False, {}),  # X25519MLKEM768, our default
    (ProtocolVersion.TLS1_3, "TLS_AES_256_GCM_SHA384", False, {"server_groups": [NamedGroup.SECP256R1]}),  # HRR
    (ProtocolVersion.TLS1_3, "TLS_CHACHA20_POLY1305_SHA256", False, {"key_update_after": 1}),  # KeyUpdates
]


def _can_capture() -> bool:
    return os.geteuid() == 0 or os.access("/usr/bin/dumpcap", os.X_OK)


def parse_follow_raw(text: str, server_port: int | None = None) -> tuple[bytes, bytes]:
    """(client→server, server→client) from ``-z follow,tls,raw``: node-0 lines plain, node-1 lines tab-indented.
    Node 0 is the client, unless its address ends in ``server_port`` (tshark makes the sender of the first decrypted
    record node 0: in TLS 1.3 that is the server, whose EncryptedExtensions come first)."""
    to_server, to_client = bytearray(), bytearray()
    node0 = text.split("Node 0:", 1)[1].split("\n", 1)[0].strip() if "Node 0:" in text else ""
    node0_is_server = server_port is not None and node0.endswith(f":{server_port}")
    body = text.split("Node 1:", 1)[1].split("\n", 1)[1]
    for line in body.splitlines():
        if not line.strip() or line.startswith("="):
            continue
        if line.startswith("\t"):
            to_client += bytes.fromhex(line.strip())
        else:
            to_server += bytes.fromhex(line.strip())
    if node0_is_server:
        return bytes(to_client), bytes(to_server)
    return bytes(to_server), bytes(to_client)


def test_tshark_decrypts_tlsstate_sessions(tmp_path: Path) -> None:
    _capture_and_decrypt(tmp_path, SESSIONS)


def test_tshark_decrypts_tlsstate_tls13_sessions(tmp_path: Path) -> None:
    _capture_and_decrypt(tmp_path, SESSIONS13)


def _capture_and_decrypt(tmp_path: Path, sessions: list[tuple[ProtocolVersion, str, bool, dict[str, object]]]) -> None:
    tshark = require_binary("tshark")
    if not _can_capture():
        pytest.skip("capturing on lo needs root or dumpcap capabilities")
    port, probe_port = free_port(), free_port()
    capture = tmp_path / "session.pcapng"
    keylog_path = tmp_path / "keys.log"
    cert, key = generate_self_signed(["localhost"], "rsa2048")
    # -P -l: one summary line per captured packet on stdout, so the test knows what is in the capture
    sniffer = subprocess.Popen(
        [tshark, "-i", "lo", "-f", f"tcp port {port} or tcp port {probe_port}", "-w", str(capture), "-P", "-l"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        seen: list[str] = []

        def watch() -> None:
            assert sniffer.stdout is not None
            for line in sniffer.stdout:
                seen.append(line)

        threading.Thread(target=watch, daemon=True).start()

        def probe_until_captured() -> None:
            """Knock on the closed probe port until tshark reports that very packet: capture is live/flushed."""
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                with socket.socket() as knock:
                    knock.settimeout(1)
                    knock.connect_ex(("127.0.0.1", probe_port))
                    local_port = knock.getsockname()[1]
                for _ in range(25):
                    if any(f" {local_port} " in line and f" {probe_port} " in line for line in seen):
                        return
                    time.sleep(0.02)
            raise AssertionError("tshark never reported the probe packets")

        probe_until_captured()

        expected: list[tuple[bytes, bytes]] = []
        with KeyLogWriter(keylog_path) as keylog:
            for version, suite_name, etm, tls13 in sessions:
                suite = lookup(suite_name)
                server_cfg = TLSConfig(min_version=version, max_version=version, cipher_suites=[suite],
                                       certificate_chain=[cert], private_key=key, encrypt_then_mac=etm)
                client_cfg = TLSConfig(min_version=version, max_version=version, cipher_suites=[suite],
                                       verify=False, keylog=keylog, encrypt_then_mac=etm)
                server_cfg.groups = tls13.get("server_groups")  # type: ignore[assignment]
                server_cfg.key_update_after = client_cfg.key_update_after = tls13.get("key_update_after")  # type: ignore[assignment]
                request = f"request over {suite_name}\n".encode() + os.urandom(3000)
                response = f"response over {suite_name}\n".encode() + os.urandom(20000)
                with TLSListener("127.0.0.1", port, server_cfg, timeout=TIMEOUT) as listener:
                    result: dict[str, bytes] = {}

                    def serve(listener: TLSListener = listener, response: bytes = response,
                              n: int = len(request), result: dict[str, bytes] = result) -> None:
                        tls, _ = listener.accept(timeout=TIMEOUT)
                        with tls:
                            got = b""
                            while len(got) < n:
                                got += tls.recv()
                            result["request"] = got
                            tls.sendall(response)

                    thread = threading.Thread(target=serve, daemon=True)
                    thread.start()
                    with TLSSocket.connect("127.0.0.1", port, client_cfg, timeout=TIMEOUT) as tls:
                        assert tls.handshake is not None
                        assert tls.handshake.encrypt_then_mac is (etm and not suite.is_aead)
                        tls.sendall(request)
                        got = b""
                        while len(got) < len(response):
                            got += tls.recv()
                        assert got == response
                    thread.join(TIMEOUT)
                    assert result.get("request") == request
                expected.append((request, response))
        probe_until_captured()  # everything before the final probe is in the capture now
    finally:
        sniffer.send_signal(signal.SIGINT)
        try:
            sniffer.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            sniffer.kill()
            sniffer.wait(5)

    keylog_lines = keylog_path.read_text().splitlines()
    legacy = sum(1 for version, *_ in sessions if version < ProtocolVersion.TLS1_3)
    assert sum(ln.startswith("CLIENT_RANDOM ") for ln in keylog_lines) == legacy
    assert sum(ln.startswith("CLIENT_TRAFFIC_SECRET_0 ") for ln in keylog_lines) == len(sessions) - legacy
    streams = subprocess.run(
        [tshark, "-r", str(capture), "-Y", f"tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == {port}",
         "-T", "fields", "-e", "tcp.stream"], capture_output=True, text=True, timeout=60,
    ).stdout.split()
    assert len(streams) == len(sessions), streams
    for stream, (request, response) in zip(streams, expected, strict=True):
        out = subprocess.run(
            [tshark, "-r", str(capture), "-o", f"tls.keylog_file:{keylog_path}", "-q", "-z", f"follow,tls,raw,{stream}"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        to_server, to_client = parse_follow_raw(out.stdout, port)
        assert to_server == request, f"stream {stream}: tshark's client data differs"
        assert to_client == response, f"stream {stream}: tshark's server data differs"
    # tlsstate decrypt reads the same capture with the same key log and finds the same bytes
    ours = subprocess.run([sys.executable, "-m", "tlsstate", "decrypt", str(capture), "--keylog", str(keylog_path),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert ours.returncode == 0, ours.stderr
    found = [c for c in json.loads(ours.stdout) if c["server"].endswith(f":{port}")]
    assert [(c["client_to_server_sha256"], c["server_to_client_sha256"]) for c in found] == [
        (hashlib.sha256(request).hexdigest(), hashlib.sha256(response).hexdigest()) for request, response in expected
    ]
    assert all(c["finished_verified"] and c["records_failed"] == 0 for c in found)
    # control: without the key log tshark recovers no plaintext from the same capture
    out = subprocess.run([tshark, "-r", str(capture), "-q", "-z", f"follow,tls,raw,{streams[0]}"],
                         capture_output=True, text=True, timeout=60)
    assert parse_follow_raw(out.stdout) == (b"", b"")

