"""``decrypt_capture``: a capture file + key material → one :class:`ConnectionResult` per TLS connection.

Pipeline: :mod:`.pcap` (frames → TCP segments) → :mod:`.tcp` (per-direction reassembly, gaps) →
:mod:`.stream` (records per direction) → :mod:`.session` (handshake, keys through :mod:`.tls12` / :mod:`.tls13`,
:class:`~tlsstate.record.HalfConnection`) → results. Memory is
bounded by the reassembly windows and the records in flight: plaintext is hashed as it is produced and
only kept when a sink asks for it (``--follow`` / ``--write-dir``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlsstate.capture import tls13
from tlsstate.capture.keysource import KeySource, load_rsa_key
from tlsstate.capture.pcap import CaptureError, CaptureReader, open_capture
from tlsstate.capture.session import TlsSession
from tlsstate.capture.starttls import identify
from tlsstate.capture.stream import DirectionState
from tlsstate.capture.tcp import StreamReassembler, TcpConnection, TcpTracker
from tlsstate.capture.tls12 import CapturedSessions
from tlsstate.capture.trace import PLAINTEXT_HEAD, RecordInfo
from tlsstate.record.compression import compression_name
from tlsstate.wire.constants import ProtocolVersion

__all__ = ["CaptureResult", "ConnectionResult", "DecryptOptions", "Decryption", "Prelude", "decrypt_capture",
           "decrypt_connections"]


KNOWN_VERSIONS = frozenset(ProtocolVersion)
SinkFactory = Callable[[int, str], Callable[[bytes], None] | None]


@dataclass
class DecryptOptions:
    """What to keep besides the counters: record lines, plaintext sinks, progress callback."""

    keep_records: bool = False
    #: bytes of each record's plaintext kept with its details (the --html pages; first DETAIL_RECORDS records)
    detail_plaintext: int = PLAINTEXT_HEAD
    sink_factory: SinkFactory | None = None  # (connection number, "client"/"server") -> sink or None
    progress: Callable[[int, int], None] | None = None  # (bytes read, total bytes)
    max_buffer: int = 32 * 1024 * 1024
    on_time: Callable[[float], None] | None = None  # the capture time of each packet, before it is processed
    on_start: Callable[[TcpConnection], None] | None = None  # a TCP connection is first seen
    # a TCP connection is handed out (done, and every earlier one too): with its result, None when it is not TLS
    on_done: Callable[[TcpConnection, ConnectionResult | None], None] | None = None


@dataclass(frozen=True)
class Prelude:
    """The plaintext a connection carried before its TLS handshake (STARTTLS and other in-band upgrades,
    :mod:`tlsstate.capture.starttls`): the protocol when recognisable, and the bytes each way."""

    protocol: str | None
    client_to_server_bytes: int
    server_to_client_bytes: int

    def to_json(self) -> dict[str, Any]:
        """The ``prelude`` object of ``--json``."""
        return {"protocol": self.protocol, "client_to_server_bytes": self.client_to_server_bytes,
                "server_to_client_bytes": self.server_to_client_bytes}


@dataclass
class ConnectionResult:
    """One TLS connection of the capture."""

    number: int
    client: str
    server: str
    session: TlsSession = field(repr=False)
    tcp: TcpConnection = field(repr=False)

    @property
    def version(self) -> str:
        """Negotiated version, e.g. ``TLS 1.2`` (draft/unknown versions in hex)."""
        v = self.session.version
        if v is None:
            return "?"
        if self.session.draft is not None:
            return f"TLS 1.3 draft-{self.session.draft}"
        return ProtocolVersion(v).label if v in KNOWN_VERSIONS else f"0x{v:04x}"

    @property
    def version_hex(self) -> str | None:
        """The version on the wire, e.g. ``0x0303`` (``0x7f14`` for TLS 1.3 draft-20)."""
        s = self.session
        if s.version is None:
            return None
        return f"0x{tls13.DRAFT_VERSION_PREFIX << 8 | s.draft:04x}" if s.draft is not None else f"0x{s.version:04x}"

    @property
    def cipher_suite(self) -> str:
        """Hex id like ``0x002f``."""
        return f"0x{self.session.suite_id:04x}" if self.session.suite_id is not None else "?"

    @property
    def cipher_suite_name(self) -> str:
        """IANA name when known."""
        suite = self.session.suite
        return suite.name if suite is not None else self.cipher_suite

    @property
    def records(self) -> list[RecordInfo]:
        """Every record of the connection (verdict, key, cause) when records were kept, else empty."""
        return self.session.records

    @property
    def prelude(self) -> Prelude | None:
        """The plaintext before the TLS handshake, or None when the connection started with TLS."""
        client, server = self.session.client, self.session.server
        if not (client.prelude_bytes or server.prelude_bytes):
            return None
        return Prelude(identify(client.prelude_head, server.prelude_head), client.prelude_bytes, server.prelude_bytes)

    @property
    def compression(self) -> str | None:
        """The ServerHello's compression method (``null``, ``deflate``, ``0x40``...), None before a ServerHello."""
        method = self.session.compression
        return None if method is None else compression_name(method)

    def gaps(self) -> list[dict[str, int | str]]:
        """TCP gaps per direction."""
        out: list[dict[str, int | str]] = []
        for name, stream in (("client_to_server", self.tcp.client_stream), ("server_to_client", self.tcp.server_stream)):
            out.extend({"direction": name, "offset": g.offset, "length": g.length, "frame": g.frame}
                       for g in stream.gaps)
        return out

    def retransmissions(self) -> list[dict[str, int | str]]:
        """TCP segments that repeated bytes, per direction (the first ``tcp.MAX_EVENTS`` of each): ``frame``, stream
        ``offset``, ``length`` repeated, ``differing`` (bytes unlike the first copy, which was used), ``control``."""
        out: list[dict[str, int | str]] = []
        for name, stream in (("client_to_server", self.tcp.client_stream), ("server_to_client", self.tcp.server_stream)):
            out.extend({"direction": name, "frame": r.frame, "offset": r.offset, "length": r.length,
                        "differing": r.differing, "control": r.control} for r in stream.retransmissions)
        return out

    def undecryptable(self) -> list[dict[str, Any]]:
        """Why records were not decrypted, per direction and cause: ``direction``, ``records`` and the cause's
        fields (:class:`~tlsstate.capture.trace.Cause`)."""
        out: list[dict[str, Any]] = []
        for name, state in (("client_to_server", self.session.client), ("server_to_client", self.session.server)):
            out.extend({"direction": name, "records": count, **cause.to_json()} for cause, count in state.causes.items())
        return out

    def records_json(self) -> list[dict[str, Any]]:
        """The ``--records`` lines as objects (only when records were kept)."""
        return [
            {"direction": r.direction, "content_type": r.content_type, "seq": r.seq, "length": r.length,
             "verdict": r.verdict, "key": r.key, "plaintext_length": r.plaintext_length,
             "cause": r.cause.to_json() if r.cause is not None else None}
            for r in self.session.records
        ]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object (with ``records`` when they were kept: ``--json --records``)."""
        s = self.session
        summary = s.summary()
        return {
            "connection": self.number,
            "client": self.client,
            "server": self.server,
            "version": self.version,
            "version_hex": self.version_hex,
            "cipher_suite": self.cipher_suite,
            "cipher_suite_name": self.cipher_suite_name,
            "compression": self.compression,
            "group": s.key_exchange.group,
            "hello_retry": s.hello_retry,
            "key_shares": s.key_exchange.to_json(),
            "sni": s.sni,
            "alpn": s.alpn,
            "handshakes": s.handshakes,
            "resumed": s.resumed,
            "resumed_handshakes": list(s.resumed_handshakes),
            "early_data": s.early_data_json(),
            "client_to_server_bytes": s.client.app_bytes,
            "client_to_server_sha256": s.client.app_hash.hexdigest(),
            "server_to_client_bytes": s.server.app_bytes,
            "server_to_client_sha256": s.server.app_hash.hexdigest(),
            "client_to_server_first_line": s.client.first_line_text,
            "server_to_client_first_line": s.server.first_line_text,
            **summary,
            "finished_verified": (all(ok for _w, ok in s.finished_checks) if s.finished_checks else None),
            "reason": s.reason() or None,
            "gaps": self.gaps(),
            "client_to_server_retransmitted_bytes": self.tcp.client_stream.retransmitted_bytes,
            "server_to_client_retransmitted_bytes": self.tcp.server_stream.retransmitted_bytes,
            "client_to_server_retransmitted_segments": self.tcp.client_stream.retransmitted_segments,
            "server_to_client_retransmitted_segments": self.tcp.server_stream.retransmitted_segments,
            "client_to_server_differing_bytes": self.tcp.client_stream.differing_bytes,
            "server_to_client_differing_bytes": self.tcp.server_stream.differing_bytes,
            "client_to_server_keep_alives": self.tcp.client_stream.keep_alives,
            "server_to_client_keep_alives": self.tcp.server_stream.keep_alives,
            "client_to_server_zero_window_probes": self.tcp.client_stream.zero_window_probes,
            "server_to_client_zero_window_probes": self.tcp.server_stream.zero_window_probes,
            "retransmissions": self.retransmissions(),
            "prelude": self.prelude.to_json() if self.prelude is not None else None,
            "undecryptable": self.undecryptable(),
            "notes": s.notes,
            **({"records": self.records_json()} if s.keep_records else {}),
        }


@dataclass
class CaptureResult:
    """Everything one run produced."""

    connections: list[ConnectionResult]
    packets: int
    capture_error: str | None
    warnings: list[str]
    keys: KeySource = field(repr=False)
    non_tls_connections: int = 0


class Decryption:
    """The TLS connections of one capture, decrypted in a single pass and handed out as they finish.

    Iterate it for :class:`ConnectionResult` objects in capture order (the order and numbers of ``--json``): a
    connection is yielded once it is done (both FINs delivered, or reset) and every connection that began before it
    has been yielded, then forgotten; so memory is bounded by the connections open at once, their reassembly windows
    and records in flight, not by the capture. After the iteration: ``packets``, ``capture_error`` (damage that
    ended reading; the connections so far were yielded), ``warnings``, ``non_tls_connections`` and
    ``keylog_text`` (key logs embedded in the capture). Iterate once.
    Raises CaptureError only when nothing at all can be read (not a capture file).
    """

    def __init__(self, path: str | Path, keys: KeySource, options: DecryptOptions | None = None) -> None:
        self.path = path
        self.keys = keys
        self.options = options or DecryptOptions()
        self.packets = 0
        self.capture_error: str | None = None
        self.warnings: list[str] = []
        self.non_tls_connections = 0
        self.keylog_text: list[str] = []  # the key logs found inside the capture (pcapng DSBs)
        self._tls_count = 0
        self._next_tcp = 0  # the TCP connection to hand out next (capture order)
        self._done: dict[int, TcpConnection] = {}  # done, waiting for an earlier connection
        self.ready = False  # the next connection to hand out is done

    def __iter__(self) -> Iterator[ConnectionResult]:
        options = self.options
        reader = open_capture(self.path)
        followers = _Followers(self.keys, options)
        tracker = TcpTracker(followers.connection, self._done_connection)
        with reader:
            for _ in _read(reader, tracker, self.keys, f"{self.path} (Decryption Secrets Block)", options, self):
                yield from self._ready(followers)
            tracker.finish()
            self._done.update({conn.number: conn for conn in tracker.all})
            self.packets, self.capture_error, self.warnings = reader.packets, reader.error, reader.warnings
            self.keylog_text = reader.keylog_text
            if reader.error and reader.packets == 0 and not self._tls_count and not self._done:
                raise CaptureError(reader.error)
            yield from self._ready(followers)
            if options.progress is not None:
                options.progress(reader.size, reader.size)

    def _done_connection(self, conn: TcpConnection) -> None:
        self._done[conn.number] = conn
        if conn.number == self._next_tcp:
            self.ready = True

    def _ready(self, followers: _Followers) -> Iterator[ConnectionResult]:
        """The done connections whose turn has come, as results (non-TLS ones are counted)."""
        self.ready = False
        while self._next_tcp in self._done:
            conn = self._done.pop(self._next_tcp)
            self._next_tcp += 1
            session = followers.sessions.pop(conn.number)
            conn.client_stream.finish()
            conn.server_stream.finish()
            session.finish()
            if session.not_tls or not session.seen_tls:
                self.non_tls_connections += 1
                if self.options.on_done is not None:
                    self.options.on_done(conn, None)
                continue
            client, server = (conn.server, conn.client) if session.roles_swapped else (conn.client, conn.server)
            result = ConnectionResult(self._tls_count, conn.endpoint_text(client), conn.endpoint_text(server), session,
                                      conn)
            self._tls_count += 1
            if self.options.on_done is not None:
                self.options.on_done(conn, result)
            yield result


PlaintextSink = Callable[[int, str, bytes], None]  # (TCP connection number, "client"/"server", data)


def decrypt_connections(
    capture: str | Path, keylogs: Iterable[str | Path] = (), *, rsa_keys: Iterable[str | Path] = (),
    rsa_key_password: str | None = None, psk: bytes | None = None, records: bool = False,
    on_plaintext: PlaintextSink | None = None,
) -> Decryption:
    """The library entry point: the TLS connections of ``capture`` decrypted with the given key material, streamed.

    ``keylogs``: NSS key log files (pcapng Decryption Secrets Blocks are used too); ``rsa_keys``: server RSA private
    keys (PEM, PKCS #8, PKCS #12); ``psk``: an RFC 4279 pre-shared key. ``records=True`` keeps every record's
    :class:`~tlsstate.capture.trace.RecordInfo` (verdict, key, cause) on its connection; ``on_plaintext`` receives
    the decrypted application data as it is produced, per TCP connection (``ConnectionResult.tcp.number``) and
    writer. Returns a :class:`Decryption`: iterate it for :class:`ConnectionResult` objects, whose ``to_json()`` is
    the ``tlsstate decrypt --json`` object. Raises ConfigurationError for unreadable key material, CaptureError
    (when iterated) for a file that is not a capture, OSError for one that cannot be opened.
    """
    keys = KeySource()
    for path in keylogs:
        keys.add_keylog_file(path)
    keys.rsa_keys += [load_rsa_key(path, rsa_key_password) for path in rsa_keys]
    keys.psk = psk
    sink_factory: SinkFactory | None = None
    if on_plaintext is not None:
        sink = on_plaintext

        def sink_factory(number: int, writer: str) -> Callable[[bytes], None]:
            return lambda data: sink(number, writer, data)

    return Decryption(capture, keys, DecryptOptions(keep_records=records, sink_factory=sink_factory))


def decrypt_capture(path: str | Path, keys: KeySource, options: DecryptOptions | None = None) -> CaptureResult:
    """Decrypt every TLS connection in the capture at ``path`` (all results at once; :class:`Decryption` streams).

    Raises CaptureError only when nothing at all can be read (not a capture file); damage later in the
    file ends reading there and is reported in ``capture_error`` with the results so far.
    """
    run = Decryption(path, keys, options)
    results = list(run)
    return CaptureResult(results, run.packets, run.capture_error, run.warnings, keys, run.non_tls_connections)


class _Followers:
    """One :class:`TlsSession` per TCP connection, fed by that connection's two reassembled streams."""

    def __init__(self, keys: KeySource, options: DecryptOptions) -> None:
        self.keys = keys
        self.options = options
        self.captured = CapturedSessions()  # shared: a handshake may resume a session of another connection
        self.sessions: dict[int, TlsSession] = {}

    def connection(self, number: int, client: tuple[str, int], server: tuple[str, int], first: int,
                   known: bool) -> TcpConnection:
        """The TcpTracker's factory: a new TCP connection and the session following it."""
        options = self.options
        session = TlsSession(self.keys, self.captured, keep_records=options.keep_records, mid_stream=not known,
                             detail_plaintext=options.detail_plaintext)

        def direction(which: str) -> DirectionState:  # the TCP side's guess, corrected by the ClientHello
            return session.client if (which == "client") != session.roles_swapped else session.server

        def reassembler(which: str) -> StreamReassembler:
            guessed_client = which == "client"  # direction() inlined where it runs once per segment
            return StreamReassembler(lambda data: (session.client if guessed_client != session.roles_swapped
                                                   else session.server).feed(data),
                                     lambda gap: direction(which).gap(gap.length, gap.offset, gap.frame),
                                     options.max_buffer, on_retransmit=lambda event: session.log_retransmission(
                                         direction(which), event))

        conn = TcpConnection(number, client, server, first, reassembler("client"), reassembler("server"), known)
        if options.on_start is not None:
            options.on_start(conn)
        if options.sink_factory is not None:
            session.client.sink = options.sink_factory(number, "client")
            session.server.sink = options.sink_factory(number, "server")
        self.sessions[number] = session
        return conn


def _read(reader: CaptureReader, tracker: TcpTracker, keys: KeySource, dsb_source: str,
          options: DecryptOptions, run: Decryption) -> Iterator[None]:
    """Every TCP segment of the capture into ``tracker``, yielding when ``run`` has a connection ready; key logs
    embedded in the capture (pcapng Decryption Secrets Blocks) are added to ``keys`` before the packets that
    follow them."""
    progress, on_time = options.progress, options.on_time
    step = max(reader.size // 200, 1 << 20)
    next_report = step
    for key_text in reader.keylog_text:  # DSBs before the first packet; later ones are added below too
        keys.add_keylog_text(key_text, dsb_source)
    used_dsb = len(reader.keylog_text)
    for segment in reader.segments():
        if len(reader.keylog_text) > used_dsb:
            for key_text in reader.keylog_text[used_dsb:]:
                keys.add_keylog_text(key_text, dsb_source)
            used_dsb = len(reader.keylog_text)
        if on_time is not None:
            on_time(segment.time)
        tracker.add(segment)
        if progress is not None and reader.position >= next_report:
            progress(reader.progress, reader.size)
            next_report = reader.position + step
        if run.ready:
            yield
