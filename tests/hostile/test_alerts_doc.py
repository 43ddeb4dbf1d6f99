"""README.md lists every hostile-peer case with the alert the tests expect, and every case is tested."""

from __future__ import annotations

from pathlib import Path

from .cases import CLIENT_TABLE, SERVER_CASES, TLS13_CLIENT_TABLE, TLS13_SERVER_CASES, markdown_rows

ROOT = Path(__file__).resolve().parents[2]


def test_alerts_table_in_readme_in_sync() -> None:
    """The issue asks for the input → alert table in the README: every case row is there, with its alert,
    and the README lists no case the tests do not have."""
    text = (ROOT / "README.md").read_text()
    lines = text.splitlines()
    expected = (markdown_rows() + markdown_rows(CLIENT_TABLE) + markdown_rows(TLS13_SERVER_CASES)
                + markdown_rows(TLS13_CLIENT_TABLE))
    missing = [row for row in expected if row not in lines]
    hint = "README.md alert table out of date; regenerate the rows with .venv/bin/python -m tests.hostile.cases:\n"
    assert not missing, hint + "\n".join(missing)
    section = text.split("## Hostile input → alert", 1)[1].split("\n## ", 1)[0]
    table_rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert sorted(table_rows) == sorted(expected)
    assert "docs/alerts.md" in section and "README" in (ROOT / "docs" / "alerts.md").read_text()


def test_every_case_is_exercised() -> None:
    sources = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*_hostile.py"))
    cases = SERVER_CASES + CLIENT_TABLE + TLS13_SERVER_CASES + TLS13_CLIENT_TABLE
    unused = [case_id for case_id, _, _ in cases if f'"{case_id}"' not in sources]
    assert not unused, unused
