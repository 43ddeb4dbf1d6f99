"""Command-line interface: one module per command, loaded lazily by ``tlsstate.cli.main``."""
