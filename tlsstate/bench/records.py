"""Record-layer throughput: tlsstate vs. the raw pyca primitive vs. CPython ``ssl`` (OpenSSL).

For one suite and record size, each contender moves the same bytes through "seal on one side, open on
the other", single-threaded:

* ``tlsstate`` — the default bytes API: ``HalfConnection.seal`` (whole record with header) →
  ``Deframer.feed`` → ``HalfConnection.open_next`` (header checks, sequence number, integrity,
  plaintext length: RFC 5246 §6.2 / RFC 7366 / RFC 5288 / RFC 7905);
* ``tlsstate_into`` — the zero-copy API: ``HalfConnection.seal_into`` the reading Deframer's
  ``receive_buffer`` → ``received`` → ``HalfConnection.open_next_into`` one reused plaintext buffer
  (pyca ``encrypt_into`` / ``decrypt_into`` for the AEADs);
* ``connection`` — the whole sans-I/O ``Connection`` pair (handshaken in memory to the same suite):
  ``send_data`` → ``bytes_to_send`` → ``receive_bytes`` → ``next_event``, the per-record work of TLSSocket;
* ``raw`` — the pyca primitive doing the same cryptographic work with no record layer: one AEAD
  encrypt + decrypt with a fresh (sequence-number XOR IV) nonce per record, as any record layer must use, or for
  CBC-SHA AES-CBC encrypt/decrypt + HMAC-SHA1 compute/verify (no header, no Lucky 13 dummy hashing);
* ``ssl`` — two CPython ``ssl.SSLObject`` over ``MemoryBIO`` pairs negotiated to the same suite in
  TLS 1.2: ``write`` on the client, move the bytes, ``read`` on the server.

The ``TLS13-*`` suites do the same in TLS 1.3 (RFC 9846 §5.2: TLSInnerPlaintext with its content type, the
5-byte header as additional data, per-record nonce from the traffic IV). CPython ``ssl`` cannot choose a TLS 1.3
suite (OpenSSL's default order gives TLS_AES_256_GCM_SHA384); when it negotiates another suite than the row's,
``ssl_suite`` says which and ``ratio_vs_ssl`` is None. OpenSSL's configuration chooses them for the whole process:
``OPENSSL_CONF=benchmarks/openssl-tls13-aes128.cnf tlsstate speed --suite TLS13-AES-128-GCM`` (docs/performance.md).

Measurements are interleaved: within each measurement the contenders alternate in short batches
(about a millisecond each), every repetition covers every suite and size, and the median over ``repeat``
repetitions is reported in MB/s (10^6 bytes of application data per second). Many short
repetitions (the default 9 x 0.15 s) make the ratios robust when other processes share the CPU: each
contender sees the same mix of quiet and busy moments.
"""

from __future__ import annotations

import datetime
import itertools
import os
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.x509.oid import NameOID

from tlsstate.crypto import suites
from tlsstate.crypto.schedule13 import TLS13_IV_LENGTH
from tlsstate.record import Deframer, HalfConnection
from tlsstate.record.keying import tls13_protection_for
from tlsstate.record.protection import make_protection, xor_nonce
from tlsstate.wire.constants import ProtocolVersion

OP_NO_ENCRYPT_THEN_MAC = 0x00080000  # SSL_OP_NO_ENCRYPT_THEN_MAC (OpenSSL 1.1.1 / 3.x)
TLS12, TLS13 = ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3
DEFAULT_SIZES = (16384, 1024, 64)

Step = Callable[[], None]


@dataclass(frozen=True)
class BenchSuite:
    """One benchmarked configuration."""

    label: str
    suite_id: int  # ECDHE-ECDSA suite: same record protection as the RSA ones, cheaper test certificate
    openssl_name: str
    encrypt_then_mac: bool = False
    version: ProtocolVersion = TLS12

    @property
    def suite(self) -> suites.CipherSuite:
        """The cipher suite record protection is made for."""
        found = suites.by_id(self.suite_id)
        assert found is not None
        return found


BENCH_SUITES: tuple[BenchSuite, ...] = (
    BenchSuite("AES-128-GCM", 0xC02B, "ECDHE-ECDSA-AES128-GCM-SHA256"),
    BenchSuite("AES-256-GCM", 0xC02C, "ECDHE-ECDSA-AES256-GCM-SHA384"),
    BenchSuite("CHACHA20-POLY1305", 0xCCA9, "ECDHE-ECDSA-CHACHA20-POLY1305"),
    BenchSuite("AES-128-CBC-SHA", 0xC009, "ECDHE-ECDSA-AES128-SHA"),
    BenchSuite("AES-128-CBC-SHA-EtM", 0xC009, "ECDHE-ECDSA-AES128-SHA", encrypt_then_mac=True),
    BenchSuite("TLS13-AES-128-GCM", 0x1301, "TLS_AES_128_GCM_SHA256", version=TLS13),
    BenchSuite("TLS13-AES-256-GCM", 0x1302, "TLS_AES_256_GCM_SHA384", version=TLS13),
    BenchSuite("TLS13-CHACHA20-POLY1305", 0x1303, "TLS_CHACHA20_POLY1305_SHA256", version=TLS13),
)


def suite_labels() -> list[str]:
    """Names accepted by ``--suite``."""
    return [s.label for s in BENCH_SUITES]


# ------------------------------------------------------------------------------ contenders


def _tlsstate_states(bench: BenchSuite) -> tuple[HalfConnection, HalfConnection]:
    """A writer and a reader sharing one direction's keys (the client's), as the two ends of a connection: TLS 1.2
    keys as a key block gives them, TLS 1.3 as a traffic secret does (RFC 9846 §7.3: a key and a 12-byte IV)."""
    suite = bench.suite
    key = os.urandom(suite.cipher.key_length)
    writer, reader = HalfConnection("client"), HalfConnection("client")
    if bench.version == TLS13:
        iv = os.urandom(TLS13_IV_LENGTH)
        for state in (writer, reader):
            state.activate_tls13(tls13_protection_for(suite, key, iv))
        return writer, reader
    mac_key = os.urandom(suite.mac_key_length())
    iv = os.urandom(suite.iv_length(TLS12))
    for state in (writer, reader):
        state.set_pending(make_protection(suite, TLS12, mac_key, key, iv, encrypt_then_mac=bench.encrypt_then_mac))
        state.activate_pending()
    return writer, reader


def tlsstate_step(bench: BenchSuite, data: bytes) -> Step:
    """Seal a record (bytes), feed it to a Deframer and open it (bytes): the default API."""
    writer, reader = _tlsstate_states(bench)
    deframer = Deframer()
    seal, feed, open_next = writer.seal, deframer.feed, reader.open_next

    def step() -> None:
        feed(seal(23, 0x0303, data))
        open_next(deframer)

    step()
    feed(seal(23, 0x0303, data))
    if open_next(deframer) != (23, 0x0303, data) or deframer.buffered:
        raise AssertionError("tlsstate round trip failed")
    return step


def tlsstate_into_step(bench: BenchSuite, data: bytes) -> Step:
    """The zero-copy API: seal into the reading Deframer's receive buffer, open into a reused buffer."""
    writer, reader = _tlsstate_states(bench)
    deframer = Deframer()
    out = bytearray(reader.open_buffer_length)
    bound = writer.sealed_size_bound(len(data))
    seal_into, receive_buffer, received, open_next_into = (
        writer.seal_into, deframer.receive_buffer, deframer.received, reader.open_next_into
    )

    def step() -> None:
        received(seal_into(23, 0x0303, data, receive_buffer(bound)))
        open_next_into(deframer, out)

    step()
    received(seal_into(23, 0x0303, data, receive_buffer(bound)))
    if open_next_into(deframer, out) != (23, 0x0303, len(data)) or out[: len(data)] != data or deframer.buffered:
        raise AssertionError("tlsstate zero-copy round trip failed")
    return step


def connection_step(bench: BenchSuite, data: bytes, certificate: tuple[str, str]) -> Step:
    """The whole sans-I/O connection, handshaken in memory to the same suite (ECDHE, TLS 1.2 or 1.3): client
    ``send_data`` → ``bytes_to_send`` → server ``receive_bytes`` → ``next_event`` until the data is back.
    This is what TLSSocket and the asyncio streams run per record; the same shape as the ssl contender."""
    from tlsstate.config import TLSConfig
    from tlsstate.connection import Connection
    from tlsstate.crypto.certs import load_certificates, load_private_key
    from tlsstate.events import ApplicationData

    suite = bench.suite
    versions = {"min_version": bench.version, "max_version": bench.version}
    client = Connection(TLSConfig(verify=False, cipher_suites=[suite], encrypt_then_mac=bench.encrypt_then_mac,
                                  **versions), server_side=False)  # type: ignore[arg-type]
    key = load_private_key(Path(certificate[1]))
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # make_certificate's P-256 key
    server = Connection(TLSConfig(certificate_chain=load_certificates(Path(certificate[0])), private_key=key,
                                  cipher_suites=[suite], encrypt_then_mac=bench.encrypt_then_mac, **versions),  # type: ignore[arg-type]
                        server_side=True)
    client.start_handshake()
    for _ in range(10):
        server.receive_bytes(client.bytes_to_send())
        while server.next_event() is not None:
            pass
        client.receive_bytes(server.bytes_to_send())
        while client.next_event() is not None:
            pass
        if client.handshake_complete and server.handshake_complete:
            break
    info = client.handshake_info
    if info is None or info.cipher_suite.id != bench.suite_id or info.encrypt_then_mac != bench.encrypt_then_mac:
        raise RuntimeError(f"in-memory handshake for {bench.label} did not negotiate it: {info}")
    send, to_send, receive, next_event = client.send_data, client.bytes_to_send, server.receive_bytes, server.next_event
    size = len(data)

    def step() -> None:
        send(data)
        receive(to_send())
        got = 0
        while got < size:
            event = next_event()
            if isinstance(event, ApplicationData):
                got += len(event.data)
            elif event is None:
                raise AssertionError("connection lost data")

    step()
    return step


def raw_step(bench: BenchSuite, data: bytes) -> Step:
    """The same cryptographic work with the pyca primitive only."""
    if "GCM" in bench.label or "CHACHA" in bench.label:
        key_length = bench.suite.cipher.key_length
        aead: AESGCM | ChaCha20Poly1305 = (
            ChaCha20Poly1305(os.urandom(32)) if "CHACHA" in bench.label else AESGCM(os.urandom(key_length))
        )
        aad = os.urandom(5 if bench.version == TLS13 else 13)  # the record header; TLS 1.2: seq + header
        if bench.version == TLS13:
            data = data + b"\x17"  # TLSInnerPlaintext: the content type after the data (RFC 9846 §5.2)
        encrypt, decrypt = aead.encrypt, aead.decrypt
        nonce_for, counter = xor_nonce(os.urandom(12), "raw contender"), itertools.count()

        def aead_step() -> None:
            nonce = nonce_for(next(counter))  # a fresh nonce per record, as a record layer must use
            decrypt(nonce, encrypt(nonce, data, aad), aad)

        return aead_step
    cipher = Cipher(algorithms.AES(os.urandom(16)), modes.CBC(os.urandom(16)))
    encryptor, decryptor = cipher.encryptor(), cipher.decryptor()
    mac_template = hmac.HMAC(os.urandom(20), hashes.SHA1())
    padding_length = 16 - (len(data) + 20) % 16
    padding = bytes([padding_length - 1]) * padding_length
    etm_padding_length = 16 - len(data) % 16
    etm_padding = bytes([etm_padding_length - 1]) * etm_padding_length

    if bench.encrypt_then_mac:

        def etm_step() -> None:
            mac = mac_template.copy()
            ciphertext = encryptor.update(data + etm_padding)
            mac.update(ciphertext)
            tag = mac.finalize()
            check = mac_template.copy()
            check.update(ciphertext)
            check.verify(tag)
            decryptor.update(ciphertext)

        return etm_step

    def mte_step() -> None:
        mac = mac_template.copy()
        mac.update(data)
        ciphertext = encryptor.update(data + mac.finalize() + padding)
        plaintext = decryptor.update(ciphertext)
        check = mac_template.copy()
        check.update(plaintext[: len(data)])
        check.verify(plaintext[len(data) : len(data) + 20])

    return mte_step


class SslPair:
    """A CPython ssl client/server pair over MemoryBIOs, handshaken to one TLS 1.2 suite, or to TLS 1.3 with the
    suite OpenSSL's configuration gives (``suite``: what was negotiated)."""

    def __init__(self, bench: BenchSuite, certificate: tuple[str, str]) -> None:
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.check_hostname = False
        client_ctx.verify_mode = ssl.CERT_NONE
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(*certificate)
        tls13 = bench.version == TLS13
        for ctx in (client_ctx, server_ctx):
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if tls13 else ssl.TLSVersion.TLSv1_2
            if tls13:
                continue  # no API for TLS 1.3 suites (OpenSSL's configuration decides)
            ctx.set_ciphers(bench.openssl_name)
            if not bench.encrypt_then_mac:
                ctx.options |= OP_NO_ENCRYPT_THEN_MAC
        self._bios = [ssl.MemoryBIO() for _ in range(4)]
        self.client = client_ctx.wrap_bio(self._bios[0], self._bios[1])
        self.server = server_ctx.wrap_bio(self._bios[2], self._bios[3], server_side=True)
        done = [False, False]
        for _ in range(20):
            done = [done[0] or self._try(self.client.do_handshake), done[1] or self._try(self.server.do_handshake)]
            self._pump()
            if all(done):
                break
        if not all(done):
            raise RuntimeError(f"ssl handshake for {bench.openssl_name} did not complete")
        cipher = self.client.cipher()
        if cipher is None or (cipher[0] != bench.openssl_name and not tls13) or self.client.version() != (
                "TLSv1.3" if tls13 else "TLSv1.2"):
            raise RuntimeError(f"ssl negotiated {cipher}, not {bench.openssl_name}")
        self.suite: str = cipher[0]

    @staticmethod
    def _try(action: Callable[[], object]) -> bool:
        try:
            action()
            return True
        except ssl.SSLWantReadError:
            return False

    def _pump(self) -> None:
        self._bios[2].write(self._bios[1].read())
        self._bios[0].write(self._bios[3].read())

    def step(self, data: bytes) -> Step:
        """Write on the client, move the bytes, read everything on the server."""
        write, read = self.client.write, self.server.read
        outgoing, incoming = self._bios[1], self._bios[2]
        size = len(data)

        def ssl_step() -> None:
            write(data)
            incoming.write(outgoing.read())
            got = 0
            while got < size:
                got += len(read(size - got))

        ssl_step()
        return ssl_step


def make_certificate(folder: str) -> tuple[str, str]:
    """A throwaway self-signed P-256 certificate for the ssl server."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tlsstate-bench")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )
    cert_path, key_path = Path(folder) / "cert.pem", Path(folder) / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


# ------------------------------------------------------------------------------ timing


def measure_interleaved(contenders: dict[str, Step], record_size: int, seconds: float) -> dict[str, float]:
    """MB/s of application data for each contender, run in alternating short batches for about
    ``seconds`` each, so that all of them see the same CPU conditions (other processes, frequency)."""
    batch = max(1, min(1000, 1_000_000 // max(record_size, 64)))
    elapsed = dict.fromkeys(contenders, 0.0)
    counts = dict.fromkeys(contenders, 0)
    clock = time.perf_counter
    deadline = clock() + seconds * len(contenders)
    while True:
        for name, step in contenders.items():
            start = clock()
            for _ in range(batch):
                step()
            elapsed[name] += clock() - start
            counts[name] += batch
        if clock() >= deadline:
            break
    return {name: counts[name] * record_size / elapsed[name] / 1e6 for name in contenders}


def run_record_bench(
    *,
    suite_names: Sequence[str] | None = None,
    sizes: Sequence[int] = DEFAULT_SIZES,
    repeat: int = 9,
    seconds: float = 0.15,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the interleaved benchmark; one dict per (suite, size) with medians and ratios."""
    chosen = [s for s in BENCH_SUITES if suite_names is None or s.label in suite_names]
    samples: dict[tuple[str, int], dict[str, list[float]]] = {}
    ssl_suites: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        certificate = make_certificate(folder)
        steps: dict[tuple[str, int], dict[str, Step]] = {}
        for bench in chosen:
            pair = SslPair(bench, certificate)
            ssl_suites[bench.label] = pair.suite
            for size in sizes:
                data = os.urandom(size)
                steps[(bench.label, size)] = {
                    "tlsstate": tlsstate_step(bench, data),
                    "tlsstate_into": tlsstate_into_step(bench, data),
                    "connection": connection_step(bench, data, certificate),
                    "raw": raw_step(bench, data),
                    "ssl": pair.step(data),
                }
                samples[(bench.label, size)] = {name: [] for name in steps[(bench.label, size)]}
        for repetition in range(repeat):
            for key, contenders in steps.items():
                if progress is not None:
                    progress(f"repetition {repetition + 1}/{repeat}: {key[0]} {key[1]} B")
                for name, rate in measure_interleaved(contenders, key[1], seconds).items():
                    samples[key][name].append(rate)
    results: list[dict[str, Any]] = []
    names = {s.label: s.openssl_name for s in BENCH_SUITES}
    for (label, size), by_name in samples.items():
        ours, zero_copy, connection, theirs, raw = (
            statistics.median(by_name[n]) for n in ("tlsstate", "tlsstate_into", "connection", "ssl", "raw")
        )
        same_suite = ssl_suites[label] == names[label]
        results.append({
            "benchmark": "records",
            "suite": label,
            "record_size": size,
            "tlsstate_mb_s": round(ours, 1),
            "tlsstate_into_mb_s": round(zero_copy, 1),
            "tlsstate_connection_mb_s": round(connection, 1),
            "ssl_mb_s": round(theirs, 1),
            "raw_mb_s": round(raw, 1),
            "ratio_vs_ssl": round(ours / theirs, 3) if theirs and same_suite else None,
            "ssl_suite": ssl_suites[label],
            "ratio_vs_raw": round(ours / raw, 3) if raw else None,
            "repeat": repeat,
            "seconds": seconds,
        })
    return results
