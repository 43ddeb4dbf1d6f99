"""Property tests over the TLS 1.3 states (RFC 9846): a real ClientHello (X25519MLKEM768 + x25519 shares), the
server's whole first flight, the client's Finished, and the HelloRetryRequest road, each with a few random byte
edits and cuts. The only acceptable outcomes are progress or a typed error whose alert is never internal_error
(a bug hidden behind Connection's guard), with the alert queued for the peer.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.connections import credentials
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.wire import errors
from tlsstate.wire.constants import AlertDescription, NamedGroup, ProtocolVersion

TLS13 = ProtocolVersion.TLS1_3
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
EDITS = st.lists(st.tuples(st.integers(min_value=0, max_value=20_000), st.integers(0, 255)), min_size=1, max_size=6)
CUTS = st.one_of(st.none(), st.integers(min_value=1, max_value=4000))
SLOW = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pair(server_groups: list[NamedGroup] | None = None) -> tuple[Connection, Connection]:
    chain, key = credentials("rsa")
    client = Connection(TLSConfig(max_version=TLS13, verify=False, server_name="localhost"), server_side=False)
    server = Connection(TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key,
                                  groups=server_groups), server_side=True)
    client.start_handshake()
    return client, server


def _drain(conn: Connection) -> None:
    while conn.next_event() is not None:
        pass


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


def _outcome(conn: Connection, data: bytes) -> None:
    if data:
        conn.receive_bytes(data)
    try:
        for _ in range(20):
            if conn.next_event() is None:
                break
    except errors.ProtocolError as exc:
        assert exc.alert != AlertDescription.INTERNAL_ERROR, exc
        assert conn.bytes_to_send()  # the alert is queued
    except errors.AlertReceived:
        pass


@SLOW
@given(edits=EDITS, cut=CUTS)
def test_server_survives_a_damaged_tls13_client_hello(edits: list[tuple[int, int]], cut: int | None) -> None:
    client, server = _pair()
    _outcome(server, _mutate(client.bytes_to_send(), edits, cut))


@SLOW
@given(edits=EDITS, cut=CUTS)
def test_client_survives_a_damaged_tls13_server_flight(edits: list[tuple[int, int]], cut: int | None) -> None:
    client, server = _pair()
    server.receive_bytes(client.bytes_to_send())
    _drain(server)
    _outcome(client, _mutate(server.bytes_to_send(), edits, cut))


@SLOW
@given(edits=EDITS, cut=st.one_of(st.none(), st.integers(min_value=1, max_value=80)))
def test_server_survives_a_damaged_tls13_client_finished(edits: list[tuple[int, int]], cut: int | None) -> None:
    client, server = _pair()
    server.receive_bytes(client.bytes_to_send())
    _drain(server)
    client.receive_bytes(server.bytes_to_send())
    _drain(client)
    _outcome(server, _mutate(client.bytes_to_send(), edits, cut))


@SLOW
@given(edits=EDITS, cut=CUTS, which=st.sampled_from(["retry", "second-hello"]))
def test_both_survive_a_damaged_hello_retry_exchange(edits: list[tuple[int, int]], cut: int | None, which: str) -> None:
    """Our server takes only secp256r1: the HelloRetryRequest (to the client) or ClientHello2 (to the server)."""
    client, server = _pair([NamedGroup.SECP256R1])
    server.receive_bytes(client.bytes_to_send())
    _drain(server)
    retry = server.bytes_to_send()
    if which == "retry":
        _outcome(client, _mutate(retry, edits, cut))
        return
    client.receive_bytes(retry)
    _drain(client)
    _outcome(server, _mutate(client.bytes_to_send(), edits, cut))


# ---- 0-RTT (RFC 9846 §4.2.10): one ticket for every example, a fresh single-use store each time (so the early
# data is accepted), the resumed ClientHello with its early data, the server's answer, EndOfEarlyData + Finished

_TICKETED: list[tuple[TLSConfig, TLSConfig]] = []


def _early_pair() -> tuple[Connection, Connection]:
    import dataclasses

    from tlsstate.sessions.anti_replay import SingleUseTickets
    from tlsstate.sessions.cache import SessionStore
    from tlsstate.sessions.tickets import TicketKeys

    if not _TICKETED:
        chain, key = credentials("rsa")
        client_cfg = TLSConfig(max_version=TLS13, verify=False, server_name="localhost", session_store=SessionStore())
        server_cfg = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key,
                               ticket_keys=TicketKeys(), max_early_data=1000)
        client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
        client.start_handshake()
        for _ in range(3):
            server.receive_bytes(client.bytes_to_send())
            _drain(server)
            client.receive_bytes(server.bytes_to_send())
            _drain(client)
        _TICKETED.append((client_cfg, server_cfg))
    client_cfg, server_cfg = _TICKETED[0]
    client = Connection(client_cfg, server_side=False)
    client.send_early_data(b"early data " * 20)
    client.start_handshake()
    return client, Connection(dataclasses.replace(server_cfg, early_data_replay=SingleUseTickets()), server_side=True)


@SLOW
@given(edits=EDITS, cut=CUTS, which=st.sampled_from(["client-hello", "server-flight", "end-of-early-data"]))
def test_both_survive_a_damaged_0rtt_exchange(edits: list[tuple[int, int]], cut: int | None, which: str) -> None:
    client, server = _early_pair()
    first = client.bytes_to_send()
    if which == "client-hello":
        _outcome(server, _mutate(first, edits, cut))
        return
    server.receive_bytes(first)
    _drain(server)
    if which == "server-flight":
        _outcome(client, _mutate(server.bytes_to_send(), edits, cut))
        return
    client.receive_bytes(server.bytes_to_send())
    _drain(client)
    _outcome(server, _mutate(client.bytes_to_send(), edits, cut))
