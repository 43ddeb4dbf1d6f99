"""The test tree, laid out by kind; each top folder marks its tests (``pytest -m "not interop"`` etc.).

- ``unit/``     mirrors the package (``unit/record/`` tests ``tlsstate/record/``); marker ``unit``
- ``vectors/``  external test vectors and captures (../shared/vectors); marker ``vectors``
- ``interop/``  live peers on loopback (openssl, gnutls, tshark, curl, Chromium, CPython ssl, tlslite-ng); ``interop``
- ``hostile/``  hostile peers against our server and client; marker ``hostile``
- ``fuzz/``     property tests over mutated inputs and the fuzz runner; marker ``fuzz``
- ``helpers/``  shared helpers (no tests): vectors path and peer binaries, live peers, connections, captures

Tests in ``unit/`` or ``vectors/`` that need a live peer carry ``@pytest.mark.interop`` themselves.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.env import VECTORS

HERE = Path(__file__).resolve().parent
FOLDER_MARKERS = {"unit": "unit", "vectors": "vectors", "interop": "interop", "hostile": "hostile", "fuzz": "fuzz"}


def pytest_configure(config: pytest.Config) -> None:
    if not VECTORS.is_dir():
        raise pytest.UsageError(f"external test vectors not found at {VECTORS} (set TLSSTATE_VECTORS)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test gets the marker of the top folder it lives in."""
    for item in items:
        try:
            folder = Path(str(item.path)).resolve().relative_to(HERE).parts[0]
        except ValueError:
            continue
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def vectors() -> Path:
    """Path of ../shared/vectors."""
    return VECTORS
