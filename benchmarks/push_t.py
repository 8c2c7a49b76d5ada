"""Benchmark: planning in Push-T on the anchors' protocol, from a model trained on this CPU.

    python benchmarks/push_t.py --out runs/push-t --results results/push-t      # collect + train + bench + curve

= `jepalab collect --world push-t --policy noisy-expert --episodes 1000 --steps 100` (seeds 0-999),
`jepalab train --preset push-t` with every checkpoint kept (resumed if OUT holds the run), then
`jepalab bench --protocol both --goal-offset 25 --budget 50` on 3 evaluation seeds (dataset protocol:
expert trajectories from seeds 700,000+, 710,000+, 720,000+, never collected for training; random
protocol: the world's own targets from seeds 100,000+), each with the untrained model, random actions
and zero actions in the same run, and the success-vs-training-time curve (bench/curve.py) at 5, 10,
20 and 30 minutes. Prints one JSON object with the wall times, the figures and the issue's targets.
Any preset setting can be changed with --set (e.g. --set model.variant=spatial).
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
from jepalab.bench.curve import plot_curve, success_curve
from jepalab.config import override, preset
from jepalab.data.collect import collect
from jepalab.data.store import write_json_atomic
from jepalab.training.train import train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="push-t")
    ap.add_argument("--out", default="runs/push-t", help="run folder (resumed if it holds a run)")
    ap.add_argument("--results", default="results/push-t", help="bench results folder")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=50, help="control episodes per seed")
    ap.add_argument("--minutes", default="5,10,20,30", help="training-time budgets of the curve")
    args = ap.parse_args()
    cfg = override(preset(args.preset), ["train.keep_checkpoints=1000", *args.sets])
    tic = time.perf_counter()
    d = cfg.data
    store = collect(d.world, d.episodes, d.steps_per_episode, Path(args.out) / "data", seed=d.seed, policy=d.policy)
    collect_s = time.perf_counter() - tic
    _, result = train(cfg, store.load_all(), args.out, resume=True)
    train_s = time.perf_counter() - tic - collect_s
    command = "python benchmarks/push_t.py " + shlex.join(sys.argv[1:])
    options = BenchOptions(episodes=args.episodes, goal_offset=25, budget=50)
    res = bench(
        args.out,
        args.results,
        suites=["control-dataset", "control", "probe"],
        seeds=args.seeds,
        options=options,
        command=command,
    )
    rows = success_curve(args.out, [float(m) for m in args.minutes.split(",")], args.episodes)
    write_json_atomic(Path(args.results) / "training_curve.json", {"run": args.out, "rows": rows})
    plot_curve(rows, Path(args.results) / "plots" / "training_curve.png", "Push-T: success vs training time")
    summary = {
        "benchmark": "push-t",
        "command": command,
        "results": args.results,
        "wall_seconds": time.perf_counter() - tic,
        "collect_seconds": collect_s,
        "train_seconds": train_s,
        "threads": torch.get_num_threads(),
        "final_metrics": {k: result.get(k) for k in ("step", "pred_loss", "latent_std", "effective_rank")},
        "curve": [(r["minutes"], r["success_rate"]) for r in rows],
    }
    for suite in ("control-dataset", "control"):
        models = res["suites"][suite]["models"]
        summary[suite] = {m: round(v["success_rate"]["mean"], 3) for m, v in models.items()}
    ds = summary["control-dataset"]
    best_baseline = max(ds["untrained"], ds["random"], ds["noop"])
    summary["targets"] = {
        "dataset protocol >= 0.90": ds["trained"] >= 0.9,
        ">= 40 points above the best baseline": ds["trained"] >= best_baseline + 0.4,
        "random protocol >= 0.50": summary["control"]["trained"] >= 0.5,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
