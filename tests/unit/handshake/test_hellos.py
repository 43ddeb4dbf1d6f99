"""The hello readers shared by the server, the client and the capture follower (tlsstate/handshake/hellos.py):
strict for live peers, lenient (noting and skipping a damaged extension) for captures."""

from __future__ import annotations

import pytest

from tlsstate.config import TLSConfig
from tlsstate.connection import Connection
from tlsstate.crypto.suites import lookup
from tlsstate.handshake.hellos import read_client_hello_extensions, read_server_hello_extensions
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ExtensionType, NamedGroup, ProtocolVersion
from tlsstate.wire.errors import DecodeError, IllegalParameter
from tlsstate.wire.messages import ClientHello, Extension, ServerHello

TRUNCATED_SIGNATURE_ALGORITHMS = Extension(ExtensionType.SIGNATURE_ALGORITHMS, b"\x00\x04\x04\x01")  # says 4, has 2


def _client_hello(*extensions: Extension) -> ClientHello:
    return ClientHello(0x0303, bytes(32), b"", (0x009C,), b"\x00", extensions)


def test_client_hello_read_strictly_raises_on_the_damaged_extension() -> None:
    hello = _client_hello(TRUNCATED_SIGNATURE_ALGORITHMS, ext.build_server_name("example.com"))
    with pytest.raises(DecodeError):
        read_client_hello_extensions(hello)


def test_client_hello_read_leniently_keeps_the_other_extensions() -> None:
    hello = _client_hello(TRUNCATED_SIGNATURE_ALGORITHMS, ext.build_server_name("example.com"), ext.build_alpn(["h2"]))
    problems: list[str] = []
    offer = read_client_hello_extensions(hello, problems)
    assert offer.server_name == "example.com" and offer.alpn == [b"h2"] and offer.signature_schemes is None
    assert len(problems) == 1 and problems[0].startswith("signature_algorithms: ")


def test_duplicate_extension_strict_and_lenient() -> None:
    hello = _client_hello(ext.build_server_name("a.example"), ext.build_server_name("b.example"))
    with pytest.raises(IllegalParameter):
        read_client_hello_extensions(hello)
    problems: list[str] = []
    read_client_hello_extensions(hello, problems)
    assert len(problems) == 1 and "more than once" in problems[0]


def test_server_hello_read_leniently_still_finds_the_version() -> None:
    hello = ServerHello(0x0303, bytes(32), b"", 0x1301, 0, (
        Extension(ExtensionType.ENCRYPT_THEN_MAC, b"\x01"),  # must be empty (RFC 7366 §2)
        Extension(ExtensionType.SUPPORTED_VERSIONS, b"\x03\x04"),
    ))
    with pytest.raises(DecodeError):
        read_server_hello_extensions(hello)
    problems: list[str] = []
    answer = read_server_hello_extensions(hello, problems)
    assert answer.supported_version == 0x0304 and not answer.encrypt_then_mac
    assert len(problems) == 1 and problems[0].startswith("encrypt_then_mac: ")


def _sent_client_hello(config: TLSConfig) -> ClientHello:
    """The ClientHello a client Connection sends first (one record: 5-byte record header, 4-byte message header)."""
    client = Connection(config, server_side=False)
    client.start_handshake()
    return ClientHello.parse(client.bytes_to_send()[9:])


def test_client_hello_extensions_follow_a_changed_config() -> None:
    """The TLS 1.2 hello extensions are built once per configuration (client_states.hello_extensions): each field
    changed, one at a time, between two connections of the same TLSConfig object shows in the next ClientHello."""
    config = TLSConfig(min_version=ProtocolVersion.TLS1_2, max_version=ProtocolVersion.TLS1_2, verify=False,
                       cipher_suites=[lookup("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")])

    def sent() -> dict[int, bytes]:
        return {e.type: e.data for e in _sent_client_hello(config).extensions or ()}

    first = sent()
    assert ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION not in first and ExtensionType.SERVER_NAME not in first
    assert ExtensionType.EXTENDED_MASTER_SECRET in first and sent() == first
    config.alpn_protocols = ["h2"]
    assert sent()[ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION] == ext.build_alpn(["h2"]).data
    config.server_name = "example.com"
    assert sent()[ExtensionType.SERVER_NAME] == ext.build_server_name("example.com").data
    config.groups = [NamedGroup.SECP256R1]
    assert sent()[ExtensionType.SUPPORTED_GROUPS] == b"\x00\x02\x00\x17"  # secp256r1 alone (RFC 8422 §5.1.1)
    config.extended_master_secret = False
    assert ExtensionType.EXTENDED_MASTER_SECRET not in sent()
