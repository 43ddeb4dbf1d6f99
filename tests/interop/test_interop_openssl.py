"""Live interop on loopback against the OpenSSL command line tools, both roles.

- tlsstate client -> ``openssl s_server -rev`` (echoes each line reversed): data both ways in one connection.
- ``openssl s_client -quiet`` -> tlsstate server (TLSListener thread): s_client uploads its stdin, our
  server answers with other bytes; both sides' bytes are compared by SHA-256.

Matrix: TLS 1.0/1.1/1.2 × key exchange (RSA, ECDHE X25519/P-256/P-384) × family (AES-CBC SHA/SHA256/SHA384
with and without EtM, AES-GCM, AES-CCM, ChaCha20-Poly1305) × EMS on/off, RSA and ECDSA certificates; small
data on every row and 1 MiB each way on a representative subset; P-521 and X448 on rows of their own. Also
session resumption both ways, ALPN and SNI seen by the peer. The certificate chain (test CA -> localhost leaf)
is made here with pyca, and the tlsstate client verifies it. Every peer process is killed in a ``finally``;
every wait is bounded.
"""

from __future__ import annotations

import hashlib
import random
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.env import free_port, require_binary
from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files
from tlsstate.crypto.suites import by_name
from tlsstate.events import HandshakeComplete
from tlsstate.io.sockets import TLSListener, TLSSocket
from tlsstate.record import Deframer
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.wire.constants import ContentType, NamedGroup, ProtocolVersion

pytestmark = pytest.mark.interop

TIMEOUT = 20.0
MIB = 1 << 20

VERSIONS = {  # our version, OpenSSL flag
    "tls1.0": (ProtocolVersion.TLS1_0, "-tls1"),
    "tls1.1": (ProtocolVersion.TLS1_1, "-tls1_1"),
    "tls1.2": (ProtocolVersion.TLS1_2, "-tls1_2"),
}
GROUPS = {"x25519": (NamedGroup.X25519, "X25519"), "P-256": (NamedGroup.SECP256R1, "P-256"),
          "P-384": (NamedGroup.SECP384R1, "P-384"), "P-521": (NamedGroup.SECP521R1, "secp521r1"),
          "x448": (NamedGroup.X448, "X448")}
#: The groups the full matrix crosses with every ECDHE suite; P-521 and x448 have their own rows (MORE_GROUPS).
MATRIX_GROUPS = ("x25519", "P-256", "P-384")

# OpenSSL suite name -> versions it runs in (RFC 5246/5289/6655/7905 restrict SHA-2 and AEAD suites to 1.2)
CBC_SHA = ["AES128-SHA", "AES256-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA"]
TLS12_ONLY = ["AES128-SHA256", "AES256-SHA256", "ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384",
              "AES128-GCM-SHA256", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
              "AES128-CCM", "AES256-CCM", "ECDHE-RSA-CHACHA20-POLY1305"]


@dataclass(frozen=True)
class Case:
    version: str
    suite: str  # OpenSSL name
    group: str | None  # None for RSA key exchange
    etm: bool
    ems: bool
    big: bool = False

    @property
    def id(self) -> str:
        parts = [self.version, self.suite, self.group or "rsa-kx", "etm" if self.etm else "no-etm",
                 "ems" if self.ems else "no-ems"]
        return "-".join(parts) + ("-1MiB" if self.big else "")

    @property
    def cbc(self) -> bool:
        return "GCM" not in self.suite and "CCM" not in self.suite and "CHACHA" not in self.suite


def build_matrix() -> list[Case]:
    cases: list[Case] = []
    for version in VERSIONS:
        suites = CBC_SHA + (TLS12_ONLY if version == "tls1.2" else [])
        for suite in suites:
            groups: list[str | None] = list(MATRIX_GROUPS) if suite.startswith("ECDHE") else [None]
            for index, group in enumerate(groups):
                cbc = "GCM" not in suite and "CCM" not in suite and "CHACHA" not in suite
                for etm in ((True, False) if cbc else (False,)):
                    for ems in (True, False):
                        # every group × family on EMS on; EMS off once per suite/EtM (keeps runtime modest)
                        if not ems and index > 0:
                            continue
                        cases.append(Case(version, suite, group, etm, ems))
    return cases


BIG = [  # 1 MiB each way: every version and family at least once
    Case("tls1.0", "ECDHE-RSA-AES128-SHA", "x25519", True, True, True),
    Case("tls1.1", "AES256-SHA", None, False, False, True),
    Case("tls1.2", "AES128-SHA256", None, True, True, True),
    Case("tls1.2", "ECDHE-RSA-AES256-SHA384", "P-384", False, True, True),
    Case("tls1.2", "ECDHE-RSA-AES128-GCM-SHA256", "P-256", False, True, True),
    Case("tls1.2", "AES256-CCM", None, False, True, True),
    Case("tls1.2", "ECDHE-RSA-CHACHA20-POLY1305", "x25519", False, False, True),
]
# ECDSA certificate (RFC 8422 §5.4 signatures; CCM/CCM_8 with ECDHE exist only as ECDHE-ECDSA suites in OpenSSL)
ECDSA = [
    Case("tls1.0", "ECDHE-ECDSA-AES128-SHA", "x25519", True, True),
    Case("tls1.0", "ECDHE-ECDSA-AES128-SHA", "P-256", False, False),
    Case("tls1.1", "ECDHE-ECDSA-AES256-SHA", "P-384", False, True),
    Case("tls1.2", "ECDHE-ECDSA-AES128-SHA256", "P-256", True, True),
    Case("tls1.2", "ECDHE-ECDSA-AES256-SHA384", "P-384", False, False),
    Case("tls1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "x25519", False, True),
    Case("tls1.2", "ECDHE-ECDSA-AES256-GCM-SHA384", "P-256", False, False),
    Case("tls1.2", "ECDHE-ECDSA-AES128-CCM", "x25519", False, True),
    Case("tls1.2", "ECDHE-ECDSA-AES256-CCM", "P-384", False, False),
    Case("tls1.2", "ECDHE-ECDSA-AES128-CCM8", "x25519", False, True),
    Case("tls1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", "P-256", False, True),
    Case("tls1.2", "ECDHE-ECDSA-AES128-CCM", "P-256", False, True, True),
]
# secp521r1 and x448 (RFC 8422 §5.1.1, RFC 7748): every version, CBC and AEAD, RSA and ECDSA certificates
MORE_GROUPS = [
    Case("tls1.0", "ECDHE-RSA-AES128-SHA", "P-521", True, True),
    Case("tls1.0", "ECDHE-RSA-AES256-SHA", "x448", False, False),
    Case("tls1.1", "ECDHE-RSA-AES128-SHA", "x448", True, True),
    Case("tls1.1", "ECDHE-ECDSA-AES256-SHA", "P-521", False, True),
    Case("tls1.2", "ECDHE-RSA-AES128-GCM-SHA256", "x448", False, True),
    Case("tls1.2", "ECDHE-RSA-AES256-GCM-SHA384", "P-521", False, True),
    Case("tls1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "x448", False, True),
    Case("tls1.2", "ECDHE-RSA-CHACHA20-POLY1305", "P-521", False, False),
    Case("tls1.2", "ECDHE-RSA-AES256-SHA384", "x448", True, True, True),
]
MATRIX = build_matrix() + BIG + ECDSA + MORE_GROUPS


# ------------------------------------------------------------------------------------------ fixtures


@dataclass
class Pki:
    ca: Path
    cert: Path
    key: Path
    chain: list[Any]
    private_key: Any
    ecdsa_cert: Path
    ecdsa_key: Path
    ecdsa_chain: list[Any]
    ecdsa_private_key: Any

    def files(self, case: Case) -> tuple[Path, Path]:
        return (self.ecdsa_cert, self.ecdsa_key) if "ECDSA" in case.suite else (self.cert, self.key)

    def identity(self, case: Case) -> dict[str, Any]:
        if "ECDSA" in case.suite:
            return {"certificate_chain": self.ecdsa_chain, "private_key": self.ecdsa_private_key}
        return {"certificate_chain": self.chain, "private_key": self.private_key}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("interop-pki")
    ca_cert, ca_key = make_ca("tlsstate interop CA", "rsa2048")
    leaf_cert, leaf_key = issue_certificate(ca_cert, ca_key, ["localhost", "127.0.0.1"], "rsa2048")
    (folder / "ca.pem").write_bytes(certificate_pem(ca_cert))
    write_pem_files(leaf_cert, leaf_key, folder / "leaf.pem", folder / "leaf.key")
    ec_cert, ec_key = issue_certificate(ca_cert, ca_key, ["localhost", "127.0.0.1"], "ecdsa-p256")
    write_pem_files(ec_cert, ec_key, folder / "ec.pem", folder / "ec.key")
    return Pki(folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key", [leaf_cert], leaf_key,
               folder / "ec.pem", folder / "ec.key", [ec_cert], ec_key)


def openssl() -> str:
    return require_binary("openssl")


def group_names(case: Case) -> list[str]:
    """The ECDHE group first; with an ECDSA certificate also its curve P-256, which supported_groups must
    list in TLS <= 1.2 for the server to use that certificate (RFC 8422 §5.1)."""
    if not case.group:
        return []
    names = [case.group]
    if "ECDSA" in case.suite and case.group != "P-256":
        names.append("P-256")
    return names


def tls_flags(case: Case) -> list[str]:
    flags = [VERSIONS[case.version][1], "-cipher", f"{case.suite}:@SECLEVEL=0"]
    if case.group:
        flags += ["-groups", ":".join(GROUPS[name][1] for name in group_names(case))]
    return flags


def our_config(case: Case, **kw: Any) -> TLSConfig:
    suite = by_name(case.suite)
    assert suite is not None, case.suite
    version = VERSIONS[case.version][0]
    return TLSConfig(
        min_version=version, max_version=version, cipher_suites=[suite],
        groups=[GROUPS[name][0] for name in group_names(case)] or None,
        extended_master_secret=case.ems, encrypt_then_mac=case.etm, **kw,
    )


def ske_named_group(server_flight: bytes) -> int | None:
    """The named group in the ServerKeyExchange (RFC 8422 §5.4: curve_type 3 = named_curve), read off the wire."""
    deframer = Deframer()
    deframer.feed(server_flight)
    handshake = b""
    for record in deframer:
        if record.content_type == ContentType.CHANGE_CIPHER_SPEC:
            break
        if record.content_type == ContentType.HANDSHAKE:
            handshake += record.fragment
    pos = 0
    while pos + 4 <= len(handshake):
        msg_type, length = handshake[pos], int.from_bytes(handshake[pos + 1:pos + 4], "big")
        body = handshake[pos + 4:pos + 4 + length]
        if msg_type == 12 and body[:1] == b"\x03":
            return int.from_bytes(body[1:3], "big")
        pos += 4 + length
    return None


def check_group(server_flight: bytes, case: Case) -> None:
    expected = GROUPS[case.group][0] if case.group else None
    assert ske_named_group(server_flight) == expected


def check_negotiated(hs: HandshakeComplete | None, case: Case) -> None:
    assert hs is not None
    assert hs.version == VERSIONS[case.version][0]
    assert hs.cipher_suite.openssl_name == case.suite
    assert hs.extended_master_secret is case.ems
    assert hs.encrypt_then_mac is (case.etm and case.cbc)


class Peer:
    """A running OpenSSL process whose output is collected by a reader thread."""

    def __init__(self, args: list[str], stdin: bytes | None = None) -> None:
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.output = bytearray()  # stdout only (s_client -quiet: exactly the application data)
        self.errors = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout, self.output), daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read, args=(self.proc.stderr, self.errors), daemon=True)
        self._err_reader.start()
        self._stdin = stdin
        if stdin is not None:
            threading.Thread(target=self._write, daemon=True).start()

    def _write(self) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(self._stdin or b"")
            self.proc.stdin.close()
        except OSError:
            pass

    def _read(self, stream: Any, sink: bytearray) -> None:
        while chunk := stream.read1(65536):
            with self._lock:
                sink += chunk

    def text(self) -> str:
        """stdout and stderr (for status lines and failure messages)."""
        with self._lock:
            return (self.output + b"\n" + self.errors).decode("latin-1")

    def wait_for(self, marker: str, timeout: float = TIMEOUT) -> None:
        event = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if marker in self.text():
                return
            if self.proc.poll() is not None:
                self._reader.join(5)  # the process is gone: read the rest of its output
                self._err_reader.join(5)
                if marker in self.text():
                    return
                break
            event.wait(0.02)
        raise AssertionError(f"{marker!r} not seen; peer said:\n{self.text()[-3000:]}")

    def finish(self, timeout: float = TIMEOUT) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = -1
        self.stop()
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        if self.proc.stdin and not self.proc.stdin.closed:
            with suppress(OSError):
                self.proc.stdin.close()
        self._reader.join(5)
        self._err_reader.join(5)


@contextmanager
def s_server(pki: Pki, extra: list[str], naccept: int = 1, ecdsa: bool = False) -> Iterator[tuple[Peer, int]]:
    port = free_port()
    cert, key = (pki.ecdsa_cert, pki.ecdsa_key) if ecdsa else (pki.cert, pki.key)
    peer = Peer([openssl(), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
                 "-naccept", str(naccept), *extra])
    try:
        peer.wait_for("ACCEPT")
        yield peer, port
    finally:
        peer.stop()


def reversed_lines(data: bytes) -> bytes:
    return b"".join(line[:-1][::-1] + b"\n" for line in data.splitlines(keepends=True))


def line_payload(size: int, seed: int) -> bytes:
    """``size`` bytes of hex text in 1024-byte lines (s_server -rev is line based)."""
    rng = random.Random(seed)
    lines = [rng.randbytes(511).hex().encode() + b"\n" for _ in range(max(1, size // 1023))]
    return b"".join(lines)


def read_exactly(tls: TLSSocket, size: int) -> bytes:
    buf = bytearray()
    while len(buf) < size:
        chunk = tls.recv()
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


# ------------------------------------------------------------------------------- client -> s_server


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: c.id)
def test_client_against_s_server(case: Case, pki: Pki) -> None:
    extra = tls_flags(case) + ["-rev"] + ([] if case.etm else ["-no_etm"])
    small = b"hello from tlsstate " + case.id.encode() + b"\n"
    upload = line_payload(MIB, seed=len(case.id)) if case.big else small
    with s_server(pki, extra, ecdsa="ECDSA" in case.suite) as (peer, port):
        config = our_config(case, cafile=str(pki.ca), server_name="localhost")
        wire = bytearray()
        tap = lambda direction, data: wire.extend(data) if direction == "in" else None  # noqa: E731
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT, on_wire=tap) as tls:
            tls.on_wire = None
            check_negotiated(tls.handshake, case)
            check_group(bytes(wire), case)
            received = _send_and_receive(tls, upload)
        assert hashlib.sha256(received).hexdigest() == hashlib.sha256(reversed_lines(upload)).hexdigest()
        peer.wait_for("CONNECTION CLOSED")
        text = peer.text()
    assert f"Ciphersuite: {case.suite}" in text
    assert {"tls1.0": "TLSv1\n", "tls1.1": "TLSv1.1", "tls1.2": "TLSv1.2"}[case.version] in \
        text.split("Protocol version: ", 1)[1][:8] + "\n"


def _send_and_receive(tls: TLSSocket, upload: bytes) -> bytes:
    """Send in slices and read what has come back in between (one thread: TLSSocket is not thread-safe)."""
    received = bytearray()
    step = 64 * 1024
    for offset in range(0, len(upload), step):
        tls.sendall(upload[offset:offset + step])
        while len(received) + 4 * step < offset:
            received += tls.recv()
    while len(received) < len(upload):
        chunk = tls.recv()
        if not chunk:
            break
        received += chunk
    return bytes(received)


# ------------------------------------------------------------------------------- s_client -> server


class OurServer:
    """A tlsstate server thread: per connection, handshake, run ``handler``, close with close_notify."""

    def __init__(self, config: TLSConfig, handler: Callable[[TLSSocket], Any], connections: int = 1) -> None:
        self.listener = TLSListener("127.0.0.1", 0, config, timeout=TIMEOUT)
        self.port = self.listener.address[1]
        self.handler = handler
        self.connections = connections
        self.handshakes: list[HandshakeComplete | None] = []
        self.server_flights: list[bytearray] = []
        self.results: list[Any] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(self.connections):
            try:
                tls, _ = self.listener.accept(timeout=TIMEOUT)
            except Exception as exc:
                self.errors.append(exc)
                return
            with tls:
                flight = bytearray()
                self.server_flights.append(flight)
                tls.on_wire = lambda direction, data, flight=flight: flight.extend(data) if direction == "out" else None
                try:
                    tls.do_handshake()
                    tls.on_wire = None
                    self.handshakes.append(tls.handshake)
                    self.results.append(self.handler(tls))
                except Exception as exc:
                    self.handshakes.append(tls.handshake)
                    self.errors.append(exc)

    def __enter__(self) -> OurServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.thread.join(TIMEOUT)
        self.listener.close()


def s_client(pki: Pki, port: int, extra: list[str], stdin: bytes, quiet: bool = True) -> Peer:
    args = [openssl(), "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki.ca),
            "-verify_return_error", *extra]
    if quiet:
        args.append("-quiet")
    return Peer(args, stdin=stdin)


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: c.id)
def test_server_against_s_client(case: Case, pki: Pki) -> None:
    size = MIB if case.big else 200
    upload = random.Random(case.id).randbytes(size)
    download = random.Random(case.id + "down").randbytes(size)

    def handler(tls: TLSSocket) -> bytes:
        got = read_exactly(tls, len(upload))
        tls.sendall(download)
        return got

    config = our_config(case, **pki.identity(case))
    with OurServer(config, handler) as server:
        extra = tls_flags(case) + ["-servername", "localhost"] + ([] if case.etm else ["-no_etm"])
        peer = s_client(pki, server.port, extra, upload)
        try:
            server.thread.join(TIMEOUT)
            code = peer.finish()
        finally:
            peer.stop()
    assert not server.errors, server.errors
    check_negotiated(server.handshakes[0], case)
    check_group(bytes(server.server_flights[0]), case)
    assert server.handshakes[0] is not None and server.handshakes[0].server_name == "localhost"
    assert hashlib.sha256(server.results[0]).digest() == hashlib.sha256(upload).digest()
    assert hashlib.sha256(bytes(peer.output)).digest() == hashlib.sha256(download).digest(), peer.text()[-500:]
    assert code == 0


# ------------------------------------------------------------------------------- resumption, ALPN, SNI


def test_client_resumes_with_s_server(pki: Pki) -> None:
    case = Case("tls1.2", "ECDHE-RSA-AES128-GCM-SHA256", "x25519", False, True)
    with s_server(pki, [*tls_flags(case), "-rev", "-no_ticket"], naccept=2) as (peer, port):
        config = our_config(case, cafile=str(pki.ca), server_name="localhost", session_store=SessionStore())
        resumed = []
        for _ in range(2):
            with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
                assert tls.handshake is not None
                resumed.append(tls.handshake.resumed)
                tls.sendall(b"abc\n")
                assert read_exactly(tls, 4) == b"cba\n"
        peer.wait_for("1 session cache hits")  # s_server -rev prints its cache statistics per connection
    assert resumed == [False, True]


def _echo_handler(tls: TLSSocket) -> bytes:
    data = b""
    while chunk := tls.recv():
        data += chunk
    return data


def test_s_client_resumes_with_sess_out_sess_in(pki: Pki, tmp_path: Path) -> None:
    case = Case("tls1.2", "AES128-SHA256", None, True, True)
    config = our_config(case, certificate_chain=pki.chain, private_key=pki.private_key, session_cache=SessionCache())
    session_file = tmp_path / "sess.pem"
    with OurServer(config, _echo_handler, connections=2) as server:
        outputs = []
        for flag in ("-sess_out", "-sess_in"):
            peer = s_client(pki, server.port, [*tls_flags(case), flag, str(session_file)], b"hi\n", quiet=False)
            try:
                peer.finish()
            finally:
                peer.stop()
            outputs.append(peer.text())
    assert not server.errors, server.errors
    assert "New, TLSv1.2, Cipher is AES128-SHA256" in outputs[0]
    assert "Reused, TLSv1.2, Cipher is AES128-SHA256" in outputs[1]
    assert [hs.resumed for hs in server.handshakes if hs] == [False, True]
    assert server.results == [b"hi\n", b"hi\n"]


def test_s_client_reconnect(pki: Pki) -> None:
    case = Case("tls1.1", "ECDHE-RSA-AES256-SHA", "P-256", True, True)
    config = our_config(case, certificate_chain=pki.chain, private_key=pki.private_key, session_cache=SessionCache())
    with OurServer(config, _echo_handler, connections=6) as server:
        peer = s_client(pki, server.port, [*tls_flags(case), "-reconnect"], b"", quiet=False)
        try:
            peer.finish()
        finally:
            peer.stop()
    resumed = [hs.resumed for hs in server.handshakes if hs]
    assert resumed == [False, True, True, True, True, True], (resumed, server.errors, peer.text()[-800:])
    # s_client prints the cipher's own version label here ("TLSv1.0" for this SHA-1 CBC suite)
    assert peer.text().count(", Cipher is ECDHE-RSA-AES256-SHA") == 6
    assert peer.text().count("Reused, ") == 5 and peer.text().count("New, ") == 1
    assert "Protocol  : TLSv1.1" in peer.text()


def test_alpn_and_sni_seen_by_s_server(pki: Pki) -> None:
    case = Case("tls1.2", "ECDHE-RSA-CHACHA20-POLY1305", "x25519", False, True)
    with s_server(pki, [*tls_flags(case), "-rev", "-alpn", "http/1.1"]) as (peer, port):
        config = our_config(case, cafile=str(pki.ca), server_name="localhost", alpn_protocols=["h2", "http/1.1"])
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            assert tls.handshake is not None and tls.handshake.alpn == "http/1.1"
        peer.wait_for("ALPN protocols selected: http/1.1")
        assert "ALPN protocols advertised by the client: h2, http/1.1" in peer.text()
    # SNI: s_server prints the host name it got when it has a -servername to compare with
    with s_server(pki, [*tls_flags(case), "-rev", "-servername", "localhost", "-cert2", str(pki.cert),
                        "-key2", str(pki.key)]) as (peer, port):
        config = our_config(case, cafile=str(pki.ca), server_name="localhost")
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT):
            pass
        peer.wait_for('Hostname in TLS extension: "localhost"')


def test_alpn_and_sni_seen_by_tlsstate_server(pki: Pki) -> None:
    case = Case("tls1.2", "ECDHE-RSA-AES256-GCM-SHA384", "P-384", False, False)
    config = our_config(case, certificate_chain=pki.chain, private_key=pki.private_key, alpn_protocols=["http/1.1"])
    with OurServer(config, _echo_handler) as server:
        peer = s_client(pki, server.port, [*tls_flags(case), "-servername", "localhost", "-alpn", "h2,http/1.1"],
                        b"x", quiet=False)
        try:
            peer.finish()
        finally:
            peer.stop()
    hs = server.handshakes[0]
    assert hs is not None and hs.server_name == "localhost" and hs.alpn == "http/1.1"
    assert "ALPN protocol: http/1.1" in peer.text()
