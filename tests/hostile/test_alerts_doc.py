"""docs/alerts.md lists every hostile-peer case with the alert the tests expect, and every case is tested."""

from __future__ import annotations

from pathlib import Path

from .cases import CLIENT_TABLE, SERVER_CASES, markdown_rows

ROOT = Path(__file__).resolve().parents[2]


def test_alerts_doc_in_sync() -> None:
    text = (ROOT / "docs" / "alerts.md").read_text()
    lines = text.splitlines()
    missing = [row for row in markdown_rows() + markdown_rows(CLIENT_TABLE) if row not in lines]
    hint = "docs/alerts.md out of date; regenerate the rows with .venv/bin/python -m tests.hostile.cases:\n"
    assert not missing, hint + "\n".join(missing)
    table_rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(table_rows) == len(SERVER_CASES) + len(CLIENT_TABLE)


def test_every_case_is_exercised() -> None:
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*_hostile.py"))
    unused = [case_id for case_id, _, _ in SERVER_CASES + CLIENT_TABLE if f'"{case_id}"' not in sources]
    assert not unused, unused
