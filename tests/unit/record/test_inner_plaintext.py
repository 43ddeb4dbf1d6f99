"""The TLS 1.3 AEADs seal and open TLSInnerPlaintext in the same call (``seal_inner`` / ``open_inner``, the record hot
path); the generic wrapper (:class:`Tls13InnerPlaintext` around an AEAD's plain ``seal_record`` / ``open``) is the
reference: both must give the same records, the same contents and the same errors for any content type, padding
and damage (RFC 8446 §5.2, §5.4; RFC 9846 §5). The bytes themselves are checked against RFC 8448 in
tests/vectors/test_record_tls13_trace.py, which goes through the fused path."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsstate.crypto import suites
from tlsstate.record.protection import Tls13InnerPlaintext, make_tls13_protection
from tlsstate.record.protection.aead13 import Tls13Aead
from tlsstate.wire.errors import TLSError


class _Unfused(Tls13Aead):
    """The same AEAD, wrapped the generic way."""

    handles_inner_plaintext = False


def _pair(suite_id: int) -> tuple[Tls13InnerPlaintext, Tls13InnerPlaintext]:
    suite = suites.by_id(suite_id)
    assert suite is not None
    key, iv = os.urandom(suite.cipher.key_length), os.urandom(12)
    fused = make_tls13_protection(suite, key, iv)
    assert isinstance(fused, Tls13Aead) and fused.handles_inner_plaintext
    unfused = _Unfused(fused.name, suite.cipher.algorithm, key, iv, fused.expansion)
    wrapped_fused, wrapped_plain = Tls13InnerPlaintext(fused), Tls13InnerPlaintext(unfused)
    assert wrapped_fused.seal_record == fused.seal_inner and wrapped_plain.seal_record != unfused.seal_inner
    return wrapped_fused, wrapped_plain


def _outcome(open_: object, *args: object) -> object:
    try:
        return open_(*args)  # type: ignore[operator]
    except TLSError as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=150, deadline=None)
@given(
    suite_id=st.sampled_from([0x1301, 0x1302, 0x1303, 0x1304]),
    content_type=st.sampled_from([0, 20, 21, 22, 23, 24, 255]),
    content=st.binary(max_size=300) | st.just(b"") | st.builds(lambda n: bytes(n), st.integers(0, 40)),
    padding=st.integers(0, 64),
    seq=st.integers(0, 2**64 - 1),
    damaged=st.booleans(),
    where=st.integers(0, 10_000),
    xor=st.integers(1, 255),
)
def test_fused_and_wrapped_inner_plaintext_agree(suite_id: int, content_type: int, content: bytes, padding: int,
                                                 seq: int, damaged: bool, where: int, xor: int) -> None:
    damage = (where, xor) if damaged else None
    fused, plain = _pair(suite_id)
    record = fused.seal_record(seq, content_type, 0x0303, content, padding)
    assert record == plain.seal_record(seq, content_type, 0x0303, content, padding)  # same key, nonce, bytes
    assert record[:3] == b"\x17\x03\x03" and int.from_bytes(record[3:5], "big") == len(record) - 5
    fragment = bytearray(record[5:])
    if damage is not None:
        fragment[damage[0] % len(fragment)] ^= damage[1]
    got = _outcome(fused.open, seq, 23, 0x0303, bytes(fragment))
    assert got == _outcome(plain.open, seq, 23, 0x0303, bytes(fragment))
    if damage is None and content_type not in (0, 20):
        assert got == (content_type, content)
    elif damage is None and content_type == 20:
        assert got == ("UnexpectedMessage", "unexpected_message: protected ChangeCipherSpec record in TLS 1.3 (RFC 9846 §5)")
    elif damage is not None:
        assert got == ("BadRecordMAC", "bad_record_mac: record failed integrity check")


@pytest.mark.parametrize("suite_id", [0x1301, 0x1303])
def test_zeros_only_and_short_fragments(suite_id: int) -> None:
    """A TLSInnerPlaintext of zeros only is unexpected_message (RFC 8446 §5.4); a fragment shorter than the tag is
    bad_record_mac; both paths."""
    for inner in _pair(suite_id):
        zeros = inner.seal_record(0, 0, 0x0303, b"", 7)  # content type 0 and padding: nothing non-zero inside
        with pytest.raises(TLSError, match="no non-zero content type"):
            inner.open(0, 23, 0x0303, zeros[5:])
        with pytest.raises(TLSError, match="bad_record_mac"):
            inner.open(1, 23, 0x0303, b"\x00" * 15)


@pytest.mark.parametrize("content_type", [21, 22, 23, 20])
@pytest.mark.parametrize("padding", [0, 1, 300])
def test_each_type_and_padding_on_both_paths(content_type: int, padding: int) -> None:
    """Every real content type comes back with the content, the padding stripped; a protected change_cipher_spec is
    unexpected_message (RFC 9846 §5): the same on the fused and the wrapped path."""
    for inner in _pair(0x1301):
        record = inner.seal_record(5, content_type, 0x0303, b"content\x00", padding)
        assert len(record) == 5 + len(b"content\x00") + 1 + padding + 16
        if content_type == 20:
            with pytest.raises(TLSError, match="protected ChangeCipherSpec"):
                inner.open(5, 23, 0x0303, record[5:])
        else:
            assert inner.open(5, 23, 0x0303, record[5:]) == (content_type, b"content\x00")
