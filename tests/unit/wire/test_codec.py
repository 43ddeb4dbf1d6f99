"""Codec: strict readers reject every truncation and trailing byte; writers and readers agree."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsstate.wire.codec import Reader, Writer, parse_hex
from tlsstate.wire.constants import ProtocolVersion, parse_version
from tlsstate.wire.errors import DecodeError


@given(st.binary(max_size=300), st.binary(max_size=70000), st.integers(0, 2**24 - 1))
def test_vectors_round_trip_and_no_prefix_parses(a: bytes, b: bytes, n: int) -> None:
    w = Writer()
    w.vec8(a[:255])
    w.vec16(b[:65535])
    w.u24(n)
    data = w.getvalue()
    r = Reader(data)
    assert r.vec8() == a[:255]
    assert r.vec16() == b[:65535]
    assert r.u24() == n
    r.expect_end()
    for cut in {0, 1, len(data) // 2, len(data) - 1}:
        prefix = Reader(data[:cut])
        with pytest.raises(DecodeError):
            prefix.vec8()
            prefix.vec16()
            prefix.u24()


def test_trailing_bytes_are_rejected() -> None:
    r = Reader(b"\x01\x02\x03", "Finished")
    r.u16()
    with pytest.raises(DecodeError, match="1 trailing byte"):
        r.expect_end()


def test_vector_bounds() -> None:
    with pytest.raises(DecodeError):
        Reader(b"\x00").vec8(min_len=1)
    with pytest.raises(DecodeError):
        Reader(b"\x03abc").vec8(max_len=2)
    with pytest.raises(DecodeError):
        Reader(b"\x00\x03\x00\x01\x02").u16_list(2, "cipher_suites")


def test_length_prefixed_writer() -> None:
    w = Writer()
    with w.length_prefixed(2) as inner:
        inner.u8(7)
        inner.vec8(b"ab")
    assert w.getvalue() == bytes.fromhex("0004 07 02 6162".replace(" ", ""))


def test_parse_hex() -> None:
    assert parse_hex("00:ff aa") == b"\x00\xff\xaa"
    assert parse_hex("0x0102") == b"\x01\x02"
    with pytest.raises(ValueError, match="odd"):
        parse_hex("abc")
    with pytest.raises(ValueError, match="hex"):
        parse_hex("zz")


@pytest.mark.parametrize(
    ("text", "version"),
    [("ssl3", ProtocolVersion.SSL3), ("tls1.0", ProtocolVersion.TLS1_0), ("TLSv1.1", ProtocolVersion.TLS1_1),
     ("0x0303", ProtocolVersion.TLS1_2), ("1.3", ProtocolVersion.TLS1_3)],
)
def test_parse_version(text: str, version: ProtocolVersion) -> None:
    assert parse_version(text) == version


@pytest.mark.parametrize("text", ["tls2", "0x0305", "", "sslv2"])
def test_parse_version_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_version(text)
