"""SSL 3.0 (RFC 6101) hostile records against ``tlsstate serve --ssl3``: same cases, same alerts.

RFC 6101 §5.4.2 names bad_record_mac for a record whose MAC fails; SSL 3.0 padding is not checked
beyond its length (RFC 6101 §5.2.3.2), so a flipped bit anywhere ends as bad_record_mac.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tlsstate.wire.constants import AlertDescription

from .cases import SUITES
from .peer import ScriptedPeer, ServeProcess
from .test_serve_hostile import EXPECTED, client_hello, config, first_protected, run_tampered, server_answer

SSL3_FAMILIES = ["cbc-mte", "3des-etm", "rc4", "null-sha"]


@pytest.fixture(scope="module")
def ssl3_server() -> Iterator[ServeProcess]:
    suites = ",".join(SUITES[f][0] for f in SSL3_FAMILIES)
    proc = ServeProcess(["--ssl3", "--versions", "ssl3-tls1.2", "--ciphers", suites, "--timeout", "5"])
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.parametrize("family", SSL3_FAMILIES)
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_ssl3_finished_record_bitflip(ssl3_server: ServeProcess, family: str, where: str) -> None:
    def edit(rec: bytes) -> bytes:
        body = bytearray(rec[5:])
        body[{"first": 0, "middle": len(body) // 2, "last": len(body) - 1}[where]] ^= 0x01
        return rec[:5] + bytes(body)
    cfg = config(SUITES[family][0], 0x0300, False, enable_ssl3=True, extended_master_secret=False)
    peer = run_tampered(ssl3_server, cfg, first_protected(edit))
    assert peer.outcome.alert is not None and peer.outcome.closed, peer.outcome
    assert AlertDescription(peer.outcome.alert).label == EXPECTED["finished-record-bitflip"]


def test_ssl3_hello_accepted_when_enabled(ssl3_server: ServeProcess) -> None:
    answer, _ = server_answer(ssl3_server, client_hello(version=0x0300, suites=b"\x00\x2f"))
    assert answer == "server_hello"


@pytest.mark.parametrize("family", SSL3_FAMILIES)
def test_ssl3_control_handshake_completes(ssl3_server: ServeProcess, family: str) -> None:
    """Untampered, the same SSL 3.0 handshake completes (the bit flips above are what fails)."""
    cfg = config(SUITES[family][0], 0x0300, False, enable_ssl3=True, extended_master_secret=False)
    with ssl3_server.connect() as sock:
        peer = ScriptedPeer(sock, cfg, server_side=False)
        peer.run(until=lambda o: o.handshake_complete or o.alert is not None)
    assert peer.outcome.handshake_complete and peer.outcome.alert is None, peer.outcome
