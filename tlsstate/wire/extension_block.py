"""The extension block that ends a hello and many TLS 1.3 messages (RFC 5246 §7.4.1.4, RFC 9846 §4.2):
the raw :class:`Extension` and reading / writing ``Extension extensions<0..2^16-1>``."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from tlsstate.wire.codec import Reader, Writer
from tlsstate.wire.errors import DecodeError, IllegalParameter
from tlsstate.wire.sequences import ExtensionBlock


@dataclass(frozen=True, slots=True)
class Extension:
    """A raw extension: type and opaque data (RFC 5246 §7.4.1.4)."""

    type: int
    data: bytes


def parse_extension_block(reader: Reader, what: str) -> Sequence[Extension] | None:
    """The optional ``Extension extensions<0..2^16-1>`` ending a hello (RFC 5246 §7.4.1.2, §7.4.1.4).

    No block at all -> None. Two extensions of one type -> IllegalParameter (RFC 5246 §7.4.1.4). A block may hold
    16,383 extensions: it is checked whole here (lengths; repeats with a bitmap of the 2^16 types, 8 KiB) and kept
    as received (:class:`~tlsstate.wire.sequences.ExtensionBlock`), so its cost stays a few times its size.
    """
    if reader.at_end():
        return None
    block = reader.vector(2)
    reader.expect_end()
    starts = array("H")  # a block is at most 2^16 - 1 bytes
    seen = bytearray(8192)
    pos, end = 0, len(block)
    while pos < end:
        if end - pos < 4:
            raise DecodeError(f"{what} extensions truncated: need 4 byte(s), {end - pos} left")
        ext_type, length = block[pos] << 8 | block[pos + 1], block[pos + 2] << 8 | block[pos + 3]
        if pos + 4 + length > end:
            raise DecodeError(f"{what} extensions truncated: need {length} byte(s), {end - pos - 4} left")
        if seen[ext_type >> 3] & (1 << (ext_type & 7)):
            raise IllegalParameter(f"{what}: extension 0x{ext_type:04x} appears more than once")
        seen[ext_type >> 3] |= 1 << (ext_type & 7)
        starts.append(pos)
        pos += 4 + length
    return ExtensionBlock(block, starts, Extension)


def write_extension_block(writer: Writer, extensions: Sequence[Extension] | None) -> None:
    """Write the block (nothing at all for None: a hello without extensions, RFC 5246 §7.4.1.2)."""
    if extensions is None:
        return
    with writer.length_prefixed(2) as block:
        for ext in extensions:
            block.u16(ext.type)
            block.vec16(ext.data)


__all__ = ["Extension", "parse_extension_block", "write_extension_block"]
