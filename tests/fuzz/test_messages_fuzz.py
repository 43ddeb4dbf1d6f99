"""Hostile input: arbitrary bytes into every parser give a parsed value or a typed ProtocolError
(never another exception), and the reassembler never holds more than one capped message."""

from __future__ import annotations

import contextlib
import inspect

from hypothesis import given, settings
from hypothesis import strategies as st

from tlsstate.crypto.suites import KeyExchange
from tlsstate.wire import extensions as x
from tlsstate.wire import messages as m
from tlsstate.wire.errors import ProtocolError

HANDSHAKE_TYPES = [0, 1, 2, 4, 8, 11, 12, 13, 14, 15, 16, 20, 24, 99]
VERSIONS = [0x0300, 0x0301, 0x0302, 0x0303, 0x0304]
PARSERS = [
    fn for name, fn in inspect.getmembers(x, inspect.isfunction)
    if name.startswith("parse_") and name != "parse_empty"
]


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(HANDSHAKE_TYPES),
    st.sampled_from(VERSIONS),
    st.sampled_from([None, *KeyExchange]),
    st.binary(max_size=120),
)
def test_parse_message_only_raises_protocol_errors(msg_type: int, version: int, kx: KeyExchange | None, body: bytes) -> None:
    try:
        msg = m.parse_message(m.RawHandshake(msg_type, body, b""), m.ParseContext(version, kx))
    except ProtocolError as exc:
        assert exc.alert.label in ("decode_error", "illegal_parameter", "unexpected_message")
        return
    assert msg.msg_type == msg_type


@st.composite
def hello_like(draw: st.DrawFn) -> bytes:
    """A mostly well-formed hello body with a fuzzed tail, to get past the fixed header."""
    head = b"\x03\x03" + draw(st.binary(min_size=32, max_size=32)) + b"\x00\x00\x02\x00\x2f\x01\x00"
    return head + draw(st.binary(max_size=60))


@settings(max_examples=300, deadline=None)
@given(hello_like())
def test_client_hello_tails(body: bytes) -> None:
    try:
        hello = m.ClientHello.parse(body)
    except ProtocolError:
        return
    assert m.ClientHello.parse(hello.serialize()) == hello


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PARSERS), st.binary(max_size=40))
def test_extension_parsers_only_raise_protocol_errors(parse: object, data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse(data)  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_sslv2_parser_only_raises_protocol_errors(data: bytes) -> None:
    record = bytes([0x80 | (len(data) >> 8), len(data) & 0xFF]) + data
    try:
        hello = m.parse_sslv2_client_hello(record)
    except ProtocolError:
        return
    assert len(hello.random) == 32 and hello.cipher_suites


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_reassembler_memory_is_bounded(fragments: list[bytes]) -> None:
    cap = 256
    reasm = m.HandshakeReassembler(max_message_length=cap)
    try:
        for fragment in fragments:
            reasm.feed(fragment)
            while (raw := reasm.next_message()) is not None:
                assert len(raw.body) <= cap and raw.raw[4:] == raw.body
            assert len(reasm._buffer) < 4 + cap  # at most one partial message
    except ProtocolError as exc:
        assert exc.alert.label == "decode_error"
