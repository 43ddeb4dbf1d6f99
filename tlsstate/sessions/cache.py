"""Session-ID resumption state (RFC 5246 §7.3, §7.4.1.2-§7.4.1.3, §F.1.4).

- :class:`Session` is what both peers keep to resume: the master secret and the parameters it was
  made with (version, suite, extended master secret flag, RFC 7627 §5.3).
- :class:`SessionCache` is the server side: bounded (least recently used evicted first) and with an
  expiry (RFC 5246 §F.1.4 suggests an upper limit of 24 hours).
- :class:`SessionStore` is the client side: one session per (server name, port-or-label) key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Session:
    """A resumable session. The master secret never appears in the repr."""

    session_id: bytes
    version: int
    cipher_suite: int
    master_secret: bytes = field(repr=False)
    extended_master_secret: bool
    server_name: str | None = None
    alpn: str | None = None
    peer_certificates: tuple[bytes, ...] = field(default=(), repr=False)
    #: Client: the server's RFC 5077 ticket for this session (offered in the SessionTicket extension); TLS 1.3: the
    #: NewSessionTicket's ticket, offered as the PSK identity (RFC 9846 §4.6.1), ``master_secret`` then being the PSK.
    ticket: bytes = field(default=b"", repr=False)
    created: float = field(default_factory=time.monotonic)
    #: TLS 1.3 client: ticket_lifetime (seconds) and ticket_age_add of the NewSessionTicket (RFC 9846 §4.6.1).
    ticket_lifetime: int = 0
    ticket_age_add: int = field(default=0, repr=False)
    #: TLS 1.3: the ticket's max_early_data_size (RFC 9846 §4.6.1 early_data extension): how much 0-RTT data may be
    #: sent when resuming it (0: none).
    max_early_data: int = 0


class SessionCache:
    """Server session cache: at most ``max_size`` sessions, each valid for ``lifetime`` seconds.

    Beyond ``max_size`` the least recently used session goes: storing a session or resuming it
    (a :meth:`lookup` hit) makes it the most recently used. ``evictions`` counts the sessions pushed out
    by the cap. Thread-safe, so one cache (and its cap) serves a whole multi-threaded server.
    """

    def __init__(
        self, max_size: int = 1024, lifetime: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_size < 1 or lifetime <= 0:
            raise ValueError("session cache needs max_size >= 1 and lifetime > 0")
        self.max_size = max_size
        self.lifetime = lifetime
        self._clock = clock
        self._sessions: OrderedDict[bytes, tuple[float, Session]] = OrderedDict()
        self._lock = threading.Lock()
        self.evictions = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        """Whether a session with this ID is held (expired or not); does not count as a use."""
        with self._lock:
            return session_id in self._sessions

    def store(self, session: Session) -> None:
        """Remember a session under its ID, evicting the least recently used beyond ``max_size``."""
        if not session.session_id:
            return
        with self._lock:
            self._sessions.pop(session.session_id, None)
            self._sessions[session.session_id] = (self._clock(), session)
            while len(self._sessions) > self.max_size:
                self._sessions.popitem(last=False)
                self.evictions += 1

    def lookup(self, session_id: bytes) -> Session | None:
        """The session with this ID if present and not expired (an expired one is dropped); a hit is a use."""
        if not session_id:
            return None
        with self._lock:
            entry = self._sessions.get(session_id)
            if entry is None:
                return None
            stored_at, session = entry
            if self._clock() - stored_at > self.lifetime:
                del self._sessions[session_id]
                return None
            self._sessions.move_to_end(session_id)
            return session

    def remove(self, session_id: bytes) -> None:
        """Forget a session (e.g. after a fatal alert on a connection using it, RFC 5246 §7.2)."""
        with self._lock:
            self._sessions.pop(session_id, None)


class SessionStore:
    """Client session store: the last session per server key (usually the server name)."""

    def __init__(self, max_size: int = 256) -> None:
        self.max_size = max_size
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def store(self, key: str, session: Session) -> None:
        """Remember ``session`` for ``key``."""
        if not session.session_id and not session.ticket:
            return
        with self._lock:
            self._sessions.pop(key, None)
            self._sessions[key] = session
            while len(self._sessions) > self.max_size:
                self._sessions.popitem(last=False)

    def lookup(self, key: str) -> Session | None:
        """The session to offer to ``key``, if any."""
        with self._lock:
            return self._sessions.get(key)

    def remove(self, key: str) -> None:
        """Forget the session for ``key``."""
        with self._lock:
            self._sessions.pop(key, None)
