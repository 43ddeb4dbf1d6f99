"""Keying material exporters: RFC 5705 for TLS 1.0-1.2, RFC 9846 §7.5 for TLS 1.3, behind one interface.

A finished handshake gives its connection one :class:`Exporter`; ``Connection.export_keying_material`` calls its
``export(label, context, length)`` whatever the version:

- :class:`Tls12Exporter` (RFC 5705 §4): PRF(master_secret, label, client_random + server_random [+ uint16 context
  length + context]), by :func:`tlsstate.crypto.prf.export_keying_material`. A context of ``None`` and an empty
  context give different bytes. Without the extended master secret (RFC 7627 §5.4) a man in the middle can make two
  connections share a master secret, so the material must not be used to authenticate: ``export`` then refuses
  unless the caller says ``allow_legacy_master_secret=True`` (``openssl s_client -keymatexport`` exports anyway).
- :class:`Tls13Exporter` (RFC 9846 §7.5): HKDF-Expand-Label(Derive-Secret(exporter_master_secret, label, ""),
  "exporter", Hash(context), length), by :func:`tlsstate.crypto.schedule13.export_keying_material`; no context is
  the same as an empty one.

Both refuse the labels the TLS PRF uses itself (RFC 5705 §4 and OpenSSL's SSL_R_TLS_ILLEGAL_EXPORTER_LABEL), labels
that are not ASCII, and lengths outside 1..:data:`MAX_EXPORT_LENGTH`; those are ConfigurationError (our
caller's input). Nothing here logs a secret; the reprs show lengths only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from tlsstate.crypto import prf, schedule13
from tlsstate.crypto.keys import SecurityParameters
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError, ExporterUnavailable

#: Labels of the TLS 1.0-1.2 key schedule (RFC 5246 §8.1, §6.3, §7.4.9; RFC 7627 §4): an exporter must not
#: produce their outputs.
RESERVED_LABELS = frozenset(
    {b"client finished", b"server finished", b"master secret", b"key expansion", b"extended master secret"}
)
#: Longest export: TLS 1.3's HKDF-Expand allows 255 hash lengths (12,240 bytes with SHA-384, 8,160 with SHA-256);
#: the same bound is kept for TLS 1.2 so a request cannot ask for unbounded memory.
MAX_EXPORT_LENGTH = 255 * 48


def exporter_label(label: str | bytes) -> bytes:
    """The label as bytes, checked: ASCII without NUL (RFC 5705 §4: "an ASCII string with no terminating NULL"), not
    beginning with one of :data:`RESERVED_LABELS` (OpenSSL compares the same prefixes)."""
    data = label.encode("utf-8") if isinstance(label, str) else bytes(label)
    if not data or any(not 0 < b < 0x80 for b in data):
        raise ConfigurationError(f"exporter label {label!r} must be non-empty ASCII without NUL (RFC 5705 §4)")
    if any(data.startswith(reserved) for reserved in RESERVED_LABELS):
        raise ConfigurationError(f"exporter label {data.decode()!r} is reserved by the TLS PRF (RFC 5705 §4)")
    return data


def _check_request(context: bytes | None, length: int) -> None:
    if not 1 <= length <= MAX_EXPORT_LENGTH:
        raise ConfigurationError(f"exporter length {length} out of range 1..{MAX_EXPORT_LENGTH}")
    if context is not None and len(context) > 0xFFFF:
        raise ConfigurationError(f"exporter context of {len(context)} bytes is longer than 65535 (RFC 5705 §4)")


class Exporter(Protocol):
    """What a connection exports keying material with, for its version."""

    def export(
        self, label: str | bytes, context: bytes | None, length: int, *, allow_legacy_master_secret: bool = False
    ) -> bytes:
        """``length`` bytes of keying material for ``label`` and ``context`` (None: no context)."""
        ...


@dataclass(frozen=True, slots=True)
class Tls12Exporter:
    """RFC 5705 §4 over the TLS 1.0-1.2 PRF of the connection's version and suite."""

    version: ProtocolVersion | int
    prf_hash: str
    master_secret: bytes = field(repr=False)
    client_random: bytes = field(repr=False)
    server_random: bytes = field(repr=False)
    extended_master_secret: bool

    def export(
        self, label: str | bytes, context: bytes | None, length: int, *, allow_legacy_master_secret: bool = False
    ) -> bytes:
        """RFC 5705 §4; refuses a master secret without RFC 7627's extension unless ``allow_legacy_master_secret``."""
        data = exporter_label(label)
        _check_request(context, length)
        if not self.extended_master_secret and not allow_legacy_master_secret:
            raise ExporterUnavailable(
                "this connection has no extended master secret: exported keying material is not bound to it and must "
                "not authenticate anything (RFC 7627 §5.4); pass allow_legacy_master_secret=True to export anyway"
            )
        return prf.export_keying_material(
            self.version, self.prf_hash, self.master_secret, self.client_random, self.server_random, data, context,
            length,
        )


@dataclass(frozen=True, slots=True)
class Tls13Exporter:
    """RFC 9846 §7.5 from the exporter_master_secret (or early_exporter_master_secret for 0-RTT data)."""

    hash_name: str
    exporter_master_secret: bytes = field(repr=False)

    def export(
        self, label: str | bytes, context: bytes | None, length: int, *, allow_legacy_master_secret: bool = False
    ) -> bytes:
        """RFC 9846 §7.5 (TLS 1.3 always binds the secret to the transcript: the EMS switch does not apply)."""
        data = exporter_label(label)
        _check_request(context, length)
        if length > 255 * schedule13.hash_length(self.hash_name):
            raise ConfigurationError(f"exporter length {length} is above 255 hash lengths (RFC 5869 §2.3)")
        return schedule13.export_keying_material(self.hash_name, self.exporter_master_secret, data, context or b"", length)


@dataclass(frozen=True, slots=True)
class NoExporter:
    """A connection that cannot export (yet): every call is ExporterUnavailable with ``reason``."""

    reason: str

    def export(
        self, label: str | bytes, context: bytes | None, length: int, *, allow_legacy_master_secret: bool = False
    ) -> bytes:
        """Always raises ExporterUnavailable."""
        raise ExporterUnavailable(self.reason)


#: Before the handshake completes there is no master secret (RFC 5705 §4 exports from a completed handshake).
NOT_YET = NoExporter("keying material can be exported only after the handshake has completed")
#: RFC 9846 §7.5: the early exporter exists for 0-RTT data (OpenSSL's SSL_export_keying_material_early: a client that
#: sent early data, a server that accepted it).
NO_EARLY_EXPORTER = NoExporter("the early exporter needs TLS 1.3 0-RTT data: sent by this client or accepted by this "
                               "server (RFC 9846 §7.5)")


def exporter_for(security: SecurityParameters) -> Exporter:
    """The exporter of a finished TLS 1.0-1.2 handshake (SSL 3.0: one that says it has none)."""
    if security.version not in (ProtocolVersion.TLS1_0, ProtocolVersion.TLS1_1, ProtocolVersion.TLS1_2):
        return NoExporter(f"{ProtocolVersion(security.version).label} has no keying material exporter (RFC 5705 §4)")
    return Tls12Exporter(
        version=security.version,
        prf_hash=security.suite.prf_hash,
        master_secret=security.master_secret,
        client_random=security.client_random,
        server_random=security.server_random,
        extended_master_secret=security.extended_master_secret,
    )
