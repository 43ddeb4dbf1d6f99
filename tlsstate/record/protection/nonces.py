"""The two AEAD nonce rules of TLS, as in Go's ``prefixNonceAEAD`` and ``xorNonceAEAD``; no nonce is built elsewhere.

* :func:`explicit_prefix_nonce`: TLS 1.2 AES-GCM / AES-CCM (RFC 5288 §3, RFC 6655 §3): nonce = salt(4, the
  write IV) + nonce_explicit(8), the nonce_explicit being sent in front of each record's ciphertext.
* :func:`xor_nonce`: TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2) and every TLS 1.3 AEAD (RFC 8446 §5.3): nonce =
  the 12-byte write IV XOR the 64-bit sequence number left-padded with zeros.

Each helper is called once per protection object: :func:`explicit_prefix_nonce` and :func:`xor_nonce_mask` return
the nonce buffer whose changing part each record fills in (with the AAD, in one ``struct.pack_into``: the per-record
hot path makes no call for its nonce), :func:`xor_nonce` the XOR rule as a per-record function.
"""

from __future__ import annotations

from collections.abc import Callable

from tlsstate.wire.errors import ConfigurationError

#: the length of every TLS AEAD nonce (RFC 5116 §5: 12 for AES-GCM and AES-CCM; RFC 8439 §2.8; RFC 8446 §5.3)
NONCE_LENGTH = 12


def explicit_prefix_nonce(salt: bytes, owner: str, scratch: bytearray | None = None) -> tuple[memoryview, memoryview]:
    """The GCM/CCM nonce of one TLS 1.2 record: salt + nonce_explicit (RFC 5288 §3), as ``(nonce, explicit)``.

    The salt is written at the start of ``scratch`` (a new 12-byte buffer when None); ``nonce`` views the 12
    nonce bytes and ``explicit`` their last 8, where the caller writes each record's nonce_explicit before passing
    ``nonce`` to the AEAD (one C-level write per record, no call). ``owner`` names the protection in the error for
    a salt of the wrong length.
    """
    if len(salt) != 4:
        raise ConfigurationError(f"{owner} needs a 4-byte implicit nonce (salt), got {len(salt)}")
    buffer = memoryview(bytearray(NONCE_LENGTH) if scratch is None else scratch)[:NONCE_LENGTH]
    buffer[0:4] = salt
    return buffer, buffer[4:]


def _check_iv(iv: bytes, owner: str) -> None:
    """Both XOR-nonce forms need a 12-byte IV (RFC 8446 §5.3); ``owner`` names the protection in the error."""
    if len(iv) != NONCE_LENGTH:
        raise ConfigurationError(f"{owner} needs a {NONCE_LENGTH}-byte IV, got {len(iv)}")


def xor_nonce_mask(iv: bytes, owner: str, scratch: bytearray | None = None) -> tuple[memoryview, int]:
    """The XOR nonce as a buffer the caller fills (RFC 7905 §2, RFC 8446 §5.3), as ``(nonce, mask)``.

    The sequence number is 64 bits, so only the IV's last 8 bytes change: ``nonce`` views 12 bytes of ``scratch``
    (a new buffer when None) whose first 4 hold iv[0:4]; per record the caller writes ``mask ^ seq`` big-endian
    into nonce[4:12], in the same ``struct.pack_into`` that writes the record's AAD (no call per record), where
    ``mask`` = iv[4:12] as an integer. :func:`xor_nonce` is the same rule as a function."""
    _check_iv(iv, owner)
    buffer = memoryview(bytearray(NONCE_LENGTH) if scratch is None else scratch)[:NONCE_LENGTH]
    buffer[0:4] = iv[0:4]
    return buffer, int.from_bytes(iv[4:NONCE_LENGTH], "big")


def xor_nonce(iv: bytes, owner: str) -> Callable[[int], bytes]:
    """``nonce(seq)`` = iv XOR seq_num, seq_num left-padded to 12 bytes (RFC 7905 §2, RFC 8446 §5.3). ``owner``
    names the protection in the error for an IV of the wrong length."""
    _check_iv(iv, owner)
    mask = int.from_bytes(iv, "big")

    def nonce(seq: int) -> bytes:
        return (mask ^ seq).to_bytes(12, "big")  # NONCE_LENGTH, as a literal on the per-record path

    return nonce
