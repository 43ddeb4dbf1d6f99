"""The transition table is the one place the message flow is defined (RFC 5246 §7.3); it is keyed by the state
classes, each of which handles its own inputs."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import pytest

from tests.helpers.connections import client_config, server_config
from tlsstate.connection import Connection
from tlsstate.handshake import client_states, server_states
from tlsstate.handshake.common import State
from tlsstate.handshake.states import CCS, OWN_STEPS, REFUSED, REQUEST, START, TRANSITIONS, check_input, check_next
from tlsstate.handshake.tls13 import client as tls13_client
from tlsstate.handshake.tls13 import early_data as tls13_early_data
from tlsstate.handshake.tls13 import post_auth as tls13_post_auth
from tlsstate.handshake.tls13 import server as tls13_server
from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import InternalError, UnexpectedMessage


def _state_classes() -> set[type[State]]:
    found: set[type[State]] = set()
    for module in (client_states, server_states, tls13_client, tls13_server, tls13_post_auth, tls13_early_data):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            # the states a module defines (its private bases aside), not the bases it imports
            if issubclass(obj, State) and obj.__module__ == module.__name__ and not obj.__name__.startswith("_"):
                found.add(obj)
    return found


def test_every_state_has_a_row_and_every_row_a_state() -> None:
    classes = _state_classes()
    assert classes == set(TRANSITIONS)
    for cls in classes:
        role = "Client" if cls.__module__ in (client_states.__name__, tls13_client.__name__) else "Server"
        assert cls.__name__.startswith(role), cls


OWN_STEP_HANDLERS = {START: ("start", "renegotiate"), REQUEST: ("request",), REFUSED: ()}


def test_every_row_has_its_handlers_and_targets_exist() -> None:
    for cls, row in TRANSITIONS.items():
        for received, targets in row.items():
            if received in OWN_STEP_HANDLERS:  # our own steps: a method of the state, or of the driver (REFUSED)
                names = OWN_STEP_HANDLERS[received]
                assert not names or any(callable(getattr(cls, name, None)) for name in names), (cls, received)
            else:
                handler = "handle_change_cipher_spec" if received == CCS else "handle"
                assert getattr(cls, handler) is not getattr(State, handler), (cls, handler)
            for target in targets:
                assert target in TRANSITIONS, target
        if not any(received not in (CCS, *OWN_STEPS) for received in row):
            assert cls.handle is State.handle, cls  # no handler for messages the table never lets in


def test_no_state_other_than_wait_ccs_accepts_change_cipher_spec() -> None:
    """TLS 1.2: the two WaitChangeCipherSpec states. TLS 1.3: the states between the first ClientHello and the peer's
    Finished, where middlebox compatibility mode's ChangeCipherSpec is dropped (RFC 9846 §5), and no other."""
    accepting = sorted(cls.__name__ for cls, row in TRANSITIONS.items() if CCS in row)
    assert accepting == [
        "ClientWaitCertificate13", "ClientWaitCertificateVerify13", "ClientWaitChangeCipherSpec",
        "ClientWaitEncryptedExtensions", "ClientWaitFinished13", "ClientWaitServerHelloAfterRetry",
        "ServerWaitChangeCipherSpec", "ServerWaitClientCertificate13", "ServerWaitClientCertificateVerify13",
        "ServerWaitEndOfEarlyData", "ServerWaitFinished13", "ServerWaitSecondClientHello",
    ]
    for cls in TRANSITIONS:
        if CCS not in TRANSITIONS[cls]:
            assert cls.handle_change_cipher_spec is State.handle_change_cipher_spec, cls


def test_only_the_connected_states_say_so() -> None:
    assert sorted(cls.__name__ for cls in TRANSITIONS if cls.connected) == [
        "ClientConnected", "ClientConnected13", "ServerConnected", "ServerConnected13",
        "ServerWaitPostHandshakeCertificate", "ServerWaitPostHandshakeCertificateVerify",
        "ServerWaitPostHandshakeFinished",  # post-handshake authentication: the connection stays established
    ]


def _fields_hold_no_secret(cls: type, path: str) -> None:
    """No secret field shows in a repr, also inside a payload dataclass (HandshakeResult) a state holds."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if "secret" in field.name or field.name in ("ecdhe_key", "ephemeral_key"):
            assert field.repr is False, (path, field.name)
        kind = hints[field.name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind) and kind.__module__.startswith("tlsstate.handshake"):
            _fields_hold_no_secret(kind, f"{path}.{field.name}")


def test_states_hold_no_secret_in_their_repr() -> None:
    for cls in _state_classes():
        if dataclasses.is_dataclass(cls):
            _fields_hold_no_secret(cls, cls.__name__)
    payload = dataclasses.fields(client_states.HandshakeResult)
    assert {f.name for f in payload if not f.repr} == {
        "master_secret", "premaster_secret", "client_verify_data", "server_verify_data"
    }


def test_check_input_names_expected_and_received() -> None:
    with pytest.raises(UnexpectedMessage) as info:
        check_input(server_states.ServerWaitClientKeyExchange, HandshakeType.FINISHED)
    assert str(info.value).endswith("ServerWaitClientKeyExchange: expected ClientKeyExchange, received Finished")
    with pytest.raises(UnexpectedMessage) as info:
        check_input(client_states.ClientWaitServerHelloDone, 99)
    assert "expected CertificateRequest or ServerHelloDone, received handshake type 99" in str(info.value)
    check_input(client_states.ClientWaitChangeCipherSpec, CCS)


def test_check_next_refuses_transitions_outside_the_table() -> None:
    check_next(client_states.ClientWaitServerHello, HandshakeType.SERVER_HELLO, client_states.ClientWaitChangeCipherSpec)
    with pytest.raises(InternalError):
        check_next(client_states.ClientWaitServerHello, HandshakeType.SERVER_HELLO, client_states.ClientConnected)


def test_handshake_state_is_the_class_name() -> None:
    """Connection.handshake_state keeps its strings: the state class's name, not a repeated literal."""
    client = Connection(client_config(), server_side=False)
    server = Connection(server_config(), server_side=True)
    assert (client.handshake_state, server.handshake_state) == ("ClientStart", "ServerWaitClientHello")
    client.start_handshake()
    assert client.handshake_state == "ClientWaitServerHello"
    server.receive_bytes(client.bytes_to_send())
    assert server.next_event() is None
    assert server.handshake_state == type(server._handshake.state).__name__ == "ServerWaitClientKeyExchange"
