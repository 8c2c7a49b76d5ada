"""`python -m jepalab ...` (and `torchrun -m jepalab ...`) run the CLI."""
from .cli import run

run()
