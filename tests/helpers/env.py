"""Where the external vectors live, free loopback ports, and real peer binaries (skip locally, fail in CI)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The read-only vectors folder lies beside the repository (../shared/vectors); override with TLSSTATE_VECTORS.
VECTORS = Path(os.environ.get("TLSSTATE_VECTORS", ROOT.parent / "shared" / "vectors"))


def free_port(host: str = "127.0.0.1") -> int:
    """A currently free TCP port on loopback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def require_binary(name: str) -> str:
    """Path of an external peer binary; in CI (CI=true) a missing binary is a failure, not a skip."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI but not installed (see .ci/run)")
        pytest.skip(f"{name} not installed")
    return path
