"""Live captures of the older suite families Debian's OpenSSL still runs (with SECLEVEL=0, SEED through its legacy
provider): Camellia, SEED, DHE_DSS, DH_anon, ECDH_anon, ECDHE with Camellia. ``openssl s_server -www`` (RSA + DSA
certificates, and one with an ECDSA certificate) and ``openssl s_client -keylogfile`` on loopback, recorded by
dumpcap; and the same families from a second implementation, ``gnutls-serv --echo`` / ``gnutls-cli``
(SSLKEYLOGFILE). tlsstate must agree with tshark on every byte, verify both Finished messages and name the group."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.capture import loopback_capture, stop_process
from tests.helpers.env import free_port, require_binary
from tests.helpers.synthetic_tls import tshark_follow
from tlsstate.capture.decrypt import CaptureResult, decrypt_capture
from tlsstate.capture.keysource import KeySource

pytestmark = pytest.mark.interop

LEGACY = ["-provider", "legacy", "-provider", "default"]


@dataclass(frozen=True)
class Case:
    cipher: str  # OpenSSL name
    version: str  # s_client flag
    suite: str  # the IANA id we must report
    server: str = "rsa"  # rsa (RSA + DSA certificates) or ecdsa
    legacy: bool = False  # needs OpenSSL's legacy provider


CASES = [
    Case("CAMELLIA128-SHA", "-tls1_2", "0x0041"),
    Case("CAMELLIA256-SHA256", "-tls1_2", "0x00c0"),
    Case("DHE-RSA-CAMELLIA128-SHA", "-tls1", "0x0045"),
    Case("ECDHE-RSA-CAMELLIA256-SHA384", "-tls1_2", "0xc077"),
    Case("ECDHE-ECDSA-CAMELLIA128-SHA256", "-tls1_2", "0xc072", server="ecdsa"),
    Case("SEED-SHA", "-tls1_2", "0x0096", legacy=True),
    Case("DHE-RSA-SEED-SHA", "-tls1_1", "0x009a", legacy=True),
    Case("DHE-DSS-SEED-SHA", "-tls1_2", "0x0099", legacy=True),
    Case("DHE-DSS-AES128-SHA", "-tls1", "0x0032"),
    Case("DHE-DSS-AES256-SHA256", "-tls1_2", "0x006a"),
    Case("DHE-DSS-AES128-GCM-SHA256", "-tls1_2", "0x00a2"),
    Case("DHE-DSS-CAMELLIA128-SHA256", "-tls1_2", "0x00bd"),
    Case("ADH-AES256-GCM-SHA384", "-tls1_2", "0x00a7"),
    Case("ADH-CAMELLIA128-SHA", "-tls1_1", "0x0046"),
    Case("AECDH-AES128-SHA", "-tls1_2", "0xc018"),
]


def _identities(openssl: str, folder: Path) -> dict[str, Path]:
    """RSA, DSA (2048-bit parameters) and ECDSA P-256 self-signed certificates."""
    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=120)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(folder / "rsa.key"), "-out",
        str(folder / "rsa.pem"), "-subj", "/CN=localhost", "-days", "2")
    run("genpkey", "-genparam", "-algorithm", "DSA", "-pkeyopt", "dsa_paramgen_bits:2048", "-out", str(folder / "p.pem"))
    run("genpkey", "-paramfile", str(folder / "p.pem"), "-out", str(folder / "dsa.key"))
    run("req", "-x509", "-key", str(folder / "dsa.key"), "-out", str(folder / "dsa.pem"), "-subj", "/CN=localhost",
        "-days", "2")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        str(folder / "ec.key"), "-out", str(folder / "ec.pem"), "-subj", "/CN=localhost", "-days", "2")
    return {name: folder / name for name in ("rsa.pem", "rsa.key", "dsa.pem", "dsa.key", "ec.pem", "ec.key")}


def _has_legacy(openssl: str) -> bool:
    probe = subprocess.run([openssl, "ciphers", *LEGACY, "SEED-SHA:@SECLEVEL=0"], capture_output=True, timeout=30)
    return probe.returncode == 0


@dataclass
class Captured:
    path: Path
    keylog: Path
    ports: dict[Case, int]  # the client's source port is unknown; each case talks to its server once, in order
    order: list[Case]


@pytest.fixture(scope="module")
def identities(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _identities(require_binary("openssl"), tmp_path_factory.mktemp("legacy-ids"))


@pytest.fixture(scope="module")
def legacy_capture(tmp_path_factory: pytest.TempPathFactory, identities: dict[str, Path]) -> Iterator[Captured]:
    openssl = require_binary("openssl")
    folder = tmp_path_factory.mktemp("legacy")
    ids = identities
    legacy = _has_legacy(openssl)
    cases = [case for case in CASES if legacy or not case.legacy]
    ports = {"rsa": free_port(), "ecdsa": free_port()}
    certs = {"rsa": ["-cert", str(ids["rsa.pem"]), "-key", str(ids["rsa.key"]), "-dcert", str(ids["dsa.pem"]),
                     "-dkey", str(ids["dsa.key"])],
             "ecdsa": ["-cert", str(ids["ec.pem"]), "-key", str(ids["ec.key"])]}
    capture, keylog = folder / "legacy.pcapng", folder / "keys.log"
    with loopback_capture(capture, ports.values()):
        servers = [subprocess.Popen(
            [openssl, "s_server", *(LEGACY if legacy else []), "-accept", f"127.0.0.1:{port}", *certs[kind],
             "-cipher", "ALL:COMPLEMENTOFALL:@SECLEVEL=0", "-min_protocol", "TLSv1", "-max_protocol", "TLSv1.2",
             "-www"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for kind, port in ports.items()]
        try:
            time.sleep(1.0)
            for case in cases:
                subprocess.run(
                    [openssl, "s_client", *(LEGACY if case.legacy else []), "-connect", f"127.0.0.1:{ports[case.server]}",
                     "-cipher", f"{case.cipher}:@SECLEVEL=0", case.version, "-ign_eof", "-keylogfile", str(keylog)],
                    input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=20, check=True)
        finally:
            for server in servers:
                stop_process(server)
    yield Captured(capture, keylog, {case: ports[case.server] for case in cases}, cases)


def _decrypt(captured: Captured) -> CaptureResult:
    keys = KeySource()
    keys.add_keylog_file(captured.keylog)
    return decrypt_capture(captured.path, keys)


def test_legacy_families_decrypt_like_tshark(legacy_capture: Captured) -> None:
    tshark = require_binary("tshark")
    result = _decrypt(legacy_capture)
    assert len(result.connections) == len(legacy_capture.order)
    for conn, case in zip(result.connections, legacy_capture.order, strict=True):
        got = conn.to_json()
        assert got["cipher_suite"] == case.suite, (case, got)
        assert got["records_failed"] == got["records_undecryptable"] == 0, (case, got)
        assert got["finished_verified"] is True, case
        assert got["server_to_client_first_line"] == "HTTP/1.0 200 ok", case
        client, server = tshark_follow(tshark, legacy_capture.path, legacy_capture.keylog, conn.tcp.number,
                                        int(conn.server.rsplit(":", 1)[1]))
        assert got["client_to_server_sha256"] == hashlib.sha256(client).hexdigest(), case
        assert got["server_to_client_sha256"] == hashlib.sha256(server).hexdigest(), case
        assert len(server) > 100, case


#: gnutls-cli priority -> (suite id, group); the server enables Camellia, DHE_DSS and 3DES besides NORMAL.
GNUTLS_CASES = {
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CAMELLIA-128-CBC:-MAC-ALL:+SHA256:-KX-ALL:+RSA": ("0x00ba", None),
    "NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CAMELLIA-256-CBC:-MAC-ALL:+SHA384:-KX-ALL:+ECDHE-RSA":
        ("0xc077", "secp256r1"),
    "NORMAL:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+CAMELLIA-256-CBC:-MAC-ALL:+SHA1:-KX-ALL:+DHE-DSS:+SIGN-DSA-SHA1":
        ("0x0087", "ffdhe2048"),
    "NORMAL:-VERS-ALL:+VERS-TLS1.1:-CIPHER-ALL:+3DES-CBC:-MAC-ALL:+SHA1:-KX-ALL:+DHE-DSS:+SIGN-DSA-SHA1":
        ("0x0013", "ffdhe2048"),
}
#: SRP (RFC 5054) with a password file made by srptool: the user and password the client logs in with.
GNUTLS_SRP_CASES = {
    "NORMAL:-KX-ALL:+SRP:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-CBC": ("0xc01d", None),
    "NORMAL:-KX-ALL:+SRP-RSA:-VERS-ALL:+VERS-TLS1.0:-CIPHER-ALL:+AES-256-CBC": ("0xc021", None),
}
SRP_USER, SRP_PASSWORD = "alice", "correct horse"
GNUTLS_SERVER_PRIORITY = ("NORMAL:+CAMELLIA-128-CBC:+CAMELLIA-256-CBC:+DHE-DSS:+RSA:+SIGN-DSA-SHA256:+SIGN-DSA-SHA1:"
                          "+VERS-TLS1.0:+VERS-TLS1.1:+3DES-CBC:+SHA256:+SHA384:+SRP:+SRP-RSA")


@dataclass
class GnutlsCaptured:
    path: Path
    keylog: Path
    priorities: list[str]  # the gnutls-cli priority of each connection, in order


def _srp_files(folder: Path) -> list[str]:
    """gnutls-serv options for an SRP password file holding SRP_USER (srptool), or [] without srptool."""
    try:
        srptool = require_binary("srptool")
    except pytest.skip.Exception:
        return []
    conf, passwd = folder / "tpasswd.conf", folder / "tpasswd"
    subprocess.run([srptool, "--create-conf", str(conf)], check=True, capture_output=True, timeout=60)
    subprocess.run([srptool, "--passwd", str(passwd), "--passwd-conf", str(conf), "-u", SRP_USER],
                   input=f"{SRP_PASSWORD}\n{SRP_PASSWORD}\n".encode(), check=True, capture_output=True, timeout=60)
    return ["--srppasswd", str(passwd), "--srppasswdconf", str(conf)]


@pytest.fixture(scope="module")
def gnutls_capture(tmp_path_factory: pytest.TempPathFactory, identities: dict[str, Path]) -> Iterator[GnutlsCaptured]:
    serv, cli = require_binary("gnutls-serv"), require_binary("gnutls-cli")
    folder = tmp_path_factory.mktemp("legacy-gnutls")
    port = free_port()
    capture, keylog = folder / "gnutls.pcapng", folder / "keys.log"
    srp = _srp_files(folder)
    cases = {**GNUTLS_CASES, **(GNUTLS_SRP_CASES if srp else {})}
    with loopback_capture(capture, [port]):
        server = subprocess.Popen(
            [serv, "--echo", "-p", str(port), "--x509certfile", str(identities["rsa.pem"]), "--x509keyfile",
             str(identities["rsa.key"]), "--x509dsacertfile", str(identities["dsa.pem"]), "--x509dsakeyfile",
             str(identities["dsa.key"]), *srp, "--priority", GNUTLS_SERVER_PRIORITY],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            for priority in cases:
                login = ["--srpusername", SRP_USER, "--srppasswd", SRP_PASSWORD] if priority in GNUTLS_SRP_CASES else []
                subprocess.run([cli, "--insecure", "-p", str(port), "127.0.0.1", *login, "--priority", priority],
                               input=f"hello over {priority}\n".encode(), capture_output=True, timeout=20, check=True,
                               env={**os.environ, "SSLKEYLOGFILE": str(keylog)})
            time.sleep(0.3)
        finally:
            stop_process(server)
    yield GnutlsCaptured(capture, keylog, list(cases))


def test_gnutls_legacy_families_decrypt_like_tshark(gnutls_capture: GnutlsCaptured) -> None:
    tshark = require_binary("tshark")
    keys = KeySource()
    keys.add_keylog_file(gnutls_capture.keylog)
    result = decrypt_capture(gnutls_capture.path, keys)
    cases = {**GNUTLS_CASES, **GNUTLS_SRP_CASES}
    priorities = gnutls_capture.priorities
    assert len(result.connections) == len(priorities)
    for conn, priority in zip(result.connections, priorities, strict=True):
        suite, group = cases[priority]
        got = conn.to_json()
        line = f"hello over {priority}\n".encode()
        assert (got["cipher_suite"], got["group"]) == (suite, group), priority
        assert got["records_failed"] == got["records_undecryptable"] == 0, got
        assert got["finished_verified"] is True, priority
        assert got["client_to_server_sha256"] == got["server_to_client_sha256"] == hashlib.sha256(line).hexdigest()
        client, server = tshark_follow(tshark, gnutls_capture.path, gnutls_capture.keylog, conn.tcp.number,
                                       int(conn.server.rsplit(":", 1)[1]))
        assert (client, server) == (line, line), priority
