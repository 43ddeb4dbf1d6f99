"""TLS <= 1.2 sessions built byte by byte from the RFC layouts, for suites and options no peer here still offers
(static ECDH, DES, IDEA, the 40-bit export suites, ECC in SSL 3.0, DEFLATE compression).

Independent of tlsstate's key schedule and record layer: the PRFs (RFC 2246 §5, RFC 5246 §5), the SSL 3.0
expansion (RFC 6101 §6.1-§6.2.2), the export key derivation (RFC 2246 §6.3, RFC 6101 §6.2.2), the record MACs
(RFC 2246 §6.2.3.1, RFC 6101 §5.2.3.1), CBC padding (RFC 5246 §6.2.3.2, RFC 6101 §5.2.3.2), the explicit IV
(RFC 4346 §6.2.3.2), GCM nonces (RFC 5288 §3), the Finished messages (RFC 5246 §7.4.9, RFC 6101 §5.6.9) and
DEFLATE record compression (RFC 3749 §2) are written out here with stdlib hashlib/hmac/zlib and pyca ciphers.
Only the packet layer (tlsstate.capture.writer, checked by tshark) is shared. tshark then decrypts the capture
with the key log this module writes, which is the independent check of both this builder and tlsstate.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4, IDEA, RC2, SEED, Camellia, TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlsstate.capture.writer import write_tcp_capture

SSL3, TLS10, TLS11, TLS12 = 0x0300, 0x0301, 0x0302, 0x0303
HANDSHAKE, CCS, ALERT, APPLICATION_DATA = 22, 20, 21, 23

BLOCK_CIPHERS: dict[str, Callable[[bytes], Any]] = {
    "AES": algorithms.AES, "CAMELLIA": Camellia, "SEED": SEED, "IDEA": IDEA, "RC2": RC2, "3DES": TripleDES,
    "DES": lambda key: TripleDES(key * 3),  # EDE with K1 = K2 = K3 is single DES
}


@dataclass
class Params:
    """What the session uses, spelled out (not read from tlsstate's suite table)."""

    suite_id: int
    version: int
    cipher: str  # a BLOCK_CIPHERS name, "RC4", "AES-GCM" or "NULL"
    key_length: int  # the final key length
    mac: str  # hashlib name of the record MAC, "" for GCM
    block_size: int = 0
    export_material: int = 0  # 5 for the export ciphers (RFC 2246 §6.3)
    prf_hash: str = "sha256"
    compression: int = 0
    kx: str = "rsa"  # ClientKeyExchange shape: rsa | dh | ecdh
    server_key_exchange: bytes | None = None  # a ServerKeyExchange body to send, if any
    certificate: bytes | None = None  # the server's certificate (DER), if one is sent
    offered_compression: tuple[int, ...] = ()


def p_hash(name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5 P_hash."""
    out, a = b"", seed
    while len(out) < length:
        a = hmac.new(secret, a, name).digest()
        out += hmac.new(secret, a + seed, name).digest()
    return out[:length]


def prf(version: int, prf_hash: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """TLS 1.2 PRF (RFC 5246 §5) or TLS 1.0/1.1 P_MD5 xor P_SHA1 over the two halves (RFC 2246 §5)."""
    if version >= TLS12:
        return p_hash(prf_hash, secret, label + seed, length)
    half = (len(secret) + 1) // 2
    md5 = p_hash("md5", secret[:half], label + seed, length)
    sha = p_hash("sha1", secret[len(secret) - half :], label + seed, length)
    return bytes(x ^ y for x, y in zip(md5, sha, strict=True))


def ssl3_expand(secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 6101 §6.2.2: MD5(secret + SHA('A' + secret + seed)) + MD5(secret + SHA('BB' + ...)) + ..."""
    out = b""
    for i in range(1, 27):
        if len(out) >= length:
            break
        out += hashlib.md5(secret + hashlib.sha1(bytes([64 + i]) * i + secret + seed).digest()).digest()
    return out[:length]


@dataclass
class Keys:
    mac: tuple[bytes, bytes]  # client, server
    key: tuple[bytes, bytes]
    iv: tuple[bytes, bytes]


def derive_keys(p: Params, master: bytes, client_random: bytes, server_random: bytes) -> Keys:
    """The key block cut in RFC 5246 §6.3 order; export ciphers expanded per RFC 2246 §6.3 / RFC 6101 §6.2.2."""
    mac_len = hashlib.new(p.mac).digest_size if p.mac and p.cipher != "AES-GCM" else 0
    material = p.export_material or p.key_length
    if p.cipher == "AES-GCM":
        iv_len = 4
    elif p.block_size and p.version <= TLS10:
        iv_len = p.block_size
    else:
        iv_len = 0
    block_iv = 0 if p.export_material else iv_len
    length = 2 * (mac_len + material + block_iv)
    seed = server_random + client_random
    if p.version == SSL3:
        block = ssl3_expand(master, seed, length)
    else:
        block = prf(p.version, p.prf_hash, master, b"key expansion", seed, length)
    parts, pos = [], 0
    for size in (mac_len, mac_len, material, material, block_iv, block_iv):
        parts.append(block[pos : pos + size])
        pos += size
    cmac, smac, ckey, skey, civ, siv = parts
    if p.export_material:
        cs, sc = client_random + server_random, server_random + client_random
        if p.version == SSL3:
            ckey = hashlib.md5(ckey + cs).digest()[: p.key_length]
            skey = hashlib.md5(skey + sc).digest()[: p.key_length]
            civ, siv = hashlib.md5(cs).digest()[:iv_len], hashlib.md5(sc).digest()[:iv_len]
        else:
            ckey = prf(TLS10, "", ckey, b"client write key", cs, p.key_length)
            skey = prf(TLS10, "", skey, b"server write key", cs, p.key_length)
            ivs = prf(TLS10, "", b"", b"IV block", cs, 2 * iv_len)
            civ, siv = ivs[:iv_len], ivs[iv_len:]
    return Keys((cmac, smac), (ckey, skey), (civ, siv))


class Writer:
    """One direction's record protection (RFC 5246 §6.2.3 MAC-then-encrypt, RFC 5288 GCM) and compression."""

    def __init__(self, p: Params, mac_key: bytes, key: bytes, iv: bytes) -> None:
        self.p, self.mac_key, self.key, self.iv, self.seq = p, mac_key, key, iv, 0
        self.compressor = zlib.compressobj() if p.compression == 1 else None
        self.encryptor: Any = None
        if p.cipher == "RC4":
            self.encryptor = Cipher(ARC4(key), mode=None).encryptor()
        elif p.cipher in BLOCK_CIPHERS and p.version <= TLS10:
            self.encryptor = Cipher(BLOCK_CIPHERS[p.cipher](key), modes.CBC(iv)).encryptor()

    def _mac(self, content_type: int, fragment: bytes) -> bytes:
        seq = struct.pack(">Q", self.seq)
        if self.p.version == SSL3:  # RFC 6101 §5.2.3.1
            pad = 48 if self.p.mac == "md5" else 40
            inner = hashlib.new(self.p.mac, self.mac_key + b"\x36" * pad + seq + bytes([content_type])
                                + struct.pack(">H", len(fragment)) + fragment).digest()
            return hashlib.new(self.p.mac, self.mac_key + b"\x5c" * pad + inner).digest()
        header = seq + struct.pack(">BHH", content_type, self.p.version, len(fragment))
        return hmac.new(self.mac_key, header + fragment, self.p.mac).digest()

    def record(self, content_type: int, plaintext: bytes) -> bytes:
        p = self.p
        fragment = plaintext
        if self.compressor is not None:  # RFC 3749 §2: one stream per direction, each record sync-flushed
            fragment = self.compressor.compress(plaintext) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        if p.cipher == "AES-GCM":  # RFC 5288 §3
            explicit = os.urandom(8)
            aad = struct.pack(">QBHH", self.seq, content_type, p.version, len(fragment))
            body = explicit + AESGCM(self.key).encrypt(self.iv + explicit, fragment, aad)
        else:
            data = fragment + self._mac(content_type, fragment)
            if p.cipher in BLOCK_CIPHERS:
                pad = p.block_size - 1 - len(data) % p.block_size
                data += (os.urandom(pad) if p.version == SSL3 else bytes([pad]) * pad) + bytes([pad])
                if p.version >= TLS11:  # RFC 4346 §6.2.3.2: an explicit IV per record
                    iv = os.urandom(p.block_size)
                    enc = Cipher(BLOCK_CIPHERS[p.cipher](self.key), modes.CBC(iv)).encryptor()
                    body = iv + enc.update(data) + enc.finalize()
                else:
                    body = self.encryptor.update(data)
            elif p.cipher == "RC4":
                body = self.encryptor.update(data)
            else:
                body = data
        self.seq += 1
        return struct.pack(">BHH", content_type, p.version, len(body)) + body


def _handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def _vec(length_bytes: int, data: bytes) -> bytes:
    return len(data).to_bytes(length_bytes, "big") + data


def _finished(p: Params, master: bytes, transcript: bytes, client: bool) -> bytes:
    """RFC 5246 §7.4.9 / RFC 2246 §7.4.9 verify_data, or the SSL 3.0 MD5 + SHA hashes (RFC 6101 §5.6.9)."""
    if p.version == SSL3:
        sender = b"CLNT" if client else b"SRVR"
        out = b""
        for name, pad in (("md5", 48), ("sha1", 40)):
            inner = hashlib.new(name, transcript + sender + master + b"\x36" * pad).digest()
            out += hashlib.new(name, master + b"\x5c" * pad + inner).digest()
        return out
    label = b"client finished" if client else b"server finished"
    if p.version >= TLS12:
        digest = hashlib.new(p.prf_hash, transcript).digest()
    else:
        digest = hashlib.md5(transcript).digest() + hashlib.sha1(transcript).digest()
    return prf(p.version, p.prf_hash, master, label, digest, 12)


@dataclass
class Session:
    """What was built: the TCP payloads in wire order, the key log line, the application data of each side."""

    chunks: list[tuple[bool, bytes]]
    keylog_line: str
    client_data: bytes
    server_data: bytes
    keys: Keys = field(repr=False)


def build_session(p: Params, client_data: list[bytes], server_data: list[bytes]) -> Session:
    """A full handshake (hellos, [ServerKeyExchange], ServerHelloDone, ClientKeyExchange, ChangeCipherSpec and
    Finished both ways), then ``client_data`` / ``server_data`` records and a close_notify from each side."""
    client_random, server_random, master = os.urandom(32), os.urandom(32), os.urandom(48)
    methods = p.offered_compression or ((p.compression, 0) if p.compression else (0,))
    client_hello = _handshake(1, struct.pack(">H", p.version) + client_random + b"\x00" + _vec(2, struct.pack(
        ">H", p.suite_id)) + _vec(1, bytes(methods)))
    server_hello = _handshake(2, struct.pack(">H", p.version) + server_random + _vec(1, os.urandom(32))
                              + struct.pack(">HB", p.suite_id, p.compression))
    flight = server_hello
    if p.certificate is not None:  # RFC 5246 §7.4.2: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>
        flight += _handshake(11, _vec(3, _vec(3, p.certificate)))
    if p.server_key_exchange is not None:
        flight += _handshake(12, p.server_key_exchange)
    flight += _handshake(14, b"")
    public = {"rsa": os.urandom(128), "dh": os.urandom(128), "ecdh": b"\x04" + os.urandom(64)}[p.kx]
    if p.kx == "ecdh":
        cke_body = _vec(1, public)
    elif p.kx == "rsa" and p.version == SSL3:
        cke_body = public  # RFC 6101 §5.6.7: no length prefix
    else:
        cke_body = _vec(2, public)
    client_key_exchange = _handshake(16, cke_body)
    keys = derive_keys(p, master, client_random, server_random)
    client = Writer(p, keys.mac[0], keys.key[0], keys.iv[0])
    server = Writer(p, keys.mac[1], keys.key[1], keys.iv[1])
    transcript = client_hello + flight + client_key_exchange
    client_finished = _handshake(20, _finished(p, master, transcript, True))
    server_finished = _handshake(20, _finished(p, master, transcript + client_finished, False))

    def plain(content_type: int, data: bytes) -> bytes:
        return struct.pack(">BHH", content_type, p.version, len(data)) + data

    chunks = [
        (True, plain(HANDSHAKE, client_hello)),
        (False, plain(HANDSHAKE, flight)),
        (True, plain(HANDSHAKE, client_key_exchange) + plain(CCS, b"\x01") + client.record(HANDSHAKE, client_finished)),
        (False, plain(CCS, b"\x01") + server.record(HANDSHAKE, server_finished)),
    ]
    for index in range(max(len(client_data), len(server_data))):
        if index < len(client_data):
            chunks.append((True, client.record(APPLICATION_DATA, client_data[index])))
        if index < len(server_data):
            chunks.append((False, server.record(APPLICATION_DATA, server_data[index])))
    chunks.append((True, client.record(ALERT, b"\x01\x00")))
    chunks.append((False, server.record(ALERT, b"\x01\x00")))
    line = f"CLIENT_RANDOM {client_random.hex()} {master.hex()}"
    return Session(chunks, line, b"".join(client_data), b"".join(server_data), keys)


def write_session(session: Session, directory: Path, name: str) -> tuple[Path, Path]:
    """The capture (pcap, 1448-byte segments) and its key log."""
    capture, keylog = directory / f"{name}.pcap", directory / f"{name}.keys"
    write_tcp_capture(capture, session.chunks, segment_size=1448)
    keylog.write_text(session.keylog_line + "\n")
    return capture, keylog


def tshark_follow(tshark: str, capture: Path, keylog: Path, stream: int = 0, server_port: int | None = None
                  ) -> tuple[bytes, bytes]:
    """(client→server, server→client) application data as tshark decrypts it (``follow,tls,raw``): node 0's lines
    are flush left, node 1's indented. Node 0 is the client unless its address ends in ``server_port``."""
    out = subprocess.run([tshark, "-r", str(capture), "-o", f"tls.keylog_file:{keylog}", "-q",
                          "-z", f"follow,tls,raw,{stream}"], capture_output=True, text=True, timeout=120).stdout
    node0, node1 = bytearray(), bytearray()
    node0_endpoint = out.split("Node 0:", 1)[1].split("\n", 1)[0].strip() if "Node 0:" in out else ""
    body = out.split("Node 1:", 1)[1].split("\n", 1)[1] if "Node 1:" in out else ""
    for line in body.splitlines():
        if line.startswith("====="):
            break
        if line.startswith("\t"):
            node1 += bytes.fromhex(line.strip())
        elif line.strip():
            node0 += bytes.fromhex(line.strip())
    if server_port is not None and node0_endpoint.endswith(f":{server_port}"):
        return bytes(node1), bytes(node0)
    return bytes(node0), bytes(node1)
