"""A real browser: headless Chromium loads the ``tlsstate serve --www`` page over TLS 1.2 and TLS 1.3 (with its
default X25519MLKEM768 share).

Chromium trusts exactly our leaf key (``--ignore-certificate-errors-spki-list`` with the SHA-256 of its
SubjectPublicKeyInfo, computed here from the DER); the rendered DOM (``--dump-dom``) must name the
parameters serve negotiated, and serve's own log line must agree. Without the trusted key the browser
shows its interstitial instead of our page. Bounded by a timeout; the browser's process group is killed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import signal
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.helpers.env import require_binary
from tests.helpers.peers import serve as tlsstate_serve
from tlsstate.crypto.certs import generate_self_signed, write_pem_files
from tlsstate.crypto.suites import lookup

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]
TIMEOUT = 60.0
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-extensions", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("chromium-pki")
    cert, key = generate_self_signed(["localhost", "127.0.0.1"], "rsa2048")
    write_pem_files(cert, key, folder / "leaf.pem", folder / "leaf.key")
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return folder / "leaf.pem", folder / "leaf.key", base64.b64encode(hashlib.sha256(spki).digest()).decode()


def dump_dom(url: str, user_data: Path, extra: list[str]) -> str:
    chromium = require_binary("chromium")
    proc = subprocess.Popen([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={user_data}", *extra, "--dump-dom", url],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=TIMEOUT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    return out.decode(errors="replace")


@pytest.mark.parametrize(("serve_args", "expected"), [
    ([], None),
    (["--ciphers", "ECDHE-RSA-CHACHA20-POLY1305", "--alpn", "http/1.1"], "ECDHE-RSA-CHACHA20-POLY1305"),
    (["--ciphers", "ECDHE-RSA-AES256-GCM-SHA384", "--groups", "p256"], "ECDHE-RSA-AES256-GCM-SHA384"),
], ids=["default", "chacha20-alpn", "aes256gcm-p256"])
def test_chromium_renders_page(identity: tuple[Path, Path, str], tmp_path: Path, serve_args: list[str],
                               expected: str | None) -> None:
    cert, key, spki = identity
    args = ["--www", "--versions", "tls1.2", "--cert", str(cert), "--key", str(key), *serve_args]
    with tlsstate_serve(args) as server:
        dom = dump_dom(f"https://localhost:{server.port}/", tmp_path / "profile",
                       [f"--ignore-certificate-errors-spki-list={spki}"])
        server.stop()
    assert "New, TLSv1.2, Cipher is " in dom, dom[:500]
    cipher = dom.split("Cipher is ", 1)[1].split()[0]
    if expected is not None:
        assert cipher == expected
    assert "<th>Server name (SNI)</th><td>localhost</td>" in dom
    if "--alpn" in serve_args:
        assert "<th>ALPN</th><td>http/1.1</td>" in dom
    served = [ln for ln in server.lines if " ok " in ln and "TLS 1.2" in ln]
    assert any(lookup(cipher).name in ln for ln in served), server.lines


def test_chromium_refuses_untrusted_key(identity: tuple[Path, Path, str], tmp_path: Path) -> None:
    """Without the SPKI pin the browser does not render our page: the certificate check is real."""
    cert, key, _spki = identity
    with tlsstate_serve(["--www", "--versions", "tls1.2", "--cert", str(cert), "--key", str(key)]) as server:
        dom = dump_dom(f"https://localhost:{server.port}/", tmp_path / "profile", [])
        server.stop()
    assert "Cipher is" not in dom


def test_chromium_tls13_with_its_default_x25519mlkem768_share(identity: tuple[Path, Path, str], tmp_path: Path) -> None:
    """TLS 1.3 (RFC 9846) with Chromium's default offer: its X25519MLKEM768 share (RFC 10024), which our server
    prefers; the page and serve's log line both name the hybrid, and no HelloRetryRequest was needed."""
    cert, key, spki = identity
    with tlsstate_serve(["--www", "--cert", str(cert), "--key", str(key)]) as server:
        dom = dump_dom(f"https://localhost:{server.port}/", tmp_path / "profile13",
                       [f"--ignore-certificate-errors-spki-list={spki}"])
        server.stop()
    assert "New, TLSv1.3, Cipher is TLS_" in dom, dom[:500]
    assert "<th>Group</th><td>X25519MLKEM768</td>" in dom
    assert "<th>HelloRetryRequest</th><td>no</td>" in dom
    assert any("TLS 1.3" in ln and "X25519MLKEM768" in ln and " ok " in ln for ln in server.lines), server.lines
