"""TLS 1.3 0-RTT data (RFC 9846 §2.3, §4.2.10, §4.5, §8, Appendix E.5), both roles.

Client: when the ticket it resumes allows ``max_early_data_size`` bytes and the application queued no more than that
(``Connection.send_early_data``), the ClientHello carries early_data; right after it (and the compatibility
ChangeCipherSpec, Appendix D.4) the data goes out under the client early traffic secret (:class:`StartEarlyData`).
The server's EncryptedExtensions say whether it was accepted; if so the client's second flight starts with
EndOfEarlyData under the early key (:class:`EndEarlyData`), else the data was not delivered and the application
learns it from ``HandshakeComplete.early_data_accepted``. A HelloRetryRequest rejects it too.

Server: early data is accepted (§4.2.10) only when it is configured (``max_early_data``), the client offered it, the
ticket allows it, the first PSK was chosen, the suite and ALPN are the ticket's, no HelloRetryRequest happened, the
ticket's age is fresh (§8.3) and the ticket was not used for early data before (single-use tickets, §8.1,
:class:`~tlsstate.sessions.anti_replay.SingleUseTickets`). Accepted data arrives under the client early traffic key
in :class:`ServerWaitEndOfEarlyData`, reaches the application marked as early (replayable) and is bounded by
``max_early_data`` (more is unexpected_message); EndOfEarlyData moves the client's records to its handshake key.
Rejected early data is skipped (:class:`SkipEarlyData`): records the handshake key does not open, or after a
HelloRetryRequest every protected record, up to the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from tlsstate.crypto import schedule13
from tlsstate.crypto.suites import CipherSuite
from tlsstate.handshake.common import Context, State
from tlsstate.handshake.outputs import (
    EndEarlyData,
    InstallTrafficKeys,
    SkipEarlyData,
    StartEarlyData,
)
from tlsstate.handshake.tls13.common import Schedule, Tls13State
from tlsstate.handshake.tls13.psk import PskChoice, PskOffer
from tlsstate.sessions.anti_replay import FRESHNESS_WINDOW
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ExtensionType
from tlsstate.wire.messages import ClientHello, HandshakeMessage, encode_handshake
from tlsstate.wire.messages13 import EndOfEarlyData

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

#: Rejected early data skipped when the server allows less (or none): OpenSSL's default, one full record.
MIN_SKIPPED_EARLY_DATA = 16384


def skip_limit(config: TLSConfig) -> int:
    """How much rejected early data a server skips before unexpected_message (RFC 9846 §4.2.10)."""
    return max(config.max_early_data, MIN_SKIPPED_EARLY_DATA)


def offers_early_data(resumption: PskOffer | None, size: int) -> bool:
    """Client: early data is offered for ``size`` queued bytes when the resumed ticket allows at least that much
    (RFC 9846 §4.2.10, §4.6.1). External PSKs carry no max_early_data_size here: no early data with them."""
    return resumption is not None and not resumption.external and 0 < size <= resumption.session.max_early_data


def start(ctx: Context, hello: ClientHello, resumption: PskOffer) -> None:
    """Client, the ClientHello just queued: derive and log the early secrets (§7.1); the compatibility
    ChangeCipherSpec goes right after the ClientHello when offering early data (Appendix D.4), then the early data
    under the client early traffic secret."""
    suite = resumption.suite
    schedule = Schedule.start(suite, hello.random, resumption.psk)
    secret = schedule.enter_early(ctx, schedule13.transcript_hash(suite.prf_hash, encode_handshake(hello)))
    ctx.emit(StartEarlyData(suite, secret, bool(hello.session_id) and ctx.config.middlebox_compat))


def finish(ctx: Context, *, accepted: bool) -> None:
    """Client, before its second flight: EndOfEarlyData under the early key when the server accepted (RFC 9846
    §4.5; it is part of the transcript), else close the early writer."""
    if not accepted:
        ctx.emit(EndEarlyData(b""))
        return
    data = encode_handshake(EndOfEarlyData())
    ctx.transcript.add(data)
    ctx.emit(EndEarlyData(data))


def offered(hello: ClientHello) -> bool:
    """The ClientHello carries early_data (RFC 9846 §4.2.10); its body must be empty (decode_error)."""
    found = ext.find_extension(hello.extensions, ExtensionType.EARLY_DATA)
    if found is None:
        return False
    ext.parse_empty(found.data, "early_data in a ClientHello")
    return True


def server_accepts(config: TLSConfig, hello: ClientHello, choice: PskChoice | None, suite: CipherSuite,
                   alpn: str | None) -> bool:
    """RFC 9846 §4.2.10's conditions, then anti-replay (§8): fresh ticket age, first use of the ticket. The ticket
    is recorded only when everything else holds."""
    if choice is None or choice.external or not config.max_early_data or not offered(hello):
        return False
    session = choice.session
    if not session.max_early_data or session.cipher_suite != suite.id or session.alpn != alpn:
        return False
    if choice.age_error > FRESHNESS_WINDOW:
        return False
    return config.early_data_replay.first_use(choice.identity)


def server_read_key(ctx: Context, schedule: Schedule, client_hello_hash: bytes, *, accepted: bool,
                    client_handshake_secret: bytes, hello: ClientHello) -> None:
    """The key the server opens the client's next records with: the early traffic key when early data was
    accepted, else the handshake key, skipping rejected early data when some was offered."""
    if accepted:
        schedule.install(ctx, "client", schedule.enter_early(ctx, client_hello_hash), "client early traffic secret")
        return
    schedule.install(ctx, "client", client_handshake_secret, "client handshake traffic secret")
    if offered(hello):
        ctx.emit(SkipEarlyData(skip_limit(ctx.config)))


def skip_after_hello_retry(ctx: Context, hello: ClientHello) -> None:
    """After a HelloRetryRequest, early data the first ClientHello announced is rejected: its protected records
    are dropped until the second ClientHello (RFC 9846 §4.2.10)."""
    if offered(hello):
        ctx.emit(SkipEarlyData(skip_limit(ctx.config)))


@dataclass(frozen=True)
class ServerWaitEndOfEarlyData(Tls13State):
    """We accepted early data (RFC 9846 §4.2.10): the client's records are under its early traffic key, application
    data is its 0-RTT data (at most ``max_early_data`` bytes), EndOfEarlyData ends it (§4.5)."""

    #: The state the client's handshake flight continues in (its Finished).
    waiting: State
    client_handshake_secret: bytes = field(repr=False)
    suite: CipherSuite

    reads_early_data: ClassVar[bool] = True

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """EndOfEarlyData: the client's records move to its handshake traffic key (RFC 9846 §4.5)."""
        assert isinstance(msg, EndOfEarlyData)
        ctx.emit(InstallTrafficKeys("client", self.suite, self.client_handshake_secret, "client handshake traffic secret"))
        return self.waiting

__all__ = [
    "MIN_SKIPPED_EARLY_DATA",
    "ServerWaitEndOfEarlyData",
    "finish",
    "offered",
    "offers_early_data",
    "server_accepts",
    "server_read_key",
    "skip_after_hello_retry",
    "skip_limit",
    "start",
]
