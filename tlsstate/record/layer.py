"""The record layer: records, the deframer and one direction's connection state.

* :class:`Record` — one TLSPlaintext / TLSCiphertext (RFC 5246 §6.2.1, RFC 8446 §5.1).
* :class:`Deframer` — bytes in any chunking → whole records, with strict header checks.
* :class:`HalfConnection` — one direction: the current and pending protection and the 64-bit sequence
  number (RFC 5246 §6.1: "sequence numbers ... MUST NOT wrap"); ChangeCipherSpec makes the pending
  state current and resets the sequence number (RFC 5246 §7.1); TLS 1.3 mode adds and strips the inner
  content type and padding (RFC 8446 §5.2, §5.4).
* :func:`fragment_data` — split data into records of at most N bytes (RFC 5246 §6.2.1, RFC 6066 §4,
  RFC 8449 §4).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tlsstate.record.protection import Buffer, NullProtection, RecordProtection
from tlsstate.wire.constants import (
    MAX_CIPHERTEXT_LENGTH,
    MAX_PLAINTEXT_LENGTH,
    MAX_SEQUENCE_NUMBER,
    MAX_TLS13_CIPHERTEXT_LENGTH,
    RECORD_HEADER_LENGTH,
    ContentType,
)
from tlsstate.wire.errors import (
    BadRecordMAC,
    ConfigurationError,
    DecodeError,
    InternalError,
    ProtocolError,
    RecordOverflow,
    UnexpectedMessage,
)

_HEADER = struct.Struct(">BHH")
_UNPACK_HEADER_FROM = _HEADER.unpack_from
_FIRST_TYPE = int(ContentType.CHANGE_CIPHER_SPEC)  # 20 (plain ints: cheaper comparisons)
_LAST_TYPE = int(ContentType.HEARTBEAT)  # 24
_LOWEST_VERSION = 0x0300
_HIGHEST_VERSION = 0x0304
TLS13_RECORD_VERSION = 0x0303  # legacy_record_version of protected TLS 1.3 records (RFC 8446 §5.1)


@dataclass(slots=True)
class Record:
    """One record: content type, record version and fragment (RFC 5246 §6.2.1)."""

    content_type: int
    version: int
    fragment: bytes

    def to_bytes(self) -> bytes:
        """Header + fragment as on the wire."""
        return _HEADER.pack(self.content_type, self.version, len(self.fragment)) + bytes(self.fragment)

    def __repr__(self) -> str:
        return f"Record(type={self.content_type}, version=0x{self.version:04x}, length={len(self.fragment)})"


class Deframer:
    """Cuts a byte stream into records (RFC 5246 §6.2.1); any chunking of the input gives the same records.

    Header checks, in order: content type 20..24 (else ``unexpected_message``, RFC 5246 §6 / RFC 8446
    §5), version major 3 in 0x0300..0x0304 (else ``decode_error``), length ≤ ``max_fragment_length``
    (else ``record_overflow``; default 2^14 + 2048, RFC 5246 §6.2.3; use 2^14 + 256 for TLS 1.3
    ciphertext, RFC 8446 §5.2). A header error is reported as soon as the 5 header bytes are there and
    is sticky: every later call raises the same error.

    Two ways in: :meth:`feed` takes bytes (kept without a copy when everything before was consumed, the
    common case with ``socket.recv``); :meth:`receive_buffer` + :meth:`received` let the transport write
    straight into the Deframer's own buffer (``socket.recv_into``) or let a local peer seal into it
    (:meth:`HalfConnection.seal_into`). The buffer is a bytearray that is never resized in place (views of
    it stay valid; it is replaced when it must grow), so held memory is bounded by the largest amount ever
    buffered at once.
    """

    def __init__(self, max_fragment_length: int = MAX_CIPHERTEXT_LENGTH) -> None:
        self.max_fragment_length = max_fragment_length
        self._data: bytes | bytearray = b""  # received bytes are _data[_pos:_end]
        self._pos = 0
        self._end = 0
        self._view: memoryview | None = None  # a view of _data while it is our own bytearray
        self._lent = 0  # size of the last receive_buffer() view: what received() may commit
        self._error: ProtocolError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as records."""
        return self._end - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add received bytes (no copy when the previous input was fully consumed and ``data`` is bytes)."""
        self._lent = 0
        if self._pos >= self._end:  # everything consumed: keep bytes as they are (the common case)
            if data:
                self._data = data if type(data) is bytes else bytes(data)
                self._pos, self._end, self._view = 0, len(self._data), None
            return
        size = len(data)
        if not size:
            return
        view = self._room(size)
        end = self._end
        view[end : end + size] = data
        self._end = end + size

    def receive_buffer(self, size: int = RECORD_HEADER_LENGTH + MAX_CIPHERTEXT_LENGTH) -> memoryview:
        """A writable view of ``size`` free bytes after the buffered ones: write received bytes at its start
        (e.g. ``socket.recv_into``), then call :meth:`received` with their count. The view is valid until the
        next call on this Deframer."""
        end, view = self._end, self._view
        if view is None or size < 1 or len(view) - end < size:  # else the common case: room after the buffered bytes
            if size < 1:
                raise ConfigurationError(f"receive buffer size must be positive, not {size}")
            view = self._room(size)
            end = self._end
        self._lent = size
        return view[end : end + size]

    def received(self, count: int) -> None:
        """Commit ``count`` bytes written at the start of the last :meth:`receive_buffer` view."""
        if not 0 <= count <= self._lent:
            raise ConfigurationError(f"received({count}) but the last receive_buffer() lent {self._lent} bytes")
        self._lent = 0
        self._end += count

    def _room(self, size: int) -> memoryview:
        """Make ``_data`` our own bytearray with ``size`` free bytes after ``_end``; returns its view."""
        data, pos, end, view = self._data, self._pos, self._end, self._view
        pending = end - pos
        if view is not None:
            if len(data) - end >= size:
                return view
            if pos and len(data) - pending >= size:  # slide the unconsumed bytes to the front (no resize)
                view[0:pending] = view[pos:end]
                self._pos, self._end = 0, pending
                return view
        # a new buffer (the old one may still be viewed by earlier records or receive views)
        fresh = bytearray(max(pending + size, 2 * pending))
        fresh[0:pending] = memoryview(data)[pos:end]
        self._data, self._pos, self._end = fresh, 0, pending
        self._view = memoryview(fresh)
        return self._view

    def next_record(self) -> Record | None:
        """The next whole record, or None if more bytes are needed."""
        taken = self.take_record()
        if taken is None:
            return None
        content_type, version, start, end = taken
        data = self._data
        fragment = data[start:end] if type(data) is bytes else bytes(memoryview(data)[start:end])
        return Record(content_type, version, fragment)

    def next_record_view(self) -> tuple[int, int, memoryview] | None:
        """Like :meth:`next_record` but returns ``(content_type, version, fragment)`` with the fragment as a
        read-only view into the fed bytes (no copy when they were ``bytes``): the fast path for
        :meth:`HalfConnection.open_fragment`. The view stays valid however the Deframer is used later."""
        taken = self.take_record()
        if taken is None:
            return None
        content_type, version, start, end = taken
        data = self._data
        if type(data) is bytes:
            return content_type, version, memoryview(data)[start:end]
        # our bytearray is reused for later input, which would change an exported view: copy
        return content_type, version, memoryview(bytes(memoryview(data)[start:end]))

    def take_record(self) -> tuple[int, int, int, int] | None:
        """Consume the next whole record and return ``(content_type, version, start, end)``: its fragment is
        ``buffer[start:end]`` of :attr:`buffer`, valid until the next call that adds bytes. None if more bytes
        are needed. Every header check of the class docstring is made here (errors are sticky)."""
        pos = self._pos
        if self._end - pos < 5:  # RECORD_HEADER_LENGTH
            if self._error is not None:
                raise self._error
            return None
        content_type, version, length = _UNPACK_HEADER_FROM(self._data, pos)
        if not (
            _FIRST_TYPE <= content_type <= _LAST_TYPE
            and _LOWEST_VERSION <= version <= _HIGHEST_VERSION
            and length <= self.max_fragment_length
        ):
            raise self._header_error(content_type, version, length)
        end = pos + 5 + length
        if self._end < end:
            return None
        if end >= self._end and self._view is not None:
            self._pos = self._end = 0  # an emptied bytearray starts again at its front
        else:
            self._pos = end
        return content_type, version, pos + 5, end

    @property
    def buffer(self) -> bytes | bytearray:
        """The object :meth:`take_record` offsets point into (the fed bytes, or the Deframer's bytearray)."""
        return self._data

    def _header_error(self, content_type: int, version: int, length: int) -> ProtocolError:
        if self._error is None:
            if not _FIRST_TYPE <= content_type <= _LAST_TYPE:
                self._error = UnexpectedMessage(f"unknown record content type {content_type}")
            elif not _LOWEST_VERSION <= version <= _HIGHEST_VERSION:
                self._error = DecodeError(f"bad record version 0x{version:04x}")
            else:
                self._error = RecordOverflow(f"record length {length} exceeds {self.max_fragment_length}")
        return self._error

    def __iter__(self) -> Iterator[Record]:
        """All whole records buffered now."""
        while (record := self.next_record()) is not None:
            yield record


class HalfConnection:
    """One direction of a connection: protection in use, pending protection and sequence number.

    ``writer`` is whose write keys protect this direction ("client" or "server"). ``seal`` produces a
    whole record; ``open`` takes a record and returns ``(content_type, plaintext)``. Sequence numbers
    are 64-bit and never wrap: using the state after 2^64 records raises InternalError (RFC 5246
    §6.1). After an integrity failure the state is dead: every later call raises the same BadRecordMAC.
    A decrypted plaintext longer than ``max_plaintext_length`` (default 2^14; lower it for
    max_fragment_length / record_size_limit) is ``record_overflow`` (RFC 5246 §6.2.1, RFC 8446 §5.4).
    """

    def __init__(self, writer: str, *, max_plaintext_length: int = MAX_PLAINTEXT_LENGTH) -> None:
        if writer not in ("client", "server"):
            raise ConfigurationError(f"writer must be 'client' or 'server', not {writer!r}")
        self.writer = writer
        self.seq = 0
        self.epoch = 0
        self._protection: RecordProtection = NullProtection()
        self.pending: RecordProtection | None = None
        self._tls13 = False
        self.max_plaintext_length = max_plaintext_length
        self._label: str | None = None
        self._failure: BadRecordMAC | None = None
        # Hot path: the protection's bound methods while the state is alive and needs no TLS 1.3 wrapping,
        # else None (the checked slow path). Derived from _protection/_tls13/_failure by _update_fast_path only.
        self._fast_seal: Callable[[int, int, int, Buffer], bytes] | None = None
        self._fast_open: Callable[[int, int, int, bytes | memoryview], bytes] | None = None
        self._fast_seal_into: Callable[[int, int, int, Buffer, memoryview], int] | None = None
        self._fast_open_into: Callable[[int, int, int, Buffer, memoryview], int] | None = None
        self._update_fast_path()

    @property
    def protection(self) -> RecordProtection:
        """The protection in use for this direction."""
        return self._protection

    @protection.setter
    def protection(self, protection: RecordProtection) -> None:
        self._protection = protection
        self._update_fast_path()

    @property
    def tls13(self) -> bool:
        """True once TLS 1.3 traffic keys are in use (inner content type + padding)."""
        return self._tls13

    @tls13.setter
    def tls13(self, value: bool) -> None:
        self._tls13 = value
        self._update_fast_path()

    # ------------------------------------------------------------------ state changes

    def set_pending(self, protection: RecordProtection) -> None:
        """Install the protection that the next ChangeCipherSpec activates (RFC 5246 §6.1)."""
        self.pending = protection

    def activate_pending(self) -> None:
        """ChangeCipherSpec: pending → current, sequence number 0, epoch + 1 (RFC 5246 §7.1)."""
        if self.pending is None:
            raise UnexpectedMessage("ChangeCipherSpec before the new cipher spec was negotiated")
        self._protection = self.pending
        self.pending = None
        self.seq = 0
        self.epoch += 1
        self._label = None
        self._update_fast_path()

    def activate_tls13(self, protection: RecordProtection, *, label: str | None = None) -> None:
        """Switch to new TLS 1.3 traffic keys (handshake, application, KeyUpdate): seq = 0 (RFC 8446 §5.3)."""
        self._protection = protection
        self.pending = None
        self.seq = 0
        self.epoch += 1
        self._tls13 = True
        self._label = label
        self._update_fast_path()

    def _update_fast_path(self) -> None:
        fast = self._failure is None and not self._tls13
        self._fast_seal = self._protection.seal_record if fast else None
        self._fast_open = self._protection.open if fast else None
        self._fast_seal_into = self._protection.seal_record_into if fast else None
        self._fast_open_into = self._protection.open_into if fast else None

    @property
    def key_label(self) -> str:
        """Which key protects this direction, e.g. ``client write key (epoch 1)``."""
        if self._label is not None:
            return f"{self._label} (epoch {self.epoch})"
        if not self.protection.protects:
            return f"{self.writer} write: none (epoch {self.epoch}, plaintext)"
        return f"{self.writer} write key (epoch {self.epoch})"

    # ------------------------------------------------------------------ records

    def seal(
        self, content_type: int, version: int, plaintext: bytes | bytearray | memoryview, *, padding: int = 0
    ) -> bytes:
        """Protect one fragment and return the whole record (header included).

        In TLS 1.3 mode the record is TLSInnerPlaintext = content + type + ``padding`` zero bytes under
        outer type application_data, version 0x0303 (RFC 8446 §5.2, §5.4); content + padding may not
        exceed ``max_plaintext_length`` (so TLSInnerPlaintext ≤ 2^14 + 1). ``padding`` is ignored before
        TLS 1.3 keys are active.
        """
        seq = self.seq
        fast = self._fast_seal
        if fast is not None and not padding and seq <= MAX_SEQUENCE_NUMBER and len(plaintext) <= self.max_plaintext_length:
            self.seq = seq + 1  # hot path: alive, not TLS 1.3, no padding; the same checks as below
            return fast(seq, content_type, version, plaintext)
        if len(plaintext) + padding > self.max_plaintext_length or padding < 0:
            raise ConfigurationError(
                f"fragment of {len(plaintext)} bytes (+ {padding} padding) exceeds {self.max_plaintext_length}:"
                " use fragment_data()"
            )
        if seq > MAX_SEQUENCE_NUMBER:
            raise InternalError("sequence number exhausted: the connection must be renegotiated or closed")
        self.seq = seq + 1
        if fast is not None:
            return fast(seq, content_type, version, plaintext)
        if self._failure is not None:
            raise self._failure
        if self._tls13 and self._protection.protects:
            inner = b"".join((plaintext, bytes((content_type,)), bytes(padding)))
            return self._protection.seal_record(seq, ContentType.APPLICATION_DATA, TLS13_RECORD_VERSION, inner)
        return self._protection.seal_record(seq, content_type, version, plaintext)

    def seal_into(
        self, content_type: int, version: int, plaintext: bytes | bytearray | memoryview, out: bytearray | memoryview,
        *, padding: int = 0,
    ) -> int:
        """:meth:`seal` with the whole record written to the start of ``out``; returns its length.

        ``out`` must hold :meth:`sealed_size_bound` bytes (checked before anything changes). The AEADs
        encrypt straight into it (pyca ``encrypt_into``): no copy of the ciphertext, which is what a
        sender using ``socket.send(out[:n])`` or a Deframer's :meth:`~Deframer.receive_buffer` wants.
        """
        view = out if type(out) is memoryview else memoryview(out)
        seq = self.seq
        fast = self._fast_seal_into
        size = len(plaintext)
        if fast is not None and not padding and seq <= MAX_SEQUENCE_NUMBER and size <= self.max_plaintext_length:
            if len(view) < 5 + size + self._protection.expansion:
                raise ConfigurationError(f"output buffer of {len(view)} bytes cannot hold a sealed {size}-byte fragment")
            self.seq = seq + 1  # hot path: the same checks as seal()
            return fast(seq, content_type, version, plaintext, view)
        if len(view) < self.sealed_size_bound(size, padding=padding):
            raise ConfigurationError(f"output buffer of {len(view)} bytes cannot hold a sealed {size}-byte fragment")
        record = self.seal(content_type, version, bytes(plaintext), padding=padding)
        view[: len(record)] = record
        return len(record)

    def sealed_size_bound(self, plaintext_length: int, *, padding: int = 0) -> int:
        """The most bytes :meth:`seal` can produce for a fragment of this length: header + fragment +
        :attr:`RecordProtection.expansion` (+ inner content type and padding in TLS 1.3)."""
        inner = plaintext_length + (1 + padding if self._tls13 else 0)
        return RECORD_HEADER_LENGTH + inner + self._protection.expansion

    def open(self, record: Record) -> tuple[int, bytes]:
        """Verify and unprotect one record; returns ``(content_type, plaintext)``."""
        return self.open_fragment(record.content_type, record.version, record.fragment)

    def open_next(self, deframer: Deframer) -> tuple[int, int, bytes] | None:
        """Take the next whole record from ``deframer`` and open it: ``(content_type, version, plaintext)``,
        or None when more bytes are needed.

        The same result and the same errors as ``deframer.next_record_view()`` followed by
        :meth:`open_fragment` (header checks of RFC 5246 §6.2.1, then sequence number, integrity and
        plaintext length), in one call: the receive hot path. The fragment goes to the protection as a view
        of the deframer's buffer, without a copy.
        """
        fast = self._fast_open
        if fast is None or self.seq > MAX_SEQUENCE_NUMBER:
            view = deframer.next_record_view()
            return None if view is None else self._open_parts(*view)
        taken = deframer.take_record()
        if taken is None:
            return None
        content_type, version, start, end = taken
        seq = self.seq
        self.seq = seq + 1
        try:
            plaintext = fast(seq, content_type, version, memoryview(deframer._data)[start:end])
        except BadRecordMAC as failure:
            self._fail(failure)
            raise
        if len(plaintext) > self.max_plaintext_length:
            raise RecordOverflow(f"decrypted fragment of {len(plaintext)} bytes exceeds {self.max_plaintext_length}")
        return content_type, version, plaintext

    def open_next_into(self, deframer: Deframer, out: bytearray | memoryview) -> tuple[int, int, int] | None:
        """:meth:`open_next` with the plaintext written to the start of ``out`` instead of a new bytes:
        returns ``(content_type, version, plaintext_length)`` or None when more bytes are needed.

        ``out`` must hold at least ``max_plaintext_length`` bytes (TLS 1.3: the inner plaintext before the
        content type and padding are stripped, up to 2^14 + 256 bytes). The AEADs decrypt straight into it
        (pyca ``decrypt_into``, RFC 5116 §2.2); on an integrity failure the bytes written are wiped. Same
        checks, same errors and the same sticky failure as :meth:`open_next`.
        """
        if len(out) < self.max_plaintext_length:
            raise ConfigurationError(f"output buffer of {len(out)} bytes is smaller than {self.max_plaintext_length}")
        fast = self._fast_open_into
        if fast is None or self.seq > MAX_SEQUENCE_NUMBER:
            opened = self.open_next(deframer)
            if opened is None:
                return None
            content_type, version, plaintext = opened
            size = len(plaintext)
            out[:size] = plaintext
            return content_type, version, size
        taken = deframer.take_record()
        if taken is None:
            return None
        content_type, version, start, end = taken
        seq = self.seq
        self.seq = seq + 1
        try:
            size = fast(seq, content_type, version, memoryview(deframer._data)[start:end],
                        out if type(out) is memoryview else memoryview(out))
        except BadRecordMAC as failure:
            self._fail(failure)
            raise
        if size > self.max_plaintext_length:
            raise RecordOverflow(f"decrypted fragment of {size} bytes exceeds {self.max_plaintext_length}")
        return content_type, version, size

    def _open_parts(self, content_type: int, version: int, fragment: bytes | memoryview) -> tuple[int, int, bytes]:
        opened_type, plaintext = self.open_fragment(content_type, version, fragment)
        return opened_type, version, plaintext

    def open_fragment(self, content_type: int, version: int, fragment: bytes | memoryview) -> tuple[int, bytes]:
        """:meth:`open` for a record given as its parts (e.g. from :meth:`Deframer.next_record_view`)."""
        seq = self.seq
        fast = self._fast_open
        if fast is not None and seq <= MAX_SEQUENCE_NUMBER:
            # hot path: alive, not TLS 1.3, sequence number available (the same checks as below)
            self.seq = seq + 1
            try:
                plaintext = fast(seq, content_type, version, fragment)
            except BadRecordMAC as failure:
                self._fail(failure)
                raise
            if len(plaintext) > self.max_plaintext_length:
                raise RecordOverflow(
                    f"decrypted fragment of {len(plaintext)} bytes exceeds {self.max_plaintext_length}"
                )
            return content_type, plaintext
        if self._failure is not None:
            raise self._failure
        protection = self._protection
        if self._tls13 and protection.protects:
            return self._open_tls13(content_type, version, fragment, protection)
        if seq > MAX_SEQUENCE_NUMBER:
            raise InternalError("sequence number exhausted: the connection must be renegotiated or closed")
        self.seq = seq + 1
        try:
            plaintext = protection.open(seq, content_type, version, fragment)
        except BadRecordMAC as failure:
            self._fail(failure)
            raise
        if len(plaintext) > self.max_plaintext_length:
            raise RecordOverflow(f"decrypted fragment of {len(plaintext)} bytes exceeds {self.max_plaintext_length}")
        return content_type, plaintext

    def _fail(self, failure: BadRecordMAC) -> None:
        """An integrity failure kills this direction: every later call raises the same error."""
        self._failure = failure
        self._update_fast_path()

    def _open_tls13(
        self, content_type: int, version: int, fragment: bytes | memoryview, protection: RecordProtection
    ) -> tuple[int, bytes]:
        """RFC 8446 §5.2: decrypt, strip zero padding, the last non-zero byte is the real type."""
        if content_type == ContentType.CHANGE_CIPHER_SPEC:
            # §5: an unprotected change_cipher_spec may arrive during the handshake; the caller decides.
            return content_type, bytes(fragment)
        if content_type != ContentType.APPLICATION_DATA:
            raise UnexpectedMessage(f"unprotected record of type {content_type} after keys were set")
        if len(fragment) > MAX_TLS13_CIPHERTEXT_LENGTH:
            raise RecordOverflow(f"TLS 1.3 ciphertext of {len(fragment)} bytes exceeds 2^14 + 256")
        seq = self.seq
        if seq > MAX_SEQUENCE_NUMBER:
            raise InternalError("sequence number exhausted: the connection must be renegotiated or closed")
        self.seq = seq + 1
        try:
            inner = protection.open(seq, content_type, version, fragment)
        except BadRecordMAC as failure:
            self._fail(failure)
            raise
        end = len(inner)
        if end and inner[end - 1]:
            inner_type = inner[end - 1]
            end -= 1
        else:
            stripped = inner.rstrip(b"\x00")
            if not stripped:
                raise UnexpectedMessage("TLS 1.3 record with no non-zero content type")
            end = len(stripped) - 1
            inner_type = stripped[end]
        if end > self.max_plaintext_length:
            raise RecordOverflow(f"decrypted fragment of {end} bytes exceeds {self.max_plaintext_length}")
        return inner_type, inner[:end]

    def __repr__(self) -> str:
        return f"<HalfConnection {self.key_label} seq={self.seq} {self.protection!r}>"


def fragment_data(data: bytes | bytearray | memoryview, max_length: int = MAX_PLAINTEXT_LENGTH) -> Iterator[bytes]:
    """Split ``data`` into fragments of at most ``max_length`` bytes (RFC 5246 §6.2.1); none for empty data.

    ``max_length`` comes from max_fragment_length (RFC 6066 §4) or record_size_limit (RFC 8449 §4).
    """
    if not 1 <= max_length <= MAX_PLAINTEXT_LENGTH:
        raise ConfigurationError(f"fragment length must be 1..{MAX_PLAINTEXT_LENGTH}, not {max_length}")
    view = memoryview(data)
    for start in range(0, len(view), max_length):
        yield bytes(view[start : start + max_length])
