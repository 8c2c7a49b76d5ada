"""`jepalab bench`'s options (the suites, their sizes, the protocols, --compare and --verify): the
longest list of any command, kept beside the others' (cli/options.py) in a module of its own."""

from __future__ import annotations

import argparse


def bench_options(c: argparse.ArgumentParser) -> None:
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help="run folder or checkpoint to measure")
    what.add_argument("--compare", nargs="+", metavar="RESULTS", help="bench folders side by side")
    what.add_argument("--verify", metavar="RESULTS", help="re-hash the checkpoint and data a bench folder describes")
    c.add_argument(
        "--suites", help="comma-separated subset of control,control-dataset,physics,probe (default: all that apply)"
    )
    c.add_argument(
        "--protocol",
        choices=["random", "dataset", "both"],
        default="both",
        help="control protocols: random (the world's own random targets: suite control), dataset (start "
        "and goal GOAL_OFFSET steps apart on held-out expert trajectories, as LeWM/DINO-WM measure: "
        "suite control-dataset) or both (default; each where the world supports it)",
    )
    c.add_argument("--goal-offset", type=int, default=25, help="dataset protocol: environment steps from start to goal")
    c.add_argument("--budget", type=int, default=50, help="dataset protocol: environment steps allowed per episode")
    c.add_argument(
        "--dataset-expert",
        choices=("place", "pose"),
        default="place",
        help="dataset protocol, push worlds: whose trajectories give the goals: place (the noisy expert that "
        "pushes the block to a place; the anchors' protocol) or pose (turns the block to each target's "
        "angle first, so goals need a turn)",
    )
    c.add_argument("--seeds", type=int, default=3, help="evaluation seeds per suite (default 3)")
    c.add_argument(
        "--out", help="results folder (bench; resumed if it holds this checkpoint's parts) or table file (compare)"
    )
    c.add_argument("--episodes", type=int, help="control: episodes per seed (default: the checkpoint's plan.episodes)")
    c.add_argument("--pairs", type=int, default=100, help="physics: pairs per category per seed")
    c.add_argument("--pixel-steps", type=int, default=400, help="physics: training steps of the pixel-space baseline")
    c.add_argument("--probe-clips", type=int, default=256, help="probe (video model): training clips per task")
    c.add_argument(
        "--probe-steps",
        type=int,
        default=400,
        help="probe: attentive probe steps (video model), MLP probe steps per variable table (world model)",
    )
    c.add_argument("--probe-episodes", type=int, default=40, help="probe (world model): episodes to fit the probe on")
    c.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="plan.KEY=VALUE",
        help="planner setting for the control suite (repeatable)",
    )
    c.add_argument("--quiet", action="store_true", help="no progress bars")
