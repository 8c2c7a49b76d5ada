"""The `jepalab` command's arguments: every command, its options and an example of each.

Kept apart from the commands (cli/main.py) so that each file reads in one go; it imports nothing heavy,
so `jepalab --help` answers at once.
"""

from __future__ import annotations

import argparse

EXAMPLES = {
    "demo": "jepalab demo --out runs/demo\n  jepalab demo --preset debug --out runs/smoke   # seconds: a quick check",
    "collect": "jepalab collect --world two-room --episodes 1000 --out data/two-room\n"
    "  MUJOCO_GL=egl jepalab collect --env gymnasium:Reacher-v5 --episodes 400 --out data/reacher\n"
    "  jepalab collect --env gymnasium:PointMaze_UMaze-v3 --policy a.npy --episodes 20 --out data/maze",
    "import": "jepalab import --videos recordings/ --out data/mine --fps 10   # clip.mp4 + clip.csv of actions\n"
    "  jepalab import --videos clips/ --out data/clips --passive   # no actions: train with --preset bounce\n"
    "  jepalab import --lerobot ~/datasets/pusht --out data/pusht --camera observation.image",
    "inspect": "jepalab inspect data/reacher                 # summary + data/reacher/contact_sheet.png",
    "train": "jepalab train --data data/two-room --preset two-room --out runs/two-room\n"
    "  jepalab train --world two-room --out runs/two-room --set train.steps=500\n"
    "  jepalab train --data data/two-room --out runs/two-room --resume   # after an interruption",
    "plan": "jepalab plan --checkpoint runs/two-room --episodes 50\n"
    "  jepalab plan --checkpoint runs/push --goal state     # goals as the block's pose (a state probe)\n"
    "  jepalab plan --checkpoint runs/two-room --planner mppi --set plan.samples=256",
    "pretrain": "jepalab pretrain --world bounce --preset video-small --out runs/video\n"
    "  jepalab pretrain --videos my_videos/,extra.mp4 --preset video-small --out runs/my-video",
    "probe": "jepalab probe --checkpoint runs/video --world bounce\n"
    "  jepalab probe --checkpoint runs/video --clips 64 --steps 200   # a quick look",
    "surprise": "jepalab surprise --checkpoint runs/video clip.mp4 other.mkv --json surprise.json\n"
    "  jepalab surprise --checkpoint runs/two-room --fps 5 episode.mp4   # an action-conditioned model",
    "physics": "jepalab physics --checkpoint runs/video\n"
    "  jepalab physics --make-suite suite/ --pairs 100      # write the suite as video files + index.json\n"
    "  jepalab physics --checkpoint runs/video --suite suite/",
    "bench": "jepalab bench --checkpoint runs/demo --out results/demo            # every suite that applies, 3 seeds\n"
    "  jepalab bench --checkpoint runs/bounce --suites physics --seeds 5 --out results/bounce\n"
    "  jepalab bench --compare results/demo results/other    # side by side ('A+B': one column)\n"
    "  jepalab bench --verify results/demo                   # do the results still describe their files?",
    "serve": "jepalab serve --checkpoint runs/demo                       # http://127.0.0.1:8000, localhost only\n"
    "  jepalab serve --checkpoint runs/demo --host 0.0.0.0 --token $SECRET --goals goals/",
    "config": "jepalab config --preset two-room",
    "export-data": "jepalab export-data --store data/two-room --lerobot datasets/two-room --fps 10",
    "export": "jepalab export --checkpoint runs/demo --format hub --out hub/two-room --results results/demo\n"
    "  jepalab export --checkpoint runs/demo --format onnx --out exported/two-room",
}


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be 1 or more")
    return value


def positive_float(text: str) -> float:
    import math

    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number above 0")
    return value


def folder(text: str) -> str:
    import os

    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text}: is a file; give a folder (new, or one this command made)")
    return text


# counts that must be >= 1, rates that must be finite and > 0, and outputs that are folders
_POSITIVE = {
    "episodes",
    "steps",
    "clips",
    "seeds",
    "image_size",
    "limit",
    "horizon",
    "context",
    "probe_steps",
    "probe_episodes",
    "max_batch",
    "queue_size",
    "max_frames",
    "max_connections",
    "budget",
}
_FOLDER_OUT = {"demo", "collect", "import", "train", "plan", "pretrain", "physics", "export"}


def _checked_types(sub: argparse._SubParsersAction) -> None:
    for name, c in sub.choices.items():
        for action in c._actions:
            if action.dest in _POSITIVE and action.type is int:
                action.type = positive_int
            elif action.dest == "fps" and action.type is float:
                action.type = positive_float
            elif action.dest == "out" and name in _FOLDER_OUT:
                action.type = folder


def _trust_option(sub: argparse._SubParsersAction) -> None:
    """--trust-unverified on every command that loads a checkpoint (checkpoint.trust_unverified)."""
    for c in sub.choices.values():
        if any(a.dest in ("checkpoint", "resume") for a in c._actions):
            c.add_argument(
                "--trust-unverified",
                action="store_true",
                help="load a checkpoint that carries no integrity record (written before jepalab "
                "recorded one): neither its config nor its weights can be checked",
            )


def parser() -> argparse.ArgumentParser:
    from .options import COMMAND_PARSERS

    p = argparse.ArgumentParser(
        prog="jepalab",
        description="JEPA world models: learn from pixels, imagine, plan.",
        epilog="examples:\n  " + "\n  ".join(v.splitlines()[0] for v in EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    p.add_argument("--version", action="version", version=f"jepalab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help, build) in COMMAND_PARSERS.items():
        build(
            sub.add_parser(
                name,
                help=help,
                description=help,
                epilog="example:\n  " + EXAMPLES[name],
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    _checked_types(sub)
    _trust_option(sub)
    return p
