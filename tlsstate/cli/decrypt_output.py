"""What ``tlsstate decrypt`` writes: the report (table, ``--json``, ``--records``, ``--explain``), the plaintext
(``--follow N``, ``--write-dir D``) and the progress bar.

The report texts themselves are :mod:`tlsstate.capture.report`'s; this module picks one and writes it. Plaintext
arrives during the single decryption pass through sinks, one per (TCP connection, writer) (the capture engine's
``DecryptOptions.sink_factory``), before the TLS connection numbers of the report are known:

* :class:`DirectionFiles` appends each direction to a temporary file (at most ``MAX_OPEN_FILES`` open at once) and
  renames the files after the report's connection numbers at the end;
* :class:`FollowSpool` keeps the plaintext of every TCP connection that can still become TLS connection N
  (TCP number >= N) as (TCP number, writer, length, data) chunks: in memory up to ``FOLLOW_SPOOL_MEMORY``, then in a
  temporary file.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

if TYPE_CHECKING:  # the capture engine is imported when the command runs
    from tlsstate.capture.decrypt import CaptureResult, ConnectionResult

MAX_OPEN_FILES = 64
FOLLOW_SPOOL_MEMORY = 8 * 1024 * 1024
FOLLOW_CHUNK = struct.Struct(">IBI")  # TCP connection number, from the client, plaintext length
DIRECTIONS = (("client", "client_to_server"), ("server", "server_to_client"))

Sink = Callable[[bytes], None]
SinkFactory = Callable[[int, str], Sink | None]
Progress = Callable[[int, int], None]


def escape_bytes(data: bytes) -> str:
    """Printable ASCII, tab, CR and LF as they are (a backslash doubled), every other byte as ``\\xNN``."""
    out = []
    for byte in data:
        if byte in (10, 13, 9) or 32 <= byte < 127:
            out.append(chr(byte) if byte != 92 else "\\\\")
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


class DirectionFiles:
    """``--write-dir``: each direction of each connection in its own file, named ``connNNNN-<direction>.bin``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._open: OrderedDict[tuple[int, str], IO[bytes]] = OrderedDict()  # least recently written first
        self._created: set[tuple[int, str]] = set()

    def create_directory(self) -> None:
        """Make the directory (and its parents); raises OSError when that fails."""
        self.directory.mkdir(parents=True, exist_ok=True)

    def _temp_name(self, number: int, writer: str) -> Path:
        """The file a direction is written to until the report's connection numbers are known."""
        return self.directory / f".tcp{number:06d}-{writer}.part"

    def sink(self, number: int, writer: str) -> Sink:
        """Where the plaintext ``writer`` sends on TCP connection ``number`` goes."""
        key = (number, writer)
        files = self._open

        def write(data: bytes) -> None:
            handle = files.get(key)
            if handle is None:
                if len(files) >= MAX_OPEN_FILES:
                    files.popitem(last=False)[1].close()
                handle = files[key] = self._temp_name(number, writer).open("ab" if key in self._created else "wb")
                self._created.add(key)
            else:
                files.move_to_end(key)
            handle.write(data)

        return write

    def close(self) -> None:
        """Close every file still open (the decryption pass is over)."""
        for handle in self._open.values():
            handle.close()

    def rename(self, connections: list[ConnectionResult]) -> None:
        """Name the files after the report's TLS connection numbers; drop those of TCP connections that were not TLS."""
        for conn in connections:
            for writer, direction in DIRECTIONS:
                if (conn.tcp.number, writer) in self._created:
                    final = self.directory / f"conn{conn.number:04d}-{direction}.bin"
                    self._temp_name(conn.tcp.number, writer).replace(final)
        for number, writer in self._created:
            self._temp_name(number, writer).unlink(missing_ok=True)


class FollowSpool:
    """``--follow N``: the plaintext of TCP connections numbered N or higher, in the order it was decrypted."""

    def __init__(self, first_tcp_number: int) -> None:
        self.first_tcp_number = first_tcp_number  # TLS connection N is at least the N-th TCP connection
        self._spool = tempfile.SpooledTemporaryFile(max_size=FOLLOW_SPOOL_MEMORY)  # noqa: SIM115 (closed in write_to)

    def wants(self, number: int) -> bool:
        """Can TCP connection ``number`` still turn out to be TLS connection N?"""
        return number >= self.first_tcp_number

    def sink(self, number: int, writer: str) -> Sink:
        """Spool what ``writer`` sends on TCP connection ``number`` as one chunk per call."""
        write = self._spool.write
        head = FOLLOW_CHUNK.pack(number, writer == "client", 0)[:-4]

        def spool(data: bytes) -> None:
            write(head + len(data).to_bytes(4, "big"))
            write(data)

        return spool

    def _chunks(self, number: int) -> Iterator[tuple[bool, bytes]]:
        """(from the client?, data) of TCP connection ``number``, in the order decrypted."""
        spool = self._spool
        spool.seek(0)
        while len(head := spool.read(FOLLOW_CHUNK.size)) == FOLLOW_CHUNK.size:
            tcp_number, client_side, length = FOLLOW_CHUNK.unpack(head)
            if tcp_number == number:
                yield bool(client_side), spool.read(length)
            else:
                spool.seek(length, os.SEEK_CUR)

    def write_to(self, out: IO[bytes], tcp_number: int, *, raw: bool) -> None:
        """Write one connection's plaintext: raw bytes, or each chunk as ``>>>``/``<<< N bytes`` and escaped text."""
        with self._spool:
            for client_side, data in self._chunks(tcp_number):
                if raw:
                    out.write(data)
                else:
                    arrow = ">>>" if client_side else "<<<"
                    out.write(f"{arrow} {len(data)} bytes\n{escape_bytes(data)}\n".encode())
        out.flush()


def sink_factory(files: DirectionFiles | None, spool: FollowSpool | None,
                 pcap: SinkFactory | None = None) -> SinkFactory:
    """The capture engine's sink factory: plaintext goes to the files, the spool, the plaintext pcap (in that
    order), any of them or nowhere."""

    def sinks_for(number: int, writer: str) -> Sink | None:
        sinks = []
        if files is not None:
            sinks.append(files.sink(number, writer))
        if spool is not None and spool.wants(number):
            sinks.append(spool.sink(number, writer))
        if pcap is not None and (sink := pcap(number, writer)) is not None:
            sinks.append(sink)
        if len(sinks) < 2:
            return sinks[0] if sinks else None

        def every(data: bytes) -> None:
            for sink in sinks:
                sink(data)

        return every

    return sinks_for


@contextmanager
def progress_bar(capture: Path, enabled: bool) -> Iterator[Progress | None]:
    """A transient bar on stderr (bytes of the capture read) while the block runs; None when not ``enabled``."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                   TimeRemainingColumn(), transient=True, console=Console(stderr=True))
    bar.start()
    try:
        task = bar.add_task("decrypting", total=capture.stat().st_size if capture.exists() else None)
        yield lambda done, total: bar.update(task, completed=done, total=total)
    finally:
        bar.stop()


def print_warnings(warnings: list[str]) -> None:
    """One ``warning: ...`` line on stderr each."""
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


def print_follow(spool: FollowSpool, conn: ConnectionResult, *, raw: bool) -> None:
    """``--follow N``: connection N's application data on stdout."""
    spool.write_to(sys.stdout.buffer, conn.tcp.number, raw=raw)


def print_explain(conn: ConnectionResult, *, show_secrets: bool) -> None:
    """``--explain N``: connection N's key derivation tree."""
    from tlsstate.capture.report import render_explain

    click.echo(render_explain(conn, show_secrets=show_secrets))


def print_json(connections: list[ConnectionResult]) -> None:
    """``--json``: one object per connection."""
    click.echo(json.dumps([c.to_json() for c in connections], indent=2))


def print_records(connections: list[ConnectionResult]) -> None:
    """``--records``: every record with its verdict and key."""
    from tlsstate.capture.report import render_records

    click.echo(render_records(connections))


def print_summary(result: CaptureResult) -> None:
    """The default table: one row per connection."""
    from tlsstate.capture.report import print_table

    print_table(result)


def write_html(connections: list[ConnectionResult], capture: Path, html: Path | None, html_dir: Path | None, *,
               show_secrets: bool) -> None:
    """``--html FILE``: one page for the capture; ``--html-dir DIR``: ``index.html`` and one ``connNNNN.html`` per
    connection. Built from the same per-record results as ``--json`` (:mod:`tlsstate.html.capture`)."""
    from tlsstate.html.capture import capture_index, capture_page
    from tlsstate.html.render import write_page

    source = f"tlsstate decrypt {capture.name}"
    if html is not None:
        write_page(html, capture_page(connections, source, reveal=show_secrets))
    if html_dir is not None:
        html_dir.mkdir(parents=True, exist_ok=True)
        name = "conn{:04d}.html"
        for conn in connections:
            write_page(html_dir / name.format(conn.number),
                       capture_page([conn], source, reveal=show_secrets, title=f"{source}: connection {conn.number}"))
        write_page(html_dir / "index.html", capture_index(connections, source, name, reveal=show_secrets))
