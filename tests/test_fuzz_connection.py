"""Property tests (issue 5, item 2): hostile byte streams into a whole Connection, server and client.

Inputs are the real byte streams of live handshakes (fuzz/corpus.py) with a few edits, captured peers'
flights, or random bytes, fed in random chunk sizes. The only acceptable outcomes are progress or a typed
ProtocolError/AlertReceived/ConnectionClosed with an alert; a fatal error must be sticky; an InternalError
made by Connection._guard from a non-tlsstate exception counts as the bug it hides (fuzz/targets.py).
"Any chunking of a valid handshake gives the same events" is test_handshake.py's (not repeated here).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import corpus, targets
from fuzz.strategies import mutated
from tlsstate.connection import Connection
from tlsstate.handshake.server import ServerHandshake

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _server_seeds() -> list[bytes]:
    return [s[:3000] for s in corpus.seeds("server")]


def _client_seeds() -> list[bytes]:
    return [s[:6000] for s in corpus.seeds("client")]


def test_live_seed_streams_drive_a_fresh_server_deep() -> None:
    """Unmodified client flights from the live handshakes take a new server past the key exchange (the
    seeds reach deep states; only Finished can fail, since the server's random differs)."""
    states = set()
    for version, _kx, index, c2s, _s2c, _line in corpus.live_handshakes():
        server = Connection(targets.server_configs()[index](), server_side=True)
        server.receive_bytes(c2s)
        try:
            while server.next_event() is not None:
                pass
        except Exception as exc:
            states.add((version, type(exc).__name__, server.handshake_state))
        else:
            states.add((version, "ok", server.handshake_state))
    reached = {state for _v, _e, state in states}
    assert reached & {"ServerWaitFinished", "ServerWaitChangeCipherSpec", "ServerWaitClientKeyExchange"}, states


@SETTINGS
@given(st.one_of(mutated(_server_seeds()), st.binary(min_size=2, max_size=400)), st.integers(0, 255))
def test_server_survives_hostile_streams(data: bytes, chunk: int) -> None:
    targets.fuzz_server(data[:1] + bytes([chunk]) + data[2:])


@SETTINGS
@given(st.one_of(mutated(_client_seeds()), st.binary(min_size=2, max_size=400)), st.integers(0, 255))
def test_client_survives_hostile_streams(data: bytes, chunk: int) -> None:
    targets.fuzz_client(data[:1] + bytes([chunk]) + data[2:])


def test_connection_target_sees_bugs_behind_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connection turns a crash into InternalError + alert; the fuzz target re-raises the crash itself."""
    def broken(self: object, raw: object) -> None:
        raise KeyError("planted bug")

    monkeypatch.setattr(ServerHandshake, "handle_message", broken)
    seed = next(s for s in corpus.seeds("server") if s[1] == 0)
    with pytest.raises(KeyError, match="planted"):
        targets.fuzz_server(seed)
