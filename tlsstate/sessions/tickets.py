"""Server session tickets (RFC 5077 §4, recommended ticket construction, with an AEAD).

A ticket is ``key_name (16) || nonce (12) || AES-256-GCM(state, aad=key_name)``: the key name picks
the current or the previous ticket key, the AEAD (pyca/cryptography) keeps the state secret and
authentic. The state is the session (version, suite, master secret, EMS flag, ALPN, server name, the
client's certificate chain: RFC 5077 §4 "client_identity"), when this ticket was issued and when the
session was first made. Any failure to open a ticket gives None: the server then runs a full handshake
(RFC 5077 §3.4), never an error.

Key rotation is a schedule: a new key every ``rotation_interval`` seconds (counted from when the
:class:`TicketKeys` was made); the key of the previous period still opens tickets, older keys are
gone. A ticket is refused once older than ``lifetime``, and a session once older than ``max_session_age``
however often its ticket was renewed (RFC 5246 §F.1.4 suggests 24 hours).

Renewal (RFC 5077 §3.3): a ticket opened with the previous period's key, or with more than
``renew_after`` seconds of its lifetime used, should be replaced by a new one in the abbreviated
handshake (:meth:`TicketKeys.needs_renewal`).
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlsstate.sessions.cache import Session

_KEY_NAME_LENGTH = 16
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
_FORMAT = 3
# format, version, suite, EMS, issued (unix s), session created (unix s), max_early_data (TLS 1.3), master secret length
_HEADER = struct.Struct("!BHHBQQIB")
#: RFC 5077 §3.3: ``opaque ticket<0..2^16-1>``.
MAX_TICKET_LENGTH = 0xFFFF


@dataclass(frozen=True)
class OpenedTicket:
    """What a valid ticket held, and how it was sealed."""

    session: Session
    #: Unix time this ticket was sealed.
    issued: int
    #: Unix time of the full handshake that made the session (kept across renewals).
    created: int
    #: True when the key of the current rotation period sealed it.
    current_key: bool


class TicketKeys:
    """The server's ticket keys: rotated every ``rotation_interval`` seconds, one previous key kept.

    ``lifetime``: seconds a ticket is accepted (and the NewSessionTicket lifetime hint);
    ``rotation_interval``: seconds a key seals tickets (default: ``lifetime``, so that every ticket can
    be opened for its whole lifetime: it is sealed within one period and the next still opens it);
    ``renew_after``: ticket age in seconds after which a resumption gets a new ticket (default: half the
    lifetime); ``max_session_age``: seconds after the full handshake beyond which no ticket resumes it.
    """

    def __init__(
        self,
        lifetime: float = 7200.0,
        clock: Callable[[], float] = time.time,
        *,
        rotation_interval: float | None = None,
        renew_after: float | None = None,
        max_session_age: float = 86400.0,
    ) -> None:
        if lifetime <= 0:
            raise ValueError("ticket lifetime must be positive")
        interval = lifetime if rotation_interval is None else rotation_interval
        if interval <= 0:
            raise ValueError("ticket key rotation interval must be positive")
        if max_session_age <= 0:
            raise ValueError("maximum session age must be positive")
        self.lifetime = lifetime
        self.rotation_interval = interval
        self.renew_after = lifetime / 2 if renew_after is None else renew_after
        self.max_session_age = max_session_age
        self._clock = clock
        self._lock = threading.Lock()
        self._period_start = clock()
        self._current = self._new_key()
        self._previous: tuple[bytes, AESGCM] | None = None

    def __repr__(self) -> str:
        return f"TicketKeys(lifetime={self.lifetime}, rotation_interval={self.rotation_interval})"

    @staticmethod
    def _new_key() -> tuple[bytes, AESGCM]:
        return os.urandom(_KEY_NAME_LENGTH), AESGCM(AESGCM.generate_key(bit_length=256))

    def now(self) -> float:
        """The clock tickets are sealed and checked with (Unix seconds)."""
        return self._clock()

    @property
    def lifetime_hint(self) -> int:
        """NewSessionTicket.ticket_lifetime_hint in seconds (RFC 5077 §3.3)."""
        return int(self.lifetime)

    def _advance(self) -> None:
        """Follow the rotation schedule up to now (caller holds the lock)."""
        now = self._clock()
        elapsed = now - self._period_start
        if elapsed < self.rotation_interval:
            return
        periods = int(elapsed // self.rotation_interval)
        if periods == 1:
            self._previous, self._current = self._current, self._new_key()
        else:  # two or more periods without use: the current key is too old to open anything now
            self._previous, self._current = None, self._new_key()
        self._period_start += periods * self.rotation_interval

    def rotate(self) -> None:
        """Rotate now: a new current key; the old current key still opens tickets for one more period."""
        with self._lock:
            self._previous, self._current = self._current, self._new_key()
            self._period_start = self._clock()

    def seal(self, session: Session, created: float | None = None) -> bytes:
        """The ticket for ``session`` (RFC 5077 §4); ``created``: when its full handshake was (default now)."""
        now = int(self._clock())
        alpn = (session.alpn or "").encode()
        name = (session.server_name or "").encode()
        body = (
            session.master_secret
            + struct.pack("!B", len(alpn)) + alpn
            + struct.pack("!H", len(name)) + name
        )
        fixed = _KEY_NAME_LENGTH + _NONCE_LENGTH + _TAG_LENGTH + _HEADER.size + len(body)
        certificates = _encode_certificates(session.peer_certificates, MAX_TICKET_LENGTH - fixed)
        state = (
            _HEADER.pack(
                _FORMAT, session.version, session.cipher_suite, int(session.extended_master_secret),
                now, int(now if created is None else created), session.max_early_data, len(session.master_secret),
            )
            + body
            + certificates
        )
        with self._lock:
            self._advance()
            key_name, aead = self._current
        nonce = os.urandom(_NONCE_LENGTH)
        return key_name + nonce + aead.encrypt(nonce, state, key_name)

    def open(self, ticket: bytes) -> Session | None:
        """The session inside ``ticket``, or None when it is unknown, tampered, malformed or expired."""
        opened = self.open_ticket(ticket)
        return None if opened is None else opened.session

    def open_ticket(self, ticket: bytes) -> OpenedTicket | None:
        """Like :meth:`open`, with the ticket's times and whether the current key sealed it."""
        if len(ticket) < _KEY_NAME_LENGTH + _NONCE_LENGTH + _TAG_LENGTH:
            return None
        key_name = ticket[:_KEY_NAME_LENGTH]
        nonce = ticket[_KEY_NAME_LENGTH : _KEY_NAME_LENGTH + _NONCE_LENGTH]
        with self._lock:
            self._advance()
            current = self._current
            candidates = [k for k in (self._current, self._previous) if k is not None and k[0] == key_name]
        if not candidates:
            return None
        try:
            state = candidates[0][1].decrypt(nonce, ticket[_KEY_NAME_LENGTH + _NONCE_LENGTH :], key_name)
            return self._parse(state, candidates[0] is current)
        except (InvalidTag, struct.error, UnicodeDecodeError, ValueError):
            return None

    def needs_renewal(self, opened: OpenedTicket) -> bool:
        """RFC 5077 §3.3: renew a ticket sealed under the previous key or with ``renew_after`` of its life used."""
        return not opened.current_key or self._clock() - opened.issued >= self.renew_after

    def _parse(self, state: bytes, current_key: bool) -> OpenedTicket | None:
        fmt, version, suite, ems, issued, created, max_early_data, master_length = _HEADER.unpack_from(state)
        offset = _HEADER.size
        # the master secret, or in TLS 1.3 the resumption PSK of the suite's hash length (RFC 9846 §4.6.1)
        if fmt != _FORMAT or master_length not in ((32, 48) if version >= 0x0304 else (48,)):
            return None
        now = self._clock()
        if issued > now + 60 or now - issued > self.lifetime or created > issued or now - created > self.max_session_age:
            return None
        master = state[offset : offset + master_length]
        offset += master_length
        (alpn_length,) = struct.unpack_from("!B", state, offset)
        alpn = state[offset + 1 : offset + 1 + alpn_length].decode()
        offset += 1 + alpn_length
        (name_length,) = struct.unpack_from("!H", state, offset)
        name = state[offset + 2 : offset + 2 + name_length].decode()
        offset += 2 + name_length
        certificates = _decode_certificates(state, offset)
        if certificates is None or len(master) != master_length:
            return None
        session = Session(
            session_id=b"", version=version, cipher_suite=suite, master_secret=master,
            extended_master_secret=bool(ems), server_name=name or None, alpn=alpn or None,
            peer_certificates=certificates, max_early_data=max_early_data,
        )
        return OpenedTicket(session, issued, created, current_key)


def _encode_certificates(chain: tuple[bytes, ...], room: int) -> bytes:
    """``count (1) || (length (4) || DER)*``: the chain, or its leaf alone, or nothing, whatever fits ``room``."""
    for candidate in (chain[:255], chain[:1], ()):
        out = struct.pack("!B", len(candidate)) + b"".join(struct.pack("!I", len(der)) + der for der in candidate)
        if len(out) <= room:
            return out
    raise ValueError("ticket state too large")  # pragma: no cover - the fixed part is far below 64 KiB


def _decode_certificates(state: bytes, offset: int) -> tuple[bytes, ...] | None:
    """The inverse of :func:`_encode_certificates`; None when the state does not end right after it."""
    (count,) = struct.unpack_from("!B", state, offset)
    offset += 1
    chain = []
    for _ in range(count):
        (length,) = struct.unpack_from("!I", state, offset)
        der = state[offset + 4 : offset + 4 + length]
        if len(der) != length:
            return None
        chain.append(der)
        offset += 4 + length
    return tuple(chain) if offset == len(state) else None
