"""Byte-level encoding of TLS structures (RFC 5246 §4 presentation language).

``Reader`` parses strictly: any read past the end, or a vector whose length is outside its bounds,
raises :class:`~tlsstate.wire.errors.DecodeError`; ``Reader.expect_end`` rejects trailing bytes.
``Writer`` builds structures with length-prefixed vectors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from tlsstate.wire.errors import DecodeError


class Reader:
    """A cursor over immutable bytes. ``what`` names the structure for error messages."""

    __slots__ = ("_data", "_end", "_pos", "what")

    def __init__(self, data: bytes | bytearray | memoryview, what: str = "message") -> None:
        self._data = bytes(data)
        self._pos = 0
        self._end = len(self._data)
        self.what = what

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return self._end - self._pos

    @property
    def position(self) -> int:
        """Bytes already read."""
        return self._pos

    def at_end(self) -> bool:
        """True when every byte has been read."""
        return self._pos >= self._end

    def expect_end(self) -> None:
        """Raise DecodeError if bytes remain (RFC 5246 §7.4.1.2: no trailing data)."""
        if self._pos != self._end:
            raise DecodeError(f"{self.remaining} trailing byte(s) after {self.what}")

    def read(self, n: int) -> bytes:
        """Read exactly ``n`` bytes."""
        if n < 0 or self._pos + n > self._end:
            raise DecodeError(f"{self.what} truncated: need {n} byte(s), {self.remaining} left")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def _uint(self, n: int) -> int:
        pos = self._pos
        end = pos + n
        if end > self._end:  # (n is never negative here: callers pass 1..8)
            raise DecodeError(f"{self.what} truncated: need {n} byte(s), {self.remaining} left")
        self._pos = end
        return int.from_bytes(self._data[pos:end], "big")

    def u8(self) -> int:
        """uint8."""
        pos = self._pos
        if pos >= self._end:
            raise DecodeError(f"{self.what} truncated: need 1 byte(s), {self.remaining} left")
        self._pos = pos + 1
        return self._data[pos]

    def u16(self) -> int:
        """uint16."""
        return self._uint(2)

    def u24(self) -> int:
        """uint24."""
        return self._uint(3)

    def u32(self) -> int:
        """uint32."""
        return self._uint(4)

    def u64(self) -> int:
        """uint64."""
        return self._uint(8)

    def vector(self, length_bytes: int, min_len: int = 0, max_len: int | None = None) -> bytes:
        """Read ``opaque x<min_len..max_len>`` with a ``length_bytes``-byte length prefix."""
        n = self._uint(length_bytes)
        if n < min_len or (max_len is not None and n > max_len):
            bound = f"{min_len}..{max_len}" if max_len is not None else f">= {min_len}"
            raise DecodeError(f"{self.what}: vector length {n} outside {bound}")
        pos = self._pos
        end = pos + n
        if end > self._end:  # read(n), inline
            raise DecodeError(f"{self.what} truncated: need {n} byte(s), {self.remaining} left")
        self._pos = end
        return self._data[pos:end]

    def vec8(self, min_len: int = 0, max_len: int | None = None) -> bytes:
        """opaque x<min..2^8-1>."""
        return self.vector(1, min_len, max_len)

    def vec16(self, min_len: int = 0, max_len: int | None = None) -> bytes:
        """opaque x<min..2^16-1>."""
        return self.vector(2, min_len, max_len)

    def vec24(self, min_len: int = 0, max_len: int | None = None) -> bytes:
        """opaque x<min..2^24-1>."""
        return self.vector(3, min_len, max_len)

    def sub(self, length_bytes: int, what: str | None = None, min_len: int = 0) -> Reader:
        """A Reader over a length-prefixed vector (for nested structures)."""
        return Reader(self.vector(length_bytes, min_len), what or self.what)

    def u16_list(self, length_bytes: int, what: str, min_len: int = 0) -> list[int]:
        """A vector of uint16 values (cipher suites, groups, signature schemes)."""
        raw = self.vector(length_bytes, min_len)
        if len(raw) % 2:
            raise DecodeError(f"{what}: odd length {len(raw)} for a list of uint16")
        return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


class Writer:
    """Append-only builder for TLS structures."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        """Everything written so far."""
        return bytes(self._buf)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Raw bytes."""
        self._buf += data

    def u8(self, v: int) -> None:
        """uint8."""
        self._buf += v.to_bytes(1, "big")

    def u16(self, v: int) -> None:
        """uint16."""
        self._buf += v.to_bytes(2, "big")

    def u24(self, v: int) -> None:
        """uint24."""
        self._buf += v.to_bytes(3, "big")

    def u32(self, v: int) -> None:
        """uint32."""
        self._buf += v.to_bytes(4, "big")

    def u64(self, v: int) -> None:
        """uint64."""
        self._buf += v.to_bytes(8, "big")

    def vector(self, length_bytes: int, data: bytes | bytearray | memoryview) -> None:
        """Length-prefixed opaque vector."""
        n = len(data)
        if n >= 1 << (8 * length_bytes):
            raise ValueError(f"vector of {n} bytes does not fit a {length_bytes}-byte length")
        self._buf += n.to_bytes(length_bytes, "big")
        self._buf += data

    def vec8(self, data: bytes | bytearray | memoryview) -> None:
        """opaque x<0..2^8-1>."""
        self.vector(1, data)

    def vec16(self, data: bytes | bytearray | memoryview) -> None:
        """opaque x<0..2^16-1>."""
        self.vector(2, data)

    def vec24(self, data: bytes | bytearray | memoryview) -> None:
        """opaque x<0..2^24-1>."""
        self.vector(3, data)

    def u16_list(self, length_bytes: int, values: Sequence[int]) -> None:
        """A vector of uint16 values."""
        self.vector(length_bytes, b"".join(v.to_bytes(2, "big") for v in values))

    @contextmanager
    def length_prefixed(self, length_bytes: int) -> Iterator[Writer]:
        """Write a nested structure, then prefix it with its length."""
        inner = Writer()
        yield inner
        self.vector(length_bytes, inner._buf)


def parse_hex(text: str, what: str = "value") -> bytes:
    """Parse hex (spaces and colons allowed); ValueError with a one-line message otherwise."""
    cleaned = "".join(text.split()).replace(":", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    if len(cleaned) % 2:
        raise ValueError(f"{what}: odd number of hex digits ({len(cleaned)})")
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValueError(f"{what}: not valid hex") from None
