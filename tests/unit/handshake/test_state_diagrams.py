"""docs/handshake-states.md is generated from the transition table and must not go stale (h11-style)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from tlsstate.handshake.states import TRANSITIONS

ROOT = Path(__file__).resolve().parents[3]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_state_diagrams", ROOT / "tools" / "make_state_diagrams.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_diagram_matches_the_table() -> None:
    generator = _generator()
    checked_in = (ROOT / "docs" / "handshake-states.md").read_text(encoding="utf-8")
    assert checked_in == generator.render(), "stale: run python tools/make_state_diagrams.py"
    assert generator.main(["--check"]) == 0


def test_diagram_draws_every_transition() -> None:
    text = _generator().render()
    for state, row in TRANSITIONS.items():
        assert f"`{state.__name__}`" in text
        for targets in row.values():
            for target in targets:
                assert f"    {state.__name__} --> {target.__name__}: " in text
