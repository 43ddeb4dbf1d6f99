"""Mutated flights: a server fed a damaged ClientHello, a client fed a damaged server flight.

Whatever the damage, the outcome is a typed protocol error with an alert (never internal_error, which
would mean one of our own code paths crashed), or the connection waiting for more bytes.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_connection_helpers import client_config, server_config, write_pem

from tlsstate.connection import Connection
from tlsstate.events import HandshakeComplete
from tlsstate.handshake.transcript import Transcript
from tlsstate.wire import errors
from tlsstate.wire.constants import AlertDescription


@functools.cache
def flights() -> tuple[bytes, bytes]:
    """A real ClientHello and the server's first flight answering it."""
    client = Connection(client_config(alpn_protocols=["h2"]), server_side=False)
    server = Connection(server_config(alpn_protocols=["h2"]), server_side=True)
    client.start_handshake()
    hello = client.bytes_to_send()
    server.receive_bytes(hello)
    while server.next_event() is not None:
        pass
    return hello, server.bytes_to_send()


@functools.cache
def cafile() -> str:
    """The test CA, so that damaged certificates also go through chain verification."""
    return write_pem(Path(tempfile.mkdtemp()), "rsa")[2]


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


def _outcome(conn: Connection, data: bytes) -> None:
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


#: FUZZ_EXAMPLES=4000 for a longer hunt.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
EDITS = st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), st.integers(0, 255)), min_size=1, max_size=6)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, cut=st.one_of(st.none(), st.integers(min_value=1, max_value=600)))
def test_server_survives_a_damaged_client_hello(edits: list[tuple[int, int]], cut: int | None) -> None:
    hello, _ = flights()
    _outcome(Connection(server_config(alpn_protocols=["h2"]), server_side=True), _mutate(hello, edits, cut))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=EDITS, cut=st.one_of(st.none(), st.integers(min_value=1, max_value=3000)))
def test_client_survives_a_damaged_server_flight(edits: list[tuple[int, int]], cut: int | None) -> None:
    hello, answer = flights()
    client = Connection(client_config(alpn_protocols=["h2"], verify=True, cafile=cafile()), server_side=False)
    client.start_handshake()
    client.bytes_to_send()
    # the client checks the server's answer against its own ClientHello: give it the recorded one
    client._handshake.state.hello = __import__("tlsstate.wire.messages", fromlist=["ClientHello"]).ClientHello.parse(
        hello[9:]
    )
    transcript = Transcript()
    transcript.add(hello[5:])
    client._handshake.transcript = transcript
    _outcome(client, _mutate(answer, edits, cut))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=EDITS,
    cut=st.one_of(st.none(), st.integers(min_value=1, max_value=400)),
    suite=st.sampled_from(["ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA", "ECDHE-RSA-AES256-SHA384"]),
)
def test_server_survives_a_damaged_second_client_flight(edits: list[tuple[int, int]], cut: int | None, suite: str) -> None:
    """ClientKeyExchange + ChangeCipherSpec + Finished damaged anywhere (RFC 5246 §7.4.7-§7.4.9)."""
    from tlsstate.crypto.suites import by_name

    chosen = [by_name(suite)]
    client = Connection(client_config(cipher_suites=chosen), server_side=False)
    server = Connection(server_config(cipher_suites=chosen), server_side=True)
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    while server.next_event() is not None:
        pass
    client.receive_bytes(server.bytes_to_send())
    while client.next_event() is not None:
        pass
    _outcome(server, _mutate(client.bytes_to_send(), edits, cut))


VERSION_CHOICES = [0x0300, 0x0301, 0x0302, 0x0303]
SUITE_CHOICES = ["AES128-SHA", "RC4-SHA", "AES256-SHA256", "AES128-GCM-SHA256", "AES128-CCM8",
                 "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
                 "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-SHA",
                 "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-SHA"]


def _side(draw: st.DrawFn) -> dict[str, object]:
    from tlsstate.crypto.suites import by_name

    low, high = sorted(draw(st.lists(st.sampled_from(VERSION_CHOICES), min_size=2, max_size=2)))
    return {
        "min_version": low, "max_version": high, "enable_ssl3": draw(st.booleans()),
        "cipher_suites": [by_name(n) for n in draw(st.lists(st.sampled_from(SUITE_CHOICES), min_size=1, max_size=4))],
        "groups": draw(st.lists(st.sampled_from([29, 23, 24, 25, 256, 257]), min_size=1, max_size=3, unique=True)),
        "signature_schemes": draw(
            st.lists(st.sampled_from([0x0401, 0x0804, 0x0201, 0x0403, 0x0503, 0x0203]), min_size=1, max_size=4)
        ),
        "extended_master_secret": draw(st.booleans()),
        "encrypt_then_mac": draw(st.booleans()),
        "alpn_protocols": draw(st.sampled_from([[], ["h2"], ["http/1.1", "h2"]])),
    }


@st.composite
def config_pairs(draw: st.DrawFn) -> tuple[dict[str, object], dict[str, object], str]:
    return _side(draw), _side(draw), draw(st.sampled_from(["rsa", "p256", "p384"]))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=config_pairs())
def test_any_pair_of_configurations_completes_or_fails_cleanly(pair: tuple[dict[str, object], dict[str, object], str]) -> None:  # noqa: E501
    """Random client/server settings: both sides complete with the same parameters, or one side sends an
    alert the other receives; never internal_error."""
    from test_connection_helpers import pump

    client_settings, server_settings, kind = pair
    try:
        client = Connection(client_config(**client_settings), server_side=False)
        server = Connection(server_config(kind, **server_settings), server_side=True)
    except errors.ConfigurationError:
        return
    try:
        client.start_handshake()
        client_events, server_events = pump(client, server)
    except errors.ProtocolError as exc:
        assert exc.alert != AlertDescription.INTERNAL_ERROR, exc
        return
    except errors.AlertReceived as exc:
        assert exc.description != AlertDescription.INTERNAL_ERROR, exc
        return
    except errors.ConfigurationError:
        return
    def agreed(events: list[object]) -> list[object]:  # server_name: asked for (client) vs received (server)
        return [dataclasses.replace(e, server_name=None) for e in events if isinstance(e, HandshakeComplete)]

    assert agreed(client_events) and agreed(client_events) == agreed(server_events)
