"""`serve` and `connect` name the key log they cannot open (not "cannot listen"), in one line, exit status 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tlsstate.cli.main import cli


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["connect", "127.0.0.1:9"]])
def test_unopenable_keylog_is_named(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "keys.log"
    result = CliRunner().invoke(cli, [*command, "--keylog", str(missing)])
    assert result.exit_code == 1, result.output
    assert f"cannot open key log {missing}: No such file or directory" in result.output
    assert "cannot listen" not in result.output and "Traceback" not in result.output
