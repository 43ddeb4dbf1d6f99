"""Seed corpora from real bytes: the Wireshark test-suite captures and live in-memory handshakes.

``seeds(target)`` returns the seed inputs of one target in the layout described in ``fuzz/targets.py``;
``write_corpus(directory)`` writes them as one file per input (the layout libFuzzer/atheris expects).

Sources:

* every capture in ``../shared/vectors/wireshark-test-suite/captures`` (OpenSSL, GnuTLS, NSS, SChannel
  peers; SSL 3.0 – TLS 1.3; RSA, DHE, ECDHE; an SSLv2-format hello): the files themselves (``capture``),
  their TCP streams (``deframer``, ``client``, ``server``), the plaintext handshake messages and the
  ClientHello/ServerHello extensions in them (``message``, ``extension``, ``sslv2``);
* live handshakes between our client and server for TLS 1.0–1.2 x RSA/ECDHE/ECDSA x CBC/GCM/ChaCha and
  SSL 3.0 (both byte streams, every handshake message with its exact ParseContext, the key log lines);
* the key log files of the test suite (``keylog``).
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from fuzz.targets import (
    ESTABLISHED_CASES,
    EXTENSION_PARSERS,
    MESSAGE_VERSIONS,
    WIRESHARK,
    _credentials,
    _keylog_text,
    client_configs,
    context_index,
    server_configs,
)
from tlsstate.capture.pcap import CaptureError, open_capture
from tlsstate.capture.writer import write_tcp_capture
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.dh import FFDHE_PRIMES
from tlsstate.crypto.suites import KeyExchange, by_name
from tlsstate.wire import extensions as ext
from tlsstate.wire import messages
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import TLSError

CAPTURES = WIRESHARK / "captures"
KEYS = WIRESHARK / "keys"
MAX_STREAM_SEED = 8192  # bytes of a TCP stream kept as one seed (the handshake part)

__all__ = ["seeds", "write_corpus"]


# ------------------------------------------------------------------------------------------ helpers


def _records(stream: bytes) -> Iterable[tuple[int, int, bytes]]:
    pos = 0
    while pos + 5 <= len(stream):
        content_type, version, length = stream[pos], int.from_bytes(stream[pos + 1 : pos + 3], "big"), \
            int.from_bytes(stream[pos + 3 : pos + 5], "big")
        if not 20 <= content_type <= 24 or stream[pos + 1] != 3:
            return
        yield content_type, version, stream[pos + 5 : pos + 5 + length]
        pos += 5 + length


def plaintext_handshake_messages(stream: bytes) -> list[bytes]:
    """Whole handshake messages (header included) sent before the first ChangeCipherSpec."""
    buffered = b""
    out = []
    for content_type, _version, fragment in _records(stream):
        if content_type == 20:
            break
        if content_type != 22:
            continue
        buffered += fragment
        while len(buffered) >= 4:
            length = int.from_bytes(buffered[1:4], "big")
            if len(buffered) < 4 + length:
                break
            out.append(buffered[: 4 + length])
            buffered = buffered[4 + length :]
    return out


def _item(content_type: int, plaintext: bytes) -> bytes:
    """One ``established`` record item: type, 2-byte length, plaintext."""
    return bytes([content_type]) + len(plaintext).to_bytes(2, "big") + plaintext


def _parser_for(ext_type: int) -> list[int]:
    name = ext.extension_name(ext_type).lower()
    return [i for i, fn in enumerate(EXTENSION_PARSERS) if fn.__name__.removeprefix("parse_").startswith(name)]


def _extension_seeds(message: bytes) -> list[bytes]:
    out = []
    try:
        if message[0] == 1:
            extensions = messages.ClientHello.parse(message[4:]).extensions
        elif message[0] == 2:
            extensions = messages.ServerHello.parse(message[4:]).extensions
        else:
            return []
    except TLSError:
        return []
    for extension in extensions or ():
        for index in _parser_for(extension.type):
            out.append(bytes([index]) + extension.data)
    return out


# ------------------------------------------------------------------------------------------ captures


@functools.cache
def capture_streams() -> tuple[bytes, ...]:
    """Each TCP direction of every capture, in file order, duplicates (retransmissions) dropped."""
    streams: dict[tuple[str, int, str, int, str], bytearray] = {}
    for path in sorted(CAPTURES.iterdir()):
        try:
            reader = open_capture(path)
        except CaptureError:
            continue
        seen: set[tuple[tuple[str, int, str, int, str], int]] = set()
        for segment in reader.segments():
            if not segment.payload:
                continue
            flow = (segment.src, segment.sport, segment.dst, segment.dport, path.name)
            if (flow, segment.seq) in seen:
                continue
            seen.add((flow, segment.seq))
            streams.setdefault(flow, bytearray()).extend(segment.payload)
    return tuple(bytes(s) for s in streams.values() if s)


def _is_client_stream(stream: bytes) -> bool:
    return messages.is_sslv2_client_hello(stream) or (stream[:1] == b"\x16" and stream[5:6] == b"\x01")


def _is_server_stream(stream: bytes) -> bool:
    return stream[:1] == b"\x16" and stream[5:6] == b"\x02"


# ------------------------------------------------------------------------------------------ live


LIVE_CASES = [  # (suite, version, server config index in targets.server_configs())
    ("AES128-SHA", ProtocolVersion.TLS1_0, 0),
    ("AES256-SHA256", ProtocolVersion.TLS1_2, 0),
    ("AES128-GCM-SHA256", ProtocolVersion.TLS1_2, 0),
    ("ECDHE-RSA-AES128-SHA", ProtocolVersion.TLS1_1, 0),
    ("ECDHE-RSA-CHACHA20-POLY1305", ProtocolVersion.TLS1_2, 0),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", ProtocolVersion.TLS1_2, 1),
    ("ECDHE-ECDSA-AES128-SHA", ProtocolVersion.TLS1_0, 1),
    ("AES128-SHA", ProtocolVersion.SSL3, 2),
]


@functools.cache
def live_handshakes() -> tuple[tuple[int, KeyExchange, int, bytes, bytes, str], ...]:
    """(version, key exchange, server config index, client->server bytes, server->client bytes, key log
    line) for every LIVE_CASES row, from a complete handshake plus a little application data."""
    out = []
    for suite_name, version, server_index in LIVE_CASES:
        suite = by_name(suite_name)
        assert suite is not None, suite_name
        server_cfg = server_configs()[server_index]()
        server_cfg.cipher_suites = [suite]
        server_cfg.min_version = server_cfg.max_version = version
        client_cfg = TLSConfig(verify=False, server_name="localhost", cipher_suites=[suite],
                               min_version=version, max_version=version, enable_ssl3=version == ProtocolVersion.SSL3)
        client = Connection(client_cfg, server_side=False)
        server = Connection(server_cfg, server_side=True)
        client.start_handshake()
        c2s, s2c = bytearray(), bytearray()
        client.send_data(b"GET / HTTP/1.0\r\n\r\n")
        for _ in range(8):
            data = client.bytes_to_send()
            c2s += data
            if data:  # b"" would mean EOF
                server.receive_bytes(data)
            while server.next_event() is not None:
                pass
            if server.handshake_complete:
                server.send_data(b"HTTP/1.0 200 OK\r\n\r\nhello")
            data = server.bytes_to_send()
            s2c += data
            if data:
                client.receive_bytes(data)
            while client.next_event() is not None:
                pass
        assert client.handshake_complete and server.handshake_complete and client.security is not None
        line = f"CLIENT_RANDOM {client.security.client_random.hex()} {client.security.master_secret.hex()}"
        out.append((int(version), suite.key_exchange, server_index, bytes(c2s), bytes(s2c), line))
    return tuple(out)


# ------------------------------------------------------------------------------------------ seeds

_CONTEXTS_FOR_CAPTURES = [
    (0x0303, KeyExchange.RSA), (0x0303, KeyExchange.ECDHE_RSA), (0x0303, KeyExchange.DHE_RSA),
    (0x0301, KeyExchange.RSA), (0x0300, KeyExchange.RSA),
]


@functools.cache
def _all_seeds() -> dict[str, tuple[bytes, ...]]:
    out: dict[str, list[bytes]] = {name: [] for name in
                                   ("deframer", "message", "extension", "sslv2", "client", "server", "established",
                                    "keylog", "capture", "key_exchange", "hello_sequences", "compression", "starttls",
                                    "capture_tools", "large_hello")}
    n_clients, n_servers = len(client_configs()), len(server_configs())
    # captures
    for path in sorted(CAPTURES.iterdir()):
        out["capture"].append(path.read_bytes())
    for stream in capture_streams():
        head = stream[:MAX_STREAM_SEED]
        out["deframer"].append(head)
        if messages.is_sslv2_client_hello(stream):
            length = messages.sslv2_record_length(stream) or 0
            out["sslv2"].append(stream[:length])
            for config in range(n_servers):
                out["server"].append(bytes([config, 0]) + head)
            continue
        if _is_client_stream(stream):
            for config in range(n_servers):
                out["server"].append(bytes([config, 0]) + head)
        elif _is_server_stream(stream):
            for config in range(n_clients):
                out["client"].append(bytes([config, 0]) + head)
        for message in plaintext_handshake_messages(stream):
            out["extension"].extend(_extension_seeds(message))
            for version, kx in _CONTEXTS_FOR_CAPTURES:
                out["message"].append(bytes([context_index(version, kx)]) + message)
    # live handshakes
    for version, kx, server_index, c2s, s2c, line in live_handshakes():
        out["deframer"].extend((c2s, s2c))
        out["server"].append(bytes([server_index, 0]) + c2s)
        out["server"].append(bytes([server_index, 1]) + c2s[:400])  # byte-at-a-time
        client_index = 2 if version == ProtocolVersion.SSL3 else 0
        out["client"].append(bytes([client_index, 0]) + s2c)
        out["keylog"].append(line.encode() + b"\n")
        for message in plaintext_handshake_messages(c2s) + plaintext_handshake_messages(s2c):
            out["message"].append(bytes([context_index(version, kx)]) + message)
            out["extension"].extend(_extension_seeds(message))
    # established connections: records of real post-handshake traffic and abuse, sealed by the harness
    hellos = [m for *_, c2s, _s2c, _line in live_handshakes() for m in plaintext_handshake_messages(c2s) if m[0] == 1]
    items = {
        "data": _item(23, b"GET / HTTP/1.0\r\n\r\n"), "empty-data": _item(23, b""), "close": _item(21, b"\x01\x00"),
        "warning": _item(21, b"\x01\x64"), "fatal": _item(21, b"\x02\x28"), "ccs": _item(20, b"\x01"),
        "hello-request": _item(22, b"\x00\x00\x00\x00"), "renegotiate": _item(22, hellos[0] if hellos else b""),
        "heartbeat": _item(24, b"\x01\x00\x10" + bytes(16)), "empty-handshake": _item(22, b""),
        "half-message": _item(22, (hellos[0] if hellos else b"\x01\x00\x00\x10")[:9]),
    }
    for case in range(len(ESTABLISHED_CASES)):
        for direction in (0, 1):
            selector = bytes([case << 1 | direction])
            for name, item in items.items():
                out["established"].append(selector + item)
                if name != "data":
                    out["established"].append(selector + items["data"] + item + items["data"])
    # key logs
    for path in sorted(KEYS.iterdir()):
        if path.suffix in (".dat", ".keys", ".tmpl"):
            out["keylog"].append(path.read_bytes())
    out["keylog"].append("\n".join(line for *_, line in live_handshakes()).encode())
    out["keylog"].append(b"# comment\nRSA 0011223344556677 " + b"03" * 48 + b"\nCLIENT_HANDSHAKE_TRAFFIC_SECRET "
                         + b"ab" * 32 + b" " + b"cd" * 32 + b"\nRSA Session-ID:" + b"11" * 32 + b" Master-Key:" + b"22" * 48)
    add_todays_seeds(out)
    return {name: tuple(dict.fromkeys(values)) for name, values in out.items()}  # dedupe, keep order


# ------------------------------------------------------------------------------------------ today's parsers

STARTTLS_PRELUDES = [  # (client, server) plaintext before the TLS hello, as the protocols' RFCs spell them
    (b"EHLO client.example\r\nSTARTTLS\r\n", b"220 mx.example ESMTP\r\n250-mx.example\r\n250 STARTTLS\r\n220 Go ahead\r\n"),
    (b"a1 CAPABILITY\r\na2 STARTTLS\r\n", b"* OK IMAP4rev1 ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\na2 OK go\r\n"),
    (b"CAPA\r\nSTLS\r\n", b"+OK POP3 ready\r\n+OK Begin TLS\r\n"),
    (b"AUTH TLS\r\n", b"220 FTP ready\r\n234 AUTH TLS OK\r\n"),
    (bytes.fromhex("0000000804d2162f"), b"S"),
    (bytes.fromhex("301d02010177188016") + b"1.3.6.1.4.1.1466.20037", bytes.fromhex("300c02010178070a010004000400")),
    (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", b"HTTP/1.1 200 Connection established\r\n\r\n"),
    (b"<?xml version='1.0'?><stream:stream to='x'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
     b"<stream:stream><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
]


def _capture_bytes(chunks: list[tuple[bool, bytes]], fmt: str = "pcap") -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "seed"
        write_tcp_capture(path, chunks, segment_size=1448, fmt=fmt)  # type: ignore[arg-type]
        return path.read_bytes()


@functools.cache
def synthetic_sessions() -> tuple[tuple[bytes, str], ...]:
    """(capture, key log line) of sessions built byte by byte from the RFCs by tests/helpers/synthetic_tls.py (DEFLATE
    records, a decompression bomb, DH_anon, an export suite), when the tests are importable (not in an sdist)."""
    try:
        from tests.helpers.synthetic_tls import TLS10, Params, build_session
    except ImportError:
        return ()
    prime = FFDHE_PRIMES[0x0100].to_bytes(256, "big")
    anon_dh = b"".join(len(v).to_bytes(2, "big") + v for v in (prime, b"\x02", prime[:255] + b"\x05"))
    cases = [
        (Params(0x002F, TLS10, "AES", 16, "sha1", 16, compression=1), [b"GET / HTTP/1.1\r\n" * 40, b"x" * 16000]),
        (Params(0x002F, TLS10, "AES", 16, "sha1", 16, compression=1), [b"GET /\r\n", bytes(1 << 20)]),
        (Params(0x0034, TLS10, "AES", 16, "sha1", 16, kx="dh", server_key_exchange=anon_dh), [b"anonymous"]),
        (Params(0x0003, TLS10, "RC4", 5, "md5", export_material=5), [b"forty bits"]),
    ]
    out = []
    for params, client_data in cases:
        session = build_session(params, client_data, [b"HTTP/1.1 200 OK\r\n\r\nhello"])
        out.append((_capture_bytes(session.chunks), session.keylog_line))
    return tuple(out)


def _live_captures() -> list[tuple[bytes, str]]:
    """Each live handshake as a capture, bare and after a STARTTLS prelude (pcap and pcapng), with its key log line."""
    out = []
    for index, (*_, c2s, s2c, line) in enumerate(live_handshakes()):
        client_prelude, server_prelude = STARTTLS_PRELUDES[index % len(STARTTLS_PRELUDES)]
        out.append((_capture_bytes([(True, c2s), (False, s2c)]), line))
        out.append((_capture_bytes([(False, server_prelude), (True, client_prelude), (True, c2s), (False, s2c)],
                                   "pcapng" if index % 2 else "pcap"), line))
    return out


def _compressed_records(plaintexts: list[bytes], split: int = 0) -> bytes:
    """``compression`` input: one DEFLATE stream with a sync flush per record (RFC 3749 §2); ``split`` > 0 cuts every
    record's compressed bytes after that many bytes into two records (a stream split over records)."""
    stream = zlib.compressobj()
    fragments = [stream.compress(p) + stream.flush(zlib.Z_SYNC_FLUSH) for p in plaintexts]
    if split:
        fragments = [piece for f in fragments for piece in (f[:split], f[split:])]
    return b"".join(len(f).to_bytes(2, "big") + f for f in fragments)


def _key_exchange_seeds(messages_by_context: list[tuple[int, KeyExchange, bytes]]) -> list[bytes]:
    """``key_exchange`` inputs: captured and live ServerKeyExchange / ClientKeyExchange bodies under their context and
    every other key exchange, and the anon / export / SRP forms written out from their RFC layouts."""
    kinds = list(KeyExchange)
    versions = list(MESSAGE_VERSIONS)
    out = []
    for version, _kx, message in messages_by_context:
        if message[0] in (12, 16):
            for other in kinds:
                out.append(bytes([versions.index(version), kinds.index(other)]) + message[4:])
    prime = FFDHE_PRIMES[0x0100].to_bytes(256, "big")

    def vec(n: int, value: bytes) -> bytes:
        return len(value).to_bytes(n, "big") + value

    dh_params = vec(2, prime) + vec(2, b"\x02") + vec(2, prime[:255] + b"\x07")
    ec_params = b"\x03\x00\x17" + vec(1, b"\x04" + bytes(range(64)))
    rsa_params = vec(2, b"\xc3" + bytes(63)) + vec(2, b"\x01\x00\x01")  # RFC 2246 §7.4.3 ServerRSAParams, 512-bit
    srp_params = vec(2, prime[:128]) + vec(2, b"\x02") + vec(1, bytes(16)) + vec(2, prime[:128])  # RFC 5054 §2.8.2
    signature = vec(2, bytes(64))
    for kx, body, signed in (  # ServerKeyExchange forms, then ClientKeyExchange forms
        (KeyExchange.DH_ANON, dh_params, False), (KeyExchange.DH_ANON_EXPORT, dh_params, False),
        (KeyExchange.ECDH_ANON, ec_params, False), (KeyExchange.RSA_EXPORT, rsa_params, True),
        (KeyExchange.SRP_SHA, srp_params, False), (KeyExchange.SRP_SHA_RSA, srp_params, True),
        (KeyExchange.DHE_DSS_EXPORT, dh_params, True),
        (KeyExchange.SRP_SHA, vec(2, prime[:128]), False), (KeyExchange.DH_RSA, b"", False),
        (KeyExchange.ECDH_ECDSA, b"", False), (KeyExchange.ECDH_RSA, vec(1, b"\x04" + bytes(64)), False),
        (KeyExchange.DH_DSS, vec(2, prime), False), (KeyExchange.RSA_EXPORT, vec(2, bytes(64)), False),
    ):
        for index, version in enumerate(versions):
            tail = (b"\x04\x01" if version >= 0x0303 else b"") + signature if signed else b""
            out.append(bytes([index, kinds.index(kx)]) + body + tail)
    return out


def add_todays_seeds(out: dict[str, list[bytes]]) -> None:
    """Seeds of the key_exchange, hello_sequences, compression, starttls, capture_tools and large_hello targets, SSLv2-format
    hellos offering TLS 1.0 / 1.2 for ``server``, DEFLATE / anon / export / STARTTLS captures for ``capture``."""
    contexts: list[tuple[int, KeyExchange, bytes]] = []
    for version, kx, _index, c2s, s2c, _line in live_handshakes():
        contexts += [(version, kx, m) for m in plaintext_handshake_messages(c2s) + plaintext_handshake_messages(s2c)]
    for stream in capture_streams():
        for message in plaintext_handshake_messages(stream):
            contexts += [(version, kx, message) for version, kx in _CONTEXTS_FOR_CAPTURES]
    out["key_exchange"] += _key_exchange_seeds(contexts)
    for _version, _kx, message in contexts:
        if message[0] in (1, 2):
            out["hello_sequences"].append(bytes([message[0] - 1]) + message[4:])
    def extension(ext_type: int, data: bytes) -> bytes:
        return ext_type.to_bytes(2, "big") + len(data).to_bytes(2, "big") + data

    retry = extension(0x2B, b"\x03\x04") + extension(0x33, b"\x11\xec")  # RFC 8446 §4.1.4: X25519MLKEM768
    out["hello_sequences"].append(b"\x01\x03\x03" + messages.HELLO_RETRY_REQUEST_RANDOM + b"\x00\x13\x01\x00"
                                  + len(retry).to_bytes(2, "big") + retry)
    shares = b"\x11\xec\x04\xc0" + bytes(1216) + b"\x00\x1d\x00\x20" + bytes(32)  # hybrid (1,216 bytes) and x25519
    offer = extension(0x2B, b"\x02\x03\x04") + extension(0x33, len(shares).to_bytes(2, "big") + shares)
    out["hello_sequences"].append(b"\x00\x03\x03" + bytes(32) + b"\x00\x00\x02\x13\x01\x01\x00"
                                  + len(offer).to_bytes(2, "big") + offer)
    texts = [stream[:3000] for stream in capture_streams()[:4]] + [b"GET / HTTP/1.1\r\n" * 40, bytes(16384)]
    out["compression"] += [_compressed_records(texts), _compressed_records(texts, split=7),
                           _compressed_records([bytes(1 << 20)]), _compressed_records([b"x" * 16385]),
                           _compressed_records([b"one"])[:-4], (9).to_bytes(2, "big") + zlib.compress(b"a")]
    for (client, server), (*_, c2s, s2c, _line) in zip(STARTTLS_PRELUDES, live_handshakes() * 2, strict=False):
        out["starttls"] += [bytes([1, 128]) + client + c2s[:600], bytes([0, 128]) + server + s2c[:600],
                            bytes([1 | 40, 64]) + client + server + c2s[:100]]
    captures = [(path.read_bytes(), _keylog_text()) for path in sorted(CAPTURES.iterdir())]
    captures += _live_captures() + list(synthetic_sessions())
    for capture, keylog in captures:
        key_bytes = keylog.encode()[:0xFFFF]
        for tool in range(3):
            out["capture_tools"].append(bytes([tool]) + len(key_bytes).to_bytes(2, "big") + key_bytes + capture)
    out["large_hello"] += [  # the shapes of tests/hostile's LARGE_HELLOS, as fuzz/targets.large_client_hello layouts
        bytes([0, 0x40, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 255, 0]),  # 32,767 suites, 16,383 empty extensions, 9 records
        bytes([1, 3, 0xE8, 4 | 2, 0xFF, 0xFF, 0, 4, 255, 0]),  # 32,760 schemes, a session ID, 1000-byte records
        bytes([2, 0, 0, 0, 0xFF, 0xFF, 0x10, 0, 255, 3]) + b"abc",  # SSL 3.0-capable server
        bytes([0, 0, 0, 1, 0, 0, 0xFF, 0xFF, 1, 0]),  # repeated extension type
        bytes([0, 0x40, 0, 0x90, 0xFF, 0xFF, 0, 1, 2, 0xFF]) + bytes(255),  # handshake length one more than sent
    ]
    for record in out["sslv2"]:  # the captured SSLv2-format hello offering TLS 1.0 and 1.2 (RFC 5246 Appendix E.2)
        for version in (b"\x03\x01", b"\x03\x03"):
            for config in (0, 1):
                out["server"].append(bytes([config, 0]) + record[:3] + version + record[5:])
    for capture, _line in list(synthetic_sessions()) + _live_captures()[1::2]:
        out["capture"].append(capture)  # DEFLATE, anon, export, STARTTLS: shapes the suite's captures lack


def seeds(target: str) -> tuple[bytes, ...]:
    """The seed inputs of ``target``."""
    _credentials("rsa2048")  # generate before timing-sensitive callers start
    return _all_seeds()[target]


def write_corpus(directory: Path, target: str) -> int:
    """Write the seeds of ``target`` into ``directory`` (named by SHA-1, like libFuzzer); returns the count."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for data in seeds(target):
        name = hashlib.sha1(data).hexdigest()
        path = directory / name
        if not path.exists():
            path.write_bytes(data)
        count += 1
    return count

