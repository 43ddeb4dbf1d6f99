"""Hostile servers against our real client (tlsstate.io.TLSSocket over loopback): negotiation rules (issue 12).

* secp521r1 and x448 ServerKeyExchange shares, correctly signed but invalid (RFC 8422 §5.11, RFC 7748).
* A ServerHello "resuming" the session we offered with another cipher suite (RFC 5246 §7.4.1.3).
* A ServerHello selecting an ALPN protocol we did not offer, or ALPN when we offered none (RFC 7301 §3.1-§3.2).
* Alert and empty-record floods from the server (CVE-2016-8610): unexpected_message after a few without progress.

The scripted server (``ScriptedServer`` of test_client_hostile.py) runs a real server Connection in memory;
each expected alert is the one tests/hostile/cases.py names.
"""

from __future__ import annotations

import os
import types

import pytest

from tlsstate.crypto.suites import by_name
from tlsstate.handshake import crypto
from tlsstate.handshake import server_states as server_module
from tlsstate.io.sockets import TLSSocket
from tlsstate.sessions.cache import Session, SessionStore
from tlsstate.wire import errors
from tlsstate.wire.constants import AlertDescription, NamedGroup

from .peer import ALERT, APPDATA, HANDSHAKE, Outgoing, ScriptedPeer, handshake, record
from .test_client_hostile import CLIENT_CASES, ScriptedServer, client_config, client_fails, sent_alert

P448 = 2**448 - 2**224 - 1
SERVER_SHARES: dict[str, tuple[NamedGroup, str, bytes]] = {
    "x448-0": (NamedGroup.X448, "server-x448-invalid", bytes(56)),
    "x448-1": (NamedGroup.X448, "server-x448-invalid", (1).to_bytes(56, "little")),
    "x448-p-1": (NamedGroup.X448, "server-x448-invalid", (P448 - 1).to_bytes(56, "little")),
    "x448-short": (NamedGroup.X448, "server-x448-invalid", b"\x05" * 55),
    "x448-long": (NamedGroup.X448, "server-x448-invalid", b"\x05" * 57),
    "p521-off-curve": (NamedGroup.SECP521R1, "server-secp521r1-invalid-point", b"\x04" + (1).to_bytes(66, "big") * 2),
    "p521-compressed": (NamedGroup.SECP521R1, "server-secp521r1-invalid-point", b"\x02" + b"\x01" * 66),
}


@pytest.mark.parametrize("name", sorted(SERVER_SHARES))
def test_server_bad_share(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The server's ServerKeyExchange (signed over the bad value) carries an invalid x448 or secp521r1 share:
    illegal_parameter, sent to the server (RFC 8422 §5.11, RFC 7748 §6.2)."""
    group, case, share = SERVER_SHARES[name]

    def bad_share(chosen: int) -> tuple[object, bytes]:
        pair, _ = crypto.ecdhe_generate(chosen)
        return pair, share

    fake = types.SimpleNamespace(**{**vars(crypto), "ecdhe_generate": bad_share})
    monkeypatch.setattr(server_module, "crypto", fake)  # the scripted server only: the client imports crypto itself
    cfg = client_config()
    cfg.groups = [group]
    server = ScriptedServer()
    exc = client_fails(server, cfg)
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES[case], exc
    assert sent_alert(server) == exc.alert


@pytest.mark.parametrize("group", [NamedGroup.X448, NamedGroup.SECP521R1], ids=["x448", "secp521r1"])
def test_server_x448_secp521r1_accepted(group: NamedGroup) -> None:
    """Control: the same server with a genuine share completes the handshake on that group."""
    cfg = client_config()
    cfg.groups = [group]
    server = ScriptedServer()
    try:
        with TLSSocket.connect("127.0.0.1", server.port, cfg, timeout=10) as tls:
            assert tls.handshake is not None and tls.handshake.key_exchange_group == group
            assert CLIENT_CASES["server-x448-secp521r1"] == "accepted"
    finally:
        server.close()


def test_server_resumes_with_another_suite() -> None:
    """We offer a stored AES128-SHA session; the ServerHello echoes its session ID (so: resumption, RFC 5246
    §7.3) but names ECDHE-RSA-AES128-GCM-SHA256: illegal_parameter (§7.4.1.3: a resumed session keeps its suite)."""
    offered_id = os.urandom(32)
    suites = [by_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), by_name("TLS_RSA_WITH_AES_128_CBC_SHA")]
    cfg = client_config()
    cfg.cipher_suites = [s for s in suites if s is not None]
    cfg.server_name, cfg.session_store, cfg.session_tickets = "localhost", SessionStore(), False
    cfg.session_store.store("localhost", Session(session_id=offered_id, version=0x0303, cipher_suite=0x002F,
                                                 master_secret=os.urandom(48), extended_master_secret=True))

    def echo_session_id(out: Outgoing) -> bytes:
        body = out.data[5:]
        if out.index != 0 or out.content_type != HANDSHAKE or body[0] != 2:
            return out.data
        length = int.from_bytes(body[1:4], "big")
        hello, rest = body[4:4 + length], body[4 + length:]
        assert hello[34] == 0  # our in-memory server has no session cache: an empty session ID
        assert hello[35:37] == b"\xc0\x2f"
        hello = hello[:34] + bytes([32]) + offered_id + hello[35:]
        return record(HANDSHAKE, handshake(2, hello) + rest, int.from_bytes(out.data[1:3], "big"))

    server = ScriptedServer(echo_session_id)
    exc = client_fails(server, cfg)
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES["server-resume-other-suite"], exc
    assert sent_alert(server) == exc.alert


@pytest.mark.parametrize(("offered", "case"), [(["h2", "http/1.1"], "server-alpn-not-offered"),
                                               ([], "server-alpn-not-asked")])
def test_server_selects_alpn_we_did_not_offer(monkeypatch: pytest.MonkeyPatch, offered: list[str], case: str) -> None:
    """The server's ServerHello selects "h3": illegal_parameter when we offered other names (RFC 7301 §3.2; OpenSSL
    answers the same), unsupported_extension when we sent no ALPN at all (RFC 5246 §7.4.1.4)."""
    monkeypatch.setattr(server_module, "choose_alpn", lambda config, offer: "h3")
    cfg = client_config()
    cfg.alpn_protocols = offered
    server = ScriptedServer()
    exc = client_fails(server, cfg)
    assert isinstance(exc, errors.ProtocolError) and exc.alert.label == CLIENT_CASES[case], exc
    assert sent_alert(server) == exc.alert


SERVER_FLOODS: dict[str, tuple[int, bytes, int, str]] = {  # (record type, payload, records, case)
    "five-warnings": (ALERT, bytes([1, 90]), 5, "server-warning-alert-flood"),
    "five-warnings-one-record": (ALERT, bytes([1, 90]) * 5, 1, "server-warning-alert-flood"),
    "33-empty-records": (APPDATA, b"", 33, "server-empty-record-flood"),
    "four-warnings-32-empty": (ALERT, bytes([1, 90]), 4, "server-flood-below-limits"),
}


@pytest.mark.parametrize("name", sorted(SERVER_FLOODS))
def test_server_flood(name: str) -> None:
    """After the handshake the server sends only warning alerts or empty records: our client (TLSSocket.recv) ends
    the connection with unexpected_message; below the limits it goes on and reads the data that follows."""
    content_type, payload, count, case = SERVER_FLOODS[name]

    def flood(peer: ScriptedPeer) -> None:
        seal = peer.conn.write_state.seal
        records = [seal(content_type, 0x0303, payload) for _ in range(count)]
        if name == "four-warnings-32-empty":
            records += [seal(APPDATA, 0x0303, b"") for _ in range(32)]
        peer.send_raw(b"".join(records))
        peer.conn.send_data(b"data after the flood")
        peer.flush()

    server = ScriptedServer(after=flood)
    cfg = client_config()
    try:
        if CLIENT_CASES[case] == "accepted":
            with TLSSocket.connect("127.0.0.1", server.port, cfg, timeout=10) as tls:
                assert tls.recv() == b"data after the flood"
                assert len(tls.warnings) == 4
            return
        with pytest.raises(errors.UnexpectedMessage), TLSSocket.connect("127.0.0.1", server.port, cfg, timeout=10) as tls:
            tls.recv()  # the flood may already end the connection while the handshake's last record is read
    finally:
        server.close()
    assert server.peer is not None and server.peer.outcome.alert is not None
    assert AlertDescription(server.peer.outcome.alert).label == CLIENT_CASES[case]
