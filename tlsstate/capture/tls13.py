"""TLS 1.3 in a capture (RFC 8446): traffic secrets from the key log, traffic keys, record protection switches.

Each direction moves early (0-RTT) → handshake → application traffic secret N (KeyUpdate: N + 1, §4.6.3, §7.2);
the keys are ``traffic_key_and_iv`` of :mod:`tlsstate.crypto.schedule13` and records are opened by
:class:`~tlsstate.record.HalfConnection` in TLS 1.3 mode (inner content type, padding; §5.2, §5.4). Both Finished
messages are checked against the transcript (§4.4.4), so a verified connection proves the rebuilt handshake.
These are functions of the connection follower, seen through :class:`Tls13Host` (this module does not import
:mod:`tlsstate.capture.session`), kept apart from the TLS ≤ 1.2 key path (:mod:`tlsstate.capture.tls12`).
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
from typing import Protocol

from tlsstate.capture.keysource import KeySource
from tlsstate.capture.stream import DirectionState
from tlsstate.capture.trace import Cause, Derivation
from tlsstate.crypto.schedule13 import finished_verify_data, next_traffic_secret, traffic_key_and_iv
from tlsstate.crypto.suites import CipherSuite
from tlsstate.record import HalfConnection, Record
from tlsstate.record.keying import tls13_protection_for
from tlsstate.record.protection import RecordProtection
from tlsstate.wire.constants import ContentType, ExtensionType, HandshakeType, ProtocolVersion
from tlsstate.wire.errors import TLSError
from tlsstate.wire.extensions import parse_alpn_selected
from tlsstate.wire.messages import RawHandshake, ServerHello

__all__ = ["DRAFTS", "PRE_RFC_VERSION_PREFIXES", "Tls13Host", "activate", "draft_number", "draft_unsupported",
           "handshake_message", "missing_secret", "open_client_record", "parse_draft_server_hello", "start_client",
           "start_server"]

TLS13 = int(ProtocolVersion.TLS1_3)

# TLS 1.3 drafts decrypted (version 0x7f00 + N), differences from RFC 8446 that matter to a key-log decryption:
# - drafts 20-21: the ServerHello is version, random, cipher_suite, extensions (no legacy_session_id_echo
#   or compression method; both came back in draft-22, with the version moved to supported_versions);
# - drafts 20-24: the AEAD additional data is empty (draft-ietf-tls-tls13-24 §5.2); the record header is the
#   additional data from draft-25 on (RFC 8446 §5.2);
# - from draft-20 on the HKDF-Expand-Label prefix is "tls13 " as in the RFC (drafts before 20 used "TLS 1.3, "
#   and are not supported), so traffic keys, IVs, Finished keys and KeyUpdate secrets derive as in RFC 8446.
# draft-20 is checked against tshark (Wireshark test suite, tls13-20-chacha20poly1305.pcap).
DRAFTS = range(20, 29)
DRAFT_SERVER_HELLO = (20, 21)
FIRST_DRAFT_WITH_HEADER_AAD = 25
DRAFT_VERSION_PREFIX = 0x7F  # draft-ietf-tls-tls13-N is version 0x7f00 + N
#: First byte of the pre-RFC TLS 1.3 versions: the IETF drafts (0x7fNN) and vendor experiments (0xfeNN).
PRE_RFC_VERSION_PREFIXES = (DRAFT_VERSION_PREFIX, 0xFE)


def draft_number(version: int) -> int | None:
    """N for a decrypted draft version 0x7f00 + N (N in :data:`DRAFTS`), else None."""
    if version >> 8 == DRAFT_VERSION_PREFIX and version & 0xFF in DRAFTS:
        return version & 0xFF
    return None


def draft_unsupported(version: int) -> str:
    """Why a pre-RFC TLS 1.3 version outside :data:`DRAFTS` is not decrypted."""
    return f"TLS 1.3 draft version 0x{version:04x} (draft-{version & 0xFF}) is not supported"


class Tls13Host(Protocol):
    """What the TLS 1.3 functions read and write of the connection follower."""

    early_accepted: bool | None  # the server's EncryptedExtensions accepted 0-RTT (RFC 8446 §4.2.10); None: not read
    transcript: bytearray  # handshake messages so far (RFC 8446 §4.4.1)

    @property
    def suite(self) -> CipherSuite | None:
        """The ServerHello's cipher suite."""

    @property
    def version(self) -> int | None:
        """The negotiated version (0x0304 for TLS 1.3 and its drafts)."""

    @property
    def draft(self) -> int | None:
        """The TLS 1.3 draft number, when a draft was negotiated."""

    @property
    def keys(self) -> KeySource:
        """Where secrets are looked up (the key log)."""

    @property
    def client_random(self) -> bytes:
        """ClientHello.random, the key log's index."""

    @property
    def derivation(self) -> Derivation | None:
        """The ``--explain`` record of the current handshake."""

    @property
    def early_data_offered(self) -> bool:
        """The ClientHello offered 0-RTT data (RFC 8446 §4.2.10)."""

    @property
    def client(self) -> DirectionState:
        """The client's direction."""

    @property
    def server(self) -> DirectionState:
        """The server's direction."""

    def record_finished(self, writer: str, matched: bool) -> None:
        """The result of checking a Finished message's verify_data against the rebuilt transcript."""

    def note(self, text: str) -> None:
        """A remark for the report."""

    def select_alpn(self, protocol: bytes) -> None:
        """The server selected this application protocol (RFC 7301 §3.1)."""

    def open_record(self, direction: DirectionState, record: Record) -> None:
        """Open ``record`` with the direction's current protection, then dispatch its content."""

    def log_record(self, direction: DirectionState, content_type: int, seq: int | None, length: int,
                   verdict: str, key: str, plaintext_length: int = 0, cause: Cause | None = None) -> None:
        """A ``--records`` line."""


def parse_draft_server_hello(body: bytes) -> ServerHello:
    """A draft-20/21 ServerHello (version(2) random(32) cipher_suite(2) extensions): parsed by the RFC parser
    with the two fields it lacks inserted empty (legacy_session_id_echo = <>, legacy_compression_method = 0)."""
    return ServerHello.parse(body[:34] + b"\x00" + body[34:36] + b"\x00" + body[36:])


def record_protection(session: Tls13Host, key: bytes, iv: bytes) -> RecordProtection:
    """TLS 1.3 record protection for this session's version (RFC 8446, or a draft's empty AAD)."""
    assert session.suite is not None
    if session.draft is not None and session.draft < FIRST_DRAFT_WITH_HEADER_AAD:
        name = f"{session.suite.cipher.name} (draft-{session.draft})"
        return tls13_protection_for(session.suite, key, iv, header_is_additional_data=False, name=name)
    return tls13_protection_for(session.suite, key, iv)


def logged_secret(session: Tls13Host, label: str) -> bytes | None:
    """A traffic secret of this connection from the key log (NSS label, keyed by client random)."""
    return session.keys.keylog.tls13_secret(session.client_random, label)


def protection_for(session: Tls13Host, secret: bytes, name: str) -> RecordProtection:
    """Record protection from a traffic secret: key and IV by HKDF-Expand-Label (RFC 8446 §7.3); the steps are
    recorded for ``--explain``."""
    assert session.suite is not None
    key, iv = traffic_key_and_iv(session.suite, secret)
    if session.derivation is not None and not session.derivation.has(f"{name} key"):
        line = session.keys.keylog.line_of(name, session.client_random)
        source = f"key log {name} line {line}" if line else "next_traffic_secret (KeyUpdate, RFC 8446 §7.2)"
        session.derivation.add(name, secret, source)
        session.derivation.add(f"{name} key", key, 'HKDF-Expand-Label(secret, "key", "", key_length) (RFC 8446 §7.3)')
        session.derivation.add(f"{name} iv", iv, 'HKDF-Expand-Label(secret, "iv", "", 12) (RFC 8446 §7.3)')
    return record_protection(session, key, iv)


def activate(session: Tls13Host, direction: DirectionState, label: str, phase: str, generation: int = -1) -> bool:
    """Switch ``direction`` to the traffic secret ``label`` (sequence number 0, RFC 8446 §5.3). A KeyUpdate
    generation missing from the key log is derived from the previous one (§7.2). False when no secret."""
    secret = logged_secret(session, label)
    if secret is None and generation > 0 and direction.tls13_secret is not None and session.suite is not None:
        secret = next_traffic_secret(session.suite.prf_hash, direction.tls13_secret)
    if secret is None:
        direction.lost_state(missing_secret(session, label))
        direction.tls13_phase = phase
        return False
    direction.key_source = (label, session.keys.keylog.where(label, session.client_random))
    direction.half.activate_tls13(protection_for(session, secret, label), label=label)
    direction.tls13_secret = secret
    direction.tls13_phase = phase
    direction.tls13_generation = generation
    direction.set_label(direction.half.key_label)
    direction.no_keys = False
    return True


def missing_secret(session: Tls13Host, label: str) -> Cause:
    """The cause for an epoch whose traffic secret is not in the key log; a TLS 1.3 connection with only a
    CLIENT_RANDOM line (a TLS 1.2 master secret, useless here) is named as such: a common mistake."""
    cr = session.client_random
    message = f"no {label} for client random {cr.hex()[:8]}…"
    if session.keys.keylog.master_secret(cr) is not None:
        message += " (the key log has only a CLIENT_RANDOM line for it, which TLS 1.3 does not use)"
    return Cause("missing_secret", message, label, cr.hex() or None)


def start_server(session: Tls13Host) -> None:
    """After the ServerHello the server writes under its handshake traffic secret (RFC 8446 §7.1)."""
    activate(session, session.server, "SERVER_HANDSHAKE_TRAFFIC_SECRET", "handshake")


def start_client(session: Tls13Host) -> None:
    """The client's first protected record: 0-RTT (early secret) if early data was offered, else handshake."""
    if session.suite is None:
        session.client.lost_state(Cause("mid_stream", "0-RTT data but no ServerHello: the early data cipher suite is "
                                        "unknown"))
        session.client.tls13_phase = "early"
        return
    if session.early_data_offered and logged_secret(session, "CLIENT_EARLY_TRAFFIC_SECRET") is not None:
        activate(session, session.client, "CLIENT_EARLY_TRAFFIC_SECRET", "early")
    elif session.early_data_offered:
        # 0-RTT records we cannot open; each record is tried under the handshake key (open_client_record)
        session.client.lost_state(missing_secret(session, "CLIENT_EARLY_TRAFFIC_SECRET"))
        session.client.tls13_phase = "early"
    else:
        activate(session, session.client, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "handshake")


def open_client_record(session: Tls13Host, record: Record) -> None:
    """Client records in TLS 1.3. 0-RTT records (early key) are followed by handshake-key records, with no
    EndOfEarlyData when the server rejected 0-RTT (RFC 8446 §4.2.10): a record the early key does not open is
    tried under the handshake key, and also when the early key is not in the key log."""
    direction = session.client
    if record.content_type == ContentType.CHANGE_CIPHER_SPEC:
        direction.records_ok += 1
        session.log_record(direction, record.content_type, None, len(record.fragment), "ok", "none (compatibility CCS)")
        return
    if direction.tls13_phase == "early" and session.version == TLS13:
        early_ok = False
        if direction.half.protection.protects and not direction.no_keys:
            probe = HalfConnection("client")
            probe.activate_tls13(direction.half.protection)
            probe.seq = direction.half.seq
            try:
                probe.open(record)
                early_ok = True
            except TLSError:
                pass
        if not early_ok and handshake_key_opens(session, record):
            if direction.no_keys and session.early_accepted:
                # the EndOfEarlyData we could not read (empty body) is part of the transcript (RFC 8446 §4.5)
                session.transcript += bytes((HandshakeType.END_OF_EARLY_DATA, 0, 0, 0))
            activate(session, direction, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "handshake")
    if direction.no_keys:
        direction.records_no_keys += 1
        session.log_record(direction, record.content_type, None, len(record.fragment), "no_keys",
                           direction.no_keys_reason or direction.key_label, cause=direction.no_keys_cause)
        return
    session.open_record(direction, record)


def handshake_key_opens(session: Tls13Host, record: Record) -> bool:
    """Whether the client handshake traffic key opens ``record`` as the first record under it (seq 0)."""
    secret = logged_secret(session, "CLIENT_HANDSHAKE_TRAFFIC_SECRET")
    if secret is None or session.suite is None:
        return False
    key, iv = traffic_key_and_iv(session.suite, secret)
    try:
        record_protection(session, key, iv).open(0, record.content_type, record.version, record.fragment)
    except TLSError:
        return False
    return True


def handshake_message(session: Tls13Host, direction: DirectionState, raw: RawHandshake) -> None:
    """A TLS 1.3 handshake message after the hellos: transcript, Finished checks, key switches (RFC 8446 §4, §7)."""
    t = raw.msg_type
    if t not in (HandshakeType.NEW_SESSION_TICKET, HandshakeType.KEY_UPDATE):
        if t == HandshakeType.FINISHED:
            check_finished(session, direction, raw)
        session.transcript += raw.raw
    if t == HandshakeType.ENCRYPTED_EXTENSIONS and direction is session.server:
        encrypted_extensions(session, raw.body)
    elif t == HandshakeType.FINISHED:
        if direction is session.server:
            activate(session, session.server, "SERVER_TRAFFIC_SECRET_0", "application", 0)
        else:
            activate(session, session.client, "CLIENT_TRAFFIC_SECRET_0", "application", 0)
    elif t == HandshakeType.END_OF_EARLY_DATA and direction is session.client:
        activate(session, session.client, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "handshake")
    elif t == HandshakeType.KEY_UPDATE:
        generation = direction.tls13_generation + 1
        prefix = "CLIENT" if direction is session.client else "SERVER"
        activate(session, direction, f"{prefix}_TRAFFIC_SECRET_{generation}", "application", generation)
        session.note(f"{direction.writer} KeyUpdate: generation {generation}")


def check_finished(session: Tls13Host, direction: DirectionState, raw: RawHandshake) -> None:
    """verify_data = HMAC(finished_key(sender's handshake traffic secret), Transcript-Hash(...)) (RFC 8446 §4.4.4)."""
    if session.suite is None:
        return
    label = "SERVER_HANDSHAKE_TRAFFIC_SECRET" if direction is session.server else "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
    base_key = logged_secret(session, label)
    if base_key is None:
        return
    transcript_hash = hashlib.new(session.suite.prf_hash, bytes(session.transcript)).digest()
    expected = finished_verify_data(session.suite.prf_hash, base_key, transcript_hash)
    session.record_finished(direction.writer, expected == raw.body)


def encrypted_extensions(session: Tls13Host, body: bytes) -> None:
    """The EncryptedExtensions the follower reports (RFC 8446 §4.3.1): ALPN, and early_data (0-RTT accepted);
    read leniently, a truncated list ends the reading."""
    session.early_accepted = False  # unless the early_data extension is there
    if len(body) < 2:
        return
    pos, end = 2, 2 + int.from_bytes(body[:2], "big")
    while pos + 4 <= min(end, len(body)):
        ext_type, length = struct.unpack_from(">HH", body, pos)
        if ext_type == ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION:
            with contextlib.suppress(TLSError):
                session.select_alpn(parse_alpn_selected(body[pos + 4 : pos + 4 + length]))
        elif ext_type == ExtensionType.EARLY_DATA:
            session.early_accepted = True  # RFC 8446 §4.2.10: the server accepted 0-RTT
        pos += 4 + length

