"""Hypothesis strategies for the property tests in tests/fuzz/: real seed bytes, mutated.

``mutated(seeds)`` draws one of the seed inputs (fuzz/corpus.py: Wireshark captures, live handshakes) and
applies a few byte-level edits, so examples stay close to valid protocol bytes and reach deep code, while
shrinking still works (fewer edits, smaller values).
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

EDITS = ("flip", "set", "insert", "delete", "truncate", "u16")
EDGE_U16 = (0, 1, 0xFF, 0x100, 0x3FFF, 0x4000, 0x4001, 0x4800, 0x4801, 0xFFFF)


def apply_edits(data: bytes, edits: Sequence[tuple[str, int, bytes]]) -> bytes:
    """Apply (kind, position, bytes) edits in order; positions wrap around the current length."""
    out = bytearray(data)
    for kind, position, value in edits:
        pos = position % (len(out) + 1)
        if kind == "flip" and out:
            out[pos % len(out)] ^= (value[0] if value else 1) or 1
        elif kind == "set" and out:
            out[pos % len(out)] = value[0] if value else 0
        elif kind == "insert":
            out[pos:pos] = value
        elif kind == "delete":
            del out[pos : pos + 1 + (value[0] if value else 0)]
        elif kind == "truncate":
            del out[pos:]
        elif kind == "u16" and len(out) >= 2:
            p = min(pos, len(out) - 2)
            out[p : p + 2] = EDGE_U16[(value[0] if value else 0) % len(EDGE_U16)].to_bytes(2, "big")
    return bytes(out)


def edits(max_edits: int = 4) -> st.SearchStrategy[list[tuple[str, int, bytes]]]:
    """A short list of byte edits."""
    return st.lists(
        st.tuples(st.sampled_from(EDITS), st.integers(0, 1 << 16), st.binary(max_size=8)), max_size=max_edits
    )


def mutated(seeds: Sequence[bytes], max_edits: int = 4) -> st.SearchStrategy[bytes]:
    """One seed with up to ``max_edits`` edits."""
    return st.builds(apply_edits, st.sampled_from(list(seeds)), edits(max_edits))
