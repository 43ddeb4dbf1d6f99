"""One direction of a connection's record layer (RFC 5246 §6.1, RFC 8446 §5): the protection in use, the pending
protection and the 64-bit sequence number.

Like rustls' ``RecordLayer`` and Go's ``halfConn``, the half connection owns the sequence number and hands it to the
protection; ChangeCipherSpec makes the pending state current and resets it (RFC 5246 §7.1), and new TLS 1.3 keys do
the same (RFC 8446 §5.3) with :class:`~tlsstate.record.protection.Tls13InnerPlaintext` around the protection. Every
record opened goes through one private path, :meth:`HalfConnection._open`, which holds every check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, overload

from tlsstate.record.deframer import Record
from tlsstate.record.protection import Buffer, NullProtection, RecordProtection, Tls13InnerPlaintext
from tlsstate.wire.constants import (
    MAX_PLAINTEXT_LENGTH,
    MAX_SEQUENCE_NUMBER,
    MAX_TLS13_CIPHERTEXT_LENGTH,
    RECORD_HEADER_LENGTH,
    SSLV2_CLIENT_HELLO,
    ContentType,
)
from tlsstate.wire.errors import (
    BadRecordMAC,
    ConfigurationError,
    InternalError,
    ProtocolError,
    RecordOverflow,
    UnexpectedMessage,
)

_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)
_EXHAUSTED = "sequence number exhausted: the connection must be renegotiated or closed"


class RecordSource(Protocol):
    """Where :meth:`HalfConnection._open` takes its record from: a :class:`Deframer`, or one given record."""

    def take_record_view(self) -> tuple[int, int, Buffer] | None: ...


class _OneRecord:
    """One record given as its parts (:meth:`HalfConnection.open`, :meth:`HalfConnection.open_fragment`)."""

    __slots__ = ("_record",)

    def __init__(self, content_type: int, version: int, fragment: Buffer) -> None:
        self._record: tuple[int, int, Buffer] | None = (content_type, version, fragment)

    def take_record_view(self) -> tuple[int, int, Buffer] | None:
        record, self._record = self._record, None
        return record


def _view(out: bytearray | memoryview) -> memoryview:
    return out if type(out) is memoryview else memoryview(out)


def _copy_into(plaintext: bytes, out: memoryview) -> int:
    """Write ``plaintext`` to the start of ``out`` if it fits (else the caller reports record_overflow)."""
    size = len(plaintext)
    if size <= len(out):
        out[:size] = plaintext
    return size


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
        self.pending: RecordProtection | None = None
        self.max_plaintext_length = max_plaintext_length
        self._label: str | None = None
        self._failure: BadRecordMAC | None = None
        #: the last sequence number this state may use: 2^64 - 1 (RFC 5246 §6.1), -1 once it failed (one check
        #: per record covers both refusals)
        self._last_seq = MAX_SEQUENCE_NUMBER
        self._tls13 = False
        self._skip_left = 0  # rejected early data still to skip (skip_failing_records)
        self._install(NullProtection())

    def _install(self, protection: RecordProtection) -> None:
        """Bind the per-record methods once (the hot path): the protection's own, or those of the
        TLSInnerPlaintext wrapper around it once TLS 1.3 keys are in use."""
        self._protection = protection
        inner = Tls13InnerPlaintext(protection) if self._tls13 and protection.protects else None
        sealer: RecordProtection | Tls13InnerPlaintext = protection if inner is None else inner
        self._inner = inner
        self._expansion = sealer.expansion
        self._seal_record: Callable[[int, int, int, Buffer], bytes] = sealer.seal_record
        self._seal_record_into: Callable[[int, int, int, Buffer, memoryview], int] = sealer.seal_record_into
        self._unprotect: Callable[[int, int, int, Buffer], bytes] = protection.open
        self._unprotect_into: Callable[[int, int, int, Buffer, memoryview], int] = protection.open_into

    @property
    def protection(self) -> RecordProtection:
        """The protection in use for this direction (in TLS 1.3, the AEAD under the inner-plaintext wrapper)."""
        return self._protection

    @protection.setter
    def protection(self, protection: RecordProtection) -> None:
        self._install(protection)

    @property
    def tls13(self) -> bool:
        """True once TLS 1.3 traffic keys are in use (inner content type + padding)."""
        return self._tls13

    # ------------------------------------------------------------------ state changes

    def set_pending(self, protection: RecordProtection) -> None:
        """Install the protection that the next ChangeCipherSpec activates (RFC 5246 §6.1)."""
        self.pending = protection

    def activate_pending(self) -> None:
        """ChangeCipherSpec: pending → current, sequence number 0, epoch + 1 (RFC 5246 §7.1)."""
        if self.pending is None:
            raise UnexpectedMessage("ChangeCipherSpec before the new cipher spec was negotiated")
        self._new_epoch(self.pending, None)

    def activate_tls13(self, protection: RecordProtection, *, label: str | None = None) -> None:
        """Switch to new TLS 1.3 traffic keys (handshake, application, KeyUpdate): seq = 0 (RFC 8446 §5.3)."""
        self._tls13 = True
        self._new_epoch(protection, label)

    def _new_epoch(self, protection: RecordProtection, label: str | None) -> None:
        self.pending = None
        self.seq = 0
        self.epoch += 1
        self._label = label
        self._install(protection)

    @property
    def key_label(self) -> str:
        """Which key protects this direction, e.g. ``client write key (epoch 1)``."""
        if self._label is not None:
            return f"{self._label} (epoch {self.epoch})"
        if not self._protection.protects:
            return f"{self.writer} write: none (epoch {self.epoch}, plaintext)"
        return f"{self.writer} write key (epoch {self.epoch})"

    # ------------------------------------------------------------------ sealing

    def seal(self, content_type: int, version: int, plaintext: Buffer, *, padding: int = 0) -> bytes:
        """Protect one fragment and return the whole record (header included).

        In TLS 1.3 mode the record is TLSInnerPlaintext = content + type + ``padding`` zero bytes under
        outer type application_data, version 0x0303 (RFC 8446 §5.2, §5.4); content + padding may not
        exceed ``max_plaintext_length`` (so TLSInnerPlaintext ≤ 2^14 + 1). ``padding`` is ignored before
        TLS 1.3 keys are active.
        """
        seq = self.seq
        if padding or seq > self._last_seq or len(plaintext) > self.max_plaintext_length:
            self._check_seal(len(plaintext), padding)
            if self._inner is not None:
                self.seq = seq + 1
                return self._inner.seal_record(seq, content_type, version, plaintext, padding)
        self.seq = seq + 1
        return self._seal_record(seq, content_type, version, plaintext)

    def seal_into(
        self, content_type: int, version: int, plaintext: Buffer, out: bytearray | memoryview, *, padding: int = 0
    ) -> int:
        """:meth:`seal` with the whole record written to the start of ``out``; returns its length.

        ``out`` must hold :meth:`sealed_size_bound` bytes (checked before anything changes). The AEADs
        encrypt straight into it (pyca ``encrypt_into``): no copy of the ciphertext, which is what a
        sender using ``socket.send(out[:n])`` or a Deframer's :meth:`~Deframer.receive_buffer` wants.
        """
        view = out if type(out) is memoryview else memoryview(out)
        size = len(plaintext)
        if len(view) < (self.sealed_size_bound(size, padding=padding) if padding else 5 + size + self._expansion):
            raise ConfigurationError(f"output buffer of {len(view)} bytes cannot hold a sealed {size}-byte fragment")
        seq = self.seq
        if padding or seq > self._last_seq or size > self.max_plaintext_length:
            record = self.seal(content_type, version, plaintext, padding=padding)
            view[: len(record)] = record
            return len(record)
        self.seq = seq + 1
        return self._seal_record_into(seq, content_type, version, plaintext, view)

    def _check_seal(self, size: int, padding: int) -> None:
        """Every refusal to seal: a fragment over the limit, an exhausted sequence number, a dead state."""
        if size + padding > self.max_plaintext_length or padding < 0:
            raise ConfigurationError(
                f"fragment of {size} bytes (+ {padding} padding) exceeds {self.max_plaintext_length}: use fragment_data()"
            )
        if self.seq > self._last_seq:
            raise self._refusal()

    def _refusal(self) -> ProtocolError:
        """Why this state takes no more records: after an integrity failure the same BadRecordMAC every time, else
        the sequence number is exhausted (RFC 5246 §6.1: it never wraps)."""
        return self._failure if self._failure is not None else InternalError(_EXHAUSTED)

    @property
    def open_buffer_length(self) -> int:
        """The ``out`` size with which :meth:`open_next_into` decrypts every record straight into ``out``:
        ``max_plaintext_length``, plus 256 once TLS 1.3 keys are active, for the TLSInnerPlaintext's content type and
        padding (RFC 8446 §5.2: up to 2^14 + 256 bytes of ciphertext). A smaller ``out`` works, with one copy for
        the records whose inner plaintext does not fit."""
        return self.max_plaintext_length + (256 if self._inner is not None else 0)

    def sealed_size_bound(self, plaintext_length: int, *, padding: int = 0) -> int:
        """The most bytes :meth:`seal` can produce for a fragment of this length: header + fragment +
        :attr:`RecordProtection.expansion` (+ inner content type and padding in TLS 1.3)."""
        return RECORD_HEADER_LENGTH + plaintext_length + self._expansion + (padding if self._inner is not None else 0)

    # ------------------------------------------------------------------ opening

    def open(self, record: Record) -> tuple[int, bytes]:
        """Verify and unprotect one record; returns ``(content_type, plaintext)``."""
        return self.open_fragment(record.content_type, record.version, record.fragment)

    def open_fragment(self, content_type: int, version: int, fragment: Buffer) -> tuple[int, bytes]:
        """:meth:`open` for a record given as its parts, e.g. from :meth:`Deframer.next_record_view`: the same
        checks and errors as :meth:`open_next`, through the one open path."""
        opened = self._open(_OneRecord(content_type, version, fragment))
        assert opened is not None  # a _OneRecord always has its record
        return opened[0], opened[2]

    @overload
    def _open(self, records: RecordSource, out: None = None) -> tuple[int, int, bytes] | None: ...

    @overload
    def _open(self, records: RecordSource, out: bytearray | memoryview) -> tuple[int, int, int] | None: ...

    def _open(
        self, records: RecordSource, out: bytearray | memoryview | None = None
    ) -> tuple[int, int, bytes | int] | None:
        """The one open path, holding every check: take the next whole record from ``records`` (None when more
        bytes are needed; the Deframer makes the header checks of RFC 5246 §6.2.1), then the sticky failure, the
        TLS 1.3 outer checks, sequence number exhaustion (RFC 5246 §6.1), integrity (a BadRecordMAC kills the
        state), plaintext length (record_overflow, RFC 5246 §6.2.1, RFC 8446 §5.4). Returns ``(content_type,
        version, plaintext)``; with ``out`` the plaintext is written to the start of ``out`` and its length
        returned in its place.

        :meth:`open_next` and :meth:`open_next_into` are this method itself (the receive hot path costs one
        Python call); :meth:`open` and :meth:`open_fragment` pass their one record in a :class:`_OneRecord`.
        """
        if out is not None and len(out) < self.max_plaintext_length:
            raise ConfigurationError(f"output buffer of {len(out)} bytes is smaller than {self.max_plaintext_length}")
        taken = records.take_record_view()
        if taken is None:
            return None
        content_type, version, fragment = taken
        seq = self.seq
        if seq > self._last_seq:
            raise self._refusal()
        inner = self._inner
        if inner is not None and (content_type != _APPLICATION_DATA or len(fragment) > MAX_TLS13_CIPHERTEXT_LENGTH) and \
                inner.passes_in_clear(content_type, fragment):  # the check's common answer (False) without a call
            plaintext = bytes(fragment)
            return content_type, version, (plaintext if out is None else _copy_into(plaintext, _view(out)))
        self.seq = seq + 1
        try:
            if inner is not None:
                if out is None:
                    content_type, plaintext = inner.open(seq, content_type, version, fragment)
                    opened: bytes | int = plaintext
                    size = len(plaintext)
                else:
                    content_type, size = inner.open_into(seq, content_type, version, fragment, _view(out))
                    opened = size
            elif out is None:  # the hot path
                opened = plaintext = self._unprotect(seq, content_type, version, fragment)
                size = len(plaintext)
            else:
                opened = size = self._unprotect_into(seq, content_type, version, fragment, _view(out))
        except BadRecordMAC as failure:
            self._fail(failure)
            raise
        if size > self.max_plaintext_length and content_type != SSLV2_CLIENT_HELLO:  # E.2 bounds that one itself
            raise RecordOverflow(f"decrypted fragment of {size} bytes exceeds {self.max_plaintext_length}")
        return content_type, version, opened

    #: Take the next whole record from a :class:`Deframer` and open it: ``(content_type, version, plaintext)``, or
    #: None when more bytes are needed. The same result and errors as ``deframer.next_record_view()`` followed by
    #: :meth:`open_fragment`, in one call: the receive hot path. The fragment reaches the protection as a view of the
    #: deframer's buffer, without a copy.
    open_next = _open

    #: :meth:`open_next` with the plaintext written to the start of ``out`` (``open_next_into(deframer, out)``):
    #: returns ``(content_type, version, plaintext_length)`` or None when more bytes are needed. ``out`` must hold
    #: at least ``max_plaintext_length`` bytes, else ConfigurationError; with :attr:`open_buffer_length` bytes (TLS
    #: 1.3: room for the inner content type and padding before they are stripped) no record needs a copy. The AEADs
    #: decrypt straight into it (pyca ``decrypt_into``, RFC 5116 §2.2); on an integrity failure the bytes written are
    #: wiped. Same checks, same errors and the same sticky failure as :meth:`open_next`.
    open_next_into = _open

    def skip_failing_records(self, limit: int) -> None:
        """TLS 1.3 server, 0-RTT data rejected (RFC 9846 §4.2.10): from now on :meth:`open_next` drops protected
        records that do not open (unprotected application data records while no keys are in use, after a
        HelloRetryRequest), up to ``limit`` bytes in all, beyond which it raises unexpected_message; the first record
        that opens ends the skipping (a ChangeCipherSpec in the clear does not). Nothing changes on the hot path:
        the skipping reader stands in for :meth:`open_next` on this instance while it lasts."""
        self._skip_left = limit
        self.__dict__["open_next"] = self._open_skipping

    def _open_skipping(self, records: RecordSource, out: None = None) -> tuple[int, int, bytes] | None:
        """:meth:`open_next` while skipping rejected early data (:meth:`skip_failing_records`)."""
        while True:
            taken = records.take_record_view()
            if taken is None:
                return None
            content_type, version, fragment = taken
            seq, protects, ccs = self.seq, self._protection.protects, content_type == ContentType.CHANGE_CIPHER_SPEC
            if (not protects and content_type != ContentType.APPLICATION_DATA) or ccs:
                if not ccs:
                    self.__dict__.pop("open_next", None)
                return self._open(_OneRecord(content_type, version, fragment))
            try:
                opened = self._open(_OneRecord(content_type, version, fragment)) if protects else None
            except BadRecordMAC:
                self._failure, self._last_seq, self.seq = None, MAX_SEQUENCE_NUMBER, seq  # not a failure: skipped
                opened = None
            if opened is not None:
                self.__dict__.pop("open_next", None)
                return opened
            self._skip_left -= max(len(fragment) - self._expansion, 1)  # empty records count too: no endless trials
            if self._skip_left < 0:
                raise UnexpectedMessage("more rejected early data than max_early_data_size (RFC 9846 §4.2.10)")

    def _fail(self, failure: BadRecordMAC) -> None:
        """An integrity failure kills this direction: every later call raises the same error (RFC 5246 §7.2.2)."""
        self._failure = failure
        self._last_seq = -1

    def __repr__(self) -> str:
        return f"<HalfConnection {self.key_label} seq={self.seq} {self._protection!r}>"


def fragment_data(data: Buffer, max_length: int = MAX_PLAINTEXT_LENGTH) -> Iterator[bytes]:
    """Split ``data`` into fragments of at most ``max_length`` bytes (RFC 5246 §6.2.1); none for empty data.

    ``max_length`` comes from max_fragment_length (RFC 6066 §4) or record_size_limit (RFC 8449 §4).
    """
    if not 1 <= max_length <= MAX_PLAINTEXT_LENGTH:
        raise ConfigurationError(f"fragment length must be 1..{MAX_PLAINTEXT_LENGTH}, not {max_length}")
    view = memoryview(data)
    for start in range(0, len(view), max_length):
        yield bytes(view[start : start + max_length])
