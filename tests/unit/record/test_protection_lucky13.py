"""Lucky 13 countermeasure (CbcMacThenEncrypt.open): for a given fragment length, the number of hash
compression-function calls is the same whatever the padding says (valid, invalid, impossible), and every
failure is the same BadRecordMAC.

The count is observed, not assumed: the MAC object and the dummy hash are wrapped and the bytes they
absorb are turned into compression calls with the RFC 6234 padding rule (computed here independently).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tlsstate.crypto import suites
from tlsstate.record.protection import CbcMacThenEncrypt, make_protection
from tlsstate.wire.errors import BadRecordMAC


def _blocks(message_length: int, block: int, length_field: int) -> int:
    """Compression calls to hash ``message_length`` bytes (Merkle-Damgard padding, RFC 6234 §4)."""
    return (message_length + 1 + length_field + block - 1) // block


class CountingMac:
    def __init__(self, inner: Any, block: int, length_field: int, prefix: int, header: int) -> None:
        self.inner, self.block, self.length_field, self.prefix, self.header = inner, block, length_field, prefix, header
        self.calls = 0
        self.length = inner.length

    def compute(self, seq: int, content_type: int, version: int, data: bytes) -> bytes:
        self.calls += _blocks(self.prefix + self.header + len(data), self.block, self.length_field)
        result: bytes = self.inner.compute(seq, content_type, version, data)
        return result


class CountingHash:
    def __init__(self, block: int) -> None:
        self.block, self.calls = block, 0

    def update(self, data: bytes | memoryview) -> None:
        assert len(data) % self.block == 0
        self.calls += len(data) // self.block


CASES = [(0x002F, 0x0303, "sha1", 64, 8), (0x003C, 0x0303, "sha256", 64, 8), (0xC028, 0x0303, "sha384", 128, 16),
         (0x002F, 0x0301, "sha1", 64, 8), (0x002F, 0x0300, "sha1", 64, 8)]


@pytest.mark.parametrize(("suite_id", "version", "hash_name", "block", "length_field"), CASES,
                         ids=[f"{c[2]}-{c[1]:04x}" for c in CASES])
@pytest.mark.parametrize("fragment_blocks", [4, 8, 20])
def test_same_compression_calls_for_every_padding(suite_id: int, version: int, hash_name: str, block: int,
                                                  length_field: int, fragment_blocks: int) -> None:
    suite = suites.by_id(suite_id)
    assert suite is not None
    mac_length = suite.mac.length
    mac_key, key = os.urandom(mac_length), os.urandom(suite.cipher.key_length)
    explicit = version >= 0x0302
    plaintext_length = 16 * fragment_blocks  # the decrypted part (without the explicit IV)
    assert plaintext_length >= mac_length + 1
    totals: set[int] = set()
    outcomes: list[str] = []
    real_mac = hmac.HMAC(mac_key, getattr(hashes, hash_name.upper())())
    for pad in (0, 1, 7, 15, 16, 31, 64, 100, 200, 255):
        for valid_padding in (True, False):
            content_length = plaintext_length - mac_length - pad - 1
            body = bytearray(os.urandom(plaintext_length))
            if content_length >= 0 and valid_padding:
                body[plaintext_length - pad - 1 :] = bytes([pad]) * (pad + 1)
                if version != 0x0300:  # give it a correct TLS MAC so some cases succeed
                    tag = real_mac.copy()
                    tag.update((0).to_bytes(8, "big") + bytes([23]) + version.to_bytes(2, "big")
                               + content_length.to_bytes(2, "big") + bytes(body[:content_length]))
                    body[content_length : content_length + mac_length] = tag.finalize()
            else:
                body[-1] = pad
                body[-2] = (pad + 1) % 256  # never a valid TLS padding
            iv = os.urandom(16)
            protection = make_protection(suite, version, mac_key, key, iv if not explicit else b"")
            assert isinstance(protection, CbcMacThenEncrypt)
            encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
            fragment = (iv if explicit else b"") + encryptor.update(bytes(body))
            prefix = block if version != 0x0300 else mac_length + (48 if hash_name == "md5" else 40)
            counter = CountingMac(protection._mac, block, length_field, prefix, 13 if version != 0x0300 else 11)
            dummy = CountingHash(block)
            protection._mac = counter  # type: ignore[assignment]
            protection._dummy = dummy  # type: ignore[assignment]
            try:
                protection.open(0, 23, version, fragment)
                outcomes.append("ok")
            except BadRecordMAC as exc:
                outcomes.append(str(exc))
            totals.add(counter.calls + dummy.calls)
    assert len(totals) == 1, totals
    assert set(outcomes) <= {"ok", "bad_record_mac: record failed integrity check"}
    if version != 0x0300:
        assert "ok" in outcomes  # the valid paddings with a correct MAC open
