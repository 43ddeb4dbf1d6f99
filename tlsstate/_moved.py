"""Old module paths that still import: ``tlsstate.constants`` is :mod:`tlsstate.wire.constants`, and so on.

The package was regrouped into layer folders (docs/architecture.md). Code written against the flat layout
(``from tlsstate.suites import lookup``, ``import tlsstate.protection``) keeps working: a finder on
``sys.meta_path`` answers each old name with the module now living under the new one, so both names are
the *same* module object (one set of classes, enums compare equal, monkeypatching either patches both).
New code imports the new paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Final

#: old dotted name -> new dotted name
MOVED: Final[dict[str, str]] = {
    **{f"tlsstate.{name}": f"tlsstate.wire.{name}"
       for name in ("constants", "errors", "codec", "messages", "extensions", "keylog")},
    **{f"tlsstate.{name}": f"tlsstate.crypto.{name}"
       for name in ("suites", "prf", "schedule13", "keys", "dh", "signatures", "certs")},
    "tlsstate.protection": "tlsstate.record.protection",
    "tlsstate.handshake.session_cache": "tlsstate.sessions.cache",
    "tlsstate.handshake.tickets": "tlsstate.sessions.tickets",
}


class _Loader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was executed under its new name."""


class MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Resolves the old flat-layout names in :data:`MOVED` to the modules at their new paths."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(new))


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(MovedModuleFinder())
