"""The deframer: a byte stream in any chunking → whole records, with strict header checks (RFC 5246 §6.2.1,
RFC 8446 §5.1); and :class:`Record`, one TLSPlaintext / TLSCiphertext."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tlsstate.record.protection.base import RECORD_HEADER
from tlsstate.wire.constants import MAX_CIPHERTEXT_LENGTH, RECORD_HEADER_LENGTH, SSLV2_CLIENT_HELLO, ContentType
from tlsstate.wire.errors import (
    ConfigurationError,
    DecodeError,
    ProtocolError,
    ProtocolVersionError,
    RecordOverflow,
    UnexpectedMessage,
)

_PACK_HEADER = RECORD_HEADER.pack
_UNPACK_HEADER_FROM = RECORD_HEADER.unpack_from
_FIRST_TYPE = int(ContentType.CHANGE_CIPHER_SPEC)  # 20 (plain ints: cheaper comparisons)
_LAST_TYPE = int(ContentType.HEARTBEAT)  # 24
_LOWEST_VERSION = 0x0300
_HIGHEST_VERSION = 0x0304
_HANDSHAKE = int(ContentType.HANDSHAKE)
_SSL2_MT_CLIENT_HELLO = 1  # the SSL 2.0 msg_type of CLIENT-HELLO (RFC 5246 Appendix E.2)


@dataclass(slots=True)
class Record:
    """One record: content type, record version and fragment (RFC 5246 §6.2.1)."""

    content_type: int
    version: int
    fragment: bytes

    def to_bytes(self) -> bytes:
        """Header + fragment as on the wire."""
        return _PACK_HEADER(self.content_type, self.version, len(self.fragment)) + bytes(self.fragment)

    def __repr__(self) -> str:
        return f"Record(type={self.content_type}, version=0x{self.version:04x}, length={len(self.fragment)})"


class Deframer:
    """Cuts a byte stream into records (RFC 5246 §6.2.1); any chunking of the input gives the same records.

    Header checks, in order: content type 20..24 (else ``unexpected_message``, RFC 5246 §6 / RFC 8446
    §5), version major 3 in 0x0300..0x0304 (else ``decode_error``), length ≤ ``max_fragment_length``
    (else ``record_overflow``; default 2^14 + 2048, RFC 5246 §6.2.3; use 2^14 + 256 for TLS 1.3
    ciphertext, RFC 8446 §5.2). A header error is reported as soon as the 5 header bytes are there and
    is sticky: every later call raises the same error.

    ``first_client_hello=True`` (a server reading its client): the first record alone may be what RFC 5246
    Appendix E.1-E.2 let a client's first flight be: a handshake record of any version {03,XX}, or an SSLv2-format
    ClientHello (a first byte with the top bit set, then msg_type 1), returned whole, its 2-byte header included,
    with the content type :data:`~tlsstate.wire.constants.SSLV2_CLIENT_HELLO`. Every later record is checked as
    above.

    Two ways in: :meth:`feed` takes bytes (kept without a copy when everything before was consumed, the
    common case with ``socket.recv``); :meth:`receive_buffer` + :meth:`received` let the transport write
    straight into the Deframer's own buffer (``socket.recv_into``) or let a local peer seal into it
    (:meth:`HalfConnection.seal_into`). The buffer is a bytearray that is never resized in place (views of
    it stay valid; it is replaced when it must grow), so held memory is bounded by the largest amount ever
    buffered at once.
    """

    def __init__(self, max_fragment_length: int = MAX_CIPHERTEXT_LENGTH, *, first_client_hello: bool = False) -> None:
        self.max_fragment_length = max_fragment_length
        self._first = first_client_hello  # the next record is a client's first (RFC 5246 Appendix E.1-E.2)
        self._data: bytes | bytearray = b""  # received bytes are _data[_pos:_end]
        self._pos = 0
        self._end = 0
        self._view: memoryview | None = None  # a view of _data while it is our own bytearray
        self._lent = 0  # size of the last receive_buffer() view: what received() may commit
        self._error: ProtocolError | None = None
        #: once the hellos fix the record version, every later record must carry it (set by the Connection; None:
        #: any version of the header check): a different one is ``protocol_version``, checked when the whole
        #: record is there
        self.expected_version: int | None = None

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
        """The next whole record (its fragment copied out), or None if more bytes are needed."""
        taken = self.take_record_view()
        if taken is None:
            return None
        content_type, version, fragment = taken
        return Record(content_type, version, bytes(fragment))

    def next_record_view(self) -> tuple[int, int, memoryview] | None:
        """Like :meth:`next_record` but returns ``(content_type, version, fragment)`` with the fragment as a
        read-only view into the fed bytes (no copy when they were ``bytes``): the fast path for
        :meth:`HalfConnection.open_fragment`. The view stays valid however the Deframer is used later."""
        taken = self.take_record_view()
        if taken is None or self._view is None:
            return taken
        # our bytearray is reused for later input, which would change an exported view: copy
        content_type, version, fragment = taken
        return content_type, version, memoryview(bytes(fragment))

    def take_record_view(self) -> tuple[int, int, memoryview] | None:
        """Consume the next whole record and return ``(content_type, version, fragment)``, the fragment a view into
        :attr:`buffer` that is valid only until the next call that adds bytes (what :meth:`HalfConnection.open_next`
        needs: it opens the fragment at once). None if more bytes are needed. Every header check of the class
        docstring is made here (errors are sticky)."""
        pos = self._pos
        if self._end - pos < 5:  # RECORD_HEADER_LENGTH
            if self._error is not None:
                raise self._error
            return None
        content_type, version, length = _UNPACK_HEADER_FROM(self._data, pos)
        start = pos + 5
        if not (
            _FIRST_TYPE <= content_type <= _LAST_TYPE
            and _LOWEST_VERSION <= version <= _HIGHEST_VERSION
            and length <= self.max_fragment_length
        ):
            if not self._first:
                raise self._header_error(content_type, version, length)
            content_type, start, length = self._first_record(content_type, version, length)
        end = start + length
        if self._end < end:
            return None
        self._first = False
        expected = self.expected_version
        if expected is not None and version != expected:
            raise ProtocolVersionError(f"record version 0x{version:04x} differs from the negotiated 0x{expected:04x}")
        view = self._view
        if view is None:  # fed bytes
            view = memoryview(self._data)
        elif end >= self._end:
            self._pos = self._end = 0  # an emptied bytearray starts again at its front
            return content_type, version, view[start:end]
        self._pos = end
        return content_type, version, view[start:end]

    def _first_record(self, content_type: int, version: int, length: int) -> tuple[int, int, int]:
        """A client's first record whose header failed the strict checks: ``(content type, where its fragment
        starts, fragment length)`` when RFC 5246 Appendix E allows it, else the header error.

        E.1: "a TLS server MUST accept any value {03,XX} as the record layer version number for ClientHello".
        E.2: an SSLv2-format ClientHello: ``msg_length`` (2 bytes, top bit set), ``msg_type`` 1, ...; its fragment
        is the whole record, header included (the parser checks the rest, the version too)."""
        first, second, msg_type = content_type, version >> 8, version & 0xFF  # as SSLv2: msg_length, msg_type
        if first & 0x80 and msg_type == _SSL2_MT_CLIENT_HELLO:
            return SSLV2_CLIENT_HELLO, self._pos, 2 + ((first & 0x7F) << 8 | second)
        if content_type == _HANDSHAKE and second == 3 and length <= self.max_fragment_length:
            return content_type, self._pos + 5, length
        raise self._header_error(content_type, version, length)

    @property
    def buffer(self) -> bytes | bytearray:
        """The bytes :meth:`take_record_view` fragments view (the fed bytes, or the Deframer's bytearray)."""
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
