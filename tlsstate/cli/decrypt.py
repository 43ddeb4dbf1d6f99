"""``tlsstate decrypt CAPTURE``: packet capture + key material → verified plaintext, explained.

Key material: ``--keylog F`` (NSS key log, repeatable; ``$SSLKEYLOGFILE`` is read too when set, and pcapng
Decryption Secrets Blocks are used automatically), ``--rsa-key F`` (PEM / PKCS #8 / PKCS #12, matched to
the server certificate; ``--rsa-key-password``), ``--psk HEX`` (RFC 4279 PSK suites).

Output: a table (default), ``--json``, ``--records``, ``--follow N``, ``--write-dir D``, ``--explain N``; for other
tools ``--write-pcap F`` (the plaintext as a capture) and ``--inject-secrets F`` (the capture as pcapng with the key
log lines its connections use in a Decryption Secrets Block; :mod:`tlsstate.capture.export`); also ``--html FILE`` /
``--html-dir D`` (pages of the same per-record results as ``--json``).

Exit status:
  0  every record that had keys decrypted and verified
  1  some records failed verification (bad_record_mac)
  2  bad usage or unreadable input (missing file, not a capture, unusable key file)
  3  the capture is truncated or corrupt: results up to the damage are shown
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from tlsstate.capture.trace import PLAINTEXT_HEAD
from tlsstate.cli.decrypt_output import (
    DirectionFiles,
    FollowSpool,
    print_explain,
    print_follow,
    print_json,
    print_records,
    print_summary,
    print_warnings,
    progress_bar,
    sink_factory,
    write_html,
)

if TYPE_CHECKING:  # the capture engine is imported when the command runs (``tlsstate keys`` need not load it)
    from tlsstate.capture.decrypt import CaptureResult, ConnectionResult
    from tlsstate.capture.keysource import KeySource

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DAMAGED = 0, 1, 2, 3

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
@click.option("--show-secrets", is_flag=True, help="With --explain / --html: print secret values in full.")
@click.option("--write-pcap", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write the decrypted application data as a plaintext pcap (same endpoints, ports, times).")
@click.option("--inject-secrets", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write the capture as pcapng with the key log lines its connections use embedded (a DSB).")
@click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write one self-contained HTML page of the capture: derivation trees, record timelines.")
@click.option("--html-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write one HTML page per connection (connNNNN.html) and index.html into this directory.")
@click.option("--html-plaintext", type=click.IntRange(0, 16384), default=PLAINTEXT_HEAD, show_default=True,
              metavar="N", help="Bytes of each record's plaintext the HTML pages keep (first 1,000 records of a "
              "connection; raise it to see more of each record, the page grows with it).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or warnings on stderr.")
def decrypt(capture: Path, keylogs: tuple[Path, ...], rsa_keys: tuple[Path, ...], rsa_key_password: str | None,
            psk: str | None, as_json: bool, show_records: bool, follow: int | None, raw_output: bool,
            write_dir: Path | None, explain: int | None, show_secrets: bool, write_pcap: Path | None,
            inject_secrets: Path | None, quiet: bool, html: Path | None = None, html_dir: Path | None = None,
            html_plaintext: int = PLAINTEXT_HEAD) -> None:
    """Decrypt the TLS connections in CAPTURE (pcap or pcapng, optionally gzip'd)."""
    keys = _key_source(keylogs, rsa_keys, rsa_key_password, psk)
    if not quiet:
        print_warnings(keys.warnings)
    warned = len(keys.warnings)  # key logs found inside the capture (pcapng DSBs) may add more while decrypting
    files = DirectionFiles(write_dir) if write_dir is not None else None
    spool = FollowSpool(follow) if follow is not None else None
    keep_records = show_records or explain is not None or html is not None or html_dir is not None
    result = _decrypt(capture, keys, files, spool, keep_records=keep_records,
                      progress=not quiet and sys.stderr.isatty(), write_pcap=write_pcap, detail_plaintext=html_plaintext)
    if inject_secrets is not None:
        _inject(capture, inject_secrets, keys, result)
    if not quiet:
        print_warnings(result.warnings)
        print_warnings(keys.warnings[warned:])
        if result.capture_error:
            click.echo(f"warning: {result.capture_error}; results up to that point are shown", err=True)
    connections = result.connections
    if files is not None:  # files are named after the TLS connection numbers of the report
        files.rename(connections)
    if html is not None or html_dir is not None:
        try:
            write_html(connections, capture, html, html_dir, show_secrets=show_secrets)
        except OSError as exc:
            _fail(f"cannot write the HTML page: {exc.strerror or exc}")
    if spool is not None:
        print_follow(spool, _pick(connections, follow, "--follow"), raw=raw_output)
    elif explain is not None:
        print_explain(_pick(connections, explain, "--explain"), show_secrets=show_secrets)
    elif as_json:
        print_json(connections)
    elif show_records:
        print_records(connections)
    else:
        print_summary(result)
    if result.capture_error:
        sys.exit(EXIT_DAMAGED)
    if any(c.session.summary()["records_failed"] for c in connections):
        sys.exit(EXIT_FAILED)
    sys.exit(EXIT_OK)


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """``tlsstate decrypt: <message>`` on stderr, then exit (status 2 unless told otherwise)."""
    click.echo(f"tlsstate decrypt: {message}", err=True)
    sys.exit(code)


def _key_source(
    keylogs: tuple[Path, ...], rsa_keys: tuple[Path, ...], rsa_key_password: str | None, psk: str | None
) -> KeySource:
    """The key material: ``$SSLKEYLOGFILE`` (when it is a file), the ``--keylog`` files, RSA keys, the PSK."""
    from tlsstate.capture.keysource import KeySource, load_rsa_key
    from tlsstate.wire.errors import ConfigurationError

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
        _fail(str(exc))
    return keys


def _decrypt(
    capture: Path, keys: KeySource, files: DirectionFiles | None, spool: FollowSpool | None, *,
    keep_records: bool, progress: bool, write_pcap: Path | None = None, detail_plaintext: int = PLAINTEXT_HEAD,
) -> CaptureResult:
    """The single decryption pass, plaintext going to ``files``, ``spool`` and the ``--write-pcap`` file;
    unreadable input exits with 2."""
    from tlsstate.capture.decrypt import DecryptOptions, decrypt_capture
    from tlsstate.capture.export import PlaintextCapture
    from tlsstate.capture.pcap import CaptureError
    from tlsstate.wire.errors import CaptureWriteFailed

    pcap: PlaintextCapture | None = None
    if write_pcap is not None:
        try:
            pcap = PlaintextCapture(write_pcap.open("wb"))
        except OSError as exc:
            _fail(f"cannot write {write_pcap}: {exc.strerror}")
    options = DecryptOptions(keep_records=keep_records, detail_plaintext=detail_plaintext,
                             sink_factory=sink_factory(files, spool, pcap.sink if pcap is not None else None))
    if pcap is not None:
        options.on_time, options.on_start, options.on_done = pcap.clock, pcap.started, pcap.done
    if files is not None:
        try:
            files.create_directory()
        except OSError as exc:
            _fail(f"cannot create {files.directory}: {exc.strerror}")
    with progress_bar(capture, progress) as report_progress:
        options.progress = report_progress
        try:
            return decrypt_capture(capture, keys, options)
        except CaptureWriteFailed as exc:
            _fail(f"cannot write {write_pcap}: {exc}")
        except CaptureError as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"cannot read {capture}: {exc.strerror}")
        finally:
            if files is not None:
                files.close()
            if pcap is not None:
                pcap.close()
                pcap.out.close()


def _inject(capture: Path, out: Path, keys: KeySource, result: CaptureResult) -> None:
    """``--inject-secrets``: the capture as pcapng with the key log lines its connections use."""
    from tlsstate.capture.export import inject_secrets, used_keylog_lines
    from tlsstate.wire.errors import CaptureWriteFailed

    try:
        inject_secrets(capture, out, used_keylog_lines(keys.keylog, result.connections))
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror}")
    except CaptureWriteFailed as exc:
        _fail(f"cannot write {out}: {exc}")


def _pick(connections: list[ConnectionResult], number: int | None, option: str) -> ConnectionResult:
    """TLS connection ``number`` of the report, for ``--follow`` / ``--explain``; exit 2 when there is none."""
    assert number is not None
    if not 0 <= number < len(connections):
        _fail(f"{option} {number}: the capture has {len(connections)} TLS connection(s) (numbered from 0)")
    return connections[number]
