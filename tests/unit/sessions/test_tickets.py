"""RFC 5077 session tickets against OpenSSL (CPython ``ssl`` over MemoryBIO) and hostile tickets in memory.

Our server issues tickets to an OpenSSL client that resumes with them (OpenSSL reports session_reused);
our client stores an OpenSSL server's ticket and resumes with it. A tampered, unknown-key or expired
ticket falls back to a full handshake; a rotated-out key too, while the previous key still opens.
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from tests.helpers.connections import HOST, client_config, completes, handshake, server_config
from tests.helpers.connections import dhparam_file as _dhparam_file
from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, SslPeer, exchange, serve, ssl_context, transfer
from tlsstate.connection import Connection
from tlsstate.crypto.suites import by_name
from tlsstate.sessions.cache import SessionStore
from tlsstate.sessions.tickets import TicketKeys
from tlsstate.wire.constants import NamedGroup, ProtocolVersion

pytestmark = [
    pytest.mark.interop,
    pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields"),
]

CASES = [
    (ProtocolVersion.TLS1_2, "ECDHE-RSA-AES128-GCM-SHA256"),
    (ProtocolVersion.TLS1_2, "AES256-SHA256"),
    (ProtocolVersion.TLS1_1, "ECDHE-RSA-AES128-SHA"),
    (ProtocolVersion.TLS1_0, "DHE-RSA-AES256-SHA"),
]
IDS = [f"{v.cli_name}-{n}" for v, n in CASES]


@pytest.fixture(scope="module")
def pem_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tickets")


@pytest.mark.parametrize(("version", "name"), CASES, ids=IDS)
def test_openssl_client_resumes_with_our_ticket(pem_dir: Path, version: ProtocolVersion, name: str) -> None:
    keys = TicketKeys()
    ctx = ssl_context(False, version, by_name(name), pem_dir, "rsa")
    first = SslPeer(ctx, server_side=False)
    conn = Connection(server_config("rsa", ticket_keys=keys, min_version=version, max_version=version), server_side=True)
    assert not completes(exchange(conn, first)).resumed
    transfer(conn, first, 100)  # OpenSSL keeps the session (and our ticket) once the handshake is done
    session = first.obj.session
    assert session is not None and session.has_ticket
    second = SslPeer(ctx, server_side=False, session=session)
    conn2 = Connection(server_config("rsa", ticket_keys=keys, min_version=version, max_version=version), server_side=True)
    assert completes(exchange(conn2, second)).resumed  # no session cache: only the ticket can do it
    assert second.obj.session_reused
    transfer(conn2, second, 5000)


@pytest.mark.parametrize(("version", "name"), CASES, ids=IDS)
def test_our_client_resumes_with_openssl_ticket(pem_dir: Path, version: ProtocolVersion, name: str) -> None:
    ctx = ssl_context(True, version, by_name(name), pem_dir, "rsa")
    if name.startswith("DHE"):
        ctx.set_ciphers(f"{name}:@SECLEVEL=0")
        ctx.load_dh_params(_dhparam_file(pem_dir, NamedGroup.FFDHE2048))
    store = SessionStore()
    cfg = client_config(session_store=store, min_version=version, max_version=version)
    conn = Connection(cfg, server_side=False)
    conn.start_handshake()
    exchange(conn, first := SslPeer(ctx, server_side=True))
    transfer(conn, first, 100)
    stored = store.lookup(HOST)
    assert stored is not None and stored.ticket  # OpenSSL's NewSessionTicket was read and kept
    conn2 = Connection(client_config(session_store=store, min_version=version, max_version=version), server_side=False)
    conn2.start_handshake()
    second = SslPeer(ctx, server_side=True)
    assert completes(exchange(conn2, second)).resumed
    assert second.obj.session_reused
    transfer(conn2, second, 5000)


def _first_and_second(keys_first: TicketKeys, keys_second: TicketKeys, tamper: bool = False) -> tuple[bool, bool]:
    store = SessionStore()
    _, _, events, _ = handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys_first))
    first = completes(events).resumed
    if tamper:
        session = store.lookup(HOST)
        assert session is not None and session.ticket
        flipped = bytearray(session.ticket)
        flipped[-5] ^= 0x01
        store.store(HOST, dataclasses.replace(session, ticket=bytes(flipped)))
    _, _, events, server_events = handshake(
        client_config(session_store=store), server_config("rsa", ticket_keys=keys_second)
    )
    assert completes(server_events).resumed == completes(events).resumed
    return first, completes(events).resumed


def test_in_memory_ticket_resumption() -> None:
    keys = TicketKeys()
    assert _first_and_second(keys, keys) == (False, True)


def test_tampered_ticket_gives_full_handshake() -> None:
    keys = TicketKeys()
    assert _first_and_second(keys, keys, tamper=True) == (False, False)


def test_unknown_key_gives_full_handshake() -> None:
    assert _first_and_second(TicketKeys(), TicketKeys()) == (False, False)


def test_expired_ticket_gives_full_handshake() -> None:
    now = [1_000_000.0]
    keys = TicketKeys(lifetime=60, clock=lambda: now[0])
    store = SessionStore()
    handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys))
    now[0] += 61
    _, _, events, _ = handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys))
    assert not completes(events).resumed


def test_rotation_keeps_previous_key_only() -> None:
    keys = TicketKeys()
    store = SessionStore()
    handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys))
    ticket = store.lookup(HOST)
    assert ticket is not None
    keys.rotate()
    _, _, events, _ = handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys))
    assert completes(events).resumed  # the previous key opens it
    store.store(HOST, ticket)
    keys.rotate()
    _, _, events, _ = handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys))
    assert not completes(events).resumed  # two rotations later: unknown key name


def test_ticket_contents_are_not_plaintext() -> None:
    keys = TicketKeys()
    store = SessionStore()
    handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys))
    session = store.lookup(HOST)
    assert session is not None
    assert session.master_secret not in session.ticket
    assert keys.open(session.ticket[:-1] + bytes([session.ticket[-1] ^ 1])) is None
    opened = keys.open(session.ticket)
    assert opened is not None and opened.master_secret == session.master_secret


def test_no_tickets_when_disabled() -> None:
    store = SessionStore()
    handshake(client_config(session_store=store, session_tickets=False), server_config("rsa", ticket_keys=TicketKeys()))
    session = store.lookup(HOST)
    assert session is None or not session.ticket


def test_s_client_sess_out_sess_in_against_serve(tmp_path: Path) -> None:
    openssl = require_binary("openssl")
    session_file = tmp_path / "session.pem"
    with serve(["--count", "2", "--tickets"]) as server:
        runs = []
        for flag in ("-sess_out", "-sess_in"):
            runs.append(subprocess.run(
                [openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2", flag, str(session_file)],
                input=b"hi\n", capture_output=True, timeout=TIMEOUT,
            ))
        server.finish()
    assert b"New, TLSv1.2" in runs[0].stdout and b"TLS session ticket:" in runs[0].stdout, runs[0].stderr
    assert b"Reused, TLSv1.2" in runs[1].stdout, runs[1].stderr


def test_serve_no_tickets_issues_none(tmp_path: Path) -> None:
    openssl = require_binary("openssl")
    with serve(["--count", "1", "--no-tickets"]) as server:
        out = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{server.port}", "-tls1_2"],
                             input=b"hi\n", capture_output=True, timeout=TIMEOUT)
        server.finish()
    assert b"New, TLSv1.2" in out.stdout and b"TLS session ticket:" not in out.stdout
