"""TLS 1.3 0-RTT through the blocking and asyncio wrappers (``TLSSocket.connect(early_data=...)``,
``aio.open_connection(early_data=...)``) against ``openssl s_server -tls1_3 -early_data``, which prints what it
received as early data: a first connection stores s_server's ticket, the second sends the early data with its
ClientHello (RFC 9846 §2.3, §4.2.10) and is told it was accepted.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.interop.test_tls13_early_data import TIMEOUT, _s_server, pki  # noqa: F401 (the fixture)
from tlsstate.config import TLSConfig
from tlsstate.io import aio
from tlsstate.io.sockets import TLSSocket
from tlsstate.sessions.cache import SessionStore
from tlsstate.wire.constants import ProtocolVersion

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


def _config(pki: dict[str, Path]) -> TLSConfig:  # noqa: F811
    return TLSConfig(max_version=ProtocolVersion.TLS1_3, cafile=str(pki["ca"]), server_name="localhost",
                     session_store=SessionStore())


def _store_ticket(port: int, config: TLSConfig) -> None:
    with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT) as tls:
        tls.sendall(b"first\n")
        tls.read_some()  # s_server's NewSessionTickets come with its flight
    assert tls.early_data_status == "not sent"


def test_tlssocket_connect_sends_early_data(pki: dict[str, Path]) -> None:  # noqa: F811
    config = _config(pki)
    peer, port = _s_server(pki, "-early_data", "-naccept", "2")
    try:
        _store_ticket(port, config)
        with TLSSocket.connect("127.0.0.1", port, config, timeout=TIMEOUT, early_data=b"blocking zero-rtt\n") as tls:
            assert tls.handshake is not None and tls.handshake.resumed and tls.handshake.early_data_accepted
            assert tls.early_data_status == "accepted"
            peer.wait_for("blocking zero-rtt", timeout=10)
    finally:
        peer.stop()
    assert "Early data received" in peer.text()


def test_asyncio_open_connection_sends_early_data(pki: dict[str, Path]) -> None:  # noqa: F811
    config = _config(pki)
    peer, port = _s_server(pki, "-early_data", "-naccept", "2")

    async def second() -> str:
        _reader, writer = await aio.open_connection("127.0.0.1", port, config, early_data=b"asyncio zero-rtt\n")
        status = str(writer.get_extra_info("early_data_status"))
        writer.close()
        await writer.wait_closed()
        return status

    try:
        _store_ticket(port, config)
        assert asyncio.run(asyncio.wait_for(second(), TIMEOUT)) == "accepted"
        peer.wait_for("asyncio zero-rtt", timeout=10)
    finally:
        peer.stop()
    assert "Early data received" in peer.text()
