"""Compact read-only sequences for the long lists of a hello, so that memory follows the bytes received.

A ClientHello may be 131,396 bytes (RFC 5246 §7.4.1.2): 32,767 cipher suites, 16,383 extensions, 32,760 signature
schemes. As Python objects (an int per value, an object per extension) that is 20-40 times its size; kept as here,
a few times. :class:`U16Sequence` holds uint16 values in 2 bytes each; :class:`ExtensionBlock` holds a hello's
extensions block as received and builds each :class:`~tlsstate.wire.messages.Extension` when it is read. Both
compare equal to a tuple or list of the same items, so code and tests see ordinary sequences.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar, overload

T = TypeVar("T")


class _Compact(Sequence[T], Generic[T]):
    """Equality, hashing and repr as for a tuple of the same items."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Compact | tuple | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


class U16Sequence(_Compact[int]):
    """uint16 values in wire order, 2 bytes each (cipher suites, groups, signature schemes)."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[int] = ()) -> None:
        self._values = array("H", values)

    @classmethod
    def from_bytes(cls, raw: bytes) -> U16Sequence:
        """Big-endian uint16 values (``len(raw)`` must be even)."""
        out = cls()
        out._values.frombytes(raw)
        if sys.byteorder == "little":
            out._values.byteswap()
        return out

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> U16Sequence: ...
    def __getitem__(self, index: int | slice) -> int | U16Sequence:
        if isinstance(index, slice):
            return U16Sequence(self._values[index])
        return self._values[index]

    def __iter__(self) -> Iterator[int]:
        return iter(self._values)

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and 0 <= value <= 0xFFFF and value in self._values


_HEADER = struct.Struct(">HH")  # extension_type, extension_data length (RFC 5246 §7.4.1.4)


class ExtensionBlock(_Compact[T]):
    """A hello's extensions as received: the block's bytes and where each extension starts (4 bytes each);
    ``make(type, data)`` builds one when it is read. The block was checked whole when it was cut."""

    __slots__ = ("_block", "_make", "_starts")

    def __init__(self, block: bytes, starts: array[int], make: Callable[[int, bytes], T]) -> None:
        self._block, self._starts, self._make = block, starts, make

    def __len__(self) -> int:
        return len(self._starts)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        if isinstance(index, slice):
            return tuple(self._at(start) for start in self._starts[index])
        return self._at(self._starts[index])

    def __iter__(self) -> Iterator[T]:
        for start in self._starts:
            yield self._at(start)

    def _at(self, start: int) -> T:
        ext_type, length = _HEADER.unpack_from(self._block, start)
        return self._make(ext_type, self._block[start + 4 : start + 4 + length])


__all__ = ["ExtensionBlock", "U16Sequence"]
