"""The package's structure as tested facts (docs/architecture.md): imports only point down the layers, no module
imports itself in a circle, no function is over 80 lines (data tables aside), no module over 800 lines.

Layers, bottom up; a module may import from its own layer (without a circle) and from the layers below it,
``TYPE_CHECKING`` imports included.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tlsstate"

#: first path component under tlsstate/ (folder, or module stem at the root) -> layer, bottom = 0
LAYERS: dict[str, int] = {
    "wire": 0,
    "crypto": 1,
    "record": 2,
    "sessions": 3,
    "config": 4,
    "events": 4,
    "handshake": 5,
    "connection": 6,
    "io": 7,
    "capture": 7,
    "bench": 8,
    "html": 8,
    "cli": 9,
    "__main__": 10,
}
#: the package face and the old-path finder sit outside the layers (they import nothing of the layers at load)
OUTSIDE = {"__init__", "_moved"}
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 800


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer_of(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) == 1:
        return None
    return LAYERS.get(parts[1])


@cache
def _imports(module: str) -> frozenset[str]:
    """Every tlsstate module ``module`` imports (resolved to a module of the package, not a name in it)."""
    tree = ast.parse(_modules()[module].read_text())
    found: set[str] = set()
    known = _modules()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.startswith("tlsstate.") and name in known and name != module:
                found.add(name)
    return frozenset(found)


def test_every_part_of_the_package_has_a_layer() -> None:
    tops = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.suffix == ".py" or p.is_dir()}
    tops.discard("__pycache__")
    missing = sorted(tops - OUTSIDE - set(LAYERS))
    assert not missing, f"no layer for {missing}: add it to LAYERS and the docs"


def test_imports_only_point_down() -> None:
    upward = []
    for module in _modules():
        mine = _layer_of(module)
        if mine is None:
            continue
        for target in _imports(module):
            theirs = _layer_of(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{module} (layer {mine}) imports {target} (layer {theirs})")
    assert not upward, "\n".join(upward)


def test_no_import_circle() -> None:
    graph = {m: {t for t in _imports(m) if not _is_package_face(t, m)} for m in _modules()}
    state: dict[str, int] = {}
    circles: list[str] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "\n".join(circles)


def _is_package_face(target: str, importer: str) -> bool:
    """A package's ``__init__`` re-exporting its own modules is not a circle with them."""
    return importer.startswith(target + ".")


@pytest.mark.parametrize("module", sorted(_modules()))
def test_functions_and_modules_are_small(module: str) -> None:
    path = _modules()[module]
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path} has {len(text.splitlines())} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path}: {', '.join(long)}"
