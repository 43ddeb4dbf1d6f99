"""One TLS connection rebuilt from its two TCP byte streams: handshake tracking, keys, decryption.

The handshake is followed from both directions (RFC 5246 §7.3, RFC 8446 §2) to learn what the keys depend
on: randoms, version, suite, session id / ticket, EMS and EtM (RFC 7627, RFC 7366), the RSA or PSK
ClientKeyExchange. Keys come from :mod:`tlsstate.capture.keysource`; the key schedule is
:mod:`tlsstate.crypto.prf` / :mod:`tlsstate.crypto.keys` (TLS ≤ 1.2) and :mod:`tlsstate.crypto.schedule13` (TLS 1.3, in
:mod:`tlsstate.capture.tls13`), and every record is opened by a :class:`tlsstate.record.HalfConnection` — the
same connection state the library uses. Framing is :mod:`tlsstate.capture.stream`.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import UnsupportedAlgorithm

from tlsstate.capture import tls13
from tlsstate.capture.stream import DirectionState
from tlsstate.crypto.suites import CipherSuite, KeyExchange, by_id
from tlsstate.record import Record
from tlsstate.record.protection import RecordProtection
from tlsstate.wire.constants import ContentType, HandshakeType
from tlsstate.wire.errors import BadRecordMAC, ProtocolError, TLSError
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

if TYPE_CHECKING:
    from tlsstate.capture.keysource import KeySource

__all__ = ["Derivation", "DirectionState", "RecordInfo", "SessionCache", "TlsSession"]

HOLD_LIMIT = 4 * 1024 * 1024  # bytes a direction may hold back waiting for the other one
EXT_SERVER_NAME, EXT_ALPN, EXT_ETM, EXT_EMS, EXT_TICKET, EXT_EARLY_DATA, EXT_SUPPORTED_VERSIONS = 0, 16, 22, 23, 35, 42, 43
EXT_PRE_SHARED_KEY = 41
TLS13 = 0x0304


@dataclass(slots=True)
class RecordInfo:
    """One record as ``--records`` shows it."""

    direction: str  # "c>s" / "s>c"
    content_type: int  # inner type when decrypted, else the outer type
    seq: int | None
    length: int  # ciphertext fragment length
    verdict: str  # ok | bad_record_mac | no_keys | truncated
    key: str  # which key protected it
    plaintext_length: int = 0


@dataclass
class Derivation:
    """How one handshake's keys were obtained, for ``--explain``: ordered (name, value, source) steps."""

    handshake: int
    steps: list[tuple[str, bytes, str]] = field(default_factory=list)
    protected: dict[str, list[int]] = field(default_factory=dict)  # key label -> [first, last] record index

    def add(self, name: str, value: bytes, source: str) -> None:
        """Record one derivation step."""
        self.steps.append((name, value, source))


class SessionCache:
    """Master secrets seen in this capture, for resumption by session ID and by ticket (RFC 5077 §3.4)."""

    def __init__(self) -> None:
        self.by_session_id: dict[bytes, tuple[bytes, int, int]] = {}  # id -> (master, suite, version)
        self.by_ticket: dict[bytes, tuple[bytes, int, int]] = {}


class TlsSession:
    """A TLS connection: both directions, the handshake(s) seen and the results."""

    def __init__(
        self, keys: KeySource, cache: SessionCache, *, keep_records: bool = False, mid_stream: bool = False
    ) -> None:
        self.keys = keys
        self.cache = cache
        self.keep_records = keep_records
        self.mid_stream = mid_stream
        self.client = DirectionState(self, "client")
        self.server = DirectionState(self, "server")
        self.records: list[RecordInfo] = []
        self.notes: list[str] = []
        self.not_tls = False
        self.not_tls_reason = ""
        self.gap_bytes = 0
        # negotiated (latest handshake)
        self.version: int | None = None
        self.suite: CipherSuite | None = None
        self.suite_id: int | None = None
        self.sni: str | None = None
        self.alpn: str | None = None
        self.handshakes = 0
        self.resumed = False
        self.unsupported: str | None = None
        self.draft: int | None = None  # TLS 1.3 draft number when a draft version was negotiated (tls13.DRAFTS)
        self.hello_retry = False
        self.derivations: list[Derivation] = []
        self.roles_swapped = False  # the TCP layer guessed the client wrong (no SYN seen); fixed by the ClientHello
        self.finished_checks: list[tuple[str, bool]] = []  # (writer, verify_data matched) per Finished, TLS <= 1.2
        # current handshake
        self._reset_handshake()
        self.seen_tls = False

    # ------------------------------------------------------------------ bookkeeping
    @property
    def version_known(self) -> bool:
        """Whether a ServerHello has been seen."""
        return self.version is not None

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
                   verdict: str, key: str, plaintext_length: int = 0) -> None:
        """Keep a record line for ``--records`` (only when asked for)."""
        direction.record_index += 1
        if self.keep_records:
            self.records.append(RecordInfo(direction.arrow, content_type, seq, length, verdict, key, plaintext_length))
        if self.keep_records and self.derivations and verdict == "ok" and direction.half.protection.protects:
            index = len(self.records) - 1
            span = self.derivations[-1].protected.setdefault(key, [index, index])
            span[1] = index

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

    def _reset_handshake(self) -> None:
        self.client_hello: ClientHello | None = None
        self.server_hello: ServerHello | None = None
        self.client_random = b""
        self.server_random = b""
        self.transcript = bytearray()
        self._first_hello = b""
        self.session_hash_input: bytes | None = None
        self.certificate: bytes | None = None
        self.client_key_exchange: ClientKeyExchange | None = None
        self.master: bytes | None = None
        self.master_failure = ""
        self.ems = False
        self.etm = False
        self.offered_ticket = b""
        self.early_data_offered = False
        self.early_accepted = False
        self.derivation: Derivation | None = None

    # ------------------------------------------------------------------ records
    def on_sslv2_hello(self, direction: DirectionState, record: bytes) -> None:
        """An SSLv2-format ClientHello (RFC 5246 Appendix E.2): the transcript covers record[2:]."""
        try:
            hello = parse_sslv2_client_hello(record)
        except TLSError as exc:
            self.mark_not_tls(f"bad SSLv2 ClientHello: {exc}")
            return
        self.seen_tls = True
        self.log_record(direction, 0x80, None, len(record) - 2, "ok", "none (SSLv2 ClientHello)")
        direction.records_ok += 1
        self._client_hello(hello, record[2:])

    def on_record(self, direction: DirectionState, record: Record) -> None:
        """One whole record from ``direction``."""
        self.seen_tls = True
        if (
            direction is self.client and direction.tls13_phase in ("plain", "early")
            and record.content_type in (ContentType.HANDSHAKE, ContentType.CHANGE_CIPHER_SPEC)
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
            direction.lost_state("capture starts after the handshake (no ClientHello/ServerHello seen)")
        if direction.no_keys and direction.recover_attempts and self._recover(direction, record):
            self.on_record(direction, record)
            return
        early = direction is self.client and direction.tls13_phase == "early"
        if direction.no_keys and not early:
            direction.records_no_keys += 1
            self.log_record(direction, record.content_type, None, len(record.fragment), "no_keys",
                            direction.no_keys_reason or direction.key_label)
            return
        if direction is self.client and (early or (direction.half.tls13 and direction.tls13_phase == "handshake")):
            tls13.open_client_record(self, record)
            return
        if (
            direction is self.client and self.version == TLS13 and direction.tls13_phase == "plain"
            and record.content_type == ContentType.APPLICATION_DATA
        ):
            tls13.start_client(self)
            if direction.no_keys:
                self.on_record(direction, record)
                return
            tls13.open_client_record(self, record)
            return
        if (
            direction is self.client and self.version is None and self.early_data_offered
            and record.content_type == ContentType.APPLICATION_DATA
        ):
            tls13.start_client(self)  # 0-RTT before the ServerHello was seen
            if direction.no_keys:
                self.on_record(direction, record)
                return
            tls13.open_client_record(self, record)
            return
        self._open(direction, record)

    @staticmethod
    def _plausible_clear(record: Record) -> bool:
        """Before any hello: could this record be unencrypted (a hello, a ChangeCipherSpec, a 2-byte alert)?"""
        fragment = record.fragment
        if record.content_type == ContentType.HANDSHAKE:
            return len(fragment) >= 4 and fragment[0] in (HandshakeType.CLIENT_HELLO, HandshakeType.SERVER_HELLO)
        if record.content_type == ContentType.CHANGE_CIPHER_SPEC:
            return fragment == b"\x01"
        return record.content_type == ContentType.ALERT and len(fragment) == 2

    def _recover(self, direction: DirectionState, record: Record) -> bool:
        """After a gap: find the sequence number under which ``record`` verifies (stateless AEAD / explicit-IV CBC
        protections only; RC4 and TLS 1.0 CBC chain state through the lost records and cannot recover)."""
        direction.recover_attempts -= 1
        protection = direction.half.protection
        start = direction.recover_from
        for seq in range(start, start + direction.recover_budget):
            try:
                protection.open(seq, record.content_type, record.version, record.fragment)
            except TLSError:
                continue
            except Exception:
                break
            direction.half.seq = seq
            direction.no_keys = False
            direction.no_keys_reason = ""
            direction.recover_attempts = 0
            self.note(f"{direction.writer} stream: resynchronised after the gap at sequence number {seq} "
                      f"({seq - start} record(s) lost)")
            return True
        if direction.recover_attempts == 0:
            self.note(f"{direction.writer} stream: could not recover the record state after the gap")
        return False

    def _open(self, direction: DirectionState, record: Record) -> None:
        half = direction.half
        clear_ccs = half.tls13 and record.content_type == ContentType.CHANGE_CIPHER_SPEC  # not protected (§5)
        seq = half.seq if half.protection.protects and not clear_ccs else None
        try:
            content_type, plaintext = half.open(record)
        except BadRecordMAC:
            direction.records_failed += 1
            self.log_record(direction, record.content_type, seq, len(record.fragment), "bad_record_mac", direction.key_label)
            direction.lost_state("an earlier record failed its integrity check")
            return
        except ProtocolError as exc:
            direction.records_failed += 1
            self.log_record(direction, record.content_type, seq, len(record.fragment), "bad_record_mac", direction.key_label)
            direction.lost_state(f"record error: {exc}")
            return
        direction.records_ok += 1
        self.log_record(direction, content_type, seq, len(record.fragment), "ok", direction.key_label, len(plaintext))
        self._dispatch(direction, content_type, plaintext)

    def _dispatch(self, direction: DirectionState, content_type: int, plaintext: bytes) -> None:
        if content_type == ContentType.APPLICATION_DATA:
            direction.application_data(plaintext)
        elif content_type == ContentType.HANDSHAKE:
            try:
                direction.handshake.feed(plaintext)
                while (raw := direction.handshake.next_message()) is not None:
                    self._handshake_message(direction, raw)
            except TLSError as exc:
                self.note(f"{direction.writer} handshake: {exc}")
                direction.handshake = HandshakeReassembler(1 << 24)
        elif content_type == ContentType.CHANGE_CIPHER_SPEC:
            if not (direction.half.tls13 or self.version == TLS13):
                self._change_cipher_spec(direction)
        elif content_type == ContentType.ALERT and len(plaintext) >= 2:
            self.note(f"{direction.writer} sent alert level {plaintext[0]} description {plaintext[1]}")

    # ------------------------------------------------------------------ handshake messages
    def _handshake_message(self, direction: DirectionState, raw: RawHandshake) -> None:
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
            if len(raw.body) >= 2 and raw.body[0] in (0x7F, 0xFE):
                # pre-RFC TLS 1.3 drafts (0x7fNN; Facebook's 0xfbNN-style experiments): a different ServerHello
                version = int.from_bytes(raw.body[:2], "big")
                if raw.body[0] == 0x7F and raw.body[1] in tls13.DRAFT_SERVER_HELLO:
                    self._server_hello(tls13.parse_draft_server_hello(raw.body))
                else:
                    self._unsupported_version(version, raw.body)
                return
            self._server_hello(ServerHello.parse(raw.body))
        elif t == HandshakeType.CERTIFICATE and self.version is not None:
            chain = Certificate.parse(raw.body).certificates
            if direction is self.server and chain:
                self.certificate = chain[0]
        elif t == HandshakeType.CLIENT_KEY_EXCHANGE and self.suite is not None and self.version is not None:
            self.client_key_exchange = ClientKeyExchange.parse(raw.body, self.version, self.suite.key_exchange)
            self.session_hash_input = bytes(self.transcript)
        elif t == HandshakeType.NEW_SESSION_TICKET and direction is self.server:
            ticket = NewSessionTicket.parse(raw.body).ticket
            master = self._ensure_master()
            if master is not None and ticket and self.suite_id is not None and self.version is not None:
                self.cache.by_ticket[ticket] = (master, self.suite_id, self.version)
        elif t == HandshakeType.FINISHED:
            self._check_finished(direction, raw)
            if direction is self.server and self.master is not None:
                sid = self.server_hello.session_id if self.server_hello else b""
                if sid and self.suite_id is not None and self.version is not None:
                    self.cache.by_session_id[sid] = (self.master, self.suite_id, self.version)

    def _check_finished(self, direction: DirectionState, raw: RawHandshake) -> None:
        """Verify Finished.verify_data over the transcript before it (RFC 5246 §7.4.9, RFC 6101 §5.6.9): proof that
        the master secret and every handshake message we reconstructed are the ones both peers used."""
        if self.master is None or self.suite is None or self.version is None:
            return
        from tlsstate.crypto.prf import finished_verify_data

        before = bytes(self.transcript[: len(self.transcript) - len(raw.raw)])
        expected = finished_verify_data(self.version, self.suite.prf_hash, self.master, before, direction is self.client)
        ok = expected == raw.body
        self.finished_checks.append((direction.writer, ok))
        if not ok:
            self.note(f"{direction.writer} Finished verify_data does not match the reconstructed handshake")

    def _swap_roles(self) -> None:
        self.client, self.server = self.server, self.client
        for state, writer in ((self.client, "client"), (self.server, "server")):
            state.writer = writer
            state.arrow = "c>s" if writer == "client" else "s>c"
            state.half.writer = writer
        self.roles_swapped = True

    def _client_hello(self, hello: ClientHello, raw: bytes) -> None:
        renegotiation = self.handshakes > 0
        after_retry = self.server_hello is not None and self.server_hello.random == HELLO_RETRY_REQUEST_RANDOM
        if self.client_hello is not None and after_retry:
            # second ClientHello after HelloRetryRequest: the transcript starts with message_hash(ClientHello1)
            # (RFC 8446 §4.4.1), then HelloRetryRequest and ClientHello2
            if self.suite is not None and self._first_hello:
                digest = hashlib.new(self.suite.prf_hash, self._first_hello).digest()
                retry = bytes(self.transcript[len(self._first_hello) :])
                self.transcript = bytearray(bytes((HandshakeType.MESSAGE_HASH, 0, 0, len(digest))) + digest + retry)
            self.transcript += raw
            self.client_hello = hello
            if self.early_data_offered:  # HelloRetryRequest rejects 0-RTT: handshake keys come next (§4.2.10)
                self.note("0-RTT data rejected (HelloRetryRequest)")
                self.early_data_offered = False
                self.client.no_keys = False
                self.client.tls13_phase = "plain"
            return
        self._reset_handshake()
        self.handshakes += 1
        if renegotiation:
            self.note(f"renegotiation: handshake {self.handshakes}")
        self.client_hello = hello
        self.client_random = hello.random
        self.transcript = bytearray(raw)
        self._first_hello = bytes(raw)
        for ext in hello.extensions or ():
            if ext.type == EXT_SERVER_NAME:
                from tlsstate.wire.extensions import parse_server_name

                with contextlib.suppress(TLSError):
                    self.sni = parse_server_name(ext.data) or self.sni
            elif ext.type == EXT_TICKET:
                self.offered_ticket = ext.data
            elif ext.type == EXT_EARLY_DATA:
                self.early_data_offered = True

    def _server_hello(self, hello: ServerHello) -> None:
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
            return
        self.server_random = hello.random
        version = hello.version
        ext_types = set()
        for ext in hello.extensions or ():
            ext_types.add(ext.type)
            if ext.type == EXT_SUPPORTED_VERSIONS and len(ext.data) == 2:
                version = int.from_bytes(ext.data, "big")
            elif ext.type == EXT_ALPN:
                self._set_alpn(ext.data)
            elif ext.type == EXT_PRE_SHARED_KEY:
                self.resumed = True  # TLS 1.3 PSK resumption (RFC 8446 §4.2.11)
        if version >> 8 == 0x7F and version & 0xFF in tls13.DRAFTS:
            self.draft = version & 0xFF  # decrypted as TLS 1.3 with the draft's differences (tls13.DRAFTS)
            self.note(f"TLS 1.3 draft-{self.draft} (0x{version:04x})")
            version = TLS13
        self.version = version
        self.suite_id = hello.cipher_suite
        self.suite = by_id(hello.cipher_suite)
        offered = {ext.type for ext in (self.client_hello.extensions or ())} if self.client_hello else set()
        self.ems = EXT_EMS in ext_types and EXT_EMS in offered
        self.etm = EXT_ETM in ext_types and EXT_ETM in offered
        if version >> 8 == 0x7F or (version >> 8 == 0xFE):
            self.unsupported = f"TLS 1.3 draft version 0x{version:04x} (draft-{version & 0xFF}) is not supported"
        elif not 0x0300 <= version <= TLS13:
            self.unsupported = f"unknown protocol version 0x{version:04x}"
        elif self.suite is None:
            self.unsupported = f"unknown cipher suite 0x{hello.cipher_suite:04x}"
        elif self.suite.is_tls13 != (version == TLS13):
            self.unsupported = f"suite {self.suite.name} is not valid in version 0x{version:04x}"
        if self.unsupported:
            self.note(self.unsupported)
            for state in (self.client, self.server):
                state.lost_state(self.unsupported)
            return
        self.derivation = Derivation(self.handshakes)
        self.derivations.append(self.derivation)
        if version == TLS13:
            tls13.start_server(self)

    def _unsupported_version(self, version: int, body: bytes) -> None:
        self.version = version
        if len(body) >= 36:  # draft ServerHello: version, random, cipher_suite, ... (no session id before draft-22)
            self.server_random = body[2:34]
            self.suite_id = int.from_bytes(body[34:36], "big")
            self.suite = by_id(self.suite_id)
        self.unsupported = f"TLS 1.3 draft version 0x{version:04x} (draft-{version & 0xFF}) is not supported"
        self.note(self.unsupported)
        for state in (self.client, self.server):
            state.lost_state(self.unsupported)

    def _set_alpn(self, data: bytes) -> None:
        from tlsstate.wire.extensions import parse_alpn_selected

        with contextlib.suppress(TLSError):
            self.alpn = parse_alpn_selected(data).decode("ascii", errors="replace")

    # ------------------------------------------------------------------ TLS <= 1.2 keys
    def _ensure_master(self) -> bytes | None:
        """The master secret of the current handshake (RFC 5246 §8.1, RFC 7627 §4), or None with a reason."""
        if self.master is not None:
            return self.master
        if self.suite is None or self.version is None or not self.client_random or not self.server_random:
            self.master_failure = "handshake not seen (no ClientHello/ServerHello)"
            return None
        from tlsstate.crypto import prf

        keylog = self.keys.keylog
        d = self.derivation or Derivation(self.handshakes)
        if self.derivation is None:
            self.derivation = d
            self.derivations.append(d)
        d.add("client_random", self.client_random, "ClientHello")
        d.add("server_random", self.server_random, "ServerHello")
        master = keylog.master_secret(self.client_random)
        if master is not None:
            line = keylog.line_of("CLIENT_RANDOM", self.client_random)
            d.add("master_secret", master, f"key log CLIENT_RANDOM line {line}")
            self.master = master
            return master
        server_session_id = self.server_hello.session_id if self.server_hello else b""
        logged_master = keylog.session_master(server_session_id)
        if logged_master is not None and self.client_key_exchange is not None:
            line = keylog.line_of("RSA Session-ID", server_session_id)
            d.add("master_secret", logged_master, f"key log RSA Session-ID line {line}")
            self.master = logged_master
            return logged_master
        abbreviated = self.client_key_exchange is None
        if abbreviated:
            sid = self.server_hello.session_id if self.server_hello else b""
            client_sid = self.client_hello.session_id if self.client_hello else b""
            if sid and sid == client_sid:
                cached = self.cache.by_session_id.get(sid)
                if cached is not None:
                    self.master, self.resumed = cached[0], True
                    d.add("master_secret", cached[0], f"resumed session {sid.hex()[:16]}… (earlier in the capture)")
                    return self.master
                logged = keylog.session_master(sid)
                if logged is not None:
                    self.master, self.resumed = logged, True
                    d.add("master_secret", logged, f"key log RSA Session-ID line {keylog.line_of('RSA Session-ID', sid)}")
                    return self.master
            if self.offered_ticket:
                cached = self.cache.by_ticket.get(self.offered_ticket)
                if cached is not None:
                    self.master, self.resumed = cached[0], True
                    d.add("master_secret", cached[0], "resumed by session ticket (issued earlier in the capture)")
                    return self.master
            self.master_failure = "resumed session whose master secret is unknown (no key log entry)"
            return None
        premaster = self._premaster(d)
        if premaster is None:
            return None
        if self.ems and self.session_hash_input is not None:
            session_hash = prf.session_hash(self.version, self.suite.prf_hash, self.session_hash_input)
            d.add("session_hash", session_hash, "hash of handshake messages ClientHello..ClientKeyExchange (RFC 7627 §3)")
            master = prf.extended_master_secret(self.version, self.suite.prf_hash, premaster, session_hash)
            d.add("master_secret", master, 'PRF(premaster, "extended master secret", session_hash) (RFC 7627 §4)')
        else:
            master = prf.master_secret(self.version, self.suite.prf_hash, premaster, self.client_random, self.server_random)
            d.add("master_secret", master, 'PRF(premaster, "master secret", client_random + server_random) (RFC 5246 §8.1)')
        self.master = master
        return master

    def _premaster(self, d: Derivation) -> bytes | None:
        from tlsstate.capture.keysource import KeySource, psk_premaster, rsa_psk_premaster

        assert self.suite is not None
        keylog = self.keys.keylog
        logged = keylog.premaster_secret(self.client_random)
        if logged is not None:
            line = keylog.line_of("PMS_CLIENT_RANDOM", self.client_random)
            d.add("premaster_secret", logged, f"key log PMS_CLIENT_RANDOM line {line}")
            return logged
        kx = self.suite.key_exchange
        cke = self.client_key_exchange
        encrypted = cke.encrypted_premaster if cke else b""
        rsa_premaster: bytes | None = None
        if kx in (KeyExchange.RSA, KeyExchange.RSA_PSK) and encrypted:
            rsa_premaster = keylog.rsa_premaster(encrypted)
            if rsa_premaster is not None:
                line = keylog.line_of("RSA", encrypted[:8])
                name = "premaster_secret" if kx is KeyExchange.RSA else "rsa_premaster"
                d.add(name, rsa_premaster, f"key log RSA line {line}")
            else:
                key = self.keys.rsa_key_for(self.certificate)
                if key is None:
                    self.master_failure = (
                        "no RSA key matches the server certificate" if self.keys.rsa_keys else "no key log entry or RSA key"
                    )
                    return None
                rsa_premaster = KeySource.rsa_decrypt(key, encrypted)
                expected_version = self.client_hello.version if self.client_hello else None
                if rsa_premaster is None or len(rsa_premaster) != 48 or (
                    expected_version is not None and rsa_premaster[:2] != expected_version.to_bytes(2, "big")
                    and rsa_premaster[0] != 3
                ):
                    self.master_failure = f"RSA key {key.source} does not decrypt the premaster (wrong key?)"
                    return None
                d.add("encrypted_premaster", encrypted, "ClientKeyExchange")
                d.add("premaster_secret" if kx is KeyExchange.RSA else "rsa_premaster", rsa_premaster,
                      f"RSA-decrypted with {key.source} (PKCS #1 v1.5, RFC 5246 §7.4.7.1)")
            if kx is KeyExchange.RSA:
                return rsa_premaster
        if kx.uses_psk and self.keys.psk is not None:
            if kx is KeyExchange.PSK:
                premaster = psk_premaster(self.keys.psk)
                d.add("premaster_secret", premaster, "--psk: uint16 N, N zeros, uint16 N, psk (RFC 4279 §2)")
                return premaster
            if kx is KeyExchange.RSA_PSK and rsa_premaster is not None:
                premaster = rsa_psk_premaster(rsa_premaster, self.keys.psk)
                d.add("premaster_secret", premaster, "uint16 48, RSA premaster, uint16 N, psk (RFC 4279 §4)")
                return premaster
        self.master_failure = f"no key log entry for this session ({kx.value} key exchange needs CLIENT_RANDOM or PMS)"
        return None

    def _change_cipher_spec(self, direction: DirectionState) -> None:
        """ChangeCipherSpec (RFC 5246 §7.1): this direction switches to the new keys."""
        try:
            protection = self._pending_protection(direction.writer)
        except (TLSError, UnsupportedAlgorithm) as exc:  # e.g. a suite this cryptography build cannot run
            self.master_failure = f"cannot set up {self.suite.name if self.suite else 'the cipher'}: {exc}"
            protection = None
        if protection is None:
            direction.lost_state(self.master_failure or "keys unknown")
            direction.half.set_pending(_Placeholder())
            direction.half.activate_pending()
            direction.set_label(f"{direction.writer} write key (epoch {direction.half.epoch}, unknown)")
            return
        direction.half.set_pending(protection)
        direction.half.activate_pending()
        direction.set_label(direction.half.key_label)
        direction.no_keys = False

    def _pending_protection(self, writer: str) -> RecordProtection | None:
        if self.unsupported:
            self.master_failure = self.unsupported
            return None
        master = self._ensure_master()
        if master is None or self.suite is None or self.version is None:
            return None
        from tlsstate.crypto.keys import derive_connection_keys
        from tlsstate.record.protection import make_protection

        keys = derive_connection_keys(self.suite, self.version, master, self.client_random, self.server_random)
        d = self.derivation
        if d is not None and not any(step[0] == "client_write_key" for step in d.steps):
            for name in ("client_write_mac_key", "server_write_mac_key", "client_write_key", "server_write_key",
                         "client_write_iv", "server_write_iv"):
                d.add(name, getattr(keys, name), "key_block = PRF(master, \"key expansion\", server_random + client_random)")
        if writer == "client":
            return make_protection(self.suite, self.version, keys.client_write_mac_key, keys.client_write_key,
                                   keys.client_write_iv, encrypt_then_mac=self.etm)
        return make_protection(self.suite, self.version, keys.server_write_mac_key, keys.server_write_key,
                               keys.server_write_iv, encrypt_then_mac=self.etm)

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
        for state in (self.client, self.server):
            if state.records_no_keys and state.no_keys_reason:
                return state.no_keys_reason
        if self.master_failure and (self.client.records_no_keys or self.server.records_no_keys):
            return self.master_failure
        return ""

    def summary(self) -> dict[str, Any]:
        """Counters for the report."""
        return {
            "records_ok": self.client.records_ok + self.server.records_ok,
            "records_failed": self.client.records_failed + self.server.records_failed,
            "records_undecryptable": self.client.records_no_keys + self.server.records_no_keys,
            "records_truncated": self.client.records_truncated + self.server.records_truncated,
        }


class _Placeholder(RecordProtection):
    """Stands for keys we do not have: every open fails (the direction is marked no_keys first)."""

    name = "unknown keys"
    protects = True

    def seal(self, seq: int, content_type: int, version: int, plaintext: Any) -> bytes:
        raise BadRecordMAC()

    def open(self, seq: int, content_type: int, version: int, fragment: Any) -> bytes:
        raise BadRecordMAC()
