"""tshark decrypts a capture of tlsstate sessions with the NSS key log tlsstate wrote.

A tlsstate server and client talk over loopback while ``tshark -i lo`` captures; the client writes
``CLIENT_RANDOM`` lines with :class:`tlsstate.keylog.KeyLogWriter`. Wireshark's own TLS dissector then
decrypts every session (``-z follow,tls,raw``) and must produce exactly the bytes each side sent —
an external check of the key log, the master secret and the record protection together.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import free_port, require_binary

from tlsstate.certs import generate_self_signed
from tlsstate.config import TLSConfig
from tlsstate.constants import ProtocolVersion
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.keylog import KeyLogWriter
from tlsstate.suites import lookup

pytestmark = pytest.mark.interop

TIMEOUT = 20.0
SESSIONS = [  # (version, suite, EtM)
    (ProtocolVersion.TLS1_2, "TLS_RSA_WITH_AES_128_CBC_SHA", True),
    (ProtocolVersion.TLS1_2, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", False),
    (ProtocolVersion.TLS1_0, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", False),
    (ProtocolVersion.TLS1_2, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", False),
]


def _can_capture() -> bool:
    return os.geteuid() == 0 or os.access("/usr/bin/dumpcap", os.X_OK)


def parse_follow_raw(text: str) -> tuple[bytes, bytes]:
    """(client→server, server→client) from ``-z follow,tls,raw``: node-0 lines plain, node-1 lines tab-indented."""
    to_server, to_client = bytearray(), bytearray()
    body = text.split("Node 1:", 1)[1].split("\n", 1)[1]
    for line in body.splitlines():
        if not line.strip() or line.startswith("="):
            continue
        if line.startswith("\t"):
            to_client += bytes.fromhex(line.strip())
        else:
            to_server += bytes.fromhex(line.strip())
    return bytes(to_server), bytes(to_client)


def test_tshark_decrypts_tlsstate_sessions(tmp_path: Path) -> None:
    tshark = require_binary("tshark")
    if not _can_capture():
        pytest.skip("capturing on lo needs root or dumpcap capabilities")
    port = free_port()
    capture = tmp_path / "session.pcapng"
    keylog_path = tmp_path / "keys.log"
    cert, key = generate_self_signed(["localhost"], "rsa2048")
    sniffer = subprocess.Popen(
        [tshark, "-i", "lo", "-f", f"tcp port {port}", "-w", str(capture)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert sniffer.stderr is not None
        ready = threading.Event()
        lines: list[str] = []

        def watch() -> None:
            assert sniffer.stderr is not None
            for line in sniffer.stderr:
                lines.append(line)
                if "Capturing on" in line:
                    ready.set()

        threading.Thread(target=watch, daemon=True).start()
        assert ready.wait(TIMEOUT), "tshark did not start: " + "".join(lines)
        time.sleep(1.0)  # "Capturing on" comes slightly before dumpcap's filter is live

        expected: list[tuple[bytes, bytes]] = []
        with KeyLogWriter(keylog_path) as keylog:
            for version, suite_name, etm in SESSIONS:
                suite = lookup(suite_name)
                server_cfg = TLSConfig(min_version=version, max_version=version, cipher_suites=[suite],
                                       certificate_chain=[cert], private_key=key, encrypt_then_mac=etm)
                client_cfg = TLSConfig(min_version=version, max_version=version, cipher_suites=[suite],
                                       verify=False, keylog=keylog, encrypt_then_mac=etm)
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
        time.sleep(1.5)  # dumpcap hands packets over in blocks (TPACKET_V3): let the last block retire
    finally:
        sniffer.send_signal(signal.SIGINT)
        try:
            sniffer.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            sniffer.kill()
            sniffer.wait(5)

    keylog_lines = keylog_path.read_text().splitlines()
    assert len(keylog_lines) == len(SESSIONS) and all(ln.startswith("CLIENT_RANDOM ") for ln in keylog_lines)
    for stream, (request, response) in enumerate(expected):
        out = subprocess.run(
            [tshark, "-r", str(capture), "-o", f"tls.keylog_file:{keylog_path}", "-q", "-z", f"follow,tls,raw,{stream}"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        to_server, to_client = parse_follow_raw(out.stdout)
        assert to_server == request, f"stream {stream} ({SESSIONS[stream][1]}): tshark's client data differs"
        assert to_client == response, f"stream {stream} ({SESSIONS[stream][1]}): tshark's server data differs"
    # control: without the key log tshark recovers no plaintext from the same capture
    out = subprocess.run([tshark, "-r", str(capture), "-q", "-z", "follow,tls,raw,0"],
                         capture_output=True, text=True, timeout=60)
    assert parse_follow_raw(out.stdout) == (b"", b"")

