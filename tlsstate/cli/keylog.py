"""``tlsstate keylog check CAPTURE KEYLOG...``: why a capture does (not) decrypt, key log line by key log line.

For each TLS connection: the key log lines that match it and the labels it still needs; then the lines that match
nothing in the capture, duplicate and conflicting lines, malformed lines (with line numbers), secrets of the wrong
length for their connection's suite, and TLS 1.3 connections that have only CLIENT_RANDOM lines. The engine is
:mod:`tlsstate.capture.keycheck`.

Exit status:
  0  every connection has the keys it needs
  1  some connection lacks keys (or has a wrong one)
  2  bad usage or unreadable input (missing file, not a capture)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tlsstate.capture.keycheck import KeylogCheck
    from tlsstate.wire.keylog import KeyLogEntry

EXIT_COVERED, EXIT_LACKING, EXIT_USAGE = 0, 1, 2

EPILOG = """\b
Exit status:
  0  every connection has the keys it needs
  1  some connection lacks keys (or has a wrong one)
  2  bad usage or unreadable input (missing file, not a capture)"""


@click.group(name="keylog")
def keylog() -> None:
    """Key log files: check them against a capture."""


@keylog.command(name="check", epilog=EPILOG)
@click.argument("capture", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("keylogs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
def check(capture: Path, keylogs: tuple[Path, ...], as_json: bool) -> None:
    """Which key log lines each TLS connection in CAPTURE uses, which labels it still needs, and what is wrong
    with the other lines."""
    from tlsstate.capture.keycheck import check_keylogs
    from tlsstate.capture.pcap import CaptureError
    from tlsstate.wire.errors import ConfigurationError

    try:
        report = check_keylogs(capture, list(keylogs))
    except ConfigurationError as exc:
        _fail(str(exc))
    except CaptureError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot read {capture}: {exc.strerror}")
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render(report))
    sys.exit(EXIT_COVERED if report.covered else EXIT_LACKING)


def _fail(message: str) -> None:
    click.echo(f"tlsstate keylog check: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _line(entry: KeyLogEntry) -> str:
    return f"{entry.where} {entry.label} {entry.key.hex()[:16]}…"


def render(report: KeylogCheck) -> str:
    """The plain-text report."""
    out: list[str] = []
    for c in report.connections:
        state = "covered" if c.covered else "LACKS KEYS"
        randoms = ", ".join(f"{cr[:16]}…" for cr in c.client_randoms) or "none seen"
        out.append(f"connection {c.number}: {c.client} -> {c.server}, {c.version}, {c.cipher_suite}, "
                   f"client random {randoms}: {state}")
        out += [f"  uses    {_line(e)}" for e in c.matched]
        out += [f"  needs   {label}" for label in c.missing]
        out += [f"  problem {problem}" for problem in c.problems]
    sections: list[tuple[str, list[str]]] = [
        ("lines matching nothing in the capture", [_line(e) for e in report.unmatched]),
        ("duplicate lines", [f"{_line(b)} repeats line {a.line}" for a, b in report.duplicates]),
        ("conflicting lines (the later one is used)",
         [f"{_line(b)} gives another secret than {a.where}" for a, b in report.conflicts]),
        ("malformed lines", [f"{f} line {n}: {p}" for f, n, p in report.malformed]),
        ("secrets of the wrong length",
         [f"{_line(e)}: {len(e.secret)} bytes, connection {n}'s suite needs {want}" for e, want, n in report.wrong_length]),
    ]
    for title, lines in sections:
        if lines:
            out.append(f"{title}:")
            out += [f"  {line}" for line in lines]
    covered = sum(c.covered for c in report.connections)
    out.append(f"{covered} of {len(report.connections)} TLS connection(s) covered")
    if report.capture_error:
        out.append(f"warning: {report.capture_error}; connections up to that point are checked")
    return "\n".join(out)
