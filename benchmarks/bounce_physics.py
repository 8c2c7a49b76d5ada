"""Benchmark: intuitive physics. An action-free world model of `bounce`, then the violation-of-expectation suite.

    python benchmarks/bounce_physics.py --out runs/bench-physics    # ~20 min on 2 CPU cores

= `jepalab train --world bounce --preset bounce --out OUT` (1,000 passive clips of 24 frames, seeds
0-999, zero actions; resumed if OUT holds the run) followed by `jepalab physics --checkpoint OUT`:
a suite generated from seeds 50,000 and up (never in training), 100 pairs per category, with the
untrained model and the pixel-space predictor in the same run. Prints the table and one JSON object with the wall times and whether the
targets of issue 4 hold (mean pairwise accuracy >= 0.9; the untrained model near chance, within
0.1 of 0.5; most impossible clips peak at the event).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from jepalab.config import override, preset
from jepalab.data.collect import collect
from jepalab.evals.intuitive_physics import format_physics_table, physics_checkpoint, write_physics_report
from jepalab.train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench-physics", help="run folder (resumed if it holds a run)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--pairs", type=int, default=100, help="pairs per category")
    ap.add_argument("--pixel-steps", type=int, default=400)
    args = ap.parse_args()
    cfg = override(preset("bounce"), args.sets)
    tic = time.perf_counter()
    d = cfg.data
    store = collect(d.world, d.episodes, d.steps_per_episode, Path(args.out) / "data", seed=d.seed)
    _, result = train(cfg, store.load_all(), args.out, resume=True)
    train_s = time.perf_counter() - tic
    report, pairs, curves = physics_checkpoint(args.out, pairs_per_category=args.pairs, pixel_steps=args.pixel_steps)
    write_physics_report(report, pairs, curves, Path(args.out) / "physics")
    res = report["results"]
    summary = {
        "benchmark": "bounce-physics",
        "command": "python benchmarks/bounce_physics.py " + " ".join(f"--set {s}" for s in args.sets),
        "wall_seconds": time.perf_counter() - tic, "collect_and_train_seconds": train_s, "threads": torch.get_num_threads(),
        "final_metrics": {k: result.get(k) for k in ("step", "pred_loss", "latent_std", "effective_rank")},
        **report,
        "targets": {"mean pairwise accuracy >= 0.9": res["trained"]["overall"]["pairwise_accuracy"] >= 0.9,
                    "untrained within 0.1 of chance": abs(res["untrained"]["overall"]["pairwise_accuracy"] - 0.5) <= 0.1,
                    "most impossible clips peak at the event": res["trained"]["overall"]["localised"] > 0.5},
    }
    print(format_physics_table(res))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
