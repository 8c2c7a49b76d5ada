"""`python -m jepalab ...` (and `torchrun -m jepalab ...`) run the CLI."""

from .cli.main import run

run()
