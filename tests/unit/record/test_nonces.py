"""The two AEAD nonce rules (record/protection/nonces.py) against the RFCs' definitions, computed here by hand."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsstate.record.protection.nonces import explicit_prefix_nonce, xor_nonce, xor_nonce_mask
from tlsstate.wire.errors import ConfigurationError


def _rfc_xor_nonce(iv: bytes, seq: int) -> bytes:
    """RFC 8446 §5.3 / RFC 7905 §2: the 64-bit sequence number, left-padded with zeros to the IV length, XOR the IV."""
    padded = bytes(4) + seq.to_bytes(8, "big")
    return bytes(a ^ b for a, b in zip(iv, padded, strict=True))


@given(iv=st.binary(min_size=12, max_size=12), seq=st.integers(0, 2**64 - 1))
def test_xor_nonce_and_its_fill_in_form_follow_the_rfc(iv: bytes, seq: int) -> None:
    assert xor_nonce(iv, "test")(seq) == _rfc_xor_nonce(iv, seq)
    nonce, mask = xor_nonce_mask(iv, "test")
    struct.pack_into(">Q", nonce, 4, mask ^ seq)  # what the hot paths write in their one pack_into per record
    assert bytes(nonce) == _rfc_xor_nonce(iv, seq)


def test_first_record_nonces_are_the_iv_then_its_last_bit_flipped() -> None:
    """The server handshake write iv of shared/vectors/rfc8448/draft-ietf-tls-tls13-vectors.txt (simple 1-RTT):
    record 0 uses the iv itself (sequence 0), record 1 the iv with its last bit XORed."""
    iv = bytes.fromhex("182230 84735f2f2d8588caaa".replace(" ", ""))
    assert xor_nonce(iv, "test")(0) == iv
    assert xor_nonce(iv, "test")(1) == bytes.fromhex("18223084735f2f2d8588caab")


def test_explicit_prefix_nonce_is_salt_then_explicit() -> None:
    """RFC 5288 §3: nonce = salt (4, the write IV) + nonce_explicit (8)."""
    nonce, explicit = explicit_prefix_nonce(b"\x01\x02\x03\x04", "test")
    explicit[:] = bytes(range(8))
    assert bytes(nonce) == b"\x01\x02\x03\x04" + bytes(range(8))


@pytest.mark.parametrize("length", [0, 11, 13])
def test_wrong_iv_lengths_are_configuration_errors(length: int) -> None:
    with pytest.raises(ConfigurationError):
        xor_nonce(bytes(length), "test")
    with pytest.raises(ConfigurationError):
        xor_nonce_mask(bytes(length), "test")
    with pytest.raises(ConfigurationError):
        explicit_prefix_nonce(bytes(length % 4 + 5), "test")
