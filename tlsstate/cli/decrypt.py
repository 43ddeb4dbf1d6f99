"""``tlsstate decrypt CAPTURE``: packet capture + key material → verified plaintext, explained.

Key material: ``--keylog F`` (NSS key log, repeatable; ``$SSLKEYLOGFILE`` is read too when set, and pcapng
Decryption Secrets Blocks are used automatically), ``--rsa-key F`` (PEM / PKCS #8 / PKCS #12, matched to
the server certificate; ``--rsa-key-password``), ``--psk HEX`` (RFC 4279 PSK suites).

Output: a table (default), ``--json``, ``--records``, ``--follow N``, ``--write-dir D``, ``--explain N``.

Exit status:
  0  every record that had keys decrypted and verified
  1  some records failed verification (bad_record_mac)
  2  bad usage or unreadable input (missing file, not a capture, unusable key file)
  3  the capture is truncated or corrupt: results up to the damage are shown
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DAMAGED = 0, 1, 2, 3
MAX_OPEN_FILES = 64
FOLLOW_SPOOL_MEMORY = 8 * 1024 * 1024
FOLLOW_CHUNK = struct.Struct(">IBI")  # TCP connection number, from the client, plaintext length

CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data", 24: "heartbeat",
                 0x80: "sslv2_client_hello"}


def _escape(data: bytes) -> str:
    out = []
    for byte in data:
        if byte in (10, 13, 9) or 32 <= byte < 127:
            out.append(chr(byte) if byte != 92 else "\\\\")
        else:
            out.append(f"\\x{byte:02x}")
    return "".join(out)


EPILOG = """\b
Exit status:
  0  every record that had keys decrypted and verified
  1  some records failed verification (bad_record_mac)
  2  bad usage or unreadable input (missing file, not a capture, unusable key file)
  3  truncated or corrupt capture (results up to the damage are shown)"""


@click.command(name="decrypt", epilog=EPILOG)
@click.argument("capture", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--keylog", "keylogs", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="NSS key log file (repeatable). $SSLKEYLOGFILE is also read when set.")
@click.option("--rsa-key", "rsa_keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Server RSA private key: PEM, PKCS#8 or PKCS#12 (repeatable; matched to the certificate).")
@click.option("--rsa-key-password", default=None, help="Password of the RSA key file(s).")
@click.option("--psk", default=None, help="Pre-shared key in hex for PSK cipher suites (RFC 4279).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per connection.")
@click.option("--records", "show_records", is_flag=True, help="List every record with its verdict and key.")
@click.option("--follow", type=int, default=None, metavar="N", help="Print connection N's application data.")
@click.option("--raw", "raw_output", is_flag=True, help="With --follow: raw bytes instead of escaped text.")
@click.option("--write-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write each direction of each connection to a file in this directory.")
@click.option("--explain", type=int, default=None, metavar="N", help="Show connection N's key derivation tree.")
@click.option("--show-secrets", is_flag=True, help="With --explain: print secret values in full.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or warnings on stderr.")
def decrypt(capture: Path, keylogs: tuple[Path, ...], rsa_keys: tuple[Path, ...], rsa_key_password: str | None,
            psk: str | None, as_json: bool, show_records: bool, follow: int | None, raw_output: bool,
            write_dir: Path | None, explain: int | None, show_secrets: bool, quiet: bool) -> None:
    """Decrypt the TLS connections in CAPTURE (pcap or pcapng, optionally gzip'd)."""
    from tlsstate.capture.decrypt import DecryptOptions, decrypt_capture
    from tlsstate.capture.keysource import KeySource, load_rsa_key
    from tlsstate.capture.pcap import CaptureError
    from tlsstate.wire.errors import ConfigurationError

    def fail(message: str, code: int = EXIT_USAGE) -> None:
        click.echo(f"tlsstate decrypt: {message}", err=True)
        sys.exit(code)

    keys = KeySource()
    try:
        env = os.environ.get("SSLKEYLOGFILE")
        if env and Path(env).is_file():
            keys.add_keylog_file(env)
        for path in keylogs:
            keys.add_keylog_file(path)
        for path in rsa_keys:
            keys.rsa_keys.append(load_rsa_key(path, rsa_key_password))
        if psk is not None:
            try:
                keys.psk = bytes.fromhex(psk.removeprefix("0x"))
            except ValueError:
                raise ConfigurationError("--psk must be hexadecimal") from None
    except ConfigurationError as exc:
        fail(str(exc))
    if not quiet:
        for warning in keys.warnings:
            click.echo(f"warning: {warning}", err=True)

    files: OrderedDict[tuple[int, str], IO[bytes]] = OrderedDict()  # at most MAX_OPEN_FILES open at once
    created: set[tuple[int, str]] = set()

    def _temp_name(number: int, writer: str) -> Path:
        assert write_dir is not None
        return write_dir / f".tcp{number:06d}-{writer}.part"

    # --follow N: N numbers the TLS connections, known only at the end of the single pass, so the plaintext of
    # every TCP connection that can still become TLS connection N (TCP number >= N) is spooled as
    # (TCP number, writer, length, data) chunks: in memory up to FOLLOW_SPOOL_MEMORY, then in a temporary file
    spool: IO[bytes] | None = None
    if follow is not None:
        spool = tempfile.SpooledTemporaryFile(max_size=FOLLOW_SPOOL_MEMORY)  # noqa: SIM115 (closed below)

    def file_sink(number: int, writer: str) -> Callable[[bytes], None]:
        key = (number, writer)

        def sink(data: bytes) -> None:
            handle = files.get(key)
            if handle is None:
                if len(files) >= MAX_OPEN_FILES:
                    files.popitem(last=False)[1].close()
                handle = files[key] = _temp_name(number, writer).open("ab" if key in created else "wb")
                created.add(key)
            else:
                files.move_to_end(key)
            handle.write(data)

        return sink

    def spool_sink(number: int, writer: str) -> Callable[[bytes], None]:
        assert spool is not None
        write = spool.write
        head = FOLLOW_CHUNK.pack(number, writer == "client", 0)[:-4]

        def sink(data: bytes) -> None:
            write(head + len(data).to_bytes(4, "big"))
            write(data)

        return sink

    def sink_factory(number: int, writer: str) -> Callable[[bytes], None] | None:
        sinks = []
        if write_dir is not None:
            sinks.append(file_sink(number, writer))
        if follow is not None and number >= follow:
            sinks.append(spool_sink(number, writer))
        if len(sinks) < 2:
            return sinks[0] if sinks else None
        first, second = sinks

        def both(data: bytes) -> None:
            first(data)
            second(data)

        return both

    options = DecryptOptions(keep_records=show_records or explain is not None, sink_factory=sink_factory)
    if write_dir is not None:
        try:
            write_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            fail(f"cannot create {write_dir}: {exc.strerror}")
    progress_ctx: Any = None
    if not quiet and sys.stderr.isatty():
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        progress_ctx = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                TimeRemainingColumn(), transient=True, console=_stderr_console())
        progress_ctx.start()
        task = progress_ctx.add_task("decrypting", total=capture.stat().st_size if capture.exists() else None)
        options.progress = lambda done, total: progress_ctx.update(task, completed=done, total=total)
    try:
        result = decrypt_capture(capture, keys, options)
    except CaptureError as exc:
        fail(str(exc))
        return
    except OSError as exc:
        fail(f"cannot read {capture}: {exc.strerror}")
        return
    finally:
        if progress_ctx is not None:
            progress_ctx.stop()
        for handle in files.values():
            handle.close()

    if not quiet:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        for warning in keys.warnings[len(keys.warnings):]:
            click.echo(f"warning: {warning}", err=True)
        if result.capture_error:
            click.echo(f"warning: {result.capture_error}; results up to that point are shown", err=True)

    connections = result.connections
    if write_dir is not None:  # files are named after the TLS connection numbers of the report
        for conn in connections:
            for writer, direction in (("client", "client_to_server"), ("server", "server_to_client")):
                if (conn.tcp.number, writer) in created:
                    _temp_name(conn.tcp.number, writer).replace(write_dir / f"conn{conn.number:04d}-{direction}.bin")
        for number, writer in created:
            _temp_name(number, writer).unlink(missing_ok=True)

    def pick(n: int, what: str) -> Any:
        if not 0 <= n < len(connections):
            fail(f"{what} {n}: the capture has {len(connections)} TLS connection(s) (numbered from 0)")
        return connections[n]

    if follow is not None:
        assert spool is not None
        conn = pick(follow, "--follow")
        out = sys.stdout.buffer
        with spool:
            spool.seek(0)
            for client_side, data in _spooled_chunks(spool, conn.tcp.number):
                if raw_output:
                    out.write(data)
                else:
                    arrow = ">>>" if client_side else "<<<"
                    out.write(f"{arrow} {len(data)} bytes\n{_escape(data)}\n".encode())
        out.flush()
    elif explain is not None:
        from tlsstate.capture.report import render_explain

        click.echo(render_explain(pick(explain, "--explain"), show_secrets=show_secrets))
    elif as_json:
        click.echo(json.dumps([c.to_json() for c in connections], indent=2))
    elif show_records:
        from tlsstate.capture.report import render_records

        click.echo(render_records(connections))
    else:
        from tlsstate.capture.report import print_table

        print_table(result)

    any_failed = any(c.session.summary()["records_failed"] for c in connections)
    if result.capture_error:
        sys.exit(EXIT_DAMAGED)
    if any_failed:
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_OK)


def _spooled_chunks(spool: IO[bytes], number: int) -> Iterator[tuple[bool, bytes]]:
    """(from the client?, data) of TCP connection ``number``, in the order decrypted, from the --follow spool."""
    while len(head := spool.read(FOLLOW_CHUNK.size)) == FOLLOW_CHUNK.size:
        tcp_number, client_side, length = FOLLOW_CHUNK.unpack(head)
        if tcp_number == number:
            yield bool(client_side), spool.read(length)
        else:
            spool.seek(length, os.SEEK_CUR)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)
