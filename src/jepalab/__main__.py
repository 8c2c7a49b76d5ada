"""`python -m jepalab ...` (and `torchrun -m jepalab ...`) run the CLI."""
import sys

from .cli import main

sys.exit(main())
