"""The ``tlsstate`` command: a click group whose sub-commands live in one module each.

Sub-commands are imported only when used, so ``tlsstate keys`` does not pay for the capture reader.
Every command turns bad input into a one-line message and exit status 2 (never a traceback).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# command name -> "module:attribute" (a click.Command)
COMMANDS: dict[str, str] = {
    "demo": "tlsstate.cli.demo:demo",
    "keys": "tlsstate.cli.keys:keys",
    "prf": "tlsstate.cli.keys:prf",
    "connect": "tlsstate.cli.connect:connect",
    "serve": "tlsstate.cli.serve:serve",
    "decrypt": "tlsstate.cli.decrypt:decrypt",
    "keylog": "tlsstate.cli.keylog:keylog",
    "speed": "tlsstate.cli.speed:speed",
}

HELP = {
    "demo": "Real handshake on loopback: show the six values and prove tampering, reflection, replay fail.",
    "keys": "Derive and explain a connection state from a premaster or master secret.",
    "prf": "Run the TLS PRF on a secret, label and seed.",
    "connect": "TLS client, like openssl s_client.",
    "serve": "TLS server, like openssl s_server.",
    "decrypt": "Decrypt a packet capture with an NSS key log, RSA key or PSK.",
    "keylog": "Check key log files against a capture: what each connection uses and still needs.",
    "speed": "Benchmark record protection, handshakes and capture decryption.",
}


class LazyGroup(click.Group):
    """A group that imports a command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, without importing any command module."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module now; a command whose module this build lacks says so when run."""
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _unavailable(cmd_name)
            raise
        command: click.Command = getattr(module, attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The ``--help`` list of commands, from HELP (no command module is imported)."""
        rows = [(name, HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _unavailable(name: str) -> click.Command:
    """A stand-in command for one this build does not have."""
    @click.command(name=name, help=HELP.get(name, ""))
    def not_built() -> None:
        raise click.ClickException(f"'{name}' is not available in this build")

    return not_built


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tlsstate")
def cli() -> None:
    """tlsstate: the TLS connection state, real, fast and transparent."""


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="tlsstate")


if __name__ == "__main__":
    main()
