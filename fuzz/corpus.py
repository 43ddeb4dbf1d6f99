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
from collections.abc import Iterable
from pathlib import Path

from fuzz.targets import (
    ESTABLISHED_CASES,
    EXTENSION_PARSERS,
    WIRESHARK,
    _credentials,
    client_configs,
    context_index,
    server_configs,
)
from tlsstate.capture.pcap import CaptureError, open_capture
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
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
                                    "keylog", "capture")}
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
    return {name: tuple(dict.fromkeys(values)) for name, values in out.items()}  # dedupe, keep order


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

