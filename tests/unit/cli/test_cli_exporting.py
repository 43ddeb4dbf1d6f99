"""``--keymatexport`` options: bad input is a one-line usage error (exit 2) before any connection is made."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from tlsstate.cli.main import cli


@pytest.mark.parametrize("command", [["connect", "127.0.0.1:1"], ["serve", "--port", "0", "--once"]])
@pytest.mark.parametrize(("args", "message"), [
    (["--keymatexport", "key expansion"], "reserved by the TLS PRF"),
    (["--keymatexport", "caf\u00e9"], "ASCII"),
    (["--keymatexport", "EXPERIMENTAL-x", "--keymatexport-context", "zz"], "not hex"),
    (["--keymatexport-context", "00"], "needs --keymatexport"),
    (["--keymatexport-early"], "--keymatexport-early needs --keymatexport"),
    (["--keymatexport", "EXPERIMENTAL-x", "--keymatexportlen", "0"], "1<=x<=12240"),
])
def test_bad_exporter_options_are_usage_errors(command: list[str], args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, [*command, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("command", ["connect", "serve"])
def test_help_names_openssl_s_flags(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert "--keymatexport LABEL" in result.output and "--keymatexportlen" in result.output
