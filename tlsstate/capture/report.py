"""Human-readable reports for ``tlsstate decrypt``: the connection table, the record list, the derivation tree."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.tree import Tree

from tlsstate.capture.trace import SSLV2_CLIENT_HELLO
from tlsstate.wire.constants import ContentType

if TYPE_CHECKING:
    from tlsstate.capture.decrypt import CaptureResult, ConnectionResult

__all__ = ["print_table", "render_explain", "render_records"]

CONTENT_TYPES = {**{int(t): t.name.lower() for t in ContentType}, SSLV2_CLIENT_HELLO: "sslv2_client_hello"}


def _size(n: int) -> str:
    return f"{n:,}"


def _notes(conn: ConnectionResult) -> str:
    s = conn.session
    flags = []
    if s.reason():
        flags.append(s.reason())
    prelude = conn.prelude
    if prelude is not None:
        flags.append(f"upgraded from {prelude.protocol or 'plaintext'} after {prelude.client_to_server_bytes} / "
                     f"{prelude.server_to_client_bytes} plaintext bytes")
    if s.handshakes > 1:
        flags.append(f"{s.handshakes} handshakes")
    if s.resumed:
        flags.append("resumed")
    if s.hello_retry:
        flags.append("HelloRetryRequest")
    updates = sum(1 for n in s.notes if "KeyUpdate" in n)
    if updates:
        flags.append(f"{updates} KeyUpdate(s)")
    early = _early_data(conn)
    if early:
        flags.append(early)
    if s.finished_checks:
        flags.append("Finished verified" if all(ok for _w, ok in s.finished_checks) else "Finished MISMATCH")
    if conn.gaps():
        flags.append(f"{len(conn.gaps())} TCP gap(s)")
    return "; ".join(flags)


#: What the server's EncryptedExtensions said of the 0-RTT data (RFC 8446 §4.2.10), by ``early_data.accepted``.
_EARLY_ANSWERS = {True: "accepted", False: "REJECTED by the server (it skipped them: never delivered)",
                  None: "the server's answer not read"}


def _early_data(conn: ConnectionResult) -> str:
    """``0-RTT data decrypted: 20 bytes, accepted`` (or rejected), empty when none was decrypted."""
    early = conn.session.early_data_json()
    if early is None or not early["records"]:
        return ""
    return f"0-RTT data decrypted: {early['bytes']:,} bytes, {_EARLY_ANSWERS[early['accepted']]}"


def _suite(conn: ConnectionResult) -> str:
    """The suite's OpenSSL name, the key exchange group in parentheses when known, and the compression method when
    it is not null: ``ECDHE-RSA-AES128-SHA (secp256r1) + deflate``."""
    name = conn.session.suite.openssl_name if conn.session.suite else conn.cipher_suite
    group = conn.session.key_exchange.group
    if group:
        name = f"{name} ({group})"
    return name if conn.compression in (None, "null") else f"{name} + {conn.compression}"


def _undecrypted(conn: ConnectionResult) -> str:
    """The records not decrypted: a count, marked ``unsupported`` when the suite or the compression method is the
    cause (the key log may well have the keys)."""
    summary = conn.session.summary()
    count = summary["records_undecryptable"] + summary["records_truncated"]
    return f"{count} unsupported" if conn.session.unsupported and count else str(count)


def _wide_table(result: CaptureResult, title: str) -> Table:
    """One line per connection, one column per fact."""
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("client -> server", overflow="fold", min_width=12)
    table.add_column("version", overflow="fold")
    table.add_column("suite", overflow="fold", min_width=8)
    table.add_column("SNI / ALPN", overflow="fold")
    table.add_column("bytes c>s / s>c", justify="right", overflow="fold")
    table.add_column("records ok / failed / no keys", justify="right", overflow="fold")
    table.add_column("note", overflow="fold")
    for conn in result.connections:
        s = conn.session
        summary = s.summary()
        names = " / ".join(x for x in (s.sni, s.alpn) if x)
        table.add_row(
            str(conn.number), f"{conn.client} -> {conn.server}", conn.version, _suite(conn), names,
            f"{_size(s.client.app_bytes)} / {_size(s.server.app_bytes)}",
            f"{summary['records_ok']} / {summary['records_failed']} / {_undecrypted(conn)}",
            _notes(conn),
        )
    return table


def _narrow_table(result: CaptureResult, title: str) -> Table:
    """For terminals too narrow for the wide table (80 columns): each fact on its own line inside a row,
    no vertical rules, and the notes under the table (they are the longest cells)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_lines=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("client\n-> server", overflow="fold")
    table.add_column("version / suite\nSNI / ALPN", overflow="fold")
    table.add_column("app bytes", justify="right", overflow="fold")
    table.add_column("records", justify="right", overflow="fold")
    for conn in result.connections:
        s = conn.session
        summary = s.summary()
        protocol = [conn.version, _suite(conn)] + [f"{name} {value}" for name, value in (("SNI", s.sni),
                                                                                       ("ALPN", s.alpn)) if value]
        table.add_row(
            str(conn.number), f"{conn.client}\n-> {conn.server}", "\n".join(protocol),
            f"c>s {_size(s.client.app_bytes)}\ns>c {_size(s.server.app_bytes)}",
            f"ok {summary['records_ok']}\nfailed {summary['records_failed']}\n"
            f"{'unsupported' if conn.session.unsupported else 'no keys'} {_undecrypted(conn).split()[0]}",
        )
    return table


def print_table(result: CaptureResult, console: Console | None = None) -> None:
    """One row per TLS connection (rich table on stdout): one line each when the console is wide enough,
    else several lines per row with the notes listed below (readable at 80 columns)."""
    if console is None:
        probe = Console()
        # a terminal (or $COLUMNS) decides the width; a pipe gets wide lines rather than folded cells
        console = Console(width=None if probe.is_terminal or os.environ.get("COLUMNS") else 220)
    title = f"{len(result.connections)} TLS connection(s), {result.packets} packets"
    wide = _wide_table(result, title)
    if Measurement.get(console, console.options.update(max_width=100_000), wide).maximum <= console.width:
        console.print(wide)
    else:
        console.print(_narrow_table(result, title))
        for conn in result.connections:
            note = _notes(conn)
            if note:
                console.print(f"#{conn.number}: {note}", highlight=False, markup=False)
    if result.non_tls_connections:
        console.print(f"{result.non_tls_connections} non-TLS TCP connection(s) skipped")


def render_records(connections: list[ConnectionResult]) -> str:
    """Every record: connection, direction, content type, seq, length, verdict, key (plain text, one per line)."""
    lines = [f"{'conn':>4} {'dir':<4} {'#':>5} {'type':<19} {'seq':>6} {'length':>6} {'verdict':<15} key"]
    for conn in connections:
        for index, record in enumerate(conn.session.records):
            seq = "-" if record.seq is None else str(record.seq)
            name = CONTENT_TYPES.get(record.content_type, str(record.content_type))
            why = f" ({record.cause.message})" if record.cause is not None and record.cause.message != record.key else ""
            lines.append(f"{conn.number:>4} {record.direction:<4} {index:>5} {name:<19} {seq:>6} {record.length:>6} "
                         f"{record.verdict:<15} {record.key}{why}")
    return "\n".join(lines)


def _redacted(value: bytes) -> str:
    """A secret as ``--explain`` shows it without --show-secrets: its first 4 bytes and its length."""
    return f"{value[:4].hex()}…<{len(value)}B>"


def render_explain(conn: ConnectionResult, *, show_secrets: bool = False) -> str:
    """The derivation tree of each handshake and which records each key protected."""
    s = conn.session
    console = Console(record=True, width=140, force_terminal=False, color_system=None, file=io.StringIO())
    compression = "" if conn.compression in (None, "null") else f", compression {conn.compression}"
    root = Tree(f"connection {conn.number}: {conn.client} -> {conn.server}, {conn.version}, {conn.cipher_suite_name}"
                f"{compression}")
    if s.key_exchange.group or s.hello_retry:
        root.add(f"key exchange group: {s.key_exchange.describe()}")
    if early := _early_data(conn):
        root.add(early)
    if not s.derivations:
        root.add(f"no key derivation: {s.reason() or 'no handshake seen'}")
    public = {"client_random", "server_random", "encrypted_premaster", "session_hash"}
    for derivation in s.derivations:
        branch = root.add(f"handshake {derivation.handshake}")
        node = branch
        for name, value, source in derivation.steps:
            shown = value.hex() if name in public or show_secrets else _redacted(value)
            leaf = f"{name} = {shown}  [dim]({source})[/dim]"
            if name.endswith((" key", " iv", "_key", "_iv")):
                node.add(leaf)  # a traffic key / IV / key-block value under the secret it comes from
            elif name in ("premaster_secret", "master_secret") or "SECRET" in name:
                node = branch.add(leaf)
            else:
                branch.add(leaf)
        if derivation.protected:
            used = branch.add("records protected")
            for label, (first, last) in derivation.protected.items():
                used.add(f"{label}: records {first}..{last} of the --records list")
    if s.reason():
        root.add(f"note: {s.reason()}")
    console.print(root)
    return console.export_text()
