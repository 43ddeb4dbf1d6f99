"""``python -m tlsstate``: the same as the ``tlsstate`` command."""

from tlsstate.cli.main import main

main()
