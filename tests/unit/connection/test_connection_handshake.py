"""Our client against our server, in memory: every version × key exchange × cipher family × EMS/EtM,
resumption, version negotiation (RFC 5246 Appendix E.1), key log, any chunking of the byte stream.

Interop with a real peer (CPython ssl / OpenSSL) is in test_ssl_module_interop.py; these tests
check that both of our roles agree and that the negotiated parameters are the ones asked for.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.connections import client_config, completes, handshake, pump, received, server_config
from tlsstate.connection import Connection
from tlsstate.crypto.suites import CipherFamily, KeyExchange, by_name
from tlsstate.events import ApplicationData, ConnectionClosed, HandshakeComplete
from tlsstate.sessions.cache import Session, SessionCache, SessionStore
from tlsstate.wire.constants import AlertDescription, ExtensionType, NamedGroup, ProtocolVersion
from tlsstate.wire.errors import AlertReceived, ProtocolVersionError
from tlsstate.wire.keylog import parse_keylog
from tlsstate.wire.messages import ClientHello

VERSIONS = [ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_2]
SUITE_NAMES = [
    "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA", "RC4-SHA", "AES128-SHA256", "AES256-SHA256",
    "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-CCM", "AES256-CCM8",
    "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-CCM", "DHE-RSA-AES128-SHA", "DHE-RSA-AES256-GCM-SHA384",
]


def _matrix() -> list[object]:
    cases = []
    for version in VERSIONS:
        for name in SUITE_NAMES:
            suite = by_name(name)
            assert suite is not None, name
            if not suite.valid_for(version):
                continue
            etms = (True, False) if suite.family is CipherFamily.CBC else (True,)
            for ems in (True, False):
                for etm in etms:
                    ident = f"{version.cli_name}-{name}-{'ems' if ems else 'noems'}-{'etm' if etm else 'mte'}"
                    cases.append(pytest.param(version, suite, ems, etm, id=ident))
    return cases


@pytest.mark.parametrize(("version", "suite", "ems", "etm"), _matrix())
def test_matrix(version: ProtocolVersion, suite: object, ems: bool, etm: bool) -> None:
    kind = "p256" if "ECDSA" in suite.name else "rsa"  # type: ignore[attr-defined]
    common = {"min_version": version, "max_version": version, "cipher_suites": [suite]}
    client, server, client_events, server_events = handshake(
        client_config(extended_master_secret=ems, encrypt_then_mac=etm, **common),
        server_config(kind, **common),
    )
    for events in (client_events, server_events):
        done = completes(events)
        assert done.version == version and done.cipher_suite == suite
        assert done.extended_master_secret is ems
        assert done.encrypt_then_mac is (etm and suite.family is CipherFamily.CBC)  # type: ignore[attr-defined]
        assert not done.resumed
    assert client.security is not None and server.security is not None
    assert client.handshake_info == completes(client_events) and server.handshake_info == completes(server_events)
    assert client.security.master_secret == server.security.master_secret
    assert client.security.premaster_secret == server.security.premaster_secret
    assert client.security.keys == server.security.keys
    payload = os.urandom(40000)
    client.send_data(payload)
    server.send_data(payload[::-1])
    client_events, server_events = pump(client, server)
    assert received(server_events) == payload and received(client_events) == payload[::-1]
    client.close()
    client_events, server_events = pump(client, server)
    assert server_events == [ConnectionClosed(clean=True)] and client_events == [ConnectionClosed(clean=True)]


@pytest.mark.parametrize("group", [NamedGroup.X25519, NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.SECP521R1])
def test_each_group(group: NamedGroup) -> None:
    _, _, client_events, _ = handshake(client_config(groups=[group]), server_config("rsa", groups=[group]))
    assert completes(client_events).cipher_suite.key_exchange is KeyExchange.ECDHE_RSA


@pytest.mark.parametrize(("client_max", "server_max", "expected"), [
    (ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_1),
    (ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_1),
    (ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_0),
])
def test_version_negotiation(client_max: ProtocolVersion, server_max: ProtocolVersion, expected: ProtocolVersion) -> None:
    """RFC 5246 Appendix E.1: the server answers with min(client version, its highest)."""
    _, _, client_events, server_events = handshake(
        client_config(max_version=client_max), server_config(max_version=server_max)
    )
    assert completes(client_events).version == expected == completes(server_events).version


def test_no_common_version_is_protocol_version() -> None:
    client = Connection(client_config(max_version=ProtocolVersion.TLS1_1), server_side=False)
    server = Connection(server_config(min_version=ProtocolVersion.TLS1_2), server_side=True)
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    with pytest.raises(ProtocolVersionError):
        server.next_event()
    client.receive_bytes(server.bytes_to_send())
    with pytest.raises(AlertReceived) as info:
        client.next_event()
    assert info.value.description == AlertDescription.PROTOCOL_VERSION


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("ems", [True, False])
def test_resumption(version: ProtocolVersion, ems: bool) -> None:
    cache, store = SessionCache(), SessionStore()
    ccfg = client_config(session_store=store, max_version=version, extended_master_secret=ems)
    scfg = server_config(session_cache=cache, max_version=version, extended_master_secret=ems)
    first_client, _first_server, first_events, _ = handshake(ccfg, scfg)
    assert not completes(first_events).resumed and len(cache) == 1 and len(store) == 1
    client, server, client_events, server_events = handshake(ccfg, scfg)
    assert completes(client_events).resumed and completes(server_events).resumed
    assert completes(client_events).extended_master_secret is ems
    assert client.security is not None and server.security is not None and first_client.security is not None
    assert client.security.master_secret == first_client.security.master_secret == server.security.master_secret
    assert client.security.premaster_secret is None and server.security.premaster_secret is None
    assert client.security.client_random != first_client.security.client_random
    assert client.security.keys == server.security.keys != first_client.security.keys
    client.send_data(b"resumed")
    _, server_events = pump(client, server)
    assert received(server_events) == b"resumed"


def test_resumption_refused_when_server_forgot() -> None:
    store = SessionStore()
    ccfg = client_config(session_store=store)
    handshake(ccfg, server_config(session_cache=SessionCache()))
    _, _, client_events, _ = handshake(ccfg, server_config(session_cache=SessionCache()))
    assert not completes(client_events).resumed


def test_session_cache_bound_and_expiry() -> None:
    now = [0.0]
    cache = SessionCache(max_size=2, lifetime=10.0, clock=lambda: now[0])

    def session(n: int) -> Session:
        return Session(bytes([n]) * 32, 0x0303, 0x002F, b"m" * 48, True)

    for n in range(3):
        cache.store(session(n))
    assert len(cache) == 2 and cache.lookup(bytes([0]) * 32) is None  # oldest evicted
    assert cache.lookup(bytes([2]) * 32) is not None
    now[0] = 10.5
    assert cache.lookup(bytes([2]) * 32) is None  # expired
    assert "m" * 48 not in repr(session(1))


def test_keylog_writer(tmp_path: object) -> None:
    from pathlib import Path

    from tlsstate.wire.keylog import KeyLogWriter

    path = Path(str(tmp_path)) / "keys.log"
    with KeyLogWriter(path) as writer:
        client, _, _, _ = handshake(client_config(keylog=writer), server_config())
    keys, warnings = parse_keylog(path.read_text())
    assert not warnings
    assert client.security is not None
    assert keys.master_secret(client.security.client_random) == client.security.master_secret
    assert path.read_text().startswith("CLIENT_RANDOM ")


def test_keylog_from_environment(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "env-keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))
    client, _server, _, _ = handshake(client_config(), server_config())
    keys, _ = parse_keylog(path.read_text())
    assert client.security is not None
    assert keys.master_secret(client.security.client_random) == client.security.master_secret
    assert len(path.read_text().splitlines()) == 2  # one line per side


def test_alpn_and_sni() -> None:
    _, _, client_events, server_events = handshake(
        client_config(alpn_protocols=["h2", "http/1.1"]), server_config(alpn_protocols=["http/1.1", "h2"])
    )
    assert completes(client_events).alpn == "http/1.1" == completes(server_events).alpn
    assert completes(server_events).server_name == "localhost"


@pytest.mark.parametrize("version", [ProtocolVersion.TLS1_2, ProtocolVersion.TLS1_3])
@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "[::1]"])
def test_an_ip_address_is_not_sent_as_sni_and_both_ends_report_none(version: ProtocolVersion, address: str) -> None:
    """RFC 6066 §3: server_name cannot carry an IP literal, so none is sent (an IPv6 literal in brackets, as in a
    URL, was sent and failed the handshake with internal_error); each end's HandshakeComplete says no name."""
    client = Connection(client_config(server_name=address, min_version=version, max_version=version),
                        server_side=False)
    client.start_handshake()
    hello = client.bytes_to_send()
    assert hello[0] == 22 and hello[5] == 1  # one handshake record holding the ClientHello
    extensions = ClientHello.parse(hello[9:]).extensions
    assert extensions is not None and ExtensionType.SERVER_NAME not in [e.type for e in extensions]
    server = Connection(server_config(min_version=version, max_version=version), server_side=True)
    server.receive_bytes(hello)
    client_events, server_events = pump(client, server)
    assert completes(client_events).server_name is None and completes(server_events).server_name is None
    assert completes(client_events).version == version


def test_data_queued_before_handshake_is_sent_after() -> None:
    client = Connection(client_config(), server_side=False)
    server = Connection(server_config(), server_side=True)
    client.send_data(b"early")
    client.start_handshake()
    _, server_events = pump(client, server)
    assert received(server_events) == b"early"


def _events_signature(events: list[object]) -> list[object]:
    out: list[object] = []
    for e in events:
        if isinstance(e, ApplicationData):
            out.append(("data", e.data))
        else:
            out.append(e)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=8))
def test_any_chunking_gives_the_same_events(chunks: list[int]) -> None:
    """Bytes delivered in arbitrary pieces (sizes cycle through ``chunks``) yield the same events."""
    client = Connection(client_config(), server_side=False)
    server = Connection(server_config(), server_side=True)
    client.send_data(b"x" * 20000)
    client.start_handshake()
    client_events: list[object] = []
    server_events: list[object] = []
    for _ in range(20):
        moved = False
        for sender, receiver, events in ((client, server, server_events), (server, client, client_events)):
            data = sender.bytes_to_send()
            pos, i = 0, 0
            while pos < len(data):
                size = chunks[i % len(chunks)]
                receiver.receive_bytes(data[pos : pos + size])
                pos += size
                i += 1
                while (event := receiver.next_event()) is not None:
                    events.append(event)
                moved = True
        if not moved:
            break
    expected = [
        completes(server_events),
        ("data", b"x" * 16384),
        ("data", b"x" * (20000 - 16384)),
    ]
    assert _events_signature(server_events) == expected
    assert [type(e) for e in client_events] == [HandshakeComplete]


@pytest.mark.parametrize("name", ["AES128-SHA", "AES256-SHA", "DES-CBC3-SHA", "RC4-MD5", "RC4-SHA"])
@pytest.mark.parametrize("resume", [False, True])
def test_ssl3_behind_enable_ssl3(name: str, resume: bool) -> None:
    """SSL 3.0 (RFC 6101): no extensions, the renegotiation SCSV, 36-byte Finished, bare RSA CKE."""
    suite = by_name(name)
    common = {"min_version": ProtocolVersion.SSL3, "max_version": ProtocolVersion.SSL3, "enable_ssl3": True,
              "cipher_suites": [suite]}
    store, cache = SessionStore(), SessionCache()
    ccfg = client_config(session_store=store, **common)
    scfg = server_config(session_cache=cache, **common)
    client, server, client_events, _ = handshake(ccfg, scfg)
    if resume:
        client, server, client_events, _ = handshake(ccfg, scfg)
    done = completes(client_events)
    assert done.version == ProtocolVersion.SSL3 and done.resumed is resume
    assert not done.extended_master_secret and not done.encrypt_then_mac
    client.send_data(b"ssl3 data")
    assert received(pump(client, server)[1]) == b"ssl3 data"


def test_ssl3_is_off_by_default() -> None:
    client = Connection(client_config(min_version=ProtocolVersion.SSL3, max_version=ProtocolVersion.SSL3,
                                      enable_ssl3=True), server_side=False)
    server = Connection(server_config(min_version=ProtocolVersion.SSL3), server_side=True)  # enable_ssl3 False
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    with pytest.raises(ProtocolVersionError):
        server.next_event()


def test_fallback_scsv_with_a_lower_version_is_inappropriate_fallback() -> None:
    """RFC 7507 §3: TLS_FALLBACK_SCSV in a ClientHello below our highest version."""
    import struct

    from tlsstate.wire.errors import ProtocolError
    from tlsstate.wire.messages import ClientHello, encode_handshake

    hello = ClientHello(0x0302, os.urandom(32), b"", (0x002F, 0x5600), b"\x00", None)
    body = encode_handshake(hello)
    server = Connection(server_config(), server_side=True)
    server.receive_bytes(struct.pack(">BHH", 22, 0x0301, len(body)) + body)
    with pytest.raises(ProtocolError) as info:
        server.next_event()
    assert info.value.alert == AlertDescription.INAPPROPRIATE_FALLBACK


def _reframe(flight: bytes, sizes: list[int]) -> bytes:
    """The plaintext handshake bytes of ``flight`` cut into records of the given sizes (cycled)."""
    import struct

    from tlsstate.record import Deframer

    deframer = Deframer()
    deframer.feed(flight)
    records = list(deframer)
    assert all(r.content_type == 22 for r in records)
    payload = b"".join(r.fragment for r in records)
    out, pos, i = bytearray(), 0, 0
    while pos < len(payload):
        piece = payload[pos : pos + sizes[i % len(sizes)]]
        out += struct.pack(">BHH", 22, records[0].version, len(piece)) + piece
        pos += len(piece)
        i += 1
    return bytes(out)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=6))
def test_handshake_messages_spanning_records(sizes: list[int]) -> None:
    """RFC 5246 §6.2.1: messages may span records and records may hold several messages."""
    client = Connection(client_config(), server_side=False)
    server = Connection(server_config(), server_side=True)
    client.start_handshake()
    server.receive_bytes(_reframe(client.bytes_to_send(), sizes))
    assert server.next_event() is None
    client.receive_bytes(_reframe(server.bytes_to_send(), sizes))
    assert client.next_event() is None
    client_events, server_events = pump(client, server)
    assert completes(client_events) and completes(server_events)


def test_secrets_never_reach_reprs() -> None:
    client, server, client_events, server_events = handshake(client_config(), server_config())
    assert client.security is not None and client.premaster_secret is not None
    secrets = [client.security.master_secret, client.premaster_secret, client.security.keys.client_write_key,
               client.security.keys.server_write_key]
    texts = [repr(client), repr(server), repr(client.security), repr(client._handshake.state),
             repr(client_events), repr(server_events), repr(client.read_state), repr(client.write_state)]
    for secret in secrets:
        for text in texts:
            assert secret.hex() not in text and repr(secret) not in text


def test_tls_client_downgraded_to_ssl3_gets_no_ems_or_etm() -> None:
    """RFC 7627 / RFC 7366 are TLS extensions: a server that picks SSL 3.0 does not echo them."""
    suite = by_name("AES128-SHA")
    _, _, client_events, server_events = handshake(
        client_config(min_version=ProtocolVersion.SSL3, enable_ssl3=True, cipher_suites=[suite]),
        server_config(min_version=ProtocolVersion.SSL3, max_version=ProtocolVersion.SSL3, enable_ssl3=True),
    )
    done = completes(client_events)
    assert done.version == ProtocolVersion.SSL3 and not done.extended_master_secret and not done.encrypt_then_mac
    assert completes(server_events) == done


@pytest.mark.parametrize(("description", "fatal"), [
    (AlertDescription.UNRECOGNIZED_NAME, True), (AlertDescription.NO_RENEGOTIATION, True),
    (AlertDescription.USER_CANCELED, False),
])
def test_tls13_warning_alerts_are_errors_but_user_canceled(description: AlertDescription, fatal: bool) -> None:
    """RFC 9846 §6: in TLS 1.3 every alert but the closure alerts is an error alert whatever its level; a TLS 1.2
    peer's warning stays an event (RFC 5246 §7.2)."""
    from tlsstate.events import AlertEvent
    from tlsstate.wire.constants import AlertLevel

    for version in (ProtocolVersion.TLS1_3, ProtocolVersion.TLS1_2):
        client, server, _, _ = handshake(client_config(max_version=version), server_config(max_version=version))
        assert client.negotiated_version == version
        server._send_alert(AlertLevel.WARNING, description)  # a warning, sealed with the server's keys
        client.receive_bytes(server.bytes_to_send())
        if fatal and version == ProtocolVersion.TLS1_3:
            with pytest.raises(AlertReceived):
                client.next_event()
        else:
            event = client.next_event()
            assert isinstance(event, AlertEvent) and event.description == description
