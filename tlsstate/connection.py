"""The sans-I/O TLS connection (h11 / rustls style): bytes in, events out, bytes to send.

::

    conn = Connection(config, server_side=False)
    conn.start_handshake()
    sock.sendall(conn.bytes_to_send())
    while (data := sock.recv(65536)) is not None:
        conn.receive_bytes(data)                 # b"" = the transport reached EOF
        while (event := conn.next_event()) is not None:
            ...                                  # HandshakeComplete, ApplicationData, AlertEvent, ConnectionClosed
        sock.sendall(conn.bytes_to_send())

``receive_bytes`` only buffers; ``next_event`` does the work (records, handshake, decryption), so
events come out the same whatever the chunking of the input. Errors are sticky: a fatal error
queues the alert (``bytes_to_send`` still returns it) and every later call raises the same error.
The handshake (:mod:`tlsstate.handshake`) calls nothing here: each of its steps returns what must happen
(:mod:`tlsstate.handshake.outputs`: handshake records, pending keys, ChangeCipherSpec, record limits and version,
warnings, the result), and the connection carries that out in order.
RFC 5246 §6 (record layer), §7.1 (ChangeCipherSpec), §7.2 (alerts), §7.3-§7.4 (handshake).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any, NoReturn, ParamSpec, TypeVar

from cryptography import x509

from tlsstate.config import TLSConfig
from tlsstate.crypto.exporter import NO_EARLY_EXPORTER, NOT_YET, Exporter, Tls13Exporter, exporter_for
from tlsstate.crypto.keys import ConnectionKeys, SecurityParameters
from tlsstate.crypto.negotiated import Negotiated, record_splitting_applies
from tlsstate.crypto.schedule13 import key_update_limit
from tlsstate.crypto.suites import CipherSuite
from tlsstate.events import AlertEvent, ApplicationData, ConnectionClosed, Event, HandshakeComplete, PeerCertificates
from tlsstate.handshake.client import ClientHandshake
from tlsstate.handshake.outputs import (
    SEND_COMPAT_CHANGE_CIPHER_SPEC,
    ActivateReadKeys,
    ActivateWriteKeys,
    EarlyExporter,
    EndEarlyData,
    HandshakeDone,
    HandshakeResult,
    InstallPendingKeys,
    InstallTrafficKeys,
    LogSecret,
    Output,
    PeerAuthenticated,
    RecordLimits,
    RecordVersion,
    SendCompatChangeCipherSpec,
    SendHandshake,
    SendWarning,
    SkipEarlyData,
    StartEarlyData,
    Tls13Result,
    Tls13Secrets,
)
from tlsstate.handshake.server import ServerHandshake
from tlsstate.record import Deframer, HalfConnection
from tlsstate.record.keying import protections_for, traffic_protection
from tlsstate.wire import errors
from tlsstate.wire.constants import (
    MAX_PLAINTEXT_LENGTH,
    SSLV2_CLIENT_HELLO,
    AlertDescription,
    AlertLevel,
    ContentType,
    HandshakeType,
    ProtocolVersion,
)
from tlsstate.wire.errors import DecodeError, InternalError, ProtocolError, TLSError, UnexpectedMessage
from tlsstate.wire.framing import SERVER_LIMITS, HandshakeReassembler
from tlsstate.wire.keylog import KeyLogWriter, shared_default_keylog

_CCS_PAYLOAD = b"\x01"
#: CVE-2016-8610 ("SSL Death Alert"): records that make no progress cost us work and the peer almost nothing, so
#: only a few may come in a row. The fifth warning alert in a row, or the 33rd empty application data record in a
#: row, ends the connection with unexpected_message (OpenSSL's MAX_WARN_ALERT_COUNT and MAX_EMPTY_RECORDS). Progress
#: (a handshake record, a ChangeCipherSpec, application data with bytes in it) starts both counts again.
MAX_WARNING_ALERTS_IN_A_ROW = 4
MAX_EMPTY_RECORDS_IN_A_ROW = 32
#: ``Connection.epochs`` keeps the first epoch and the latest ones, at most this many in all: a peer renegotiating
#: without end (RFC 5746) must not grow memory without bound; ``handshakes`` still counts every one.
MAX_EPOCHS_KEPT = 64
P = ParamSpec("P")
T = TypeVar("T")


class Connection:
    """One TLS 1.0-1.2 connection, client or server, with no I/O of its own.

    After the handshake, ``security`` holds the SecurityParameters (master secret, randoms, the six
    values in ``security.keys``), ``premaster_secret`` the premaster of a full handshake, and
    ``read_state`` / ``write_state`` are the live :class:`~tlsstate.record.HalfConnection` objects.
    A secure renegotiation (RFC 5746; :meth:`renegotiate`) ends in a new epoch: ``security`` is then the new
    handshake's, ``epochs`` lists the handshakes' SecurityParameters in order (the first and the latest) and
    ``handshakes`` counts them all.
    """

    def __init__(self, config: TLSConfig, *, server_side: bool) -> None:
        config.check(server_side)
        self.config = config
        self.server_side = server_side
        me, peer = ("server", "client") if server_side else ("client", "server")
        self.write_state = HalfConnection(me)
        self.read_state = HalfConnection(peer)
        self.handshake_complete = False
        self.security: SecurityParameters | None = None
        #: TLS 1.3: every secret of the key schedule (RFC 9846 §7.1) once the handshake is done; None in TLS 1.2.
        self.tls13_secrets: Tls13Secrets | None = None
        #: The SecurityParameters of the completed handshakes, the initial one first (RFC 5746 renegotiations); at
        #: most :data:`MAX_EPOCHS_KEPT` (the first and the latest). ``handshakes`` counts all of them.
        self.epochs: list[SecurityParameters] = []
        self.handshakes = 0
        self.premaster_secret: bytes | None = None
        self.peer_certificates: list[x509.Certificate] = []
        self.negotiated_version: int | None = None
        #: Set when the handshake completes, by version (crypto/exporter.py): RFC 5705 for TLS 1.0-1.2.
        self._exporter: Exporter = NOT_YET
        self._early_exporter: Exporter = NO_EARLY_EXPORTER  # RFC 9846 §7.5: set with 0-RTT data sent or accepted
        #: The HandshakeComplete event, kept after it was handed out (version, suite, ALPN, SNI, flags).
        self.handshake_info: HandshakeComplete | None = None
        self._deframer = Deframer(first_client_hello=server_side)  # RFC 5246 Appendix E.1-E.2
        self._reassembler = HandshakeReassembler(  # a server takes a ClientHello as large as it can be (131,396 bytes)
            config.max_handshake_message_length, limits=SERVER_LIMITS if server_side else None
        )
        self._handshake: ClientHandshake | ServerHandshake = (
            ServerHandshake(config) if server_side else ClientHandshake(config)
        )
        self._record_version = 0x0301
        self._version_fixed = False
        self._events: deque[Event] = deque()
        self._out: list[bytes] = []  # sealed records waiting for bytes_to_send (joined once there)
        self._handshake_out = bytearray()
        self._early_data: list[bytes] = []
        #: TLS 1.3 0-RTT (RFC 9846 §2.3): a client's queued data and writer; a server's bytes received so far
        self._zero_rtt: list[bytes] = []
        self._early_writer: HalfConnection | None = None
        self._early_received = 0
        #: TLS 1.3 client: bytes sent as 0-RTT data (0: none was sent).
        self.early_data_sent = 0
        self._error: TLSError | None = None
        self._eof = False
        self._peer_closed = False  # close_notify or EOF reported
        self._close_sent = False
        self._started = False
        self._send_limit = MAX_PLAINTEXT_LENGTH
        self._pending_limits: tuple[int, int] | None = None  # record_size_limit: applied with the new keys
        self._split_writes = False  # 1/n-1 record splitting (config.split_cbc_records, CBC in SSL 3.0 / TLS 1.0)
        self._warnings_in_a_row = 0  # warning alerts since the last progress (CVE-2016-8610)
        self._empty_in_a_row = 0  # empty application data records since the last progress
        #: TLS 1.3: after this many records under one key we send KeyUpdate (RFC 9846 §5.5); never in TLS 1.2
        self._key_update_at = 1 << 64
        #: TLS 1.3: pad application data records to a multiple of this (0: no padding; RFC 9846 §5.4)
        self._padding_block = 0
        self._awaiting_finished = False  # the peer's ChangeCipherSpec arrived, its Finished not yet (RFC 5246 §7.1)
        #: The SSLKEYLOGFILE writer (when config.keylog is None), looked up at the first secret: a TLS 1.3 handshake
        #: logs ten and reading the environment each time cost more than the rest of the step. False: not yet.
        self._env_keylog: KeyLogWriter | bool | None = False

    def __repr__(self) -> str:
        role = "server" if self.server_side else "client"
        return f"<Connection {role} {self.handshake_state} error={self._error!r}>"

    # ================================================================ public API

    def start_handshake(self) -> None:
        """Client: queue the ClientHello (RFC 5246 §7.4.1.2). A server waits for the client."""
        self._check_error()
        if self._started:
            return
        self._started = True
        if isinstance(self._handshake, ClientHandshake):
            self._guard(self._handshake_step, self._handshake.start)
            self._flush_handshake()

    def receive_bytes(self, data: bytes) -> None:
        """Buffer bytes from the transport; ``b""`` means EOF."""
        if self._error is not None:
            raise self._error
        if not data:
            self._eof = True
            return
        if self._peer_closed:
            return  # nothing after close_notify is read (RFC 5246 §7.2.1)
        self._deframer.feed(data)

    def next_event(self) -> Event | None:
        """The next event, or None when more bytes are needed (or the peer has closed)."""
        if self._error is not None:
            raise self._error
        events = self._events
        while not events and not self._peer_closed:
            try:
                more = self._process_next_record()
            except Exception as exc:
                self._failed(exc)
            if not more:
                if self._eof:
                    self._peer_closed = True
                    events.append(ConnectionClosed(clean=False))
                break
            if self._handshake_out:
                self._flush_handshake()
        return events.popleft() if events else None

    def bytes_to_send(self) -> bytes:
        """Drain everything queued for the peer (including a fatal alert after an error). Never raises."""
        if self._handshake_out:
            self._flush_handshake()
        out = b"".join(self._out)  # a single record is returned as it is, without a copy
        self._out.clear()
        return out

    def send_data(self, data: bytes) -> None:
        """Queue application data (RFC 5246 §10), split into records of at most 2^14 bytes.

        Before the handshake completes the data is held and sent right after it; so it is while a renegotiation
        runs (RFC 5246 lets data interleave with it, but OpenSSL and GnuTLS take none after their hello).
        """
        if self._error is not None:
            raise self._error
        if self._close_sent:
            raise errors.ConnectionClosedError(clean=True)
        if not data:
            return
        if not (self.handshake_complete and self._handshake.state.connected):  # not yet, or renegotiating
            self._early_data.append(bytes(data))
            return
        try:
            self._seal_application_data(data)
        except Exception as exc:
            self._failed(exc)

    def send_early_data(self, data: bytes) -> None:
        """TLS 1.3 client, before :meth:`start_handshake`: queue 0-RTT data (RFC 9846 §2.3, §4.2.10), sent after the
        ClientHello if the resumed ticket allows this much in all (else not offered, nothing sent). It may be replayed
        (§8): send only what is safe twice. :attr:`early_data_status` says if the server took it; if not, it was not
        delivered (:meth:`send_data` may send it again)."""
        self._check_error()
        if self.server_side or not isinstance(self._handshake, ClientHandshake) or self._started:
            raise errors.ConfigurationError("send_early_data is for a TLS 1.3 client, before start_handshake()")
        self._zero_rtt.append(bytes(data))
        self._handshake.offer_early_data(sum(map(len, self._zero_rtt)))

    @property
    def early_data_status(self) -> str:
        """TLS 1.3 0-RTT (RFC 9846 §4.2.10): "not sent" (none sent or received), "pending", "accepted", "rejected"."""
        info = self.handshake_info
        if info is not None and info.early_data_accepted:
            return "accepted"
        if self.server_side or not self.early_data_sent:
            return "not sent"
        return "rejected" if info is not None else "pending"

    def key_update(self, *, request_peer: bool = True) -> None:
        """TLS 1.3: queue a KeyUpdate and seal from now on with our next application traffic secret (RFC 9846
        §4.6.3); ``request_peer`` asks the peer to update its direction too. ConfigurationError before a TLS 1.3
        handshake is done."""
        self._check_error()
        if self._close_sent:
            raise errors.ConnectionClosedError(clean=True)
        self._handshake_step(self._handshake.key_update, request_peer=request_peer)
        self._flush_handshake()

    def request_client_certificate(self) -> None:
        """TLS 1.3 server: ask the client for a certificate now (post-handshake authentication, RFC 9846 §4.6.2); its
        answer arrives as a :class:`~tlsstate.events.PeerCertificates` event. ConfigurationError unless a TLS 1.3
        handshake is done and the client offered post_handshake_auth."""
        self._check_error()
        self._handshake_step(self._handshake.request_client_certificate)
        self._flush_handshake()

    def renegotiate(self) -> None:
        """Start a secure renegotiation (RFC 5746) after the handshake: a client sends a new ClientHello, a server
        a HelloRequest (RFC 5246 §7.4.1.1). The new handshake runs under the current keys; when it completes,
        another HandshakeComplete event comes and the connection is in a new epoch (new master secret, keys and
        sequence numbers). A peer without RFC 5746 support is never asked: ConfigurationError, and the connection
        carries on."""
        self._check_error()
        if not self.handshake_complete:
            raise errors.ConfigurationError("renegotiate() needs a completed handshake")
        if self._close_sent or self._peer_closed:
            raise errors.ConnectionClosedError(clean=True)
        refusal = self._handshake.state.renegotiation_refusal()
        if refusal is not None:  # checked outside _guard: a refusal is no connection failure
            raise errors.ConfigurationError(refusal)
        handshake = self._handshake
        step = handshake.request_renegotiation if isinstance(handshake, ServerHandshake) else handshake.renegotiate
        self._guard(self._handshake_step, step)
        self._flush_handshake()

    @property
    def renegotiating(self) -> bool:
        """True while a handshake after the first runs (RFC 5746); data received still flows, data sent is held."""
        return self.handshake_complete and not self._handshake.state.connected

    def close(self) -> None:
        """Queue a close_notify alert (RFC 5246 §7.2.1); later send_data calls raise."""
        if self._error is not None or self._close_sent:
            return
        self._close_sent = True
        self._flush_handshake()
        self._send_alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)

    @property
    def error(self) -> TLSError | None:
        """The sticky error, if the connection failed."""
        return self._error

    def export_keying_material(
        self, label: str | bytes, context: bytes | None, length: int, *, allow_legacy_master_secret: bool = False,
        early: bool = False,
    ) -> bytes:
        """``length`` bytes of keying material for ``label`` and ``context`` (None: no context, which RFC 5705 §4
        distinguishes from an empty one), from the completed handshake: RFC 5705 for TLS 1.0-1.2, RFC 9846 §7.5 for
        TLS 1.3. Before the handshake completes, in SSL 3.0, or (TLS <= 1.2) without the extended master secret
        unless ``allow_legacy_master_secret`` (RFC 7627 §5.4): ExporterUnavailable. A bad label or length:
        ConfigurationError. After a fatal error: that error. ``early``: from the early_exporter_master_secret (TLS 1.3
        0-RTT, §7.5; as OpenSSL's SSL_export_keying_material_early) once a client sent early data or a server
        accepted it, else ExporterUnavailable."""
        self._check_error()
        exporter = self._early_exporter if early else self._exporter
        return exporter.export(label, context, length, allow_legacy_master_secret=allow_legacy_master_secret)

    @property
    def handshake_state(self) -> str:
        """Name of the current handshake state (e.g. ``ClientWaitServerHello``)."""
        return self._handshake.state_name

    # ================================================================ errors

    def _check_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _guard(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``func``; a failure becomes the sticky error (:meth:`_failed`). The per-record callers (next_event,
        send_data) write the same ``try`` inline: one Python call fewer per record."""
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> NoReturn:
        """The one failure policy: a ProtocolError becomes the sticky error and its fatal alert is queued; a received
        fatal alert or another TLSError is sticky as it is; any other exception is a bug and still ends in a typed
        InternalError with an alert, never a traceback (RFC 5246 §7.2.2)."""
        if isinstance(exc, ProtocolError):
            self._fail(exc)
        if isinstance(exc, TLSError):
            self._error = exc
            if isinstance(exc, errors.AlertReceived):
                self._handshake.forget_session()
            raise exc
        internal = InternalError(f"{type(exc).__name__}: {exc}")
        internal.__cause__ = exc
        self._fail(internal)

    def _fail(self, exc: ProtocolError) -> NoReturn:
        self._error = exc
        self._handshake.forget_session()
        self._handshake_out.clear()  # a half-built flight is not sent; the alert is
        with contextlib.suppress(Exception):  # e.g. sequence number exhausted: send nothing rather than crash
            self._send_alert(AlertLevel.FATAL, exc.alert)
        raise exc

    # ================================================================ records in

    def _process_next_record(self) -> bool:
        """Open and handle the next whole record; False when more bytes are needed. The fragment is read
        through a view of the received bytes (no copy before decryption)."""
        opened = self.read_state.open_next(self._deframer)  # the Deframer checks the negotiated record version
        if opened is None:
            return False
        content_type, _, plaintext = opened
        if content_type == ContentType.ALERT:
            self._process_alert(plaintext)
            return True
        if content_type == ContentType.APPLICATION_DATA:
            if not self.handshake_complete:
                return self._receive_early_data(plaintext)
            if self._awaiting_finished:  # renegotiation: Finished must follow ChangeCipherSpec (RFC 5246 §7.4.9)
                raise UnexpectedMessage("application data between the peer's ChangeCipherSpec and Finished")
            if not plaintext:
                self._count_no_progress(empty_record=True)
                return True
            self._events.append(ApplicationData(plaintext))
        elif content_type == ContentType.HANDSHAKE:
            self._process_handshake(plaintext)
        elif content_type == ContentType.CHANGE_CIPHER_SPEC:  # a protected one in TLS 1.3: Tls13InnerPlaintext
            self._process_change_cipher_spec(plaintext)
        elif content_type == SSLV2_CLIENT_HELLO:  # only ever the first record a server reads (the Deframer's rule)
            assert isinstance(self._handshake, ServerHandshake)
            self._handshake_step(self._handshake.handle_sslv2_client_hello, plaintext)
        else:
            raise UnexpectedMessage(f"record type {content_type} was not negotiated")
        if self._warnings_in_a_row or self._empty_in_a_row:  # progress
            self._warnings_in_a_row = self._empty_in_a_row = 0
        return True

    def _receive_early_data(self, plaintext: bytes) -> bool:
        """Application data before the handshake is done: only accepted 0-RTT data at a TLS 1.3 server, at most
        ``max_early_data`` bytes (RFC 9846 §4.2.10), marked as early (it may be a replay, §8)."""
        if not self._handshake.state.reads_early_data:
            raise UnexpectedMessage("application data before the handshake finished (RFC 5246 §7.4.9)")
        self._early_received += len(plaintext)
        if self._early_received > self.config.max_early_data:
            raise UnexpectedMessage(f"{self._early_received} bytes of early data, more than max_early_data_size "
                                    f"{self.config.max_early_data} (RFC 9846 §4.2.10)")
        if plaintext:
            self._events.append(ApplicationData(bytes(plaintext), early_data=True))
        else:
            self._count_no_progress(empty_record=True)
        return True

    def _count_no_progress(self, *, empty_record: bool) -> None:
        """One more warning alert or empty record without progress; past the limit, unexpected_message
        (CVE-2016-8610: :data:`MAX_WARNING_ALERTS_IN_A_ROW`, :data:`MAX_EMPTY_RECORDS_IN_A_ROW`)."""
        if empty_record:
            self._empty_in_a_row += 1
            if self._empty_in_a_row > MAX_EMPTY_RECORDS_IN_A_ROW:
                raise UnexpectedMessage(f"{self._empty_in_a_row} empty records in a row without progress")
        else:
            self._warnings_in_a_row += 1
            if self._warnings_in_a_row > MAX_WARNING_ALERTS_IN_A_ROW:
                raise UnexpectedMessage(f"{self._warnings_in_a_row} warning alerts in a row without progress")

    def _process_handshake(self, fragment: bytes) -> None:
        if not fragment:
            raise DecodeError("empty handshake record (RFC 5246 §6.2.1)")
        self._reassembler.feed(fragment)
        while (raw := self._reassembler.next_message()) is not None:
            self._handshake_step(self._handshake.handle_message, raw)

    def _process_change_cipher_spec(self, payload: bytes) -> None:
        """RFC 5246 §7.1: one byte of value 1, between whole handshake messages, where the table allows.

        A record of any other length is no ChangeCipherSpec message at all: ``unexpected_message`` (as OpenSSL and
        tlslite-ng answer); one byte of another value is a field out of range: ``decode_error`` (§7.2.2), and in
        TLS 1.3 ``unexpected_message`` (RFC 9846 §5)."""
        if len(payload) != 1:
            raise UnexpectedMessage(f"ChangeCipherSpec record of {len(payload)} bytes (RFC 5246 §7.1: exactly one)")
        if payload != _CCS_PAYLOAD:
            message = f"ChangeCipherSpec payload must be 01, got {payload.hex()}"
            negotiated = self._handshake.context.negotiated
            if negotiated is not None and negotiated.version >= ProtocolVersion.TLS1_3:
                raise UnexpectedMessage(message + " (RFC 9846 §5)")
            raise DecodeError(message)
        if not self._reassembler.empty:
            raise UnexpectedMessage("ChangeCipherSpec in the middle of a handshake message")
        self._handshake_step(self._handshake.handle_change_cipher_spec)

    def _process_alert(self, payload: bytes) -> None:
        """RFC 5246 §7.2: close_notify ends cleanly, fatal alerts end with AlertReceived, warnings are events (in TLS 1.3
        only user_canceled is: RFC 9846 §6)."""
        if not payload or len(payload) % 2:
            raise DecodeError(f"alert record of {len(payload)} bytes")
        for i in range(0, len(payload), 2):
            level, description = payload[i], payload[i + 1]
            if level not in (AlertLevel.WARNING, AlertLevel.FATAL):
                raise errors.IllegalParameter(f"alert level {level}")
            try:
                desc: AlertDescription | int = AlertDescription(description)
            except ValueError:
                desc = description
            if description == AlertDescription.CLOSE_NOTIFY:
                self._peer_closed = True
                self._events.append(ConnectionClosed(clean=True))
                if not self._close_sent and self._error is None:  # answer in kind (RFC 5246 §7.2.1)
                    self.close()
                return
            negotiated = self._handshake.context.negotiated
            tls13 = negotiated is not None and negotiated.version >= ProtocolVersion.TLS1_3
            if level == AlertLevel.FATAL or (tls13 and description != AlertDescription.USER_CANCELED):
                # RFC 9846 §6: in TLS 1.3 every alert but the closure ones is an error, whatever its level says
                raise errors.AlertReceived(desc, level)
            self._count_no_progress(empty_record=False)
            self._events.append(AlertEvent(level, description))
            if description == AlertDescription.NO_RENEGOTIATION and self.renegotiating:
                self._renegotiation_refused()

    def _renegotiation_refused(self) -> None:
        """The peer answered our renegotiating ClientHello with the warning no_renegotiation: the client carries on
        in the current epoch (RFC 5746 §4.2 leaves the choice to it), and held data goes out."""
        handshake = self._handshake
        if isinstance(handshake, ClientHandshake):
            self._handshake_step(handshake.renegotiation_refused)
            self._send_held_data()

    def _send_held_data(self) -> None:
        for data in self._early_data:
            self._seal_application_data(data)
        self._early_data.clear()

    # ================================================================ records out

    def _send_alert(self, level: int, description: int) -> None:
        self._out.append(self.write_state.seal(ContentType.ALERT, self._record_version, bytes((level, description))))

    def _flush_handshake(self) -> None:
        data = self._handshake_out
        if not data:
            return
        self._handshake_out = bytearray()
        version = self._record_version
        seal = self.write_state.seal
        step = self._send_limit
        for start in range(0, len(data), step):
            self._out.append(seal(ContentType.HANDSHAKE, version, bytes(data[start : start + step])))

    def _seal_application_data(self, data: bytes) -> None:
        """One write's data in records of at most the send limit; with 1/n-1 splitting (``_split_writes``) the first
        record carries one byte, so the peer's next CBC IV is unknown to whoever chose the rest (BEAST). TLS 1.3: new
        keys (KeyUpdate) well before the AEAD's limit (RFC 9846 §5.5); with record_padding, :meth:`_seal_padded`."""
        if self._padding_block:
            self._seal_padded(data)
            return
        seal = self.write_state.seal
        version = self._record_version
        out = self._out
        step = self._send_limit
        write_state, limit = self.write_state, self._key_update_at
        payload: bytes | memoryview = data
        if self._split_writes and len(data) > 1:
            out.append(seal(ContentType.APPLICATION_DATA, version, data[:1]))
            payload = memoryview(data)[1:]
        if len(payload) <= step:  # one record: no slicing
            out.append(seal(ContentType.APPLICATION_DATA, version, payload))
        else:
            view = memoryview(payload)
            for start in range(0, len(view), step):
                out.append(seal(ContentType.APPLICATION_DATA, version, view[start : start + step]))
                if write_state.seq >= limit:
                    self.key_update(request_peer=False)
        if write_state.seq >= limit:  # RFC 9846 §5.5: new keys well before the AEAD limit
            self.key_update(request_peer=False)

    def _seal_padded(self, data: bytes) -> None:
        """TLS 1.3 records whose TLSInnerPlaintext (content + type + zeros) is a multiple of ``record_padding`` bytes,
        as far as the record size limit allows (RFC 9846 §5.4: padding hides the length)."""
        block, step, write_state = self._padding_block, self._send_limit, self.write_state
        view = memoryview(data)
        for start in range(0, len(view), step):
            chunk = view[start : start + step]
            padding = min((-(len(chunk) + 1)) % block, step - len(chunk))
            self._out.append(write_state.seal(ContentType.APPLICATION_DATA, self._record_version, chunk, padding=padding))
            if write_state.seq >= self._key_update_at:
                self.key_update(request_peer=False)

    # ================================================================ what the handshake returns

    def _handshake_step(self, step: Callable[P, list[Output]], *args: P.args, **kwargs: P.kwargs) -> None:
        """Run one handshake step and carry out its outputs in order. When the step raises, what it emitted
        before the error is carried out first (the record version, a warning), then the error goes on to
        :meth:`_guard`."""
        try:
            outputs = step(*args, **kwargs)
        except Exception:
            self._carry_out(self._handshake.take_outputs())
            raise
        self._carry_out(outputs)

    def _carry_out(self, outputs: list[Output]) -> None:
        """Do what a handshake step returned, in its order (:data:`_CARRY_OUT`: one handler per output type)."""
        for output in outputs:
            _CARRY_OUT[type(output)](self, output)

    def _carry_send_handshake(self, output: SendHandshake) -> None:
        self._handshake_out += output.data

    def _carry_record_version(self, output: RecordVersion) -> None:
        self._set_record_version(output.version, fixed=output.fixed)

    def _carry_install_pending_keys(self, output: InstallPendingKeys) -> None:
        self._install_pending(output.negotiated, output.keys)

    def _carry_record_limits(self, output: RecordLimits) -> None:
        self._set_record_limits(output.send, output.receive, protected_only=output.protected_only)

    def _carry_send_warning(self, output: SendWarning) -> None:
        self._send_warning(output.description)

    def _carry_handshake_done(self, output: HandshakeDone) -> None:
        result = output.result
        if isinstance(result, Tls13Result):
            self._handshake_finished13(result)
        else:
            self._handshake_finished(result)

    def _carry_install_traffic_keys(self, output: InstallTrafficKeys) -> None:
        self._install_traffic_keys(output.writer, output.suite, output.secret, output.label)

    def _carry_compat_change_cipher_spec(self, output: SendCompatChangeCipherSpec) -> None:
        self._flush_handshake()
        self._out.append(self.write_state.seal(ContentType.CHANGE_CIPHER_SPEC, self._record_version, _CCS_PAYLOAD))

    def _carry_peer_authenticated(self, output: PeerAuthenticated) -> None:
        self.peer_certificates = output.certificates
        self._events.append(PeerCertificates(tuple(output.certificates)))

    def _carry_log_secret(self, output: LogSecret) -> None:
        keylog = self._keylog_writer()
        if keylog is not None:
            keylog.tls13(output.label, output.client_random, output.secret)

    def _keylog_writer(self) -> KeyLogWriter | None:
        """config.keylog, else the SSLKEYLOGFILE writer (the environment is read once per connection)."""
        if self.config.keylog is not None:
            return self.config.keylog
        keylog = self._env_keylog
        if keylog is False:
            keylog = self._env_keylog = shared_default_keylog()
        assert keylog is not True
        return keylog

    def _carry_start_early_data(self, output: StartEarlyData) -> None:
        """The queued 0-RTT data under the client early traffic key, by a writer of its own (RFC 9846 §2.3)."""
        self._flush_handshake()
        self._set_record_version(0x0303, fixed=False)  # RFC 9846 §5.1: every record after the first ClientHello
        if output.compat_change_cipher_spec:
            self._carry_compat_change_cipher_spec(SEND_COMPAT_CHANGE_CIPHER_SPEC)
        writer = HalfConnection("client")
        writer.activate_tls13(traffic_protection(output.suite, output.secret), label="client early traffic secret")
        for data in self._zero_rtt:
            for start in range(0, len(data), MAX_PLAINTEXT_LENGTH):
                chunk = data[start : start + MAX_PLAINTEXT_LENGTH]
                self._out.append(writer.seal(ContentType.APPLICATION_DATA, self._record_version, chunk))
                self.early_data_sent += len(chunk)
        self._zero_rtt.clear()
        self._early_writer = writer

    def _carry_end_early_data(self, output: EndEarlyData) -> None:
        """EndOfEarlyData under the early key (RFC 9846 §4.5), if any; the early writer is done."""
        writer, self._early_writer = self._early_writer, None
        if output.message and writer is not None:
            self._flush_handshake()
            self._out.append(writer.seal(ContentType.HANDSHAKE, self._record_version, output.message))

    def _send_change_cipher_spec(self, _: ActivateWriteKeys | None = None) -> None:
        """Flush the handshake, send ChangeCipherSpec, switch the write state (RFC 5246 §7.1)."""
        self._flush_handshake()
        self._out.append(self.write_state.seal(ContentType.CHANGE_CIPHER_SPEC, self._record_version, _CCS_PAYLOAD))
        self.write_state.activate_pending()
        if self._pending_limits is not None:  # RFC 8449 §4: protected records only
            self._send_limit = self._pending_limits[0]

    def _activate_read_pending(self, _: ActivateReadKeys | None = None) -> None:
        """The peer's ChangeCipherSpec: its next record uses the new keys (RFC 5246 §7.1)."""
        self.read_state.activate_pending()
        self._awaiting_finished = True
        if self._pending_limits is not None:
            self.read_state.max_plaintext_length = self._pending_limits[1]

    def _install_pending(self, negotiated: Negotiated, keys: ConnectionKeys) -> None:
        """Pending read and write protections from the six values (RFC 5246 §6.3), by the one road
        (:func:`~tlsstate.record.keying.protections_for`)."""
        client, server = protections_for(negotiated, keys)
        mine, theirs = (server, client) if self.server_side else (client, server)
        self.write_state.set_pending(mine)
        self.read_state.set_pending(theirs)

    def _install_traffic_keys(self, writer: str, suite: CipherSuite, secret: bytes, label: str) -> None:
        """TLS 1.3 (RFC 9846 §7.3, §5.3): one direction moves to a new epoch. Ours: what the handshake queued is sent
        under the old keys first. The peer's: a handshake message may not span the change (§5.1)."""
        protection = traffic_protection(suite, secret)
        if writer == self.write_state.writer:
            self._flush_handshake()
            self.write_state.activate_tls13(protection, label=label)
            return
        if not self._reassembler.empty:
            raise UnexpectedMessage("a handshake message spans a TLS 1.3 key change (RFC 9846 §5.1)")
        self.read_state.activate_tls13(protection, label=label)

    def _set_record_limits(self, send: int, receive: int, *, protected_only: bool) -> None:
        """Negotiated record plaintext limits: at once (max_fragment_length, RFC 6066 §4) or with the new keys
        (record_size_limit, RFC 8449 §4). Larger received records are record_overflow."""
        if protected_only:
            self._pending_limits = (send, receive)
        else:
            self._send_limit = send
            self.read_state.max_plaintext_length = receive

    def _set_record_version(self, version: int, *, fixed: bool) -> None:
        """Record version for what we send; once the hellos fix it, incoming records must match."""
        self._record_version = version
        self.negotiated_version = version
        if fixed:
            self._version_fixed = True
        if self._version_fixed:
            self._deframer.expect_version(version)

    def _send_warning(self, description: AlertDescription) -> None:
        """A warning alert that does not end the connection (e.g. no_renegotiation, RFC 5746 §4)."""
        self._flush_handshake()
        self._send_alert(AlertLevel.WARNING, description)

    def _handshake_finished(self, result: HandshakeResult) -> None:
        """Both Finished verified: publish the security parameters (a new epoch after a renegotiation, RFC 5746),
        key log line (one per handshake), event, held data."""
        n = result.negotiated
        renegotiation = self.handshake_complete
        self.handshake_complete = True
        self._awaiting_finished = False
        self.premaster_secret = result.premaster_secret
        if result.peer_certificates:
            self.peer_certificates = result.peer_certificates
        self.security = result.security_parameters()
        self._exporter = exporter_for(self.security)
        self.epochs.append(self.security)
        self.handshakes += 1
        if len(self.epochs) > MAX_EPOCHS_KEPT:
            del self.epochs[1]
        keylog = self._keylog_writer()
        if keylog is not None:
            keylog.client_random(n.client_random, result.master_secret)
        self._split_writes = self.config.split_cbc_records and record_splitting_applies(n.suite, n.version)
        self._publish(n, result.peer_certificates, extended_master_secret=n.extended_master_secret,
                      encrypt_then_mac=n.encrypt_then_mac, renegotiation=renegotiation)

    def _handshake_finished13(self, result: Tls13Result) -> None:
        """TLS 1.3 Finished verified (RFC 9846 §4.4.4): publish the secrets, the event, the held data."""
        n = result.negotiated
        self.handshake_complete = True
        self.negotiated_version = int(n.version)
        if result.peer_certificates:
            self.peer_certificates = result.peer_certificates
        self.tls13_secrets = result.secrets
        if result.secrets.exporter_master_secret:  # RFC 9846 §7.5
            self._exporter = Tls13Exporter(n.suite.prf_hash, result.secrets.exporter_master_secret)
        self._key_update_at = self.config.key_update_after or key_update_limit(n.suite)
        self._padding_block = self.config.record_padding or 0
        self._publish(n, result.peer_certificates, extended_master_secret=False, encrypt_then_mac=False,
                      hello_retry=result.hello_retry, early_data_accepted=n.early_data_accepted)

    def _publish(
        self, n: Negotiated, peer_certificates: list[x509.Certificate], *, extended_master_secret: bool,
        encrypt_then_mac: bool, renegotiation: bool = False, hello_retry: bool = False,
        early_data_accepted: bool = False,
    ) -> None:
        """The end of every handshake: the HandshakeComplete event, the last flight, the data held meanwhile."""
        self.handshake_info = HandshakeComplete(
            version=int(n.version),
            cipher_suite=n.suite,
            alpn=n.alpn,
            server_name=n.server_name,
            resumed=n.resumed,
            extended_master_secret=extended_master_secret,
            encrypt_then_mac=encrypt_then_mac,
            key_exchange_group=n.key_exchange_group,
            peer_certificates=tuple(peer_certificates),
            renegotiation=renegotiation,
            hello_retry=hello_retry,
            early_data_accepted=early_data_accepted,
        )
        self._events.append(self.handshake_info)
        self._flush_handshake()
        self._send_held_data()


#: What Connection does with each output a handshake step returns (handshake/outputs.py), by its type.
_CARRY_OUT: dict[type, Callable[[Connection, Any], None]] = {
    SendHandshake: Connection._carry_send_handshake,
    RecordVersion: Connection._carry_record_version,
    InstallPendingKeys: Connection._carry_install_pending_keys,
    ActivateWriteKeys: Connection._send_change_cipher_spec,
    ActivateReadKeys: Connection._activate_read_pending,
    RecordLimits: Connection._carry_record_limits,
    SendWarning: Connection._carry_send_warning,
    HandshakeDone: Connection._carry_handshake_done,
    InstallTrafficKeys: Connection._carry_install_traffic_keys,
    SendCompatChangeCipherSpec: Connection._carry_compat_change_cipher_spec,
    PeerAuthenticated: Connection._carry_peer_authenticated,
    LogSecret: Connection._carry_log_secret,
    StartEarlyData: Connection._carry_start_early_data,
    EndEarlyData: Connection._carry_end_early_data,
    SkipEarlyData: lambda conn, output: conn.read_state.skip_failing_records(output.limit),
    EarlyExporter: lambda conn, output: setattr(conn, "_early_exporter", Tls13Exporter(output.hash_name, output.secret)),
}

__all__ = ["MAX_EMPTY_RECORDS_IN_A_ROW", "MAX_EPOCHS_KEPT", "MAX_WARNING_ALERTS_IN_A_ROW", "Connection", "HandshakeType"]
