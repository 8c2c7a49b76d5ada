"""Benchmark: from nothing to a trained two-room world model and its planning success.

    python benchmarks/two_room.py --out runs/bench-two-room      # ~15 min on 2 CPU cores

Runs the same path as `jepalab demo` (collect -> train -> MPC evaluation on 50
fixed-seed episodes beside random actions and the untrained model) and prints
one JSON object: the summary plus the targets of issue 2 and whether they hold.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from jepalab.config import override, preset
from jepalab.pipeline import run_demo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench-two-room", help="run folder")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override")
    args = ap.parse_args()
    cfg = override(preset("two-room"), args.sets)
    tic = time.perf_counter()
    summary = run_demo(cfg, args.out, progress=True)
    wall = time.perf_counter() - tic
    result = {
        "benchmark": "two-room",
        "command": "python benchmarks/two_room.py " + " ".join(f"--set {s}" for s in args.sets),
        "wall_seconds": wall,
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        **summary,
        "targets": {"wall_seconds <= 900": wall <= 900, "success_rate >= 0.9": summary["success_rate"] >= 0.9},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
