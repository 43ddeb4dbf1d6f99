"""The keying material exporter (RFC 5705 for TLS 1.0-1.2; RFC 9846 §7.5) gives the bytes real OpenSSL gives.

- ``tlsstate connect --keymatexport`` against ``openssl s_server -keymatexport`` and ``openssl s_client
  -keymatexport`` against ``tlsstate serve --keymatexport``: the same label gives the same printed block, with the
  extended master secret on and off, TLS 1.0 and 1.2, SHA-256 and SHA-384 suites.
- With a context (OpenSSL's tools cannot send one): pyOpenSSL (its bundled OpenSSL 3.5+), ``SSL_export_keying_material``
  with ``use_context``, both roles against :class:`~tlsstate.connection.Connection` in memory: no context, an empty
  context and a non-empty one; the CLI's ``--keymatexport-context`` too.
- Our :class:`~tlsstate.crypto.exporter.Tls13Exporter` from pyOpenSSL's logged EXPORTER_SECRET equals pyOpenSSL's
  own TLS 1.3 export (no context = empty context there).
- Exporting before the handshake completes is ExporterUnavailable with a clear message.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.connections import HOST, client_config, credentials, pump, server_config, write_pem
from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import TIMEOUT, run_connect, serve
from tlsstate.connection import Connection
from tlsstate.crypto.exporter import Tls13Exporter
from tlsstate.wire.errors import ExporterUnavailable

pytestmark = pytest.mark.interop

LABEL = "EXPERIMENTAL-tlsstate-exporter"
BLOCK = re.compile(
    r"Keying material exporter:\n    Label: '([^']*)'\n    Length: (\d+) bytes\n(?:    Context: .*\n)?"
    r"    Keying material: ([0-9A-F]+)"
)


def _block(text: str) -> tuple[str, str, str]:
    match = BLOCK.search(text)
    assert match, text[-1500:]
    return match.group(1), match.group(2), match.group(3)


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    return write_pem(tmp_path_factory.mktemp("exporter"), "rsa")


@contextlib.contextmanager
def s_server_export(pem: tuple[str, str, str], flags: list[str], length: int) -> Iterator[tuple[int, Path]]:
    """``openssl s_server -keymatexport LABEL`` on a free port; yields the port and its output file."""
    port = free_port()
    out = Path(pem[0]).with_name(f"s_server-{port}.out")
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [require_binary("openssl"), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", pem[0], "-key", pem[1],
             "-keymatexport", LABEL, "-keymatexportlen", str(length), *flags],
            stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + TIMEOUT
            while "ACCEPT" not in out.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            yield port, out
        finally:
            proc.kill()
            proc.wait(5)


VARIANTS = {  # (openssl flags, our --versions, --no-ems?)
    "TLS 1.2 SHA-256 suite, EMS": (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "tls1.2", False),
    "TLS 1.2 SHA-384 suite, EMS": (["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"], "tls1.2", False),
    "TLS 1.2, no EMS": (["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"], "tls1.2", True),
    "TLS 1.0 (MD5+SHA-1 PRF), EMS": (["-tls1", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"], "tls1.0", False),
    "TLS 1.0, no EMS": (["-tls1", "-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"], "tls1.0", True),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_connect_keymatexport_equals_openssl_s_server(pem: tuple[str, str, str], variant: str) -> None:
    flags, versions, no_ems = VARIANTS[variant]
    with s_server_export(pem, flags, 42) as (port, out):
        args = [f"127.0.0.1:{port}", "--cafile", pem[2], "--servername", HOST, "--versions", versions,
                "--keymatexport", LABEL, "--keymatexportlen", "42", "--wait", "0.3"]
        done = run_connect(args + (["--no-ems"] if no_ems else []), stdin=b"")
        deadline = time.monotonic() + TIMEOUT
        while "Keying material:" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        theirs = out.read_text()
    ours = done.stderr.decode()
    assert done.returncode == 0, ours
    assert (f"Extended master secret: {'no' if no_ems else 'yes'}") in ours
    assert _block(ours) == _block(theirs) and _block(ours)[:2] == (LABEL, "42")
    assert ("RFC 7627 §5.4" in ours) == no_ems


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_openssl_s_client_keymatexport_equals_serve(variant: str) -> None:
    flags, versions, no_ems = VARIANTS[variant]
    args = ["--once", "--versions", versions, "--keymatexport", LABEL, "--keymatexportlen", "33"]
    with serve(args + (["--no-ems"] if no_ems else [])) as server:
        client = subprocess.run(
            [require_binary("openssl"), "s_client", "-connect", f"127.0.0.1:{server.port}",
             "-keymatexport", LABEL, "-keymatexportlen", "33", *flags],
            input=b"", capture_output=True, timeout=TIMEOUT,
        )
        server.finish()
    ours = "\n".join(server.lines)
    theirs = client.stdout.decode()
    assert f"Extended master secret: {'no' if no_ems else 'yes'}" in theirs
    assert _block(ours) == _block(theirs) and _block(ours)[:2] == (LABEL, "33")


# ------------------------------------------------------------------------------ with a context: pyOpenSSL

CONTEXTS = {"no context": None, "empty context": b"", "context": b"tlsstate \x00\xff context"}


def _pyopenssl_context(server_side: bool, pem: tuple[str, str, str], version: int) -> object:
    SSL = pytest.importorskip("OpenSSL.SSL")
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(version)
    ctx.set_max_proto_version(version)
    if server_side:
        ctx.use_certificate_file(pem[0])
        ctx.use_privatekey_file(pem[1])
    return ctx


def _drive(ours: Connection, theirs: object, *, rounds: int = 40) -> None:
    """Shuttle bytes between our Connection and a pyOpenSSL memory-BIO connection until both finished."""
    SSL = pytest.importorskip("OpenSSL.SSL")
    done = False
    for _ in range(rounds):
        if not done:
            try:
                theirs.do_handshake()  # type: ignore[attr-defined]
                done = True
            except SSL.WantReadError:
                pass
        with contextlib.suppress(SSL.WantReadError):
            ours.receive_bytes(theirs.bio_read(1 << 20))  # type: ignore[attr-defined]
        while ours.next_event() is not None:
            pass
        data = ours.bytes_to_send()
        if data:
            theirs.bio_write(data)  # type: ignore[attr-defined]
        if done and ours.handshake_complete and not data:
            break
    assert done and ours.handshake_complete


@pytest.mark.parametrize("ems", [True, False], ids=["EMS", "no EMS"])
@pytest.mark.parametrize("context_name", list(CONTEXTS))
@pytest.mark.parametrize("our_role", ["client", "server"])
def test_exporter_with_context_equals_pyopenssl(pem: tuple[str, str, str], our_role: str, context_name: str,
                                                ems: bool) -> None:
    SSL = pytest.importorskip("OpenSSL.SSL")
    context = CONTEXTS[context_name]
    if our_role == "client":
        ours = Connection(client_config(extended_master_secret=ems), server_side=False)
        theirs = SSL.Connection(_pyopenssl_context(True, pem, SSL.TLS1_2_VERSION), None)
        theirs.set_accept_state()
        ours.start_handshake()
    else:
        ours = Connection(server_config(extended_master_secret=ems), server_side=True)
        theirs = SSL.Connection(_pyopenssl_context(False, pem, SSL.TLS1_2_VERSION), None)
        theirs.set_connect_state()
    _drive(ours, theirs)
    assert ours.handshake_info is not None and ours.handshake_info.extended_master_secret == ems
    expected = theirs.export_keying_material(LABEL.encode(), 48, context)
    got = ours.export_keying_material(LABEL, context, 48, allow_legacy_master_secret=not ems)
    assert got == expected
    if not ems:  # RFC 7627 §5.4: refused unless the caller accepts a master secret not bound to the handshake
        with pytest.raises(ExporterUnavailable, match="RFC 7627"):
            ours.export_keying_material(LABEL, context, 48)


def test_no_context_and_empty_context_differ_in_tls12(pem: tuple[str, str, str]) -> None:
    """RFC 5705 §4: the context length is in the seed only when a context is given (pyOpenSSL agrees above)."""
    client, server = Connection(client_config(), server_side=False), Connection(server_config(), server_side=True)
    client.start_handshake()
    pump(client, server)
    assert client.export_keying_material(LABEL, None, 32) != client.export_keying_material(LABEL, b"", 32)
    assert client.export_keying_material(LABEL, b"x", 32) == server.export_keying_material(LABEL, b"x", 32)


def test_connect_keymatexport_context_equals_pyopenssl_server(pem: tuple[str, str, str]) -> None:
    """``connect --keymatexport-context`` against a pyOpenSSL server over loopback."""
    import socket
    import threading

    SSL = pytest.importorskip("OpenSSL.SSL")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    exported: list[bytes] = []

    def run() -> None:
        with contextlib.suppress(OSError, SSL.Error):
            raw, _ = listener.accept()
            raw.settimeout(None)  # pyOpenSSL needs a blocking socket; the client's exit ends the connection
            conn = SSL.Connection(_pyopenssl_context(True, pem, SSL.TLS1_2_VERSION), raw)
            conn.set_accept_state()
            conn.do_handshake()
            exported.append(conn.export_keying_material(LABEL.encode(), 24, b"\x01\x02\x03"))
            with contextlib.suppress(SSL.Error):
                conn.recv(1)
            raw.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        done = run_connect([f"127.0.0.1:{listener.getsockname()[1]}", "--insecure", "--keymatexport", LABEL,
                            "--keymatexportlen", "24", "--keymatexport-context", "010203", "--wait", "0.3"], stdin=b"")
    finally:
        thread.join(TIMEOUT)
        listener.close()
    text = done.stderr.decode()
    assert "    Context: 010203\n" in text
    assert exported and _block(text)[2] == exported[0].hex().upper()


def test_tls13_exporter_equals_pyopenssl(pem: tuple[str, str, str]) -> None:
    """Tls13Exporter (what a TLS 1.3 Connection will use) from the EXPORTER_SECRET pyOpenSSL logs, against
    pyOpenSSL's own TLS 1.3 export: with no context, an empty one (the same in TLS 1.3) and a non-empty one."""
    SSL = pytest.importorskip("OpenSSL.SSL")
    lines: list[bytes] = []
    server_ctx = _pyopenssl_context(True, pem, SSL.TLS1_3_VERSION)
    client_ctx = _pyopenssl_context(False, pem, SSL.TLS1_3_VERSION)
    client_ctx.set_keylog_callback(lambda _conn, line: lines.append(line))  # type: ignore[attr-defined]
    server, client = SSL.Connection(server_ctx, None), SSL.Connection(client_ctx, None)
    server.set_accept_state()
    client.set_connect_state()
    for _ in range(20):
        for conn in (client, server):
            with contextlib.suppress(SSL.WantReadError):
                conn.do_handshake()
        for sender, receiver in ((client, server), (server, client)):
            with contextlib.suppress(SSL.WantReadError):
                receiver.bio_write(sender.bio_read(1 << 20))
    assert client.get_protocol_version_name() == "TLSv1.3"
    secret = next(bytes.fromhex(line.split()[2].decode()) for line in lines if line.startswith(b"EXPORTER_SECRET "))
    hash_name = "sha384" if "SHA384" in client.get_cipher_name() else "sha256"
    exporter = Tls13Exporter(hash_name, secret)
    for context in CONTEXTS.values():
        assert exporter.export(LABEL, context, 40) == client.export_keying_material(LABEL.encode(), 40, context)
    assert exporter.export(LABEL, None, 40) == exporter.export(LABEL, b"", 40)


# ------------------------------------------------------------------------------ before the handshake


def test_export_before_the_handshake_completes_is_a_clear_error() -> None:
    chain, _ = credentials("rsa")
    client, server = Connection(client_config(), server_side=False), Connection(server_config(), server_side=True)
    with pytest.raises(ExporterUnavailable, match="only after the handshake has completed"):
        client.export_keying_material(LABEL, None, 20)
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    while server.next_event() is not None:
        pass
    client.receive_bytes(server.bytes_to_send())  # ServerHello..ServerHelloDone: the client is mid-handshake
    while client.next_event() is not None:
        pass
    assert not client.handshake_complete and chain
    for side in (client, server):
        with pytest.raises(ExporterUnavailable, match="only after the handshake has completed"):
            side.export_keying_material(LABEL, b"ctx", 20)


# ------------------------------------------------------------------------------ the socket wrappers


def test_socket_wrappers_export_what_s_server_prints(pem: tuple[str, str, str]) -> None:
    """TLSSocket, the ssl-like TLSContextSocket and the asyncio TLSStreamWriter all export s_server's bytes."""
    import asyncio
    import socket

    from tlsstate.config import TLSConfig
    from tlsstate.io.aio import open_connection
    from tlsstate.io.context import TLSContext
    from tlsstate.io.sockets import TLSSocket

    def config() -> TLSConfig:
        return TLSConfig(cafile=pem[2], server_name=HOST)

    async def via_asyncio(port: int) -> bytes:
        _reader, writer = await open_connection("127.0.0.1", port, config())
        try:
            return writer.export_keying_material(LABEL, None, 42)
        finally:
            writer.close()

    for wrapper in ("TLSSocket", "TLSContextSocket", "TLSStreamWriter"):
        with s_server_export(pem, ["-tls1_2"], 42) as (port, out):
            if wrapper == "TLSSocket":
                with TLSSocket.connect("127.0.0.1", port, config()) as tls:
                    ours = tls.export_keying_material(LABEL, None, 42)
            elif wrapper == "TLSContextSocket":
                context = TLSContext()
                context.load_verify_locations(pem[2])
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
                        context.wrap_socket(raw, server_hostname=HOST) as tls:
                    ours = tls.export_keying_material(LABEL, None, 42)
            else:
                ours = asyncio.run(asyncio.wait_for(via_asyncio(port), TIMEOUT))
            deadline = time.monotonic() + TIMEOUT
            while "Keying material:" not in out.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _block(out.read_text())[2] == ours.hex().upper(), wrapper


# ------------------------------------------------------------------------------ TLS 1.3 (RFC 9846 §7.5)

TLS13_VARIANTS = {  # openssl flags: the two hashes of the TLS 1.3 suites
    "TLS 1.3 AES-128-GCM (SHA-256)": ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"],
    "TLS 1.3 AES-256-GCM (SHA-384)": ["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"],
}


@pytest.mark.parametrize("variant", list(TLS13_VARIANTS))
def test_tls13_connect_keymatexport_equals_openssl_s_server(pem: tuple[str, str, str], variant: str) -> None:
    with s_server_export(pem, TLS13_VARIANTS[variant], 42) as (port, out):
        args = [f"127.0.0.1:{port}", "--cafile", pem[2], "--servername", HOST, "--versions", "tls1.3",
                "--keymatexport", LABEL, "--keymatexportlen", "42", "--wait", "0.3"]
        done = run_connect(args, stdin=b"")
        deadline = time.monotonic() + TIMEOUT
        while "Keying material:" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        theirs = out.read_text()
    ours = done.stderr.decode()
    assert done.returncode == 0, ours
    assert "TLSv1.3" in ours or "TLS 1.3" in ours
    assert _block(ours) == _block(theirs) and _block(ours)[:2] == (LABEL, "42")
    assert "RFC 7627 §5.4" not in ours  # TLS 1.3 binds the exporter to the transcript: no EMS warning


@pytest.mark.parametrize("variant", list(TLS13_VARIANTS))
def test_tls13_openssl_s_client_keymatexport_equals_serve(variant: str) -> None:
    args = ["--once", "--versions", "tls1.3", "--keymatexport", LABEL, "--keymatexportlen", "33"]
    with serve(args) as server:
        client = subprocess.run(
            [require_binary("openssl"), "s_client", "-connect", f"127.0.0.1:{server.port}",
             "-keymatexport", LABEL, "-keymatexportlen", "33", *TLS13_VARIANTS[variant]],
            input=b"", capture_output=True, timeout=TIMEOUT,
        )
        server.finish()
    ours = "\n".join(server.lines)
    theirs = client.stdout.decode()
    assert "TLSv1.3" in theirs
    assert _block(ours) == _block(theirs) and _block(ours)[:2] == (LABEL, "33")
