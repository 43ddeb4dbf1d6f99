"""The TLS 1.0-1.2 client handshake (RFC 5246 §7.3 Figures 1-2): :class:`ClientHandshake`, driving the states of
:mod:`~tlsstate.handshake.client_states` through the table of :mod:`~tlsstate.handshake.states`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tlsstate.handshake.client_states import ClientConnected, ClientStart, ClientWaitServerHello, session_key
from tlsstate.handshake.machine import Handshake
from tlsstate.handshake.outputs import Output
from tlsstate.handshake.states import REFUSED, START
from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import ConfigurationError
from tlsstate.wire.messages import RawHandshake

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig


class ClientHandshake(Handshake):
    """Client side: sends the ClientHello, then follows the server's flight."""

    __slots__ = ()

    def __init__(self, config: TLSConfig) -> None:
        super().__init__(config, ClientStart())

    def start(self) -> list[Output]:
        """Send the ClientHello (RFC 5246 §7.4.1.2); called once, in :class:`ClientStart`."""
        state = self.state
        assert isinstance(state, ClientStart)
        self._enter(START, state.start(self.context))
        return self.take_outputs()

    def offer_early_data(self, size: int) -> None:
        """Before :meth:`start`: the application queued ``size`` bytes of 0-RTT data in all (RFC 9846 §4.2.10); the
        ClientHello offers early_data when the resumed ticket allows that much."""
        if not isinstance(self.state, ClientStart):
            raise ConfigurationError("early data must be queued before the handshake starts (RFC 9846 §4.2.10)")
        self.context.early_data_size = size

    def renegotiate(self) -> list[Output]:
        """Start a secure renegotiation (RFC 5746 §3.5) from :class:`ClientConnected`."""
        state = self.state
        if not isinstance(state, ClientConnected):
            raise ConfigurationError(f"cannot renegotiate in {self.state_name}: a handshake is in progress")
        self._enter(START, state.renegotiate(self.context))
        return self.take_outputs()

    def renegotiation_refused(self) -> list[Output]:
        """The server answered our renegotiating ClientHello with the warning no_renegotiation (RFC 5746 §4.2): we
        carry on in the current epoch."""
        state, previous = self.state, self.context.renegotiation
        if isinstance(state, ClientWaitServerHello) and previous is not None:
            self._enter(REFUSED, ClientConnected(previous))
        return self.take_outputs()

    def handle_message(self, raw: RawHandshake) -> list[Output]:
        """RFC 5246 §7.4.1.1: a HelloRequest during a handshake is ignored (and never hashed)."""
        if raw.msg_type == HandshakeType.HELLO_REQUEST and not self.state.connected:
            return []
        return super().handle_message(raw)

    def forget_session(self) -> None:
        """After a fatal error, the offered/used session must not be resumed (RFC 5246 §7.2)."""
        config = self.context.config
        store, key = config.session_store, session_key(config)
        if store is not None and key is not None:
            store.remove(key)


__all__ = ["ClientHandshake"]
