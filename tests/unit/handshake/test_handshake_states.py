"""The transition table is the one place the message flow is defined (RFC 5246 §7.3)."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from tlsstate.handshake import client, server
from tlsstate.handshake.client import ClientHandshake
from tlsstate.handshake.common import State
from tlsstate.handshake.server import ServerHandshake
from tlsstate.handshake.states import CCS, TRANSITIONS, check_input, check_next
from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import InternalError, UnexpectedMessage


def _state_classes() -> dict[str, type[State]]:
    found: dict[str, type[State]] = {}
    for module in (client, server):
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, State) and obj is not State:
                found[obj.name] = obj
    return found


def test_every_state_has_a_row_and_every_row_a_state() -> None:
    classes = _state_classes()
    assert set(classes) == set(TRANSITIONS)
    for name, cls in classes.items():
        assert cls.__name__ == name


def test_every_row_has_its_handlers_and_targets_exist() -> None:
    for name, row in TRANSITIONS.items():
        machine = ClientHandshake if name.startswith("Client") else ServerHandshake
        for received, targets in row.items():
            handler = f"on_ccs_{name}" if received == CCS else f"on_{name}"
            assert hasattr(machine, handler), handler
            for target in targets:
                assert target in TRANSITIONS, target


def test_no_state_other_than_wait_ccs_accepts_change_cipher_spec() -> None:
    accepting = sorted(name for name, row in TRANSITIONS.items() if CCS in row)
    assert accepting == ["ClientWaitChangeCipherSpec", "ServerWaitChangeCipherSpec"]


def test_states_hold_no_secret_in_their_repr() -> None:
    for cls in _state_classes().values():
        if dataclasses.is_dataclass(cls):
            for field in dataclasses.fields(cls):
                if "secret" in field.name or field.name in ("ecdhe_key",):
                    assert field.repr is False, (cls.__name__, field.name)


def test_check_input_names_expected_and_received() -> None:
    with pytest.raises(UnexpectedMessage) as info:
        check_input("ServerWaitClientKeyExchange", HandshakeType.FINISHED)
    assert str(info.value).endswith("ServerWaitClientKeyExchange: expected ClientKeyExchange, received Finished")
    with pytest.raises(UnexpectedMessage) as info:
        check_input("ClientWaitServerHelloDone", 99)
    assert "expected CertificateRequest or ServerHelloDone, received handshake type 99" in str(info.value)
    check_input("ClientWaitChangeCipherSpec", CCS)


def test_check_next_refuses_transitions_outside_the_table() -> None:
    check_next("ClientWaitServerHello", HandshakeType.SERVER_HELLO, "ClientWaitChangeCipherSpec")
    with pytest.raises(InternalError):
        check_next("ClientWaitServerHello", HandshakeType.SERVER_HELLO, "ClientConnected")
