"""TLS 1.3 resumption with tickets (RFC 9846 §4.6.1, §4.2.11, §2.2): what the server puts in a NewSessionTicket,
what the client keeps and offers back, the PSK binder of both roles, and the server's choice of a PSK.

- Server: each ticket is the session sealed with the rotating ticket keys the TLS 1.2 server already has
  (:class:`~tlsstate.sessions.tickets.TicketKeys`), the resumption PSK in place of the master secret;
  ticket_age_add is derived from that PSK (so it needs no room in the ticket and no state) and the ticket's seal
  time gives the server's view of its age.
- Client: a ticket is kept as a :class:`~tlsstate.sessions.cache.Session` in the session store, with its PSK,
  lifetime, ticket_age_add and max_early_data_size, and offered as the one PSK identity of the next ClientHello, with
  the configured key exchange modes (§4.2.9: psk_dhe_ke by default, psk_ke when configured).
- Binder (§4.2.11.2): HMAC with the finished key of ``binder_key`` (res binder) over the transcript hash of the
  ClientHello up to the binders list (after a HelloRetryRequest, with message_hash and the HRR before it).
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tlsstate.crypto import schedule13
from tlsstate.crypto.schedule13 import KeySchedule13
from tlsstate.crypto.suites import CipherSuite, by_id
from tlsstate.handshake.common import require
from tlsstate.sessions.cache import Session
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import AlertDescription, ExtensionType
from tlsstate.wire.errors import DecryptError
from tlsstate.wire.messages import ClientHello, encode_handshake

if TYPE_CHECKING:
    from tlsstate.config import TLSConfig

TLS13 = 0x0304
PSK_DHE_KE = ext.PSK_DHE_KE
PSK_KE = ext.PSK_KE
MAX_TICKET_LIFETIME = 604800  # seven days (RFC 9846 §4.6.1)
#: The hash of an external PSK that names none (RFC 9846 §4.2.11).
EXTERNAL_PSK_HASH = "sha256"
#: How far the client's view of a ticket's age may differ from ours, in seconds (RFC 9846 §8.3: a small window).
AGE_TOLERANCE = 10.0


def ticket_age_add(psk: bytes) -> int:
    """The server's ticket_age_add for a ticket of this PSK: 32 bits derived from the (secret, random) PSK."""
    return int.from_bytes(hmac.digest(psk, b"tlsstate ticket_age_add", "sha256")[:4], "big")


def binder(hash_name: str, psk: bytes, transcript_hash: bytes, *, external: bool = False) -> bytes:
    """PskBinderEntry (RFC 9846 §4.2.11.2): the Finished computation with binder_key ("res binder", or "ext binder"
    for an external PSK) as base key."""
    base_key = KeySchedule13(hash_name, psk).binder_key(external)
    return schedule13.finished_verify_data(hash_name, base_key, transcript_hash)


def _truncated_hash(hash_name: str, prefix: bytes, hello: ClientHello, binder_lengths: list[int]) -> bytes:
    encoded = encode_handshake(hello)
    return schedule13.transcript_hash(hash_name, prefix + encoded[: len(encoded) - ext.binders_length(binder_lengths)])


@dataclass(frozen=True)
class PskOffer:
    """The ticket our ClientHello offers (identity 0) and what resuming it restores; or an external PSK (its
    identity in ``session.ticket``, RFC 9846 §4.2.11)."""

    session: Session = field(repr=False)
    suite: CipherSuite
    external: bool = False
    #: psk_key_exchange_modes offered with it (RFC 9846 §4.2.9), in our preference order.
    modes: tuple[int, ...] = (PSK_DHE_KE,)

    @property
    def psk(self) -> bytes:
        return self.session.master_secret


def external_session(identity: bytes, key: bytes, suite: CipherSuite) -> Session:
    """An external PSK as the session it authenticates (no certificates; RFC 9846 §4.2.11)."""
    return Session(b"", TLS13, suite.id, key, False, ticket=identity)


def ticket_to_offer(config: TLSConfig, suites: list[int]) -> PskOffer | None:
    """The external PSK when one is configured (with our first SHA-256 suite: the hash of external PSKs, RFC 9846
    §4.2.11), else the stored TLS 1.3 ticket for this server if it is still valid and its suite is one we offer."""
    if config.external_psk is not None:
        suite = next((s for s in map(by_id, suites) if s is not None and s.prf_hash == EXTERNAL_PSK_HASH), None)
        if suite is None:
            return None
        return PskOffer(external_session(*config.external_psk, suite), suite, True, config.psk_key_exchange_modes)
    store, key = config.session_store, config.session_store_key()
    if store is None or key is None:
        return None
    session = store.lookup(key)
    if session is None or session.version != TLS13 or not session.ticket or session.cipher_suite not in suites:
        return None
    if time.monotonic() - session.created > min(session.ticket_lifetime, MAX_TICKET_LIFETIME):
        return None
    suite = by_id(session.cipher_suite)
    return PskOffer(session, suite, False, config.psk_key_exchange_modes) if suite is not None else None


def with_pre_shared_key(hello: ClientHello, offer: PskOffer, prefix: bytes = b"") -> ClientHello:
    """``hello`` with psk_key_exchange_modes (the offer's) and, last, pre_shared_key offering the ticket with its
    binder (RFC 9846 §4.2.9, §4.2.11); ``prefix``: the transcript before this hello (after a HelloRetryRequest)."""
    session, hash_name = offer.session, offer.suite.prf_hash
    age_ms = int((time.monotonic() - session.created) * 1000)
    age = 0 if offer.external else (age_ms + session.ticket_age_add) % (1 << 32)  # external PSKs: 0 (§4.2.11)
    identity = ext.PskIdentity(session.ticket, age)
    length = schedule13.hash_length(hash_name)
    kept = [e for e in hello.extensions or () if e.type not in (ExtensionType.PRE_SHARED_KEY,
                                                               ExtensionType.PSK_KEY_EXCHANGE_MODES)]
    kept.append(ext.build_psk_key_exchange_modes(offer.modes))
    draft = ClientHello(hello.version, hello.random, hello.session_id, hello.cipher_suites, hello.compression_methods,
                        (*kept, ext.build_pre_shared_key_client([identity], [bytes(length)])))
    value = binder(hash_name, offer.psk, _truncated_hash(hash_name, prefix, draft, [length]), external=offer.external)
    return ClientHello(hello.version, hello.random, hello.session_id, hello.cipher_suites, hello.compression_methods,
                       (*kept, ext.build_pre_shared_key_client([identity], [value])))


@dataclass(frozen=True)
class PskChoice:
    """The server's choice of a PSK (RFC 9846 §4.2.11): the session it resumes, identity 0 of the ClientHello, and
    the key exchange mode (§4.2.9: ``dhe`` for psk_dhe_ke, else psk_ke)."""

    session: Session = field(repr=False)
    dhe: bool
    identity: bytes = field(repr=False)
    external: bool
    #: Seconds between the client's view of the ticket's age and ours (§8.3); 0 for an external PSK.
    age_error: float = 0.0


def _chosen_mode(config: TLSConfig, hello: ClientHello) -> int | None:
    """Our first psk_key_exchange_modes entry the client offers (RFC 9846 §4.2.9); None: no PSK can be used.
    pre_shared_key without psk_key_exchange_modes is missing_extension."""
    modes = ext.find_extension(hello.extensions, ExtensionType.PSK_KEY_EXCHANGE_MODES)
    require(modes is not None, "pre_shared_key without psk_key_exchange_modes (RFC 9846 §4.2.9)",
            AlertDescription.MISSING_EXTENSION)
    assert modes is not None
    offered = ext.parse_psk_key_exchange_modes(modes.data)
    return next((m for m in config.psk_key_exchange_modes if m in offered), None)


def choose_psk(config: TLSConfig, hello: ClientHello, transcript: bytes, suite: CipherSuite) -> PskChoice | None:
    """Server (RFC 9846 §4.2.11): the first offered ticket if we can open it, for a suite with the hash of ``suite``
    and a client age close to ours, whose binder is right (a wrong binder is decrypt_error), with a key exchange mode
    we both allow; None for a full handshake. pre_shared_key must be the last extension (illegal_parameter).
    ``transcript``: the handshake messages received so far, this ClientHello last (its binders end them)."""
    found = ext.find_extension(hello.extensions, ExtensionType.PRE_SHARED_KEY)
    keys = config.ticket_keys
    if found is None:
        return None
    require(hello.extensions is not None and hello.extensions[-1].type == ExtensionType.PRE_SHARED_KEY,
            "pre_shared_key is not the last ClientHello extension (RFC 9846 §4.2.11)", AlertDescription.ILLEGAL_PARAMETER)
    mode = _chosen_mode(config, hello)
    identities, binders = ext.parse_pre_shared_key_client(found.data)
    if mode is None:
        return None
    first = identities[0].identity
    covered = transcript[: len(transcript) - ext.binders_length([len(b) for b in binders])]
    if config.external_psk is not None and first == config.external_psk[0]:
        if suite.prf_hash != EXTERNAL_PSK_HASH:
            return None
        _check_binder(suite, config.external_psk[1], covered, binders[0], external=True)
        return PskChoice(external_session(*config.external_psk, suite), mode == PSK_DHE_KE, first, True)
    if keys is None:
        return None
    opened = keys.open_ticket(first)
    if opened is None or opened.session.version != TLS13:
        return None
    session = opened.session
    chosen = by_id(session.cipher_suite)
    if chosen is None or chosen.prf_hash != suite.prf_hash:
        return None
    client_age = ((identities[0].obfuscated_ticket_age - ticket_age_add(session.master_secret)) % (1 << 32)) / 1000
    age_error = abs(client_age - (keys.now() - opened.issued))
    if age_error > AGE_TOLERANCE + 1:  # the seal time has whole seconds
        return None
    _check_binder(suite, session.master_secret, covered, binders[0], external=False)
    return PskChoice(session, mode == PSK_DHE_KE, first, False, age_error)


def _check_binder(suite: CipherSuite, psk: bytes, covered: bytes, received: bytes, *, external: bool) -> None:
    """A binder that does not match the ClientHello is decrypt_error (RFC 9846 §4.2.11.2)."""
    expected = binder(suite.prf_hash, psk, schedule13.transcript_hash(suite.prf_hash, covered), external=external)
    if not hmac.compare_digest(expected, received):
        raise DecryptError("PSK binder does not match the ClientHello (RFC 9846 §4.2.11.2)")


__all__ = [
    "MAX_TICKET_LIFETIME",
    "PskChoice",
    "PskOffer",
    "binder",
    "choose_psk",
    "ticket_age_add",
    "ticket_to_offer",
    "with_pre_shared_key",
]
