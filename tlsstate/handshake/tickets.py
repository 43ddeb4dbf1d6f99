"""Server session tickets (RFC 5077 §4, recommended ticket construction, with an AEAD).

A ticket is ``key_name (16) || nonce (12) || AES-256-GCM(state, aad=key_name)``: the key name picks
one of the current or previous key (rotation), the AEAD (pyca/cryptography) keeps the state secret
and authentic. The state is the session (version, suite, master secret, EMS flag, ALPN, server name)
and the time it was issued; tickets older than ``lifetime`` are refused. Any failure to open a
ticket gives None: the server then runs a full handshake (RFC 5077 §3.4), never an error.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tlsstate.handshake.session_cache import Session

_KEY_NAME_LENGTH = 16
_NONCE_LENGTH = 12
_FORMAT = 1
_HEADER = struct.Struct("!BHHBQB")  # format, version, suite, EMS, issued (unix s), master secret length


class TicketKeys:
    """The server's ticket keys: a current one (sealing) and the previous one (still opening)."""

    def __init__(self, lifetime: float = 7200.0, clock: Callable[[], float] = time.time) -> None:
        if lifetime <= 0:
            raise ValueError("ticket lifetime must be positive")
        self.lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._current = self._new_key()
        self._previous: tuple[bytes, AESGCM] | None = None

    def __repr__(self) -> str:
        return f"TicketKeys(lifetime={self.lifetime})"

    @staticmethod
    def _new_key() -> tuple[bytes, AESGCM]:
        return os.urandom(_KEY_NAME_LENGTH), AESGCM(AESGCM.generate_key(bit_length=256))

    @property
    def lifetime_hint(self) -> int:
        """NewSessionTicket.ticket_lifetime_hint in seconds (RFC 5077 §3.3)."""
        return int(self.lifetime)

    def rotate(self) -> None:
        """A new current key; the old current key still opens tickets until the next rotation."""
        with self._lock:
            self._previous, self._current = self._current, self._new_key()

    def seal(self, session: Session) -> bytes:
        """The ticket for ``session`` (RFC 5077 §4)."""
        alpn = (session.alpn or "").encode()
        name = (session.server_name or "").encode()
        state = (
            _HEADER.pack(
                _FORMAT, session.version, session.cipher_suite, int(session.extended_master_secret),
                int(self._clock()), len(session.master_secret),
            )
            + session.master_secret
            + struct.pack("!B", len(alpn)) + alpn
            + struct.pack("!H", len(name)) + name
        )
        with self._lock:
            key_name, aead = self._current
        nonce = os.urandom(_NONCE_LENGTH)
        return key_name + nonce + aead.encrypt(nonce, state, key_name)

    def open(self, ticket: bytes) -> Session | None:
        """The session inside ``ticket``, or None when it is unknown, tampered, malformed or expired."""
        if len(ticket) < _KEY_NAME_LENGTH + _NONCE_LENGTH + 16:
            return None
        key_name = ticket[:_KEY_NAME_LENGTH]
        nonce = ticket[_KEY_NAME_LENGTH : _KEY_NAME_LENGTH + _NONCE_LENGTH]
        with self._lock:
            candidates = [k for k in (self._current, self._previous) if k is not None and k[0] == key_name]
        if not candidates:
            return None
        try:
            state = candidates[0][1].decrypt(nonce, ticket[_KEY_NAME_LENGTH + _NONCE_LENGTH :], key_name)
            return self._parse(state)
        except (InvalidTag, struct.error, UnicodeDecodeError, ValueError):
            return None

    def _parse(self, state: bytes) -> Session | None:
        fmt, version, suite, ems, issued, master_length = _HEADER.unpack_from(state)
        offset = _HEADER.size
        if fmt != _FORMAT or master_length != 48:
            return None
        now = self._clock()
        if issued > now + 60 or now - issued > self.lifetime:
            return None
        master = state[offset : offset + master_length]
        offset += master_length
        (alpn_length,) = struct.unpack_from("!B", state, offset)
        alpn = state[offset + 1 : offset + 1 + alpn_length].decode()
        offset += 1 + alpn_length
        (name_length,) = struct.unpack_from("!H", state, offset)
        name = state[offset + 2 : offset + 2 + name_length].decode()
        if offset + 2 + name_length != len(state) or len(master) != 48:
            return None
        return Session(
            session_id=b"", version=version, cipher_suite=suite, master_secret=master,
            extended_master_secret=bool(ems), server_name=name or None, alpn=alpn or None,
        )
