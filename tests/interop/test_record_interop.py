"""Live check against OpenSSL (through CPython's ``ssl``): our record layer opens every protected record
that OpenSSL writes, in both directions.

A client and a server SSLObject talk over MemoryBIOs; we keep every byte each side sent. The client
context writes an NSS key log (``keylog_filename``). From it and the randoms in the ClientHello /
ServerHello we derive the connection keys (a small PRF / HKDF-Expand-Label written here, independent of
tlsstate's key schedule), then open every record after ChangeCipherSpec (TLS ≤ 1.2) or after
ServerHello (TLS 1.3) with tlsstate's HalfConnection and compare with the data that was sent.
"""

from __future__ import annotations

import datetime
import hmac
import json
import os
import ssl
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tlsstate.crypto import suites
from tlsstate.record import Deframer, HalfConnection, Record
from tlsstate.record.protection import make_protection, make_tls13_protection

pytestmark = pytest.mark.interop

OP_NO_ENCRYPT_THEN_MAC = 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC (OpenSSL 1.1.1 / 3.x)
PAYLOADS = [b"x", b"GET / HTTP/1.1\r\n\r\n", bytes(range(256)) * 4, bytes(16384), b"\xab" * 20000]


# ------------------------------------------------------------------ independent key derivation


def _p_hash(name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    out, a = b"", seed
    while len(out) < length:
        a = hmac.new(secret, a, name).digest()
        out += hmac.new(secret, a + seed, name).digest()
    return out[:length]


def _prf(version: int, prf_hash: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """RFC 2246 §5 (TLS 1.0/1.1: P_MD5 xor P_SHA1) and RFC 5246 §5 (TLS 1.2)."""
    if version >= 0x0303:
        return _p_hash(prf_hash, secret, label + seed, length)
    half = (len(secret) + 1) // 2
    md5 = _p_hash("md5", secret[:half], label + seed, length)
    sha1 = _p_hash("sha1", secret[-half:], label + seed, length)
    return bytes(a ^ b for a, b in zip(md5, sha1, strict=True))


def _expand_label(hash_name: str, secret: bytes, label: bytes, length: int) -> bytes:
    """HKDF-Expand-Label(secret, label, "", length) (RFC 8446 §7.1), via HKDF-Expand (RFC 5869 §2.3)."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), hash_name).digest()
        out += block
        counter += 1
    return out[:length]


# ------------------------------------------------------------------ a loopback TLS pair


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("cert")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Transcript:
    client_to_server: bytes
    server_to_client: bytes
    keylog: str
    sent_by_client: bytes
    sent_by_server: bytes


def _run(certificate: tuple[Path, Path], tmp_path: Path, version: ssl.TLSVersion, ciphers: str | None,
         options: int = 0) -> Transcript:
    keylog = tmp_path / "keys.log"
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(*certificate)
    for ctx in (client_ctx, server_ctx):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 / 1.1 on purpose
            ctx.minimum_version = ctx.maximum_version = version
        if ciphers:
            ctx.set_ciphers(ciphers)
        ctx.options |= options
    client_ctx.keylog_filename = str(keylog)
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = client_ctx.wrap_bio(bios[0], bios[1])
    server = server_ctx.wrap_bio(bios[2], bios[3], server_side=True)
    c2s, s2c = bytearray(), bytearray()

    def pump() -> None:
        data = bios[1].read()
        c2s.extend(data)
        bios[2].write(data)
        data = bios[3].read()
        s2c.extend(data)
        bios[0].write(data)

    def step(action: Callable[[], object]) -> bool:
        try:
            action()
            return True
        except ssl.SSLWantReadError:
            return False

    done = [False, False]
    for _ in range(20):
        done = [done[0] or step(client.do_handshake), done[1] or step(server.do_handshake)]
        pump()
        if all(done):
            break
    assert all(done), "handshake did not finish"

    def move(writer: ssl.SSLObject, reader: ssl.SSLObject, data: bytes) -> None:
        writer.write(data)
        pump()
        got = bytearray()
        for _ in range(100):
            try:
                got += reader.read(65536)
            except ssl.SSLWantReadError:
                pump()
                if len(got) >= len(data):
                    break
        assert bytes(got) == data

    for payload in PAYLOADS:
        move(client, server, payload)
        move(server, client, payload[::-1])
    pump()
    return Transcript(bytes(c2s), bytes(s2c), keylog.read_text(),
                      b"".join(PAYLOADS), b"".join(p[::-1] for p in PAYLOADS))


def _records(stream: bytes) -> list[Record]:
    deframer = Deframer()
    deframer.feed(stream)
    records = list(deframer)
    assert deframer.buffered == 0
    return records


@dataclass
class Hellos:
    client_random: bytes
    server_random: bytes
    suite: suites.CipherSuite
    encrypt_then_mac: bool


def _hellos(t: Transcript) -> Hellos:
    client_hello = _records(t.client_to_server)[0].fragment
    assert client_hello[0] == 1
    server_hello = _records(t.server_to_client)[0].fragment
    assert server_hello[0] == 2
    body = server_hello[4:]
    session_id_length = body[34]
    position = 35 + session_id_length
    suite = suites.by_id(int.from_bytes(body[position : position + 2], "big"))
    assert suite is not None
    position += 3
    extensions: set[int] = set()
    if position < len(body):
        end = position + 2 + int.from_bytes(body[position : position + 2], "big")
        position += 2
        while position < end:
            extensions.add(int.from_bytes(body[position : position + 2], "big"))
            position += 4 + int.from_bytes(body[position + 2 : position + 4], "big")
    return Hellos(client_hello[6:38], body[2:34], suite, 22 in extensions)


def _keylog(text: str, label: str, client_random: bytes) -> bytes:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == label and parts[1] == client_random.hex():
            return bytes.fromhex(parts[2])
    raise AssertionError(f"{label} not in key log")


def _open_tls12(records: list[Record], state: HalfConnection) -> bytes:
    """Open everything after ChangeCipherSpec; the first record is Finished, the rest application data."""
    application = bytearray()
    protected = 0
    for record in records:
        if record.content_type == 20:
            state.activate_pending()
            continue
        if state.epoch == 0:
            continue
        content_type, plaintext = state.open(record)
        if protected == 0:
            assert content_type == 22 and plaintext[0] == 20  # Finished
        else:
            assert content_type == 23
            application += plaintext
        protected += 1
    assert state.epoch == 1 and protected >= 2
    return bytes(application)


TLS12_CASES = [
    ("ECDHE-RSA-AES128-GCM-SHA256", ssl.TLSVersion.TLSv1_2, 0, 0xC02F, False),
    ("ECDHE-RSA-AES256-GCM-SHA384", ssl.TLSVersion.TLSv1_2, 0, 0xC030, False),
    ("ECDHE-RSA-CHACHA20-POLY1305", ssl.TLSVersion.TLSv1_2, 0, 0xCCA8, False),
    ("AES128-SHA:@SECLEVEL=0", ssl.TLSVersion.TLSv1_2, OP_NO_ENCRYPT_THEN_MAC, 0x002F, False),
    ("AES128-SHA:@SECLEVEL=0", ssl.TLSVersion.TLSv1_2, 0, 0x002F, True),
    ("ECDHE-RSA-AES256-SHA384", ssl.TLSVersion.TLSv1_2, OP_NO_ENCRYPT_THEN_MAC, 0xC028, False),
    ("AES128-SHA:@SECLEVEL=0", ssl.TLSVersion.TLSv1, OP_NO_ENCRYPT_THEN_MAC, 0x002F, False),
    ("AES128-SHA:@SECLEVEL=0", ssl.TLSVersion.TLSv1, 0, 0x002F, True),
    ("AES256-SHA:@SECLEVEL=0", ssl.TLSVersion.TLSv1_1, OP_NO_ENCRYPT_THEN_MAC, 0x0035, False),
    ("AES256-SHA:@SECLEVEL=0", ssl.TLSVersion.TLSv1_1, 0, 0x0035, True),
    ("AES128-SHA256:@SECLEVEL=0", ssl.TLSVersion.TLSv1_2, OP_NO_ENCRYPT_THEN_MAC, 0x003C, False),
    ("AES128-CCM:@SECLEVEL=0", ssl.TLSVersion.TLSv1_2, 0, 0xC09C, False),
    ("AES256-CCM8:@SECLEVEL=0", ssl.TLSVersion.TLSv1_2, 0, 0xC0A1, False),
]  # (3DES: this OpenSSL build offers no 3DES suite at any security level, so no live 3DES check)


@pytest.mark.parametrize(("ciphers", "version", "options", "suite_id", "etm"), TLS12_CASES,
                         ids=[f"{c[0].split(':')[0]}-{c[1].name}-{'etm' if c[4] else 'mte'}" for c in TLS12_CASES])
def test_open_openssl_tls12_records(certificate: tuple[Path, Path], tmp_path: Path, ciphers: str,
                                    version: ssl.TLSVersion, options: int, suite_id: int, etm: bool) -> None:
    try:
        transcript = _run(certificate, tmp_path, version, ciphers, options)
    except ssl.SSLError as exc:
        pytest.skip(f"this OpenSSL build refuses {ciphers} / {version.name}: {exc}")
    hellos = _hellos(transcript)
    assert hellos.suite.id == suite_id and hellos.encrypt_then_mac == etm
    wire_version = {ssl.TLSVersion.TLSv1: 0x0301, ssl.TLSVersion.TLSv1_1: 0x0302}.get(version, 0x0303)
    suite = hellos.suite
    master = _keylog(transcript.keylog, "CLIENT_RANDOM", hellos.client_random)
    block = _prf(wire_version, suite.prf_hash, master, b"key expansion", hellos.server_random + hellos.client_random,
                 suite.key_block_length(wire_version))
    mac, key, iv = suite.mac_key_length(), suite.cipher.key_length, suite.iv_length(wire_version)
    pieces, offset = [], 0
    for size in (mac, mac, key, key, iv, iv):
        pieces.append(block[offset : offset + size])
        offset += size
    client_mac, server_mac, client_key, server_key, client_iv, server_iv = pieces
    client_state, server_state = HalfConnection("client"), HalfConnection("server")
    client_state.set_pending(make_protection(suite, wire_version, client_mac, client_key, client_iv,
                                             encrypt_then_mac=hellos.encrypt_then_mac))
    server_state.set_pending(make_protection(suite, wire_version, server_mac, server_key, server_iv,
                                             encrypt_then_mac=hellos.encrypt_then_mac))
    assert _open_tls12(_records(transcript.client_to_server), client_state) == transcript.sent_by_client
    assert _open_tls12(_records(transcript.server_to_client), server_state) == transcript.sent_by_server
    # the zero-copy path on the same OpenSSL bytes: written into Deframer.receive_buffer in odd-sized pieces
    # (as socket.recv_into would), opened with open_next_into into one reused buffer
    zero_copy_state = HalfConnection("server")
    zero_copy_state.set_pending(make_protection(suite, wire_version, server_mac, server_key, server_iv,
                                                encrypt_then_mac=hellos.encrypt_then_mac))
    assert _open_tls12_zero_copy(transcript.server_to_client, zero_copy_state) == transcript.sent_by_server


def _open_tls12_zero_copy(stream: bytes, state: HalfConnection) -> bytes:
    deframer, out, application = Deframer(), bytearray(2**14), bytearray()
    position, piece = 0, 0
    while position < len(stream):
        piece = piece % 5000 + 1237
        chunk = stream[position : position + piece]
        view = deframer.receive_buffer(len(chunk))
        view[: len(chunk)] = chunk
        deframer.received(len(chunk))
        position += len(chunk)
        while True:
            if state.epoch == 0:  # plaintext handshake records up to ChangeCipherSpec
                record = deframer.next_record()
                if record is None:
                    break
                if record.content_type == 20:
                    state.activate_pending()
                continue
            opened = state.open_next_into(deframer, out)
            if opened is None:
                break
            content_type, _version, size = opened
            if content_type == 23:
                application += out[:size]
    return bytes(application)


TLS13_SUITES = [
    (0x1301, "TLS_AES_128_GCM_SHA256"),
    (0x1302, "TLS_AES_256_GCM_SHA384"),
    (0x1303, "TLS_CHACHA20_POLY1305_SHA256"),
    (0x1304, "TLS_AES_128_CCM_SHA256"),
    (0x1305, "TLS_AES_128_CCM_8_SHA256"),
]
OPENSSL_CONF = """openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = {suite}
"""
CHILD = """
import json, ssl, sys
from pathlib import Path
sys.path.insert(0, sys.argv[4])
from tests.interop.test_record_interop import _run
t = _run((Path(sys.argv[1]), Path(sys.argv[2])), Path(sys.argv[3]), ssl.TLSVersion.TLSv1_3, None)
print(json.dumps({k: (v.hex() if isinstance(v, bytes) else v) for k, v in vars(t).items()}))
"""


def _run_tls13_child(certificate: tuple[Path, Path], tmp_path: Path, suite_name: str) -> Transcript:
    """CPython cannot choose TLS 1.3 suites; an OpenSSL config file (OPENSSL_CONF) in a child process can."""
    conf = tmp_path / "openssl.cnf"
    conf.write_text(OPENSSL_CONF.format(suite=suite_name))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(certificate[0]), str(certificate[1]), str(tmp_path),
         str(Path(__file__).resolve().parents[2])],
        env={**os.environ, "OPENSSL_CONF": str(conf)}, capture_output=True, text=True, timeout=120, check=False,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    fields = json.loads(child.stdout)
    return Transcript(**{k: (v if k == "keylog" else bytes.fromhex(v)) for k, v in fields.items()})


@pytest.mark.parametrize(("suite_id", "suite_name"), TLS13_SUITES, ids=[n for _, n in TLS13_SUITES])
def test_open_openssl_tls13_records(certificate: tuple[Path, Path], tmp_path: Path, suite_id: int,
                                    suite_name: str) -> None:
    transcript = _run_tls13_child(certificate, tmp_path, suite_name)
    hellos = _hellos(transcript)
    assert hellos.suite.id == suite_id
    _check_tls13(transcript, hellos)


def test_open_openssl_tls13_default_suite(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    """In-process, OpenSSL's default TLS 1.3 choice."""
    transcript = _run(certificate, tmp_path, ssl.TLSVersion.TLSv1_3, None)
    hellos = _hellos(transcript)
    assert hellos.suite.is_tls13
    _check_tls13(transcript, hellos)


def _check_tls13(transcript: Transcript, hellos: Hellos) -> None:
    """Open every record after the hellos: handshake keys until our Finished, then application keys."""
    suite = hellos.suite
    hash_name = suite.prf_hash
    key_length = suite.cipher.key_length

    def state(writer: str, label: str) -> HalfConnection:
        secret = _keylog(transcript.keylog, label, hellos.client_random)
        half = HalfConnection(writer)
        half.activate_tls13(make_tls13_protection(suite, _expand_label(hash_name, secret, b"key", key_length),
                                                  _expand_label(hash_name, secret, b"iv", 12)))
        return half

    for stream, writer, sent in (
        (transcript.client_to_server, "client", transcript.sent_by_client),
        (transcript.server_to_client, "server", transcript.sent_by_server),
    ):
        upper = writer.upper()
        records = _records(stream)[1:]  # after the ClientHello / ServerHello
        current = state(writer, f"{upper}_HANDSHAKE_TRAFFIC_SECRET")
        handshake, application = bytearray(), bytearray()
        for record in records:
            content_type, plaintext = current.open(record)
            if content_type == 20:  # middlebox-compatibility change_cipher_spec, passed through
                continue
            if content_type == 22:
                handshake += plaintext
                while len(handshake) >= 4 and len(handshake) >= 4 + int.from_bytes(handshake[1:4], "big"):
                    message_type = handshake[0]
                    del handshake[: 4 + int.from_bytes(handshake[1:4], "big")]
                    if message_type == 20 and current.epoch == 1:  # our Finished: switch to application keys
                        current = state(writer, f"{upper}_TRAFFIC_SECRET_0")
            else:
                assert content_type == 23
                application += plaintext
        assert current.epoch == 1 and bytes(application) == sent
