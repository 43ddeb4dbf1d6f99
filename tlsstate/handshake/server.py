"""The TLS 1.0-1.2 server handshake (RFC 5246 §7.3 Figures 1-2): :class:`ServerHandshake`, driving the states of
:mod:`~tlsstate.handshake.server_states` through the table of :mod:`~tlsstate.handshake.states`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsstate.handshake.machine import Handshake
from tlsstate.handshake.server_states import ServerWaitClientHello

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig


class ServerHandshake(Handshake):
    """Server side: answers a ClientHello with a full or abbreviated handshake."""

    __slots__ = ()

    def __init__(self, config: TLSConfig) -> None:
        super().__init__(config, ServerWaitClientHello())

    def forget_session(self) -> None:
        """After a fatal error the session must not be resumed (RFC 5246 §7.2)."""
        cache, n = self.context.config.session_cache, self.context.negotiated
        if cache is not None and n is not None and n.session_id:
            cache.remove(n.session_id)


__all__ = ["ServerHandshake"]
