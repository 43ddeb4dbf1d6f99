"""Chromium → ``openssl s_server`` over TLS 1.3, captured on loopback with Chromium's ``--ssl-key-log-file``: the
ClientHello carries a 1,216-byte X25519MLKEM768 key share (ML-KEM-768 + X25519, draft-ietf-tls-ecdhe-mlkem) beside
x25519; Debian's OpenSSL 3.0 takes x25519. tlsstate must report both shares with their sizes and the group, and
decrypt like tshark, also after every TCP segment is cut to 536 bytes (the ClientHello then spans segments)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import dpkt
import pytest

from tests.helpers.capture import loopback_capture, stop_process
from tests.helpers.env import free_port, require_binary
from tests.helpers.synthetic_tls import tshark_follow
from tlsstate.capture.decrypt import CaptureResult, decrypt_capture
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.writer import Frame, read_frames, write_frames

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--disable-dev-shm-usage", "--ignore-certificate-errors"]


def _resegment(frames: list[Frame], size: int) -> list[Frame]:
    """Every TCP payload longer than ``size`` cut into segments of at most ``size`` bytes (sequence numbers and
    IP lengths follow; dpkt recomputes both checksums when they are zero)."""
    out: list[Frame] = []
    for ts, frame in frames:
        eth = dpkt.ethernet.Ethernet(frame)
        ip = eth.data
        if not (isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP)) or len(ip.data.data) <= size:
            out.append((ts, frame))
            continue
        tcp = ip.data
        payload, seq = bytes(tcp.data), tcp.seq
        for start in range(0, len(payload), size):
            tcp.data = payload[start : start + size]
            tcp.seq = (seq + start) & 0xFFFFFFFF
            tcp.sum = ip.sum = 0
            ip.len = ip.hl * 4 + len(tcp)
            out.append((ts, bytes(eth)))
    return out


@pytest.fixture(scope="module")
def chromium_capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    chromium, openssl = require_binary("chromium"), require_binary("openssl")
    folder = tmp_path_factory.mktemp("chromium-hybrid")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "key.pem"),
                    "-out", str(folder / "cert.pem"), "-subj", "/CN=localhost", "-days", "2"],
                   check=True, capture_output=True, timeout=60)
    port = free_port()
    capture, keylog = folder / "chromium.pcapng", folder / "keys.log"
    with loopback_capture(capture, [port]):
        server = subprocess.Popen([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(folder / "cert.pem"),
                                   "-key", str(folder / "key.pem"), "-www", "-tls1_3"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.7)
            browser = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}",
                                        f"--ssl-key-log-file={keylog}", "--dump-dom", f"https://127.0.0.1:{port}/"],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                dom, _ = browser.communicate(timeout=60)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(browser.pid, signal.SIGKILL)
                browser.wait(10)
            assert b"s_server" in dom, dom[:300]
        finally:
            stop_process(server)
    return capture, keylog


def _decrypt(capture: Path, keylog: Path) -> CaptureResult:
    keys = KeySource()
    keys.add_keylog_file(keylog)
    return decrypt_capture(capture, keys)


def _check(capture: Path, keylog: Path) -> list[dict[str, object]]:
    tshark = require_binary("tshark")
    checked = []
    for conn in _decrypt(capture, keylog).connections:
        got = conn.to_json()
        if not got["server_to_client_bytes"]:
            continue  # a speculative connection the browser opened and closed unused
        shares = got["key_shares"]
        assert {"group": "X25519MLKEM768", "bytes": 1216} in shares["client"], shares  # type: ignore[operator]
        assert {"group": "x25519", "bytes": 32} in shares["client"], shares  # type: ignore[operator]
        assert got["group"] == "x25519" and shares["server_bytes"] == 32, got  # type: ignore[index]
        assert got["version"] == "TLS 1.3" and got["finished_verified"] is True, got
        client, server = tshark_follow(tshark, capture, keylog, conn.tcp.number, int(conn.server.rsplit(":", 1)[1]))
        assert got["client_to_server_sha256"] == hashlib.sha256(client).hexdigest()
        assert got["server_to_client_sha256"] == hashlib.sha256(server).hexdigest()
        checked.append(got)
    assert checked, "no connection carried data"
    return checked


def test_chromium_hybrid_share_is_reported_and_decrypts(chromium_capture: tuple[Path, Path], tmp_path: Path) -> None:
    capture, keylog = chromium_capture
    whole = _check(capture, keylog)
    linktype, frames = read_frames(capture)
    cut = tmp_path / "cut.pcap"
    write_frames(cut, _resegment(frames, 536), linktype)
    again = _check(cut, keylog)
    assert [c["server_to_client_sha256"] for c in again] == [c["server_to_client_sha256"] for c in whole]


def test_resegment_cuts_the_client_hello(chromium_capture: tuple[Path, Path], tmp_path: Path) -> None:
    """The edit itself: more, smaller segments, and no payload byte lost (so the ClientHello spans segments)."""
    _, frames = read_frames(chromium_capture[0])
    cut = _resegment(frames, 536)

    def payloads(items: list[Frame]) -> list[int]:
        return [len(dpkt.ethernet.Ethernet(f).data.data.data) for _, f in items]

    assert max(payloads(cut)) <= 536 < max(payloads(frames))
    assert sum(payloads(cut)) == sum(payloads(frames))
