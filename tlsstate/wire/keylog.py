"""NSS key log files: read every label, write the ones a TLS endpoint produces.

Format (https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/ and
draft-ietf-tls-keylogfile): one ``<label> <hex> <hex>`` entry per line, ``#`` comments. Labels:

* ``CLIENT_RANDOM <client_random> <master_secret>`` — TLS ≤ 1.2 master secret (48 bytes);
* ``RSA <first 8 bytes of the encrypted premaster> <premaster>`` — RSA key exchange premaster;
* ``PMS_CLIENT_RANDOM <client_random> <premaster>`` — any premaster, by client random;
* ``RSA Session-ID:<id> Master-Key:<master>`` — OpenSSL's old session-id form;
* TLS 1.3 (RFC 8446 §7.1): ``CLIENT_EARLY_TRAFFIC_SECRET``, ``CLIENT_HANDSHAKE_TRAFFIC_SECRET``,
  ``SERVER_HANDSHAKE_TRAFFIC_SECRET``, ``CLIENT_TRAFFIC_SECRET_N``, ``SERVER_TRAFFIC_SECRET_N``,
  ``EARLY_EXPORTER_SECRET``, ``EXPORTER_SECRET`` — each ``<label> <client_random> <secret>``.

Parsing never fails as a whole: a malformed line becomes a warning carrying its line number and the
rest of the file is still used. Secrets are never part of a repr.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = [
    "TLS13_LABELS",
    "KeyLog",
    "KeyLogEntry",
    "KeyLogWriter",
    "load_keylog",
    "open_default_keylog",
    "parse_keylog",
    "scan_keylog",
    "shared_default_keylog",
]

#: TLS 1.3 labels whose value is keyed by client random (RFC 8446 §7.1 names in NSS spelling).
TLS13_LABELS = frozenset(
    {
        "CLIENT_EARLY_TRAFFIC_SECRET",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "EARLY_EXPORTER_SECRET",
        "EXPORTER_SECRET",
    }
)
#: The NSS key log label of each TLS 1.3 secret a connection logs, by its RFC 9846 §7.1 name (as in
#: ``Tls13Secrets``), in the order a handshake derives them. The one copy: the live handshake, the pages and the
#: demo name secrets through it.
TLS13_SECRET_LABELS: dict[str, str] = {
    "client_early_traffic_secret": "CLIENT_EARLY_TRAFFIC_SECRET",  # 0-RTT only (RFC 9846 §2.3)
    "early_exporter_master_secret": "EARLY_EXPORTER_SECRET",  # 0-RTT only
    "client_handshake_traffic_secret": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "server_handshake_traffic_secret": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "client_application_traffic_secret_0": "CLIENT_TRAFFIC_SECRET_0",
    "server_application_traffic_secret_0": "SERVER_TRAFFIC_SECRET_0",
    "exporter_master_secret": "EXPORTER_SECRET",
}
_TRAFFIC_N = re.compile(r"^(CLIENT|SERVER)_TRAFFIC_SECRET_(\d+)$")
_TRAFFIC_NEXT = {"CLIENT_TRAFFIC_SECRET_N": "CLIENT", "SERVER_TRAFFIC_SECRET_N": "SERVER"}
_SESSION_LINE = re.compile(r"^RSA\s+Session-ID:([0-9A-Fa-f]*)\s+Master-Key:([0-9A-Fa-f]+)\s*$")
_HEX = re.compile(r"^[0-9A-Fa-f]*$")


def _hex(value: str) -> bytes | None:
    if len(value) % 2 or not _HEX.match(value):
        return None
    return bytes.fromhex(value)


@dataclass
class KeyLog:
    """Key material from one or more NSS key log files, indexed for lookups.

    ``master_by_client_random``: CLIENT_RANDOM; ``premaster_by_client_random``: PMS_CLIENT_RANDOM;
    ``premaster_by_encrypted_prefix``: RSA (8-byte prefix of the encrypted premaster);
    ``master_by_session_id``: ``RSA Session-ID:… Master-Key:…``; ``tls13``: client_random → label → secret
    (``CLIENT_TRAFFIC_SECRET_0`` etc. keep their generation number in the label).
    ``lines`` maps each stored entry to the line it came from (for ``--explain``), ``origins`` to the file.
    """

    master_by_client_random: dict[bytes, bytes] = field(default_factory=dict)
    premaster_by_client_random: dict[bytes, bytes] = field(default_factory=dict)
    premaster_by_encrypted_prefix: dict[bytes, bytes] = field(default_factory=dict)
    master_by_session_id: dict[bytes, bytes] = field(default_factory=dict)
    tls13: dict[bytes, dict[str, bytes]] = field(default_factory=dict)
    lines: dict[tuple[str, bytes], int] = field(default_factory=dict)
    origins: dict[tuple[str, bytes], str] = field(default_factory=dict)
    source: str = "key log"

    def __repr__(self) -> str:
        return (
            f"KeyLog(client_random={len(self.master_by_client_random)}, pms={len(self.premaster_by_client_random)}, "
            f"rsa={len(self.premaster_by_encrypted_prefix)}, session_id={len(self.master_by_session_id)}, "
            f"tls13={len(self.tls13)})"
        )

    def __len__(self) -> int:
        return (
            len(self.master_by_client_random) + len(self.premaster_by_client_random)
            + len(self.premaster_by_encrypted_prefix) + len(self.master_by_session_id)
            + sum(len(v) for v in self.tls13.values())
        )

    def master_secret(self, client_random: bytes) -> bytes | None:
        """CLIENT_RANDOM lookup."""
        return self.master_by_client_random.get(client_random)

    def premaster_secret(self, client_random: bytes) -> bytes | None:
        """PMS_CLIENT_RANDOM lookup."""
        return self.premaster_by_client_random.get(client_random)

    def rsa_premaster(self, encrypted_premaster: bytes) -> bytes | None:
        """RSA lookup by the first 8 bytes of the encrypted premaster secret."""
        return self.premaster_by_encrypted_prefix.get(encrypted_premaster[:8])

    def session_master(self, session_id: bytes) -> bytes | None:
        """``RSA Session-ID:`` lookup."""
        if not session_id:
            return None
        return self.master_by_session_id.get(session_id)

    def tls13_secret(self, client_random: bytes, label: str) -> bytes | None:
        """A TLS 1.3 secret by client random and label (e.g. ``SERVER_TRAFFIC_SECRET_0``)."""
        return self.tls13.get(client_random, {}).get(label)

    def line_of(self, label: str, key: bytes) -> int | None:
        """Line number an entry came from."""
        return self.lines.get((label, key))

    def where(self, label: str, key: bytes) -> str | None:
        """``<file> line <n>`` of an entry, or None when there is none."""
        line = self.lines.get((label, key))
        if line is None:
            return None
        return f"{self.origins.get((label, key), self.source)} line {line}"

    def merge(self, other: KeyLog) -> None:
        """Add another key log's entries (later wins)."""
        self.master_by_client_random.update(other.master_by_client_random)
        self.premaster_by_client_random.update(other.premaster_by_client_random)
        self.premaster_by_encrypted_prefix.update(other.premaster_by_encrypted_prefix)
        self.master_by_session_id.update(other.master_by_session_id)
        for cr, secrets in other.tls13.items():
            self.tls13.setdefault(cr, {}).update(secrets)
        self.lines.update(other.lines)
        self.origins.update(other.origins)

    def add_line(self, line: str, line_number: int = 0) -> str | None:
        """Parse one line into this key log; returns a warning (without the secret) or None."""
        text = line.strip()
        if not text or text.startswith("#"):
            return None
        where = f"{self.source} line {line_number}"
        session = _SESSION_LINE.match(text)
        if session:
            sid, master = _hex(session.group(1)), _hex(session.group(2))
            if sid is None or master is None or len(master) != 48:
                return f"{where}: malformed RSA Session-ID line"
            self.master_by_session_id[sid] = master
            self.lines[("RSA Session-ID", sid)] = line_number
            self.origins[("RSA Session-ID", sid)] = self.source
            return None
        parts = text.split()
        if len(parts) != 3:
            return f"{where}: expected '<label> <hex> <hex>', got {len(parts)} fields"
        label, first_hex, second_hex = parts
        first, second = _hex(first_hex), _hex(second_hex)
        if first is None or second is None:
            return f"{where}: {label}: value is not hexadecimal"
        if label == "CLIENT_RANDOM":
            if len(first) != 32 or len(second) != 48:
                return f"{where}: CLIENT_RANDOM needs a 32-byte random and a 48-byte master secret"
            self.master_by_client_random[first] = second
        elif label == "PMS_CLIENT_RANDOM":
            if len(first) != 32 or not second:
                return f"{where}: PMS_CLIENT_RANDOM needs a 32-byte random and a premaster secret"
            self.premaster_by_client_random[first] = second
        elif label == "RSA":
            if len(first) != 8 or not second:
                return f"{where}: RSA needs 8 bytes of encrypted premaster and the premaster secret"
            self.premaster_by_encrypted_prefix[first] = second
        elif label in TLS13_LABELS or _TRAFFIC_N.match(label) or label in _TRAFFIC_NEXT:
            if len(first) != 32 or len(second) not in (32, 48, 64):
                return f"{where}: {label} needs a 32-byte random and a 32/48-byte secret"
            secrets = self.tls13.setdefault(first, {})
            if label in _TRAFFIC_NEXT:
                # OpenSSL 3.0 logs KeyUpdate secrets with a literal "_N": number them in file order
                side = _TRAFFIC_NEXT[label]
                generation = 1
                while f"{side}_TRAFFIC_SECRET_{generation}" in secrets:
                    generation += 1
                label = f"{side}_TRAFFIC_SECRET_{generation}"
            secrets[label] = second
        else:
            return f"{where}: unknown label {label!r}"
        self.lines[(label, first)] = line_number
        self.origins[(label, first)] = self.source
        return None


@dataclass(frozen=True)
class KeyLogEntry:
    """One well-formed key log line as written: where it is, its label, what it is keyed by (client random, the
    encrypted premaster's first 8 bytes, a session ID) and its secret (never in the repr)."""

    source: str
    line: int
    label: str
    key: bytes
    secret: bytes = field(repr=False)

    @property
    def where(self) -> str:
        """``<file> line <n>``."""
        return f"{self.source} line {self.line}"


def scan_keylog(text: str, source: str = "key log") -> tuple[list[KeyLogEntry], list[tuple[int, str]]]:
    """Every line of a key log, for checking it (``tlsstate keylog check``): the well-formed entries in file order,
    duplicates included, and the malformed lines as (line number, problem). Validation is :meth:`KeyLog.add_line`'s."""
    entries: list[KeyLogEntry] = []
    malformed: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        text_line = line.strip()
        problem = KeyLog(source=source).add_line(text_line, number)
        if problem is not None:
            malformed.append((number, problem.removeprefix(f"{source} line {number}: ")))
            continue
        if not text_line or text_line.startswith("#"):
            continue
        session = _SESSION_LINE.match(text_line)
        if session:
            entries.append(KeyLogEntry(source, number, "RSA Session-ID", bytes.fromhex(session.group(1)),
                                       bytes.fromhex(session.group(2))))
            continue
        label, first, second = text_line.split()
        entries.append(KeyLogEntry(source, number, label, bytes.fromhex(first), bytes.fromhex(second)))
    return entries, malformed


def parse_keylog(text: str, source: str = "key log") -> tuple[KeyLog, list[str]]:
    """Parse NSS key log text; returns (keys, warnings). Malformed lines are skipped with a warning."""
    keylog = KeyLog(source=source)
    warnings: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        warning = keylog.add_line(line, number)
        if warning:
            warnings.append(warning)
    return keylog, warnings


def load_keylog(path: str | os.PathLike[str]) -> tuple[KeyLog, list[str]]:
    """Read and parse a key log file (undecodable bytes are replaced, never fatal)."""
    data = Path(path).read_bytes()
    return parse_keylog(data.decode("utf-8", errors="replace"), source=str(path))


class KeyLogWriter:
    """Appends NSS key log lines to a file (thread-safe, flushed per line, created mode 0600)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file: IO[str] = os.fdopen(fd, "a", encoding="ascii")

    def __repr__(self) -> str:
        return f"KeyLogWriter({str(self.path)!r})"

    def write_line(self, label: str, first: bytes, second: bytes) -> None:
        """Write ``<label> <hex> <hex>``."""
        line = f"{label} {first.hex()} {second.hex()}\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def client_random(self, client_random: bytes, master: bytes) -> None:
        """``CLIENT_RANDOM`` line for a TLS ≤ 1.2 session."""
        self.write_line("CLIENT_RANDOM", client_random, master)

    def premaster(self, client_random: bytes, premaster: bytes) -> None:
        """``PMS_CLIENT_RANDOM`` line."""
        self.write_line("PMS_CLIENT_RANDOM", client_random, premaster)

    def rsa(self, encrypted_premaster: bytes, premaster: bytes) -> None:
        """``RSA`` line (first 8 bytes of the encrypted premaster)."""
        self.write_line("RSA", encrypted_premaster[:8], premaster)

    def tls13(self, label: str, client_random: bytes, secret: bytes) -> None:
        """A TLS 1.3 secret line, e.g. ``tls13("SERVER_HANDSHAKE_TRAFFIC_SECRET", cr, secret)``."""
        if label not in TLS13_LABELS and not _TRAFFIC_N.match(label):
            raise ValueError(f"not a TLS 1.3 key log label: {label}")
        self.write_line(label, client_random, secret)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> KeyLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_default_keylog() -> KeyLogWriter | None:
    """A writer for ``$SSLKEYLOGFILE`` when set (and writable), else None."""
    path = os.environ.get("SSLKEYLOGFILE")
    if not path:
        return None
    try:
        return KeyLogWriter(path)
    except OSError:
        return None


_SHARED_LOCK = threading.Lock()
_SHARED: dict[str, KeyLogWriter | None] = {}


def shared_default_keylog() -> KeyLogWriter | None:
    """One shared writer per SSLKEYLOGFILE path (as browsers and curl do): what a Connection without
    ``config.keylog`` writes its secrets to."""
    path = os.environ.get("SSLKEYLOGFILE")
    if not path:
        return None
    with _SHARED_LOCK:
        if path not in _SHARED:
            _SHARED[path] = open_default_keylog()
        return _SHARED[path]


def close_shared_keylogs() -> None:
    """Close the shared SSLKEYLOGFILE writers; run at interpreter exit (``atexit``), so the process ends with its
    key log flushed and closed rather than with an unclosed file. A Connection made later opens a new writer."""
    with _SHARED_LOCK:
        writers = [writer for writer in _SHARED.values() if writer is not None]
        _SHARED.clear()
    for writer in writers:
        writer.close()


atexit.register(close_shared_keylogs)
