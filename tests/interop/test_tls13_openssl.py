"""TLS 1.3 (RFC 9846) live against the OpenSSL command line tools, both roles, on loopback.

- tlsstate client -> ``openssl s_server -tls1_3 -rev``: the suite and group forced on OpenSSL's side with
  ``-ciphersuites`` / ``-groups`` (CCM and CCM_8 too), data both ways, checked by SHA-256;
- ``openssl s_client -tls1_3 -quiet`` -> tlsstate server: s_client uploads its stdin, our server answers with other
  bytes; both directions compared by SHA-256 (1 MiB each way on a subset).

Every suite with x25519; every group (x25519, P-256, P-384, P-521, x448) with AES-128-GCM; RSA (rsa_pss_rsae),
ECDSA P-256 (ecdsa_secp256r1_sha256) and Ed25519 certificates. Also: middlebox compatibility mode seen on the wire
(one ChangeCipherSpec, the session ID echoed), a 1.3-only tlsstate against a 1.2-only OpenSSL (and the other way
round) ending in protocol_version, and OpenSSL's KeyUpdate (s_client's ``K``) reaching our server.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.interop.test_interop_openssl import (
    MIB,
    TIMEOUT,
    OurServer,
    Peer,
    line_payload,
    openssl,
    read_exactly,
    reversed_lines,
)
from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import certificate_pem, issue_certificate, make_ca, write_pem_files
from tlsstate.crypto.suites import by_name
from tlsstate.io.sockets import TLSSocket
from tlsstate.record import Deframer
from tlsstate.wire.constants import AlertDescription, ContentType, NamedGroup, ProtocolVersion
from tlsstate.wire.errors import AlertReceived, TLSError

pytestmark = pytest.mark.interop

TLS13 = ProtocolVersion.TLS1_3
SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
          "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"]
GROUPS = {"x25519": (NamedGroup.X25519, "X25519"), "P-256": (NamedGroup.SECP256R1, "P-256"),
          "P-384": (NamedGroup.SECP384R1, "P-384"), "P-521": (NamedGroup.SECP521R1, "P-521"),
          "x448": (NamedGroup.X448, "X448")}
#: what OpenSSL 3.0 prints as "Peer signature type" / what our server signs with, per certificate kind
CERTS = {"rsa": "rsa2048", "ecdsa": "ecdsa-p256", "ed25519": "ed25519"}


@dataclass(frozen=True)
class Case13:
    suite: str
    group: str
    cert: str = "rsa"
    big: bool = False

    @property
    def id(self) -> str:
        return f"{self.suite}-{self.group}-{self.cert}" + ("-1MiB" if self.big else "")


MATRIX = (
    [Case13(suite, "x25519") for suite in SUITES]
    + [Case13("TLS_AES_128_GCM_SHA256", group) for group in GROUPS if group != "x25519"]
    + [Case13("TLS_AES_256_GCM_SHA384", "P-256", "ecdsa"), Case13("TLS_CHACHA20_POLY1305_SHA256", "x25519", "ed25519")]
    + [Case13("TLS_AES_128_GCM_SHA256", "x25519", big=True), Case13("TLS_CHACHA20_POLY1305_SHA256", "P-384", big=True),
       Case13("TLS_AES_128_CCM_8_SHA256", "x25519", "ecdsa", big=True)]
)


@dataclass
class Pki13:
    ca: Path
    files: dict[str, tuple[Path, Path]]
    identities: dict[str, tuple[list[Any], Any]]


@pytest.fixture(scope="module")
def pki13(tmp_path_factory: pytest.TempPathFactory) -> Pki13:
    folder = tmp_path_factory.mktemp("tls13-pki")
    ca_cert, ca_key = make_ca("tlsstate TLS 1.3 interop CA", "rsa2048")
    (folder / "ca.pem").write_bytes(certificate_pem(ca_cert))
    files, identities = {}, {}
    for kind, key_type in CERTS.items():
        cert, key = issue_certificate(ca_cert, ca_key, ["localhost", "127.0.0.1"], key_type)
        write_pem_files(cert, key, folder / f"{kind}.pem", folder / f"{kind}.key")
        files[kind] = (folder / f"{kind}.pem", folder / f"{kind}.key")
        identities[kind] = ([cert], key)
    return Pki13(folder / "ca.pem", files, identities)


def our_config(case: Case13, **kw: Any) -> TLSConfig:
    suite = by_name(case.suite)
    assert suite is not None
    return TLSConfig(max_version=TLS13, cipher_suites=[suite], groups=[GROUPS[case.group][0]], **kw)


def ossl_flags(case: Case13) -> list[str]:
    return ["-tls1_3", "-ciphersuites", case.suite, "-groups", GROUPS[case.group][1]]


def s_server13(pki: Pki13, case: Case13, extra: list[str]) -> tuple[Peer, int]:
    from tests.helpers.env import free_port

    port = free_port()
    cert, key = pki.files[case.cert]
    peer = Peer([openssl(), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
                 "-naccept", "1", *ossl_flags(case), *extra])
    peer.wait_for("ACCEPT")
    return peer, port


def records(wire: bytes) -> list[tuple[int, bytes]]:
    deframer = Deframer()
    deframer.feed(wire)
    return [(r.content_type, r.fragment) for r in deframer]


def check_handshake(hs: Any, case: Case13) -> None:
    assert hs is not None
    assert hs.version == TLS13
    assert hs.cipher_suite.name == case.suite
    assert hs.key_exchange_group == GROUPS[case.group][0]
    assert not hs.extended_master_secret and not hs.encrypt_then_mac


# ------------------------------------------------------------------------------- client -> s_server


def _send_and_receive(tls: TLSSocket, upload: bytes) -> bytes:
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


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: c.id)
def test_client_against_s_server_tls13(case: Case13, pki13: Pki13) -> None:
    upload = line_payload(MIB, seed=len(case.id)) if case.big else b"hello TLS 1.3 " + case.id.encode() + b"\n"
    peer, port = s_server13(pki13, case, ["-rev"])
    try:
        config = our_config(case, cafile=str(pki13.ca), server_name="localhost")
        wire = bytearray()
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT,
                               on_wire=lambda d, data: wire.extend(data) if d == "in" else None) as tls:
            tls.on_wire = None
            check_handshake(tls.handshake, case)
            assert tls.connection.tls13_secrets is not None
            received = _send_and_receive(tls, upload)
        assert hashlib.sha256(received).digest() == hashlib.sha256(reversed_lines(upload)).digest()
        peer.wait_for("CONNECTION CLOSED")
        text = peer.text()
    finally:
        peer.stop()
    assert "Protocol version: TLSv1.3" in text
    assert f"Ciphersuite: {case.suite}" in text
    # middlebox compatibility mode (RFC 9846 Appendix D.4): OpenSSL echoes our 32-byte session ID and sends one
    # ChangeCipherSpec right after its ServerHello
    types = [t for t, _ in records(bytes(wire))]
    assert types[:2] == [ContentType.HANDSHAKE, ContentType.CHANGE_CIPHER_SPEC]
    assert ContentType.CHANGE_CIPHER_SPEC not in types[2:]


# ------------------------------------------------------------------------------- s_client -> server


def s_client13(pki: Pki13, port: int, case: Case13, stdin: bytes, extra: tuple[str, ...] = ()) -> Peer:
    return Peer([openssl(), "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(pki.ca), "-verify_return_error",
                 "-servername", "localhost", *ossl_flags(case), "-quiet", *extra], stdin=stdin)


@pytest.mark.parametrize("case", MATRIX, ids=lambda c: c.id)
def test_server_against_s_client_tls13(case: Case13, pki13: Pki13) -> None:
    size = MIB if case.big else 300
    upload = random.Random(case.id).randbytes(size)
    download = random.Random(case.id + "down").randbytes(size)

    def handler(tls: TLSSocket) -> bytes:
        got = read_exactly(tls, len(upload))
        tls.sendall(download)
        return got

    chain, key = pki13.identities[case.cert]
    config = our_config(case, certificate_chain=chain, private_key=key)
    with OurServer(config, handler) as server:
        peer = s_client13(pki13, server.port, case, upload)
        try:
            server.thread.join(TIMEOUT)
            code = peer.finish()
        finally:
            peer.stop()
    assert not server.errors, server.errors
    check_handshake(server.handshakes[0], case)
    assert server.handshakes[0] is not None and server.handshakes[0].server_name == "localhost"
    assert hashlib.sha256(server.results[0]).digest() == hashlib.sha256(upload).digest()
    assert hashlib.sha256(bytes(peer.output)).digest() == hashlib.sha256(download).digest(), peer.text()[-500:]
    assert code == 0
    types = [t for t, _ in records(bytes(server.server_flights[0]))]
    assert types[:2] == [ContentType.HANDSHAKE, ContentType.CHANGE_CIPHER_SPEC]  # s_client sends a session ID


# ------------------------------------------------------------------------------- version mismatches


def test_tls13_only_client_against_tls12_only_s_server(pki13: Pki13) -> None:
    """RFC 9846 §4.2.1 / Appendix D: neither side can go where the other is: protocol_version."""
    case = Case13("TLS_AES_128_GCM_SHA256", "x25519")
    from tests.helpers.env import free_port

    port = free_port()
    cert, key = pki13.files["rsa"]
    peer = Peer([openssl(), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
                 "-naccept", "1", "-tls1_2"])
    try:
        peer.wait_for("ACCEPT")
        config = our_config(case, min_version=TLS13, cafile=str(pki13.ca), server_name="localhost")
        with pytest.raises(TLSError) as caught:
            TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT).close()
        peer.wait_for("unsupported protocol")
    finally:
        peer.stop()
    assert isinstance(caught.value, AlertReceived) and caught.value.description == AlertDescription.PROTOCOL_VERSION


def test_tls12_only_s_client_against_tls13_only_server(pki13: Pki13) -> None:
    case = Case13("TLS_AES_128_GCM_SHA256", "x25519")
    chain, key = pki13.identities["rsa"]
    config = our_config(case, min_version=TLS13, certificate_chain=chain, private_key=key)
    with OurServer(config, lambda tls: b"") as server:  # the handler is never reached
        peer = Peer([openssl(), "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2"], stdin=b"")
        try:
            server.thread.join(TIMEOUT)
            peer.finish()
        finally:
            peer.stop()
    assert server.errors and "protocol" in str(server.errors[0]).lower()
    assert "alert protocol version" in peer.text()


def test_s_client_key_update_reaches_our_server(pki13: Pki13) -> None:
    """s_client's ``K`` sends KeyUpdate(update_requested) (RFC 9846 §4.6.3): our server moves the client's direction
    to the next secret, answers with its own KeyUpdate and keeps echoing."""
    case = Case13("TLS_AES_128_GCM_SHA256", "x25519")
    chain, key = pki13.identities["rsa"]
    config = our_config(case, certificate_chain=chain, private_key=key)
    epochs: list[tuple[int, int]] = []

    def handler(tls: TLSSocket) -> bytes:
        got = b""
        while len(got) < 8:
            chunk = tls.recv()
            if not chunk:
                break
            got += chunk
            tls.sendall(chunk)
        epochs.append((tls.connection.read_state.epoch, tls.connection.write_state.epoch))
        return got

    with OurServer(config, handler) as server:
        peer = Peer([openssl(), "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_3", "-CAfile",
                     str(pki13.ca), "-servername", "localhost"], stdin=None)
        try:
            peer.wait_for("Verify return code: 0")
            assert peer.proc.stdin is not None
            peer.proc.stdin.write(b"abcd\n")
            peer.proc.stdin.flush()
            time.sleep(0.3)
            peer.proc.stdin.write(b"K\n")
            peer.proc.stdin.flush()
            peer.wait_for("KEYUPDATE")
            time.sleep(0.3)
            peer.proc.stdin.write(b"efg\n")
            peer.proc.stdin.flush()
            server.thread.join(TIMEOUT)
        finally:
            peer.stop()
    assert not server.errors, server.errors
    assert server.results[0] == b"abcd\nefg\n"
    assert epochs == [(3, 3)]  # handshake keys (1), application keys (2), after the KeyUpdate (3)


# ------------------------------------------------------------------------------- HelloRetryRequest, FFDHE

HRR_CASES = [  # (OpenSSL -groups, our groups, our key-share groups, expected group, HelloRetryRequest expected)
    ("P-384", None, None, NamedGroup.SECP384R1, True),                          # our default offer, OpenSSL wants P-384
    ("ffdhe2048", [NamedGroup.X25519, NamedGroup.FFDHE2048], None, NamedGroup.FFDHE2048, True),
    ("ffdhe3072", [NamedGroup.FFDHE3072], None, NamedGroup.FFDHE3072, False),
    ("X448", [NamedGroup.SECP521R1, NamedGroup.X448], [NamedGroup.SECP521R1], NamedGroup.X448, True),
    ("X448:P-521", [NamedGroup.SECP521R1, NamedGroup.X448], [NamedGroup.SECP521R1], NamedGroup.SECP521R1, False),
]


@pytest.mark.parametrize(("ossl_groups", "groups", "shares", "expected", "retry"), HRR_CASES,
                         ids=[f"{c[0]}-{c[3].name}" for c in HRR_CASES])
def test_client_hello_retry_and_ffdhe_against_s_server(
    ossl_groups: str, groups: list[NamedGroup] | None, shares: list[NamedGroup] | None, expected: NamedGroup,
    retry: bool, pki13: Pki13,
) -> None:
    from tests.helpers.env import free_port

    port = free_port()
    cert, key = pki13.files["rsa"]
    peer = Peer([openssl(), "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
                 "-naccept", "1", "-tls1_3", "-groups", ossl_groups, "-rev"])
    try:
        peer.wait_for("ACCEPT")
        config = TLSConfig(max_version=TLS13, groups=groups, key_share_groups=shares, cafile=str(pki13.ca),
                           server_name="localhost")
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            assert tls.handshake is not None
            assert (tls.handshake.key_exchange_group, tls.handshake.hello_retry) == (expected, retry)
            upload = line_payload(64 * 1024, seed=3)
            assert _send_and_receive(tls, upload) == reversed_lines(upload)
        peer.wait_for("CONNECTION CLOSED")
    finally:
        peer.stop()
    assert "Protocol version: TLSv1.3" in peer.text()


SERVER_HRR_CASES = [  # (s_client -groups: the first gets the share, our groups, expected group, HRR expected)
    ("X25519:P-256", [NamedGroup.SECP256R1], NamedGroup.SECP256R1, True),
    ("P-384:ffdhe4096", [NamedGroup.FFDHE4096], NamedGroup.FFDHE4096, True),
    ("ffdhe2048", [NamedGroup.FFDHE2048], NamedGroup.FFDHE2048, False),
    ("X448", [NamedGroup.X448, NamedGroup.X25519], NamedGroup.X448, False),
]


@pytest.mark.parametrize(("ossl_groups", "groups", "expected", "retry"), SERVER_HRR_CASES,
                         ids=[c[0] for c in SERVER_HRR_CASES])
def test_server_hello_retry_and_ffdhe_against_s_client(
    ossl_groups: str, groups: list[NamedGroup], expected: NamedGroup, retry: bool, pki13: Pki13
) -> None:
    upload = random.Random(ossl_groups).randbytes(50_000)
    download = random.Random(ossl_groups + "down").randbytes(50_000)

    def handler(tls: TLSSocket) -> bytes:
        got = read_exactly(tls, len(upload))
        tls.sendall(download)
        return got

    chain, key = pki13.identities["rsa"]
    config = TLSConfig(max_version=TLS13, groups=groups, certificate_chain=chain, private_key=key)
    with OurServer(config, handler) as server:
        peer = Peer([openssl(), "s_client", "-connect", f"127.0.0.1:{server.port}", "-CAfile", str(pki13.ca),
                     "-verify_return_error", "-servername", "localhost", "-tls1_3", "-groups", ossl_groups, "-quiet"],
                    stdin=upload)
        try:
            server.thread.join(TIMEOUT)
            code = peer.finish()
        finally:
            peer.stop()
    assert not server.errors, server.errors
    hs = server.handshakes[0]
    assert hs is not None and (hs.key_exchange_group, hs.hello_retry) == (expected, retry)
    assert hashlib.sha256(server.results[0]).digest() == hashlib.sha256(upload).digest()
    assert hashlib.sha256(bytes(peer.output)).digest() == hashlib.sha256(download).digest()
    assert code == 0


# ------------------------------------------------------------------------------- KeyUpdate (RFC 9846 §4.6.3, §5.5)


def test_client_key_update_requested_by_api_against_s_server(pki13: Pki13) -> None:
    """Our KeyUpdate(update_requested): s_server answers with its own (seen by -msg both ways), both directions move
    on, and the data keeps flowing under the new keys."""
    case = Case13("TLS_AES_256_GCM_SHA384", "x25519")
    peer, port = s_server13(pki13, case, ["-rev", "-msg"])
    try:
        config = our_config(case, cafile=str(pki13.ca), server_name="localhost")
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            tls.key_update(request_peer=True)
            assert tls.connection.write_state.epoch == 3
            tls.sendall(b"after the update\n")
            assert read_exactly(tls, 17) == b"etadpu eht retfa\n"
            assert tls.connection.read_state.epoch == 3  # the server's KeyUpdate came before its data
        peer.wait_for("CONNECTION CLOSED")
    finally:
        peer.stop()
    text = peer.text()
    assert "<<< TLS 1.3, Handshake [length 0005], KeyUpdate" in text
    assert ">>> TLS 1.3, Handshake [length 0005], KeyUpdate" in text


def test_client_automatic_key_update_against_s_server(pki13: Pki13) -> None:
    """key_update_after=40: our client moves to a new key every 40 records (RFC 9846 §5.5, here far below the
    AEAD limit); s_server follows each KeyUpdate and the 1 MiB comes back intact. The lines are 1024 bytes, so
    each 16 KiB record ends on a line: s_server -rev reverses a line cut by a KeyUpdate in two halves."""
    case = Case13("TLS_CHACHA20_POLY1305_SHA256", "x25519")
    rng = random.Random(7)
    upload = b"".join(rng.randbytes(512).hex().encode()[:1023] + b"\n" for _ in range(MIB // 1024))
    peer, port = s_server13(pki13, case, ["-rev"])
    try:
        config = our_config(case, cafile=str(pki13.ca), server_name="localhost", key_update_after=40)
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
            received = _send_and_receive(tls, upload)
            epochs = tls.connection.write_state.epoch
        peer.wait_for("CONNECTION CLOSED")
    finally:
        peer.stop()
    assert hashlib.sha256(received).digest() == hashlib.sha256(reversed_lines(upload)).digest()
    assert epochs >= 2 + (len(upload) // 16384) // 40


def test_server_automatic_key_update_against_s_client(pki13: Pki13) -> None:
    case = Case13("TLS_AES_128_GCM_SHA256", "P-256")
    upload = random.Random(11).randbytes(300)
    download = random.Random(12).randbytes(MIB)
    epochs: list[int] = []

    def handler(tls: TLSSocket) -> bytes:
        got = read_exactly(tls, len(upload))
        tls.sendall(download)
        epochs.append(tls.connection.write_state.epoch)
        return got

    chain, key = pki13.identities["rsa"]
    config = our_config(case, certificate_chain=chain, private_key=key, key_update_after=10)
    with OurServer(config, handler) as server:
        peer = s_client13(pki13, server.port, case, upload)
        try:
            server.thread.join(TIMEOUT)
            code = peer.finish()
        finally:
            peer.stop()
    assert not server.errors, server.errors
    assert hashlib.sha256(bytes(peer.output)).digest() == hashlib.sha256(download).digest()
    assert code == 0 and epochs[0] >= 2 + (MIB // 16384) // 10


def test_connect_key_update_flag_against_s_server(pki13: Pki13) -> None:
    from tests.helpers.peers import run_connect

    case = Case13("TLS_AES_128_GCM_SHA256", "x25519")
    peer, port = s_server13(pki13, case, ["-rev", "-msg"])
    try:
        out = run_connect([f"localhost:{port}", "--cafile", str(pki13.ca), "--key-update", "--wait", "3"],
                          stdin=b"hello\n")
        peer.wait_for("CONNECTION CLOSED")
    finally:
        peer.stop()
    status = out.stderr.decode()
    assert out.returncode == 0, status
    assert "KeyUpdate sent (update_requested): client application traffic secret 1 (epoch 3)" in status
    assert out.stdout == b"olleh\n"
    assert "<<< TLS 1.3, Handshake [length 0005], KeyUpdate" in peer.text()


# ------------------------------------------------------------------------------- padding (RFC 9846 §5.4)


def test_client_record_padding_against_s_server(pki13: Pki13) -> None:
    """record_padding=700: every application data record we send carries a TLSInnerPlaintext of a multiple of 700
    bytes (seen on the wire as ciphertext length - 16), and s_server strips the zeros: the lines come back intact."""
    case = Case13("TLS_AES_128_GCM_SHA256", "x25519")
    lines = line_payload(40 * 1023, seed=5).splitlines(keepends=True)
    peer, port = s_server13(pki13, case, ["-rev"])
    sent = bytearray()
    try:
        config = our_config(case, cafile=str(pki13.ca), server_name="localhost", record_padding=700)
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT,
                               on_wire=lambda d, data: sent.extend(data) if d == "out" else None) as tls:
            start = len(sent)
            received = b""
            for line in lines:  # one record per line
                tls.sendall(line)
                received += read_exactly(tls, len(line))
            application = records(bytes(sent[start:]))
        peer.wait_for("CONNECTION CLOSED")
    finally:
        peer.stop()
    assert received == reversed_lines(b"".join(lines))
    inner = [len(fragment) - 16 for kind, fragment in application if kind == ContentType.APPLICATION_DATA]
    assert len(inner) == len(lines) and all(size == 1400 for size in inner)  # 1023 + the type byte + 376 zeros
