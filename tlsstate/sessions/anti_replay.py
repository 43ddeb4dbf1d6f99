"""0-RTT anti-replay on the server (RFC 9846 §8): single-use tickets (§8.1) bounded in time by the freshness check
(§8.3) and in memory by a cap.

Early data is not forward secret and may be replayed: an attacker who recorded a ClientHello with early data can send
it again. The server therefore accepts early data on a ticket at most once: :meth:`SingleUseTickets.first_use`
records the ticket and answers False for every later use, and the handshake then rejects the early data (it still
completes, §4.2.10). A ClientHello is only believed within the freshness window of its ticket age (the client's view
of the age against ours, §8.3), so an entry need only be kept for that window on each side of its use; after it a
replay fails the freshness check anyway. The store holds at most ``max_entries`` tickets: when it is full of entries
still inside their window, early data is rejected (never accepted unrecorded), as §8.2 asks of a store that cannot
keep up.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: Seconds a client's view of a ticket's age may differ from the server's for early data to be accepted (§8.3).
FRESHNESS_WINDOW = 10.0


class SingleUseTickets:
    """The tickets early data was accepted on, each kept for ``keep_for`` seconds (default: twice the freshness
    window, plus the one second the ticket seal time rounds to), at most ``max_entries`` of them. Thread-safe: one
    store serves every connection of a server configuration. Only a SHA-256 of each ticket is kept."""

    def __init__(
        self, max_entries: int = 65536, keep_for: float = 2 * FRESHNESS_WINDOW + 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or keep_for <= 0:
            raise ValueError("the anti-replay store needs max_entries >= 1 and keep_for > 0")
        self.max_entries = max_entries
        self.keep_for = keep_for
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # ticket digest -> when it may be forgotten
        self._lock = threading.Lock()
        #: Uses refused because the store was full (every entry still inside its window).
        self.refused_full = 0

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._seen)

    def _expire(self, now: float) -> None:
        seen = self._seen
        while seen:
            digest, until = next(iter(seen.items()))
            if until > now:
                return
            del seen[digest]

    def first_use(self, ticket: bytes) -> bool:
        """True the first time ``ticket`` is used for early data (it is recorded); False when it was used before
        inside its window, or when the store is full (RFC 9846 §8.1, §8.2)."""
        digest = hashlib.sha256(ticket).digest()
        with self._lock:
            now = self._clock()
            self._expire(now)
            if digest in self._seen:
                return False
            if len(self._seen) >= self.max_entries:
                self.refused_full += 1
                return False
            self._seen[digest] = now + self.keep_for  # entries expire in insertion order: one keep_for for all
            return True


__all__ = ["FRESHNESS_WINDOW", "SingleUseTickets"]
