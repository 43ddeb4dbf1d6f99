"""Fuzz targets: one function per attack surface, each taking arbitrary bytes.

Contract checked by every target (issue 5, item 2): for ANY input the code under test either succeeds or
raises a typed tlsstate error (:class:`tlsstate.wire.errors.TLSError` subclasses; for the capture reader its
documented :class:`tlsstate.capture.pcap.CaptureError`). Any other exception escapes the target and is a
bug. The same functions are driven by atheris (``fuzz/run.py``), by the pure-Python mutation fallback in
the same script, and by the hypothesis tests in ``tests/test_fuzz_*.py``.

Extra invariants checked where cheap:

* Connection: a fatal error is sticky (every later call raises the same object) and an
  ``InternalError`` produced by :meth:`Connection._guard` from a *non*-tlsstate exception is re-raised as
  the original exception — the connection hid a bug behind an alert, the fuzzer must still see it.
* Deframer: memory stays bounded (never more than one record plus one input chunk buffered) and any
  chunking of the same bytes gives the same records and the same error.

Input layouts (what the seed corpus in ``fuzz/corpus.py`` writes):

* ``deframer``: raw record-layer bytes.
* ``message``: byte 0 selects a :class:`ParseContext` (version x key exchange), then one handshake message
  with its 4-byte header (the declared length is ignored; the body is everything after the header).
* ``extension``: byte 0 selects an extension parser, the rest is the extension_data.
* ``sslv2``: a whole SSLv2-format record (2-byte header included).
* ``client`` / ``server``: byte 0 selects a configuration, byte 1 a chunk size (0 = one chunk), then the
  byte stream the peer sent.
* ``established``: byte 0 picks a completed live handshake and the receiving side, then records as
  ``type(1) length(2) plaintext`` that the other side seals with its real write keys.
* ``keylog``: key log file bytes (decoded the way ``load_keylog`` does, UTF-8 with replacement).
* ``capture``: a pcap / pcapng (optionally gzip) file.
* ``key_exchange``: byte 0 = version, byte 1 = key exchange, then a ServerKeyExchange / ClientKeyExchange body.
* ``hello_sequences``: byte 0 bit 0 = ClientHello (0) or ServerHello (1), then the hello's body.
* ``compression``: one direction's DEFLATE records as ``length(2) fragment`` items.
* ``starttls``: byte 0 = direction (bit 0) and start offset, byte 1 = where the client's prelude ends, then bytes.
* ``capture_tools``: byte 0 = tool (keylog check, --write-pcap, --inject-secrets), 2-byte key log length, the key log,
  then a capture file.
* ``large_hello``: a compact description of a ClientHello up to 131,396 bytes (see :func:`large_client_hello`).
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from tlsstate.capture.decrypt import ConnectionResult, Decryption, DecryptOptions, decrypt_capture
from tlsstate.capture.export import PlaintextCapture, inject_secrets, used_keylog_lines
from tlsstate.capture.groups import KeyExchangeGroup, certificate_group, server_key_exchange_group
from tlsstate.capture.keycheck import check_keylogs
from tlsstate.capture.keysource import KeySource, RsaKey, load_rsa_key
from tlsstate.capture.pcap import CaptureError, open_capture
from tlsstate.capture.starttls import HEAD_KEPT, find_hello, identify
from tlsstate.cli.keylog import render as render_keylog_check
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.certs import generate_self_signed
from tlsstate.crypto.suites import KeyExchange, by_name
from tlsstate.record import Deframer
from tlsstate.record.compression import Decompressor
from tlsstate.sessions.cache import SessionCache
from tlsstate.wire import extensions as ext
from tlsstate.wire import messages
from tlsstate.wire.constants import MAX_COMPRESSED_LENGTH, MAX_PLAINTEXT_LENGTH, AlertDescription, ProtocolVersion
from tlsstate.wire.errors import DecompressionFailure, InternalError, ProtocolError, TLSError
from tlsstate.wire.keylog import parse_keylog, scan_keylog

ROOT = Path(__file__).resolve().parents[1]
VECTORS = Path(os.environ.get("TLSSTATE_VECTORS", ROOT.parent / "shared" / "vectors"))
WIRESHARK = VECTORS / "wireshark-test-suite"

__all__ = ["TARGETS", "FuzzBug", "run_target"]


class FuzzBug(AssertionError):
    """An invariant (other than "no untyped exception") was violated."""


# ------------------------------------------------------------------------------------------ deframer

DEFRAMER_MAX_FRAGMENT = 2048  # small cap so that the overflow path is reachable by mutation


def _deframe(data: bytes, chunk: int) -> tuple[list[tuple[int, int, bytes]], ProtocolError | None]:
    deframer = Deframer(max_fragment_length=DEFRAMER_MAX_FRAGMENT)
    records: list[tuple[int, int, bytes]] = []
    try:
        for start in range(0, max(len(data), 1), chunk):
            piece = data[start : start + chunk]
            deframer.feed(piece)
            while (record := deframer.next_record()) is not None:
                records.append((record.content_type, record.version, record.fragment))
            # bounded: at most a partial header/record (<= 5 + cap) plus nothing else
            if deframer.buffered > 5 + DEFRAMER_MAX_FRAGMENT:
                raise FuzzBug(f"Deframer buffers {deframer.buffered} bytes (> one record)")
    except ProtocolError as exc:
        return records, exc
    return records, None


def _deframe_received(data: bytes, chunk: int) -> tuple[list[tuple[int, int, bytes]], ProtocolError | None]:
    """The same through the recv_into-style path: bytes written into receive_buffer() views, then received()."""
    deframer = Deframer(max_fragment_length=DEFRAMER_MAX_FRAGMENT)
    records: list[tuple[int, int, bytes]] = []
    try:
        for start in range(0, len(data), chunk):
            piece = data[start : start + chunk]
            view = deframer.receive_buffer(len(piece) + chunk % 3)  # sometimes more room than is used
            view[: len(piece)] = piece
            deframer.received(len(piece))
            while (record := deframer.next_record()) is not None:
                records.append((record.content_type, record.version, record.fragment))
            if deframer.buffered > 5 + DEFRAMER_MAX_FRAGMENT:
                raise FuzzBug(f"Deframer buffers {deframer.buffered} bytes (> one record)")
            if len(deframer.buffer) > 4 * (5 + DEFRAMER_MAX_FRAGMENT) + 2 * chunk:
                raise FuzzBug(f"Deframer receive buffer grew to {len(deframer.buffer)} bytes")
    except ProtocolError as exc:
        return records, exc
    return records, None


def fuzz_deframer(data: bytes) -> None:
    """Record layer framing (RFC 5246 §6.2.1): typed errors only, chunking-independent, bounded; feed() and
    the receive_buffer()/received() path give the same records and errors."""
    whole, whole_error = _deframe(data, max(len(data), 1))
    chunk = (data[0] % 7 + 1) if data else 1
    for name, (pieces, pieces_error) in (("feed", _deframe(data, chunk)),
                                         ("receive_buffer", _deframe_received(data, chunk))):
        if whole != pieces:
            raise FuzzBug(f"{name} with chunk size {chunk} changes the records")
        whole_alert = whole_error.alert if whole_error is not None else None
        pieces_alert = pieces_error.alert if pieces_error is not None else None
        if type(whole_error) is not type(pieces_error) or whole_alert != pieces_alert:
            raise FuzzBug(f"{name} with chunk size {chunk} changes the error: {whole_error!r} vs {pieces_error!r}")


# ------------------------------------------------------------------------------------------ messages

MESSAGE_VERSIONS = (0x0300, 0x0301, 0x0302, 0x0303, 0x0304)
MESSAGE_KEY_EXCHANGES: tuple[KeyExchange | None, ...] = (None, *KeyExchange)
MESSAGE_CONTEXTS = [
    messages.ParseContext(version, kx) for version in MESSAGE_VERSIONS for kx in MESSAGE_KEY_EXCHANGES
]


def context_index(version: int, key_exchange: KeyExchange | None) -> int:
    """Selector byte for ``fuzz_message`` (used by the corpus builder)."""
    return MESSAGE_CONTEXTS.index(messages.ParseContext(version, key_exchange))


def _check_alert(exc: ProtocolError) -> None:
    if not isinstance(exc.alert, AlertDescription):
        raise FuzzBug(f"{type(exc).__name__} carries a non-alert {exc.alert!r}")


def fuzz_message(data: bytes) -> None:
    """Every handshake message parser (RFC 5246 §7.4) under every version and key exchange."""
    if len(data) < 5:
        return
    ctx = MESSAGE_CONTEXTS[data[0] % len(MESSAGE_CONTEXTS)]
    raw = messages.RawHandshake(data[1], data[5:], data[1:])
    try:
        msg = messages.parse_message(raw, ctx)
    except ProtocolError as exc:
        _check_alert(exc)
        return
    if msg.msg_type != data[1]:
        raise FuzzBug(f"parsed a {type(msg).__name__} from handshake type {data[1]}")
    # a parsed message must serialize again without an untyped error
    serialize = getattr(msg, "serialize", None)
    if serialize is not None:
        try:
            params = inspect.signature(serialize).parameters
            serialize(ctx.version) if "version" in params else serialize()
        except (TLSError, ValueError):  # ValueError: documented for bodies over 2^24 (encode_handshake)
            pass


EXTENSION_PARSERS: list[Callable[..., object]] = [
    fn for name, fn in sorted(inspect.getmembers(ext, inspect.isfunction))
    if name.startswith("parse_") and name != "parse_empty"
]


def fuzz_extension(data: bytes) -> None:
    """Every typed extension parser in tlsstate.wire.extensions."""
    if not data:
        return
    parse = EXTENSION_PARSERS[data[0] % len(EXTENSION_PARSERS)]
    try:
        parse(data[1:])
    except ProtocolError as exc:
        _check_alert(exc)


def fuzz_sslv2(data: bytes) -> None:
    """SSLv2-format ClientHello (RFC 5246 Appendix E.2)."""
    try:
        hello = messages.parse_sslv2_client_hello(data)
    except ProtocolError as exc:
        _check_alert(exc)
        return
    if len(hello.random) != 32:
        raise FuzzBug(f"SSLv2 hello parsed to a {len(hello.random)}-byte random")


# ------------------------------------------------------------------------------------------ connection


@functools.cache
def _credentials(key_type: str) -> tuple[list[object], object]:
    cert, key = generate_self_signed(["localhost"], key_type)
    return [cert], key


def client_configs() -> list[Callable[[], TLSConfig]]:
    """Client configurations byte 0 of a ``client`` input chooses from."""
    return [
        lambda: TLSConfig(verify=False, server_name="localhost"),
        lambda: TLSConfig(verify=False, server_name="localhost", alpn_protocols=["h2", "http/1.1"],
                          extended_master_secret=False, encrypt_then_mac=False),
        lambda: TLSConfig(verify=False, min_version=ProtocolVersion.SSL3, enable_ssl3=True),
    ]


def server_configs() -> list[Callable[[], TLSConfig]]:
    """Server configurations byte 0 of a ``server`` input chooses from (RSA and ECDSA certificates)."""
    def make(key_type: str, **kw: object) -> Callable[[], TLSConfig]:
        def build() -> TLSConfig:
            chain, key = _credentials(key_type)
            cfg = TLSConfig(certificate_chain=chain, private_key=key, session_cache=SessionCache(8))  # type: ignore[arg-type]
            for name, value in kw.items():
                setattr(cfg, name, value)
            return cfg
        return build

    return [
        make("rsa2048"),
        make("ecdsa-p256", alpn_protocols=["h2"]),
        make("rsa2048", min_version=ProtocolVersion.SSL3, enable_ssl3=True, encrypt_then_mac=False),
    ]


def _unwrap_bug(exc: TLSError) -> None:
    """Re-raise the real exception behind an InternalError that _guard made from a non-TLS exception."""
    cause = exc.__cause__
    if isinstance(exc, InternalError) and cause is not None and not isinstance(cause, TLSError):
        raise cause


def _drive(conn: Connection, stream: bytes, chunk: int) -> None:
    try:
        for start in range(0, len(stream), chunk):
            conn.receive_bytes(stream[start : start + chunk])
            while conn.next_event() is not None:
                pass
            conn.bytes_to_send()
        conn.receive_bytes(b"")
        while conn.next_event() is not None:
            pass
        conn.send_data(b"ping")  # held before the handshake completes, sealed after
        conn.close()
        conn.bytes_to_send()
    except TLSError as exc:
        _unwrap_bug(exc)
        if isinstance(exc, ProtocolError):
            _check_alert(exc)
        conn.bytes_to_send()  # never raises, even after a failure
        if conn.error is not None:
            try:
                conn.next_event()
            except TLSError as again:
                if again is not conn.error:
                    raise FuzzBug("a connection error is not sticky") from again
            else:
                raise FuzzBug("next_event() after a fatal error did not raise")


def _connection_input(data: bytes, configs: list[Callable[[], TLSConfig]]) -> tuple[TLSConfig, bytes, int] | None:
    if len(data) < 2:
        return None
    config = configs[data[0] % len(configs)]()
    chunk = data[1] or max(len(data) - 2, 1)
    return config, data[2:], chunk


def fuzz_server(data: bytes) -> None:
    """A whole server Connection fed a hostile client byte stream."""
    parsed = _connection_input(data, server_configs())
    if parsed is None:
        return
    config, stream, chunk = parsed
    _drive(Connection(config, server_side=True), stream, chunk)


def fuzz_client(data: bytes) -> None:
    """A whole client Connection, after start_handshake, fed a hostile server byte stream."""
    parsed = _connection_input(data, client_configs())
    if parsed is None:
        return
    config, stream, chunk = parsed
    conn = Connection(config, server_side=False)
    conn.start_handshake()
    conn.bytes_to_send()
    _drive(conn, stream, chunk)


ESTABLISHED_CASES = [  # (suite, version, server config index): one per cipher family / version shape
    ("AES128-SHA", ProtocolVersion.TLS1_0, 0),
    ("AES128-SHA256", ProtocolVersion.TLS1_2, 0),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", ProtocolVersion.TLS1_2, 1),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", ProtocolVersion.TLS1_2, 1),
    ("RC4-SHA", ProtocolVersion.TLS1_1, 0),
    ("AES128-SHA", ProtocolVersion.SSL3, 2),
]


def established_pair(case: int) -> tuple[Connection, Connection]:
    """A client and a server that completed a handshake in memory (ESTABLISHED_CASES[case])."""
    suite_name, version, server_index = ESTABLISHED_CASES[case % len(ESTABLISHED_CASES)]
    suite = by_name(suite_name)
    assert suite is not None
    server_cfg = server_configs()[server_index]()
    server_cfg.cipher_suites = [suite]
    server_cfg.min_version = server_cfg.max_version = version
    server_cfg.client_renegotiation = True  # a hostile renegotiating ClientHello reaches the RFC 5746 checks
    client_cfg = TLSConfig(verify=False, cipher_suites=[suite], min_version=version, max_version=version,
                           enable_ssl3=version == ProtocolVersion.SSL3, encrypt_then_mac=False,
                           server_renegotiation=True)  # and a HelloRequest a new ClientHello
    client = Connection(client_cfg, server_side=False)
    server = Connection(server_cfg, server_side=True)
    client.start_handshake()
    for _ in range(6):
        for source, sink in ((client, server), (server, client)):
            if data := source.bytes_to_send():  # b"" would mean EOF
                sink.receive_bytes(data)
            while sink.next_event() is not None:
                pass
    if not (client.handshake_complete and server.handshake_complete):
        raise FuzzBug(f"live handshake {suite_name} did not complete")
    return client, server


def established_records(data: bytes) -> list[tuple[int, bytes]]:
    """``type(1) length(2) plaintext`` items (the last one may be short)."""
    items = []
    pos = 0
    while pos + 3 <= len(data):
        length = int.from_bytes(data[pos + 1 : pos + 3], "big")
        items.append((data[pos], data[pos + 3 : pos + 3 + min(length, 1 << 14)]))
        pos += 3 + length
    return items


def fuzz_established(data: bytes) -> None:
    """After a real handshake, authenticated records with hostile *plaintext* (any content type, alert
    bodies, CCS payloads, handshake fragments such as a renegotiating ClientHello or HelloRequest,
    heartbeat) sealed with the peer's real keys. Byte 0: bit 0 = which side receives, the rest the case."""
    if not data:
        return
    client, server = established_pair(data[0] >> 1)
    sender, receiver = (client, server) if data[0] & 1 == 0 else (server, client)
    stream = bytearray()
    version = sender.negotiated_version or 0x0303
    for content_type, plaintext in established_records(data[1:]):
        try:
            stream += sender.write_state.seal(content_type, version, plaintext)
        except TLSError:
            return  # e.g. a record our own sender refuses to build
    _drive(receiver, bytes(stream), max(len(stream), 1))


# ------------------------------------------------------------------------------------------ key log


def fuzz_keylog(data: bytes) -> None:
    """NSS key log text: malformed lines are warnings, never exceptions; ``keylog check``'s line scan
    (:func:`scan_keylog`) finds the same malformed lines and an entry for every other non-comment line."""
    text = data.decode("utf-8", errors="replace")
    keylog, warnings = parse_keylog(text)
    for warning in warnings:
        if not isinstance(warning, str):
            raise FuzzBug(f"warning {warning!r} is not text")
    repr(keylog)
    len(keylog)
    entries, malformed = scan_keylog(text)
    if len(malformed) != len(warnings):
        raise FuzzBug(f"scan_keylog finds {len(malformed)} malformed lines, parse_keylog {len(warnings)}")
    for entry in entries:
        if keylog.line_of(entry.label, entry.key) is None and not entry.label.endswith("_N"):
            raise FuzzBug(f"line {entry.line} ({entry.label}) is an entry of the scan but not of the key log")


# ------------------------------------------------------------------------------------------ capture


@functools.cache
def _rsa_keys() -> tuple[RsaKey, ...]:
    keys = []
    for name in ("rsasnakeoil2.key", "rsa-p-lt-q.key"):
        path = WIRESHARK / "keys" / name
        if path.exists():
            keys.append(load_rsa_key(path))
    return tuple(keys)


@functools.cache
def _keylog_text() -> str:
    texts = []
    for name in ("dhe1_keylog.dat", "tls12-chacha20poly1305.keys", "tls13-20-chacha20poly1305.keys"):
        path = WIRESHARK / "keys" / name
        if path.exists():
            texts.append(path.read_text())
    return "\n".join(texts)


def _scratch_dir() -> str:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()


def check_no_hidden_error(connections: Sequence[ConnectionResult]) -> None:
    """The capture reader turns an exception while processing a record into a note and an ``internal_error`` cause
    (capture/stream.py: a capture must never end in a traceback), like Connection._guard; it is still a bug."""
    for connection in connections:
        hidden = [note for note in connection.session.notes if ": cannot process (" in note]
        if hidden or any(u["cause"] == "internal_error" for u in connection.undecryptable()):
            raise FuzzBug(f"connection {connection.number}: the capture reader hid an exception: {hidden}")


def fuzz_capture(data: bytes) -> None:
    """The whole decrypt pipeline (pcap/pcapng/gzip framing, TCP, sessions, records) on a hostile file."""
    keys = KeySource(rsa_keys=list(_rsa_keys()))
    keys.add_keylog_text(_keylog_text(), "fuzz keys")
    fd, name = tempfile.mkstemp(suffix=".pcap", dir=_scratch_dir())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            result = decrypt_capture(name, keys, DecryptOptions(keep_records=True, max_buffer=1 << 20))
        except CaptureError:
            return
        for connection in result.connections:
            connection.to_json()
        check_no_hidden_error(result.connections)
    finally:
        os.unlink(name)


# ------------------------------------------------------------------------------------------ key exchange messages


def fuzz_key_exchange(data: bytes) -> None:
    """ServerKeyExchange and ClientKeyExchange under every version and key exchange, including the anonymous
    (DH_anon, ECDH_anon), RSA_EXPORT, SRP and static (EC)DH forms (RFC 5246 §7.4.3/§7.4.7, RFC 4492 §2.5/§5.7,
    RFC 2246 §7.4.3, RFC 5054 §2.8); what parses must serialize back to the same body (no silently wrong view),
    and the capture report's group naming (capture/groups.py) on it gives a name or None.
    Byte 0: version, byte 1: key exchange, the rest: the message body."""
    if len(data) < 2:
        return
    version = MESSAGE_VERSIONS[data[0] % len(MESSAGE_VERSIONS)]
    key_exchange = list(KeyExchange)[data[1] % len(KeyExchange)]
    body = data[2:]
    for message_class in (messages.ServerKeyExchange, messages.ClientKeyExchange):
        try:
            parsed = message_class.parse(body, version, key_exchange)
        except ProtocolError as exc:
            _check_alert(exc)
            continue
        again = parsed.serialize(version) if isinstance(parsed, messages.ClientKeyExchange) else parsed.serialize()
        if again != body:
            raise FuzzBug(f"{message_class.__name__} ({key_exchange.value}, 0x{version:04x}) serializes to other "
                          f"bytes than it was parsed from: {body.hex()} -> {again.hex()}")
    try:
        server_key_exchange_group(body, version, key_exchange)
    except ProtocolError as exc:
        _check_alert(exc)
    certificate_group(body)


# ------------------------------------------------------------------------------------------ hello sequences


def _extensions_by_hand(block: bytes) -> list[tuple[int, bytes]]:
    """The reference reading of an extensions block (RFC 5246 §7.4.1.4), for comparison with ExtensionBlock."""
    out, pos = [], 0
    while pos + 4 <= len(block):
        length = int.from_bytes(block[pos + 2 : pos + 4], "big")
        out.append((int.from_bytes(block[pos : pos + 2], "big"), block[pos + 4 : pos + 4 + length]))
        pos += 4 + length
    return out


def _check_sequence(name: str, lazy: Sequence[object], eager: tuple[object, ...]) -> None:
    """A compact sequence behaves as the tuple of its items: length, items, slices, equality, hash, repr."""
    if len(lazy) != len(eager) or tuple(lazy) != eager or lazy != eager or not lazy == list(eager):
        raise FuzzBug(f"{name} differs from the tuple of its items")
    if hash(lazy) != hash(eager) or repr(lazy) != repr(eager):
        raise FuzzBug(f"{name}: hash or repr differs from the tuple's")
    if eager and any(lazy[index] != eager[index] for index in (0, -1, len(eager) // 2)):
        raise FuzzBug(f"{name}: an item differs")
    for part in (slice(1, None), slice(None, None, -1), slice(len(eager) // 3, None, 2)):
        if tuple(lazy[part]) != eager[part] or lazy[part] != eager[part]:
            raise FuzzBug(f"{name}[{part}] differs")
    if len(eager) > 1 and lazy == eager[:-1]:
        raise FuzzBug(f"{name} equals a shorter tuple")


def _key_shares_of(hello: messages.ClientHello | messages.ServerHello) -> None:
    """The capture report's key share reading (capture/groups.py KeyExchangeGroup) of one hello."""
    group = KeyExchangeGroup()
    try:
        if isinstance(hello, messages.ClientHello):
            group.client_hello(hello)
        else:
            group.server_hello(hello, hello.is_hello_retry_request)
    except ProtocolError as exc:
        _check_alert(exc)
    json.dumps(group.to_json())
    group.describe()


def fuzz_hello_sequences(data: bytes) -> None:
    """The lazily built sequences of a parsed hello (wire/sequences.py): U16Sequence cipher suites and the
    ExtensionBlock, compared with a reading by hand; and the capture report's key shares of it (capture/groups.py).
    Byte 0 bit 0: ClientHello or ServerHello; then the body."""
    if not data:
        return
    message_class = messages.ServerHello if data[0] & 1 else messages.ClientHello
    body = data[1:]
    try:
        hello = message_class.parse(body)
    except ProtocolError as exc:
        _check_alert(exc)
        return
    if isinstance(hello, messages.ClientHello):
        session_length = body[34]
        suites_at = 35 + session_length
        suites_length = int.from_bytes(body[suites_at : suites_at + 2], "big")
        raw = body[suites_at + 2 : suites_at + 2 + suites_length]
        values = tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))
        _check_sequence("cipher_suites", hello.cipher_suites, values)
        for value in (*values[:3], -1, 0x10000, 0, 0xFFFF, "x"):
            if (value in hello.cipher_suites) != (value in values):
                raise FuzzBug(f"{value!r} in cipher_suites is wrong")
    _key_shares_of(hello)
    if hello.extensions is None:
        return
    block_length = sum(4 + len(e.data) for e in hello.extensions)
    reference = tuple(messages.Extension(t, d) for t, d in _extensions_by_hand(body[len(body) - block_length :]))
    _check_sequence("extensions", hello.extensions, reference)
    if hello.serialize() != body:
        raise FuzzBug(f"{message_class.__name__} serializes to other bytes than it was parsed from")


# ------------------------------------------------------------------------------------------ DEFLATE records


def compression_records(data: bytes) -> list[bytes]:
    """``length(2) fragment`` items (the last one may be short), each fragment at most 2^14 + 1024 bytes."""
    items, pos = [], 0
    while pos + 2 <= len(data):
        length = min(int.from_bytes(data[pos : pos + 2], "big"), MAX_COMPRESSED_LENGTH)
        items.append(data[pos + 2 : pos + 2 + length])
        pos += 2 + length
    return items


def fuzz_compression(data: bytes) -> None:
    """One direction's DEFLATE records (RFC 3749 §2, RFC 5246 §6.2.2): bombs, garbage, a stream split over
    records at any point. Typed DecompressionFailure only, at most 2^14 bytes out per record, and what every
    record gave, joined, is what one unbounded zlib stream gives for the joined fragments (no lost or invented
    bytes). Input: ``length(2) fragment`` items."""
    records = compression_records(data)
    decompressor = Decompressor()
    out = bytearray()
    for fragment in records:
        try:
            plaintext = decompressor.decompress(fragment)
        except DecompressionFailure as exc:
            _check_alert(exc)
            return
        if len(plaintext) > MAX_PLAINTEXT_LENGTH:
            raise FuzzBug(f"a record decompressed to {len(plaintext)} bytes (> 2^14)")
        out += plaintext
    reference = zlib.decompressobj()
    try:
        expected = reference.decompress(b"".join(records), len(out) + 1)
    except zlib.error:
        return  # e.g. a stream that ended and a new one began: the pieces were read as separate streams
    if reference.eof:
        return  # a finished stream followed by another one: compared piece by piece above
    if bytes(out) != expected:
        raise FuzzBug(f"records decompressed to {len(out)} bytes, the joined stream to {len(expected)} different ones")


# ------------------------------------------------------------------------------------------ STARTTLS prelude


def _find_hello_by_hand(data: bytes, from_client: bool, start: int) -> int:
    """The reference: the first offset >= start whose 11 bytes are a plausible hello record (starttls.find_hello)."""
    for pos in range(start, len(data) - 10):
        length, body = data[pos + 3] << 8 | data[pos + 4], int.from_bytes(data[pos + 6 : pos + 9], "big")
        if (data[pos] == 22 and data[pos + 1] == 3 and data[pos + 2] <= 4 and 4 <= length <= 16384 + 2048
                and data[pos + 5] == 2 - from_client and body >= 38 and data[pos + 9] == 3 and data[pos + 10] <= 4):
            return pos
    return -1


def fuzz_starttls(data: bytes) -> None:
    """The plaintext-prelude finder and the protocol namer (capture/starttls.py). Byte 0: bit 0 = the client's
    direction, the rest a start offset; byte 1: where the client's prelude ends and the server's begins."""
    if len(data) < 2:
        return
    from_client, start, rest = bool(data[0] & 1), data[0] >> 1, data[2:]
    found = find_hello(rest, from_client, start)
    if found != _find_hello_by_hand(rest, from_client, start):
        raise FuzzBug(f"find_hello gives {found}, the reference {_find_hello_by_hand(rest, from_client, start)}")
    if find_hello(bytearray(rest), from_client, start) != found:
        raise FuzzBug("find_hello differs on a bytearray")
    split = data[1] * len(rest) // 255
    if not isinstance(name := identify(rest[:split][:HEAD_KEPT], rest[split:][:HEAD_KEPT]), str | None):
        raise FuzzBug(f"identify gave {name!r}")


# ------------------------------------------------------------------------------------------ capture tools


def split_capture_tools_input(data: bytes) -> tuple[int, bytes, bytes]:
    """``capture_tools`` input: byte 0 = tool, 2-byte key log length, the key log, then the capture file."""
    length = int.from_bytes(data[1:3], "big") if len(data) >= 3 else 0
    return (data[0], data[3 : 3 + length], data[3 + length :]) if len(data) >= 3 else (0, b"", b"")


def _write_pcap_of(capture: str, keys: KeySource, directory: str) -> None:
    """``decrypt --write-pcap`` (capture/export.py PlaintextCapture) wired the way cli/decrypt.py wires it; the file
    written must read back as a capture carrying as many TCP payload bytes as were decrypted."""
    out_path = os.path.join(directory, "plain.pcap")
    with open(out_path, "wb") as out:
        pcap = PlaintextCapture(out)
        options = DecryptOptions(sink_factory=pcap.sink, max_buffer=1 << 20)
        options.on_time, options.on_start, options.on_done = pcap.clock, pcap.started, pcap.done
        try:
            result = decrypt_capture(capture, keys, options)
        except CaptureError:  # not a capture, or CaptureWriteFailed (a time pcap cannot hold)
            return
        finally:
            pcap.close()
    check_no_hidden_error(result.connections)
    decrypted = sum(c.session.client.app_bytes + c.session.server.app_bytes for c in result.connections)
    with open_capture(out_path) as reader:
        written = sum(len(segment.payload) for segment in reader.segments())
    if written != decrypted:
        raise FuzzBug(f"--write-pcap wrote {written} bytes of TCP payload for {decrypted} bytes decrypted")


def _inject_secrets_of(capture: str, keys: KeySource, directory: str) -> None:
    """``decrypt --inject-secrets``: the pcapng written must read back with its packets and its key log block."""
    try:
        result = decrypt_capture(capture, keys, DecryptOptions(max_buffer=1 << 20))
    except CaptureError:
        return
    check_no_hidden_error(result.connections)
    lines = used_keylog_lines(keys.keylog, result.connections)
    out_path = Path(directory) / "secrets.pcapng"
    packets = inject_secrets(capture, out_path, lines)  # cli/decrypt.py catches OSError only
    again = Decryption(out_path, KeySource())
    list(again)
    if again.packets != packets or (lines and not again.keylog_text):
        raise FuzzBug(f"the injected capture reads back as {again.packets} packets (wrote {packets}), "
                      f"{len(again.keylog_text)} key log blocks")


def fuzz_capture_tools(data: bytes) -> None:
    """``tlsstate keylog check`` (capture/keycheck.py with wire/keylog.py scan_keylog), ``decrypt --write-pcap`` and
    ``decrypt --inject-secrets`` (capture/export.py) on a hostile capture with a hostile key log. Input: see
    :func:`split_capture_tools_input` (tool 0 = keylog check, 1 = write-pcap, 2 = inject-secrets)."""
    tool, keylog, capture = split_capture_tools_input(data)
    with tempfile.TemporaryDirectory(dir=_scratch_dir()) as directory:
        capture_path, keylog_path = os.path.join(directory, "in.pcap"), os.path.join(directory, "in.keys")
        Path(capture_path).write_bytes(capture)
        Path(keylog_path).write_bytes(keylog)
        if tool % 3 == 0:
            try:
                report = check_keylogs(capture_path, [Path(keylog_path)])
            except CaptureError:
                return
            json.dumps(report.to_json())
            render_keylog_check(report)
            return
        keys = KeySource()
        keys.add_keylog_text(keylog.decode("utf-8", errors="replace"), "fuzz keys")
        (_write_pcap_of if tool % 3 == 1 else _inject_secrets_of)(capture_path, keys, directory)


# ------------------------------------------------------------------------------------------ large ClientHello


def large_client_hello(data: bytes) -> tuple[int, bytes] | None:
    """The ``large_hello`` layout expanded: byte 0 = server config, bytes 1-2 = record size (1..2^14, 0 = 2^14),
    byte 3 = flags (bit 0: extensions of one type, a repeat; bit 1: a session ID of 32 bytes; bit 2: a
    signature_algorithms extension as large as the count allows; bits 4-7: a signed change of the handshake length),
    bytes 4-5 / 6-7 = how many cipher suites / extensions, byte 8 = compression methods, then a u8-length extension
    body repeated in every extension, the rest appended to the extensions block. Lengths are computed (RFC 5246
    §7.4.1.2) so a small input reaches a 131,396-byte ClientHello; the record stream goes to a server Connection."""
    if len(data) < 10:
        return None
    record_size = int.from_bytes(data[1:3], "big") % (1 << 14) or 1 << 14
    flags, n_suites, n_extensions = data[3], int.from_bytes(data[4:6], "big") >> 1, int.from_bytes(data[6:8], "big") >> 2
    unit_length = data[9]
    unit, extra = data[10 : 10 + unit_length], data[10 + unit_length :]
    suites = (b"".join((0x8000 + i).to_bytes(2, "big") for i in range(n_suites)) + b"\xc0\x2f\x00\x2f\xc0\x2b")[-65534:]
    extensions = bytearray(b"\x00\x0a\x00\x04\x00\x02\x00\x17")  # supported_groups: secp256r1
    if flags & 4:
        schemes = b"\x08\x09" * 32757 + b"\x04\x01\x04\x03\x08\x04"
        extensions += b"\x00\x0d" + (len(schemes) + 2).to_bytes(2, "big") + len(schemes).to_bytes(2, "big") + schemes
    for i in range(n_extensions):  # whole extensions while they fit in the block (extension_data<0..2^16-1>)
        if len(extensions) + 4 + len(unit) > 0xFFFF:
            break
        ext_type = 0x8000 if flags & 1 else 0x8000 + i
        extensions += ext_type.to_bytes(2, "big") + len(unit).to_bytes(2, "big") + unit
    extensions = (extensions + extra)[:0xFFFF]
    session_id = bytes(range(32)) if flags & 2 else b""
    compression = bytes(range(1, data[8])) + b"\x00"
    body = (b"\x03\x03" + bytes(32) + bytes([len(session_id)]) + session_id + len(suites).to_bytes(2, "big") + suites
            + bytes([len(compression)]) + compression + len(extensions).to_bytes(2, "big") + extensions)
    declared = max(0, len(body) + ((flags >> 4) - 8 if flags >> 4 else 0))
    message = b"\x01" + declared.to_bytes(3, "big") + body
    stream = b"".join(b"\x16\x03\x01" + len(message[i : i + record_size]).to_bytes(2, "big") + message[i : i + record_size]
                      for i in range(0, len(message), record_size))
    return data[0], stream


def fuzz_large_hello(data: bytes) -> None:
    """A server Connection fed ClientHellos up to what their length fields allow (131,396 bytes, RFC 5246 §7.4.1.2) in
    records of any size: the path above max_handshake_message_length, the compact suite and extension sequences and
    the repeat bitmap. Typed alerts only, within the per-input time and memory limits."""
    expanded = large_client_hello(data)
    if expanded is None:
        return
    config_index, stream = expanded
    config = server_configs()[config_index % len(server_configs())]()
    conn = Connection(config, server_side=True)
    _drive(conn, stream, len(stream))


# Bugs already reported to their owners (see docs/fuzzing.md and the strict xfail tests). With
# TLSSTATE_FUZZ_IGNORE_KNOWN=1 (fuzz/run.py --ignore-known) a longer run skips them to look for new ones;
# by default they fail the run like any other bug.
KNOWN_BUGS: dict[str, Callable[[BaseException], bool]] = {
}


def _known(exc: BaseException) -> str | None:
    return next((name for name, matches in KNOWN_BUGS.items() if matches(exc)), None)


def _skipping_known(function: Callable[[bytes], None]) -> Callable[[bytes], None]:
    if os.environ.get("TLSSTATE_FUZZ_IGNORE_KNOWN") != "1":
        return function

    @functools.wraps(function)
    def wrapper(data: bytes) -> None:
        try:
            function(data)
        except Exception as exc:
            if _known(exc) is None:
                raise

    return wrapper


TARGETS: dict[str, Callable[[bytes], None]] = {
    name: _skipping_known(function) for name, function in {
        "deframer": fuzz_deframer,
        "message": fuzz_message,
        "extension": fuzz_extension,
        "sslv2": fuzz_sslv2,
        "client": fuzz_client,
        "server": fuzz_server,
        "keylog": fuzz_keylog,
        "capture": fuzz_capture,
        "established": fuzz_established,
        "key_exchange": fuzz_key_exchange,
        "hello_sequences": fuzz_hello_sequences,
        "compression": fuzz_compression,
        "starttls": fuzz_starttls,
        "capture_tools": fuzz_capture_tools,
        "large_hello": fuzz_large_hello,
    }.items()
}


def run_target(name: str, data: bytes) -> None:
    """Run one target on one input (used to reproduce a crash file: ``python fuzz/run.py --repro``)."""
    TARGETS[name](data)
