"""One TLS connection rebuilt from its two TCP byte streams: records, handshake messages, what the hellos agreed.

The handshake is followed from both directions (RFC 5246 §7.3, RFC 8446 §2). The hellos' extensions are read by
:mod:`tlsstate.handshake.hellos`, the same readers the live client and server use, into the same
:class:`~tlsstate.crypto.negotiated.Negotiated`; a capture is lenient where a live peer is strict, so a reader's
error becomes a note. Keys come from :mod:`tlsstate.capture.keysource` and take the library's road to record
protection: :mod:`tlsstate.capture.tls12` (TLS ≤ 1.2) and :mod:`tlsstate.capture.tls13`. Every record is opened by a
:class:`tlsstate.record.HalfConnection`; framing is :mod:`tlsstate.capture.stream`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from tlsstate.capture import tls12, tls13
from tlsstate.capture.groups import KeyExchangeGroup
from tlsstate.capture.keysource import KeySource
from tlsstate.capture.stream import HANDSHAKE_BUFFER, DirectionState
from tlsstate.capture.tcp import MAX_EVENTS, Retransmission
from tlsstate.capture.tls12 import CapturedSessions, Tls12Keys
from tlsstate.capture.trace import (
    DETAIL_RECORDS,
    PLAINTEXT_HEAD,
    SSLV2_CLIENT_HELLO,
    Cause,
    Derivation,
    KeyIds,
    RecordBytes,
    RecordInfo,
    TcpEvent,
)
from tlsstate.crypto.negotiated import Negotiated
from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_id
from tlsstate.handshake.hellos import (
    ClientHelloExtensions,
    ServerHelloExtensions,
    read_client_hello_extensions,
    read_server_hello_extensions,
)
from tlsstate.record import Record
from tlsstate.record.compression import compression_name, decompressor_for
from tlsstate.wire.constants import CompressionMethod, ContentType, HandshakeType, ProtocolVersion
from tlsstate.wire.errors import BadRecordMAC, DecompressionFailure, ProtocolError, TLSError
from tlsstate.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    Certificate,
    ClientHello,
    ClientKeyExchange,
    HandshakeReassembler,
    NewSessionTicket,
    RawHandshake,
    ServerHello,
    parse_sslv2_client_hello,
)

__all__ = ["CapturedSessions", "Derivation", "DirectionState", "RecordInfo", "TlsSession"]

# the content types as plain ints: an IntEnum member lookup costs a few times a comparison on the per-record path
CHANGE_CIPHER_SPEC, HANDSHAKE, APPLICATION_DATA = (int(t) for t in (ContentType.CHANGE_CIPHER_SPEC, ContentType.HANDSHAKE,
                                                                   ContentType.APPLICATION_DATA))
HOLD_LIMIT = 4 * 1024 * 1024  # bytes a direction may hold back waiting for the other one
TLS13 = tls13.TLS13


class _RecordSource:
    """The record :meth:`TlsSession.open_record` opens, as the one-record source :meth:`HalfConnection.open_next`
    takes (one object per session, reused: no source built per record)."""

    __slots__ = ("parts",)

    def __init__(self) -> None:
        self.parts: tuple[int, int, bytes] | None = None

    def take_record_view(self) -> tuple[int, int, bytes] | None:
        parts, self.parts = self.parts, None
        return parts


class TlsSession:
    """A TLS connection: both directions, the handshake(s) seen and the results."""

    def __init__(
        self, keys: KeySource, captured: CapturedSessions, *, keep_records: bool = False, mid_stream: bool = False,
        detail_plaintext: int = PLAINTEXT_HEAD,
    ) -> None:
        self.keys = keys
        self.captured = captured
        self.keep_records = keep_records
        #: bytes of each record's plaintext kept for the page's details (``decrypt --html-plaintext``)
        self.detail_plaintext = detail_plaintext
        self.mid_stream = mid_stream
        self.client = DirectionState(self, "client")
        self.server = DirectionState(self, "server")
        self.client.pair(self.server)
        self.records: list[RecordInfo] = []
        self._source = _RecordSource()
        self.notes: list[str] = []
        self.not_tls = False
        self.not_tls_reason = ""
        self.gap_bytes = 0
        # reported (latest handshake; SNI, ALPN and resumption stay once seen)
        self.version: int | None = None
        self.suite: CipherSuite | None = None
        self.suite_id: int | None = None
        self.compression: int | None = None  # ServerHello.compression_method (RFC 5246 §7.4.1.3)
        self.sni: str | None = None
        self.alpn: str | None = None
        self.handshakes = 0
        self.resumed = False  # any handshake of the connection resumed a session
        #: per handshake (first, then each renegotiation), whether it resumed a session
        self.resumed_handshakes: list[bool] = []
        self.unsupported: str | None = None
        self.draft: int | None = None  # TLS 1.3 draft number when a draft version was negotiated (tls13.DRAFTS)
        self.hello_retry = False
        self.derivations: list[Derivation] = []
        self.roles_swapped = False  # the TCP layer guessed the client wrong (no SYN seen); fixed by the ClientHello
        self.finished_checks: list[tuple[str, bool]] = []  # (writer, verify_data matched) per Finished
        self.key_ids = KeyIds()  # what the key log lines of this connection are keyed by
        self.gaps_at: list[TcpEvent] = []  # TCP gaps, where they fall among the kept records
        self.retransmissions_at: list[TcpEvent] = []  # the same for TCP retransmissions
        self.record_bytes: dict[int, RecordBytes] = {}  # record index -> its bytes, for the page (DETAIL_RECORDS)
        self._reset_handshake()
        self.seen_tls = False

    def _reset_handshake(self) -> None:
        """A new handshake starts (a ClientHello, RFC 5246 §7.4.1.2): forget the previous one's state."""
        self.client_hello: ClientHello | None = None
        self.server_hello: ServerHello | None = None
        self.offer = ClientHelloExtensions()  # what the ClientHello's extensions offered
        self.negotiated: Negotiated | None = None  # what the hellos agreed, once a usable ServerHello is seen
        self.tls12 = Tls12Keys(self.keys, self.captured)
        self.client_random = b""
        self.transcript = bytearray()
        self._first_hello = b""
        self.early_data_offered = False
        #: The server's EncryptedExtensions answered the offered 0-RTT (RFC 8446 §4.2.10): True with early_data, False
        #: without (rejected: the server skipped it), None before one was read.
        self.early_accepted: bool | None = None
        self.early_data_records = 0  # the client's 0-RTT application data records opened, and their plaintext bytes
        self.early_data_bytes = 0
        self.derivation: Derivation | None = None
        self.key_exchange = KeyExchangeGroup()  # the group and TLS 1.3 key shares of this handshake

    # ------------------------------------------------------------------ bookkeeping
    @property
    def version_known(self) -> bool:
        """Whether a ServerHello has been seen."""
        return self.version is not None

    @property
    def ems(self) -> bool:
        """Whether the current handshake uses the extended master secret (RFC 7627)."""
        return self.negotiated is not None and self.negotiated.extended_master_secret

    @property
    def etm(self) -> bool:
        """Whether the current handshake uses encrypt-then-MAC (RFC 7366)."""
        return self.negotiated is not None and self.negotiated.encrypt_then_mac

    def note(self, text: str) -> None:
        """A remark for the report (bounded)."""
        if len(self.notes) < 50:
            self.notes.append(text)

    def mark_not_tls(self, reason: str) -> None:
        """This TCP connection does not carry TLS."""
        if not self.seen_tls:
            self.not_tls = True
            self.not_tls_reason = reason
        else:
            self.note(reason)

    def log_record(self, direction: DirectionState, content_type: int, seq: int | None, length: int,
                   verdict: str, key: str, plaintext_length: int = 0, cause: Cause | None = None) -> None:
        """Count a record not decrypted by its cause; keep a record line for ``--records`` (only when asked for)."""
        direction.record_index += 1
        if verdict != "ok":
            cause = cause or direction.no_keys_cause or Cause("missing_secret", key)
            direction.count_cause(cause)
        if self.keep_records:
            self.records.append(RecordInfo(direction.arrow, content_type, seq, length, verdict, key, plaintext_length,
                                           cause))
        if self.keep_records and self.derivations and verdict == "ok" and direction.half.protection.protects:
            index = len(self.records) - 1
            span = self.derivations[-1].protected.setdefault(key, [index, index])
            span[1] = index

    def keep_bytes(self, record: Record, plaintext: bytes | None) -> None:
        """The bytes of the record just logged, for the page's record details (the first DETAIL_RECORDS only)."""
        if self.keep_records and self.records and len(self.record_bytes) < DETAIL_RECORDS:
            self.record_bytes[len(self.records) - 1] = RecordBytes.of(record.content_type, record.version,
                                                                      record.fragment, plaintext, self.detail_plaintext)

    def log_gap(self, direction: DirectionState, length: int, offset: int = 0, frame: int = 0) -> None:
        """A TCP gap in ``direction`` before its next record: where it falls among the kept records (the page)."""
        if self.keep_records:
            self.gaps_at.append(TcpEvent(len(self.records), direction.arrow, length, offset, frame))

    def log_retransmission(self, direction: DirectionState, event: Retransmission) -> None:
        """A TCP segment of ``direction`` that repeated bytes, after the records kept so far (the page; bounded).
        Repeated bytes that differ from the first copy (which was used) are noted."""
        if event.differing:
            self.note(f"{direction.writer} stream: frame {event.frame} repeats {event.length} bytes at stream offset "
                      f"{event.offset} of which {event.differing} differ from the first copy; the first copy was used")
        if self.keep_records and len(self.retransmissions_at) < MAX_EVENTS:
            self.retransmissions_at.append(TcpEvent(len(self.records), direction.arrow, event.length, event.offset,
                                                    event.frame, event.differing, event.control))

    def record_finished(self, writer: str, matched: bool) -> None:
        """The result of checking a Finished message's verify_data against the rebuilt transcript."""
        self.finished_checks.append((writer, matched))
        if not matched:
            self.note(f"{writer} Finished verify_data does not match the reconstructed handshake")

    def select_alpn(self, protocol: bytes) -> None:
        """The server selected this application protocol (RFC 7301 §3.1; TLS 1.3: in EncryptedExtensions)."""
        self.alpn = protocol.decode("ascii", errors="replace")
        if self.negotiated is not None:
            self.negotiated.alpn = self.alpn

    def ready(self, direction: DirectionState, content_type: int, buffered: int) -> bool:
        """Whether a record may be processed now, or must wait for the other direction.

        A capture may list packets out of causal order across directions (several interfaces, reordering):
        the server's first flight needs the ClientHello, and the client's ChangeCipherSpec (TLS ≤ 1.2) or first
        encrypted record (TLS 1.3) needs the ServerHello. Waiting is bounded by HOLD_LIMIT buffered bytes.
        """
        if buffered > HOLD_LIMIT or self.mid_stream:
            return True
        if direction is self.server:
            return self.client_hello is not None or self.handshakes > 0
        if self.server_hello is None and self.handshakes > 0 and not direction.half.protection.protects:
            # the ServerHello fixes the suite (also that of 0-RTT data, RFC 8446 §4.2.10) and the keys
            return content_type not in (ContentType.CHANGE_CIPHER_SPEC, ContentType.APPLICATION_DATA)
        return True

    # ------------------------------------------------------------------ records
    def on_sslv2_hello(self, direction: DirectionState, record: bytes) -> None:
        """An SSLv2-format ClientHello (RFC 5246 Appendix E.2): the transcript covers record[2:]."""
        try:
            hello = parse_sslv2_client_hello(record)
        except TLSError as exc:
            self.mark_not_tls(f"bad SSLv2 ClientHello: {exc}")
            return
        self.seen_tls = True
        self.log_record(direction, SSLV2_CLIENT_HELLO, None, len(record) - 2, "ok", "none (SSLv2 ClientHello)")
        direction.records_ok += 1
        self._client_hello(hello, record[2:])

    def on_record(self, direction: DirectionState, record: Record) -> None:
        """One whole record from ``direction``."""
        self.seen_tls = True
        content_type = record.content_type
        from_client = direction is self.client
        if (
            from_client and direction.tls13_phase in ("plain", "early")
            and content_type in (HANDSHAKE, CHANGE_CIPHER_SPEC)
            and (self.version == TLS13 or self.early_data_offered)
        ):
            # TLS 1.3 before the client's handshake keys: a second ClientHello (after HelloRetryRequest) and the
            # compatibility ChangeCipherSpec are sent in the clear even after 0-RTT records (RFC 8446 §4.1.2, §D.4)
            direction.records_ok += 1
            self.log_record(direction, record.content_type, None, len(record.fragment), "ok", "none (plaintext)")
            self._dispatch(direction, record.content_type, bytes(record.fragment))
            return
        no_hello = self.handshakes == 0 and self.server_hello is None
        if no_hello and not direction.no_keys and not self._plausible_clear(record):
            direction.lost_state(Cause("mid_stream", "capture starts after the handshake (no ClientHello/ServerHello seen)"))
        if direction.no_keys and direction.recover_attempts and direction.recover(record):
            self.on_record(direction, record)
            return
        early = from_client and direction.tls13_phase == "early"
        if direction.no_keys and not early:
            direction.records_no_keys += 1
            verdict = "unsupported" if self.unsupported else "no_keys"  # unknown suite / compression: not the keys
            self.log_record(direction, record.content_type, None, len(record.fragment), verdict,
                            direction.no_keys_reason or direction.key_label, cause=direction.no_keys_cause)
            return
        if from_client and (early or (direction.half.tls13 and direction.tls13_phase == "handshake")):
            tls13.open_client_record(self, record)
            return
        if (
            from_client and direction.tls13_phase == "plain" and content_type == APPLICATION_DATA
            and (self.version == TLS13 or (self.version is None and self.early_data_offered))
        ):
            tls13.start_client(self)  # the client's first protected record (0-RTT, even before the ServerHello)
            if direction.no_keys:
                self.on_record(direction, record)
                return
            tls13.open_client_record(self, record)
            return
        if content_type == APPLICATION_DATA and not direction.half.protection.protects:
            # application data is never sent before a key change (RFC 5246 §7.4.9, RFC 8446 §2): its keys were set up
            # by a handshake the capture lacks; it is not plaintext
            direction.lost_state(self._unkeyed_cause())
            self.on_record(direction, record)
            return
        self.open_record(direction, record)

    def _unkeyed_cause(self) -> Cause:
        """Why application data arrived under no keys: a TCP gap took the handshake, or the capture lacks it."""
        for state in (self.server, self.client):
            offset, length = state.last_gap
            if length:
                return Cause("tcp_gap", f"application data before any key change: the handshake was lost in a TCP gap "
                             f"({length} bytes missing at {state.writer} stream offset {offset})")
        return Cause("mid_stream", "application data before any key change: the handshake is not in the capture")

    @staticmethod
    def _plausible_clear(record: Record) -> bool:
        """Before any hello: could this record be unencrypted (a hello, a ChangeCipherSpec, a 2-byte alert)?"""
        fragment = record.fragment
        if record.content_type == ContentType.HANDSHAKE:
            return len(fragment) >= 4 and fragment[0] in (HandshakeType.CLIENT_HELLO, HandshakeType.SERVER_HELLO)
        if record.content_type == ContentType.CHANGE_CIPHER_SPEC:
            return fragment == b"\x01"
        return record.content_type == ContentType.ALERT and len(fragment) == 2

    def open_record(self, direction: DirectionState, record: Record) -> None:
        """Open ``record`` with the direction's current protection (RFC 5246 §6.2.3, RFC 8446 §5.2), then dispatch."""
        half = direction.half
        clear_ccs = record.content_type == CHANGE_CIPHER_SPEC and half.tls13  # not protected (§5)
        seq = half.seq if half.protection.protects and not clear_ccs else None
        try:
            source = self._source
            source.parts = (record.content_type, record.version, record.fragment)
            opened = half.open_next(source)
            assert opened is not None  # the source always has its record
            content_type, plaintext = opened[0], opened[2]
            if direction.decompressor is not None:
                plaintext = direction.decompressor.decompress(plaintext)  # RFC 5246 §6.2.2, RFC 3749
        except DecompressionFailure as exc:  # the direction's zlib stream cannot go on: its later records fail too
            direction.records_failed += 1
            cause = Cause("decompression_failure", f"{direction.writer} {exc.message}")
            self.log_record(direction, record.content_type, seq, len(record.fragment), "decompression_failure",
                            direction.key_label, cause=cause)
            self.note(cause.message)
            direction.lost_state(cause)
            return
        except (BadRecordMAC, ProtocolError) as exc:
            direction.records_failed += 1
            cause = self._failed_record_cause(direction, seq, exc)
            self.log_record(direction, record.content_type, seq, len(record.fragment), "bad_record_mac", direction.key_label,
                            cause=cause)
            self.keep_bytes(record, None)
            if cause.kind == "record_error":
                direction.lost_state(cause)
            else:
                direction.lost_state(Cause("bad_record_mac", "an earlier record failed its integrity check",
                                           cause.label, cause.client_random, cause.keylog_line))
            return
        direction.records_ok += 1
        if self.keep_records:
            self.log_record(direction, content_type, seq, len(record.fragment), "ok", direction.key_label,
                            len(plaintext))
            self.keep_bytes(record, plaintext)
        else:
            direction.record_index += 1  # all log_record does with an "ok" record when no record lines are kept
        if content_type == APPLICATION_DATA:
            if direction.tls13_phase == "early":  # the client's 0-RTT data (only the client's direction has this phase)
                self.early_data_records += 1
                self.early_data_bytes += len(plaintext)
            direction.application_data(plaintext)
        else:
            self._dispatch(direction, content_type, plaintext)

    def _failed_record_cause(self, direction: DirectionState, seq: int | None, exc: Exception) -> Cause:
        """Why a record failed: the first record under a key that came from a key log line means that line is wrong
        (RFC 5246 §7.4.9, RFC 8446 §4.4.4: that record is the Finished in TLS ≤ 1.2, the first handshake record in
        TLS 1.3); a later one a damaged record."""
        if not isinstance(exc, BadRecordMAC):
            return Cause("record_error", f"record error: {exc}")
        label, where = direction.key_source
        cr = self.client_random.hex() or None
        if seq == 0 and where:
            first = "first record under it" if self.version == TLS13 else f"{direction.writer}'s Finished"
            return Cause("wrong_key", f"the key from {where} ({label}) does not open the {first}: wrong key log line?",
                         label, cr, where)
        return Cause("bad_record_mac", f"record {seq} fails its integrity check under {direction.key_label}", label, cr,
                     where)

    def _dispatch(self, direction: DirectionState, content_type: int, plaintext: bytes) -> None:
        """A record's plaintext by content type (RFC 5246 §6.2.1): data out, handshake messages reassembled."""
        if content_type == ContentType.APPLICATION_DATA:
            direction.application_data(plaintext)
        elif content_type == ContentType.HANDSHAKE:
            try:
                direction.handshake.feed(plaintext)
                while (raw := direction.handshake.next_message()) is not None:
                    self._handshake_message(direction, raw)
            except TLSError as exc:
                self.note(f"{direction.writer} handshake: {exc}")
                direction.handshake = HandshakeReassembler(HANDSHAKE_BUFFER)
        elif content_type == ContentType.CHANGE_CIPHER_SPEC:
            if not (direction.half.tls13 or self.version == TLS13):
                self._change_cipher_spec(direction)
        elif content_type == ContentType.ALERT and len(plaintext) >= 2:
            self.note(f"{direction.writer} sent alert level {plaintext[0]} description {plaintext[1]}")

    # ------------------------------------------------------------------ handshake messages
    def _handshake_message(self, direction: DirectionState, raw: RawHandshake) -> None:
        """One handshake message (RFC 5246 §7.4; TLS 1.3 after the hellos: :func:`tls13.handshake_message`)."""
        t = raw.msg_type
        if self.version == TLS13 and t != HandshakeType.CLIENT_HELLO and t != HandshakeType.SERVER_HELLO:
            tls13.handshake_message(self, direction, raw)
            return
        if t == HandshakeType.HELLO_REQUEST:
            return
        if t == HandshakeType.CLIENT_HELLO and direction is self.client:
            self._client_hello(ClientHello.parse(raw.body), raw.raw)
            return
        if t == HandshakeType.CLIENT_HELLO and direction is self.server and not self.client_hello:
            self.note("roles swapped: the ClientHello came from the port guessed as server")
            self._swap_roles()
            self._client_hello(ClientHello.parse(raw.body), raw.raw)
            return
        self.transcript += raw.raw
        if t == HandshakeType.SERVER_HELLO:
            self._server_hello_message(raw.body)
        elif t == HandshakeType.CERTIFICATE and self.version is not None:
            chain = Certificate.parse(raw.body).certificates
            if direction is self.server and chain:
                self.tls12.certificate = chain[0]
                if self.suite is not None and self.suite.key_exchange in (KeyExchange.ECDH_ECDSA, KeyExchange.ECDH_RSA):
                    self.key_exchange.certificate(chain[0])  # static ECDH (RFC 4492 §2.1)
        elif t == HandshakeType.SERVER_KEY_EXCHANGE and self.suite is not None and self.version is not None:
            version, kx = self.version, self.suite.key_exchange
            self._read_group(lambda: self.key_exchange.server_key_exchange(raw.body, version, kx))
        elif t == HandshakeType.CLIENT_KEY_EXCHANGE and self.suite is not None and self.version is not None:
            message = ClientKeyExchange.parse(raw.body, self.version, self.suite.key_exchange)
            if message.encrypted_premaster:
                self.key_ids.encrypted_premasters.append(message.encrypted_premaster[:8])
            self.tls12.client_key_exchange_seen(message, bytes(self.transcript))
        elif t == HandshakeType.NEW_SESSION_TICKET and direction is self.server:
            self.tls12.remember_ticket(NewSessionTicket.parse(raw.body).ticket, self._master_secret())
        elif t == HandshakeType.FINISHED:
            before = bytes(self.transcript[: len(self.transcript) - len(raw.raw)])
            matched = self.tls12.finished_matches(self.negotiated, before, direction is self.client, raw.body)
            if matched is not None:
                self.record_finished(direction.writer, matched)
            if direction is self.server:
                self.tls12.remember_session(self.negotiated)

    def _read_group(self, read: Callable[[], None]) -> None:
        """Read the key exchange group (``read`` updates :attr:`key_exchange`); a message it cannot parse is a
        note, not a failure: the group is only reported."""
        try:
            read()
        except TLSError as exc:
            self.note(f"key exchange group not read: {exc}")

    def _swap_roles(self) -> None:
        """The ClientHello came from the side the TCP layer guessed as server: exchange the directions' roles."""
        self.client, self.server = self.server, self.client
        for state, writer in ((self.client, "client"), (self.server, "server")):
            state.writer = writer
            state.arrow = "c>s" if writer == "client" else "s>c"
            state.half.writer = writer
        self.roles_swapped = not self.roles_swapped  # a toggle: each swap exchanges the two again

    def _client_hello(self, hello: ClientHello, raw: bytes) -> None:
        """A ClientHello (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2): a new handshake, and what its extensions offer."""
        renegotiation = self.handshakes > 0
        after_retry = self.server_hello is not None and self.server_hello.random == HELLO_RETRY_REQUEST_RANDOM
        if self.client_hello is not None and after_retry:
            self._second_client_hello(hello, raw)
            return
        self._reset_handshake()
        self.handshakes += 1
        self.resumed_handshakes.append(False)
        if renegotiation:
            self.note(f"renegotiation: handshake {self.handshakes}")
        self.client_hello = hello
        self.client_random = hello.random
        self.key_ids.client_randoms.append(hello.random)
        self.transcript = bytearray(raw)
        self._first_hello = bytes(raw)
        problems: list[str] = []
        self.offer = read_client_hello_extensions(hello, problems)
        for problem in problems:
            self.note(f"ClientHello extensions: {problem}")
        self.sni = self.offer.server_name or self.sni
        self.tls12.client_session_id = hello.session_id
        self.tls12.offered_ticket = self.offer.session_ticket or b""
        self.early_data_offered = self.offer.early_data
        self._read_group(lambda: self.key_exchange.client_hello(hello))

    def _second_client_hello(self, hello: ClientHello, raw: bytes) -> None:
        """The ClientHello after a HelloRetryRequest: the transcript starts with message_hash(ClientHello1)
        (RFC 8446 §4.4.1), then HelloRetryRequest and ClientHello2."""
        if self.suite is not None and self._first_hello:
            digest = hashlib.new(self.suite.prf_hash, self._first_hello).digest()
            retry = bytes(self.transcript[len(self._first_hello) :])
            self.transcript = bytearray(bytes((HandshakeType.MESSAGE_HASH, 0, 0, len(digest))) + digest + retry)
        self.transcript += raw
        self.client_hello = hello
        self._read_group(lambda: self.key_exchange.client_hello(hello))
        if self.early_data_offered:  # HelloRetryRequest rejects 0-RTT: handshake keys come next (§4.2.10)
            self.note("0-RTT data rejected (HelloRetryRequest)")
            self.early_data_offered = False
            self.client.no_keys = False
            self.client.tls13_phase = "plain"

    def _server_hello_message(self, body: bytes) -> None:
        """A ServerHello body: RFC 5246 §7.4.1.3 / RFC 8446 §4.1.3, or a pre-RFC TLS 1.3 draft's layout."""
        if len(body) >= 2 and body[0] in tls13.PRE_RFC_VERSION_PREFIXES:
            # pre-RFC TLS 1.3 drafts and experiments: a different ServerHello
            version = int.from_bytes(body[:2], "big")
            if tls13.draft_number(version) in tls13.DRAFT_SERVER_HELLO:
                self._server_hello(tls13.parse_draft_server_hello(body))
            else:
                self._unsupported_version(version, body)
            return
        self._server_hello(ServerHello.parse(body))

    def _server_hello(self, hello: ServerHello) -> None:
        """What the server chose (RFC 5246 §7.4.1.3, RFC 8446 §4.1.3), read into :attr:`negotiated`; a
        HelloRetryRequest (RFC 8446 §4.1.4) only fixes the version and the suite."""
        if self.client_hello is None:
            self.note("ServerHello without a ClientHello (capture started mid-handshake)")
        self.server_hello = hello
        if hello.random == HELLO_RETRY_REQUEST_RANDOM:
            # RFC 8446 §4.1.4: only TLS 1.3 has HelloRetryRequest; the client answers with a second ClientHello
            self.hello_retry = True
            self.version = TLS13
            self.suite_id = hello.cipher_suite
            self.suite = by_id(hello.cipher_suite)
            self.note("HelloRetryRequest")
            self._read_group(lambda: self.key_exchange.server_hello(hello, retry=True))
            return
        answer = self._read_server_extensions(hello)
        version = hello.version if answer.supported_version is None else answer.supported_version
        if answer.alpn is not None:
            self.select_alpn(answer.alpn)
        if answer.pre_shared_key:
            self._mark_resumed()  # TLS 1.3 PSK resumption (RFC 8446 §4.2.11)
        draft = tls13.draft_number(version)
        if draft is not None:
            self.draft = draft  # decrypted as TLS 1.3 with the draft's differences (tls13.DRAFTS)
            self.note(f"TLS 1.3 draft-{draft} (0x{version:04x})")
            version = TLS13
        self.version = version
        self.suite_id = hello.cipher_suite
        self.suite = by_id(hello.cipher_suite)
        if hello.session_id:
            self.key_ids.session_ids.append(hello.session_id)
        self.compression = hello.compression_method
        self.unsupported = self._unsupported_reason(version, hello.cipher_suite) or self.unsupported
        if self.unsupported:
            self._give_up(self.unsupported)
            return
        assert self.suite is not None  # else unsupported
        self.negotiated = Negotiated(
            ProtocolVersion(version), self.suite, self.client_random, hello.random, hello.session_id,
            self.client_hello.version if self.client_hello else 0,
            extended_master_secret=answer.extended_master_secret and self.offer.extended_master_secret,
            encrypt_then_mac=answer.encrypt_then_mac and self.offer.encrypt_then_mac,
            alpn=self.alpn if answer.alpn is not None else None, server_name=self.offer.server_name,
            resumed=answer.pre_shared_key, compression_method=hello.compression_method,
        )
        self.derivation = Derivation(self.handshakes)
        self.derivations.append(self.derivation)
        if version == TLS13:
            self._read_group(lambda: self.key_exchange.server_hello(hello, retry=False))
            tls13.start_server(self)

    def _read_server_extensions(self, hello: ServerHello) -> ServerHelloExtensions:
        """The ServerHello's extensions as the live client reads them; a damaged one is noted and skipped."""
        problems: list[str] = []
        answer = read_server_hello_extensions(hello, problems)
        for problem in problems:
            self.note(f"ServerHello extensions: {problem}")
        return answer

    def _unsupported_reason(self, version: int, suite_id: int) -> str:
        """Why a ServerHello's version and suite cannot be decrypted, or ""."""
        if version >> 8 in tls13.PRE_RFC_VERSION_PREFIXES:
            return tls13.draft_unsupported(version)
        if not ProtocolVersion.SSL3 <= version <= TLS13:
            return f"unknown protocol version 0x{version:04x}"
        if self.suite is None:
            return f"unknown cipher suite 0x{suite_id:04x}"
        if self.suite.is_tls13 != (version == TLS13):
            return f"suite {self.suite.name} is not valid in version 0x{version:04x}"
        method = self.compression or 0
        if version == TLS13 and method != CompressionMethod.NULL:
            return f"TLS 1.3 ServerHello with compression method {compression_name(method)} (RFC 8446 §4.1.3: 0 only)"
        if method not in (CompressionMethod.NULL, CompressionMethod.DEFLATE):
            return f"compression method {compression_name(method)} is not supported (null and DEFLATE, RFC 3749, are)"
        return ""

    def _unsupported_version(self, version: int, body: bytes) -> None:
        """A pre-RFC TLS 1.3 version we do not decrypt: reported with its suite, the directions stop."""
        self.version = version
        if len(body) >= 36:  # draft ServerHello: version, random, cipher_suite, ... (no session id before draft-22)
            self.suite_id = int.from_bytes(body[34:36], "big")
            self.suite = by_id(self.suite_id)
        self.unsupported = tls13.draft_unsupported(version)
        self._give_up(self.unsupported)

    def _give_up(self, reason: str) -> None:
        """The connection cannot be decrypted: both directions stop."""
        self.note(reason)
        for state in (self.client, self.server):
            state.lost_state(Cause("unsupported", reason))

    # ------------------------------------------------------------------ TLS <= 1.2 keys
    def _master_secret(self) -> bytes | None:
        """The current handshake's master secret (:mod:`tlsstate.capture.tls12`); a resumption is reported."""
        master = self.tls12.master_secret(self.negotiated, self.derivation)
        if self.negotiated is not None and self.negotiated.resumed:
            self._mark_resumed()
        return master

    def _mark_resumed(self) -> None:
        """The current handshake resumed a session (RFC 5246 §7.3, RFC 8446 §2.2)."""
        self.resumed = True
        if self.resumed_handshakes:
            self.resumed_handshakes[-1] = True

    def _change_cipher_spec(self, direction: DirectionState) -> None:
        """ChangeCipherSpec (RFC 5246 §7.1): this direction switches to the new keys."""
        protection = None
        if self.unsupported:
            self.tls12.fail("unsupported", self.unsupported)
        else:
            try:
                if self._master_secret() is not None:
                    protection = self.tls12.protection(self.negotiated, self.derivation, direction.writer)
            except (TLSError, UnsupportedAlgorithm) as exc:  # e.g. a suite this cryptography build cannot run
                self.tls12.fail("unsupported", f"cannot set up {self.suite.name if self.suite else 'the cipher'}: {exc}")
        tls12.change_cipher_spec(direction, protection, self.tls12.cause)
        direction.key_source = self.tls12.master_source
        # the new connection state starts a new compression state (RFC 5246 §6.1, RFC 3749 §2)
        method = self.negotiated.compression_method if self.negotiated is not None else 0
        direction.decompressor = decompressor_for(method) if protection is not None else None

    # ------------------------------------------------------------------ summary
    def finish(self) -> None:
        """End of capture."""
        self.client.finish()
        self.server.finish()

    def reason(self) -> str:
        """Why records could not be decrypted, if any."""
        if self.not_tls:
            return self.not_tls_reason
        if self.unsupported:
            return self.unsupported
        wrong = [cause for state in (self.client, self.server) for cause in state.causes if cause.kind == "wrong_key"]
        if wrong:  # the key log line to fix, rather than "an earlier record failed"
            return wrong[0].message
        for state in (self.client, self.server):
            if state.records_no_keys and state.no_keys_reason:
                return state.no_keys_reason
        if self.tls12.failure and (self.client.records_no_keys or self.server.records_no_keys):
            return self.tls12.failure
        return ""

    def early_data_json(self) -> dict[str, Any] | None:
        """The ``early_data`` JSON object: None when the ClientHello offered no 0-RTT data; else whether the server
        accepted it (None: its EncryptedExtensions was not read) and the records and bytes decrypted. Rejected early
        data is in the client's stream as sent (tshark shows it too) but the server skipped it (RFC 8446 §4.2.10)."""
        if not self.early_data_offered:
            return None
        return {"accepted": self.early_accepted, "records": self.early_data_records, "bytes": self.early_data_bytes}

    def summary(self) -> dict[str, Any]:
        """Counters for the report."""
        return {
            "records_ok": self.client.records_ok + self.server.records_ok,
            "records_failed": self.client.records_failed + self.server.records_failed,
            "records_undecryptable": self.client.records_no_keys + self.server.records_no_keys,
            "records_truncated": self.client.records_truncated + self.server.records_truncated,
        }
