"""The capture follower's structure and its TLS ≤ 1.2 key path.

- Inside ``tlsstate.capture`` imports point down one order (frames → pcap → tcp → stream/trace → tls12/tls13 →
  session → decrypt → report): lower modules get a protocol or a callback from the follower, never import it.
- :class:`Tls12Keys` finds the master secret in the key log, by resumption (session ID, ticket) from earlier in
  the capture, and reports why not; its protections are the ones the library's one road
  (``connection_keys_for`` + ``protections_for``) gives, so what one side seals the other opens.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tlsstate.capture.keysource import KeySource
from tlsstate.capture.tls12 import CapturedSessions, Tls12Keys
from tlsstate.capture.trace import Derivation
from tlsstate.crypto.negotiated import Negotiated, connection_keys_for
from tlsstate.crypto.suites import by_id
from tlsstate.record.keying import protections_for
from tlsstate.wire.constants import ContentType, ProtocolVersion

CAPTURE = Path(__file__).resolve().parents[3] / "tlsstate" / "capture"
#: bottom up; a module may import only the ones before it
ORDER = ["frames", "pcap", "tcp", "starttls", "keysource", "trace", "groups", "stream", "tls12", "tls13", "session",
         "decrypt", "keycheck", "report", "writer", "export"]

CLIENT_RANDOM, SERVER_RANDOM = bytes(range(32)), bytes(range(32, 64))
MASTER = bytes(range(100, 148))


def _capture_imports(name: str) -> set[str]:
    tree = ast.parse((CAPTURE / f"{name}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tlsstate.capture"):
            parts = node.module.split(".")
            found |= {parts[2]} if len(parts) > 2 else {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("name", ORDER)
def test_capture_imports_point_down(name: str) -> None:
    below = set(ORDER[: ORDER.index(name)])
    assert _capture_imports(name) <= below, f"{name} imports {sorted(_capture_imports(name) - below)}"


def test_every_capture_module_is_ordered() -> None:
    assert {p.stem for p in CAPTURE.glob("*.py")} - {"__init__"} == set(ORDER)


def _negotiated(session_id: bytes = b"\x07" * 32) -> Negotiated:
    suite = by_id(0xC02F)  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    assert suite is not None
    return Negotiated(ProtocolVersion.TLS1_2, suite, CLIENT_RANDOM, SERVER_RANDOM, session_id, ProtocolVersion.TLS1_2)


def test_master_secret_from_the_key_log() -> None:
    keys = KeySource()
    keys.add_keylog_text(f"CLIENT_RANDOM {CLIENT_RANDOM.hex()} {MASTER.hex()}\n", "test")
    path, d = Tls12Keys(keys, CapturedSessions()), Derivation(1)
    assert path.master_secret(_negotiated(), d) == MASTER
    assert [name for name, _v, _s in d.steps] == ["client_random", "server_random", "master_secret"]
    assert "key log CLIENT_RANDOM line 1" in d.steps[-1][2]


def test_resumption_by_session_id_and_ticket() -> None:
    captured = CapturedSessions()
    first = Tls12Keys(KeySource(), captured)
    first.master = MASTER
    n = _negotiated()
    first.remember_session(n)
    first.remember_ticket(b"ticket", MASTER)
    by_id_path = Tls12Keys(KeySource(), captured)
    by_id_path.client_session_id = n.session_id
    assert by_id_path.master_secret(n, Derivation(2)) == MASTER and n.resumed
    n = _negotiated(session_id=b"")
    by_ticket = Tls12Keys(KeySource(), captured)
    by_ticket.offered_ticket = b"ticket"
    d = Derivation(3)
    assert by_ticket.master_secret(n, d) == MASTER and n.resumed
    assert "session ticket" in d.steps[-1][2]


def test_no_master_secret_says_why() -> None:
    path = Tls12Keys(KeySource(), CapturedSessions())
    assert path.master_secret(None, None) is None and "handshake not seen" in path.failure
    path = Tls12Keys(KeySource(), CapturedSessions())
    assert path.master_secret(_negotiated(), Derivation(1)) is None and "master secret is unknown" in path.failure


def test_protection_takes_the_one_road() -> None:
    keys = KeySource()
    keys.add_keylog_text(f"CLIENT_RANDOM {CLIENT_RANDOM.hex()} {MASTER.hex()}\n", "test")
    n, d = _negotiated(), Derivation(1)
    path = Tls12Keys(keys, CapturedSessions())
    road = protections_for(n, connection_keys_for(n, MASTER))
    for writer in ("client", "server"):
        ours = path.protection(n, d, writer)
        assert ours is not None
        sealed = road.for_writer(writer).seal(0, ContentType.APPLICATION_DATA, 0x0303, b"hello")
        assert ours.open(0, ContentType.APPLICATION_DATA, 0x0303, sealed) == b"hello"
    key_steps = [name for name, _v, _s in d.steps if name.endswith(("_key", "_iv"))]
    assert key_steps == ["client_write_mac_key", "server_write_mac_key", "client_write_key", "server_write_key",
                         "client_write_iv", "server_write_iv"]  # explained once, in RFC 5246 §6.3 order
