"""The command-line options of issue 12: ``--groups`` names for secp521r1 and x448, ``serve --server-cipher-order``
and ``--no-record-splitting`` on ``serve`` and ``connect`` (bad input: exit status 2, one line, no traceback)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from tlsstate.cli.main import cli
from tlsstate.cli.options import parse_groups
from tlsstate.wire.constants import NamedGroup


def test_group_names() -> None:
    assert parse_groups("x448,p521,P-521,secp521r1,x25519") == [
        NamedGroup.X448, NamedGroup.SECP521R1, NamedGroup.SECP521R1, NamedGroup.SECP521R1, NamedGroup.X25519]


def test_unknown_group_names_the_known_ones() -> None:
    with pytest.raises(click.BadParameter) as info:
        parse_groups("x25519,brainpoolP512r1")
    assert "p521" in str(info.value) and "x448" in str(info.value)


def test_unknown_group_is_exit_status_2() -> None:
    result = CliRunner().invoke(cli, ["connect", "127.0.0.1:1", "--groups", "secp224r1"])
    assert result.exit_code == 2 and "unknown group 'secp224r1'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("command", "flags"), [("serve", ["--server-cipher-order", "--no-record-splitting"]),
                                                ("connect", ["--no-record-splitting"])])
def test_flags_are_listed(command: str, flags: list[str]) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for flag in flags:
        assert flag in result.output
