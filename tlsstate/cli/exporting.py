"""``--keymatexport LABEL --keymatexportlen N`` on ``connect`` and ``serve``: keying material (RFC 5705; RFC 9846 §7.5)
printed as ``openssl s_client``/``s_server -keymatexport`` print it, so the two outputs can be compared line by line::

    Keying material exporter:
        Label: 'EXPERIMENTAL-example'
        Length: 20 bytes
        Keying material: 1F0E...

``--keymatexport-context HEX`` (ours; OpenSSL's tools export without a context) adds a context value, shown as a
``Context:`` line. ``--keymatexport-early`` adds a second block from the TLS 1.3 early exporter (RFC 9846 §7.5: a
client that sent 0-RTT data, a server that accepted it; as OpenSSL's SSL_export_keying_material_early). The material
is a secret derived from the master secret: it is printed only because the flag asks for it. Without the extended
master secret (TLS <= 1.2) it is printed like OpenSSL does, with a line saying that RFC 7627 §5.4 forbids using it
to authenticate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from tlsstate.connection import Connection
from tlsstate.crypto.exporter import MAX_EXPORT_LENGTH, exporter_label
from tlsstate.wire.errors import ConfigurationError, ExporterUnavailable

F = TypeVar("F", bound=Callable[..., Any])

#: openssl s_client/s_server's -keymatexportlen default.
DEFAULT_EXPORT_LENGTH = 20


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What to export once the handshake is done."""

    label: str
    length: int = DEFAULT_EXPORT_LENGTH
    context: bytes | None = None
    early: bool = False  # also the TLS 1.3 early exporter's block


def exporter_options(func: F) -> F:
    """The ``--keymatexport`` options (names of openssl s_client/s_server, plus a context)."""
    options = [
        click.option("--keymatexport", "keymatexport", metavar="LABEL",
                     help="After the handshake, print keying material exported with LABEL (RFC 5705; like openssl)."),
        click.option("--keymatexportlen", "keymatexportlen", type=click.IntRange(1, MAX_EXPORT_LENGTH),
                     default=DEFAULT_EXPORT_LENGTH, show_default=True, help="Bytes of keying material to export."),
        click.option("--keymatexport-context", "keymatexport_context", metavar="HEX",
                     help="Context value for the exporter, in hex ('' = an empty context; default: no context)."),
        click.option("--keymatexport-early", "keymatexport_early", is_flag=True,
                     help="Also export with the TLS 1.3 early exporter (RFC 9846 §7.5; 0-RTT data sent or accepted)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def export_request(label: str | None, length: int, context_hex: str | None, early: bool = False) -> ExportRequest | None:
    """The request the options describe (None without ``--keymatexport``); a bad label or context is a usage error."""
    if label is None:
        if context_hex is not None:
            raise click.UsageError("--keymatexport-context needs --keymatexport")
        if early:
            raise click.UsageError("--keymatexport-early needs --keymatexport")
        return None
    try:
        exporter_label(label)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--keymatexport") from None
    context = None
    if context_hex is not None:
        try:
            context = bytes.fromhex(context_hex)
        except ValueError:
            raise click.BadParameter("not hex", param_hint="--keymatexport-context") from None
    return ExportRequest(label, length, context, early)


def keying_material_lines(connection: Connection, request: ExportRequest) -> list[str]:
    """openssl's ``Keying material exporter:`` block for a finished connection (``Error: ...`` when it cannot)."""
    lines = ["Keying material exporter:", f"    Label: '{request.label}'", f"    Length: {request.length} bytes"]
    if request.context is not None:
        lines.append(f"    Context: {request.context.hex().upper() or '(empty)'}")
    note = None
    try:
        try:
            material = connection.export_keying_material(request.label, request.context, request.length)
        except ExporterUnavailable:
            if connection.handshake_info is None or connection.handshake_info.extended_master_secret:
                raise
            material = connection.export_keying_material(
                request.label, request.context, request.length, allow_legacy_master_secret=True
            )
            note = "    (no extended master secret: not for authentication or channel binding, RFC 7627 §5.4)"
    except (ExporterUnavailable, ConfigurationError) as exc:
        return [*lines, f"    Error: {exc}", *_early_lines(connection, request)]
    lines.append(f"    Keying material: {material.hex().upper()}")
    return [*lines, *([note] if note else []), *_early_lines(connection, request)]


def _early_lines(connection: Connection, request: ExportRequest) -> list[str]:
    """The early exporter's block (RFC 9846 §7.5) when ``--keymatexport-early`` asked for it."""
    if not request.early:
        return []
    lines = ["Early keying material exporter:", f"    Label: '{request.label}'", f"    Length: {request.length} bytes"]
    try:
        material = connection.export_keying_material(request.label, request.context, request.length, early=True)
    except (ExporterUnavailable, ConfigurationError) as exc:
        return [*lines, f"    Error: {exc}"]
    return [*lines, f"    Keying material: {material.hex().upper()}"]
