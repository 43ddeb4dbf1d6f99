"""The driver of one handshake: the current state, the table check, the transcript, and the outputs each step
returns (RFC 5246 §7.3-§7.4).

The connection calls one step at a time (``start``, :meth:`Handshake.handle_message`,
:meth:`Handshake.handle_change_cipher_spec`) and carries out the outputs it returns
(:mod:`tlsstate.handshake.outputs`); the handshake never calls back into it. When a step raises, what it
emitted before the error is still waiting in :meth:`Handshake.take_outputs` (the connection carries that out
before failing, as when the same steps ran one by one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tlsstate.handshake.common import Context, State
from tlsstate.handshake.outputs import Output
from tlsstate.handshake.states import CCS, check_input, check_next
from tlsstate.handshake.tls13 import post_auth
from tlsstate.handshake.tls13.keyupdate import Connected13
from tlsstate.handshake.transcript import Transcript
from tlsstate.wire.constants import HandshakeType, ProtocolVersion
from tlsstate.wire.errors import ConfigurationError
from tlsstate.wire.messages import RawHandshake, parse_message

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

_TLS13 = ProtocolVersion.TLS1_3

#: What a received message signs or MACs: the transcript before it (RFC 5246 §7.4.8 CertificateVerify: the
#: messages; §7.4.9 Finished: their hash, or the messages themselves in SSL 3.0, RFC 6101 §5.6.9).
_COVERED_BY: dict[int, Callable[[Transcript], bytes]] = {
    HandshakeType.CERTIFICATE_VERIFY: lambda transcript: transcript.data,
    HandshakeType.FINISHED: Transcript.finished_basis,
}


class Handshake:
    """One side's handshake: runs each input through the transition table, then the state's handler."""

    __slots__ = ("context", "state")

    def __init__(self, config: TLSConfig, initial: State) -> None:
        self.context = Context(config)
        self.state = initial

    @property
    def state_name(self) -> str:
        """The current state's class name, e.g. ``ClientWaitServerHello`` (its row in the table)."""
        return type(self.state).__name__

    def handle_message(self, raw: RawHandshake) -> list[Output]:
        """One whole handshake message from the peer; returns what the connection must do."""
        state, ctx = self.state, self.context
        check_input(type(state), raw.msg_type)
        msg = parse_message(raw, ctx.parse_context)
        if state.connected:  # a renegotiation starts a fresh transcript; a refused one is not hashed at all
            renegotiation = state.renegotiation_starts(ctx, raw.msg_type)
            if renegotiation is not None:
                ctx.restart(renegotiation)
                ctx.transcript.add(raw.raw)
        else:
            covers = _COVERED_BY.get(raw.msg_type)
            if covers is not None:  # TLS 1.3 signs and MACs Transcript-Hash (RFC 9846 §4.4.3, §4.4.4)
                ctx.covered = ctx.transcript.digest() if ctx.parse_context.version >= _TLS13 else covers(ctx.transcript)
            ctx.transcript.add(raw.raw)
        self._enter(raw.msg_type, state.handle(ctx, msg))
        return self.take_outputs()

    def handle_change_cipher_spec(self) -> list[Output]:
        """A ChangeCipherSpec record (RFC 5246 §7.1): allowed only where the table says."""
        state = self.state
        check_input(type(state), CCS)
        self._enter(CCS, state.handle_change_cipher_spec(self.context))
        return self.take_outputs()

    def key_update(self, *, request_peer: bool) -> list[Output]:
        """Send a TLS 1.3 KeyUpdate and move our direction to its next traffic secret (RFC 9846 §4.6.3); with
        ``request_peer`` the peer is asked to do the same. Only once a TLS 1.3 handshake is done."""
        state = self.state
        if not isinstance(state, Connected13):
            raise ConfigurationError("KeyUpdate needs an established TLS 1.3 connection (RFC 9846 §4.6.3)")
        self.state = state.key_update(self.context, request_peer=request_peer)
        return self.take_outputs()

    def request_client_certificate(self) -> list[Output]:
        """TLS 1.3 server: a post-handshake CertificateRequest (RFC 9846 §4.6.2)."""
        state = self.state
        if not isinstance(state, Connected13) or state.me != "server" or not state.post_handshake_auth:
            raise ConfigurationError("post-handshake authentication needs an established TLS 1.3 server connection "
                                     "whose client offered post_handshake_auth (RFC 9846 §4.2.6)")
        self.state = post_auth.request(self.context, state, state.post_handshake_exchange)
        return self.take_outputs()

    def take_outputs(self) -> list[Output]:
        """The outputs of the step that just ran (also when it raised: those emitted before the error)."""
        ctx = self.context
        outputs, ctx.outputs = ctx.outputs, []
        return outputs

    def _enter(self, received: int | str, next_state: State) -> None:
        check_next(type(self.state), received, type(next_state))
        self.state = next_state


__all__ = ["Handshake"]
