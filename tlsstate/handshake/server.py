"""The TLS 1.0-1.2 server handshake (RFC 5246 §7.3 Figures 1-2): :class:`ServerHandshake`, driving the states of
:mod:`~tlsstate.handshake.server_states` through the table of :mod:`~tlsstate.handshake.states`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsstate.handshake.machine import Handshake
from tlsstate.handshake.outputs import Output
from tlsstate.handshake.server_states import ServerConnected, ServerWaitClientHello
from tlsstate.handshake.states import REQUEST, check_input
from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import ConfigurationError
from tlsstate.wire.messages import parse_sslv2_client_hello

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig


class ServerHandshake(Handshake):
    """Server side: answers a ClientHello with a full or abbreviated handshake."""

    __slots__ = ()

    def __init__(self, config: TLSConfig) -> None:
        super().__init__(config, ServerWaitClientHello())

    def handle_sslv2_client_hello(self, record: bytes) -> list[Output]:
        """An SSLv2-format ClientHello, header included (RFC 5246 Appendix E.2, RFC 6101 Appendix E), as the
        client's first message: read as a ClientHello without extensions, and hashed into the transcript without
        its 2-byte ``msg_length`` ("the msg_length field is not considered to be a part of the handshake
        message"). We answer in TLS, never in SSLv2."""
        state, ctx = self.state, self.context
        check_input(type(state), HandshakeType.CLIENT_HELLO)
        msg = parse_sslv2_client_hello(record)
        ctx.transcript.add(record[2:])
        self._enter(HandshakeType.CLIENT_HELLO, state.handle(ctx, msg))
        return self.take_outputs()

    def request_renegotiation(self) -> list[Output]:
        """Ask the client for a secure renegotiation with a HelloRequest (RFC 5246 §7.4.1.1, RFC 5746 §4.4)."""
        state = self.state
        if not isinstance(state, ServerConnected):
            raise ConfigurationError(f"cannot ask for renegotiation in {self.state_name}: a handshake is in progress")
        self._enter(REQUEST, state.request(self.context))
        return self.take_outputs()

    def forget_session(self) -> None:
        """After a fatal error the session must not be resumed (RFC 5246 §7.2)."""
        cache, n = self.context.config.session_cache, self.context.negotiated
        if cache is not None and n is not None and n.session_id:
            cache.remove(n.session_id)


__all__ = ["ServerHandshake"]
