"""``tlsstate keylog check`` on every kind of problem it names (issue 13 item 6), with the Wireshark test suite's
captures and key logs (SOURCES.md), each key log edited in one known way: all lines used; a missing line; a line for
no connection; duplicate and conflicting lines; malformed lines; a secret of the wrong length; a TLS 1.3 connection
with only CLIENT_RANDOM lines; unreadable input. Exit status 0 / 1 / 2 as documented."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from tlsstate.cli.main import cli

WS = "wireshark-test-suite"
TLS13 = "tls13-20-chacha20poly1305"
TLS12 = "tls12-chacha20poly1305"
CR13 = "3d89529eeebe176375ef29bd146a49e02c375771628244948f6e9408457fdbc1"


def _capture(vectors: Path, name: str) -> str:
    return str(vectors / WS / "captures" / f"{name}.pcap")


def _lines(vectors: Path, name: str) -> list[str]:
    return (vectors / WS / "keys" / f"{name}.keys").read_text().splitlines()


def _keylog(tmp_path: Path, lines: list[str], name: str = "edited.keys") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _check(*args: str) -> Result:
    return CliRunner().invoke(cli, ["keylog", "check", *args])


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    result = _check(*args, "--json")
    return result.exit_code, json.loads(result.output)


def test_every_connection_covered_and_every_line_used(vectors: Path) -> None:
    keys = str(vectors / WS / "keys" / f"{TLS12}.keys")
    code, report = _json(_capture(vectors, TLS12), keys)
    assert code == 0 and report["covered"] is True
    assert len(report["connections"]) == 7 and all(c["covered"] for c in report["connections"])
    assert report["unmatched_lines"] == [] and report["malformed_lines"] == []
    used = sorted(m["line"] for c in report["connections"] for m in c["matched_lines"])
    assert used == list(range(2, 10))  # every line after the comment, each once (RSA-PSK: CLIENT_RANDOM and RSA)
    text = _check(_capture(vectors, TLS12), keys)
    assert text.exit_code == 0 and "7 of 7 TLS connection(s) covered" in text.output


def test_a_missing_line_names_the_label_and_exits_1(vectors: Path, tmp_path: Path) -> None:
    lines = [x for x in _lines(vectors, TLS13) if not x.startswith(f"SERVER_TRAFFIC_SECRET_0 {CR13}")]
    code, report = _json(_capture(vectors, TLS13), str(_keylog(tmp_path, lines)))
    assert code == 1 and report["covered"] is False
    first, second = report["connections"]
    assert first["covered"] is False and first["missing_labels"] == ["SERVER_TRAFFIC_SECRET_0"]
    assert first["client_randoms"] == [CR13]
    assert any("no SERVER_TRAFFIC_SECRET_0 for client random 3d89529e…" in p for p in first["problems"])
    assert second["covered"] is True and second["missing_labels"] == []


def test_lines_matching_nothing_are_listed(vectors: Path, tmp_path: Path) -> None:
    stray = f"CLIENT_RANDOM {'11' * 32} {'22' * 48}"
    keylog = _keylog(tmp_path, [*_lines(vectors, TLS13), stray])
    code, report = _json(_capture(vectors, TLS13), str(keylog))
    assert code == 0
    assert report["unmatched_lines"] == [{"file": str(keylog), "line": 10, "label": "CLIENT_RANDOM", "key": "11" * 32}]


def test_duplicate_and_conflicting_lines(vectors: Path, tmp_path: Path) -> None:
    lines = _lines(vectors, TLS13)
    right = lines[1]  # SERVER_HANDSHAKE_TRAFFIC_SECRET of connection 0
    label, cr, secret = right.split()
    wrong = f"{label} {cr} {'00' * (len(secret) // 2)}"
    keylog = _keylog(tmp_path, [lines[0], wrong, *lines[1:], lines[2]])  # the right one comes later: it is used
    code, report = _json(_capture(vectors, TLS13), str(keylog))
    assert code == 0  # the later, right line is the one decryption uses
    (conflict,) = report["conflicting_lines"]
    assert conflict["first"]["line"] == 2 and conflict["used"]["line"] == 3 and conflict["used"]["label"] == label
    (duplicate,) = report["duplicate_lines"]
    assert duplicate["first"]["line"] == 4 and duplicate["again"]["line"] == 11
    text = _check(_capture(vectors, TLS13), str(keylog)).output
    assert f"{keylog} line 3 {label}" in text and f"gives another secret than {keylog} line 2" in text
    assert "repeats line 4" in text


def test_malformed_lines_with_their_numbers(vectors: Path, tmp_path: Path) -> None:
    keylog = _keylog(tmp_path, [*_lines(vectors, TLS13), "garbage", f"CLIENT_RANDOM {CR13} zz", "NO_SUCH_LABEL a b"])
    code, report = _json(_capture(vectors, TLS13), str(keylog))
    assert code == 0
    assert [(m["line"], m["problem"]) for m in report["malformed_lines"]] == [
        (10, "expected '<label> <hex> <hex>', got 1 fields"),
        (11, "CLIENT_RANDOM: value is not hexadecimal"),
        (12, "NO_SUCH_LABEL: value is not hexadecimal"),
    ]
    assert f"{keylog} line 10: expected" in _check(_capture(vectors, TLS13), str(keylog)).output


def test_a_secret_of_the_wrong_length_for_the_suite(vectors: Path, tmp_path: Path) -> None:
    lines = _lines(vectors, TLS13)
    label, cr, _secret = lines[1].split()
    lines[1] = f"{label} {cr} {'ab' * 48}"  # TLS_CHACHA20_POLY1305_SHA256 secrets are 32 bytes
    code, report = _json(_capture(vectors, TLS13), str(_keylog(tmp_path, lines)))
    assert code == 1
    (wrong,) = report["wrong_length"]
    assert (wrong["line"], wrong["label"], wrong["length"], wrong["expected"], wrong["connection"]) == (2, label, 48, 32, 0)


def test_tls13_with_only_client_random_lines(vectors: Path, tmp_path: Path) -> None:
    lines = [f"CLIENT_RANDOM {CR13} {'ab' * 48}", *[x for x in _lines(vectors, TLS13) if CR13 not in x]]
    code, report = _json(_capture(vectors, TLS13), str(_keylog(tmp_path, lines)))
    assert code == 1
    first = report["connections"][0]
    assert first["covered"] is False and len(first["missing_labels"]) == 4
    assert [m["label"] for m in first["matched_lines"]] == ["CLIENT_RANDOM"]
    assert any("only a CLIENT_RANDOM line" in p for p in first["problems"])


def test_bad_usage_and_unreadable_input_exit_2(vectors: Path, tmp_path: Path) -> None:
    keys = str(vectors / WS / "keys" / f"{TLS13}.keys")
    missing = _check(_capture(vectors, TLS13), str(tmp_path / "absent.keys"))
    assert missing.exit_code == 2 and "cannot read key log" in missing.output
    not_capture = tmp_path / "text.pcap"
    not_capture.write_text("hello\n")
    bad = _check(str(not_capture), keys)
    assert bad.exit_code == 2 and "not a pcap or pcapng file" in bad.output
    assert _check(_capture(vectors, TLS13)).exit_code == 2  # no key log given
    assert _check(str(tmp_path / "absent.pcap"), keys).exit_code == 2


def test_key_logs_inside_a_pcapng_count_like_files(vectors: Path, tmp_path: Path) -> None:
    from tlsstate.capture.export import inject_secrets

    injected = tmp_path / "with-secrets.pcapng"
    inject_secrets(_capture(vectors, TLS13), injected, [x for x in _lines(vectors, TLS13) if CR13 in x])
    empty = _keylog(tmp_path, ["# nothing here"])
    code, report = _json(str(injected), str(empty))
    assert code == 1  # connection 1's lines are not in the capture's DSB and the file has none
    first, second = report["connections"]
    assert first["covered"] is True and second["covered"] is False
    assert {m["file"] for m in first["matched_lines"]} == {f"{injected} (Decryption Secrets Block)"}
    assert [m["line"] for m in first["matched_lines"]] == [1, 2, 3, 4]
