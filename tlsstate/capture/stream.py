"""One direction of a TLS connection in a capture: record framing over the reassembled TCP bytes.

Records are framed here rather than by :class:`tlsstate.record.Deframer` because a capture needs what a live peer
must not do: accept an SSLv2-format ClientHello (RFC 5246 Appendix E.2), resynchronise on a record boundary after a
TCP gap or when the capture starts mid-connection (a plausible header followed by another), tell a non-TLS stream
from a damaged one, and hold records back until the other direction supplies what they depend on. Each record is
handed to the direction's :class:`StreamOwner` (the connection follower, :mod:`tlsstate.capture.session`, which
this module does not import); plaintext is hashed as it is produced.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Protocol

from tlsstate.capture.starttls import HEAD_KEPT, HELLO_PROBE, PRELUDE_LIMIT, find_hello
from tlsstate.capture.trace import Cause
from tlsstate.record import HalfConnection, Record
from tlsstate.record.compression import Decompressor
from tlsstate.wire.constants import ContentType
from tlsstate.wire.errors import TLSError
from tlsstate.wire.messages import HandshakeReassembler, is_sslv2_client_hello, sslv2_record_length

__all__ = ["HEADER", "MAX_RECORD", "DirectionState", "StreamOwner"]

HEADER = struct.Struct(">BHH")
MAX_RECORD = 16384 + 2048  # TLSCiphertext.length limit (RFC 5246 §6.2.3)
RECOVERY_LIMIT = 1 << 16  # sequence numbers tried after a gap
FIRST_LINE_LIMIT = 256
HANDSHAKE_BUFFER = 1 << 24  # the largest handshake message body (uint24 length, RFC 5246 §7.4)
FIRST_TYPE, LAST_TYPE = int(ContentType.CHANGE_CIPHER_SPEC), int(ContentType.HEARTBEAT)  # the record types we frame


class StreamOwner(Protocol):
    """What a direction reports to, and asks, the follower of its connection (both directions)."""

    gap_bytes: int

    @property
    def not_tls(self) -> bool:
        """The connection was found not to carry TLS: stop framing."""

    @property
    def mid_stream(self) -> bool:
        """The capture started inside the connection (no SYN seen): records may start anywhere."""

    @property
    def version_known(self) -> bool:
        """Whether a ServerHello has been seen."""

    def note(self, text: str) -> None:
        """A remark for the report."""

    def log_gap(self, direction: DirectionState, length: int, offset: int = 0, frame: int = 0) -> None:
        """A TCP gap before ``direction``'s next bytes (placed on the page's timeline)."""

    def mark_not_tls(self, reason: str) -> None:
        """This stream does not carry TLS."""

    def ready(self, direction: DirectionState, content_type: int, buffered: int) -> bool:
        """Whether a record of ``direction`` may be processed now, or must wait for the other direction."""

    def on_record(self, direction: DirectionState, record: Record) -> None:
        """One whole record from ``direction``."""

    def on_sslv2_hello(self, direction: DirectionState, record: bytes) -> None:
        """An SSLv2-format ClientHello (RFC 5246 Appendix E.2), header included."""

    def log_record(self, direction: DirectionState, content_type: int, seq: int | None, length: int,
                   verdict: str, key: str, plaintext_length: int = 0, cause: Cause | None = None) -> None:
        """A ``--records`` line."""


def header_ok(data: bytes | bytearray | memoryview, pos: int) -> bool:
    """Whether 5 bytes at ``pos`` can be a TLSPlaintext/TLSCiphertext header (RFC 5246 §6.2.1, RFC 8446 §5.1):
    type 20..24, version 3.x with x ≤ 4, length ≤ 2^14 + 2048."""
    content_type: int
    version: int
    length: int
    content_type, version, length = HEADER.unpack_from(data, pos)
    return FIRST_TYPE <= content_type <= LAST_TYPE and (version >> 8 == 3 and version & 0xFF <= 4) and length <= MAX_RECORD


class DirectionState:
    """One direction of a TLS connection: framing buffer, record state, handshake reassembly, output."""

    def __init__(self, owner: StreamOwner, writer: str) -> None:
        self.owner = owner
        self.other = self  # the opposite direction of the connection, paired by the owner (pair())
        self.writer = writer  # "client" or "server"
        self.arrow = "c>s" if writer == "client" else "s>c"
        self.buffer = bytearray()
        self.half = HalfConnection(writer)
        self.decompressor: Decompressor | None = None  # the current connection state's DEFLATE stream (RFC 3749)
        self.handshake = HandshakeReassembler(HANDSHAKE_BUFFER)
        self.synced = False  # record boundaries known
        self.need_resync = False
        self.no_keys = False  # encrypted with keys we do not have
        self.no_keys_reason = ""
        self.no_keys_cause: Cause | None = None  # the same, as fields
        self.causes: dict[Cause, int] = {}  # why records were not decrypted -> how many (``--json``)
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
        self.key_source: tuple[str | None, str | None] = (None, None)  # (key log label, "<file> line <n>") of the key
        self.record_index = 0
        self.waiting = False  # holding records until the other direction has been read far enough
        self.missing = 0  # bytes lost in TCP gaps since the last resynchronisation
        self.recover_from = 0
        self.recover_budget = 0
        self.recover_attempts = 0  # records left on which to search the sequence number after a gap
        self.force = False
        self.last_gap = (0, 0)  # (stream offset, length) of the latest TCP gap
        self.gap_pending = False  # a gap not yet resynchronised after: the record state cannot be trusted
        self.prelude_bytes = 0  # plaintext before the first TLS record (STARTTLS and other in-band upgrades)
        self.prelude_head = b""  # its first HEAD_KEPT bytes, to name the protocol (starttls.identify)
        self._in_prelude = False
        self._prelude_scanned = 0

    # ------------------------------------------------------------------ framing
    def feed(self, data: bytes | memoryview) -> None:
        """Bytes of this direction's TCP stream, in order."""
        if self.owner.not_tls:
            return
        buf = self.buffer
        if buf and self.synced and not self.waiting and len(buf) >= 5:
            # a record started in an earlier segment (the loop below checked its header when it came)
            need = 5 + HEADER.unpack_from(buf, 0)[2] - len(buf)
            if len(data) < need:  # it goes on in later segments: nothing to frame yet
                buf += data
                return
            if 0 < need < len(data) and len(data) > 5:  # complete it through the buffer, the rest goes direct
                view = memoryview(data)
                self.feed(view[:need])
                data = view[need:]
                if self.owner.not_tls:
                    return
        if not buf and self.synced and not self.waiting and len(data) >= 5:
            data = self._feed_direct(data)
            if not data:
                return
        buf += data
        if not self.synced and not self._sync():
            if len(buf) > 4 * MAX_RECORD:
                self.owner.mark_not_tls(f"no TLS record found in the first {len(buf)} bytes ({self.writer})")
                buf.clear()
            return
        pos, end = 0, len(buf)
        try:
            while end - pos >= 5:
                content_type, version, length = HEADER.unpack_from(buf, pos)
                if not (FIRST_TYPE <= content_type <= LAST_TYPE and version >> 8 == 3 and length <= MAX_RECORD):
                    self.owner.note(f"{self.writer} stream lost record framing at record {self.record_index}")
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
                if not self.force and not self.owner.ready(self, content_type, end - pos):
                    self.waiting = True
                    break
                self.waiting = False
                with memoryview(buf) as view:  # one copy of the fragment, and the view is released before resizing
                    record = Record(content_type, version, bytes(view[pos + 5 : stop]))
                pos = stop
                try:
                    self.owner.on_record(self, record)
                except Exception as exc:  # a capture must never end in a traceback: note it, stop this direction
                    self.owner.note(f"{self.writer} record {self.record_index}: cannot process ({exc!r})")
                    self.lost_state(Cause("internal_error", f"internal error at record {self.record_index}: "
                                                    f"{type(exc).__name__}"))
        finally:
            if pos:
                del buf[:pos]
        other = self.other
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
        owner = self.owner
        on_record = owner.on_record
        ready = owner.ready
        while end - pos >= 5:
            content_type, version, length = HEADER.unpack_from(view, pos)
            if not (FIRST_TYPE <= content_type <= LAST_TYPE and version >> 8 == 3 and length <= MAX_RECORD):
                break
            stop = pos + 5 + length
            if stop > end or not (self.force or ready(self, content_type, end - pos)):
                break
            record = Record(content_type, version, bytes(view[pos + 5 : stop]))
            pos = stop
            try:
                on_record(self, record)
            except Exception as exc:  # a capture must never end in a traceback: note it, stop this direction
                owner.note(f"{self.writer} record {self.record_index}: cannot process ({exc!r})")
                self.lost_state(Cause("internal_error", f"internal error at record {self.record_index}: "
                                                f"{type(exc).__name__}"))
            if owner.not_tls or self.buffer or not self.synced:
                break  # the state changed under us: let the buffered path take the rest
        if pos:
            other = self.other
            if other.waiting:
                other.waiting = False
                other.feed(b"")
        return view[pos:]

    def _sync(self) -> bool:
        """Find the first record boundary (start of stream, SSLv2 hello, or resynchronisation)."""
        buf = self.buffer
        if self._in_prelude:
            return self._skip_prelude()
        if not self.need_resync and not self.started:
            if len(buf) < 5:
                return False
            self.started = True
            if is_sslv2_client_hello(bytes(buf[:5])):
                total = sslv2_record_length(bytes(buf[:2])) or 0
                if len(buf) < total:
                    self.started = False
                    return False
                self.owner.on_sslv2_hello(self, bytes(buf[:total]))
                del buf[:total]
                self.synced = True
                return True
            if header_ok(buf, 0):
                self.synced = True
                return True
            if not self.owner.mid_stream:
                self.started = False
                self._in_prelude = True
                return self._skip_prelude()
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
            self.owner.note(f"{self.writer} stream: skipped {pos} bytes to resynchronise on a record boundary")
            del buf[:pos]
        self.synced = True
        self.need_resync = False
        if self.half.protection.protects and not self.no_keys:
            # records were lost with the gap: their number is unknown, so the next sequence number is searched
            # for (RFC 5246 §6.1: it is in the MAC / AEAD input), at most one per 22 missing bytes (a record's minimum)
            self.recover_from = self.half.seq
            self.recover_budget = min((self.missing + pos) // 22 + 2, RECOVERY_LIMIT)
            self.recover_attempts = 3
        if self.half.protection.protects or self.owner.version_known or self.gap_pending:
            self.lost_state(Cause("tcp_gap", f"record state lost after a TCP gap ({self.last_gap[1]} bytes missing at "
                                  f"{self.writer} stream offset {self.last_gap[0]})"))
        self.missing = 0
        self.gap_pending = False
        return True

    def _skip_prelude(self) -> bool:
        """The stream began in plaintext (an in-band upgrade, :mod:`tlsstate.capture.starttls`): find the hello record,
        count and drop what precedes it; not TLS when none is found in the first PRELUDE_LIMIT bytes."""
        buf = self.buffer
        pos = find_hello(buf, self.writer == "client", self._prelude_scanned)
        if pos < 0:
            self._prelude_scanned = max(len(buf) - HELLO_PROBE + 1, 0)
            if self.prelude_bytes + len(buf) > PRELUDE_LIMIT:
                self._in_prelude = False
                self.owner.mark_not_tls(f"{self.writer} stream does not start with a TLS record "
                                        f"(and has no TLS hello in its first {PRELUDE_LIMIT} bytes)")
                buf.clear()
            return False
        if len(self.prelude_head) < HEAD_KEPT:
            self.prelude_head += bytes(buf[: min(pos, HEAD_KEPT - len(self.prelude_head))])
        self.prelude_bytes += pos
        del buf[:pos]
        self._in_prelude = False
        self.started = self.synced = True
        self.owner.note(f"{self.writer} stream: {self.prelude_bytes} bytes of plaintext before the TLS handshake")
        return True

    def pair(self, other: DirectionState) -> None:
        """Make ``self`` and ``other`` the two directions of one connection (each frees the other's held records)."""
        self.other, other.other = other, self

    def recover(self, record: Record) -> bool:
        """After a gap: find the sequence number under which ``record`` verifies (stateless AEAD / explicit-IV CBC
        protections only; RC4 and TLS 1.0 CBC chain state through the lost records and cannot recover)."""
        self.recover_attempts -= 1
        protection = self.half.protection
        start = self.recover_from
        for seq in range(start, start + self.recover_budget):
            try:
                protection.open(seq, record.content_type, record.version, record.fragment)
            except TLSError:
                continue
            except Exception:
                break
            self.half.seq = seq
            self.no_keys = False
            self.no_keys_reason = ""
            self.no_keys_cause = None
            self.recover_attempts = 0
            self.owner.note(f"{self.writer} stream: resynchronised after the gap at sequence number {seq} "
                            f"({seq - start} record(s) lost)")
            return True
        if self.recover_attempts == 0:
            self.owner.note(f"{self.writer} stream: could not recover the record state after the gap")
        return False

    def lost_state(self, cause: Cause) -> None:
        """The protection state cannot continue (keys missing, gap, mid-stream start): later records are
        undecryptable, for ``cause``."""
        if not self.no_keys:
            self.no_keys = True
            self.no_keys_reason = cause.message
            self.no_keys_cause = cause

    def count_cause(self, cause: Cause) -> None:
        """One more record not decrypted for ``cause``."""
        self.causes[cause] = self.causes.get(cause, 0) + 1

    def gap(self, length: int, offset: int = 0, frame: int = 0) -> None:
        """The TCP layer reports ``length`` bytes missing at stream ``offset``, before the data of ``frame``."""
        self.owner.note(f"{self.writer} stream: {length} bytes missing (TCP gap)")
        self.owner.log_gap(self, length, offset, frame)
        self.last_gap = (offset, length)
        self.gap_pending = True
        self.owner.gap_bytes += length
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
        if self.buffer and self.synced and len(self.buffer) >= 5 and not self.owner.not_tls:
            content_type, _version, length = HEADER.unpack_from(self.buffer, 0)
            self.records_truncated += 1
            self.owner.log_record(self, content_type, None, length, "truncated", self.key_label,
                                  cause=Cause("truncated", "the capture ends inside this record"))
        elif self.buffer and self.gap_pending and not self.owner.not_tls:
            self.owner.note(f"{self.writer} stream: {len(self.buffer)} bytes after the TCP gap hold no whole record")
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
