"""``tlsstate keylog check``: which key log lines a capture's connections use, which they still need, and what is
wrong with the rest ("why doesn't it decrypt?").

The capture is decrypted once with the key logs (:class:`~tlsstate.capture.decrypt.Decryption`; key logs inside a
pcapng capture, Decryption Secrets Blocks, are checked like the files), so "covered"
means what decryption found, not a guess: a connection is covered when none of its records failed for want of a
key or for a wrong key. Beside that, each line of each key log (:func:`~tlsstate.wire.keylog.scan_keylog`) is matched
to the connections by what it is keyed by (NSS key log format: the client random; ``RSA``: the encrypted
premaster's first 8 bytes; ``RSA Session-ID``: the session ID), and the labels a connection needs are listed: TLS 1.3
(RFC 8446 §7.1) the four handshake and application traffic secrets (plus the early one when 0-RTT data needed it;
later KeyUpdate generations are derived, §7.2), TLS ≤ 1.2 one master secret or premaster per handshake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlsstate.capture.decrypt import ConnectionResult, Decryption
from tlsstate.capture.keysource import KeySource
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError
from tlsstate.wire.keylog import TLS13_LABELS, KeyLogEntry, scan_keylog

__all__ = ["ConnectionCheck", "KeylogCheck", "check_keylogs"]

REQUIRED_TLS13 = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                  "SERVER_TRAFFIC_SECRET_0")
TLS12_BY_RANDOM = ("CLIENT_RANDOM", "PMS_CLIENT_RANDOM")
KEY_CAUSES = frozenset({"missing_secret", "wrong_key", "missing_key_material"})  # what more key log lines would fix
REPEATED_LABELS = frozenset({"CLIENT_TRAFFIC_SECRET_N", "SERVER_TRAFFIC_SECRET_N"})  # OpenSSL repeats these by design
RSA_PREMASTER_LENGTH = 48  # RFC 5246 §7.4.7.1


def _by_client_random(label: str) -> bool:
    return label in TLS12_BY_RANDOM or label in TLS13_LABELS or label.startswith(("CLIENT_TRAFFIC_SECRET_",
                                                                                "SERVER_TRAFFIC_SECRET_"))


def _short(value: bytes) -> str:
    return f"{value.hex()[:16]}…"


@dataclass
class ConnectionCheck:
    """One TLS connection: the lines that match it, the labels it still needs, what is wrong."""

    number: int
    client: str
    server: str
    version: str
    cipher_suite: str
    client_randoms: list[str]
    matched: list[KeyLogEntry] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    covered: bool = True

    def to_json(self) -> dict[str, Any]:
        """One element of ``connections`` in ``--json``."""
        return {
            "connection": self.number, "client": self.client, "server": self.server, "version": self.version,
            "cipher_suite_name": self.cipher_suite, "client_randoms": self.client_randoms, "covered": self.covered,
            "matched_lines": [{"file": e.source, "line": e.line, "label": e.label} for e in self.matched],
            "missing_labels": self.missing, "problems": self.problems,
        }


@dataclass
class KeylogCheck:
    """The whole answer: per connection, and per key log line that is unused, repeated, malformed or the wrong size."""

    connections: list[ConnectionCheck]
    unmatched: list[KeyLogEntry]
    duplicates: list[tuple[KeyLogEntry, KeyLogEntry]]  # same label, key and secret
    conflicts: list[tuple[KeyLogEntry, KeyLogEntry]]  # same label and key, another secret (the later one is used)
    malformed: list[tuple[str, int, str]]  # file, line, problem
    wrong_length: list[tuple[KeyLogEntry, int, int]]  # entry, expected length, connection number
    capture_error: str | None = None

    @property
    def covered(self) -> bool:
        """Whether every connection has the keys it needs."""
        return all(c.covered for c in self.connections)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        def line(e: KeyLogEntry) -> dict[str, Any]:
            return {"file": e.source, "line": e.line, "label": e.label, "key": e.key.hex()}

        return {
            "covered": self.covered,
            "connections": [c.to_json() for c in self.connections],
            "unmatched_lines": [line(e) for e in self.unmatched],
            "duplicate_lines": [{"first": line(a), "again": line(b)} for a, b in self.duplicates],
            "conflicting_lines": [{"first": line(a), "used": line(b)} for a, b in self.conflicts],
            "malformed_lines": [{"file": f, "line": n, "problem": p} for f, n, p in self.malformed],
            "wrong_length": [{**line(e), "length": len(e.secret), "expected": want, "connection": n}
                             for e, want, n in self.wrong_length],
            "capture_error": self.capture_error,
        }


def check_keylogs(capture: str | Path, keylogs: list[Path]) -> KeylogCheck:
    """Check ``keylogs`` against ``capture``. Raises ConfigurationError for an unreadable key log and
    CaptureError / OSError for an unreadable capture."""
    keys = KeySource()
    entries: list[KeyLogEntry] = []
    malformed: list[tuple[str, int, str]] = []
    for path in keylogs:
        try:
            text = Path(path).read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            raise ConfigurationError(f"cannot read key log {path}: {exc.strerror}") from None
        found, bad = scan_keylog(text, str(path))
        entries += found
        malformed += [(str(path), number, problem) for number, problem in bad]
        keys.add_keylog_text(text, str(path))
    run = Decryption(capture, keys)
    connections = list(run)
    source = f"{capture} (Decryption Secrets Block)"
    for text in run.keylog_text:  # key logs inside the capture count like the files (pcapng DSB)
        found, bad = scan_keylog(text, source)
        entries += found
        malformed += [(source, number, problem) for number, problem in bad]
    checks = [_check_connection(conn, entries) for conn in connections]
    used = {id(e) for c in checks for e in c.matched}
    duplicates, conflicts = _repeats(entries)
    wrong = [(e, want, c.number) for c in checks for e, want in _wrong_lengths(connections[c.number], c.matched)]
    return KeylogCheck(checks, [e for e in entries if id(e) not in used], duplicates, conflicts, malformed, wrong,
                       run.capture_error)


def _matches(conn: ConnectionResult, entry: KeyLogEntry) -> bool:
    ids = conn.session.key_ids
    if _by_client_random(entry.label):
        return entry.key in ids.client_randoms
    if entry.label == "RSA":
        return entry.key in ids.encrypted_premasters
    return entry.label == "RSA Session-ID" and entry.key in ids.session_ids


def _check_connection(conn: ConnectionResult, entries: list[KeyLogEntry]) -> ConnectionCheck:
    session = conn.session
    ids = session.key_ids
    check = ConnectionCheck(conn.number, conn.client, conn.server, conn.version, conn.cipher_suite_name,
                            [cr.hex() for cr in ids.client_randoms])
    check.matched = [e for e in entries if _matches(conn, e)]
    key_causes = [u for u in conn.undecryptable() if u["cause"] in KEY_CAUSES]
    for cr in ids.client_randoms:
        labels = {e.label for e in check.matched if e.key == cr}
        if session.version == ProtocolVersion.TLS1_3:
            missing = [label for label in REQUIRED_TLS13 if label not in labels]
            if "CLIENT_RANDOM" in labels and not labels & set(REQUIRED_TLS13):
                check.problems.append(f"TLS 1.3 connection with only a CLIENT_RANDOM line for client random {_short(cr)}"
                                      ": TLS 1.3 needs the *_TRAFFIC_SECRET lines (CLIENT_RANDOM is TLS 1.2's)")
        elif session.version is not None:
            by_other = any(e.label in ("RSA", "RSA Session-ID") for e in check.matched)
            missing = [] if labels & set(TLS12_BY_RANDOM) or by_other or not key_causes else ["CLIENT_RANDOM"]
        else:
            missing = []
        check.missing += [m for m in missing if m not in check.missing]
    early = {u["label"] for u in key_causes if u["label"] == "CLIENT_EARLY_TRAFFIC_SECRET"}
    check.missing += sorted(early - set(check.missing))
    if session.version is None:
        check.problems.append("no ServerHello in the capture: the version, and so the labels needed, are unknown")
    for u in key_causes:
        check.problems.append(f"{u['direction']}: {u['records']} record(s) not decrypted: {u['message']}")
    check.covered = not key_causes and not check.missing
    return check


def _repeats(entries: list[KeyLogEntry]) -> tuple[list[tuple[KeyLogEntry, KeyLogEntry]],
                                                   list[tuple[KeyLogEntry, KeyLogEntry]]]:
    """Lines that repeat an earlier (label, key): with the same secret (duplicates) or another (conflicts)."""
    first: dict[tuple[str, bytes], KeyLogEntry] = {}
    duplicates: list[tuple[KeyLogEntry, KeyLogEntry]] = []
    conflicts: list[tuple[KeyLogEntry, KeyLogEntry]] = []
    for entry in entries:
        if entry.label in REPEATED_LABELS:
            continue
        earlier = first.setdefault((entry.label, entry.key), entry)
        if earlier is not entry:
            (duplicates if earlier.secret == entry.secret else conflicts).append((earlier, entry))
    return duplicates, conflicts


def _wrong_lengths(conn: ConnectionResult, matched: list[KeyLogEntry]) -> list[tuple[KeyLogEntry, int]]:
    """Matched secrets whose length the connection's suite rules out: TLS 1.3 secrets are Hash.length bytes
    (RFC 8446 §7.1), an RSA premaster 48 bytes (RFC 5246 §7.4.7.1)."""
    suite = conn.session.suite
    if suite is None:
        return []
    out: list[tuple[KeyLogEntry, int]] = []
    hash_length = hashlib.new(suite.prf_hash).digest_size
    for entry in matched:
        if suite.is_tls13 and entry.label not in TLS12_BY_RANDOM and _by_client_random(entry.label):
            want = hash_length
        elif entry.label == "RSA" or (entry.label == "PMS_CLIENT_RANDOM" and suite.key_exchange.value == "RSA"):
            want = RSA_PREMASTER_LENGTH
        else:
            continue
        if len(entry.secret) != want:
            out.append((entry, want))
    return out
