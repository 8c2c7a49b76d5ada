"""The `jepalab` command: parse, build a config, call the library. Nothing else lives here.

    jepalab demo                                   # collect, train, plan on two-room; ~15 min on 2 cores
    jepalab collect --world two-room --episodes 1000 --out data/two-room
    jepalab train --data data/two-room --preset two-room --out runs/two-room
    jepalab plan --checkpoint runs/two-room --episodes 50
    jepalab config --preset two-room               # every setting, its default and what it does

torch is imported only inside the commands, so `jepalab --help` answers at once.
"""

from __future__ import annotations

import sys

from .data_commands import cmd_collect, cmd_export_data, cmd_import, cmd_inspect
from .eval_commands import cmd_bench, cmd_physics, cmd_probe, cmd_surprise
from .model_commands import cmd_config, cmd_demo, cmd_export, cmd_plan, cmd_pretrain, cmd_serve, cmd_train
from .parser import parser

COMMANDS = {
    "demo": cmd_demo,
    "collect": cmd_collect,
    "import": cmd_import,
    "inspect": cmd_inspect,
    "train": cmd_train,
    "plan": cmd_plan,
    "pretrain": cmd_pretrain,
    "probe": cmd_probe,
    "surprise": cmd_surprise,
    "physics": cmd_physics,
    "bench": cmd_bench,
    "serve": cmd_serve,
    "config": cmd_config,
    "export": cmd_export,
    "export-data": cmd_export_data,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    handler = COMMANDS[args.command]
    if getattr(args, "config", None):  # the file's settings first, so that --set overrides them
        from ..config import file_assignments

        try:
            args.sets = file_assignments(args.config) + args.sets
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if getattr(args, "trust_unverified", False):
        from ..training.checkpoint import trust_unverified

        trust_unverified()
    from ..runtime import tune_allocator

    tune_allocator()
    try:
        handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FloatingPointError) as e:  # DataError / CheckpointError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def run() -> None:
    """The `jepalab` command: main(), then the exit a torchrun worker needs (parallel.leave). A command
    that never loaded torch.distributed (--help, config, inspect) started no process group, and exits
    without importing torch."""
    code = main()
    if "torch.distributed" in sys.modules:
        from ..training.parallel import leave

        leave(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
