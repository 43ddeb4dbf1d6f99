"""Shared test fixtures: where the external vectors live, free loopback ports, peer binaries."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

# Let test modules import these helpers as `conftest`, `.conftest` or `tests.conftest`.
sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parents[1]
# The read-only vectors folder lies beside the repository (../shared/vectors); override with TLSSTATE_VECTORS.
VECTORS = Path(os.environ.get("TLSSTATE_VECTORS", ROOT.parent / "shared" / "vectors"))


def pytest_configure(config: pytest.Config) -> None:
    if not VECTORS.is_dir():
        raise pytest.UsageError(f"external test vectors not found at {VECTORS} (set TLSSTATE_VECTORS)")


@pytest.fixture(scope="session")
def vectors() -> Path:
    """Path of ../shared/vectors."""
    return VECTORS


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
