"""``tlsstate keys --version tls1.3``: derive and explain a TLS 1.3 key schedule from its inputs (RFC 9846 §7.1).

Inputs: the (EC)DHE or hybrid shared secret (``--shared-secret``; none for psk_ke), an optional PSK (``--psk``), and
the transcript hashes the schedule binds: ClientHello..ServerHello (``--hello-hash``), ClientHello..server Finished
(``--finished-hash``) and, for the resumption master secret, ClientHello..client Finished
(``--client-finished-hash``). Each traffic secret is shown with the key and IV it gives (§7.3). The derivation is
:class:`tlsstate.crypto.schedule13.KeySchedule13`, the same code the live handshake runs.
"""

from __future__ import annotations

import json
from typing import Any

import click
from rich.console import Console

from tlsstate.cli.options import parse_hex
from tlsstate.crypto.schedule13 import KeySchedule13, hash_length, traffic_key_and_iv
from tlsstate.crypto.suites import CipherSuite, lookup
from tlsstate.html.formulas import TLS13_IV, TLS13_KEY, TLS13_SCHEDULE
from tlsstate.wire.errors import ConfigurationError

__all__ = ["tls13_schedule"]

def _suite(text: str | None) -> CipherSuite:
    if text is None:
        raise click.UsageError("--suite is required with --version tls1.3 (e.g. TLS_AES_128_GCM_SHA256)")
    try:
        suite = lookup(text)
    except ConfigurationError as exc:
        raise click.UsageError(f"--suite: {exc}") from None
    if not suite.is_tls13:
        raise click.UsageError(f"--suite: {suite.name} is not a TLS 1.3 suite (RFC 9846 §B.4)")
    return suite


def _hash(option: str, text: str | None, length: int, required: bool) -> bytes | None:
    if text is None:
        if required:
            raise click.UsageError(f"{option} is required with --version tls1.3 (a transcript hash, {length} bytes)")
        return None
    value = parse_hex(option, text)
    if len(value) != length:
        raise click.UsageError(f"{option}: a transcript hash of this suite is {length} bytes, not {len(value)}")
    return value


def tls13_schedule(suite_text: str | None, shared_secret: str | None, psk: str | None, hello_hash: str | None,
                   finished_hash: str | None, client_finished_hash: str | None) -> list[tuple[str, bytes, str]]:
    """(name, value, formula) for every secret, key and IV of the schedule, in derivation order."""
    suite = _suite(suite_text)
    hash_name = suite.prf_hash
    size = hash_length(hash_name)
    dhe = parse_hex("--shared-secret", shared_secret) if shared_secret is not None else None
    key = parse_hex("--psk", psk) if psk is not None else None
    if dhe is None and key is None:
        raise click.UsageError("give --shared-secret (the (EC)DHE or hybrid KEM secret), --psk, or both")
    to_server_hello = _hash("--hello-hash", hello_hash, size, True)
    to_server_finished = _hash("--finished-hash", finished_hash, size, True)
    to_client_finished = _hash("--client-finished-hash", client_finished_hash, size, False)
    assert to_server_hello is not None and to_server_finished is not None
    schedule = KeySchedule13(hash_name, key)
    values: list[tuple[str, bytes]] = [("early_secret", schedule.early_secret),
                                       ("handshake_secret", schedule.enter_handshake(dhe)),
                                       ("client_handshake_traffic_secret",
                                        schedule.client_handshake_traffic_secret(to_server_hello)),
                                       ("server_handshake_traffic_secret",
                                        schedule.server_handshake_traffic_secret(to_server_hello)),
                                       ("master_secret", schedule.enter_master()),
                                       ("client_application_traffic_secret_0",
                                        schedule.client_application_traffic_secret(to_server_finished)),
                                       ("server_application_traffic_secret_0",
                                        schedule.server_application_traffic_secret(to_server_finished)),
                                       ("exporter_master_secret", schedule.exporter_master_secret(to_server_finished))]
    if to_client_finished is not None:
        values.append(("resumption_master_secret", schedule.resumption_master_secret(to_client_finished)))
    rows: list[tuple[str, bytes, str]] = []
    for name, value in values:
        rows.append((name, value, TLS13_SCHEDULE[name]))
        if "traffic_secret" in name:  # its write key and IV (RFC 9846 §7.3)
            write_key, iv = traffic_key_and_iv(suite, value)
            rows += [(f"{name} key", write_key, TLS13_KEY), (f"{name} iv", iv, TLS13_IV)]
    return rows


def print_tls13_schedule(rows: list[tuple[str, bytes, str]], suite_text: str, as_json: bool) -> None:
    """The explained layout, or one JSON object (``{"version", "suite", "schedule": {name: hex}}``)."""
    if as_json:
        document: dict[str, Any] = {"version": "TLS 1.3", "suite": lookup(suite_text).name,
                                    "schedule": {name: value.hex() for name, value, _ in rows}}
        click.echo(json.dumps(document, indent=2))
        return
    console = Console(highlight=False)
    console.width = max(console.width, 120)
    console.print(f"TLS 1.3 key schedule, {lookup(suite_text).name} (RFC 9846 §7.1; keys and IVs §7.3)")
    for name, value, formula in rows:
        console.print(f"{name:<40} {len(value):>3} B  {value.hex()}", markup=False)
        console.print(f"{'':<40}        = {formula}", markup=False)
