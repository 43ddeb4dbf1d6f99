"""``tlsstate speed``: benchmark record protection (and, when built, handshakes and capture decryption).

The records benchmark compares tlsstate with the raw pyca primitive and with CPython ``ssl`` (OpenSSL)
moving the same bytes, interleaved, medians of ``--repeat`` runs of ``--seconds`` each
(see :mod:`tlsstate.bench.records`). ``--handshakes`` / ``--decrypt`` run
``tlsstate.bench.handshakes.run_handshake_bench`` / ``tlsstate.bench.decrypt.run_decrypt_bench`` when
those modules exist. ``--json`` prints one list of objects (records: ``suite``, ``record_size``,
``tlsstate_mb_s``, ``tlsstate_into_mb_s`` (the zero-copy API), ``tlsstate_connection_mb_s``,
``ssl_mb_s``, ``raw_mb_s``, ratios).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import click

from tlsstate.bench.records import DEFAULT_SIZES, run_record_bench, suite_labels

OPTIONAL_BENCHMARKS = {
    "handshakes": ("tlsstate.bench.handshakes", "run_handshake_bench"),
    "decrypt": ("tlsstate.bench.decrypt", "run_decrypt_bench"),
}


def _optional_runner(section: str) -> Callable[..., list[dict[str, Any]]] | None:
    """The benchmark function of ``section``, or None when this build does not have its module."""
    module_name, function = OPTIONAL_BENCHMARKS[section]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    runner: Callable[..., list[dict[str, Any]]] | None = getattr(module, function, None)
    return runner


def _records_table(rows: list[dict[str, Any]]) -> str:
    """The records benchmark as a text table (MB/s per implementation, ratios)."""
    header = (f"{'suite':<23} {'record':>6} {'tlsstate':>8} {'zero-copy':>9} {'Connection':>10} {'ssl':>7} {'raw':>7}"
              f" {'vs ssl':>6} {'vs raw':>6}")
    lines = ["MB/s (10^6 bytes of application data per second); vs = tlsstate (bytes API) / other", header,
             "-" * len(header)]

    def rate(row: dict[str, Any], key: str, width: int) -> str:
        value = row.get(key)
        return f"{'-' if value is None else f'{value:.1f}':>{width}}"

    for row in rows:
        vs_ssl = f"{row['ratio_vs_ssl']:.2f}x" if row.get("ratio_vs_ssl") is not None else "-"
        vs_raw = f"{row['ratio_vs_raw']:.0%}" if row.get("ratio_vs_raw") is not None else "-"
        lines.append(
            f"{row['suite']:<23} {row['record_size']:>6} {rate(row, 'tlsstate_mb_s', 8)}"
            f" {rate(row, 'tlsstate_into_mb_s', 9)} {rate(row, 'tlsstate_connection_mb_s', 10)}"
            f" {rate(row, 'ssl_mb_s', 7)} {rate(row, 'raw_mb_s', 7)}"
            f" {vs_ssl:>6} {vs_raw:>6}"
        )
    other = sorted({(row["suite"], row["ssl_suite"]) for row in rows if row.get("ratio_vs_ssl") is None
                    and row.get("ssl_suite")})
    lines += [f"{suite}: ssl negotiated {negotiated} (CPython ssl cannot choose a TLS 1.3 suite; OpenSSL's "
              "configuration can: docs/performance.md), so no ratio" for suite, negotiated in other]
    return "\n".join(lines)


def _generic_table(rows: list[dict[str, Any]]) -> str:
    """Any other benchmark's rows as a text table, one column per key."""
    if not rows:
        return "(no results)"
    keys = list(dict.fromkeys(k for row in rows for k in row))
    widths = {k: max(len(k), *(len(str(row.get(k, ""))) for row in rows)) for k in keys}
    lines = ["  ".join(k.ljust(widths[k]) for k in keys)]
    lines += ["  ".join(str(row.get(k, "")).ljust(widths[k]) for k in keys) for row in rows]
    return "\n".join(lines)


@click.command(name="speed")
@click.option("--records/--no-records", default=None,
              help="Record seal+open throughput (default when no other benchmark is chosen).")
@click.option("--handshakes", is_flag=True, help="Handshakes per second (if this build has the benchmark).")
@click.option("--decrypt", "decrypt_", is_flag=True, help="Capture decryption speed (if this build has it).")
@click.option("--suite", "suites_", multiple=True, type=click.Choice(suite_labels(), case_sensitive=False),
              help="Only these record suites (repeatable). Default: all.")
@click.option("--size", "sizes", multiple=True, type=click.IntRange(1, 2**14),
              help=f"Record sizes in bytes (repeatable). Default: {', '.join(map(str, DEFAULT_SIZES))}.")
@click.option("--repeat", type=click.IntRange(1, 1000), default=9, show_default=True,
              help="Repetitions; the median is reported.")
@click.option("--seconds", type=click.FloatRange(0.0001, 60.0), default=0.15, show_default=True,
              help="Duration of each single measurement.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of result objects.")
def speed(records: bool | None, handshakes: bool, decrypt_: bool, suites_: tuple[str, ...], sizes: tuple[int, ...],
          repeat: int, seconds: float, as_json: bool) -> None:
    """Benchmark record protection against the raw primitive and CPython ssl (OpenSSL).

    \b
    Records (TLS 1.2; TLS13-* suites TLS 1.3; one core, application-data MB/s = 10^6 bytes/s, seal + open):
      tlsstate  HalfConnection.seal (whole record with header, bytes) -> Deframer.feed ->
                HalfConnection.open_next (header checks, sequence, integrity, length; bytes)
      zero-copy HalfConnection.seal_into the reader's Deframer.receive_buffer -> received ->
                HalfConnection.open_next_into a reused buffer (pyca encrypt_into/decrypt_into)
      Connection the whole sans-I/O Connection pair, handshaken in memory: send_data ->
                bytes_to_send -> receive_bytes -> next_event (what TLSSocket does per record)
      raw       the pyca primitive alone: AEAD encrypt + decrypt with a fresh nonce per record;
                CBC-SHA: AES-CBC + HMAC-SHA1 both ways (no record header, no Lucky 13 work)
      ssl       CPython ssl.SSLObject pair over MemoryBIOs, handshaken to the same suite:
                write on the client, move the bytes, read on the server
    All alternate in ~1 ms batches inside each measurement; the median of --repeat
    measurements is shown. See docs/performance.md.
    """
    if records is None:
        records = not (handshakes or decrypt_)
    results: list[dict[str, Any]] = []
    texts: list[str] = []
    if records:
        labels = {label.upper(): label for label in suite_labels()}
        chosen = [labels[s.upper()] for s in suites_] or None
        progress = None if as_json else (lambda message: click.echo(f"  {message}", err=True))
        rows = run_record_bench(suite_names=chosen, sizes=sizes or DEFAULT_SIZES, repeat=repeat, seconds=seconds,
                                progress=progress)
        results += rows
        texts.append(f"Record protection (TLS13-*: TLS 1.3, others TLS 1.2), median of {repeat} x {seconds:g} s "
                     "(seal + open, one core)\n"
                     + _records_table(rows))
    for section, wanted in (("handshakes", handshakes), ("decrypt", decrypt_)):
        if not wanted:
            continue
        runner = _optional_runner(section)
        if runner is None:
            message = f"--{section}: benchmark not available in this build"
            if as_json:
                results.append({"benchmark": section, "available": False})
            texts.append(message)
            continue
        rows = runner(repeat=repeat, seconds=seconds)
        for row in rows:
            row.setdefault("benchmark", section)
        results += rows
        texts.append(f"{section}:\n" + _generic_table(rows))
    if as_json:
        click.echo(json.dumps(results, indent=2))
    else:
        click.echo("\n\n".join(texts))
