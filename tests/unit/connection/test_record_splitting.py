"""1/n-1 record splitting (the BEAST countermeasure) in :class:`~tlsstate.connection.Connection`, both roles.

In SSL 3.0 and TLS 1.0 with a CBC suite each write goes out as a record of its first byte, then the rest
(records of at most 2^14 bytes); TLS 1.1+, RC4 and ``split_cbc_records=False`` send one record per 2^14 bytes.
The records are read off the bytes the connection hands to the transport (the plaintext lengths from the
record lengths: MAC-then-encrypt AES-128-CBC-SHA in TLS 1.0 has no explicit IV, so a record of ``n`` plaintext
bytes is ``16 * ((n + 20) // 16 + 1)`` bytes long).
"""

from __future__ import annotations

import pytest

from tests.helpers.connections import client_config, handshake, server_config
from tlsstate.connection import Connection
from tlsstate.crypto.suites import by_name
from tlsstate.events import ApplicationData
from tlsstate.record import Deframer
from tlsstate.wire.constants import ContentType, ProtocolVersion

AES_CBC, RC4, GCM = "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256"


def connected(version: ProtocolVersion, suite: str, *, client_split: bool = True, server_split: bool = True,
              etm: bool = False) -> tuple[Connection, Connection]:
    found = by_name(suite)
    assert found is not None
    common = {"min_version": version, "max_version": version, "enable_ssl3": True, "cipher_suites": [found],
              "encrypt_then_mac": etm}
    client, server, _, _ = handshake(client_config(**common, split_cbc_records=client_split),
                                     server_config("rsa", **common, split_cbc_records=server_split))
    assert client.handshake_complete and server.handshake_complete
    return client, server


def application_records(wire: bytes) -> list[bytes]:
    deframer = Deframer()
    deframer.feed(wire)
    return [bytes(r.fragment) for r in deframer if r.content_type == ContentType.APPLICATION_DATA]


def plaintexts(receiver: Connection, wire: bytes) -> list[bytes]:
    """What ``receiver`` reads from ``wire``, one entry per record."""
    receiver.receive_bytes(wire)
    out = []
    while (event := receiver.next_event()) is not None:
        assert isinstance(event, ApplicationData)
        out.append(event.data)
    return out


def mte_cbc_sha_length(plaintext_length: int) -> int:
    return 16 * ((plaintext_length + 20) // 16 + 1)


SPLIT = [(ProtocolVersion.SSL3, AES_CBC), (ProtocolVersion.TLS1_0, AES_CBC),
         (ProtocolVersion.TLS1_0, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"), (ProtocolVersion.TLS1_0, "TLS_RSA_WITH_AES_256_CBC_SHA")]
NO_SPLIT = [(ProtocolVersion.TLS1_0, RC4), (ProtocolVersion.TLS1_1, AES_CBC), (ProtocolVersion.TLS1_2, AES_CBC),
            (ProtocolVersion.TLS1_2, GCM), (ProtocolVersion.SSL3, RC4)]


@pytest.mark.parametrize("role", ["client", "server"])
@pytest.mark.parametrize(("version", "suite"), SPLIT, ids=lambda v: getattr(v, "label", v))
def test_first_byte_in_a_record_of_its_own(role: str, version: ProtocolVersion, suite: str) -> None:
    client, server = connected(version, suite)
    sender, receiver = (client, server) if role == "client" else (server, client)
    for message in (b"GET / HTTP/1.0\r\n\r\n", b"second write", b"xy"):
        sender.send_data(message)
        wire = sender.bytes_to_send()
        assert len(application_records(wire)) == 2
        assert plaintexts(receiver, wire) == [message[:1], message[1:]]


def test_record_lengths_on_the_wire() -> None:
    """TLS 1.0 AES-128-CBC-SHA MtE: a 1-byte record is 32 bytes (1 + 20 MAC + 11 padding), the rest follows."""
    client, _server = connected(ProtocolVersion.TLS1_0, AES_CBC)
    message = bytes(100)
    client.send_data(message)
    assert [len(r) for r in application_records(client.bytes_to_send())] == [32, mte_cbc_sha_length(99)]


def test_encrypt_then_mac_is_split_too() -> None:
    """EtM (RFC 7366) changes the MAC, not the TLS 1.0 IV chaining: still split."""
    client, server = connected(ProtocolVersion.TLS1_0, AES_CBC, etm=True)
    assert client.security is not None and client.security.encrypt_then_mac
    server.send_data(b"abc")
    assert plaintexts(client, server.bytes_to_send()) == [b"a", b"bc"]


def test_large_write() -> None:
    """1 byte, then the remaining 40,000 bytes in records of at most 2^14."""
    client, server = connected(ProtocolVersion.TLS1_0, AES_CBC)
    message = bytes(range(256)) * 157  # 40,192 bytes
    client.send_data(message)
    got = plaintexts(server, client.bytes_to_send())
    assert [len(p) for p in got] == [1, 16384, 16384, len(message) - 1 - 2 * 16384]
    assert b"".join(got) == message


def test_one_byte_write_is_one_record() -> None:
    client, server = connected(ProtocolVersion.TLS1_0, AES_CBC)
    client.send_data(b"z")
    assert plaintexts(server, client.bytes_to_send()) == [b"z"]


def test_data_queued_before_the_handshake_is_split() -> None:
    found = by_name(AES_CBC)
    common = {"min_version": ProtocolVersion.TLS1_0, "max_version": ProtocolVersion.TLS1_0, "cipher_suites": [found]}
    client = Connection(client_config(**common), server_side=False)
    server = Connection(server_config("rsa", **common), server_side=True)
    client.start_handshake()
    client.send_data(b"early")
    events = []
    for _ in range(10):
        server.receive_bytes(client.bytes_to_send())
        while (event := server.next_event()) is not None:
            events.append(event)
        client.receive_bytes(server.bytes_to_send())
        while client.next_event() is not None:
            pass
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"e", b"arly"]


@pytest.mark.parametrize(("version", "suite"), NO_SPLIT, ids=lambda v: getattr(v, "label", v))
def test_no_split_elsewhere(version: ProtocolVersion, suite: str) -> None:
    client, server = connected(version, suite)
    client.send_data(b"hello")
    server.send_data(b"world")
    assert plaintexts(server, client.bytes_to_send()) == [b"hello"]
    assert plaintexts(client, server.bytes_to_send()) == [b"world"]


@pytest.mark.parametrize("role", ["client", "server"])
def test_switched_off(role: str) -> None:
    """``split_cbc_records=False`` on one side: that side sends one record; the other still splits."""
    client, server = connected(ProtocolVersion.TLS1_0, AES_CBC, client_split=role != "client",
                               server_split=role != "server")
    quiet, splitting = (client, server) if role == "client" else (server, client)
    quiet.send_data(b"hello")
    splitting.send_data(b"world")
    assert plaintexts(splitting, quiet.bytes_to_send()) == [b"hello"]
    assert plaintexts(quiet, splitting.bytes_to_send()) == [b"w", b"orld"]
