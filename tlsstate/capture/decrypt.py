"""``decrypt_capture``: a capture file + key material → one :class:`ConnectionResult` per TLS connection.

Pipeline: :mod:`.pcap` (frames → TCP segments) → :mod:`.tcp` (per-direction reassembly, gaps) →
:mod:`.stream` (records per direction) → :mod:`.session` (handshake, keys through :mod:`.tls12` / :mod:`.tls13`,
:class:`~tlsstate.record.HalfConnection`) → results. Memory is
bounded by the reassembly windows and the records in flight: plaintext is hashed as it is produced and
only kept when a sink asks for it (``--follow`` / ``--write-dir``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlsstate.capture import tls13
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.pcap import CaptureError, CaptureReader, open_capture
from tlsstate.capture.session import TlsSession
from tlsstate.capture.stream import DirectionState
from tlsstate.capture.tcp import StreamReassembler, TcpConnection, TcpTracker
from tlsstate.capture.tls12 import CapturedSessions
from tlsstate.wire.constants import ProtocolVersion

__all__ = ["CaptureResult", "ConnectionResult", "DecryptOptions", "decrypt_capture"]


KNOWN_VERSIONS = frozenset(ProtocolVersion)
SinkFactory = Callable[[int, str], Callable[[bytes], None] | None]


@dataclass
class DecryptOptions:
    """What to keep besides the counters: record lines, plaintext sinks, progress callback."""

    keep_records: bool = False
    sink_factory: SinkFactory | None = None  # (connection number, "client"/"server") -> sink or None
    progress: Callable[[int, int], None] | None = None  # (bytes read, total bytes)
    max_buffer: int = 32 * 1024 * 1024


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

    def gaps(self) -> list[dict[str, int | str]]:
        """TCP gaps per direction."""
        out: list[dict[str, int | str]] = []
        for name, stream in (("client_to_server", self.tcp.client_stream), ("server_to_client", self.tcp.server_stream)):
            out.extend({"direction": name, "offset": g.offset, "length": g.length} for g in stream.gaps)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
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
            "sni": s.sni,
            "alpn": s.alpn,
            "handshakes": s.handshakes,
            "resumed": s.resumed,
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
            "notes": s.notes,
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


def decrypt_capture(path: str | Path, keys: KeySource, options: DecryptOptions | None = None) -> CaptureResult:
    """Decrypt every TLS connection in the capture at ``path``.

    Raises CaptureError only when nothing at all can be read (not a capture file); damage later in the
    file ends reading there and is reported in ``capture_error`` with the results so far.
    """
    options = options or DecryptOptions()
    reader = open_capture(path)
    followers = _Followers(keys, options)
    tracker = TcpTracker(followers.connection)
    with reader:
        _read(reader, tracker, keys, f"{path} (Decryption Secrets Block)", options.progress)
    tracker.finish()
    results: list[ConnectionResult] = []
    non_tls = 0
    for conn in tracker.all:
        session = followers.sessions[conn.number]
        session.finish()
        if session.not_tls or not session.seen_tls:
            non_tls += 1
            continue
        client, server = conn.client, conn.server
        if session.roles_swapped:
            client, server = server, client
        results.append(ConnectionResult(len(results), conn.endpoint_text(client), conn.endpoint_text(server), session, conn))
    if options.progress is not None:
        options.progress(reader.size, reader.size)
    if reader.error and reader.packets == 0 and not results:
        raise CaptureError(reader.error)
    return CaptureResult(results, reader.packets, reader.error, reader.warnings, keys, non_tls)


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
        session = TlsSession(self.keys, self.captured, keep_records=options.keep_records, mid_stream=not known)

        def direction(which: str) -> DirectionState:  # the TCP side's guess, corrected by the ClientHello
            return session.client if (which == "client") != session.roles_swapped else session.server

        def reassembler(which: str) -> StreamReassembler:
            return StreamReassembler(lambda data: direction(which).feed(data), lambda gap: direction(which).gap(gap.length),
                                     options.max_buffer, on_retransmit=(lambda n: session.log_retransmission(
                                         direction(which), n)) if options.keep_records else None)

        conn = TcpConnection(number, client, server, first, reassembler("client"), reassembler("server"), known)
        if options.sink_factory is not None:
            session.client.sink = options.sink_factory(number, "client")
            session.server.sink = options.sink_factory(number, "server")
        self.sessions[number] = session
        return conn


def _read(reader: CaptureReader, tracker: TcpTracker, keys: KeySource, dsb_source: str,
          progress: Callable[[int, int], None] | None) -> None:
    """Every TCP segment of the capture into ``tracker``; key logs embedded in the capture (pcapng Decryption
    Secrets Blocks) are added to ``keys`` before the packets that follow them."""
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
        tracker.add(segment)
        if progress is not None and reader.position >= next_report:
            progress(reader.progress, reader.size)
            next_report = reader.position + step
