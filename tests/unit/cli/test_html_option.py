"""``--html`` / ``--html-dir`` on the commands: pages are written beside the usual output, an unwritable path is a
one-line error (never a traceback), and decrypt's page has one row per ``--records`` line and the ``--json`` facts."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from tlsstate.cli.decrypt import decrypt
from tlsstate.cli.demo import demo

WS = "wireshark-test-suite"
NAME = "tls12-aes256gcm"
PSK = "ca19e028a8a372ad2d325f950fcaceed"  # SOURCES.md §4


def _args(vectors: Path) -> list[str]:
    return [str(vectors / WS / "captures" / f"{NAME}.pcap"), "--psk", PSK]


def test_decrypt_html_rows_are_the_records_lines(vectors: Path, tmp_path: Path) -> None:
    page, pages = tmp_path / "page.html", tmp_path / "pages"
    runner = CliRunner()
    run = runner.invoke(decrypt, [*_args(vectors), "--json", "--html", str(page), "--html-dir", str(pages)])
    assert run.exit_code == 0, run.output
    document = json.loads(run.output)
    records = runner.invoke(decrypt, [*_args(vectors), "--records"]).output.strip().splitlines()[1:]
    markup = page.read_text()
    assert len(re.findall(r'<tr id="c\d+r\d+"', markup)) == len(records) > 5
    for conn in document:
        assert f"<dd>{conn['client_to_server_sha256']}</dd>" in markup  # the --json facts, as they are
    assert sorted(p.name for p in pages.iterdir()) == ["conn0000.html", "index.html"]
    assert 'href="conn0000.html"' in (pages / "index.html").read_text()


def test_unwritable_page_is_a_one_line_error(vectors: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "page.html"
    run = CliRunner().invoke(decrypt, [*_args(vectors), "-q", "--html", str(target)])
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert run.output.strip().splitlines()[-1].startswith("tlsstate decrypt: cannot write the HTML page")


def test_demo_unwritable_page_is_a_one_line_error(tmp_path: Path) -> None:
    run = CliRunner().invoke(demo, ["--json", "--html", str(tmp_path / "missing" / "demo.html")])
    assert run.exit_code == 1 and "Traceback" not in run.output
    assert run.output.strip().splitlines()[-1].startswith("Error: cannot write")


def test_decrypt_html_plaintext_keeps_more_of_each_record(vectors: Path, tmp_path: Path) -> None:
    """The page keeps 64 bytes of each record's plaintext by default and says how to keep all of it;
    ``--html-plaintext N`` keeps N (issue 14: "truncated with a way to see more")."""
    runner = CliRunner()
    document = json.loads(runner.invoke(decrypt, [*_args(vectors), "--json", "--records"]).output)
    lengths = [r["plaintext_length"] for conn in document for r in conn["records"]
               if r.get("verdict") == "ok" and r.get("plaintext_length")]
    longest = max(lengths)
    assert longest > 256  # a record longer than the page's preview, so both cuts show
    short, full = tmp_path / "short.html", tmp_path / "full.html"
    assert runner.invoke(decrypt, [*_args(vectors), "-q", "--html", str(short)]).exit_code == 0
    assert runner.invoke(decrypt, [*_args(vectors), "-q", "--html", str(full), "--html-plaintext", "16384"]).exit_code == 0
    default_page, full_page = short.read_text(), full.read_text()
    assert f"{longest} bytes, the first 64 kept (<code>tlsstate decrypt --html-plaintext {longest}</code>" in default_page
    assert f"show all {longest} bytes kept" in full_page and "--html-plaintext" not in full_page
    bad = runner.invoke(decrypt, [*_args(vectors), "-q", "--html", str(full), "--html-plaintext", "16385"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
