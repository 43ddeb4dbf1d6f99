"""The RFC 5746 checks of tlsstate.handshake.renegotiation on hand-made values (the live rules are in
tests/hostile/test_renegotiation_hostile.py and tests/interop/test_renegotiation_interop.py)."""

from __future__ import annotations

import pytest

from tlsstate.handshake.renegotiation import (
    Renegotiation,
    check_renegotiating_client_hello,
    check_renegotiating_server_hello,
)
from tlsstate.wire.constants import TLS_EMPTY_RENEGOTIATION_INFO_SCSV, ProtocolVersion
from tlsstate.wire.errors import HandshakeFailure, ProtocolVersionError

CLIENT, SERVER = bytes(range(12)), bytes(range(100, 112))
PREVIOUS = Renegotiation(CLIENT, SERVER, ProtocolVersion.TLS1_2, extended_master_secret=True)


def test_what_each_side_carries() -> None:
    """RFC 5746 §3.5: the client sends its verify_data; §3.6: the server both, the client's first."""
    assert PREVIOUS.client_renegotiated_connection == CLIENT
    assert PREVIOUS.server_renegotiated_connection == CLIENT + SERVER
    assert "000102" not in repr(PREVIOUS)  # verify data stays out of reprs


def test_a_correct_renegotiating_client_hello_keeps_the_version() -> None:
    assert check_renegotiating_client_hello(PREVIOUS, (0xC02F,), CLIENT, True, 0x0303) == ProtocolVersion.TLS1_2
    # a client may still offer more than the connection's version: the connection's stays
    tls11 = Renegotiation(CLIENT, SERVER, ProtocolVersion.TLS1_1, extended_master_secret=False)
    assert check_renegotiating_client_hello(tls11, (0x002F,), CLIENT, False, 0x0303) == ProtocolVersion.TLS1_1


@pytest.mark.parametrize(
    ("suites", "info", "ems", "version", "error"),
    [
        ((0xC02F, TLS_EMPTY_RENEGOTIATION_INFO_SCSV), CLIENT, True, 0x0303, HandshakeFailure),  # §3.7 SCSV
        ((0xC02F,), None, True, 0x0303, HandshakeFailure),  # §3.7 no extension
        ((0xC02F,), b"", True, 0x0303, HandshakeFailure),  # empty
        ((0xC02F,), CLIENT + SERVER, True, 0x0303, HandshakeFailure),  # the server's form
        ((0xC02F,), bytes([CLIENT[0] ^ 1]) + CLIENT[1:], True, 0x0303, HandshakeFailure),  # one bit
        ((0xC02F,), CLIENT, False, 0x0303, HandshakeFailure),  # RFC 7627: EMS dropped
        ((0xC02F,), CLIENT, True, 0x0302, ProtocolVersionError),  # below the connection's version
    ],
)
def test_bad_renegotiating_client_hellos(
    suites: tuple[int, ...], info: bytes | None, ems: bool, version: int, error: type[Exception]
) -> None:
    with pytest.raises(error):
        check_renegotiating_client_hello(PREVIOUS, suites, info, ems, version)


def test_a_connection_without_ems_may_renegotiate_with_it() -> None:
    plain = Renegotiation(CLIENT, SERVER, ProtocolVersion.TLS1_2, extended_master_secret=False)
    check_renegotiating_client_hello(plain, (0xC02F,), CLIENT, True, 0x0303)
    check_renegotiating_server_hello(plain, CLIENT + SERVER, True, ProtocolVersion.TLS1_2)


@pytest.mark.parametrize(
    ("info", "ems", "version", "error"),
    [
        (None, True, ProtocolVersion.TLS1_2, HandshakeFailure),  # §3.5 no extension
        (CLIENT, True, ProtocolVersion.TLS1_2, HandshakeFailure),  # only the client half
        (CLIENT + SERVER[:-1] + b"\x00", True, ProtocolVersion.TLS1_2, HandshakeFailure),
        (SERVER + CLIENT, True, ProtocolVersion.TLS1_2, HandshakeFailure),  # halves swapped
        (CLIENT + SERVER, False, ProtocolVersion.TLS1_2, HandshakeFailure),  # EMS dropped
        (CLIENT + SERVER, True, ProtocolVersion.TLS1_1, ProtocolVersionError),
    ],
)
def test_bad_renegotiation_server_hellos(
    info: bytes | None, ems: bool, version: ProtocolVersion, error: type[Exception]
) -> None:
    with pytest.raises(error):
        check_renegotiating_server_hello(PREVIOUS, info, ems, version)
    check_renegotiating_server_hello(PREVIOUS, CLIENT + SERVER, True, ProtocolVersion.TLS1_2)  # the right answer
