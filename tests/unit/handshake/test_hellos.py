"""The hello readers shared by the server, the client and the capture follower (tlsstate/handshake/hellos.py):
strict for live peers, lenient (noting and skipping a damaged extension) for captures."""

from __future__ import annotations

import pytest

from tlsstate.handshake.hellos import read_client_hello_extensions, read_server_hello_extensions
from tlsstate.wire import extensions as ext
from tlsstate.wire.constants import ExtensionType
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
