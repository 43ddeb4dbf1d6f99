"""One direction of a TLS connection in a capture: record framing over the reassembled TCP bytes.

Records are framed here rather than by :class:`tlsstate.record.Deframer` because a capture needs what a live peer
must not do: accept an SSLv2-format ClientHello (RFC 5246 Appendix E.2), resynchronise on a record boundary after a
TCP gap or when the capture starts mid-connection (a plausible header followed by another), tell a non-TLS stream
from a damaged one, and hold records back until the other direction supplies what they depend on. Each record is
handed to the :class:`~tlsstate.capture.session.TlsSession`; plaintext is hashed as it is produced.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from tlsstate.record import HalfConnection, Record
from tlsstate.wire.messages import HandshakeReassembler, is_sslv2_client_hello, sslv2_record_length

if TYPE_CHECKING:
    from tlsstate.capture.session import TlsSession

__all__ = ["HEADER", "MAX_RECORD", "DirectionState"]

HEADER = struct.Struct(">BHH")
MAX_RECORD = 16384 + 2048  # TLSCiphertext.length limit (RFC 5246 §6.2.3)
RECOVERY_LIMIT = 1 << 16  # sequence numbers tried after a gap
FIRST_LINE_LIMIT = 256


def header_ok(data: bytes | bytearray | memoryview, pos: int) -> bool:
    """Whether 5 bytes at ``pos`` can be a TLSPlaintext/TLSCiphertext header (RFC 5246 §6.2.1, RFC 8446 §5.1):
    type 20..24, version 3.x with x ≤ 4, length ≤ 2^14 + 2048."""
    content_type: int
    version: int
    length: int
    content_type, version, length = HEADER.unpack_from(data, pos)
    return 20 <= content_type <= 24 and (version >> 8 == 3 and version & 0xFF <= 4) and length <= MAX_RECORD


class DirectionState:
    """One direction of a TLS connection: framing buffer, record state, handshake reassembly, output."""

    def __init__(self, session: TlsSession, writer: str) -> None:
        self.session = session
        self.writer = writer  # "client" or "server"
        self.arrow = "c>s" if writer == "client" else "s>c"
        self.buffer = bytearray()
        self.half = HalfConnection(writer)
        self.handshake = HandshakeReassembler(1 << 24)
        self.synced = False  # record boundaries known
        self.need_resync = False
        self.no_keys = False  # encrypted with keys we do not have
        self.no_keys_reason = ""
        self.started = False
        self.records_ok = 0
        self.records_failed = 0
        self.records_no_keys = 0
        self.records_truncated = 0
        self.app_bytes = 0
        self.app_hash = hashlib.sha256()
        self.first_line = b""
        self.sink: Callable[[bytes], None] | None = None
        self.tls13_secret: bytes | None = None  # current traffic secret (TLS 1.3)
        self.tls13_generation = -1  # -1 early/handshake, 0.. application
        self.tls13_phase = "plain"  # plain | early | handshake | application
        self.key_label = f"{writer} write: none"
        self.record_index = 0
        self.waiting = False  # holding records until the other direction has been read far enough
        self.missing = 0  # bytes lost in TCP gaps since the last resynchronisation
        self.recover_from = 0
        self.recover_budget = 0
        self.recover_attempts = 0  # records left on which to search the sequence number after a gap
        self.force = False

    # ------------------------------------------------------------------ framing
    def feed(self, data: bytes | memoryview) -> None:
        """Bytes of this direction's TCP stream, in order."""
        if self.session.not_tls:
            return
        buf = self.buffer
        if buf and self.synced and not self.waiting and len(buf) >= 5 and len(data) > 5:
            # a record started in an earlier segment: complete it through the buffer, the rest goes direct
            need = 5 + HEADER.unpack_from(buf, 0)[2] - len(buf)
            if 0 < need < len(data):
                view = memoryview(data)
                self.feed(view[:need])
                data = view[need:]
                if self.session.not_tls:
                    return
        if not buf and self.synced and not self.waiting and len(data) >= 5:
            data = self._feed_direct(data)
            if not data:
                return
        buf += data
        if not self.synced and not self._sync():
            if len(buf) > 4 * MAX_RECORD:
                self.session.mark_not_tls(f"no TLS record found in the first {len(buf)} bytes ({self.writer})")
                buf.clear()
            return
        pos, end = 0, len(buf)
        try:
            while end - pos >= 5:
                content_type, version, length = HEADER.unpack_from(buf, pos)
                if not (20 <= content_type <= 24 and version >> 8 == 3 and length <= MAX_RECORD):
                    self.session.note(f"{self.writer} stream lost record framing at record {self.record_index}")
                    del buf[:pos]
                    self.synced = False
                    self.need_resync = True
                    pos = 0
                    if not self._sync():
                        return
                    end = len(buf)
                    continue
                stop = pos + 5 + length
                if stop > end:
                    break
                if not self.force and not self.session.ready(self, content_type, end - pos):
                    self.waiting = True
                    break
                self.waiting = False
                with memoryview(buf) as view:  # one copy of the fragment, and the view is released before resizing
                    record = Record(content_type, version, bytes(view[pos + 5 : stop]))
                pos = stop
                try:
                    self.session.on_record(self, record)
                except Exception as exc:  # a capture must never end in a traceback: note it, stop this direction
                    self.session.note(f"{self.writer} record {self.record_index}: cannot process ({exc!r})")
                    self.lost_state(f"internal error at record {self.record_index}: {type(exc).__name__}")
        finally:
            if pos:
                del buf[:pos]
        other = self.session.server if self is self.session.client else self.session.client
        if other.waiting and pos:
            other.waiting = False
            other.feed(b"")

    def _feed_direct(self, data: bytes | memoryview) -> memoryview:
        """Fast path when nothing is buffered (the common case with large TCP segments): complete records are
        cut straight out of the delivered bytes — one copy per fragment, none into and out of the framing
        buffer. Returns what is left (a partial record, or everything from a record the normal path must see:
        bad framing or one to hold back), for the buffer."""
        view = memoryview(data)
        pos, end = 0, len(view)
        session = self.session
        on_record = session.on_record
        ready = session.ready
        while end - pos >= 5:
            content_type, version, length = HEADER.unpack_from(view, pos)
            if not (20 <= content_type <= 24 and version >> 8 == 3 and length <= MAX_RECORD):
                break
            stop = pos + 5 + length
            if stop > end or not (self.force or ready(self, content_type, end - pos)):
                break
            record = Record(content_type, version, bytes(view[pos + 5 : stop]))
            pos = stop
            try:
                on_record(self, record)
            except Exception as exc:  # a capture must never end in a traceback: note it, stop this direction
                session.note(f"{self.writer} record {self.record_index}: cannot process ({exc!r})")
                self.lost_state(f"internal error at record {self.record_index}: {type(exc).__name__}")
            if session.not_tls or self.buffer or not self.synced:
                break  # the state changed under us: let the buffered path take the rest
        if pos:
            other = session.server if self is session.client else session.client
            if other.waiting:
                other.waiting = False
                other.feed(b"")
        return view[pos:]

    def _sync(self) -> bool:
        """Find the first record boundary (start of stream, SSLv2 hello, or resynchronisation)."""
        buf = self.buffer
        if not self.need_resync and not self.started:
            if len(buf) < 5:
                return False
            self.started = True
            if is_sslv2_client_hello(bytes(buf[:5])):
                total = sslv2_record_length(bytes(buf[:2])) or 0
                if len(buf) < total:
                    self.started = False
                    return False
                self.session.on_sslv2_hello(self, bytes(buf[:total]))
                del buf[:total]
                self.synced = True
                return True
            if header_ok(buf, 0):
                self.synced = True
                return True
            if not self.session.mid_stream:
                self.session.mark_not_tls(f"{self.writer} stream does not start with a TLS record")
                buf.clear()
                return False
            self.need_resync = True
        # resynchronise: a plausible header followed by another plausible header (or the buffer end)
        limit = len(buf) - 5
        pos = 0
        while pos <= limit:
            if header_ok(buf, pos):
                nxt = pos + 5 + HEADER.unpack_from(buf, pos)[2]
                if nxt + 5 <= len(buf) and header_ok(buf, nxt):
                    break
                if nxt + 5 > len(buf) and pos > limit - MAX_RECORD:
                    return False  # wait for more data to confirm
            pos += 1
        else:
            if len(buf) > 5:
                del buf[: len(buf) - 4]
            return False
        if pos:
            self.session.note(f"{self.writer} stream: skipped {pos} bytes to resynchronise on a record boundary")
            del buf[:pos]
        self.synced = True
        self.need_resync = False
        if self.half.protection.protects and not self.no_keys:
            # records were lost with the gap: their number is unknown, so the next sequence number is searched
            # for (RFC 5246 §6.1: it is in the MAC / AEAD input), at most one per 22 missing bytes (a record's minimum)
            self.recover_from = self.half.seq
            self.recover_budget = min((self.missing + pos) // 22 + 2, RECOVERY_LIMIT)
            self.recover_attempts = 3
        if self.half.protection.protects or self.session.version_known:
            self.lost_state("record state lost after a capture gap")
        self.missing = 0
        return True

    def lost_state(self, reason: str) -> None:
        """The protection state cannot continue (gap, mid-stream start): later records are undecryptable."""
        if not self.no_keys:
            self.no_keys = True
            self.no_keys_reason = reason

    def gap(self, length: int) -> None:
        """The TCP layer reports missing bytes before the next data."""
        self.session.note(f"{self.writer} stream: {length} bytes missing (TCP gap)")
        self.session.gap_bytes += length
        self.missing += length
        self.buffer.clear()
        self.synced = False
        self.need_resync = True
        self.started = True

    def finish(self) -> None:
        """End of stream: records held back are processed; a partial record left over is truncated."""
        if self.waiting:
            self.force = True
            self.feed(b"")
        if self.buffer and self.synced and len(self.buffer) >= 5 and not self.session.not_tls:
            content_type, _version, length = HEADER.unpack_from(self.buffer, 0)
            self.records_truncated += 1
            self.session.log_record(self, content_type, None, length, "truncated", self.key_label)
        self.buffer.clear()

    # ------------------------------------------------------------------ output
    def application_data(self, data: bytes) -> None:
        """Decrypted application data, in order."""
        if not data:
            return
        if len(self.first_line) < FIRST_LINE_LIMIT and b"\n" not in self.first_line:
            self.first_line = (self.first_line + data[:FIRST_LINE_LIMIT])[:FIRST_LINE_LIMIT]
        self.app_bytes += len(data)
        self.app_hash.update(data)
        if self.sink is not None:
            self.sink(data)

    @property
    def first_line_text(self) -> str | None:
        """The first line of the application data (like tshark's follow view), or None when there is none."""
        if not self.first_line:
            return None
        return self.first_line.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")

    def set_label(self, label: str) -> None:
        """Name of the key now protecting this direction."""
        self.key_label = label
