"""What the AEAD modes (:mod:`.aead12`, :mod:`.aead13`) share: the pyca AEAD object with its methods bound once, and
decryption in place that never leaves unverified plaintext behind (RFC 5116 §2.2)."""

from __future__ import annotations

from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from tlsstate.record.protection.base import Buffer, RecordProtection
from tlsstate.wire.errors import BadRecordMAC, ConfigurationError


def aead_object(algorithm: str, key: bytes, tag_length: int) -> AESGCM | AESCCM | ChaCha20Poly1305:
    """The pyca AEAD for a suite's cipher (RFC 5116 §5 AES-GCM, RFC 6655 AES-CCM, RFC 8439 ChaCha20-Poly1305)."""
    if algorithm == "AES-GCM":
        return AESGCM(key)
    if algorithm == "AES-CCM":
        return AESCCM(key, tag_length=tag_length)
    if algorithm == "CHACHA20-POLY1305":
        return ChaCha20Poly1305(key)
    raise ConfigurationError(f"not an AEAD: {algorithm}")


def decrypt_into_or_wipe(
    decrypt_into: Callable[[Buffer, Buffer, Buffer | None, memoryview], int], nonce: Buffer, ciphertext: Buffer,
    aad: Buffer | None, target: memoryview,
) -> None:
    """AEAD-Decrypt straight into ``target`` (RFC 5116 §2.2). pyca's ``decrypt_into`` writes the plaintext
    before it checks the tag, so on failure the unverified bytes are wiped before BadRecordMAC is raised."""
    try:
        decrypt_into(nonce, ciphertext, aad, target)
    except InvalidTag:
        target[:] = bytes(len(target))
        raise BadRecordMAC() from None


class AeadProtection(RecordProtection):
    """An AEAD record protection: the pyca object and its four methods, bound once (the per-record hot path)."""

    protects = True

    def __init__(self, name: str, algorithm: str, key: bytes, tag_length: int) -> None:
        self.name = name
        aead = aead_object(algorithm, key, tag_length)
        self._encrypt = aead.encrypt
        self._decrypt = aead.decrypt
        self._encrypt_into = aead.encrypt_into
        self._decrypt_into = aead.decrypt_into
        self._tag = tag_length
