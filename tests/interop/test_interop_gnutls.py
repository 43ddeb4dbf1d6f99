"""Live interop with GnuTLS (gnutls-serv / gnutls-cli, a third TLS implementation) on loopback.

Both roles, TLS 1.0-1.2, RSA / DHE (RFC 7919) / ECDHE key exchange, AES-GCM, AES-CCM and AES-CCM-8
(RFC 6655), CBC; session resumption. Checked by data hashes and by what GnuTLS itself prints
(its "Description" line names version, key exchange and cipher) - never by values tlsstate computed.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.helpers.connections import HOST, credentials
from tests.helpers.env import free_port, require_binary
from tests.helpers.peers import serve as tlsstate_serve
from tlsstate.config import TLSConfig
from tlsstate.crypto.suites import CIPHER_SUITES, KeyExchange
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.wire.errors import RecordOverflow

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TIMEOUT = 20.0
#: Every suite our handshakes run (TLS 1.0-1.2), so the GnuTLS priority string alone picks the suite.
OUR_SUITES = [s for s in CIPHER_SUITES if s.key_exchange in
              {KeyExchange.RSA, KeyExchange.DHE_RSA, KeyExchange.ECDHE_RSA, KeyExchange.ECDHE_ECDSA}]

V12, V11, V10 = "NORMAL:-VERS-ALL:+VERS-TLS1.2", "NORMAL:-VERS-ALL:+VERS-TLS1.1", "NORMAL:-VERS-ALL:+VERS-TLS1.0"
# (GnuTLS priority, certificate kind, our IANA suite name, GnuTLS description fragments)
CASES = [
    (f"{V12}:-KX-ALL:+RSA:-CIPHER-ALL:+AES-128-CCM-8", "rsa", "TLS_RSA_WITH_AES_128_CCM_8",
     ["TLS1.2", "(RSA)", "(AES-128-CCM-8)"]),
    (f"{V12}:-KX-ALL:+RSA:-CIPHER-ALL:+AES-256-CCM-8", "rsa", "TLS_RSA_WITH_AES_256_CCM_8",
     ["TLS1.2", "(RSA)", "(AES-256-CCM-8)"]),
    (f"{V12}:-KX-ALL:+DHE-RSA:-CIPHER-ALL:+AES-128-CCM-8", "rsa", "TLS_DHE_RSA_WITH_AES_128_CCM_8",
     ["TLS1.2", "(DHE-FFDHE", "(AES-128-CCM-8)"]),
    (f"{V12}:-KX-ALL:+DHE-RSA:-CIPHER-ALL:+AES-256-CCM", "rsa", "TLS_DHE_RSA_WITH_AES_256_CCM",
     ["TLS1.2", "(DHE-FFDHE", "(AES-256-CCM)"]),
    (f"{V12}:-KX-ALL:+DHE-RSA:-CIPHER-ALL:+AES-256-GCM", "rsa", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
     ["TLS1.2", "(DHE-FFDHE", "(AES-256-GCM)"]),
    (f"{V12}:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-CCM-8", "p256", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
     ["TLS1.2", "(ECDHE-", "(AES-128-CCM-8)"]),
    (f"{V12}:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-256-GCM:-GROUP-ALL:+GROUP-SECP384R1", "rsa",
     "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", ["TLS1.2", "(ECDHE-SECP384R1)", "(AES-256-GCM)"]),
    (f"{V12}:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:-GROUP-ALL:+GROUP-X448", "rsa",
     "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", ["TLS1.2", "(ECDHE-X448)", "(AES-128-GCM)"]),
    (f"{V10}:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-CBC:-GROUP-ALL:+GROUP-SECP521R1", "rsa",
     "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", ["TLS1.0", "(ECDHE-SECP521R1)", "(AES-128-CBC)-(SHA1)"]),
    (f"{V12}:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-256-CBC:-MAC-ALL:+SHA384", "rsa",
     "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", ["TLS1.2", "(ECDHE-", "(AES-256-CBC)-(SHA384)"]),
    (f"{V11}:-KX-ALL:+DHE-RSA:-CIPHER-ALL:+AES-128-CBC", "rsa", "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
     ["TLS1.1", "(DHE-FFDHE", "(AES-128-CBC)-(SHA1)"]),
    (f"{V10}:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-256-CBC:%NO_ETM", "rsa", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
     ["TLS1.0", "(ECDHE-", "(AES-256-CBC)-(SHA1)"]),
    (f"{V10}:-KX-ALL:+RSA:-CIPHER-ALL:+3DES-CBC", "rsa", "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
     ["TLS1.0", "(RSA)", "(3DES-CBC)-(SHA1)"]),
]
IDS = [c[2] + "-" + c[3][0] for c in CASES]


@pytest.fixture(scope="module")
def pem(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("gnutls-pki")
    out = {}
    for kind in ("rsa", "p256"):
        chain, key = credentials(kind)
        cert, keyfile = folder / f"{kind}.crt", folder / f"{kind}.key"
        cert.write_bytes(chain[0].public_bytes(serialization.Encoding.PEM))
        keyfile.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        (folder / f"{kind}-ca.crt").write_bytes(chain[1].public_bytes(serialization.Encoding.PEM))
        out[kind] = (cert, keyfile)
    return out


def ca_of(pem: dict[str, tuple[Path, Path]], kind: str) -> Path:
    return pem[kind][0].parent / f"{kind}-ca.crt"


@contextmanager
def gnutls_serv(priority: str, cert: Path, key: Path, extra: list[str] | None = None) -> Iterator[int]:
    serv = require_binary("gnutls-serv")
    port = free_port()
    proc = subprocess.Popen([serv, "--echo", "-p", str(port), "--x509certfile", str(cert), "--x509keyfile", str(key),
                             "--priority", priority, *(extra or [])],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "gnutls-serv did not start"
                time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(5)


@pytest.mark.parametrize(("priority", "kind", "suite", "description"), CASES, ids=IDS)
def test_our_client_against_gnutls_serv(pem: dict[str, tuple[Path, Path]], priority: str, kind: str, suite: str,
                                        description: list[str]) -> None:
    cert, key = pem[kind]
    payload = os.urandom(20_000).hex().encode() + b"\n"  # gnutls-serv --echo answers whole lines
    config = TLSConfig(cipher_suites=OUR_SUITES, cafile=str(ca_of(pem, kind)), server_name=HOST)
    with gnutls_serv(priority, cert, key) as port, TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
        assert tls.handshake is not None
        assert tls.handshake.cipher_suite.name == suite
        tls.sendall(payload)
        echoed = b""
        while len(echoed) < len(payload):
            echoed += tls.recv()
    assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()


def serve_one(config: TLSConfig, count: int = 1) -> tuple[int, threading.Thread, list[object]]:
    """Our server in a thread: per connection, send a random block + its SHA-256 and close_notify."""
    listener = TLSListener("127.0.0.1", 0, config, timeout=TIMEOUT)
    results: list[object] = []

    def run() -> None:
        try:
            for _ in range(count):
                tls, _addr = listener.accept(TIMEOUT)
                with tls:
                    handshake = tls.do_handshake()
                    block = os.urandom(30_000).hex().encode()
                    tls.sendall(b"BEGIN" + block + b"END " + hashlib.sha256(block).hexdigest().encode() + b"\n")
                    results.append((handshake, block))
        except Exception as exc:
            results.append(exc)
        finally:
            listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.address[1], thread, results


def run_gnutls_cli(args: list[str], out: Path, request: bytes = b"") -> tuple[int, str]:
    """gnutls-cli with stdin held open (it would hang up at stdin EOF); it exits when the server closes."""
    cli = require_binary("gnutls-cli")
    with out.open("wb") as sink:
        proc = subprocess.Popen([cli, *args], stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT)
        try:
            assert proc.stdin is not None
            if request:
                proc.stdin.write(request)
                proc.stdin.flush()
            code = proc.wait(TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
            assert proc.stdin is not None
            proc.stdin.close()
    return code, out.read_text(errors="replace")


@pytest.mark.parametrize(("priority", "kind", "suite", "description"), CASES, ids=IDS)
def test_gnutls_cli_against_our_server(pem: dict[str, tuple[Path, Path]], tmp_path: Path, priority: str, kind: str,
                                       suite: str, description: list[str]) -> None:
    chain, key = credentials(kind)
    config = TLSConfig(certificate_chain=[chain[0]], private_key=key, cipher_suites=OUR_SUITES)
    port, thread, results = serve_one(config)
    code, text = run_gnutls_cli(["--x509cafile", str(ca_of(pem, kind)), "-p", str(port), HOST,
                                 "--priority", priority], tmp_path / "cli.out")
    thread.join(TIMEOUT)
    assert len(results) == 1 and isinstance(results[0], tuple), (results, text)
    handshake, block = results[0]
    assert handshake.cipher_suite.name == suite
    line = next(ln for ln in text.splitlines() if "- Description:" in ln)
    for fragment in description:
        assert fragment in line, line
    assert "The certificate is trusted" in text
    assert f"BEGIN{block.decode()}END {hashlib.sha256(block).hexdigest()}" in text, (code, text[-500:])


def test_gnutls_cli_resumes_session_id(pem: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    """gnutls-cli --resume: the second handshake is abbreviated (RFC 5246 §7.3) by our session cache."""
    chain, key = credentials("rsa")
    config = TLSConfig(certificate_chain=[chain[0]], private_key=key, session_cache=SessionCache())
    port, thread, results = serve_one(config, count=2)
    _code, text = run_gnutls_cli(["--x509cafile", str(ca_of(pem, "rsa")), "-p", str(port), HOST, "--resume",
                                  "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_TICKETS"], tmp_path / "cli.out")
    thread.join(TIMEOUT)
    assert "This is a resumed session" in text, text[-800:]
    assert [r[0].resumed for r in results if isinstance(r, tuple)] == [False, True]


def test_our_client_resumes_with_gnutls_serv(pem: dict[str, tuple[Path, Path]]) -> None:
    """Our SessionStore resumes against gnutls-serv (it keeps a session cache)."""
    cert, key = pem["rsa"]
    config = TLSConfig(cafile=str(ca_of(pem, "rsa")), server_name=HOST, session_store=SessionStore())
    resumed = []
    with gnutls_serv("NORMAL:-VERS-ALL:+VERS-TLS1.2", cert, key) as port:
        for _ in range(2):
            with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
                assert tls.handshake is not None
                resumed.append(tls.handshake.resumed)
                tls.sendall(b"ping\n")
                assert tls.recv() == b"ping\n"
    assert resumed == [False, True]


def test_gnutls_cli_resumes_with_ticket(pem: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    """RFC 5077: ``tlsstate serve --tickets``; GnuTLS receives a NewSessionTicket and resumes with it."""
    cert, key = pem["rsa"]
    with tlsstate_serve(["--www", "--count", "2", "--tickets", "--cert", str(cert), "--key", str(key)]) as server:
        _code, text = run_gnutls_cli(["-d", "4", "--x509cafile", str(ca_of(pem, "rsa")), "-p", str(server.port), HOST,
                                      "--resume", "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"], tmp_path / "cli.out",
                                     request=b"GET / HTTP/1.0\r\n\r\n")
        assert server.finish() == 0
    assert "NEW SESSION TICKET (4) was received" in text
    hellos = [ln for ln in text.splitlines() if "Sending extension Session Ticket/35" in ln]
    assert len(hellos) == 2 and "(0 bytes)" in hellos[0] and "(0 bytes)" not in hellos[1]  # 2nd hello: the ticket
    assert "This is a resumed session" in text
    assert "Cipher is ECDHE-RSA-AES256-GCM-SHA384" in text  # GnuTLS NORMAL's first suite we support (its order)
    assert "resumed" in server.lines[-1]


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files

    folder = tmp_path_factory.mktemp("gnutls-client")
    ca, ca_key = make_ca("gnutls client CA", "rsa2048")
    leaf, leaf_key = issue_certificate(ca, ca_key, ["client.example"], "rsa2048")
    (folder / "ca.pem").write_bytes(certificate_pem(ca))
    write_pem_files(leaf, leaf_key, folder / "client.pem", folder / "client.key")
    return {"ca": folder / "ca.pem", "cert": folder / "client.pem", "key": folder / "client.key"}


def test_record_size_limit_from_gnutls_cli(pem: dict[str, tuple[Path, Path]], tmp_path: Path) -> None:
    """RFC 8449: gnutls-cli --recordsize 512; our server acknowledges and keeps every record within it."""
    chain, key = credentials("rsa")
    config = TLSConfig(certificate_chain=[chain[0]], private_key=key)
    port, thread, results = serve_one(config)
    _code, text = run_gnutls_cli(["-d", "4", "--recordsize", "512", "--x509cafile", str(ca_of(pem, "rsa")),
                                  "-p", str(port), HOST, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"],
                                 tmp_path / "cli.out")
    thread.join(TIMEOUT)
    assert len(results) == 1 and isinstance(results[0], tuple), results
    _handshake, block = results[0]
    assert "Parsing extension 'Record Size Limit/28'" in text  # in our ServerHello
    assert f"BEGIN{block.decode()}END" in text  # 60 kB in records GnuTLS accepted under its 512-byte limit


@pytest.mark.parametrize("limits", [
    {"record_size_limit": 512},  # GnuTLS ignores a limit below 512 (it then sends 16384-byte records)
    pytest.param({"max_fragment_length": 512}, marks=pytest.mark.xfail(
        strict=True, raises=RecordOverflow,
        reason="gnutls-serv 3.7.9 acknowledges max_fragment_length 512 in its ServerHello but still sends larger "
               "records; our client rightly fails with record_overflow (RFC 6066 §4)")),
], ids=["record_size_limit", "max_fragment_length"])
def test_our_client_size_limits_with_gnutls_serv(pem: dict[str, tuple[Path, Path]], limits: dict[str, int]) -> None:
    """Our client asks for small records (RFC 8449 / RFC 6066 §4); a 40 kB line echoes through GnuTLS."""
    cert, key = pem["rsa"]
    payload = os.urandom(20_000).hex().encode() + b"\n"
    config = TLSConfig(cafile=str(ca_of(pem, "rsa")), server_name=HOST, **limits)  # type: ignore[arg-type]
    with gnutls_serv("NORMAL:-VERS-ALL:+VERS-TLS1.2", cert, key) as port, \
            TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
        tls.sendall(payload)
        chunks = []
        while sum(map(len, chunks)) < len(payload):
            chunks.append(tls.recv())
    assert b"".join(chunks) == payload
    assert max(map(len, chunks)) <= next(iter(limits.values()))  # one record per chunk: GnuTLS kept to our limit


def test_client_certificate_to_gnutls_serv(pem: dict[str, tuple[Path, Path]], client_pki: dict[str, Path]) -> None:
    """gnutls-serv --require-client-cert --verify-client-cert accepts our certificate (RFC 5246 §7.4.6, §7.4.8)."""
    from tlsstate.crypto.certs import load_certificates, load_private_key

    cert, key = pem["rsa"]
    client_key = load_private_key(client_pki["key"])
    assert isinstance(client_key, rsa.RSAPrivateKey)
    config = TLSConfig(cafile=str(ca_of(pem, "rsa")), server_name=HOST,
                       client_certificate_chain=load_certificates(client_pki["cert"]), client_private_key=client_key)
    extra = ["--require-client-cert", "--verify-client-cert", "--x509cafile", str(client_pki["ca"])]
    with gnutls_serv("NORMAL:-VERS-ALL:+VERS-TLS1.2", cert, key, extra) as port, \
            TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
        tls.sendall(b"with certificate\n")
        assert tls.recv() == b"with certificate\n"


def test_gnutls_cli_client_certificate_to_our_server(pem: dict[str, tuple[Path, Path]], client_pki: dict[str, Path],
                                                     tmp_path: Path) -> None:
    """verify_client="required": gnutls-cli with its certificate completes; without one it is refused."""
    chain, key = credentials("rsa")
    config = TLSConfig(certificate_chain=[chain[0]], private_key=key, verify_client="required",
                       client_cafile=str(client_pki["ca"]))
    base = ["--x509cafile", str(ca_of(pem, "rsa")), HOST, "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.2"]
    port, thread, results = serve_one(config)
    _code, text = run_gnutls_cli(["-p", str(port), "--x509certfile", str(client_pki["cert"]),
                                  "--x509keyfile", str(client_pki["key"]), *base], tmp_path / "good.out")
    thread.join(TIMEOUT)
    assert len(results) == 1 and isinstance(results[0], tuple), results
    assert f"BEGIN{results[0][1].decode()}END" in text
    port, thread, results = serve_one(config)
    code, text = run_gnutls_cli(["-p", str(port), *base], tmp_path / "bad.out")
    thread.join(TIMEOUT)
    assert code != 0 and "BEGIN" not in text
    assert len(results) == 1 and isinstance(results[0], Exception)
