"""What a server chooses from a ClientHello (tlsstate/handshake/server_choices.py)."""

from __future__ import annotations

import os

import pytest

from tests.helpers.connections import server_config
from tlsstate.crypto.suites import by_name
from tlsstate.handshake.server_choices import choose_suite, read_client_hello, unrecognized_name_warning
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ExtensionType, ProtocolVersion
from tlsstate.wire.errors import HandshakeFailure
from tlsstate.wire.messages import ClientHello, Extension

ECDHE_CBC, ECDHE_GCM, RSA_GCM = 0xC013, 0xC02F, 0x009D
SIG_ALGS_CERT = Extension(ExtensionType.SIGNATURE_ALGORITHMS_CERT, ext.build_signature_algorithms([0x0401]).data)
SIG_ALGS = ext.build_signature_algorithms([0x0401])
BASE = (ext.build_supported_groups([23]), ext.build_ec_point_formats())


def chosen(version: int, suites: tuple[int, ...], *extensions: Extension) -> int:
    names = ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
             "TLS_RSA_WITH_AES_256_GCM_SHA384"]
    config = server_config(cipher_suites=[s for n in names if (s := by_name(n)) is not None],
                           min_version=ProtocolVersion.TLS1_0)
    hello = ClientHello(version, os.urandom(32), b"", suites, b"\x00", (*BASE, *extensions))
    negotiated, offer = read_client_hello(config, hello)
    return choose_suite(config, hello, negotiated, offer)[0].id


def test_signature_algorithms_cert_without_signature_algorithms() -> None:
    """RFC 8446 §4.2.3 as it applies to a TLS 1.2 server: no signature_algorithms means no signed suite."""
    assert chosen(0x0303, (ECDHE_GCM, RSA_GCM), SIG_ALGS_CERT) == RSA_GCM
    with pytest.raises(HandshakeFailure, match="signature_algorithms_cert without signature_algorithms"):
        chosen(0x0303, (ECDHE_GCM,), SIG_ALGS_CERT)


def test_signature_algorithms_cert_controls() -> None:
    """With signature_algorithms too, with neither (the {sha1,rsa} default), or in TLS 1.1: ECDHE as before."""
    assert chosen(0x0303, (ECDHE_GCM, RSA_GCM), SIG_ALGS_CERT, SIG_ALGS) == ECDHE_GCM
    assert chosen(0x0303, (ECDHE_GCM, RSA_GCM)) == ECDHE_GCM
    assert chosen(0x0302, (ECDHE_CBC,), SIG_ALGS_CERT) == ECDHE_CBC


@pytest.mark.parametrize(
    ("name", "version", "known", "warn"),
    [("localhost", 0x0303, True, False), ("LOCALHOST", 0x0301, True, False), ("other.example", 0x0303, False, True),
     ("other.example", 0x0301, False, True), ("other.example", 0x0300, False, False), (None, 0x0303, False, False)],
)
def test_unrecognized_name(name: str | None, version: int, known: bool, warn: bool) -> None:
    """RFC 6066 §3: a name our certificate (for localhost) names is acknowledged; another gets the warning
    unrecognized_name, except in SSL 3.0, which has no such alert (RFC 6101 §5.4.2); no name, neither."""
    config = server_config(min_version=ProtocolVersion.SSL3, enable_ssl3=True)
    extensions = (ext.build_server_name(name),) if name is not None else ()
    hello = ClientHello(version, os.urandom(32), b"", (0x002F,), b"\x00", extensions)
    negotiated, offer = read_client_hello(config, hello)
    assert offer.server_name_known == known
    assert unrecognized_name_warning(offer, negotiated) == warn
