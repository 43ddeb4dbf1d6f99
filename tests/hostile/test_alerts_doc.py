"""docs/alerts.md lists every hostile-peer case with the alert the tests expect, and every case is tested."""

from __future__ import annotations

from pathlib import Path

from .cases import SERVER_CASES, markdown_rows

ROOT = Path(__file__).resolve().parents[2]


def test_alerts_doc_in_sync() -> None:
    text = (ROOT / "docs" / "alerts.md").read_text()
    missing = [row for row in markdown_rows() if row not in text.splitlines()]
    assert not missing, "docs/alerts.md out of date; regenerate with python -m tests.hostile.cases:\n" + "\n".join(missing)
    table_rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(table_rows) == len(SERVER_CASES)


def test_every_case_is_exercised() -> None:
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_serve_*.py"))
    unused = [case_id for case_id, _, _ in SERVER_CASES if f'"{case_id}"' not in sources]
    assert not unused, unused
