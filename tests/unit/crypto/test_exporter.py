"""The exporter's rules (RFC 5705 §4, RFC 7627 §5.4, RFC 9846 §7.5); its bytes are checked against OpenSSL in
tests/interop/test_exporter_peers.py and, for TLS 1.0-1.2 without context, tests/vectors/test_prf.py."""

from __future__ import annotations

import dataclasses

import pytest

from tests.helpers.connections import client_config, pump, server_config
from tlsstate.connection import Connection
from tlsstate.crypto import prf
from tlsstate.crypto.exporter import (
    MAX_EXPORT_LENGTH,
    NOT_YET,
    NoExporter,
    Tls12Exporter,
    Tls13Exporter,
    exporter_for,
    exporter_label,
)
from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.errors import ConfigurationError, ExporterUnavailable

EXPORTER = Tls12Exporter(ProtocolVersion.TLS1_2, "sha384", b"\x0b" * 48, b"\x01" * 32, b"\x02" * 32, True)


@pytest.mark.parametrize("label", ["client finished", "server finished", "master secret", "key expansion",
                                   "extended master secret", "key expansion and more"])
def test_the_prf_s_own_labels_are_refused(label: str) -> None:
    with pytest.raises(ConfigurationError, match="reserved"):
        EXPORTER.export(label, None, 16)


@pytest.mark.parametrize("label", ["", "nul\x00inside", "caf\u00e9", b"\xff"])
def test_a_label_is_non_empty_ascii_without_nul(label: str | bytes) -> None:
    with pytest.raises(ConfigurationError, match="ASCII"):
        exporter_label(label)


@pytest.mark.parametrize("length", [0, -1, MAX_EXPORT_LENGTH + 1])
def test_lengths_are_bounded(length: int) -> None:
    with pytest.raises(ConfigurationError, match="length"):
        EXPORTER.export("EXPERIMENTAL-x", None, length)


def test_a_context_longer_than_its_length_field_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="65535"):
        EXPORTER.export("EXPERIMENTAL-x", b"\x00" * 65536, 16)


def test_tls12_exporter_is_the_rfc5705_prf_call() -> None:
    """One copy: the exporter is prf.export_keying_material (itself checked against s_client -keymatexport)."""
    for context in (None, b"", b"abc"):
        assert EXPORTER.export(b"EXPERIMENTAL-x", context, 100) == prf.export_keying_material(
            ProtocolVersion.TLS1_2, "sha384", b"\x0b" * 48, b"\x01" * 32, b"\x02" * 32, b"EXPERIMENTAL-x", context, 100
        )


def test_without_ems_the_caller_must_accept_the_legacy_master_secret() -> None:
    legacy = dataclasses.replace(EXPORTER, extended_master_secret=False)
    with pytest.raises(ExporterUnavailable, match=r"RFC 7627 §5\.4"):
        legacy.export("EXPERIMENTAL-x", None, 16)
    assert legacy.export("EXPERIMENTAL-x", None, 16, allow_legacy_master_secret=True) == EXPORTER.export(
        "EXPERIMENTAL-x", None, 16
    )


def test_tls13_exporter_is_bounded_by_hkdf() -> None:
    exporter = Tls13Exporter("sha256", b"\x07" * 32)
    assert len(exporter.export("EXPERIMENTAL-x", None, 255 * 32)) == 255 * 32
    with pytest.raises(ConfigurationError, match="255 hash lengths"):
        exporter.export("EXPERIMENTAL-x", None, 255 * 32 + 1)


def test_reprs_show_no_secret() -> None:
    assert "0b0b" not in repr(EXPORTER) and "\\x0b" not in repr(EXPORTER)
    assert "\\x07" not in repr(Tls13Exporter("sha256", b"\x07" * 32))


def test_ssl3_has_no_exporter_and_a_fresh_connection_none_yet() -> None:
    client, server = Connection(client_config(), server_side=False), Connection(server_config(), server_side=True)
    client.start_handshake()
    pump(client, server)
    assert client.security is not None
    ssl3 = dataclasses.replace(client.security, version=ProtocolVersion.SSL3)
    assert isinstance(exporter_for(ssl3), NoExporter)
    with pytest.raises(ExporterUnavailable, match=r"SSL 3\.0 has no keying material exporter"):
        exporter_for(ssl3).export("EXPERIMENTAL-x", None, 16)
    with pytest.raises(ExporterUnavailable, match="after the handshake"):
        NOT_YET.export("EXPERIMENTAL-x", None, 16)
    assert isinstance(exporter_for(client.security), Tls12Exporter)


def test_after_a_fatal_error_export_raises_that_error() -> None:
    client, server = Connection(client_config(), server_side=False), Connection(server_config(), server_side=True)
    client.start_handshake()
    pump(client, server)
    client.receive_bytes(b"\x17\x03\x03\x00\x20" + b"\x00" * 32)  # a record that does not authenticate
    with pytest.raises(Exception) as failure:
        while client.next_event() is not None:
            pass
    with pytest.raises(type(failure.value)):
        client.export_keying_material("EXPERIMENTAL-x", None, 16)
