"""After a TLS 1.3 handshake (RFC 9846 §4.6): the connected state of both roles, where KeyUpdate moves one
direction to its next traffic secret (§4.6.3, §7.2) and a client takes NewSessionTicket messages (§4.6.1).

A received KeyUpdate moves the peer's direction to ``application_traffic_secret_N+1``; with ``update_requested``
we answer with our own KeyUpdate (update_not_requested) and move our direction too. :meth:`Connected13.key_update`
sends one on the application's request. Each change is one
:class:`~tlsstate.handshake.outputs.InstallTrafficKeys` for one writer, so the other direction keeps its epoch.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import ClassVar

from tlsstate.crypto.schedule13 import next_traffic_secret, resumption_psk
from tlsstate.crypto.suites import CipherSuite
from tlsstate.handshake.common import Context, State, require
from tlsstate.handshake.outputs import InstallTrafficKeys
from tlsstate.handshake.tls13 import post_auth
from tlsstate.sessions.cache import Session
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import AlertDescription, ExtensionType
from tlsstate.wire.messages import HandshakeMessage
from tlsstate.wire.messages13 import (
    UPDATE_NOT_REQUESTED,
    UPDATE_REQUESTED,
    CertificateRequest13,
    KeyUpdate,
    NewSessionTicket13,
)


@dataclass(frozen=True)
class Connected13(State):
    """Handshake done: the suite and the current application traffic secret of each direction."""

    suite: CipherSuite
    me: str  # "client" or "server"
    write_secret: bytes = field(repr=False)
    read_secret: bytes = field(repr=False)
    write_generation: int = 0
    read_generation: int = 0
    #: Client: what a NewSessionTicket is resumed with (RFC 9846 §4.6.1): the resumption master secret and the
    #: session it belongs to (suite, SNI, ALPN, the server's chain), kept in the session store per ticket.
    resumption_master_secret: bytes = field(default=b"", repr=False)
    session: Session | None = field(default=None, repr=False)
    #: post_handshake_auth was in the ClientHello (RFC 9846 §4.2.6), and the handshake's messages (ClientHello ..
    #: client Finished) that each post-handshake authentication starts from (§4.4).
    post_handshake_auth: bool = False
    handshake_transcript: bytes = field(default=b"", repr=False)

    connected: ClassVar[bool] = True

    @property
    def peer(self) -> str:
        """The other role."""
        return "server" if self.me == "client" else "client"

    def handle(self, ctx: Context, msg: HandshakeMessage) -> State:
        """KeyUpdate (RFC 9846 §4.6.3) or, at a client, NewSessionTicket (§4.6.1; kept by the session store when
        resumption is configured, else read and dropped)."""
        if isinstance(msg, CertificateRequest13):
            require(self.me == "client", "a client sent CertificateRequest", AlertDescription.UNEXPECTED_MESSAGE)
            post_auth.answer(ctx, self.post_handshake_exchange, msg)
            return self
        if isinstance(msg, NewSessionTicket13):
            require(self.me == "client", "a client sent NewSessionTicket", AlertDescription.UNEXPECTED_MESSAGE)
            self._store_ticket(ctx, msg)
            return self
        assert isinstance(msg, KeyUpdate)
        read = next_traffic_secret(self.suite.prf_hash, self.read_secret)
        generation = self.read_generation + 1
        ctx.emit(InstallTrafficKeys(self.peer, self.suite, read, f"{self.peer} application traffic secret {generation}"))
        state = dataclasses.replace(self, read_secret=read, read_generation=generation)
        if msg.request_update == UPDATE_REQUESTED:
            return state.key_update(ctx, request_peer=False)
        return state

    @property
    def post_handshake_exchange(self) -> post_auth.Exchange:
        """What a post-handshake authentication now starts from (RFC 9846 §4.6.2, §4.4)."""
        client_secret = self.write_secret if self.me == "client" else self.read_secret
        return post_auth.Exchange(self.post_handshake_auth, self.handshake_transcript, self.suite.prf_hash, client_secret)

    def _store_ticket(self, ctx: Context, msg: NewSessionTicket13) -> None:
        """Keep the ticket and its PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", nonce) in the
        session store for the next connection (RFC 9846 §4.6.1), with the 0-RTT data it allows (early_data); a ticket
        of lifetime 0 is not kept."""
        store, key = ctx.config.session_store, ctx.config.session_store_key()
        if store is None or key is None or self.session is None or not msg.ticket_lifetime:
            return
        psk = resumption_psk(self.suite.prf_hash, self.resumption_master_secret, msg.ticket_nonce)
        found = ext.find_extension(msg.extensions, ExtensionType.EARLY_DATA)  # max_early_data_size (§4.2.10)
        early = ext.parse_early_data_ticket(found.data) if found is not None else 0
        store.store(key, dataclasses.replace(self.session, master_secret=psk, ticket=msg.ticket, created=time.monotonic(),
                                             ticket_lifetime=msg.ticket_lifetime, ticket_age_add=msg.ticket_age_add,
                                             max_early_data=early))

    def key_update(self, ctx: Context, *, request_peer: bool) -> Connected13:
        """Send KeyUpdate under the current key, then move our direction to the next secret (RFC 9846 §4.6.3)."""
        ctx.send(KeyUpdate(UPDATE_REQUESTED if request_peer else UPDATE_NOT_REQUESTED))
        write = next_traffic_secret(self.suite.prf_hash, self.write_secret)
        generation = self.write_generation + 1
        ctx.emit(InstallTrafficKeys(self.me, self.suite, write, f"{self.me} application traffic secret {generation}"))
        return dataclasses.replace(self, write_secret=write, write_generation=generation)


__all__ = ["Connected13"]
