"""Hostile TLS 1.3 peers (RFC 9846) at the Connection level, both roles: each case ends with the alert the RFC
names (``tests/hostile/cases.py`` TLS13_SERVER_CASES / TLS13_CLIENT_CASES, the README tables), sent to the peer.

Hellos are rewritten in the clear; protected messages are made by the real peer with one step patched (a wrong
Finished, a CertificateVerify with another scheme, a forbidden extension), or sealed with the sender's own traffic
keys (from its key log, or its write state after the handshake) so that the record is valid and only its content
is hostile.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.helpers.connections import credentials
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto import signatures, signatures13
from tlsstate.crypto.suites import by_name
from tlsstate.handshake.tls13 import common as tls13_common
from tlsstate.handshake.tls13 import server as tls13_server
from tlsstate.record.keying import traffic_protection
from tlsstate.record.protection import Tls13InnerPlaintext
from tlsstate.wire import errors
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import AlertDescription, ContentType, ExtensionType, NamedGroup, ProtocolVersion
from tlsstate.wire.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    CertificateVerify,
    ClientHello,
    Extension,
    ServerHello,
    encode_handshake,
)
from tlsstate.wire.messages13 import Certificate13, CertificateRequest13, NewSessionTicket13

from .cases import TLS13_CLIENT_TABLE, TLS13_SERVER_CASES

TLS13 = ProtocolVersion.TLS1_3
A = AlertDescription
SERVER = {case_id: alert for case_id, _, alert in TLS13_SERVER_CASES}
CLIENT = {case_id: alert for case_id, _, alert in TLS13_CLIENT_TABLE}
X25519_ORDER_8 = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


class SecretsLog:
    """A key log writer that keeps the TLS 1.3 secrets in memory (to seal hostile but valid records)."""

    def __init__(self) -> None:
        self.secrets: dict[str, bytes] = {}

    def tls13(self, label: str, client_random: bytes, secret: bytes) -> None:
        self.secrets[label] = secret

    def client_random(self, client_random: bytes, master: bytes) -> None:  # TLS 1.2 lines: not used here
        pass


def configs(**client_kw: Any) -> tuple[TLSConfig, TLSConfig]:
    chain, key = credentials("rsa")
    client = TLSConfig(max_version=TLS13, verify=False, server_name="localhost", **client_kw)
    server = TLSConfig(max_version=TLS13, certificate_chain=[chain[0]], private_key=key)
    return client, server


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    return struct.pack(">BHH", content_type, version, len(payload)) + payload


def records(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        length = struct.unpack(">H", data[pos + 3:pos + 5])[0]
        out.append(data[pos:pos + 5 + length])
        pos += 5 + length
    return out


def feed(conn: Connection, data: bytes) -> None:
    """Give ``conn`` bytes (never b"", which would mean EOF)."""
    if data:
        conn.receive_bytes(data)


def drain(conn: Connection) -> list[object]:
    events = []
    while (event := conn.next_event()) is not None:
        events.append(event)
    return events


def ends_with(conn: Connection, data: bytes, alert: str) -> None:
    """Feeding ``data`` ends ``conn`` with a ProtocolError carrying ``alert``, and that alert is queued for the peer
    (readable by a fresh reader of the bytes: a plaintext or protected alert record)."""
    feed(conn, data)
    with pytest.raises(errors.ProtocolError) as info:
        drain(conn)
    assert info.value.alert.name.lower() == alert, info.value
    last = records(conn.bytes_to_send())[-1]
    assert last[0] in (ContentType.ALERT, ContentType.APPLICATION_DATA)  # the alert, in the clear or protected


def _client_hello_parts(client: Connection) -> tuple[ClientHello, bytes]:
    """The ClientHello the client queued (after a compatibility-mode ChangeCipherSpec, when there is one)."""
    data = client.bytes_to_send()
    last = [r for r in records(data) if r[0] == ContentType.HANDSHAKE][-1]
    return ClientHello.parse(last[9:]), data


def _replace_extension(msg: ClientHello | ServerHello, new: Extension | None, ext_type: int) -> tuple[Extension, ...]:
    out = [e for e in msg.extensions or () if e.type != ext_type]
    if new is not None:
        out.append(new)
    return tuple(out)


def hostile_client_hello(change: Callable[[ClientHello], ClientHello], **client_kw: Any) -> tuple[bytes, Connection]:
    client_cfg, server_cfg = configs(**client_kw)
    client = Connection(client_cfg, server_side=False)
    client.start_handshake()
    hello, _ = _client_hello_parts(client)
    return record(22, encode_handshake(change(hello)), 0x0301), Connection(server_cfg, server_side=True)


def with_share(hello: ClientHello, group: int, value: bytes) -> ClientHello:
    share = ext.build_key_share_client([ext.KeyShareEntry(group, value)])
    return dataclasses.replace(hello, extensions=_replace_extension(hello, share, ExtensionType.KEY_SHARE))


# ------------------------------------------------------------------------------- our server, hostile ClientHello

CLIENT_HELLO_CHANGES: dict[str, Callable[[ClientHello], ClientHello]] = {
    "tls13-ch-share-not-in-groups": lambda h: dataclasses.replace(h, extensions=_replace_extension(
        h, ext.build_supported_groups([NamedGroup.SECP256R1]), ExtensionType.SUPPORTED_GROUPS)),
    "tls13-ch-no-signature-algorithms": lambda h: dataclasses.replace(h, extensions=_replace_extension(
        h, None, ExtensionType.SIGNATURE_ALGORITHMS)),
    "tls13-ch-share-without-groups": lambda h: dataclasses.replace(h, extensions=_replace_extension(
        h, None, ExtensionType.SUPPORTED_GROUPS)),
    "tls13-ch-two-compression-methods": lambda h: dataclasses.replace(h, compression_methods=b"\x00\x01"),
    "tls13-ch-x25519-low-order": lambda h: with_share(h, NamedGroup.X25519, X25519_ORDER_8),
    "tls13-ch-p256-off-curve": lambda h: with_share(h, NamedGroup.SECP256R1, b"\x04" + bytes(range(64))),
    "tls13-ch-hybrid-wrong-length": lambda h: with_share(h, NamedGroup.X25519MLKEM768, bytes(1215)),
    "tls13-ch-versions-none-enabled": lambda h: dataclasses.replace(h, extensions=_replace_extension(
        h, ext.build_supported_versions_client([0x0305, 0x7F1C]), ExtensionType.SUPPORTED_VERSIONS)),
}


@pytest.mark.parametrize("case_id", sorted(CLIENT_HELLO_CHANGES))
def test_server_refuses_hostile_client_hello(case_id: str) -> None:
    groups = {"tls13-ch-p256-off-curve": [NamedGroup.SECP256R1, NamedGroup.X25519],
              "tls13-ch-x25519-low-order": [NamedGroup.X25519]}.get(case_id)
    data, server = hostile_client_hello(CLIENT_HELLO_CHANGES[case_id], groups=groups)
    ends_with(server, data, SERVER[case_id])


def _hello_retry_pair() -> tuple[Connection, Connection, ClientHello]:
    """Our server takes only P-256, our client shares only x25519: the server sends a HelloRetryRequest."""
    client_cfg, server_cfg = configs(groups=[NamedGroup.X25519, NamedGroup.SECP256R1])
    server_cfg.groups = [NamedGroup.SECP256R1]
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    feed(server, client.bytes_to_send())
    assert drain(server) == []
    feed(client, server.bytes_to_send())
    assert drain(client) == []
    second, _ = _client_hello_parts(client)
    return client, server, second


SECOND_HELLO_CHANGES: dict[str, Callable[[ClientHello], ClientHello]] = {
    "tls13-ch2-changed-suites": lambda h: dataclasses.replace(h, cipher_suites=h.cipher_suites[:1]),
    "tls13-ch2-wrong-share-group": lambda h: with_share(h, NamedGroup.X25519, bytes(range(1, 33))),
    "tls13-ch2-without-cookie": lambda h: dataclasses.replace(h, extensions=_replace_extension(
        h, None, ExtensionType.COOKIE)),
    "tls13-ch2-changed-server-name": lambda h: dataclasses.replace(h, extensions=_replace_extension(
        h, ext.build_server_name("other.example"), ExtensionType.SERVER_NAME)),
}


@pytest.mark.parametrize("case_id", sorted(SECOND_HELLO_CHANGES))
def test_server_checks_second_client_hello(case_id: str) -> None:
    _, server, second = _hello_retry_pair()
    ends_with(server, record(22, encode_handshake(SECOND_HELLO_CHANGES[case_id](second))), SERVER[case_id])


def _server_flight(**client_kw: Any) -> tuple[Connection, Connection, SecretsLog, bytes]:
    """Client and server after the server's first flight; the client's secrets in a log (once it reads the flight);
    the server's bytes, not yet given to the client."""
    log = SecretsLog()
    client_cfg, server_cfg = configs(keylog=log, **client_kw)
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    feed(server, client.bytes_to_send())
    drain(server)
    return client, server, log, server.bytes_to_send()


def _sealed(secret: bytes, content_type: int, payload: bytes, seq: int = 0) -> bytes:
    suite = by_name("TLS_AES_128_GCM_SHA256")
    assert suite is not None
    protection = Tls13InnerPlaintext(traffic_protection(suite, secret))
    return protection.seal_record(seq, content_type, 0x0303, payload)


def test_server_refuses_bad_client_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    client, server, _, flight = _server_flight()
    real = tls13_common.Schedule.finished

    def flipped(self: tls13_common.Schedule, base_key: bytes, transcript_hash: bytes) -> bytes:
        value = real(self, base_key, transcript_hash)
        return value if base_key != self.secrets.client_handshake_traffic_secret else bytes([value[0] ^ 1]) + value[1:]

    with monkeypatch.context() as patch:
        patch.setattr(tls13_common.Schedule, "finished", flipped)
        client.receive_bytes(flight)
        drain(client)
    ends_with(server, client.bytes_to_send(), SERVER["tls13-client-finished-verify-data"])


@pytest.mark.parametrize(("case_id", "content_type", "payload"), [
    ("tls13-appdata-before-client-finished", ContentType.APPLICATION_DATA, b"early"),
    ("tls13-protected-ccs", ContentType.CHANGE_CIPHER_SPEC, b"\x01"),
    ("tls13-keyupdate-before-finished", ContentType.HANDSHAKE, b"\x18\x00\x00\x01\x00"),
])
def test_server_refuses_protected_content_before_client_finished(case_id: str, content_type: int, payload: bytes) -> None:
    client, server, log, flight = _server_flight()
    feed(client, flight)
    drain(client)  # the client's Finished stays with it: the server gets the hostile record instead
    hostile = _sealed(log.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], content_type, payload)
    ends_with(server, hostile, SERVER[case_id])


def test_server_refuses_ccs_with_other_value() -> None:
    client_cfg, server_cfg = configs()
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    ends_with(server, client.bytes_to_send() + record(20, b"\x02"), SERVER["tls13-ccs-bad-payload"])


def test_server_refuses_handshake_message_spanning_key_change() -> None:
    client_cfg, server_cfg = configs()
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    (first,) = records(client.bytes_to_send())
    spanning = record(22, first[5:] + b"\x14", 0x0301)  # the ClientHello and the first byte of a Finished
    ends_with(server, spanning, SERVER["tls13-handshake-spans-key-change"])


def connected(**client_kw: Any) -> tuple[Connection, Connection]:
    client_cfg, server_cfg = configs(**client_kw)
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    for _ in range(4):
        feed(server, client.bytes_to_send())
        drain(server)
        feed(client, server.bytes_to_send())
        drain(client)
    assert client.handshake_complete and server.handshake_complete
    return client, server


AFTER_HANDSHAKE: dict[str, Callable[[Connection], bytes]] = {
    "tls13-ccs-after-handshake": lambda c: record(20, b"\x01"),
    "tls13-keyupdate-bad-value": lambda c: c.write_state.seal(22, 0x0303, b"\x18\x00\x00\x01\x02"),
    "tls13-client-hello-after-handshake": lambda c: c.write_state.seal(22, 0x0303, encode_handshake(
        ClientHello(0x0303, bytes(32), b"", (0x1301,), b"\x00", ()))),
    "tls13-ciphertext-overflow": lambda c: record(23, bytes(2**14 + 257)),
    "tls13-inner-all-zeros": lambda c: c.write_state.protection.seal_record(c.write_state.seq, 23, 0x0303, bytes(9)),
}


@pytest.mark.parametrize("case_id", sorted(AFTER_HANDSHAKE))
def test_server_refuses_hostile_records_after_handshake(case_id: str) -> None:
    client, server = connected()
    ends_with(server, AFTER_HANDSHAKE[case_id](client), SERVER[case_id])


def test_server_refuses_inner_plaintext_over_limit() -> None:
    client, server = connected()
    client.write_state.max_plaintext_length = 2**14 + 1  # a peer ignoring the limit
    ends_with(server, client.write_state.seal(23, 0x0303, bytes(2**14 + 1)), SERVER["tls13-inner-plaintext-overflow"])


# ------------------------------------------------------------------------------- our client, hostile server


def _rewrite_server_hello(change: Callable[[ServerHello], ServerHello], **client_kw: Any) -> tuple[Connection, bytes]:
    client, _, _, flight = _server_flight(**client_kw)
    first, *rest = records(flight)
    hello = ServerHello.parse(first[9:])
    return client, record(22, encode_handshake(change(hello))) + b"".join(rest)


def _sh_extension(h: ServerHello, new: Extension | None, ext_type: int) -> ServerHello:
    return dataclasses.replace(h, extensions=_replace_extension(h, new, ext_type))


SERVER_HELLO_CHANGES: dict[str, Callable[[ServerHello], ServerHello]] = {
    "tls13-sh-legacy-version": lambda h: dataclasses.replace(h, version=0x0302),
    "tls13-sh-session-id-echo": lambda h: dataclasses.replace(h, session_id=bytes(32)),
    "tls13-sh-suite-not-offered": lambda h: dataclasses.replace(h, cipher_suite=0x1304),
    "tls13-sh-share-group-not-offered": lambda h: _sh_extension(
        h, ext.build_key_share_server(ext.KeyShareEntry(NamedGroup.SECP384R1, b"\x04" + bytes(96))),
        ExtensionType.KEY_SHARE),
    "tls13-sh-no-key-share": lambda h: _sh_extension(h, None, ExtensionType.KEY_SHARE),
    "tls13-sh-selected-tls12": lambda h: _sh_extension(h, ext.build_supported_versions_server(0x0303),
                                                       ExtensionType.SUPPORTED_VERSIONS),
    "tls13-sh-extension-not-allowed": lambda h: _sh_extension(h, ext.build_empty(ExtensionType.SERVER_NAME),
                                                              ExtensionType.SERVER_NAME),
    "tls13-sh-extension-not-offered": lambda h: _sh_extension(h, ext.build_alpn(["h2"]),
                                                              ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION),
    "tls13-sh-x25519-low-order": lambda h: _sh_extension(
        h, ext.build_key_share_server(ext.KeyShareEntry(NamedGroup.X25519, X25519_ORDER_8)), ExtensionType.KEY_SHARE),
}


@pytest.mark.parametrize("case_id", sorted(SERVER_HELLO_CHANGES))
def test_client_refuses_hostile_server_hello(case_id: str) -> None:
    client, data = _rewrite_server_hello(SERVER_HELLO_CHANGES[case_id], groups=[NamedGroup.X25519])
    ends_with(client, data, CLIENT[case_id])


def _hello_retry_request(extensions: tuple[Extension, ...]) -> bytes:
    return record(22, encode_handshake(ServerHello(0x0303, HELLO_RETRY_REQUEST_RANDOM, b"", 0x1301, 0, extensions)))


def test_client_refuses_second_hello_retry_request() -> None:
    """The server's HelloRetryRequest arrives again after our ClientHello2 (RFC 9846 §4.1.4)."""
    client_cfg, server_cfg = configs(groups=[NamedGroup.X25519, NamedGroup.SECP256R1])
    server_cfg.groups = [NamedGroup.SECP256R1]
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    drain(server)
    hello_retry = records(server.bytes_to_send())[0]
    client.receive_bytes(hello_retry)
    drain(client)
    ends_with(client, hello_retry, CLIENT["tls13-hrr-twice"])


@pytest.mark.parametrize(("case_id", "extensions"), [
    ("tls13-hrr-changes-nothing", (ext.build_supported_versions_server(0x0304),)),
    ("tls13-hrr-group-already-shared", (ext.build_key_share_hello_retry(NamedGroup.X25519),
                                        ext.build_supported_versions_server(0x0304))),
    ("tls13-hrr-group-not-offered", (ext.build_key_share_hello_retry(NamedGroup.FFDHE8192),
                                     ext.build_supported_versions_server(0x0304))),
])
def test_client_refuses_hostile_hello_retry_request(case_id: str, extensions: tuple[Extension, ...]) -> None:
    client_cfg, _ = configs(groups=[NamedGroup.X25519, NamedGroup.SECP256R1], middlebox_compat=False)
    client = Connection(client_cfg, server_side=False)
    client.start_handshake()
    client.bytes_to_send()
    ends_with(client, _hello_retry_request(extensions), CLIENT[case_id])


def test_client_refuses_downgrade_sentinel() -> None:
    """A TLS 1.2 ServerHello whose random ends in DOWNGRD 01 while we offered TLS 1.3 (RFC 9846 §4.1.3)."""
    chain, key = credentials("rsa")
    client = Connection(TLSConfig(max_version=TLS13, verify=False, server_name="localhost"), server_side=False)
    server = Connection(TLSConfig(certificate_chain=[chain[0]], private_key=key), server_side=True)  # TLS 1.2 only
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    drain(server)
    first, *rest = records(server.bytes_to_send())
    length = int.from_bytes(first[6:9], "big")
    hello = ServerHello.parse(first[9:9 + length])
    assert hello.version == 0x0303 and hello.random[24:] != tls13_common.DOWNGRADE_TLS12  # a 1.2-only server: none
    forged = dataclasses.replace(hello, random=hello.random[:24] + tls13_common.DOWNGRADE_TLS12)
    rewritten = record(22, encode_handshake(forged) + first[9 + length:])
    ends_with(client, rewritten + b"".join(rest), CLIENT["tls13-downgrade-sentinel"])


def _tls12_only_server_answer() -> bytes:
    """What a TLS 1.2-only server sends to a client offering TLS 1.2 and 1.3."""
    chain, key = credentials("rsa")
    client = Connection(TLSConfig(max_version=TLS13, verify=False), server_side=False)
    server = Connection(TLSConfig(certificate_chain=[chain[0]], private_key=key), server_side=True)
    client.start_handshake()
    server.receive_bytes(client.bytes_to_send())
    drain(server)
    return server.bytes_to_send()


def test_tls13_only_client_refuses_tls12_server_hello() -> None:
    client = Connection(TLSConfig(min_version=TLS13, max_version=TLS13, verify=False), server_side=False)
    client.start_handshake()
    ends_with(client, _tls12_only_server_answer(), CLIENT["tls13-only-client-tls12-server-hello"])


def test_tls12_only_server_refuses_tls13_only_client_hello() -> None:
    chain, key = credentials("rsa")
    client = Connection(TLSConfig(min_version=TLS13, max_version=TLS13, verify=False), server_side=False)
    server = Connection(TLSConfig(certificate_chain=[chain[0]], private_key=key), server_side=True)
    client.start_handshake()
    ends_with(server, client.bytes_to_send(), SERVER["tls12-server-tls13-only-client-hello"])


def _patched_flight(patch: pytest.MonkeyPatch, target: Any, name: str, value: Any) -> tuple[Connection, bytes]:
    """The server's first flight made with ``target.name`` replaced; the client has not seen it yet."""
    client_cfg, server_cfg = configs()
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    with patch.context() as p:
        p.setattr(target, name, value)
        server.receive_bytes(client.bytes_to_send())
        drain(server)
    return client, server.bytes_to_send()


def _bad_signature(key: Any, scheme: int, transcript_hash: bytes, *, by_server: bool) -> bytes:
    content = signatures13.signed_content(transcript_hash, by_server=by_server)
    signature = signatures.sign(key, content, 0x0303, scheme)
    return bytes([signature[0] ^ 1]) + signature[1:]


def _certificate_only(ctx: Any, scheme: int) -> None:
    ctx.send(Certificate13.of(tuple(c.public_bytes(Encoding.DER) for c in ctx.config.certificate_chain)))


def _pkcs1_authentication(ctx: Any, scheme: int) -> None:
    """Certificate, then a CertificateVerify signed with rsa_pkcs1_sha256, which TLS 1.3 forbids (§4.2.3)."""
    _certificate_only(ctx, scheme)
    content = signatures13.signed_content(ctx.transcript.digest(), by_server=True)
    ctx.send(CertificateVerify(signatures.sign(ctx.config.private_key, content, 0x0303, 0x0401), 0x0401))


def _forbidden_ee(ctx: Any, n: Any, offer: Any) -> list[Extension]:
    return [ext.build_supported_versions_server(0x0304)]


PATCHED: dict[str, tuple[Any, str, Any]] = {
    "tls13-certificate-verify-bad-signature": (signatures13, "sign", _bad_signature),
    "tls13-certificate-verify-pkcs1": (tls13_server, "_send_authentication", _pkcs1_authentication),
    "tls13-finished-before-certificate-verify": (tls13_server, "_send_authentication", _certificate_only),
    "tls13-ee-forbidden-extension": (tls13_server, "_encrypted_extensions", _forbidden_ee),
    "tls13-empty-certificate": (Certificate13, "of", classmethod(lambda cls, ders, context=b"": cls(context, ()))),
}


@pytest.mark.parametrize("case_id", sorted(PATCHED))
def test_client_refuses_hostile_server_flight(case_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client, flight = _patched_flight(monkeypatch, *PATCHED[case_id])
    ends_with(client, flight, CLIENT[case_id])


def test_client_refuses_bad_server_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tls13_common.Schedule.finished

    def flipped(self: tls13_common.Schedule, base_key: bytes, transcript_hash: bytes) -> bytes:
        value = real(self, base_key, transcript_hash)
        return bytes([value[0] ^ 1]) + value[1:]

    client, flight = _patched_flight(monkeypatch, tls13_common.Schedule, "finished", flipped)
    ends_with(client, flight, CLIENT["tls13-server-finished-verify-data"])


@pytest.mark.parametrize(("case_id", "message"), [
    ("tls13-nst-lifetime-over-7-days", encode_handshake(NewSessionTicket13(604801, 1, b"", b"ticket", ()))),
    ("tls13-server-keyupdate-bad-value", b"\x18\x00\x00\x01\x07"),
])
def test_client_refuses_hostile_post_handshake_message(case_id: str, message: bytes) -> None:
    client, server = connected()
    ends_with(client, server.write_state.seal(22, 0x0303, message), CLIENT[case_id])


# ------------------------------------------------------------------------------- resumption (RFC 9846 §4.2.11)


def _resumable() -> tuple[TLSConfig, TLSConfig]:
    """A client that holds a ticket from a first handshake with the server config returned."""
    from tlsstate.sessions.cache import SessionStore
    from tlsstate.sessions.tickets import TicketKeys

    client_cfg, server_cfg = configs(session_store=SessionStore())
    server_cfg.ticket_keys = TicketKeys()
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    for _ in range(4):
        feed(server, client.bytes_to_send())
        drain(server)
        feed(client, server.bytes_to_send())
        drain(client)
    assert client_cfg.session_store is not None and len(client_cfg.session_store) == 1
    return client_cfg, server_cfg


def _resuming_hello(change: Callable[[ClientHello], ClientHello]) -> tuple[bytes, Connection]:
    client_cfg, server_cfg = _resumable()
    client = Connection(client_cfg, server_side=False)
    client.start_handshake()
    hello, _ = _client_hello_parts(client)
    assert hello.extensions is not None and hello.extensions[-1].type == ExtensionType.PRE_SHARED_KEY
    return record(22, encode_handshake(change(hello)), 0x0301), Connection(server_cfg, server_side=True)


def _flip_binder(hello: ClientHello) -> ClientHello:
    assert hello.extensions is not None
    last = hello.extensions[-1]
    return dataclasses.replace(hello, extensions=(*hello.extensions[:-1], Extension(last.type, last.data[:-1] + bytes(
        [last.data[-1] ^ 1]))))


def _psk_not_last(hello: ClientHello) -> ClientHello:
    assert hello.extensions is not None
    return dataclasses.replace(hello, extensions=(hello.extensions[-1], *hello.extensions[:-1]))


def _psk_without_modes(hello: ClientHello) -> ClientHello:
    return dataclasses.replace(hello, extensions=tuple(
        e for e in hello.extensions or () if e.type != ExtensionType.PSK_KEY_EXCHANGE_MODES))


@pytest.mark.parametrize(("case_id", "change"), [
    ("tls13-psk-binder-wrong", _flip_binder),
    ("tls13-psk-not-last", _psk_not_last),
    ("tls13-psk-without-modes", _psk_without_modes),
])
def test_server_refuses_hostile_psk_offer(case_id: str, change: Callable[[ClientHello], ClientHello]) -> None:
    data, server = _resuming_hello(change)
    ends_with(server, data, SERVER[case_id])


def test_client_refuses_psk_identity_it_did_not_offer() -> None:
    client_cfg, server_cfg = _resumable()
    client, server = Connection(client_cfg, server_side=False), Connection(server_cfg, server_side=True)
    client.start_handshake()
    feed(server, client.bytes_to_send())
    drain(server)
    first, *rest = records(server.bytes_to_send())
    hello = ServerHello.parse(first[9:])
    assert ext.find_extension(hello.extensions, ExtensionType.PRE_SHARED_KEY) is not None  # resumed
    forged = _sh_extension(hello, ext.build_pre_shared_key_server(1), ExtensionType.PRE_SHARED_KEY)
    ends_with(client, record(22, encode_handshake(forged)) + b"".join(rest), CLIENT["tls13-sh-psk-identity-not-offered"])


# ------------------------------------------------------------------------------- post-handshake authentication


def test_client_refuses_unsolicited_post_handshake_certificate_request() -> None:
    client, server = connected()  # post_handshake_auth not offered
    request = encode_handshake(CertificateRequest13(b"ctx", (ext.build_signature_algorithms([0x0804]),)))
    ends_with(client, server.write_state.seal(22, 0x0303, request), CLIENT["tls13-unsolicited-certificate-request"])


def test_server_refuses_bad_post_handshake_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    from tlsstate.handshake.tls13 import post_auth

    client, server = connected(post_handshake_auth=True)
    server.request_client_certificate()
    real = post_auth.Exchange.finished
    with monkeypatch.context() as patch:
        patch.setattr(post_auth.Exchange, "finished", lambda self, data: bytes(len(real(self, data))))
        feed(client, server.bytes_to_send())
        drain(client)
    ends_with(server, client.bytes_to_send(), SERVER["tls13-post-handshake-finished-wrong"])
