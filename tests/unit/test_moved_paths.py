"""The flat module paths of the first layout still import, as the very modules now under the layer folders.

Scripts written against ``tlsstate.suites`` or ``tlsstate.protection`` keep working (issue 10: "the public import
paths people use today keep working"); both names must be one module object, or classes and enums would exist twice.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tlsstate import _moved

OLD_PATHS = [
    "tlsstate.constants", "tlsstate.errors", "tlsstate.codec", "tlsstate.messages", "tlsstate.extensions",
    "tlsstate.keylog", "tlsstate.suites", "tlsstate.prf", "tlsstate.schedule13", "tlsstate.keys", "tlsstate.dh",
    "tlsstate.signatures", "tlsstate.certs", "tlsstate.protection", "tlsstate.handshake.session_cache",
    "tlsstate.handshake.tickets",
]


def test_every_moved_module_is_listed() -> None:
    assert sorted(_moved.MOVED) == sorted(OLD_PATHS)


@pytest.mark.parametrize("old", OLD_PATHS)
def test_old_path_is_the_new_module(old: str) -> None:
    new = _moved.MOVED[old]
    assert importlib.import_module(old) is importlib.import_module(new)
    assert sys.modules[old] is sys.modules[new]


def test_old_from_imports_in_a_fresh_interpreter() -> None:
    """``from tlsstate.suites import lookup`` as the first tlsstate import of a process, then identity of classes."""
    code = (
        "from tlsstate.suites import lookup, CipherSuite\n"
        "from tlsstate.protection import make_protection\n"
        "from tlsstate.handshake.session_cache import SessionCache\n"
        "import tlsstate.crypto.suites as s, tlsstate.record.protection as p, tlsstate.sessions.cache as c\n"
        "assert CipherSuite is s.CipherSuite and make_protection is p.make_protection and SessionCache is c.SessionCache\n"
        "assert lookup('AES128-GCM-SHA256').id == 0x009C\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_an_unknown_old_name_still_fails() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("tlsstate.no_such_module")


def test_errors_connection_closed_is_the_renamed_error_with_a_warning() -> None:
    from tlsstate.wire import errors

    with pytest.warns(DeprecationWarning, match="ConnectionClosedError"):
        old = errors.ConnectionClosed  # type: ignore[attr-defined]
    assert old is errors.ConnectionClosedError
