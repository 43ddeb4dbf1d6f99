"""An SSLv2-format ClientHello completes a handshake with a real ``tlsstate serve`` (RFC 5246 Appendix E.2,
RFC 6101 Appendix E, RFC 8422 §4).

The client here is written from the RFCs, independent of tlsstate's client, record and PRF code: the SSLv2
CLIENT-HELLO is laid out by hand (E.2), the PRF is written out below with :mod:`hmac` (RFC 5246 §5, RFC 2246 §5),
and the key exchange and record protection use pyca primitives directly (RSA PKCS #1 v1.5 key transport, ECDH on
P-256, AES-CBC + HMAC-SHA1 MAC-then-encrypt, AES-GCM). Only the test's assertions about alert names use tlsstate.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlsstate.crypto.certs import generate_self_signed, write_pem_files
from tlsstate.wire.constants import AlertDescription

from .cases import ACCEPTED, SERVER_CASES
from .peer import ALERT, APPDATA, CCS, HANDSHAKE, ServeProcess, record

EXPECTED = {case_id: alert for case_id, _, alert in SERVER_CASES}
RSA_AES128_SHA, ECDHE_RSA_AES128_GCM_SHA256 = 0x002F, 0xC02F
SSL2_DES_192_EDE3_CBC_WITH_MD5 = b"\x07\x00\xc0"  # an SSLv2-only cipher kind (first byte not 0): ignored
SCSV = b"\x00\x00\xff"  # TLS_EMPTY_RENEGOTIATION_INFO_SCSV as a V2CipherSpec (RFC 5746 §3.3)


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, rsa.RSAPublicKey]:
    folder = tmp_path_factory.mktemp("sslv2-pki")
    cert, key = generate_self_signed(["localhost"], "rsa2048")
    write_pem_files(cert, key, folder / "c.pem", folder / "k.pem")
    public = cert.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    return str(folder / "c.pem"), str(folder / "k.pem"), public


@pytest.fixture(scope="module")
def server(identity: tuple[str, str, rsa.RSAPublicKey]) -> Iterator[ServeProcess]:
    proc = ServeProcess(["--cert", identity[0], "--key", identity[1], "--versions", "tls1.0-tls1.2", "--ciphers",
                         "TLS_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "--timeout", "5"])
    try:
        yield proc
    finally:
        proc.stop()


# ---------------------------------------------------------------- the PRF, written from the RFCs

def p_hash(digest: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """P_hash (RFC 5246 §5): HMAC(secret, A(i) + seed) with A(0) = seed, A(i) = HMAC(secret, A(i-1))."""
    out, a = b"", seed
    while len(out) < length:
        a = hmac.new(secret, a, digest).digest()
        out += hmac.new(secret, a + seed, digest).digest()
    return out[:length]


def prf(version: int, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """TLS 1.2: P_SHA256 (RFC 5246 §5). TLS 1.0/1.1: P_MD5(S1) XOR P_SHA1(S2), halves overlapping (RFC 2246 §5)."""
    if version >= 0x0303:
        return p_hash("sha256", secret, label + seed, length)
    half = (len(secret) + 1) // 2
    md5 = p_hash("md5", secret[:half], label + seed, length)
    sha1 = p_hash("sha1", secret[len(secret) - half:], label + seed, length)
    return bytes(x ^ y for x, y in zip(md5, sha1, strict=True))


def handshake_hash(version: int, transcript: bytes) -> bytes:
    """What Finished covers: SHA-256 (TLS 1.2, RFC 5246 §7.4.9) or MD5 + SHA-1 (RFC 2246 §7.4.9)."""
    if version >= 0x0303:
        return hashlib.sha256(transcript).digest()
    return hashlib.md5(transcript).digest() + hashlib.sha1(transcript).digest()


# ---------------------------------------------------------------- the SSLv2 CLIENT-HELLO (RFC 5246 Appendix E.2)

def sslv2_client_hello(version: int, cipher_specs: bytes, challenge: bytes, session_id: bytes = b"") -> bytes:
    """msg_length (top bit set) | msg_type 1 | version | cipher_spec_length | session_id_length |
    challenge_length | cipher_specs | session_id | challenge."""
    body = (b"\x01" + struct.pack(">HHHH", version, len(cipher_specs), len(session_id), len(challenge))
            + cipher_specs + session_id + challenge)
    return struct.pack(">H", 0x8000 | len(body)) + body


def v2_spec(suite: int) -> bytes:
    """A TLS suite as a V2CipherSpec: {0x00, suite} (E.2)."""
    return b"\x00" + struct.pack(">H", suite)


# ---------------------------------------------------------------- record protection, with pyca primitives

@dataclass
class CbcSha1:
    """AES-128-CBC with HMAC-SHA1, MAC-then-encrypt (RFC 5246 §6.2.3.2); TLS 1.0 chains the IV (RFC 2246 §6.2.3.2)."""

    version: int
    mac_key: bytes
    key: bytes
    iv: bytes  # TLS 1.0: the IV of the next record (key block, then the last ciphertext block)
    seq: int = 0

    def seal(self, content_type: int, plaintext: bytes) -> bytes:
        mac = hmac.new(self.mac_key, struct.pack(">QBHH", self.seq, content_type, self.version, len(plaintext))
                       + plaintext, "sha1").digest()
        self.seq += 1
        pad = 15 - (len(plaintext) + len(mac)) % 16
        data = plaintext + mac + bytes([pad]) * (pad + 1)
        iv = self.iv if self.version == 0x0301 else os.urandom(16)
        enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
        body = enc.update(data) + enc.finalize()
        if self.version == 0x0301:
            self.iv = body[-16:]
            return record(content_type, body, self.version)
        return record(content_type, iv + body, self.version)

    def open(self, content_type: int, body: bytes) -> bytes:
        if self.version == 0x0301:
            iv, self.iv = self.iv, body[-16:]
        else:
            iv, body = body[:16], body[16:]
        dec = Cipher(algorithms.AES(self.key), modes.CBC(iv)).decryptor()
        data = dec.update(body) + dec.finalize()
        pad = data[-1]
        assert data[-pad - 1:] == bytes([pad]) * (pad + 1), "bad padding"
        plaintext, mac = data[:-pad - 21], data[-pad - 21:-pad - 1]
        expected = hmac.new(self.mac_key, struct.pack(">QBHH", self.seq, content_type, self.version, len(plaintext))
                            + plaintext, "sha1").digest()
        self.seq += 1
        assert hmac.compare_digest(mac, expected), "bad MAC"
        return plaintext


@dataclass
class Gcm:
    """AES-128-GCM with the 4-byte salt and an 8-byte explicit nonce (RFC 5288 §3, RFC 5246 §6.2.3.3)."""

    version: int
    key: bytes
    salt: bytes
    seq: int = 0

    def seal(self, content_type: int, plaintext: bytes) -> bytes:
        explicit = struct.pack(">Q", self.seq)
        aad = struct.pack(">QBHH", self.seq, content_type, self.version, len(plaintext))
        self.seq += 1
        return record(content_type, explicit + AESGCM(self.key).encrypt(self.salt + explicit, plaintext, aad),
                      self.version)

    def open(self, content_type: int, body: bytes) -> bytes:
        aad = struct.pack(">QBHH", self.seq, content_type, self.version, len(body) - 8 - 16)
        self.seq += 1
        return AESGCM(self.key).decrypt(self.salt + body[:8], body[8:], aad)


# ---------------------------------------------------------------- the hand-written client

@dataclass
class Wire:
    """Records off a socket, and the server's handshake messages in order (each whole, header included)."""

    sock: socket.socket
    buffer: bytes = b""
    messages: list[bytes] = field(default_factory=list)
    _handshake: bytes = b""

    def record(self) -> tuple[int, bytes]:
        while len(self.buffer) < 5 or len(self.buffer) < 5 + struct.unpack(">H", self.buffer[3:5])[0]:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"server closed; buffered {self.buffer.hex()}")
            self.buffer += chunk
        length = struct.unpack(">H", self.buffer[3:5])[0]
        rec, self.buffer = self.buffer[: 5 + length], self.buffer[5 + length:]
        return rec[0], rec[5:]

    def handshake_until(self, last_type: int) -> None:
        while not self.messages or self.messages[-1][0] != last_type:
            content_type, body = self.record()
            if content_type == ALERT:
                raise AssertionError(f"alert {AlertDescription(body[1]).label}")
            assert content_type == HANDSHAKE, content_type
            self._handshake += body
            while len(self._handshake) >= 4 and len(self._handshake) >= 4 + int.from_bytes(self._handshake[1:4]):
                end = 4 + int.from_bytes(self._handshake[1:4])
                self.messages.append(self._handshake[:end])
                self._handshake = self._handshake[end:]


def handshake_msg(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


@dataclass
class Result:
    """What the hand-written client saw."""

    version: int
    suite: int
    server_random: bytes
    alert: str | None = None
    echoed: bytes = b""
    ske_scheme: int | None = None
    renegotiation_info: bool = False


def client_key_exchange(public: rsa.RSAPublicKey, server_messages: list[bytes], version: int,
                        randoms: bytes, suite: int) -> tuple[bytes, bytes, int | None]:
    """(ClientKeyExchange body, premaster, ServerKeyExchange scheme). RSA: RFC 5246 §7.4.7.1. ECDHE: RFC 8422 §5.7,
    the server's P-256 share checked against its RSA signature over both randoms and the params (§5.4)."""
    if suite == RSA_AES128_SHA:
        premaster = struct.pack(">H", version) + os.urandom(46)
        encrypted = public.encrypt(premaster, padding.PKCS1v15())
        return struct.pack(">H", len(encrypted)) + encrypted, premaster, None
    ske = next(m for m in server_messages if m[0] == 12)[4:]
    assert ske[:3] == b"\x03\x00\x17", "named_curve secp256r1 (RFC 8422 §4: no supported_groups sent)"
    point = ske[4 : 4 + ske[3]]
    params, rest = ske[: 4 + len(point)], ske[4 + len(point):]
    scheme = None
    if version >= 0x0303:
        scheme, rest = struct.unpack(">H", rest[:2])[0], rest[2:]
        assert scheme == 0x0201, "no signature_algorithms: {sha1, rsa} (RFC 5246 §7.4.1.4.1)"
        public.verify(rest[2:], randoms + params, padding.PKCS1v15(), hashes.SHA1())
    ours = ec.generate_private_key(ec.SECP256R1())
    theirs = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    share = ours.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return bytes([len(share)]) + share, ours.exchange(ec.ECDH(), theirs), scheme


def protections(version: int, suite: int, key_block: bytes) -> tuple[CbcSha1 | Gcm, CbcSha1 | Gcm]:
    """The six values in RFC 5246 §6.3 order -> (client write, server write)."""
    if suite == RSA_AES128_SHA:
        cm, sm, ck, sk = key_block[:20], key_block[20:40], key_block[40:56], key_block[56:72]
        ci, si = (key_block[72:88], key_block[88:104]) if version == 0x0301 else (b"", b"")
        return CbcSha1(version, cm, ck, ci), CbcSha1(version, sm, sk, si)
    return Gcm(version, key_block[:16], key_block[32:36]), Gcm(version, key_block[16:32], key_block[36:40])


def sslv2_handshake(server: ServeProcess, public: rsa.RSAPublicKey, version: int, suite: int, *,
                    challenge: bytes | None = None, hash_header_too: bool = False) -> Result:
    """Full handshake after an SSLv2-format ClientHello, then one echoed application data record."""
    challenge = os.urandom(32) if challenge is None else challenge
    hello = sslv2_client_hello(version, SSL2_DES_192_EDE3_CBC_WITH_MD5 + v2_spec(suite) + SCSV, challenge)
    client_random = challenge[-32:].rjust(32, b"\x00")  # E.2: right-justified, leading zeros
    with server.connect(timeout=10) as sock:
        sock.sendall(hello)
        wire = Wire(sock)
        wire.handshake_until(14)  # ServerHelloDone
        server_hello = wire.messages[0]
        assert server_hello[0] == 2
        result = Result(struct.unpack(">H", server_hello[4:6])[0], 0, server_hello[6:38])
        sid_len = server_hello[38]
        result.suite = struct.unpack(">H", server_hello[39 + sid_len : 41 + sid_len])[0]
        result.renegotiation_info = b"\xff\x01\x00\x01\x00" in server_hello[41 + sid_len:]
        randoms = client_random + result.server_random
        cke_body, premaster, result.ske_scheme = client_key_exchange(public, wire.messages, version, randoms, suite)
        cke = handshake_msg(16, cke_body)
        master = prf(version, premaster, b"master secret", randoms, 48)
        key_block = prf(version, master, b"key expansion", result.server_random + client_random, 104)
        mine, theirs = protections(version, suite, key_block)
        transcript = (hello if hash_header_too else hello[2:]) + b"".join(wire.messages) + cke
        finished = handshake_msg(20, prf(version, master, b"client finished", handshake_hash(version, transcript), 12))
        sock.sendall(record(HANDSHAKE, cke, version) + record(CCS, b"\x01", version) + mine.seal(HANDSHAKE, finished))
        content_type, body = wire.record()
        if content_type == ALERT:
            result.alert = AlertDescription(body[1]).label
            return result
        assert (content_type, body) == (CCS, b"\x01")
        content_type, body = wire.record()
        assert content_type == HANDSHAKE
        expected = prf(version, master, b"server finished", handshake_hash(version, transcript + finished), 12)
        assert theirs.open(HANDSHAKE, body) == handshake_msg(20, expected), "server Finished"
        sock.sendall(mine.seal(APPDATA, b"sslv2 ping"))
        echoed = b""
        for _ in range(4):  # TLS 1.0 CBC: the echo comes split 1/n-1 (BEAST countermeasure), else in one record
            content_type, body = wire.record()
            assert content_type == APPDATA
            echoed += theirs.open(APPDATA, body)
            if len(echoed) >= len(b"sslv2 ping"):
                break
        result.echoed = echoed
    return result


# ---------------------------------------------------------------- the tests

@pytest.mark.parametrize("version", [0x0301, 0x0302, 0x0303], ids=["tls1.0", "tls1.1", "tls1.2"])
@pytest.mark.parametrize("suite", [RSA_AES128_SHA, ECDHE_RSA_AES128_GCM_SHA256], ids=["rsa-cbc", "ecdhe-p256-gcm"])
def test_sslv2_client_hello_completes_handshake(server: ServeProcess, identity: tuple[str, str, rsa.RSAPublicKey],
                                                version: int, suite: int) -> None:
    """The server answers in TLS with the client's version, the TLS suite among the V2CipherSpecs, and
    renegotiation_info for the SCSV; its Finished covers the hello without its 2-byte header (E.2)."""
    if suite == ECDHE_RSA_AES128_GCM_SHA256 and version != 0x0303:
        pytest.skip("AES-GCM is TLS 1.2 only")
    assert EXPECTED["sslv2-client-hello"] == ACCEPTED
    result = sslv2_handshake(server, identity[2], version, suite)
    assert result.alert is None, result
    assert (result.version, result.suite, result.echoed) == (version, suite, b"sslv2 ping")
    assert result.renegotiation_info
    assert result.ske_scheme == (0x0201 if suite != RSA_AES128_SHA else None)


@pytest.mark.parametrize("length", [16, 20, 40])
def test_sslv2_challenge_right_justified(server: ServeProcess, identity: tuple[str, str, rsa.RSAPublicKey],
                                         length: int) -> None:
    """A challenge of 16..31 bytes is padded with leading zeros, a longer one gives its last 32 bytes (E.2)."""
    result = sslv2_handshake(server, identity[2], 0x0303, RSA_AES128_SHA, challenge=os.urandom(length))
    assert result.alert is None and result.echoed == b"sslv2 ping", result


def test_sslv2_transcript_excludes_msg_length(server: ServeProcess,
                                              identity: tuple[str, str, rsa.RSAPublicKey]) -> None:
    """Control: a client that also hashes the 2-byte msg_length gets decrypt_error on its Finished, so the
    handshakes above prove which bytes the server hashed."""
    result = sslv2_handshake(server, identity[2], 0x0303, RSA_AES128_SHA, hash_header_too=True)
    assert result.alert == "decrypt_error", result
