"""TLS 1.3 0-RTT and PSK modes against hostile peers (RFC 9846 §4.2.9, §4.2.10, §4.5, §8), in memory: each case
(``tests/hostile/cases.py`` TLS13_SERVER_CASES / TLS13_CLIENT_TABLE, the README tables) ends with the alert RFC 9846
names, or (``accepted``) the handshake completes with the early data rejected and the application told so.

A first handshake gives our client a ticket allowing early data; the second connection sends early data, and the
hostile part is sealed here under the secrets our client logged (its key log writer keeps them in memory).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.events import ApplicationData, HandshakeComplete
from tlsstate.handshake.tls13 import server as tls13_server
from tlsstate.sessions.cache import SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ContentType, ExtensionType, NamedGroup
from tlsstate.wire.messages import Extension, Finished, ServerHello, encode_handshake
from tlsstate.wire.messages13 import EndOfEarlyData, NewSessionTicket13

from .cases import ACCEPTED
from .test_tls13_hostile import (
    CLIENT,
    SERVER,
    SecretsLog,
    _client_hello_parts,
    _sealed,
    _sh_extension,
    configs,
    connected,
    drain,
    ends_with,
    feed,
    hostile_client_hello,
    record,
    records,
)

EARLY = b"GET /early HTTP/1.1\r\n\r\n"


def _ticketed(max_early_data: int = 100, **client_kw: Any) -> tuple[TLSConfig, TLSConfig, SecretsLog]:
    """A client holding a ticket from a first handshake with a server that allows ``max_early_data`` bytes of early
    data; its key log keeps the secrets of the next connection."""
    log = SecretsLog()
    client_cfg, server_cfg = configs(session_store=SessionStore(), keylog=log, **client_kw)
    server_cfg.ticket_keys, server_cfg.max_early_data = TicketKeys(), max_early_data
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    _run(client, server)
    assert client_cfg.session_store is not None
    session = client_cfg.session_store.lookup("localhost")
    assert session is not None and session.max_early_data == max_early_data
    return client_cfg, server_cfg, log


def _run(client: Connection, server: Connection) -> tuple[list[object], list[object]]:
    client_events: list[object] = []
    server_events: list[object] = []
    for _ in range(5):
        feed(server, client.bytes_to_send())
        server_events += drain(server)
        feed(client, server.bytes_to_send())
        client_events += drain(client)
    return client_events, server_events


def _early_client(client_cfg: TLSConfig, data: bytes = EARLY) -> Connection:
    client = Connection(client_cfg, server_side=False)
    client.send_early_data(data)
    client.start_handshake()
    return client


def _early_records(data: bytes) -> int:
    return sum(1 for r in records(data) if r[0] == ContentType.APPLICATION_DATA)


# ------------------------------------------------------------------------------- hostile clients, our server


def test_server_refuses_early_data_over_its_limit() -> None:
    """The ticket allows 100 bytes; the client sends them, then one more early record (§4.2.10)."""
    client_cfg, server_cfg, log = _ticketed(100)
    client = _early_client(client_cfg, bytes(100))
    first = client.bytes_to_send()
    extra = _sealed(log.secrets["CLIENT_EARLY_TRAFFIC_SECRET"], ContentType.APPLICATION_DATA, b"x", seq=1)
    ends_with(Connection(server_cfg, server_side=True), first + extra, SERVER["tls13-0rtt-over-limit"])


def test_server_stops_skipping_rejected_early_data_past_the_limit() -> None:
    """Early data rejected (the server now allows none): it skips 16384 bytes, not one more (§4.2.10)."""
    client_cfg, server_cfg, _ = _ticketed(20000)
    server_cfg.max_early_data = 0
    client = _early_client(client_cfg, bytes(16385))
    ends_with(Connection(server_cfg, server_side=True), client.bytes_to_send(), SERVER["tls13-0rtt-rejected-over-limit"])


def test_server_bounds_empty_early_records() -> None:
    """Empty records cost a decryption each and deliver nothing: accepted, the 33rd empty early record in a row is
    unexpected_message (as any empty records); rejected, each skipped record counts at least one byte."""
    client_cfg, server_cfg, log = _ticketed()
    client = _early_client(client_cfg)
    secret = log.secrets["CLIENT_EARLY_TRAFFIC_SECRET"]
    empties = b"".join(_sealed(secret, ContentType.APPLICATION_DATA, b"", seq=i) for i in range(1, 34))
    ends_with(Connection(server_cfg, server_side=True), client.bytes_to_send() + empties,
              SERVER["tls13-0rtt-empty-records"])
    server_cfg.max_early_data = 0  # rejected from now on: skipped, 16384 records at most
    client = _early_client(client_cfg, b"x")
    garbage = record(ContentType.APPLICATION_DATA, bytes(17)) * 16385
    ends_with(Connection(server_cfg, server_side=True), client.bytes_to_send() + garbage,
              SERVER["tls13-0rtt-rejected-empty-records"])


def test_server_refuses_finished_without_end_of_early_data() -> None:
    """Early data accepted, then a Finished under the early traffic key where EndOfEarlyData belongs (§4.5)."""
    client_cfg, server_cfg, log = _ticketed()
    client = _early_client(client_cfg)
    finished = _sealed(log.secrets["CLIENT_EARLY_TRAFFIC_SECRET"], ContentType.HANDSHAKE,
                       encode_handshake(Finished(bytes(32))), seq=1)
    ends_with(Connection(server_cfg, server_side=True), client.bytes_to_send() + finished,
              SERVER["tls13-0rtt-finished-without-eoed"])


def test_server_refuses_end_of_early_data_with_a_body() -> None:
    client_cfg, server_cfg, log = _ticketed()
    client = _early_client(client_cfg)
    bad = _sealed(log.secrets["CLIENT_EARLY_TRAFFIC_SECRET"], ContentType.HANDSHAKE, b"\x05\x00\x00\x01\x00", seq=1)
    ends_with(Connection(server_cfg, server_side=True), client.bytes_to_send() + bad, SERVER["tls13-0rtt-eoed-not-empty"])


def test_server_refuses_end_of_early_data_it_did_not_accept() -> None:
    """Early data rejected: an EndOfEarlyData under the client handshake key is out of place (§4.5)."""
    client_cfg, server_cfg, log = _ticketed()
    server_cfg.max_early_data = 0
    client, server = _early_client(client_cfg), Connection(server_cfg, server_side=True)
    feed(server, client.bytes_to_send())
    assert drain(server) == []
    feed(client, server.bytes_to_send())
    drain(client)  # the client derives (and logs) its handshake traffic secret
    eoed = _sealed(log.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], ContentType.HANDSHAKE,
                   encode_handshake(EndOfEarlyData()))
    ends_with(server, eoed, SERVER["tls13-0rtt-eoed-not-accepted"])


def test_server_refuses_client_hello_early_data_with_a_body() -> None:
    data, server = hostile_client_hello(lambda h: dataclasses.replace(
        h, extensions=(*(h.extensions or ()), Extension(ExtensionType.EARLY_DATA, b"\x00"))))
    ends_with(server, data, SERVER["tls13-ch-early-data-not-empty"])


@pytest.mark.parametrize("case_id", ["tls13-0rtt-ticket-reused", "tls13-0rtt-replayed-client-hello"])
def test_second_use_of_a_ticket_gets_no_early_data(case_id: str) -> None:
    """Single-use tickets (§8.1): the same ticket again (our client made to reuse it), or the same ClientHello and
    early data replayed to the server: the early data is rejected and skipped; the handshake goes on (and a real
    client completes it, told its early data was not delivered)."""
    assert SERVER[case_id] == ACCEPTED
    client_cfg, server_cfg, _ = _ticketed()
    assert client_cfg.session_store is not None
    ticket = client_cfg.session_store.lookup("localhost")
    assert ticket is not None
    client, server = _early_client(client_cfg), Connection(server_cfg, server_side=True)
    flight = client.bytes_to_send()
    feed(server, flight)
    first_events = drain(server)
    assert first_events == [ApplicationData(EARLY, early_data=True)]
    if case_id == "tls13-0rtt-replayed-client-hello":
        replay = Connection(server_cfg, server_side=True)
        feed(replay, flight)
        assert drain(replay) == []  # no early data delivered, no error: the server flight is out
        assert replay.handshake_state == "ServerWaitFinished13" and replay.bytes_to_send()
        return
    client_cfg.session_store.store("localhost", ticket)  # the same ticket once more
    again, server = _early_client(client_cfg), Connection(server_cfg, server_side=True)
    client_events, server_events = _run(again, server)
    done = [e for e in client_events if isinstance(e, HandshakeComplete)]
    assert done and done[0].resumed and not done[0].early_data_accepted and again.early_data_status == "rejected"
    assert not [e for e in server_events if isinstance(e, ApplicationData)]


def test_early_data_rejected_by_hello_retry_request() -> None:
    """The server wants another group: HelloRetryRequest, the early records skipped in the clear, the handshake
    completes on ClientHello2 (§4.2.10); the client learns its early data was not taken."""
    assert SERVER["tls13-0rtt-hello-retry"] == ACCEPTED
    client_cfg, server_cfg, _ = _ticketed(groups=[NamedGroup.X25519, NamedGroup.SECP256R1])
    server_cfg.groups = [NamedGroup.SECP256R1]
    client = _early_client(client_cfg)
    client_events, server_events = _run(client, Connection(server_cfg, server_side=True))
    done = [e for e in client_events if isinstance(e, HandshakeComplete)]
    assert done and done[0].hello_retry and done[0].resumed and not done[0].early_data_accepted
    assert client.early_data_status == "rejected" and not [e for e in server_events if isinstance(e, ApplicationData)]


def test_server_refuses_early_data_in_second_client_hello() -> None:
    client_cfg, server_cfg, _ = _ticketed(groups=[NamedGroup.X25519, NamedGroup.SECP256R1])
    server_cfg.groups = [NamedGroup.SECP256R1]
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    feed(server, client.bytes_to_send())
    drain(server)
    feed(client, server.bytes_to_send())
    drain(client)
    second, _ = _client_hello_parts(client)
    assert second.extensions is not None
    with_early = dataclasses.replace(second, extensions=(ext.build_empty(ExtensionType.EARLY_DATA), *second.extensions))
    ends_with(server, record(22, encode_handshake(with_early)), SERVER["tls13-ch2-early-data"])


def test_psk_ke_only_client_gets_full_handshake_from_dhe_only_server() -> None:
    """The client offers psk_ke alone, the server allows psk_dhe_ke alone: no PSK in common, a full handshake
    (§4.2.9)."""
    assert SERVER["tls13-psk-ke-not-allowed"] == ACCEPTED
    client_cfg, server_cfg, _ = _ticketed()
    client_cfg.psk_key_exchange_modes = (ext.PSK_KE,)
    client_events, _ = _run(*_pair(client_cfg, server_cfg))
    done = [e for e in client_events if isinstance(e, HandshakeComplete)]
    assert done and not done[0].resumed and done[0].key_exchange_group is not None


def _pair(client_cfg: TLSConfig, server_cfg: TLSConfig) -> tuple[Connection, Connection]:
    client = Connection(client_cfg, server_side=False)
    client.start_handshake()
    return client, Connection(server_cfg, server_side=True)


# ------------------------------------------------------------------------------- our client, hostile servers


def _with_early_data_extension(ctx: Any, n: Any, offer: Any) -> list[Extension]:
    return [ext.build_empty(ExtensionType.EARLY_DATA)]


@pytest.mark.parametrize(("case_id", "resume"), [
    ("tls13-ee-early-data-not-offered", False), ("tls13-ee-early-data-without-psk", True),
])
def test_client_refuses_early_data_it_cannot_have(case_id: str, resume: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """EncryptedExtensions says early_data: unoffered (unsupported_extension), or offered but the server resumes no
    PSK (illegal_parameter, §4.2.10)."""
    client_cfg, server_cfg, _ = _ticketed()
    if resume:
        server_cfg.ticket_keys = TicketKeys()  # the server forgot the ticket: a full handshake
        client = _early_client(client_cfg)
    else:
        client_cfg.session_store = None
        client, _ = _pair(client_cfg, server_cfg)
    server = Connection(server_cfg, server_side=True)
    with monkeypatch.context() as patch:
        patch.setattr(tls13_server, "_encrypted_extensions", _with_early_data_extension)
        feed(server, client.bytes_to_send())
        drain(server)
    ends_with(client, server.bytes_to_send(), CLIENT[case_id])


def _resumed_flight(client_cfg: TLSConfig, server_cfg: TLSConfig, client: Connection) -> tuple[ServerHello, bytes]:
    server = Connection(server_cfg, server_side=True)
    feed(server, client.bytes_to_send())
    drain(server)
    first, *rest = records(server.bytes_to_send())
    hello = ServerHello.parse(first[9:])
    assert ext.find_extension(hello.extensions, ExtensionType.PRE_SHARED_KEY) is not None
    return hello, b"".join(rest)


def test_client_refuses_early_data_in_server_hello() -> None:
    client_cfg, server_cfg, _ = _ticketed()
    client = _early_client(client_cfg)
    hello, rest = _resumed_flight(client_cfg, server_cfg, client)
    forged = _sh_extension(hello, ext.build_empty(ExtensionType.EARLY_DATA), ExtensionType.EARLY_DATA)
    ends_with(client, record(22, encode_handshake(forged)) + rest, CLIENT["tls13-sh-early-data"])


def test_client_refuses_psk_ke_it_did_not_offer() -> None:
    """A resumed ServerHello without key_share is psk_ke, which our client (psk_dhe_ke only) did not offer."""
    client_cfg, server_cfg, _ = _ticketed()
    client = Connection(client_cfg, server_side=False)
    client.start_handshake()
    hello, rest = _resumed_flight(client_cfg, server_cfg, client)
    forged = _sh_extension(hello, None, ExtensionType.KEY_SHARE)
    ends_with(client, record(22, encode_handshake(forged)) + rest, CLIENT["tls13-sh-psk-ke-not-offered"])


@pytest.mark.parametrize(("case_id", "message"), [
    ("tls13-end-of-early-data-from-server", encode_handshake(EndOfEarlyData())),
    ("tls13-nst-early-data-bad-length", encode_handshake(NewSessionTicket13(
        60, 1, b"", b"ticket", (Extension(ExtensionType.EARLY_DATA, b"\x00\x01"),)))),
])
def test_client_refuses_hostile_early_data_message(case_id: str, message: bytes) -> None:
    client, server = connected(session_store=SessionStore())
    ends_with(client, server.write_state.seal(22, 0x0303, message), CLIENT[case_id])


def test_early_data_needs_a_client_before_its_hello() -> None:
    """send_early_data is for a client, before start_handshake (ConfigurationError, not a protocol error)."""
    from tlsstate.wire.errors import ConfigurationError

    client_cfg, server_cfg, _ = _ticketed()
    client, server = _pair(client_cfg, server_cfg)
    with pytest.raises(ConfigurationError):
        client.send_early_data(b"late")
    with pytest.raises(ConfigurationError):
        server.send_early_data(b"server")
