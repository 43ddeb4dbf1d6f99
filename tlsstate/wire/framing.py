"""Handshake message framing: record fragments in, whole handshake messages out (RFC 5246 §6.2.1, §7.4).

A handshake message is ``msg_type`` (1 byte) + ``length`` (3 bytes) + body; messages may span records and a
record may carry several messages. What each body means is :mod:`tlsstate.wire.messages`' job.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from tlsstate.wire.constants import HandshakeType
from tlsstate.wire.errors import DecodeError, ProtocolError

DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH = 65536
HANDSHAKE_HEADER_LENGTH = 4
#: The longest ClientHello body its own length fields allow (RFC 5246 §7.4.1.2): client_version 2 + random 32 +
#: session_id 1 + 32 + cipher_suites 2 + (2^16 - 2) + compression_methods 1 + (2^8 - 1) + extensions 2 + (2^16 - 1).
MAX_CLIENT_HELLO_LENGTH = 2 + 32 + (1 + 32) + (2 + 2**16 - 2) + (1 + 2**8 - 1) + (2 + 2**16 - 1)
#: What a server lets in above the configured cap: a ClientHello as large as it can be (131,396 bytes); every
#: other message keeps the cap.
SERVER_LIMITS: Mapping[int, int] = {HandshakeType.CLIENT_HELLO: MAX_CLIENT_HELLO_LENGTH}


@dataclass(frozen=True, slots=True)
class RawHandshake:
    """A whole handshake message as received: type, body and exact bytes for the transcript."""

    msg_type: int
    body: bytes
    raw: bytes = field(repr=False)



class HandshakeReassembler:
    """Handshake-record fragments -> whole messages (RFC 5246 §6.2.1: messages may span records and
    records may carry several messages).

    A declared length above ``max_message_length`` (or, for a message type in ``limits``, above the larger of the
    two) raises DecodeError as soon as the 4-byte header is seen, before any of the body is kept. After an error
    every call raises the same error.
    """

    __slots__ = ("_buffer", "_error", "_limits", "_max", "_ready")

    def __init__(
        self, max_message_length: int = DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH, *, limits: Mapping[int, int] | None = None
    ) -> None:
        self._max = max_message_length
        self._limits = dict(limits or {})
        self._buffer = bytearray()
        self._ready: deque[RawHandshake] = deque()
        self._error: ProtocolError | None = None

    def feed(self, fragment: bytes) -> None:
        """Add the payload of one handshake record (any split)."""
        if self._error is not None:
            raise self._error
        self._buffer += fragment
        buf = self._buffer
        pos = 0
        while len(buf) - pos >= HANDSHAKE_HEADER_LENGTH:
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if length > self._max and length > self._limits.get(buf[pos], 0):
                limit = max(self._max, self._limits.get(buf[pos], 0))
                del buf[:]
                self._error = DecodeError(f"handshake message of {length} bytes exceeds the {limit}-byte limit")
                raise self._error
            end = pos + HANDSHAKE_HEADER_LENGTH + length
            if len(buf) < end:
                break
            raw = bytes(buf[pos:end])
            self._ready.append(RawHandshake(raw[0], raw[HANDSHAKE_HEADER_LENGTH:], raw))
            pos = end
        if pos:
            del buf[:pos]

    def next_message(self) -> RawHandshake | None:
        """The next whole message, or None if more data is needed."""
        if self._error is not None:
            raise self._error
        return self._ready.popleft() if self._ready else None

    @property
    def empty(self) -> bool:
        """True when no partial message is buffered (a ChangeCipherSpec must not split a message)."""
        return not self._buffer

    @property
    def pending(self) -> int:
        """Number of whole messages parsed but not yet taken."""
        return len(self._ready)


__all__ = [
    "DEFAULT_MAX_HANDSHAKE_MESSAGE_LENGTH",
    "HANDSHAKE_HEADER_LENGTH",
    "MAX_CLIENT_HELLO_LENGTH",
    "SERVER_LIMITS",
    "HandshakeReassembler",
    "RawHandshake",
]
