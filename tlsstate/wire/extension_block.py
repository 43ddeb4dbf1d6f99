"""The extension block that ends a hello and many TLS 1.3 messages (RFC 5246 §7.4.1.4, RFC 9846 §4.2):
the raw :class:`Extension` and reading / writing ``Extension extensions<0..2^16-1>``."""

from __future__ import annotations

from dataclasses import dataclass

from tlsstate.wire.codec import Reader, Writer
from tlsstate.wire.errors import IllegalParameter


@dataclass(frozen=True, slots=True)
class Extension:
    """A raw extension: type and opaque data (RFC 5246 §7.4.1.4)."""

    type: int
    data: bytes


def parse_extension_block(reader: Reader, what: str) -> tuple[Extension, ...] | None:
    """The optional ``Extension extensions<0..2^16-1>`` ending a hello (RFC 5246 §7.4.1.2, §7.4.1.4).

    No block at all -> None. Two extensions of one type -> IllegalParameter (RFC 5246 §7.4.1.4).
    """
    if reader.at_end():
        return None
    block = reader.sub(2, f"{what} extensions")
    reader.expect_end()
    extensions: list[Extension] = []
    seen: set[int] = set()
    while not block.at_end():
        ext_type = block.u16()
        data = block.vec16()
        if ext_type in seen:
            raise IllegalParameter(f"{what}: extension 0x{ext_type:04x} appears more than once")
        seen.add(ext_type)
        extensions.append(Extension(ext_type, data))
    return tuple(extensions)


def write_extension_block(writer: Writer, extensions: tuple[Extension, ...] | None) -> None:
    """Write the block (nothing at all for None: a hello without extensions, RFC 5246 §7.4.1.2)."""
    if extensions is None:
        return
    with writer.length_prefixed(2) as block:
        for ext in extensions:
            block.u16(ext.type)
            block.vec16(ext.data)


__all__ = ["Extension", "parse_extension_block", "write_extension_block"]
