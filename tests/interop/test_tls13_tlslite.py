"""TLS 1.3 (RFC 9846) with tlslite-ng, an independent pure-Python stack, over loopback: both roles, the three
AEAD suites tlslite has, HelloRetryRequest both ways (§4.1.4) and ticket resumption both ways (§4.6.1, §2.2).

tlslite runs in a thread; each side's report (version, suite, group, resumption) is compared with the other's and
the data by SHA-256. tlslite's crypto is pure Python here (no m2crypto), so the payloads are 64 KiB, not 1 MiB.
"""

from __future__ import annotations

import hashlib
import os
import socket
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from tests.helpers.connections import HOST, credentials
from tests.interop.test_interop_tlslite import _chain, in_thread, recv_exactly
from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import by_name
from tlsstate.io.sockets import TLSSocket
from tlsstate.sessions.cache import SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire.constants import NamedGroup, ProtocolVersion

tlslite = pytest.importorskip("tlslite")
from tlslite import HandshakeSettings, TLSConnection, parsePEMKey  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]
TIMEOUT = 20.0
TLS13 = ProtocolVersion.TLS1_3
PAYLOAD = 64 * 1024
# (tlslite cipher name, our suite)
SUITES = [("aes128gcm", "TLS_AES_128_GCM_SHA256"), ("aes256gcm", "TLS_AES_256_GCM_SHA384"),
          ("chacha20-poly1305", "TLS_CHACHA20_POLY1305_SHA256")]


def _settings(cipher: str = "aes128gcm", groups: list[str] | None = None, shares: list[str] | None = None) -> Any:
    s = HandshakeSettings()
    s.minVersion = s.maxVersion = (3, 4)
    s.cipherNames = [cipher]
    if groups is not None:
        s.eccCurves = groups
    if shares is not None:
        s.keyShares = shares
    return s


def _identity() -> tuple[Any, Any, Any]:
    chain, key = credentials("rsa")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return chain, key, (_chain(chain[0].public_bytes(serialization.Encoding.PEM).decode()),
                        parsePEMKey(key_pem, private=True))


def _tlslite_server(settings: Any, connections: int = 1) -> tuple[socket.socket, Any, dict[str, Any]]:
    """tlslite serving ``connections`` connections: each reads PAYLOAD bytes and answers their SHA-256 + PAYLOAD bytes.

    Returns per connection (resumed, cipher suite id, group id)."""
    _, _, (cert_chain, private_key) = _identity()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> list[tuple[bool, int, int]]:
        views = []
        for _ in range(connections):
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            tls = TLSConnection(conn)
            try:
                tls.handshakeServer(certChain=cert_chain, privateKey=private_key, settings=settings)
                data = recv_exactly(lambda tls=tls: tls.read(max=65536), PAYLOAD)
                tls.write(hashlib.sha256(data).digest() + data[::-1])
                views.append((bool(tls.resumed), tls.session.cipherSuite, tls.ecdhCurve))
            finally:
                tls.close()
        return views

    thread, box = in_thread(serve)
    box["thread"] = thread
    return listener, thread, box


def _our_exchange(tls: TLSSocket) -> None:
    payload = os.urandom(PAYLOAD)
    tls.sendall(payload)
    answer = recv_exactly(tls.recv, 32 + PAYLOAD)
    assert answer[:32] == hashlib.sha256(payload).digest() and answer[32:] == payload[::-1]


def _client_config(**extra: Any) -> TLSConfig:
    return TLSConfig(min_version=TLS13, max_version=TLS13, verify=False, server_name=HOST, **extra)


@pytest.mark.parametrize(("cipher", "suite"), SUITES, ids=[s[1] for s in SUITES])
def test_our_client_against_tlslite_server(cipher: str, suite: str) -> None:
    listener, thread, box = _tlslite_server(_settings(cipher))
    try:
        with TLSSocket.connect("127.0.0.1", listener.getsockname()[1], _client_config(), timeout=TIMEOUT) as tls:
            _our_exchange(tls)
            ours = tls.handshake
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert ours is not None and ours.version == TLS13 and ours.cipher_suite.name == suite
    (resumed, their_suite, group), = box["result"]
    assert not resumed and their_suite == by_name(suite).id and group == ours.key_exchange_group


def _serve_ours(config: TLSConfig, connections: int = 1) -> tuple[socket.socket, Any, dict[str, Any]]:
    """Our server for ``connections`` connections, echoing PAYLOAD bytes reversed; returns each HandshakeComplete."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> list[Any]:
        done = []
        for _ in range(connections):
            conn, _ = listener.accept()
            with TLSSocket(conn, Connection(config, server_side=True), server_side=True, timeout=TIMEOUT) as tls:
                tls.do_handshake()
                data = recv_exactly(tls.recv, PAYLOAD)
                tls.sendall(hashlib.sha256(data).digest() + data[::-1])
                done.append(tls.handshake)
        return done

    thread, box = in_thread(serve)
    return listener, thread, box


def _tlslite_exchange(client: Any) -> None:
    payload = os.urandom(PAYLOAD)
    client.write(payload)
    answer = recv_exactly(lambda: client.read(max=65536), 32 + PAYLOAD)
    assert answer[:32] == hashlib.sha256(payload).digest() and answer[32:] == payload[::-1]


def _server_config(**extra: Any) -> TLSConfig:
    chain, key, _ = _identity()
    return TLSConfig(min_version=TLS13, max_version=TLS13, certificate_chain=[chain[0]], private_key=key, **extra)


@pytest.mark.parametrize(("cipher", "suite"), SUITES, ids=[s[1] for s in SUITES])
def test_tlslite_client_against_our_server(cipher: str, suite: str) -> None:
    listener, thread, box = _serve_ours(_server_config())
    try:
        client = TLSConnection(socket.create_connection(listener.getsockname(), timeout=TIMEOUT))
        try:
            client.handshakeClientCert(settings=_settings(cipher), serverName=HOST)
            _tlslite_exchange(client)
            theirs = (client.version, client.session.cipherSuite, client.ecdhCurve)
        finally:
            client.close()
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    ours, = box["result"]
    assert theirs[0] == (3, 4) and theirs[1] == by_name(suite).id == ours.cipher_suite.id
    assert theirs[2] == ours.key_exchange_group


def test_tlslite_client_gets_hello_retry_from_our_server() -> None:
    """tlslite sends only a secp256r1 share; our server takes only x25519, which tlslite lists: HelloRetryRequest."""
    listener, thread, box = _serve_ours(_server_config(groups=[NamedGroup.X25519]))
    try:
        client = TLSConnection(socket.create_connection(listener.getsockname(), timeout=TIMEOUT))
        try:
            client.handshakeClientCert(settings=_settings(groups=["secp256r1", "x25519"], shares=["secp256r1"]),
                                       serverName=HOST)
            _tlslite_exchange(client)
            group = client.ecdhCurve
        finally:
            client.close()
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    ours, = box["result"]
    assert ours.hello_retry and ours.key_exchange_group == NamedGroup.X25519 and group == NamedGroup.X25519


def test_our_client_gets_hello_retry_from_tlslite_server() -> None:
    """We send only a secp256r1 share and list x25519 too; tlslite's server takes only x25519 and asks for it."""
    listener, thread, box = _tlslite_server(_settings(groups=["x25519"], shares=["x25519"]))
    config = _client_config(groups=[NamedGroup.SECP256R1, NamedGroup.X25519], key_share_groups=[NamedGroup.SECP256R1])
    try:
        with TLSSocket.connect("127.0.0.1", listener.getsockname()[1], config, timeout=TIMEOUT) as tls:
            _our_exchange(tls)
            ours = tls.handshake
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert ours is not None and ours.hello_retry and ours.key_exchange_group == NamedGroup.X25519
    assert box["result"][0][2] == NamedGroup.X25519


def _server_hello_extensions(received: bytes) -> list[int]:
    """The extension types of the ServerHello at the start of what the server sent (RFC 9846 §4.1.3), read here
    from the RFC's layout so that the test does not take our parser's word for it."""
    assert received[0] == 0x16 and received[5] == 0x02  # handshake record, ServerHello
    body = received[9:9 + int.from_bytes(received[6:9], "big")]
    at = 2 + 32
    at += 1 + body[at]  # legacy_session_id_echo
    at += 2 + 1  # cipher_suite, legacy_compression_method
    end = at + 2 + int.from_bytes(body[at:at + 2], "big")
    at += 2
    types = []
    while at < end:
        types.append(int.from_bytes(body[at:at + 2], "big"))
        at += 4 + int.from_bytes(body[at + 2:at + 4], "big")
    return types


def test_our_client_resumes_with_tlslite_ticket() -> None:
    """tlslite's server sends NewSessionTickets (its ticketKeys); our client stores one and resumes with it
    (psk_dhe_ke). tlslite's server reports TLS 1.3 resumptions as not resumed (it always passes resumed=False
    there), so its side is read off the wire: its second ServerHello carries pre_shared_key (41) beside key_share."""
    settings = _settings()
    settings.ticketKeys = [os.urandom(32)]
    listener, thread, box = _tlslite_server(settings, connections=2)
    config = _client_config(session_store=SessionStore())
    handshakes, first_flights = [], []
    try:
        for _ in range(2):
            received = bytearray()
            with TLSSocket.connect("127.0.0.1", listener.getsockname()[1], config, timeout=TIMEOUT,
                                   on_wire=lambda way, data, r=received: r.extend(data) if way == "in" else None) as tls:
                _our_exchange(tls)  # the tickets arrive after the handshake, before the answer
                handshakes.append(tls.handshake)
            first_flights.append(bytes(received))
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert [h.resumed for h in handshakes] == [False, True]
    extensions = [_server_hello_extensions(flight) for flight in first_flights]
    assert 41 not in extensions[0] and 41 in extensions[1] and 51 in extensions[1]  # pre_shared_key, key_share


def test_tlslite_client_resumes_with_our_ticket() -> None:
    """Our server sends tickets; tlslite's client resumes with one (``session=``): both report the resumption."""
    listener, thread, box = _serve_ours(_server_config(ticket_keys=TicketKeys()), connections=2)
    resumed = []
    session = None
    try:
        for _ in range(2):
            client = TLSConnection(socket.create_connection(listener.getsockname(), timeout=TIMEOUT))
            try:
                client.handshakeClientCert(settings=_settings(), serverName=HOST, session=session)
                _tlslite_exchange(client)  # reading the answer also reads our NewSessionTickets
                resumed.append(bool(client.resumed))
                session = client.session
            finally:
                client.close()
    finally:
        thread.join(TIMEOUT)
        listener.close()
    assert "error" not in box, box.get("error")
    assert resumed == [False, True]
    assert [h.resumed for h in box["result"]] == [False, True]
