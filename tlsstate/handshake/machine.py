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
from tlsstate.handshake.transcript import Transcript
from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.messages import RawHandshake, parse_message

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

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
            if covers is not None:
                ctx.covered = covers(ctx.transcript)
            ctx.transcript.add(raw.raw)
        self._enter(raw.msg_type, state.handle(ctx, msg))
        return self.take_outputs()

    def handle_change_cipher_spec(self) -> list[Output]:
        """A ChangeCipherSpec record (RFC 5246 §7.1): allowed only where the table says."""
        state = self.state
        check_input(type(state), CCS)
        self._enter(CCS, state.handle_change_cipher_spec(self.context))
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
