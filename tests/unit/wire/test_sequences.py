"""The compact hello sequences (tlsstate/wire/sequences.py): they behave as tuples of the same items."""

from __future__ import annotations

import tracemalloc
from array import array

from tlsstate.wire import messages as m
from tlsstate.wire.constants import ExtensionType
from tlsstate.wire.sequences import ExtensionBlock, U16Sequence


def test_u16_sequence_is_a_tuple_of_ints() -> None:
    values = U16Sequence.from_bytes(bytes.fromhex("c02f002f00ff"))
    assert values == (0xC02F, 0x002F, 0x00FF) == U16Sequence([0xC02F, 0x2F, 0xFF])
    assert values == [0xC02F, 0x002F, 0x00FF]
    assert (0xC02F, 0x002F, 0x00FF) == values  # noqa: SIM300  (the reflected comparison is the point)
    assert values != (0xC02F, 0x002F) and values != "not a sequence"
    assert len(values) == 3 and values[0] == 0xC02F and values[-1] == 0xFF and values[1:] == (0x2F, 0xFF)
    assert list(values) == [0xC02F, 0x2F, 0xFF] and 0x2F in values and -1 not in values and 70000 not in values
    assert hash(values) == hash((0xC02F, 0x2F, 0xFF)) and repr(values) == repr((0xC02F, 0x2F, 0xFF))


def test_extension_block_reads_each_extension_when_asked() -> None:
    block = bytes.fromhex("0000000700050000026162" "fafa0000" "ff01000100")
    parsed = ExtensionBlock(block, array("H", [0, 11, 15]), m.Extension)
    expected = (m.Extension(0, bytes.fromhex("00050000026162")), m.Extension(0xFAFA, b""), m.Extension(0xFF01, b"\x00"))
    assert parsed == expected and list(parsed) == list(expected) and parsed[1] == expected[1]
    assert parsed[::2] == (expected[0], expected[2]) and len(parsed) == 3 and hash(parsed) == hash(expected)


def test_parsed_client_hello_equals_the_built_one() -> None:
    built = m.ClientHello(0x0303, bytes(32), b"", (0xC02F, 0x2F), b"\x00",
                          (m.Extension(ExtensionType.EXTENDED_MASTER_SECRET, b""), m.Extension(0xFAFA, b"x")))
    parsed = m.ClientHello.parse(built.serialize())
    assert parsed == built and parsed.serialize() == built.serialize()
    assert isinstance(parsed.cipher_suites, U16Sequence) and isinstance(parsed.extensions, ExtensionBlock)


def test_maximal_client_hello_parses_in_a_few_times_its_size() -> None:
    """131,396 bytes: 32,767 cipher suites and 16,383 extensions cost a few times the bytes, not one Python object
    per value (tracemalloc peak; a list of ints and Extension objects would be about 20 times)."""
    suites = b"".join((0x8000 + i).to_bytes(2, "big") for i in range(32767))
    empty = b"".join((0x8000 + i).to_bytes(2, "big") + b"\x00\x00" for i in range(16382))
    block = empty + b"\xff\xf0\x00\x03abc"  # 65,535 bytes
    assert len(block) == 65535
    body = (b"\x03\x03" + bytes(32) + b"\x20" + bytes(32) + b"\xff\xfe" + suites + b"\xff" + bytes(range(255))
            + b"\xff\xff" + block)
    assert len(body) == m.MAX_CLIENT_HELLO_LENGTH
    tracemalloc.start()
    try:
        hello = m.ClientHello.parse(body)
        assert len(hello.cipher_suites) == 32767 and hello.extensions is not None and len(hello.extensions) == 16383
        assert 0x8000 + 32766 in hello.cipher_suites and hello.extensions[-1] == m.Extension(0xFFF0, b"abc")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * len(body), peak
