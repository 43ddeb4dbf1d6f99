"""Record-layer test helpers: what a test needs to reach into a record protection (production has no test hooks)."""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tlsstate.record.protection import CbcEncryptThenMac, CbcMacThenEncrypt


def aim_explicit_iv(protection: CbcMacThenEncrypt | CbcEncryptThenMac, key: bytes, explicit_iv: bytes) -> None:
    """Make the next record ``protection`` seals (only that one) carry ``explicit_iv`` (TLS 1.1+ CBC), e.g. to
    reproduce a known-answer vector.

    The explicit IV is E(R XOR residue) for the random block R (RFC 4346 §6.2.3.2 (2)(b)): the protection's
    encryptor is restarted from a zero residue and R is set to D(explicit_iv) for one record; later records take
    random blocks again. ``key`` is the protection's write key.
    """
    block = len(explicit_iv)
    cipher = TripleDES(key) if block == 8 else algorithms.AES(key)
    r_block = Cipher(cipher, modes.ECB()).decryptor().update(explicit_iv)
    protection._encryptor = Cipher(cipher, modes.CBC(bytes(block))).encryptor()
    pooled = protection._random_block

    def fixed_block_once(length: int) -> bytes:
        protection._random_block = pooled  # type: ignore[method-assign]
        return r_block

    protection._random_block = fixed_block_once  # type: ignore[method-assign]
