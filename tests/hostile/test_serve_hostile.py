"""Hostile client against a real ``tlsstate serve`` process over loopback (RFC 5246 §6, §7.2, §7.4).

Each case sends exactly the bytes it names (tests/hostile/cases.py) and checks the alert description
the server sends, then that the server closes the connection and keeps serving others.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
from collections.abc import Callable, Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import generate_self_signed, write_pem_files
from tlsstate.crypto.suites import by_name
from tlsstate.handshake import client_states
from tlsstate.wire.constants import AlertDescription, NamedGroup, ProtocolVersion
from tlsstate.wire.messages import ClientHello, Extension

from .cases import ACCEPTED, AEAD, CLOSED, SERVER_CASES, SUITES, VERSIONS
from .peer import (
    ALERT,
    APPDATA,
    CCS,
    HANDSHAKE,
    HEARTBEAT,
    Outgoing,
    ScriptedPeer,
    ServeProcess,
    handshake,
    record,
    rss_kib,
)

EXPECTED = {case_id: alert for case_id, _, alert in SERVER_CASES}
ALL_SUITES = ",".join(name for name, _ in SUITES.values())


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, rsa.RSAPublicKey]:
    folder = tmp_path_factory.mktemp("hostile-pki")
    cert, key = generate_self_signed(["localhost", "127.0.0.1"], "rsa2048")
    write_pem_files(cert, key, folder / "c.pem", folder / "k.pem")
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return str(folder / "c.pem"), str(folder / "k.pem"), public


@pytest.fixture(scope="module")
def server(identity: tuple[str, str, rsa.RSAPublicKey]) -> Iterator[ServeProcess]:
    proc = ServeProcess(["--cert", identity[0], "--key", identity[1], "--versions", "tls1.0-tls1.2",
                         "--ciphers", ALL_SUITES, "--timeout", "5", "--handshake-timeout", "10"])
    try:
        yield proc
    finally:
        proc.stop()


def config(suite: str = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", version: int = 0x0303, etm: bool = False,
           **extra: object) -> TLSConfig:
    found = by_name(suite)
    assert found is not None
    cfg = TLSConfig(verify=False, server_name="localhost", cipher_suites=[found], encrypt_then_mac=etm,
                    min_version=ProtocolVersion(version), max_version=ProtocolVersion(version))
    for name, value in extra.items():
        setattr(cfg, name, value)
    return cfg


def still_serving(server: ServeProcess) -> None:
    """A well-behaved client completes a handshake and an echo round trip."""
    assert server.alive()
    with server.connect() as sock:
        peer = ScriptedPeer(sock, config(), server_side=False)
        peer.run(until=lambda o: o.handshake_complete)
        assert peer.outcome.handshake_complete, peer.outcome
        peer.conn.send_data(b"ping")
        peer.flush()
        peer.run(until=lambda o: o.received_plaintext == b"ping", max_steps=20)
        assert peer.outcome.received_plaintext == b"ping"


def expect_alert(peer: ScriptedPeer, alert: str) -> None:
    outcome = peer.run()
    peer.drain(3)
    assert outcome.alert is not None, f"no alert: {outcome}"
    assert AlertDescription(outcome.alert).label == alert, outcome
    assert outcome.closed, "server did not close after a fatal alert"


def run_tampered(server: ServeProcess, cfg: TLSConfig, tamper: Callable[[Outgoing], bytes]) -> ScriptedPeer:
    sock = server.connect()
    peer = ScriptedPeer(sock, cfg, server_side=False, tamper=tamper)
    peer.run()
    peer.drain(3)
    sock.close()
    return peer


def first_protected(edit: Callable[[bytes], bytes]) -> Callable[[Outgoing], bytes]:
    def tamper(out: Outgoing) -> bytes:
        if out.protected and out.content_type == HANDSHAKE:
            return edit(out.data)
        return out.data
    return tamper


def family_params() -> Iterator[object]:
    for fam, (suite, etm) in SUITES.items():
        for vname, version in VERSIONS.items():
            if (fam in AEAD or "SHA256" in suite) and version != 0x0303:
                continue
            yield pytest.param(suite, etm, version, id=f"{fam}-{vname}")


# ---------------------------------------------------------------- protected Finished record tampering

@pytest.mark.parametrize(("suite", "etm", "version"), list(family_params()))
def test_finished_record_bitflip(server: ServeProcess, suite: str, etm: bool, version: int) -> None:
    for where in ("first", "middle", "last"):
        def edit(rec: bytes, where: str = where) -> bytes:
            body = bytearray(rec[5:])
            index = {"first": 0, "middle": len(body) // 2, "last": len(body) - 1}[where]
            body[index] ^= 0x01
            return rec[:5] + bytes(body)
        peer = run_tampered(server, config(suite, version, etm), first_protected(edit))
        assert peer.outcome.alert is not None, (where, peer.outcome)
        assert AlertDescription(peer.outcome.alert).label == EXPECTED["finished-record-bitflip"], where
        assert peer.outcome.closed
    still_serving(server)


@pytest.mark.parametrize(("suite", "etm", "version"), list(family_params()))
def test_finished_record_truncated(server: ServeProcess, suite: str, etm: bool, version: int) -> None:
    def edit(rec: bytes) -> bytes:
        body = rec[5:-1]
        return rec[:3] + struct.pack(">H", len(body)) + body
    peer = run_tampered(server, config(suite, version, etm), first_protected(edit))
    assert peer.outcome.alert is not None and peer.outcome.closed, peer.outcome
    assert AlertDescription(peer.outcome.alert).label == EXPECTED["finished-record-truncated"]


# ---------------------------------------------------------------- hand-made CBC MtE records (RFC 5246 §6.2.3.2)

def cbc_mte_record(peer: ScriptedPeer, seq: int, content_type: int, plaintext: bytes, pad: bytes) -> bytes:
    """AES-128-CBC + HMAC-SHA1, TLS 1.2, built here from the RFC with pyca primitives, padding as given."""
    keys = peer.keys
    assert keys is not None
    header = struct.pack(">QBHH", seq, content_type, 0x0303, len(plaintext))
    mac = hmac.new(keys.client_write_mac_key, header + plaintext, hashlib.sha1).digest()
    data = plaintext + mac + pad
    assert len(data) % 16 == 0
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(keys.client_write_key), modes.CBC(iv)).encryptor()
    return record(content_type, iv + enc.update(data) + enc.finalize())


def run_resealed_finished(server: ServeProcess, pad_for: Callable[[int], bytes]) -> ScriptedPeer:
    """Handshake whose Finished record is resealed by hand with the padding ``pad_for(len(plaintext+mac))``."""
    sock = server.connect()
    peer = ScriptedPeer(sock, config("TLS_RSA_WITH_AES_128_CBC_SHA", etm=False), server_side=False)
    original = peer.conn.write_state.seal

    def seal(content_type: int, version: int, plaintext: bytes) -> bytes:
        if content_type == HANDSHAKE and peer.ccs_sent is False and peer.keys is not None and plaintext[0] == 20:
            return cbc_mte_record(peer, 0, content_type, plaintext, pad_for(len(plaintext) + 20))
        return original(content_type, version, plaintext)

    peer.conn.write_state.seal = seal  # type: ignore[method-assign]
    peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
    if not peer.outcome.handshake_complete:
        peer.drain(3)
    sock.close()
    return peer


def valid_pad(length: int) -> bytes:
    return bytes([length - 1]) * length


def test_cbc_padding_maximal_accepted(server: ServeProcess) -> None:
    assert EXPECTED["cbc-padding-maximal"] == ACCEPTED
    peer = run_resealed_finished(server, lambda n: valid_pad(251 + 1))  # 36 + 252 = 288
    assert peer.outcome.handshake_complete and peer.outcome.alert is None, peer.outcome


def test_cbc_padding_minimal_control(server: ServeProcess) -> None:
    peer = run_resealed_finished(server, lambda n: valid_pad(12))  # 36 + 12 = 48
    assert peer.outcome.handshake_complete and peer.outcome.alert is None, peer.outcome


def test_cbc_padding_last_byte_every_value(server: ServeProcess) -> None:
    """48-byte record: only the value 11 is valid; every other padding-length byte is bad_record_mac."""
    failures = {}
    for value in range(256):
        if value == 11:
            continue
        peer = run_resealed_finished(server, lambda n, v=value: bytes([11]) * 11 + bytes([v]))
        label = AlertDescription(peer.outcome.alert).label if peer.outcome.alert is not None else repr(peer.outcome)
        if label != EXPECTED["cbc-padding-last-byte"] or not peer.outcome.closed:
            failures[value] = label
    assert not failures


@pytest.mark.parametrize("pad_length", [12, 28, 252])
@pytest.mark.parametrize("wrong_at", [0, -2])
def test_cbc_padding_wrong_byte(server: ServeProcess, pad_length: int, wrong_at: int) -> None:
    def pad(n: int) -> bytes:
        data = bytearray(valid_pad(pad_length))
        data[wrong_at] ^= 0x80
        return bytes(data)
    peer = run_resealed_finished(server, pad)
    assert peer.outcome.alert is not None and peer.outcome.closed
    assert AlertDescription(peer.outcome.alert).label == EXPECTED["cbc-padding-wrong-byte"]


def test_cbc_padding_longer_than_record(server: ServeProcess) -> None:
    peer = run_resealed_finished(server, lambda n: bytes([255]) * 12)
    assert peer.outcome.alert is not None and peer.outcome.closed
    assert AlertDescription(peer.outcome.alert).label == EXPECTED["cbc-padding-longer-than-record"]


def test_cbc_zero_length_appdata_maximal_padding(server: ServeProcess) -> None:
    assert EXPECTED["cbc-zero-length-maximal-padding"] == ACCEPTED
    sock = server.connect()
    peer = ScriptedPeer(sock, config("TLS_RSA_WITH_AES_128_CBC_SHA", etm=False), server_side=False)
    peer.run(until=lambda o: o.handshake_complete)
    assert peer.outcome.handshake_complete
    peer.send_raw(cbc_mte_record(peer, 1, APPDATA, b"", valid_pad(236)))  # 20 + 236 = 256
    peer.send_raw(cbc_mte_record(peer, 2, APPDATA, b"echo", valid_pad(8)))  # 24 + 8 = 32
    peer.run(until=lambda o: bool(o.received_plaintext) or o.alert is not None, max_steps=20)
    sock.close()
    assert peer.outcome.alert is None and peer.outcome.received_plaintext == b"echo", peer.outcome


# ---------------------------------------------------------------- Finished plaintext and message order

def run_with_seal_hook(server: ServeProcess, hook: Callable[[ScriptedPeer, Callable[..., bytes], int, int, bytes], bytes],
                       cfg: TLSConfig | None = None) -> ScriptedPeer:
    sock = server.connect()
    peer = ScriptedPeer(sock, cfg or config(), server_side=False)
    original = peer.conn.write_state.seal

    def seal(content_type: int, version: int, plaintext: bytes) -> bytes:
        return hook(peer, original, content_type, version, plaintext)

    peer.conn.write_state.seal = seal  # type: ignore[method-assign]
    peer.run()
    peer.drain(3)
    sock.close()
    return peer


def on_finished(edit: Callable[[ScriptedPeer, Callable[..., bytes], int, bytes], bytes]) -> Callable[..., bytes]:
    def hook(peer: ScriptedPeer, seal: Callable[..., bytes], ct: int, version: int, pt: bytes) -> bytes:
        if ct == HANDSHAKE and pt[:1] == b"\x14" and peer.keys is not None:
            return edit(peer, seal, version, pt)
        return seal(ct, version, pt)
    return hook


@pytest.mark.parametrize(("case", "edit"), [
    ("finished-verify-data", lambda p, s, v, pt: s(HANDSHAKE, v, pt[:-1] + bytes([pt[-1] ^ 1]))),
    ("finished-wrong-length", lambda p, s, v, pt: s(HANDSHAKE, v, handshake(20, pt[4:-1]))),
    ("appdata-before-finished", lambda p, s, v, pt: s(APPDATA, v, b"early") + s(HANDSHAKE, v, pt)),
])
@pytest.mark.parametrize("suite", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"])
def test_finished_plaintext(server: ServeProcess, case: str, edit: Callable[..., bytes], suite: str) -> None:
    peer = run_with_seal_hook(server, on_finished(edit), config(suite))
    assert peer.outcome.alert is not None and peer.outcome.closed, peer.outcome
    assert AlertDescription(peer.outcome.alert).label == EXPECTED[case]


def reorder(case: str) -> Callable[[Outgoing], bytes]:
    def tamper(out: Outgoing) -> bytes:
        rec = out.data
        if case == "ccs-bad-payload" and out.content_type == CCS:
            return record(CCS, b"\x02")
        if case.split("/")[0] == "ccs-two-bytes" and out.content_type == CCS:
            return record(CCS, {"ccs-two-bytes": b"\x01\x01", "ccs-two-bytes/0": b"", "ccs-two-bytes/3": b"\x01" * 3}[case])
        if case.split("/")[0] == "record-version-first-any-minor" and out.index == 0:
            return rec[:1] + bytes.fromhex(case.split("/")[1]) + rec[3:]
        if case == "record-version-later-bad" and out.content_type == HANDSHAKE and not out.protected and rec[5] == 16:
            return rec[:1] + b"\x03\xfe" + rec[3:]
        if case == "record-version-later-bad/hello" and out.index == 0:
            half = 5 + (len(rec) - 5) // 2
            return record(HANDSHAKE, rec[5:half], 0x0301) + record(HANDSHAKE, rec[half:], 0x03FE)
        if case == "ccs-before-key-exchange" and out.index == 0:
            return rec + record(CCS, b"\x01")
        if case == "finished-without-key-exchange" and out.content_type == HANDSHAKE and not out.protected \
                and rec[5] == 16:
            return b""
        if case == "duplicate-client-hello" and out.index == 0:
            return rec + rec[:1] + b"\x03\x03" + rec[3:]  # same record version as the negotiated one
        if case == "duplicate-key-exchange" and out.content_type == HANDSHAKE and not out.protected and rec[5] == 16:
            return rec + rec
        if case == "appdata-before-hello" and out.index == 0:
            return record(APPDATA, b"hello")
        if case == "heartbeat-record" and out.index == 0:
            return record(HEARTBEAT, b"\x01\x00\x10" + b"\x00" * 16 + b"\x00" * 16)
        if case == "unknown-content-type" and out.index == 0:
            return record(99, b"x")
        if case == "plaintext-record-overflow" and out.index == 0:
            return record(HANDSHAKE, b"\x00" * (2**14 + 1))
        if case == "ciphertext-record-overflow" and out.index == 0:
            return record(HANDSHAKE, b"\x00" * (2**14 + 2048 + 1))
        if case == "one-byte-fragments" and out.content_type == HANDSHAKE and not out.protected:
            return b"".join(record(HANDSHAKE, rec[5 + i:6 + i], struct.unpack(">H", rec[1:3])[0])
                            for i in range(len(rec) - 5))
        if case == "ccs-inside-fragmented-message" and out.content_type == HANDSHAKE and not out.protected \
                and rec[5] == 16:
            version = struct.unpack(">H", rec[1:3])[0]
            return record(HANDSHAKE, rec[5:9], version) + record(CCS, b"\x01", version) + record(HANDSHAKE, rec[9:], version)
        if case == "zero-length-handshake-record" and out.index == 0:
            return record(HANDSHAKE, b"", 0x0301) + rec
        return rec
    return tamper


ORDER_CASES = ["ccs-bad-payload", "ccs-two-bytes", "ccs-two-bytes/0", "ccs-two-bytes/3",
               "ccs-before-key-exchange", "finished-without-key-exchange", "duplicate-client-hello",
               "duplicate-key-exchange", "appdata-before-hello", "heartbeat-record", "unknown-content-type",
               "plaintext-record-overflow", "ciphertext-record-overflow", "one-byte-fragments",
               "zero-length-handshake-record", "ccs-inside-fragmented-message", "record-version-first-any-minor/0300",
               "record-version-first-any-minor/03fe", "record-version-first-any-minor/03ff", "record-version-later-bad",
               "record-version-later-bad/hello"]


@pytest.mark.parametrize("case", ORDER_CASES)
@pytest.mark.parametrize("suite", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA"])
def test_record_and_message_order(server: ServeProcess, case: str, suite: str) -> None:
    peer = run_tampered(server, config(suite), reorder(case))
    case = case.split("/")[0]  # a variant of the case
    if EXPECTED[case] == ACCEPTED:
        assert peer.outcome.handshake_complete and peer.outcome.alert is None, peer.outcome
    else:
        assert peer.outcome.alert is not None, peer.outcome
        assert AlertDescription(peer.outcome.alert).label == EXPECTED[case], peer.outcome
        assert peer.outcome.closed


# ---------------------------------------------------------------- raw ClientHello variants (RFC 5246 §7.4.1.2)

def ext(ext_type: int, data: bytes) -> bytes:
    return struct.pack(">HH", ext_type, len(data)) + data


def base_extensions() -> list[bytes]:
    return [ext(10, b"\x00\x04\x00\x17\x00\x1d"), ext(11, b"\x01\x00"),
            ext(13, b"\x00\x04\x04\x01\x08\x04")]


def client_hello(version: int = 0x0303, session_id: bytes = b"", suites: bytes | None = None,
                 compression: bytes = b"\x01\x00", extensions: list[bytes] | None = None, raw_ext: bytes | None = None,
                 trailing: bytes = b"") -> bytes:
    if suites is None:
        suites = struct.pack(">HH", 0xC02F, 0x002F)
    exts = b"".join(base_extensions() if extensions is None else extensions)
    ext_block = raw_ext if raw_ext is not None else struct.pack(">H", len(exts)) + exts
    body = (struct.pack(">H", version) + os.urandom(32) + bytes([len(session_id)]) + session_id
            + struct.pack(">H", len(suites)) + suites + compression + ext_block + trailing)
    return record(HANDSHAKE, handshake(1, body), 0x0301)


def server_answer(server: ServeProcess, data: bytes) -> tuple[str, bool]:
    """('alert:<label>' | 'server_hello' | 'nothing', closed) for raw bytes sent as a client."""
    with server.connect(timeout=5) as sock:
        sock.sendall(data)
        got = b""
        closed = False
        try:
            while len(got) < 7:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                got += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        if len(got) >= 7 and got[0] == ALERT:
            try:
                while sock.recv(65536):
                    pass
                closed = True
            except (TimeoutError, ConnectionResetError):
                closed = True
            return f"alert:{AlertDescription(got[6]).label}", closed
        if len(got) >= 6 and got[0] == HANDSHAKE and got[5] == 2:
            return "server_hello", closed
        return "nothing", closed


def sslv2_hello(version: bytes = b"\x03\x03", specs: bytes = b"\x00\xc0\x2f\x00\x00\x2f", challenge: int = 16,
                spec_length: int | None = None) -> bytes:
    """An SSLv2-format ClientHello laid out by hand (RFC 5246 Appendix E.2)."""
    lengths = struct.pack(">HHH", len(specs) if spec_length is None else spec_length, 0, challenge)
    body = b"\x01" + version + lengths + specs + os.urandom(challenge)
    return struct.pack(">H", 0x8000 | len(body)) + body


def many_extensions() -> list[bytes]:
    return [*base_extensions(), *(ext(0xFA00 + (i % 200), b"") for i in range(1))] + [
        ext(0x1000 + i, b"") for i in range(10000)]


SIG_ALGS_CERT_ONLY = [ext(10, b"\x00\x02\x00\x17"), ext(11, b"\x01\x00"), ext(50, b"\x00\x04\x04\x01\x08\x04")]


def sni(host: bytes) -> bytes:
    """A server_name extension with one host_name (RFC 6066 §3), laid out by hand."""
    entry = b"\x00" + struct.pack(">H", len(host)) + host
    return ext(0, struct.pack(">H", len(entry)) + entry)


def with_sni(host: bytes) -> Callable[[], bytes]:
    return lambda: client_hello(extensions=[*base_extensions(), sni(host)])


HELLO_CASES: dict[str, Callable[[], bytes]] = {
    "sslv2-client-hello": sslv2_hello,
    "sslv2-client-hello-later": lambda: record(HANDSHAKE, client_hello()[5:12], 0x0301) + sslv2_hello(),
    "sslv2-client-hello-ssl2-only": lambda: sslv2_hello(version=b"\x00\x02", specs=b"\x07\x00\xc0"),
    "sslv2-client-hello-no-tls-suite": lambda: sslv2_hello(specs=b"\x07\x00\xc0\x01\x00\x80"),
    "sslv2-client-hello-bad-lengths": lambda: sslv2_hello(specs=b"\x00\x00\x2f\x00"),
    "sslv2-client-hello-bad-lengths/challenge": lambda: sslv2_hello(challenge=15),
    "sslv2-client-hello-bad-lengths/past-record": lambda: sslv2_hello(spec_length=600),
    "version-ssl2": lambda: client_hello(version=0x0200),
    "version-ssl3-not-enabled": lambda: client_hello(version=0x0300),
    "version-future": lambda: client_hello(version=0x0305),
    "no-null-compression": lambda: client_hello(compression=b"\x01\x01"),
    "empty-cipher-suites": lambda: client_hello(suites=b""),
    "odd-cipher-suites": lambda: client_hello(suites=b"\xc0\x2f\x00"),
    "no-shared-suite": lambda: client_hello(suites=b"\x13\x01\xff\xfe"),
    "session-id-33": lambda: client_hello(session_id=b"\x01" * 33),
    "extension-length-overrun": lambda: client_hello(raw_ext=b"\x00\x08" + ext(0xFAFA, b"abcdefgh")[:8]),
    "duplicate-extension": lambda: client_hello(extensions=[*base_extensions(), ext(0, b"\x00\x04\x00\x00\x01a"),
                                                             ext(0, b"\x00\x04\x00\x00\x01a")]),
    "unknown-extension": lambda: client_hello(extensions=[*base_extensions(), ext(0xFAFA, b"whatever")]),
    "many-extensions": lambda: client_hello(extensions=[*base_extensions()] + [ext(0x1000 + i, b"") for i in range(3000)]),
    "trailing-bytes-hello": lambda: client_hello(trailing=b"\x00\x00\x00"),
    "server-name-empty": lambda: client_hello(extensions=[*base_extensions(), ext(0, b"")]),
    "server-name-empty/list": lambda: client_hello(extensions=[*base_extensions(), ext(0, b"\x00\x00")]),
    "server-name-control-characters": with_sni(b"local\x00host"),
    "server-name-control-characters/bel": with_sni(b"bell\x07.example"),
    "server-name-control-characters/esc": with_sni(b"\x1b[31m.example"),
    "server-name-control-characters/del": with_sni(b"del\x7f.example"),
    "server-name-utf8": with_sni("bücher.example".encode()),
    "server-name-not-dns": with_sni(b"a..b"),
    "server-name-not-dns/hyphen": with_sni(b"-a.example"),
    "server-name-not-dns/trailing-dot": with_sni(b"localhost."),
    "server-name-not-dns/ip": with_sni(b"127.0.0.1"),
    "server-name-not-dns/long-label": with_sni(b"x" * 64 + b".example"),
    "sig-algs-cert-only": lambda: client_hello(suites=b"\xc0\x2f\xc0\x30", extensions=SIG_ALGS_CERT_ONLY),
    "unsupported-curves": lambda: client_hello(suites=b"\xc0\x2f\xc0\x30",
                                               extensions=[ext(10, b"\x00\x02\x00\x15"), ext(11, b"\x01\x00")]),
}


@pytest.mark.parametrize("case", sorted(HELLO_CASES))
def test_client_hello_variants(server: ServeProcess, case: str) -> None:
    answer, closed = server_answer(server, HELLO_CASES[case]())
    expected = EXPECTED[case.split("/")[0]]  # a variant of the case
    if expected == ACCEPTED:
        assert answer == "server_hello"
    else:
        assert answer == f"alert:{expected}"
        assert closed
    still_serving(server)


def first_records(server: ServeProcess, data: bytes) -> list[tuple[int, bytes]]:
    """The plaintext records answering ``data`` up to the ServerHelloDone (or an alert)."""
    out: list[tuple[int, bytes]] = []
    with server.connect(timeout=5) as sock:
        sock.sendall(data)
        got = b""
        while not out or not (out[-1][0] == HANDSHAKE and out[-1][1].endswith(b"\x0e\x00\x00\x00")):
            while len(got) < 5 or len(got) < 5 + struct.unpack(">H", got[3:5])[0]:
                chunk = sock.recv(65536)
                assert chunk, f"closed after {out}"
                got += chunk
            end = 5 + struct.unpack(">H", got[3:5])[0]
            out.append((got[0], got[5:end]))
            got = got[end:]
            if out[-1][0] == ALERT and out[-1][1][0] == 2:
                break
    return out


@pytest.mark.parametrize(("host", "known"), [(b"localhost", True), (b"other.example", False), (b"LocalHost", True)])
def test_server_name_unrecognized_warning(server: ServeProcess, host: bytes, known: bool) -> None:
    """RFC 6066 §3: a name our certificate names is acknowledged with an empty server_name; another one gets the
    warning unrecognized_name before the ServerHello, no acknowledgement, and the handshake goes on."""
    assert EXPECTED["server-name-unrecognized"] == ACCEPTED
    records = first_records(server, with_sni(host)())
    if not known:
        assert records[0] == (ALERT, bytes([1, AlertDescription.UNRECOGNIZED_NAME])), records[0]
        records = records[1:]
    assert records[0][0] == HANDSHAKE and records[0][1][0] == 2, records[0]
    hello = records[0][1]
    session_id_at = 4 + 2 + 32
    extensions_at = session_id_at + 1 + hello[session_id_at] + 3
    assert (b"\x00\x00\x00\x00" in hello[extensions_at + 2:]) == known  # server_name, empty
    cfg = config()
    cfg.server_name = host.decode()
    with server.connect() as sock:  # the whole handshake and an echo, as our client sees it
        peer = ScriptedPeer(sock, cfg, server_side=False)
        peer.run(until=lambda o: o.handshake_complete)
        assert peer.outcome.handshake_complete and peer.outcome.alert is None, peer.outcome
        assert ("AlertEvent" in peer.outcome.log) != known


def chosen_suite(server: ServeProcess, data: bytes) -> int:
    """The cipher suite of the ServerHello answering ``data`` (RFC 5246 §7.4.1.3)."""
    with server.connect(timeout=5) as sock:
        sock.sendall(data)
        got = b""
        session_id_at = 5 + 4 + 2 + 32  # record header, handshake header, server_version, random
        while len(got) <= session_id_at or len(got) < session_id_at + 1 + got[session_id_at] + 2:
            chunk = sock.recv(65536)
            assert chunk, f"closed after {got.hex()}"
            got += chunk
        assert got[0] == HANDSHAKE and got[5] == 2, got[:7].hex()
        at = session_id_at + 1 + got[session_id_at]
        return int(struct.unpack(">H", got[at : at + 2])[0])


def test_signature_algorithms_cert_only_rsa_remains(server: ServeProcess) -> None:
    """RFC 8446 §4.2.3 for TLS 1.2: no signature_algorithms, so no signed suite; the RSA suite remains. With
    signature_algorithms too, ECDHE is chosen as usual (control; TLS 1.1: tests/unit/handshake/test_server_choices)."""
    assert EXPECTED["sig-algs-cert-only-rsa-remains"] == ACCEPTED
    suites = b"\xc0\x2f\x00\x9d"  # ECDHE_RSA / RSA with AES-GCM: ECDHE first in both our and the client's order
    assert chosen_suite(server, client_hello(suites=suites, extensions=SIG_ALGS_CERT_ONLY)) == 0x009D
    with_both = [*SIG_ALGS_CERT_ONLY, ext(13, b"\x00\x02\x04\x01")]
    assert chosen_suite(server, client_hello(suites=suites, extensions=with_both)) == 0xC02F
    still_serving(server)


# ---------------------------------------------------------------- ClientHellos as large as they can be (RFC 5246 §7.4.1.2)

def in_records(message: bytes, size: int = 2**14) -> bytes:
    """A handshake message cut into plaintext records of ``size`` bytes (RFC 5246 §6.2.1: at most 2^14)."""
    return b"".join(record(HANDSHAKE, message[i : i + size], 0x0301) for i in range(0, len(message), size))


def hello_message(suites: bytes, extensions: bytes, session_id: bytes = b"", compression: bytes = b"\x00") -> bytes:
    body = (b"\x03\x03" + os.urandom(32) + bytes([len(session_id)]) + session_id + struct.pack(">H", len(suites))
            + suites + bytes([len(compression)]) + compression + struct.pack(">H", len(extensions)) + extensions)
    return handshake(1, body)


LARGE_HELLOS: dict[str, Callable[[], bytes]] = {
    "16383-extensions": lambda: hello_message(b"\xc0\x2f\x00\x2f", b"".join(ext(0x8000 + i, b"") for i in range(16383))),
    "32760-signature-schemes": lambda: hello_message(
        b"\xc0\x2f", ext(10, b"\x00\x02\x00\x17") + ext(13, struct.pack(">H", 65520) + b"\x08\x09" * 32759 + b"\x04\x01")),
    "65531-byte-extension": lambda: hello_message(b"\xc0\x2f\x00\x2f", ext(0x8000, os.urandom(65531))),
    "131396-bytes": lambda: hello_message(
        b"".join(struct.pack(">H", 0x8000 + i) for i in range(32765)) + b"\xc0\x2f\x00\x2f",
        ext(0x8000, os.urandom(65531)), os.urandom(32), bytes(range(255))),
}


@pytest.mark.parametrize("shape", sorted(LARGE_HELLOS))
@pytest.mark.parametrize("record_size", [2**14, 1000])
def test_large_client_hello_answered(server: ServeProcess, shape: str, record_size: int) -> None:
    assert EXPECTED["large-client-hello"] == ACCEPTED
    message = LARGE_HELLOS[shape]()
    assert len(message) > 65536 + 4
    if shape == "131396-bytes":
        assert len(message) == 4 + 131396
    answer, _ = server_answer(server, in_records(message, record_size))
    assert answer == "server_hello", (shape, answer)


def test_large_client_hello_over_the_limits(server: ServeProcess) -> None:
    """One byte more than a ClientHello can be is refused from its header; other messages keep the 64 KiB cap."""
    for header in (b"\x01" + (131397).to_bytes(3, "big"), b"\x10" + (65537).to_bytes(3, "big")):
        if header[0] == 16:  # a ClientKeyExchange after a good ClientHello
            data = client_hello() + record(HANDSHAKE, header, 0x0303)
            with server.connect(timeout=5) as sock:
                sock.sendall(data)
                got = b""
                while chunk := sock.recv(65536):
                    got += chunk
            alert = AlertDescription[EXPECTED["large-client-hello-over"].upper()]
            assert bytes([ALERT, 3, 3, 0, 2, 2, alert]) in got
            continue
        answer, closed = server_answer(server, record(HANDSHAKE, header, 0x0301))
        assert answer == "alert:" + EXPECTED["large-client-hello-over"] and closed
    still_serving(server)


def padded_client_hello(fill: str) -> Callable[..., ClientHello]:
    """Our client's ClientHello grown to 131,396 bytes: 32,767 suites (unknown ones first), a 32-byte session ID,
    255 compression methods and a 65,535-byte extensions block, filled by one unknown extension or by unknown
    empty ones (about 16,330) and one to make up the rest."""
    def build(**fields: object) -> ClientHello:
        suites = tuple(fields.pop("cipher_suites"))  # type: ignore[call-overload]
        extensions = tuple(fields.pop("extensions") or ())  # type: ignore[call-overload]
        room = 65535 - sum(4 + len(e.data) for e in extensions) - 4
        empties = tuple(Extension(0x8000 + i, b"") for i in range(room // 4)) if fill == "empty-extensions" else ()
        hello = ClientHello(
            cipher_suites=tuple(range(0x8000, 0x8000 + 32767 - len(suites))) + suites,
            extensions=(*extensions, *empties, Extension(0xC000, os.urandom(room - 4 * len(empties)))),
            **{**fields, "session_id": os.urandom(32), "compression_methods": bytes(range(255))},  # type: ignore[arg-type]
        )
        assert len(hello.serialize()) == 131396
        return hello
    return build


@pytest.mark.parametrize("fill", ["one-extension", "empty-extensions"])
def test_maximal_client_hello_full_handshake_rss(server: ServeProcess, monkeypatch: pytest.MonkeyPatch,
                                                 fill: str) -> None:
    """Our client's hello grown to 131,396 bytes in 1,000-byte records: the whole handshake and an echo (the
    Finished proves the server hashed all of it); 21 of them leave serve's VmRSS under 3 MiB above where an ordinary
    handshake left it, one under 8 times its size (RFC 5246 §7.4.1.2 bounds the hello; memory follows its size)."""
    monkeypatch.setattr(client_states, "ClientHello", padded_client_hello(fill))

    def split(out: Outgoing) -> bytes:
        if out.index == 0:
            return in_records(out.data[5:], 1000)
        return out.data

    def one() -> None:
        with server.connect() as sock:
            peer = ScriptedPeer(sock, config(), server_side=False, tamper=split)
            peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
            assert peer.outcome.handshake_complete and peer.outcome.alert is None, peer.outcome
            peer.conn.send_data(b"large")
            peer.flush()
            peer.run(until=lambda o: o.received_plaintext == b"large", max_steps=20)
            assert peer.outcome.received_plaintext == b"large"

    still_serving(server)  # warm: an ordinary handshake first
    idle = rss_kib(server.pid)
    one()
    after_one = rss_kib(server.pid)
    for _ in range(20):
        one()
    after_many = rss_kib(server.pid)
    print(f"\n131,396-byte ClientHello, {fill}: VmRSS {idle} KiB before, {after_one} KiB after one, {after_many} after 21")
    assert after_one - idle < 8 * 131396 // 1024, (idle, after_one)  # measured: 200-550 KiB
    assert after_many - idle < 3 * 1024, (idle, after_one, after_many)  # measured: 830-970 KiB
    still_serving(server)


# ---------------------------------------------------------------- key exchange abuse (RFC 5246 §7.4.7.1, RFC 8422 §5.7)

def replace_cke(body: bytes) -> Callable[[Outgoing], bytes]:
    def tamper(out: Outgoing) -> bytes:
        if out.content_type == HANDSHAKE and not out.protected and out.data[5] == 16:
            return record(HANDSHAKE, handshake(16, body), struct.unpack(">H", out.data[1:3])[0])
        return out.data
    return tamper


def rsa_cke(public: rsa.RSAPublicKey, premaster: bytes) -> bytes:
    encrypted = public.encrypt(premaster, padding.PKCS1v15())
    return struct.pack(">H", len(encrypted)) + encrypted


RSA_PREMASTERS: dict[str, Callable[[rsa.RSAPublicKey], bytes]] = {
    "right-form-other-secret": lambda pk: rsa_cke(pk, b"\x03\x03" + os.urandom(46)),
    "wrong-version": lambda pk: rsa_cke(pk, b"\x03\x01" + os.urandom(46)),
    "short-47": lambda pk: rsa_cke(pk, b"\x03\x03" + os.urandom(45)),
    "long-49": lambda pk: rsa_cke(pk, b"\x03\x03" + os.urandom(47)),
    "empty-premaster": lambda pk: rsa_cke(pk, b""),
    "bad-padding": lambda pk: struct.pack(">H", 256) + b"\x01" + os.urandom(255),
    "zero-ciphertext": lambda pk: struct.pack(">H", 256) + bytes(256),
}


@pytest.mark.parametrize("variant", sorted(RSA_PREMASTERS))
@pytest.mark.parametrize("version", [0x0301, 0x0303])
def test_rsa_client_key_exchange_no_oracle(server: ServeProcess, identity: tuple[str, str, rsa.RSAPublicKey],
                                           variant: str, version: int) -> None:
    """Every bad premaster ends the same way: bad_record_mac on the client's Finished (RFC 5246 §7.4.7.1)."""
    body = RSA_PREMASTERS[variant](identity[2])
    peer = run_tampered(server, config("TLS_RSA_WITH_AES_128_CBC_SHA", version), replace_cke(body))
    assert peer.outcome.alert is not None and peer.outcome.closed, peer.outcome
    assert AlertDescription(peer.outcome.alert).label == EXPECTED["rsa-cke-bad-premaster"]


ECDHE_POINTS = {
    "ecdhe-invalid-point": b"\x41\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big"),
    "ecdhe-wrong-length": b"\x40" + os.urandom(64),
}


@pytest.mark.parametrize("case", sorted(ECDHE_POINTS))
def test_ecdhe_client_key_exchange(server: ServeProcess, case: str) -> None:
    cfg = config("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", groups=[NamedGroup.SECP256R1])
    peer = run_tampered(server, cfg, replace_cke(ECDHE_POINTS[case]))
    assert peer.outcome.alert is not None and peer.outcome.closed, peer.outcome
    assert AlertDescription(peer.outcome.alert).label == EXPECTED[case]


def test_hello_16mib_declared_refused_early(server: ServeProcess) -> None:
    """A handshake header declaring 2^24-1 bytes is refused from its 4 header bytes (resource bound)."""
    answer, closed = server_answer(server, record(HANDSHAKE, b"\x01\xff\xff\xff", 0x0301))
    expected = EXPECTED["hello-16mib-declared"]
    assert answer == f"alert:{expected}" and closed
    still_serving(server)


# ---------------------------------------------------------------- after the handshake; closure (RFC 5246 §7.2.1)

def established(server: ServeProcess, suite: str = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256") -> ScriptedPeer:
    sock = server.connect()
    peer = ScriptedPeer(sock, config(suite), server_side=False)
    peer.run(until=lambda o: o.handshake_complete)
    assert peer.outcome.handshake_complete
    return peer


@pytest.mark.parametrize("suite", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA",
                                   "TLS_RSA_WITH_RC4_128_SHA"])
def test_zero_length_appdata_accepted(server: ServeProcess, suite: str) -> None:
    assert EXPECTED["zero-length-appdata"] == ACCEPTED  # RFC 5246 §6.2.1: may be sent (traffic analysis)
    peer = established(server, suite)
    peer.send_raw(peer.conn.write_state.seal(APPDATA, 0x0303, b""))
    peer.conn.send_data(b"after-empty")
    peer.flush()
    peer.run(until=lambda o: o.received_plaintext == b"after-empty" or o.alert is not None, max_steps=20)
    peer.sock.close()
    assert peer.outcome.alert is None and peer.outcome.received_plaintext == b"after-empty"


def test_close_notify_answered(server: ServeProcess) -> None:
    assert EXPECTED["close-notify"] == ACCEPTED
    peer = established(server)
    peer.conn.close()
    peer.flush()
    peer.drain(3)
    peer.sock.close()
    assert peer.outcome.closed and peer.outcome.alert is None
    assert "ConnectionClosed" in peer.outcome.log  # the server's close_notify arrived before EOF


def test_truncated_records_every_length(server: ServeProcess) -> None:
    """EOF inside the ClientHello record at every prefix length: the server just closes; it logs it."""
    assert EXPECTED["truncated-record"] == CLOSED
    hello = client_hello()
    for cut in range(1, len(hello)):
        with server.connect(timeout=5) as sock:
            sock.sendall(hello[:cut])
            sock.shutdown(socket.SHUT_WR)
            tail = b""
            while chunk := sock.recv(65536):
                tail += chunk
            assert tail == b"" or tail[0] == ALERT, cut  # never a ServerHello for a partial record
    still_serving(server)
    assert any("closed without close_notify" in line for line in server.lines)


def test_truncation_reported_to_our_client(server: ServeProcess) -> None:
    """Our client closing the TCP connection without close_notify is logged by the server as truncation."""
    before = len(server.lines)
    peer = established(server)
    peer.sock.shutdown(socket.SHUT_RDWR)
    peer.sock.close()
    still_serving(server)
    assert any("closed without close_notify" in line for line in server.lines[before:])


def test_log_lines_never_contain_secrets(server: ServeProcess) -> None:
    assert all("master" not in line.lower() for line in server.lines)

