"""Server resumption rules (RFC 5246 §7.4.1.2, RFC 5077 §3.4) through two in-memory connections.

A hello resuming a held session without offering its suite breaks a MUST: illegal_parameter. Every other reason
not to resume leaves a full handshake: here, a session whose suite the server no longer runs (the hostile tests
against ``serve`` cover unknown sessions and another version).
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.helpers.connections import client_config, completes, handshake, server_config
from tlsstate.crypto.suites import CipherSuite, by_name
from tlsstate.sessions.cache import SessionCache, SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire.constants import AlertDescription
from tlsstate.wire.errors import ProtocolError


def suite(name: str) -> CipherSuite:
    found = by_name(name)
    assert found is not None
    return found


AES128_SHA, AES256_GCM = suite("TLS_RSA_WITH_AES_128_CBC_SHA"), suite("TLS_RSA_WITH_AES_256_GCM_SHA384")


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_suite_no_longer_configured_gives_a_full_handshake(tickets: bool) -> None:
    cache, store, keys = SessionCache(), SessionStore(), TicketKeys() if tickets else None
    first = client_config(cipher_suites=[AES128_SHA, AES256_GCM], session_store=store, session_tickets=tickets)
    handshake(first, server_config(cipher_suites=[AES128_SHA], session_cache=cache, ticket_keys=keys))
    held = store.lookup("localhost")
    assert held is not None and held.cipher_suite == AES128_SHA.id
    # the server's configuration changed: AES128-SHA is gone; the client still offers both
    _, server, client_events, _ = handshake(first, server_config(cipher_suites=[AES256_GCM], session_cache=cache,
                                                                 ticket_keys=keys))
    done = completes(client_events)
    assert not done.resumed and done.cipher_suite == AES256_GCM
    assert server.security is not None and server.security.session_id != held.session_id


def test_suite_not_offered_is_illegal_parameter() -> None:
    """Our own client never does this (it offers a session only with its suite); a forged one does."""
    cache, store = SessionCache(), SessionStore()
    client = client_config(cipher_suites=[AES128_SHA], session_store=store, session_tickets=False)
    handshake(client, server_config(cipher_suites=[AES128_SHA, AES256_GCM], session_cache=cache))
    held = store.lookup("localhost")
    assert held is not None
    forged = SessionStore()
    forged.store("localhost", dataclasses.replace(held, cipher_suite=AES256_GCM.id))  # offered under another suite
    with pytest.raises(ProtocolError) as info:
        handshake(client_config(cipher_suites=[AES256_GCM], session_store=forged, session_tickets=False),
                  server_config(cipher_suites=[AES128_SHA, AES256_GCM], session_cache=cache))
    assert info.value.alert == AlertDescription.ILLEGAL_PARAMETER
