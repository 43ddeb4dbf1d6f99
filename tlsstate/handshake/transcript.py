"""The running handshake transcript (RFC 5246 §7.4.9 ``handshake_messages``, RFC 7627 §3 session_hash).

Messages are hashed as they pass, so Finished and the extended master secret need one ``copy()`` +
``digest()`` instead of re-hashing everything. Until ServerHello fixes the version and PRF hash the
bytes are only buffered; SSL 3.0 keeps the bytes, since its Finished hashes them with the master
secret and sender inside (RFC 6101 §5.6.9).
"""

from __future__ import annotations

import hashlib
from typing import Any

from tlsstate.wire.constants import ProtocolVersion
from tlsstate.wire.messages13 import message_hash


class Transcript:
    """All handshake messages sent and received so far, in order (HelloRequest excluded)."""

    __slots__ = ("_data", "_hashes", "_ssl3")

    def __init__(self) -> None:
        self._data = bytearray()
        self._hashes: list[Any] | None = None
        self._ssl3 = False

    def __len__(self) -> int:
        return len(self._data)

    def add(self, message: bytes) -> None:
        """Append one whole handshake message (header included)."""
        self._data += message
        if self._hashes is not None:
            for running in self._hashes:
                running.update(message)

    def use_hash(self, version: int, prf_hash: str) -> None:
        """Start the running hash once the version is known: MD5 || SHA-1 before TLS 1.2, else the PRF hash."""
        if version == ProtocolVersion.SSL3:
            self._ssl3 = True
            return
        names = ("md5", "sha1") if version < ProtocolVersion.TLS1_2 else (prf_hash,)
        self._hashes = [hashlib.new(name, self._data) for name in names]

    def restart_with_message_hash(self, first_length: int, hash_name: str) -> None:
        """After a HelloRetryRequest (RFC 9846 §4.4.1): the first ``first_length`` bytes (ClientHello1) become
        ``message_hash`` = 254 || 00 00 Hash.length || Hash(ClientHello1); what followed stays; the running hash
        starts over with ``hash_name`` (the suite's)."""
        first = hashlib.new(hash_name, self._data[:first_length]).digest()
        self._data = bytearray(message_hash(first)) + self._data[first_length:]
        self._hashes = [hashlib.new(hash_name, self._data)]

    def digest(self) -> bytes:
        """Hash(handshake_messages) so far (RFC 5246 §7.4.9, RFC 7627 §3); the running hash continues."""
        hashes = self._hashes
        if hashes is None:
            raise RuntimeError("transcript hash used before the version and PRF hash were chosen")
        if len(hashes) == 1:  # TLS 1.2 and 1.3: one hash, no join (a TLS 1.3 handshake asks ten times a side)
            digest: bytes = hashes[0].copy().digest()
            return digest
        return b"".join(running.copy().digest() for running in hashes)

    def finished_basis(self) -> bytes:
        """What a Finished computed now covers: the hash (TLS) or the raw messages (SSL 3.0)."""
        return bytes(self._data) if self._ssl3 else self.digest()

    @property
    def data(self) -> bytes:
        """The raw messages."""
        return bytes(self._data)
