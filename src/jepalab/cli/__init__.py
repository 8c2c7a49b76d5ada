"""The `jepalab` command: parse (cli/parser.py), build a config, call one library function (cli/main.py)."""

from .main import COMMANDS, main, run

__all__ = ["COMMANDS", "main", "run"]
