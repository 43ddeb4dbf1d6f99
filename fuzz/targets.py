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
"""

from __future__ import annotations

import functools
import inspect
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from tlsstate.capture.decrypt import DecryptOptions, decrypt_capture
from tlsstate.capture.keysource import KeySource, RsaKey, load_rsa_key
from tlsstate.capture.pcap import CaptureError
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.certs import generate_self_signed
from tlsstate.crypto.suites import KeyExchange, by_name
from tlsstate.record import Deframer
from tlsstate.sessions.cache import SessionCache
from tlsstate.wire import extensions as ext
from tlsstate.wire import messages
from tlsstate.wire.constants import AlertDescription, ProtocolVersion
from tlsstate.wire.errors import InternalError, ProtocolError, TLSError
from tlsstate.wire.keylog import parse_keylog

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
    """NSS key log text: malformed lines are warnings, never exceptions."""
    keylog, warnings = parse_keylog(data.decode("utf-8", errors="replace"))
    for warning in warnings:
        if not isinstance(warning, str):
            raise FuzzBug(f"warning {warning!r} is not text")
    repr(keylog)
    len(keylog)


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
    finally:
        os.unlink(name)


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
    }.items()
}


def run_target(name: str, data: bytes) -> None:
    """Run one target on one input (used to reproduce a crash file: ``python fuzz/run.py --repro``)."""
    TARGETS[name](data)
