"""The server's session cache cap (``serve --session-cache-size``): least recently used evicted, size bounded.

- :class:`SessionCache` alone: the cap holds however many sessions are stored, a lookup hit makes a
  session the most recently used, expiry still applies.
- In memory with a real peer (CPython ``ssl``, OpenSSL) doing full handshakes and resumptions against
  one shared cache: the cache never grows past the cap, and exactly the sessions LRU keeps resume.
- ``tlsstate serve --session-cache-size`` with ``openssl s_client -sess_out/-sess_in -no_ticket``:
  s_client's own New/Reused verdicts follow LRU order (not FIFO); 0 disables session-ID resumption.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers.connections import completes, server_config
from tests.helpers.env import require_binary
from tests.helpers.peers import TIMEOUT, SslPeer, exchange, serve, ssl_context
from tlsstate.connection import Connection
from tlsstate.sessions.cache import Session, SessionCache
from tlsstate.wire.constants import ProtocolVersion

pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")


def _session(n: int) -> Session:
    return Session(session_id=n.to_bytes(32, "big"), version=0x0303, cipher_suite=0xC02F,
                   master_secret=bytes(48), extended_master_secret=True)


def test_cap_holds_and_counts_evictions() -> None:
    cache = SessionCache(max_size=5)
    for n in range(1, 101):
        cache.store(_session(n))
        assert len(cache) == min(n, 5)
    assert cache.evictions == 95
    assert [n for n in range(1, 101) if _session(n).session_id in cache] == [96, 97, 98, 99, 100]


def test_lookup_hit_makes_most_recently_used() -> None:
    cache = SessionCache(max_size=2)
    a, b, c = _session(1), _session(2), _session(3)
    cache.store(a)
    cache.store(b)
    assert cache.lookup(a.session_id) == a  # a is now the most recently used: b goes first
    cache.store(c)
    assert cache.lookup(b.session_id) is None
    assert cache.lookup(a.session_id) == a and cache.lookup(c.session_id) == c
    assert len(cache) == 2 and cache.evictions == 1


def test_miss_and_store_again() -> None:
    cache = SessionCache(max_size=2)
    a, b, c = _session(1), _session(2), _session(3)
    cache.store(a)
    cache.store(b)
    assert cache.lookup(c.session_id) is None  # a miss touches nothing
    cache.store(a)  # storing again refreshes a
    cache.store(c)
    assert b.session_id not in cache and a.session_id in cache and c.session_id in cache


def test_expired_session_is_dropped_even_if_recently_used() -> None:
    now = [0.0]
    cache = SessionCache(max_size=3, lifetime=10, clock=lambda: now[0])
    a = _session(1)
    cache.store(a)
    now[0] = 9
    assert cache.lookup(a.session_id) == a  # a use does not extend its lifetime
    now[0] = 11
    assert cache.lookup(a.session_id) is None and len(cache) == 0


def test_bad_sizes_are_refused() -> None:
    for kwargs in ({"max_size": 0}, {"max_size": -1}, {"lifetime": 0}):
        with pytest.raises(ValueError):
            SessionCache(**kwargs)  # type: ignore[arg-type]


def test_shared_cache_with_openssl_clients(tmp_path: Path) -> None:
    """Ten CPython ssl clients, one server cache of 3: it never holds more than 3; the 3 most recent resume,
    an evicted one gets a full handshake (OpenSSL's own session_reused agrees with ours)."""
    version = ProtocolVersion.TLS1_2
    cache = SessionCache(max_size=3)
    ctx = ssl_context(False, version, None, tmp_path, "rsa")
    sessions = []
    for _ in range(10):
        peer = SslPeer(ctx, server_side=False)
        conn = Connection(server_config("rsa", session_cache=cache, min_version=version, max_version=version),
                          server_side=True)
        assert not completes(exchange(conn, peer)).resumed
        sessions.append(peer.obj.session)
        assert len(cache) <= 3
    assert len(cache) == 3 and cache.evictions == 7

    def resume(index: int) -> bool:
        peer = SslPeer(ctx, server_side=False, session=sessions[index])
        conn = Connection(server_config("rsa", session_cache=cache, min_version=version, max_version=version),
                          server_side=True)
        ours = completes(exchange(conn, peer)).resumed
        assert ours == peer.obj.session_reused
        return ours

    assert resume(7)  # cache order, least recent first: 8, 9, 7
    assert not resume(0)  # a full handshake: its new session evicts 8 -> 9, 7, new
    assert resume(9)  # -> 7, new, 9
    assert not resume(8)  # evicted; its full handshake evicts 7
    assert not resume(7)
    assert len(cache) == 3


def _s_client(port: int, *args: str, session_id: list[str] | None = None) -> str:
    """s_client's own verdict, New or Reused; ``session_id`` collects the Session-ID it printed (hex)."""
    openssl = require_binary("openssl")
    out = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", "-no_ticket", *args],
                         input=b"", capture_output=True, timeout=TIMEOUT)
    verdict = re.search(rb"^(New|Reused), TLSv1\.2, Cipher is", out.stdout, re.MULTILINE)
    assert verdict is not None, (out.stdout[-1500:], out.stderr[-800:])
    if session_id is not None:
        found = re.search(rb"^\s*Session-ID: ?([0-9A-F]*)$", out.stdout, re.MULTILINE)
        assert found is not None, out.stdout[-1500:]
        session_id.append(found.group(1).decode())
    return verdict.group(1).decode()


@pytest.mark.interop
def test_serve_session_cache_size_evicts_least_recently_used(tmp_path: Path) -> None:
    """--session-cache-size 2: A, B stored; A resumed (now most recent); C evicts B, not A (FIFO would
    evict A); A still resumes; B gets a full handshake."""
    a, b, c = (tmp_path / f"{name}.pem" for name in "abc")
    with serve(["--count", "6", "--no-tickets", "--session-cache-size", "2"]) as server:
        verdicts = [
            _s_client(server.port, "-sess_out", str(a)),
            _s_client(server.port, "-sess_out", str(b)),
            _s_client(server.port, "-sess_in", str(a)),
            _s_client(server.port, "-sess_out", str(c)),
            _s_client(server.port, "-sess_in", str(a)),
            _s_client(server.port, "-sess_in", str(b)),
        ]
        assert server.finish() == 0
    assert verdicts == ["New", "New", "Reused", "New", "Reused", "New"]
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert [" resumed " in ln for ln in log] == [v == "Reused" for v in verdicts]


@pytest.mark.interop
def test_serve_session_cache_size_zero_disables(tmp_path: Path) -> None:
    """--session-cache-size 0: an empty session ID in ServerHello (RFC 5246 §7.4.1.3), nothing to resume."""
    session = tmp_path / "s.pem"
    ids: list[str] = []
    with serve(["--count", "2", "--no-tickets", "--session-cache-size", "0"]) as server:
        first = _s_client(server.port, "-sess_out", str(session), session_id=ids)
        second = _s_client(server.port, session_id=ids)
        assert server.finish() == 0
    assert (first, second) == ("New", "New") and ids == ["", ""]
    assert not session.exists()  # s_client keeps no session without an ID or a ticket: nothing to resume
    log = [ln for ln in server.lines if not ln.startswith("ACCEPT")]
    assert len(log) == 2 and not any(" resumed " in ln for ln in log)


@pytest.mark.interop
def test_serve_default_cache_gives_session_ids(tmp_path: Path) -> None:
    """The default cache: a 32-byte session ID that s_client resumes with (the control for the test above)."""
    session = tmp_path / "s.pem"
    ids: list[str] = []
    with serve(["--count", "2", "--no-tickets"]) as server:
        first = _s_client(server.port, "-sess_out", str(session), session_id=ids)
        second = _s_client(server.port, "-sess_in", str(session), session_id=ids)
        assert server.finish() == 0
    assert (first, second) == ("New", "Reused")
    assert len(ids[0]) == 64 and ids[1] == ids[0]


def test_serve_rejects_negative_size() -> None:
    from click.testing import CliRunner

    from tlsstate.cli.serve import serve as serve_command

    result = CliRunner().invoke(serve_command, ["--session-cache-size", "-1"])
    assert result.exit_code == 2 and "session-cache-size" in result.output
