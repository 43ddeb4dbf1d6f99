"""RFC 5077 §3.3 ticket renewal and the ticket key rotation schedule (tlsstate.sessions.tickets).

- Keys rotate every ``rotation_interval`` seconds; the previous period's key still opens tickets, older
  keys do not.
- A resumption with a ticket sealed under the previous key, or past ``renew_after`` of its lifetime, gets
  a NewSessionTicket in the abbreviated handshake. The real peer shows it: OpenSSL (CPython ``ssl``)
  resumes later with the renewed session where the original ticket is refused; ``openssl s_client``
  prints a different ticket, under a different key name, after ``serve --ticket-key-rotation`` rotated.
- A fresh ticket under the current key is not renewed; no session outlives ``max_session_age``.
The server's clock is a fake one in memory; the live test waits for one real rotation.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.connections import HOST, client_config, completes, handshake, server_config
from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, SslPeer, exchange, serve, ssl_context, transfer
from tlsstate.connection import Connection
from tlsstate.sessions.cache import Session, SessionStore
from tlsstate.sessions.tickets import MAX_TICKET_LENGTH, TicketKeys
from tlsstate.wire.constants import ProtocolVersion

pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")

VERSION = ProtocolVersion.TLS1_2


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _openssl_resumer(keys: TicketKeys, tmp_path: Path) -> Callable[[object], tuple[bool, object]]:
    """A function: (ssl session or None) -> (resumed, the ssl client's session afterwards), against our server."""
    ctx = ssl_context(False, VERSION, None, tmp_path, "rsa")

    def connect(session: object) -> tuple[bool, object]:
        peer = SslPeer(ctx, server_side=False, session=session)  # type: ignore[arg-type]
        conn = Connection(server_config("rsa", ticket_keys=keys, min_version=VERSION, max_version=VERSION),
                          server_side=True)
        ours = completes(exchange(conn, peer)).resumed
        assert ours == peer.obj.session_reused  # OpenSSL agrees
        transfer(conn, peer, 64)  # the session (and any new ticket) is kept once the handshake is done
        return ours, peer.obj.session

    return connect


def test_ticket_past_half_lifetime_is_renewed_for_openssl(tmp_path: Path) -> None:
    clock = Clock()
    keys = TicketKeys(lifetime=100, clock=clock)
    connect = _openssl_resumer(keys, tmp_path)
    resumed, s1 = connect(None)
    assert not resumed
    clock.now += 60  # more than half of the 100 s lifetime used: the resumption renews
    resumed, s2 = connect(s1)
    assert resumed
    clock.now += 70  # the first ticket is 130 s old (expired), the renewed one 70 s
    assert connect(s1)[0] is False
    assert connect(s2)[0] is True


def test_ticket_under_previous_key_is_renewed_for_openssl(tmp_path: Path) -> None:
    clock = Clock()
    keys = TicketKeys(lifetime=1000, rotation_interval=100, clock=clock)
    connect = _openssl_resumer(keys, tmp_path)
    _, s1 = connect(None)
    clock.now += 150  # period 1: the first ticket's key is the previous one
    resumed, s2 = connect(s1)
    assert resumed
    clock.now += 100  # period 2: the first key is gone, the renewed ticket's key is the previous one
    assert connect(s1)[0] is False
    assert connect(s2)[0] is True


def _our_client_ticket(store: SessionStore, keys: TicketKeys) -> tuple[bool, bytes]:
    _, _, events, _ = handshake(client_config(session_store=store), server_config("rsa", ticket_keys=keys))
    session = store.lookup(HOST)
    assert session is not None
    return completes(events).resumed, session.ticket


def test_fresh_ticket_is_not_renewed() -> None:
    clock = Clock()
    keys = TicketKeys(lifetime=100, clock=clock)
    store = SessionStore()
    resumed, first = _our_client_ticket(store, keys)
    assert not resumed and first
    clock.now += 10
    assert _our_client_ticket(store, keys) == (True, first)  # no NewSessionTicket: the client keeps the old one
    clock.now += 45  # 55 s: past half
    resumed, renewed = _our_client_ticket(store, keys)
    assert resumed and renewed != first and renewed[:16] == first[:16]  # same (current) key, new ticket


def test_session_age_caps_renewals() -> None:
    clock = Clock()
    keys = TicketKeys(lifetime=100, clock=clock, max_session_age=150)
    store = SessionStore()
    assert not _our_client_ticket(store, keys)[0]
    for _ in range(2):  # renewed at 60 and 120 s
        clock.now += 60
        assert _our_client_ticket(store, keys)[0]
    clock.now += 40  # ticket 40 s old, but the session 160 s: a full handshake
    assert not _our_client_ticket(store, keys)[0]


def test_rotation_schedule() -> None:
    clock = Clock()
    keys = TicketKeys(lifetime=1000, rotation_interval=10, clock=clock)
    session = Session(session_id=b"", version=0x0303, cipher_suite=0xC02F, master_secret=bytes(range(48)),
                      extended_master_secret=True)
    t0 = keys.seal(session)
    clock.now += 9.9
    assert keys.seal(session)[:16] == t0[:16]  # same period, same key
    opened = keys.open_ticket(t0)
    assert opened is not None and opened.current_key and not keys.needs_renewal(opened)
    clock.now += 0.2  # period 1
    t1 = keys.seal(session)
    assert t1[:16] != t0[:16]
    opened = keys.open_ticket(t0)
    assert opened is not None and not opened.current_key and keys.needs_renewal(opened)
    clock.now += 10  # period 2: t0's key is gone, t1's is the previous one
    assert keys.open(t0) is None and keys.open(t1) is not None
    clock.now += 25  # idle for more than two periods: both gone
    assert keys.open(t1) is None
    assert keys.open(keys.seal(session)) is not None


def test_bad_schedules_are_refused() -> None:
    for kwargs in ({"lifetime": 0}, {"rotation_interval": 0}, {"max_session_age": -1}):
        with pytest.raises(ValueError):
            TicketKeys(**kwargs)  # type: ignore[arg-type]


def test_huge_client_chain_keeps_ticket_within_rfc5077_limit() -> None:
    """RFC 5077 §3.3 ``ticket<0..2^16-1>``: a client chain too big for it is cut to its leaf."""
    keys = TicketKeys()
    chain = (b"L" * 20000, b"I" * 30000, b"R" * 30000)
    session = Session(session_id=b"", version=0x0303, cipher_suite=0xC02F, master_secret=bytes(48),
                      extended_master_secret=True, peer_certificates=chain)
    ticket = keys.seal(session)
    assert len(ticket) <= MAX_TICKET_LENGTH
    opened = keys.open(ticket)
    assert opened is not None and opened.peer_certificates == chain[:1]
    small = keys.open(keys.seal(Session(**{**session.__dict__, "peer_certificates": chain[:2]})))
    assert small is not None and small.peer_certificates == chain[:2]


def _printed_ticket(stdout: str) -> bytes:
    """The ticket s_client prints under "TLS session ticket:" (its hex dump)."""
    _, sep, rest = stdout.partition("TLS session ticket:\n")
    assert sep, stdout[-1500:]
    data = bytearray()
    for line in rest.splitlines():
        match = re.match(r"^\s*[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})", line)
        if not match:
            break
        data += bytes.fromhex(match.group(1).replace("-", " "))
    return bytes(data)


def _s_client(port: int, *args: str) -> tuple[str, bytes]:
    openssl = require_binary("openssl")
    out = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", *args],
                         input=b"hi\n", capture_output=True, timeout=TIMEOUT)
    text = out.stdout.decode(errors="replace")
    verdict = re.search(r"^(New|Reused), TLSv1\.2", text, re.MULTILINE)
    assert verdict is not None, (text[-1500:], out.stderr.decode(errors="replace")[-800:])
    return verdict.group(1), _printed_ticket(text)


@pytest.mark.interop
def test_s_client_gets_new_ticket_after_rotation(tmp_path: Path) -> None:
    """serve --ticket-key-rotation 3: s_client -sess_in after one rotation is resumed and shown a new ticket
    under a new key name; right after the first connection (same period) the same ticket stays."""
    session = tmp_path / "session.pem"
    with serve(["--count", "3", "--session-cache-size", "0", "--ticket-key-rotation", "3"]) as server:
        ready = time.monotonic()  # the ticket keys were made before the ACCEPT line: period 1 starts before ready + 3
        first = _s_client(server.port, "-sess_out", str(session))
        same_period = _s_client(server.port, "-sess_in", str(session))
        time.sleep(max(0.0, ready + 3.3 - time.monotonic()))
        rotated = _s_client(server.port, "-sess_in", str(session))
        assert server.finish() == 0
    assert first[0] == "New" and len(first[1]) > 16
    assert same_period == ("Reused", first[1])
    assert rotated[0] == "Reused" and rotated[1] != first[1] and rotated[1][:16] != first[1][:16]
