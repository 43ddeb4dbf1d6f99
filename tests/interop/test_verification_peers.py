"""Certificate verification gives the verdicts of ``openssl s_client``/``s_server -verify_return_error`` and CPython ``ssl``.

Every certificate is made by the real ``openssl req -x509`` / ``openssl x509 -req`` commands (OpenSSL 3.0's default
configuration: a self-signed certificate is CA:TRUE, a CA has no keyUsage). For each case the same inputs go to
three verifiers over real loopback connections, and all three must agree with the expected verdict:

- server certificates: ``openssl s_server`` serves the certificate; our client (TLS 1.2), CPython ``ssl`` (a
  default context) and ``openssl s_client -verify_return_error -verify_hostname/-verify_ip`` connect to it;
- client certificates: our server (``verify_client="required"``) and ``openssl s_server -Verify 1
  -verify_return_error`` each get the certificate from ``openssl s_client -cert``; CPython ``ssl`` as a server
  requiring a certificate gets it from a CPython client.

Then end to end: ``tlsstate connect`` to 127.0.0.1 and ::1 (the IP SAN is checked; s_server's -servername_fatal
proves no server_name was sent), the ssl-like ``TLSContext`` beside ``ssl.SSLContext``, and ``tlsstate serve
--verify-client`` with a self-signed client certificate as its ``--client-ca``.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.env import free_port, require_binary
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto import certs
from tlsstate.io.sockets import TLSSocket
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import TLSError
from tlsstate.wire.extensions import is_ip_address

pytestmark = pytest.mark.interop

TIMEOUT = 20.0
ACCEPTED = "accepted"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([require_binary("openssl"), *args], cwd=cwd, check=True, capture_output=True, timeout=TIMEOUT)


def _self_signed(folder: Path, name: str, subject: str, san: str | None, days: int = 2) -> None:
    """``openssl req -x509``: the way people make a self-signed certificate (CA:TRUE by OpenSSL's config)."""
    extra = ["-addext", f"subjectAltName={san}"] if san else []
    if days > 0:
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
                 "-days", str(days), "-subj", subject, *extra, cwd=folder)
        return
    # req refuses a negative -days; x509 -signkey self-signs a request with any validity.
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", subject, cwd=folder)
    (folder / f"{name}.ext").write_text(f"basicConstraints=critical,CA:TRUE\nsubjectAltName={san}\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-signkey", f"{name}.key", "-out", f"{name}.pem",
             "-days", str(days), "-extfile", f"{name}.ext", cwd=folder)


def _issued(folder: Path, name: str, ca: str, extensions: str, days: int = 2) -> None:
    """``openssl x509 -req -CA``: a leaf issued by the CA ``ca`` with the given extension lines."""
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", "/CN=localhost", cwd=folder)
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.pem", "-days", str(days), "-extfile", f"{name}.ext", cwd=folder)


SAN = "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("openssl-pki")
    _self_signed(folder, "self", "/CN=localhost", "DNS:localhost,IP:127.0.0.1,IP:::1")
    _self_signed(folder, "self-expired", "/CN=localhost", "DNS:localhost,IP:127.0.0.1", days=-1)
    _self_signed(folder, "client-self", "/CN=a client", None)
    _self_signed(folder, "self-no-san", "/CN=localhost", None)
    _self_signed(folder, "ca", "/CN=tlsstate test CA", None)
    _self_signed(folder, "other-ca", "/CN=some other CA", None)
    _issued(folder, "leaf", "ca", SAN)
    _issued(folder, "leaf-expired", "ca", SAN, days=-1)
    _issued(folder, "leaf-ca-true", "ca", "basicConstraints=critical,CA:TRUE\n" + SAN)
    _issued(folder, "leaf-client-only", "ca", "extendedKeyUsage=clientAuth\n" + SAN)
    _issued(folder, "leaf-server-only", "ca", "extendedKeyUsage=serverAuth\n" + SAN)
    _issued(folder, "leaf-no-san", "ca", "extendedKeyUsage=serverAuth\n")
    _issued(folder, "leaf-no-san-client-only", "ca", "extendedKeyUsage=clientAuth\n")
    return folder


# ------------------------------------------------------------------------------ servers to connect to


@contextlib.contextmanager
def s_server(pki: Path, name: str, host: str = "127.0.0.1", extra: tuple[str, ...] = ()) -> Iterator[int]:
    """``openssl s_server`` serving ``name``.pem on a free port of ``host`` (TLS 1.2); stopped afterwards."""
    port = free_port(host)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    proc = subprocess.Popen(
        [require_binary("openssl"), "s_server", "-accept", address, "-cert", str(pki / f"{name}.pem"),
         "-key", str(pki / f"{name}.key"), "-tls1_2", "-www", *extra],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            with socket.socket(family) as probe:
                probe.settimeout(1)
                if probe.connect_ex((host, port)) == 0:
                    break
            time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(5)


# ------------------------------------------------------------------------------ the three client verdicts


def ours_as_client(host: str, port: int, cafile: Path, name: str) -> str:
    config = TLSConfig(cafile=str(cafile), server_name=name, min_version=ProtocolVersion.TLS1_2)
    try:
        with TLSSocket.connect(host, port, config, timeout=TIMEOUT):
            return ACCEPTED
    except TLSError as exc:
        alert = getattr(exc, "alert", None)
        return AlertDescription(alert).name.lower() if alert is not None else type(exc).__name__


def cpython_as_client(host: str, port: int, cafile: Path, name: str) -> str:
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as raw, ctx.wrap_socket(raw, server_hostname=name):
            return ACCEPTED
    except ssl.SSLCertVerificationError as exc:
        return f"rejected: {exc.verify_message}"


def openssl_as_client(host: str, port: int, cafile: Path, name: str) -> str:
    check = ["-verify_ip" if is_ip_address(name) else "-verify_hostname", name]
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    done = subprocess.run(
        [require_binary("openssl"), "s_client", "-connect", address, "-CAfile", str(cafile), "-verify_return_error",
         *check, "-tls1_2"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
    )
    if done.returncode == 0 and "Verify return code: 0 (ok)" in done.stdout:
        return ACCEPTED
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "verify error" in line]
    return f"rejected: {lines[0] if lines else done.returncode}"


# (served certificate, CA file, name to verify, host to connect to, our verdict: accepted or the alert we send)
SERVER_CASES = {
    "self-signed in cafile, DNS name": ("self", "self", "localhost", "127.0.0.1", ACCEPTED),
    "self-signed in cafile, IPv4 SAN": ("self", "self", "127.0.0.1", "127.0.0.1", ACCEPTED),
    "self-signed in cafile, IPv6 SAN": ("self", "self", "::1", "::1", ACCEPTED),
    "self-signed, wrong name": ("self", "self", "example.com", "127.0.0.1", "bad_certificate"),
    "self-signed, wrong IP": ("self", "self", "127.0.0.2", "127.0.0.1", "bad_certificate"),
    "self-signed, not in cafile": ("self", "ca", "localhost", "127.0.0.1", "unknown_ca"),
    "self-signed, expired": ("self-expired", "self-expired", "localhost", "127.0.0.1", "certificate_expired"),
    "CA-issued leaf": ("leaf", "ca", "localhost", "127.0.0.1", ACCEPTED),
    "CA-issued leaf, IP SAN": ("leaf", "ca", "127.0.0.1", "127.0.0.1", ACCEPTED),
    "CA-issued leaf, unknown CA": ("leaf", "other-ca", "localhost", "127.0.0.1", "unknown_ca"),
    "CA-issued leaf, expired": ("leaf-expired", "ca", "localhost", "127.0.0.1", "certificate_expired"),
    "CA:TRUE leaf signed by another CA": ("leaf-ca-true", "ca", "localhost", "127.0.0.1", ACCEPTED),
    "leaf for clientAuth only": ("leaf-client-only", "ca", "localhost", "127.0.0.1", "bad_certificate"),
    # no subjectAltName at all: the common name is the name (RFC 6125 §6.4.4), never an IP address
    "self-signed without SAN, CN matches": ("self-no-san", "self-no-san", "localhost", "127.0.0.1", ACCEPTED),
    "self-signed without SAN, CN differs": ("self-no-san", "self-no-san", "example.com", "127.0.0.1",
                                            "bad_certificate"),
    "self-signed without SAN, by IP": ("self-no-san", "self-no-san", "127.0.0.1", "127.0.0.1", "bad_certificate"),
    "CA-issued leaf without SAN": ("leaf-no-san", "ca", "localhost", "127.0.0.1", ACCEPTED),
    "leaf without SAN, unknown CA": ("leaf-no-san", "other-ca", "localhost", "127.0.0.1", "unknown_ca"),
    "leaf without SAN for clientAuth only": ("leaf-no-san-client-only", "ca", "localhost", "127.0.0.1",
                                             "bad_certificate"),
}


@pytest.mark.parametrize("case", list(SERVER_CASES))
def test_server_certificate_verdicts_match_openssl_and_cpython(pki: Path, case: str) -> None:
    served, ca, name, host, expected = SERVER_CASES[case]
    cafile = pki / f"{ca}.pem"
    if ":" in host and not socket.has_ipv6:
        pytest.skip("no IPv6 loopback")
    with s_server(pki, served, host) as port:
        verdicts = {
            "tlsstate": ours_as_client(host, port, cafile, name),
            "cpython": cpython_as_client(host, port, cafile, name),
            "s_client": openssl_as_client(host, port, cafile, name),
        }
    assert verdicts["tlsstate"] == expected, verdicts
    peers_accept = {v == ACCEPTED for k, v in verdicts.items() if k != "tlsstate"}
    assert peers_accept == {expected == ACCEPTED}, verdicts


# ------------------------------------------------------------------------------ client certificates


@contextlib.contextmanager
def our_server(pki: Path, cafile: Path) -> Iterator[tuple[int, list[str]]]:
    """Our server requiring a client certificate (TLS 1.2): one connection; the verdict lands in the list."""
    config = TLSConfig(min_version=ProtocolVersion.TLS1_2, verify_client="required", client_cafile=str(cafile))
    config.certificate_chain, config.private_key = certs.load_cert_and_key(pki / "leaf.pem", pki / "leaf.key")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    verdict: list[str] = []

    def run() -> None:
        try:
            sock, _ = listener.accept()
        except OSError:
            return
        try:
            with TLSSocket(sock, Connection(config, server_side=True), server_side=True, timeout=TIMEOUT) as tls:
                tls.do_handshake()
                verdict.append(ACCEPTED)
        except TLSError as exc:
            alert = getattr(exc, "alert", None)
            verdict.append(AlertDescription(alert).name.lower() if alert is not None else type(exc).__name__)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], verdict
    finally:
        thread.join(TIMEOUT)
        listener.close()


def s_client_with_cert(port: int, pki: Path, client: str) -> None:
    subprocess.run(
        [require_binary("openssl"), "s_client", "-connect", f"127.0.0.1:{port}", "-cert", str(pki / f"{client}.pem"),
         "-key", str(pki / f"{client}.key"), "-tls1_2"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
    )


def ours_as_server(pki: Path, cafile: Path, client: str) -> str:
    with our_server(pki, cafile) as (port, verdict):
        s_client_with_cert(port, pki, client)
    return verdict[0] if verdict else "no verdict"


def openssl_as_server(pki: Path, cafile: Path, client: str) -> str:
    """``s_server -Verify 1 -verify_return_error``: TLS 1.2, so a rejected certificate fails s_client's handshake."""
    with s_server(pki, "leaf", extra=("-Verify", "1", "-verify_return_error", "-CAfile", str(cafile))) as port:
        done = subprocess.run(
            [require_binary("openssl"), "s_client", "-connect", f"127.0.0.1:{port}", "-cert", str(pki / f"{client}.pem"),
             "-key", str(pki / f"{client}.key"), "-tls1_2"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
        )
    return ACCEPTED if done.returncode == 0 else "rejected"


def cpython_as_server(pki: Path, cafile: Path, client: str) -> str:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki / "leaf.pem", pki / "leaf.key")
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(cafile)
    server_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname, client_ctx.verify_mode = False, ssl.CERT_NONE
    client_ctx.load_cert_chain(pki / f"{client}.pem", pki / f"{client}.key")
    bios = [ssl.MemoryBIO() for _ in range(4)]
    server = server_ctx.wrap_bio(bios[0], bios[1], server_side=True)
    peer = client_ctx.wrap_bio(bios[2], bios[3])
    for _ in range(20):
        for obj in (peer, server):
            try:
                obj.do_handshake()
                if obj is server:
                    return ACCEPTED
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError as exc:
                if obj is server:
                    return f"rejected: {exc}"
        bios[0].write(bios[3].read())
        bios[2].write(bios[1].read())
    return "no verdict"


# (client certificate, client CA file, our verdict)
CLIENT_CASES = {
    "self-signed client certificate in the CA file (no SAN)": ("client-self", "client-self", ACCEPTED),
    "CA-issued client certificate": ("leaf", "ca", ACCEPTED),
    "CA:TRUE client leaf signed by another CA": ("leaf-ca-true", "ca", ACCEPTED),
    "client certificate from an unknown CA": ("leaf", "other-ca", "unknown_ca"),
    "expired client certificate": ("leaf-expired", "ca", "certificate_expired"),
    "client certificate for serverAuth only": ("leaf-server-only", "ca", "bad_certificate"),
}


@pytest.mark.parametrize("case", list(CLIENT_CASES))
def test_client_certificate_verdicts_match_openssl_and_cpython(pki: Path, case: str) -> None:
    client, ca, expected = CLIENT_CASES[case]
    cafile = pki / f"{ca}.pem"
    verdicts = {
        "tlsstate": ours_as_server(pki, cafile, client),
        "cpython": cpython_as_server(pki, cafile, client),
        "s_server": openssl_as_server(pki, cafile, client),
    }
    assert verdicts["tlsstate"] == expected, verdicts
    peers_accept = {v == ACCEPTED for k, v in verdicts.items() if k != "tlsstate"}
    assert peers_accept == {expected == ACCEPTED}, verdicts


# ------------------------------------------------------------------------------ the CLI connecting to an IP address

# s_server answers a server_name other than this one with a fatal unrecognized_name alert (-servername_fatal), so a
# handshake that completes proves the client sent none for the IP address (RFC 6066 §3: literal addresses are not
# permitted in HostName).
NO_SNI = ("-servername", "nomatch.example", "-servername_fatal")


def _sni_trap(pki: Path, name: str) -> tuple[str, ...]:
    return (*NO_SNI, "-cert2", str(pki / f"{name}.pem"), "-key2", str(pki / f"{name}.key"))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_connect_cli_verifies_the_ip_san_and_sends_no_server_name(pki: Path, host: str) -> None:
    from tests.helpers.peers import run_connect

    if ":" in host and not socket.has_ipv6:
        pytest.skip("no IPv6 loopback")
    with s_server(pki, "self", host, _sni_trap(pki, "self")) as port:
        target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        done = run_connect([target, "--cafile", str(pki / "self.pem"), "--versions", "tls1.2"])
    assert done.returncode == 0, done.stderr.decode()
    assert b"\nProtocol  : TLS" in done.stderr and b"HTTP/1.0 200 ok" in done.stdout, done.stdout[:200]


def test_connect_cli_to_an_ip_the_certificate_does_not_name_is_bad_certificate(pki: Path) -> None:
    from tests.helpers.peers import run_connect

    _self_signed(pki, "self-other-ip", "/CN=elsewhere", "DNS:elsewhere.example,IP:10.0.0.1")
    with s_server(pki, "self-other-ip") as port:
        done = run_connect([f"127.0.0.1:{port}", "--cafile", str(pki / "self-other-ip.pem"), "--versions", "tls1.2"])
        cpython = cpython_as_client("127.0.0.1", port, pki / "self-other-ip.pem", "127.0.0.1")
    assert done.returncode == 1
    assert b"HostnameMismatch: bad_certificate" in done.stderr and b"127.0.0.1" in done.stderr, done.stderr.decode()
    assert cpython.startswith("rejected: IP address mismatch"), cpython


# ------------------------------------------------------------------------------ the ssl-like TLSContext


@pytest.mark.parametrize(("served", "name", "check_hostname"), [
    ("self", "127.0.0.1", True),  # server_hostname an IP address: its IP SAN is checked
    ("self-no-san", "localhost", True),  # the common name stands in for a missing subjectAltName
    ("self-no-san", None, False),  # CERT_REQUIRED without check_hostname: the path alone, as in ssl
])
def test_tls_context_verifies_like_ssl(pki: Path, served: str, name: str | None, check_hostname: bool) -> None:
    from tlsstate.io.context import TLSContext

    ours = TLSContext()
    ours.check_hostname = check_hostname
    ours.load_verify_locations(pki / f"{served}.pem")
    theirs = ssl.create_default_context(cafile=str(pki / f"{served}.pem"))
    theirs.check_hostname = check_hostname
    with s_server(pki, served) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
                ours.wrap_socket(raw, server_hostname=name) as tls:
            assert tls.version() == "TLSv1.2"
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw, \
                theirs.wrap_socket(raw, server_hostname=name) as ssl_socket:
            assert ssl_socket.version() == "TLSv1.2"


# ------------------------------------------------------------------------------ the CLI as a server


def test_serve_verify_client_trusts_a_self_signed_client_certificate_in_client_ca(pki: Path) -> None:
    """``serve --verify-client required --client-ca X`` with X the client's own ``openssl req -x509`` certificate
    (CA:TRUE, no SAN), as ``s_server -Verify 1 -CAfile X`` accepts it; a certificate from elsewhere is unknown_ca."""
    from tests.helpers.peers import serve

    args = ["--cert", str(pki / "leaf.pem"), "--key", str(pki / "leaf.key"), "--verify-client", "required",
            "--client-ca", str(pki / "client-self.pem"), "--count", "2", "--versions", "tls1.2"]
    with serve(args) as server:
        for client in ("client-self", "self"):
            s_client_with_cert(server.port, pki, client)
        server.finish()
    lines = [line for line in server.lines if line.startswith("127.0.0.1:")]
    assert len(lines) == 2, server.lines
    assert " ok " in lines[0] and "client-cert s:CN=a client i:CN=a client" in lines[0], lines[0]
    assert "sent alert unknown_ca" in lines[1], lines[1]
