"""TLS 1.3 0-RTT and psk_ke between our client and server in memory (RFC 9846 §2.3, §4.2.9, §4.2.10, §8): what is
offered and when, the records as they go out, acceptance and each reason for rejection, the key log lines. The
bytes against other stacks are the RFC 8448 trace tests and tests/interop/test_tls13_early_data.py."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.helpers.connections import client_config, completes, pump, received, server_config
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import by_name
from tlsstate.events import ApplicationData
from tlsstate.sessions.cache import SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ContentType, ExtensionType, ProtocolVersion
from tlsstate.wire.messages import ClientHello

T13 = ProtocolVersion.TLS1_3


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, bytes]] = []

    def tls13(self, label: str, client_random: bytes, secret: bytes) -> None:
        self.lines.append((label, secret))

    def client_random(self, client_random: bytes, master: bytes) -> None:
        pass


def _records(data: bytes) -> list[tuple[int, int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 3 : pos + 5], "big")
        out.append((data[pos], int.from_bytes(data[pos + 1 : pos + 3], "big"), data[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    return out


def _configs(max_early_data: int = 1000, **client_kw: Any) -> tuple[TLSConfig, TLSConfig]:
    """A client holding a ticket (from a first handshake) that allows ``max_early_data`` bytes."""
    client_cfg = client_config(max_version=T13, session_store=SessionStore(), **client_kw)
    server_cfg = server_config(max_version=T13, ticket_keys=TicketKeys(), max_early_data=max_early_data)
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    pump(client, server)
    return client_cfg, server_cfg


def _resume(client_cfg: TLSConfig, server_cfg: TLSConfig, early: bytes = b"") -> tuple[Connection, Connection, list[Any],
                                                                                       list[Any], bytes]:
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    if early:
        client.send_early_data(early)
    client.start_handshake()
    first = client.bytes_to_send()
    server.receive_bytes(first)
    client_events, server_events = pump(client, server)
    return client, server, client_events, server_events, first


def test_accepted_early_data_arrives_marked_and_logged() -> None:
    client_log, server_log = Log(), Log()
    client_cfg, server_cfg = _configs(keylog=client_log)
    server_cfg.keylog = server_log
    client, server, client_events, server_events, first = _resume(client_cfg, server_cfg, b"early bytes")
    assert [e for e in server_events if isinstance(e, ApplicationData)] == [ApplicationData(b"early bytes", True)]
    assert completes(client_events).early_data_accepted and completes(server_events).early_data_accepted
    assert client.early_data_status == "accepted" and client.early_data_sent == 11 and server.early_data_status == "accepted"
    client_lines, server_lines = dict(client_log.lines[-7:]), dict(server_log.lines[-7:])
    assert {"CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET"} <= set(client_lines)
    assert client_lines == server_lines  # the same secrets on both sides
    assert client.tls13_secrets is not None and server.tls13_secrets is not None
    assert client.tls13_secrets.client_early_traffic_secret == server.tls13_secrets.client_early_traffic_secret
    kinds = [(t, v) for t, v, _ in _records(first)]
    assert kinds == [(ContentType.HANDSHAKE, 0x0301), (ContentType.CHANGE_CIPHER_SPEC, 0x0303),
                     (ContentType.APPLICATION_DATA, 0x0303)]  # CCS right after the ClientHello (RFC 9846 D.4)
    client.send_data(b"later")
    assert received(pump(client, server)[1]) == b"later"


def test_no_second_compatibility_change_cipher_spec() -> None:
    client_cfg, server_cfg = _configs()
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.send_early_data(b"x")
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    while server.next_event() is not None:
        pass
    client.receive_bytes(server.bytes_to_send())
    while client.next_event() is not None:
        pass
    second = [t for t, _, _ in _records(client.bytes_to_send())]
    assert second == [ContentType.APPLICATION_DATA, ContentType.APPLICATION_DATA]  # EndOfEarlyData, Finished


def test_large_early_data_goes_in_full_records() -> None:
    client_cfg, server_cfg = _configs(40000)
    data = bytes(range(256)) * 140  # 35,840 bytes: three records
    _client, _, _, server_events, first = _resume(client_cfg, server_cfg, data)
    assert [len(p) for t, _, p in _records(first) if t == ContentType.APPLICATION_DATA] == [16384 + 17, 16384 + 17,
                                                                                              3072 + 17]
    assert b"".join(e.data for e in server_events if isinstance(e, ApplicationData) and e.early_data) == data


def test_not_offered_beyond_the_ticket_limit() -> None:
    client_cfg, server_cfg = _configs(10)
    client, _, client_events, server_events, first = _resume(client_cfg, server_cfg, bytes(11))
    hello = ClientHello.parse(_records(first)[0][2][4:])
    assert ext.find_extension(hello.extensions, ExtensionType.EARLY_DATA) is None
    assert completes(client_events).resumed and client.early_data_status == "not sent" and client.early_data_sent == 0
    assert not received(server_events)


def test_not_offered_without_a_ticket_allowing_it() -> None:
    client_cfg, server_cfg = _configs(0)
    client, _, _, _, first = _resume(client_cfg, server_cfg, b"x")
    assert client.early_data_status == "not sent" and len(_records(first)) == 1  # the ClientHello alone


def _rejected(client_cfg: TLSConfig, server_cfg: TLSConfig) -> None:
    client, server, client_events, server_events, _ = _resume(client_cfg, server_cfg, b"early")
    assert completes(client_events).resumed and not completes(client_events).early_data_accepted
    assert client.early_data_status == "rejected" and not received(server_events)
    client.send_data(b"again")
    assert received(pump(client, server)[1]) == b"again"


def test_rejected_when_the_server_takes_none_now() -> None:
    client_cfg, server_cfg = _configs()
    server_cfg.max_early_data = 0
    _rejected(client_cfg, server_cfg)


def test_rejected_for_another_suite_of_the_same_hash() -> None:
    client_cfg, server_cfg = _configs()
    chacha, aes = by_name("TLS_CHACHA20_POLY1305_SHA256"), by_name("TLS_AES_128_GCM_SHA256")
    assert chacha is not None and aes is not None
    server_cfg.cipher_suites = [chacha, aes]  # the ticket is AES-128-GCM's; the PSK (SHA-256) still resumes
    _rejected(client_cfg, server_cfg)


def test_rejected_for_another_alpn() -> None:
    client_cfg, server_cfg = _configs(alpn_protocols=["h2", "http/1.1"])
    server_cfg.alpn_protocols = ["h2", "http/1.1"]
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    pump(client, server)  # the ticket now carries h2
    server_cfg.alpn_protocols = ["http/1.1"]
    _rejected(client_cfg, server_cfg)


def test_rejected_for_a_stale_ticket_age() -> None:
    """The client's age of the ticket is 30 s off the server's: no 0-RTT (§8.3); here no PSK either."""
    client_cfg, server_cfg = _configs()
    store = client_cfg.session_store
    assert store is not None
    session = store.lookup("localhost")
    assert session is not None
    store.store("localhost", dataclasses.replace(session, created=session.created - 30))
    client, _, client_events, server_events, _ = _resume(client_cfg, server_cfg, b"early")
    assert not completes(client_events).early_data_accepted and not received(server_events)
    assert client.early_data_status == "rejected"


def test_psk_ke_both_roles() -> None:
    """psk_ke (§4.2.9): the ServerHello has no key_share, the handshake secret comes from zeros; 0-RTT too."""
    client_cfg, server_cfg = _configs(psk_key_exchange_modes=(ext.PSK_KE,))
    server_cfg.psk_key_exchange_modes = (ext.PSK_DHE_KE, ext.PSK_KE)
    client, _server, client_events, server_events, _ = _resume(client_cfg, server_cfg, b"early")
    done = completes(client_events)
    assert done.resumed and done.key_exchange_group is None and done.early_data_accepted
    assert completes(server_events).key_exchange_group is None
    assert client.tls13_secrets is not None and client.tls13_secrets.shared_secret is None
    assert received(server_events) == b"early"


def test_psk_dhe_ke_preferred_by_the_server() -> None:
    client_cfg, server_cfg = _configs(psk_key_exchange_modes=(ext.PSK_KE, ext.PSK_DHE_KE))
    server_cfg.psk_key_exchange_modes = (ext.PSK_DHE_KE, ext.PSK_KE)
    _, _, client_events, _, first = _resume(client_cfg, server_cfg)
    hello = ClientHello.parse(_records(first)[0][2][4:])
    modes = ext.find_extension(hello.extensions, ExtensionType.PSK_KEY_EXCHANGE_MODES)
    assert modes is not None and ext.parse_psk_key_exchange_modes(modes.data) == [ext.PSK_KE, ext.PSK_DHE_KE]
    assert completes(client_events).resumed and completes(client_events).key_exchange_group is not None


def test_psk_modes_checked() -> None:
    import pytest

    from tlsstate.wire.errors import ConfigurationError

    for modes in ((), (2,), (1, 1)):
        with pytest.raises(ConfigurationError):
            server_config(max_version=T13, psk_key_exchange_modes=modes).check(server_side=True)


def test_psk_ke_after_hello_retry_request() -> None:
    """The server asks for P-256 (HelloRetryRequest), then resumes with psk_ke: no key_share in the ServerHello."""
    from tlsstate.wire.constants import NamedGroup

    client_cfg, server_cfg = _configs(psk_key_exchange_modes=(ext.PSK_KE,),
                                      groups=[NamedGroup.X25519, NamedGroup.SECP256R1])
    server_cfg.psk_key_exchange_modes, server_cfg.groups = (ext.PSK_KE,), [NamedGroup.SECP256R1]
    client, _, client_events, server_events, _ = _resume(client_cfg, server_cfg, b"early")
    done = completes(client_events)
    assert done.hello_retry and done.resumed and done.key_exchange_group is None and not done.early_data_accepted
    assert client.early_data_status == "rejected" and not received(server_events)


def test_early_exporter_when_0rtt_is_sent_and_accepted() -> None:
    """RFC 9846 §7.5, as OpenSSL's SSL_export_keying_material_early: the early exporter is there for a client that
    sent 0-RTT data (before the server answers too) and a server that accepted it; both get the same bytes, not the
    regular exporter's. Without 0-RTT, or on a server that rejected it: ExporterUnavailable."""
    from tlsstate.wire.errors import ExporterUnavailable

    client_cfg, server_cfg = _configs()
    full_client, full_server = Connection(client_config(max_version=T13), server_side=False), \
        Connection(server_config(max_version=T13), server_side=True)
    full_client.start_handshake()
    pump(full_client, full_server)
    for conn in (full_client, full_server):
        with pytest.raises(ExporterUnavailable, match=r"early exporter needs TLS 1\.3 0-RTT data"):
            conn.export_keying_material("EXPORTER-test", b"", 16, early=True)

    client = Connection(client_cfg, server_side=False)
    client.send_early_data(b"early")
    client.start_handshake()
    before = client.export_keying_material("EXPORTER-test", b"ctx", 16, early=True)  # the server has not answered
    server = Connection(server_cfg, server_side=True)
    server.receive_bytes(client.bytes_to_send())
    pump(client, server)
    assert client.early_data_status == "accepted"
    assert server.export_keying_material("EXPORTER-test", b"ctx", 16, early=True) == before
    assert client.export_keying_material("EXPORTER-test", b"ctx", 16, early=True) == before
    assert client.export_keying_material("EXPORTER-test", b"ctx", 16) != before

    server_cfg.max_early_data = 0  # the next connection's early data is rejected
    client, server, _, _, _ = _resume(client_cfg, server_cfg, b"early")
    assert client.early_data_status == "rejected"
    assert len(client.export_keying_material("EXPORTER-test", b"ctx", 16, early=True)) == 16  # it was sent
    with pytest.raises(ExporterUnavailable):
        server.export_keying_material("EXPORTER-test", b"ctx", 16, early=True)
