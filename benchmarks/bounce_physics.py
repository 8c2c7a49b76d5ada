"""Benchmark: intuitive physics. An action-free world model of `bounce`, then `jepalab bench` on it.

    python benchmarks/bounce_physics.py --out runs/bounce --results results/bounce

~25 min on 2 idle CPU cores (54 on a 2.2x slower machine).

= `jepalab train --world bounce --preset bounce --out OUT` (1,000 passive clips of 24 frames, seeds
0-999, zero actions; resumed if OUT holds the run) followed by `jepalab bench --checkpoint OUT
--out RESULTS`: the violation-of-expectation suite on 3 seeds (suites from seeds 50,000, 60,000 and
70,000, never in training; 100 pairs per category each) with the untrained model and the
pixel-space predictor in the same run, and the state probe. Prints one JSON object with the wall
times and whether the targets of issue 4 hold (mean pairwise accuracy >= 0.9; the untrained model
near chance, within 0.1 of 0.5; most impossible clips peak at the event).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from jepalab.bench import BenchOptions, bench
from jepalab.config import override, preset
from jepalab.data.collect import collect
from jepalab.training.train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bounce", help="run folder (resumed if it holds a run)")
    ap.add_argument("--results", default="results/bounce", help="bench results folder")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=100, help="pairs per category per seed")
    args = ap.parse_args()
    cfg = override(preset("bounce"), args.sets)
    tic = time.perf_counter()
    d = cfg.data
    store = collect(d.world, d.episodes, d.steps_per_episode, Path(args.out) / "data", seed=d.seed, variety=d.variety)
    _, result = train(cfg, store.load_all(), args.out, resume=True)
    train_s = time.perf_counter() - tic
    command = "python benchmarks/bounce_physics.py " + shlex.join(sys.argv[1:])
    res = bench(args.out, args.results, seeds=args.seeds, options=BenchOptions(pairs=args.pairs), command=command)
    phys = res["suites"]["physics"]["models"]
    mean = lambda model, metric: phys[model][metric]["mean"]
    summary = {
        "benchmark": "bounce-physics",
        "command": command,
        "results": args.results,
        "wall_seconds": time.perf_counter() - tic,
        "collect_and_train_seconds": train_s,
        "threads": torch.get_num_threads(),
        "final_metrics": {k: result.get(k) for k in ("step", "pred_loss", "latent_std", "effective_rank")},
        "physics": {m: {k: round(v["mean"], 3) for k, v in ms.items()} for m, ms in phys.items()},
        "targets": {
            "mean pairwise accuracy >= 0.9": mean("trained", "pairwise_accuracy") >= 0.9,
            "untrained within 0.1 of chance": abs(mean("untrained", "pairwise_accuracy") - 0.5) <= 0.1,
            "most impossible clips peak at the event": mean("trained", "localised") > 0.5,
        },
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
