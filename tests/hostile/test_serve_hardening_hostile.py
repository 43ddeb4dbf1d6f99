"""More hostile records and hellos against a real ``tlsstate serve`` process (issue 5, item 1).

* Hand-built CBC records (RFC 5246 §6.2.3.2, RFC 4346, RFC 2246, RFC 6101 §5.2.3.2, RFC 7366), made here
  from the RFCs with pyca primitives and :mod:`hmac` (not with tlsstate's protection code), for SSL 3.0,
  TLS 1.0 (implicit IV: the client write IV from the key block), TLS 1.1, TLS 1.2 with HMAC-SHA1,
  -SHA256 and -SHA384, MAC-then-encrypt and encrypt-then-MAC.
* Every byte of the 8-byte AEAD explicit nonce (RFC 5288 §3, RFC 6655 §3) of the Finished record.
* X25519 public values of small order, whose shared secret is all zeros (RFC 7748 §6.1, RFC 8422 §5.11).
* record_size_limit below 64 (RFC 8449 §4) and invalid max_fragment_length codes (RFC 6066 §4).

Each expected alert is the one the RFC names (tests/hostile/cases.py, the README alert table).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tlsstate.config import TLSConfig
from tlsstate.crypto.certs import generate_self_signed, write_pem_files
from tlsstate.crypto.keys import ConnectionKeys
from tlsstate.wire.constants import AlertDescription, NamedGroup

from .cases import ACCEPTED, SERVER_CASES
from .peer import HANDSHAKE, ScriptedPeer, ServeProcess, record
from .test_serve_hostile import base_extensions, client_hello, config, ext, replace_cke, run_tampered, server_answer

EXPECTED = {case_id: alert for case_id, _, alert in SERVER_CASES}
SSL3, TLS10, TLS11, TLS12 = 0x0300, 0x0301, 0x0302, 0x0303
SERVER_SUITES = [
    "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_RSA_WITH_AES_128_CCM",
    "TLS_RSA_WITH_AES_128_CCM_8",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("hardening-pki")
    cert, key = generate_self_signed(["localhost", "127.0.0.1"], "rsa2048")
    write_pem_files(cert, key, folder / "c.pem", folder / "k.pem")
    proc = ServeProcess(["--cert", str(folder / "c.pem"), "--key", str(folder / "k.pem"), "--ssl3",
                         "--versions", "ssl3-tls1.2", "--ciphers", ",".join(SERVER_SUITES), "--groups", "x25519,p256",
                         "--timeout", "5", "--handshake-timeout", "10"])
    try:
        yield proc
    finally:
        proc.stop()


def alert_of(peer: ScriptedPeer) -> str:
    if peer.outcome.handshake_complete and peer.outcome.alert is None:
        return ACCEPTED
    if peer.outcome.alert is None:
        return f"no alert: {peer.outcome}"
    assert peer.outcome.closed, "no close after a fatal alert"
    return AlertDescription(peer.outcome.alert).label


# ---------------------------------------------------------------- hand-built CBC records

HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha384": hashlib.sha384}
BLOCK = 16


@dataclass(frozen=True)
class Cbc:
    """One CBC configuration: protocol version, suite, MAC hash, MtE or EtM (RFC 7366)."""

    version: int
    suite: str
    mac: str
    etm: bool

    @property
    def mac_length(self) -> int:
        return HASHES[self.mac]().digest_size

    @property
    def ssl3(self) -> bool:
        return self.version == SSL3


CBC_CASES = {
    "ssl3-sha1": Cbc(SSL3, "TLS_RSA_WITH_AES_128_CBC_SHA", "sha1", False),
    "tls1.0-sha1-mte": Cbc(TLS10, "TLS_RSA_WITH_AES_128_CBC_SHA", "sha1", False),
    "tls1.0-sha1-etm": Cbc(TLS10, "TLS_RSA_WITH_AES_256_CBC_SHA", "sha1", True),
    "tls1.1-sha1-mte": Cbc(TLS11, "TLS_RSA_WITH_AES_256_CBC_SHA", "sha1", False),
    "tls1.1-sha1-etm": Cbc(TLS11, "TLS_RSA_WITH_AES_128_CBC_SHA", "sha1", True),
    "tls1.2-sha1-etm": Cbc(TLS12, "TLS_RSA_WITH_AES_128_CBC_SHA", "sha1", True),
    "tls1.2-sha256-mte": Cbc(TLS12, "TLS_RSA_WITH_AES_128_CBC_SHA256", "sha256", False),
    "tls1.2-sha256-etm": Cbc(TLS12, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "sha256", True),
    "tls1.2-sha384-mte": Cbc(TLS12, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "sha384", False),
    "tls1.2-sha384-etm": Cbc(TLS12, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "sha384", True),
}
TLS_CASES = [k for k, v in CBC_CASES.items() if not v.ssl3]


def mac_of(case: Cbc, key: bytes, seq: int, content_type: int, data: bytes) -> bytes:
    """SSL 3.0 MAC (RFC 6101 §5.2.3.1: hash(secret + pad_2 + hash(secret + pad_1 + seq + type + length +
    data)), pads of 40 bytes for SHA-1) or the TLS HMAC over seq + type + version + length + data."""
    hash_ = HASHES[case.mac]
    if case.ssl3:
        inner = hash_(key + b"\x36" * 40 + struct.pack(">QBH", seq, content_type, len(data)) + data).digest()
        return hash_(key + b"\x5c" * 40 + inner).digest()
    return hmac.new(key, struct.pack(">QBHH", seq, content_type, case.version, len(data)) + data, hash_).digest()


def cbc_record(case: Cbc, keys: ConnectionKeys, seq: int, content_type: int, plaintext: bytes, pad: bytes) -> bytes:
    """The client's record with exactly this padding (length byte included). SSL 3.0/TLS 1.0: the IV is
    the key block's client write IV (first record; RFC 2246 §6.2.3.2); TLS 1.1+: a random explicit IV."""
    explicit = case.version >= TLS11
    iv = os.urandom(BLOCK) if explicit else keys.client_write_iv
    assert len(iv) == BLOCK

    def encrypt(data: bytes) -> bytes:
        assert len(data) % BLOCK == 0, len(data)
        enc = Cipher(algorithms.AES(keys.client_write_key), modes.CBC(iv)).encryptor()
        return enc.update(data) + enc.finalize()

    prefix = iv if explicit else b""
    if case.etm:  # RFC 7366 §3: MAC over IV + ENC(content + padding), length = their length
        body = prefix + encrypt(plaintext + pad)
        body += mac_of(case, keys.client_write_mac_key, seq, content_type, body)
    else:
        body = prefix + encrypt(plaintext + mac_of(case, keys.client_write_mac_key, seq, content_type, plaintext) + pad)
    return record(content_type, body, case.version)


def minimal(case: Cbc, content: int) -> int:
    """Padding bytes (length byte included) that make content (+ MAC for MtE) a whole number of blocks."""
    n = content + (0 if case.etm else case.mac_length)
    return BLOCK - n % BLOCK


def tls_pad(length: int) -> bytes:
    return bytes([length - 1]) * length


def run_finished(server: ServeProcess, case: Cbc, pad_for: Callable[[int], bytes]) -> ScriptedPeer:
    """A handshake whose Finished record is built by hand with ``pad_for(minimal padding length)``."""
    extra: dict[str, object] = {"enable_ssl3": True, "extended_master_secret": False} if case.ssl3 else {}
    sock = server.connect()
    peer = ScriptedPeer(sock, config(case.suite, case.version, case.etm, **extra), server_side=False)
    original = peer.conn.write_state.seal

    def seal(content_type: int, version: int, plaintext: bytes) -> bytes:
        if content_type == HANDSHAKE and peer.keys is not None and plaintext[:1] == b"\x14":
            return cbc_record(case, peer.keys, 0, content_type, plaintext, pad_for(minimal(case, len(plaintext))))
        return original(content_type, version, plaintext)

    peer.conn.write_state.seal = seal  # type: ignore[method-assign]
    peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
    if not peer.outcome.handshake_complete:
        peer.drain(3)
    sock.close()
    return peer


@pytest.mark.parametrize("name", sorted(CBC_CASES))
def test_hand_built_minimal_padding_is_accepted(server: ServeProcess, name: str) -> None:
    """Control: the hand-built record with correct minimal padding completes the handshake."""
    case = CBC_CASES[name]
    peer = run_finished(server, case, lambda m: (bytes(m - 1) + bytes([m - 1])) if case.ssl3 else tls_pad(m))
    assert alert_of(peer) == ACCEPTED, peer.outcome


@pytest.mark.parametrize("name", TLS_CASES)
def test_maximal_padding_is_accepted(server: ServeProcess, name: str) -> None:
    """TLS: up to 256 padding bytes, all holding the length (RFC 5246 §6.2.3.2)."""
    assert EXPECTED["cbc-padding-maximal"] == ACCEPTED
    peer = run_finished(server, CBC_CASES[name], lambda m: tls_pad(m + BLOCK * ((256 - m) // BLOCK)))
    assert alert_of(peer) == ACCEPTED, peer.outcome


LENGTH_BYTES = [*range(0, 36), 47, 48, 63, 64, 127, 128, 200, 239, 240, 254, 255]


@pytest.mark.parametrize("name", sorted(CBC_CASES))
def test_every_kind_of_padding_length_byte(server: ServeProcess, name: str) -> None:
    """Padding of m+16 bytes (SSL 3.0: m) filled with its length, last byte replaced by each sampled value:
    only the true length is accepted; every other value is bad_record_mac (MtE: padding or MAC fails,
    EtM: the MAC is good, the padding is not). EtM value 0 is skipped: a 1-byte padding 0x00 is valid
    padding and leaves the filler bytes in the Finished (a decoding question, not a padding one)."""
    case = CBC_CASES[name]
    failures = {}
    for value in LENGTH_BYTES:
        if case.etm and value == 0:
            continue

        def pad(m: int, value: int = value) -> bytes:
            length = m if case.ssl3 else m + BLOCK
            return bytes([length - 1]) * (length - 1) + bytes([value])

        # the Finished message is 4 + 12 bytes in TLS, 4 + 36 in SSL 3.0 (RFC 6101 §5.6.9)
        length = minimal(case, 40) if case.ssl3 else minimal(case, 16) + BLOCK
        expected = ACCEPTED if value == length - 1 else EXPECTED["cbc-padding-last-byte"]
        got = alert_of(run_finished(server, case, pad))
        if got != expected:
            failures[value] = (got, expected)
    assert not failures


@pytest.mark.parametrize("name", TLS_CASES)
@pytest.mark.parametrize("wrong_at", [0, 7, -2])
def test_one_wrong_padding_byte(server: ServeProcess, name: str, wrong_at: int) -> None:
    def pad(m: int) -> bytes:
        data = bytearray(tls_pad(m + BLOCK * 2))
        data[wrong_at] ^= 0x80
        return bytes(data)
    assert alert_of(run_finished(server, CBC_CASES[name], pad)) == EXPECTED["cbc-padding-wrong-byte"]


@pytest.mark.parametrize("name", sorted(CBC_CASES))
def test_padding_longer_than_the_record(server: ServeProcess, name: str) -> None:
    """The length byte claims 255 bytes in a record that holds fewer (every version, MtE and EtM)."""
    peer = run_finished(server, CBC_CASES[name], lambda m: bytes([255]) * m)
    assert alert_of(peer) == EXPECTED["cbc-padding-longer-than-record"]


def test_ssl3_padding_bytes_are_not_checked(server: ServeProcess) -> None:
    """RFC 6101 §5.2.3.2: SSL 3.0 padding bytes have no defined value: random ones are accepted."""
    assert EXPECTED["ssl3-padding-any-bytes"] == ACCEPTED
    for _ in range(3):
        peer = run_finished(server, CBC_CASES["ssl3-sha1"], lambda m: os.urandom(m - 1) + bytes([m - 1]))
        assert alert_of(peer) == ACCEPTED, peer.outcome


def test_ssl3_padding_of_a_block_or_more_is_refused(server: ServeProcess) -> None:
    """RFC 6101 §5.2.3.2: the padding is shorter than the block; a length >= 16 is bad_record_mac,
    even with a correct MAC (what TLS would accept as valid longer padding)."""
    for extra in (1, 2, 15):
        peer = run_finished(server, CBC_CASES["ssl3-sha1"], lambda m, e=extra: tls_pad(m + BLOCK * e))
        assert alert_of(peer) == EXPECTED["ssl3-padding-not-minimal"], extra


# ---------------------------------------------------------------- AEAD explicit nonce (RFC 5288 §3, RFC 6655 §3)

@pytest.mark.parametrize("suite", ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384",
                                   "TLS_RSA_WITH_AES_128_CCM", "TLS_RSA_WITH_AES_128_CCM_8"])
def test_aead_explicit_nonce_every_byte(server: ServeProcess, suite: str) -> None:
    """A flipped bit in each of the 8 explicit nonce bytes of the Finished record: bad_record_mac."""
    for index in range(8):
        def tamper(out: object, index: int = index) -> bytes:
            data: bytes = out.data  # type: ignore[attr-defined]
            if out.protected and out.content_type == HANDSHAKE:  # type: ignore[attr-defined]
                body = bytearray(data[5:])
                body[index] ^= 0x10
                return data[:5] + bytes(body)
            return data
        peer = run_tampered(server, config(suite), tamper)
        assert alert_of(peer) == EXPECTED["aead-explicit-nonce-every-byte"], (index, peer.outcome)


# ---------------------------------------------------------------- X25519 small-order values (RFC 7748 §6.1)

P25519 = 2**255 - 19
#: u-coordinates of small order (and non-canonical encodings of them): X25519 with any key gives zero.
X25519_LOW_ORDER = {
    "0": 0, "1": 1,
    "order-8-a": 325606250916557431795983626356110631294008115727848805560023387167927233504,
    "order-8-b": 39382357235489614581723060781553021112529911719440698176882885853963445705823,
    "p-1": P25519 - 1, "p": P25519, "p+1": P25519 + 1,
}


@pytest.mark.parametrize("name", sorted(X25519_LOW_ORDER))
def test_x25519_all_zero_shared_secret(server: ServeProcess, name: str) -> None:
    """RFC 8422 §5.11 / RFC 7748 §6.1: an all-zero X25519 result is illegal_parameter."""
    point = X25519_LOW_ORDER[name].to_bytes(32, "little")
    cfg = config("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", groups=[NamedGroup.X25519])
    peer = run_tampered(server, cfg, replace_cke(bytes([32]) + point))
    assert alert_of(peer) == EXPECTED["ecdhe-x25519-low-order"], peer.outcome


def handshake_only(server: ServeProcess, cfg: TLSConfig) -> ScriptedPeer:
    with server.connect() as sock:
        peer = ScriptedPeer(sock, cfg, server_side=False)
        peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
    return peer


def test_x25519_control(server: ServeProcess) -> None:
    peer = handshake_only(server, config("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", groups=[NamedGroup.X25519]))
    assert alert_of(peer) == ACCEPTED, peer.outcome


# ---------------------------------------------------------------- record_size_limit / max_fragment_length

def hello_with(extension: bytes) -> bytes:
    return client_hello(extensions=[*base_extensions(), extension])


RSL, MFL = 28, 1
LIMIT_HELLOS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "rsl-0": ("record-size-limit-below-64", lambda: hello_with(ext(RSL, b"\x00\x00"))),
    "rsl-1": ("record-size-limit-below-64", lambda: hello_with(ext(RSL, b"\x00\x01"))),
    "rsl-63": ("record-size-limit-below-64", lambda: hello_with(ext(RSL, b"\x00\x3f"))),
    "rsl-1-byte": ("record-size-limit-bad-length", lambda: hello_with(ext(RSL, b"\x40"))),
    "rsl-3-bytes": ("record-size-limit-bad-length", lambda: hello_with(ext(RSL, b"\x40\x00\x00"))),
    "mfl-0": ("max-fragment-length-invalid", lambda: hello_with(ext(MFL, b"\x00"))),
    "mfl-5": ("max-fragment-length-invalid", lambda: hello_with(ext(MFL, b"\x05"))),
    "mfl-255": ("max-fragment-length-invalid", lambda: hello_with(ext(MFL, b"\xff"))),
    "mfl-empty": ("max-fragment-length-bad-length", lambda: hello_with(ext(MFL, b""))),
    "mfl-2-bytes": ("max-fragment-length-bad-length", lambda: hello_with(ext(MFL, b"\x01\x01"))),
    "rsl-64": ("record-size-limit-64", lambda: hello_with(ext(RSL, b"\x00\x40"))),
    "rsl-65535": ("record-size-limit-64", lambda: hello_with(ext(RSL, b"\xff\xff"))),
    **{f"mfl-{code}": ("max-fragment-length-valid", lambda code=code: hello_with(ext(MFL, bytes([code]))))
       for code in (1, 2, 3, 4)},
}


@pytest.mark.parametrize("name", sorted(LIMIT_HELLOS))
def test_record_limit_extensions(server: ServeProcess, name: str) -> None:
    case, build = LIMIT_HELLOS[name]
    answer, closed = server_answer(server, build())
    if EXPECTED[case] == ACCEPTED:
        assert answer == "server_hello", answer
    else:
        assert answer == f"alert:{EXPECTED[case]}" and closed, answer


def test_record_size_limit_64_is_honoured(server: ServeProcess) -> None:
    """A client announcing the smallest legal limit gets a handshake and an echo of 300 bytes; our in-memory
    client enforces its 64-byte receive limit (a larger record would be record_overflow, RFC 8449 §4)."""
    cfg = config("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", record_size_limit=64)
    with server.connect() as sock:
        peer = ScriptedPeer(sock, cfg, server_side=False)
        peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
        assert peer.outcome.handshake_complete, peer.outcome
        message = b"x" * 300
        peer.conn.send_data(message)
        peer.flush()
        peer.run(until=lambda o: len(o.received_plaintext) >= len(message) or o.alert is not None, max_steps=50)
    assert peer.outcome.received_plaintext == message and peer.outcome.alert is None, peer.outcome
    assert peer.outcome.local_error is None, peer.outcome.local_error
