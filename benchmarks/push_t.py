"""Benchmark: planning in Push-T on the anchors' protocol, from a model trained on this CPU for a fixed time.

    python benchmarks/push_t.py --out runs/push-t --results results/push-t --hours 2   # resumable

= `jepalab collect --world push-t --policy noisy-expert --episodes 1000 --steps 100` (seeds 0-999, at the
preset's frame size), `jepalab train --preset push-t` for as many steps as `--hours` of optimizer time
take here (the step time is measured first; a resumed run keeps the steps it started with, so its
learning-rate schedule is the one it began), a checkpoint every 2.5 minutes of training, all kept; then
`jepalab bench --goal-offset 25 --budget 50` on 3 evaluation seeds of 50 episodes (the dataset protocol:
expert trajectories from seeds 700,000+, 710,000+, 720,000+, never collected for training), each with
the untrained model, random and zero actions in the same run, and the success-vs-training-time curve
(bench/curve.py) at 5, 15, 30, 60 and 120 minutes. Success is the anchors' Push-T test (pusher and block
within 20/512 of the goal's together, angle within 20 degrees); the strict test (the block alone within
0.05 and 15 degrees) is recorded beside it. Prints one JSON object with the wall times, the figures and
the issue's targets. Any preset setting can be changed with --set (e.g. --set model.variant=spatial).
Killed at any moment, the same command continues: collection completes the store, training resumes
from its last checkpoint, the bench keeps the parts it finished.
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
from jepalab.config import RunConfig, override, preset
from jepalab.data.collect import collect
from jepalab.data.store import write_json_atomic
from jepalab.training.train import Trainer, train

CHECKPOINT_MINUTES = 2.5  # the curve's budgets land within this much of a checkpoint


def step_seconds(cfg, episodes, steps: int = 30, warmup: int = 5) -> float:
    """Seconds per training step of this configuration, measured here after a warm-up (8 steps after 3
    overestimated the pace by 1.8x on 2026-12-07: 0.38 s against 0.21 s in the run that followed)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(cfg, episodes, tmp, progress=False)
        trainer.start()
        for _ in range(warmup):
            trainer.train_step()
        tic = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        return (time.perf_counter() - tic) / steps


def planned_steps(cfg, out: Path, episodes, hours: float, sets=()) -> tuple[int, float | None]:
    """(train.steps, measured seconds per step): a run already started keeps its own steps."""
    started = out / "config.json"
    if started.is_file():
        return RunConfig.from_dict(json.loads(started.read_text()), str(started)).train.steps, None
    if any(s.startswith("train.steps=") for s in sets):  # given: a pace measured before, or a quick trial
        return cfg.train.steps, None
    secs = step_seconds(override(cfg, ["train.steps=100000"]), episodes[:60])
    return max(100, int(hours * 3600 / secs)), secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="push-t")
    ap.add_argument("--out", default="runs/push-t", help="run folder (resumed if it holds a run)")
    ap.add_argument("--results", default="results/push-t", help="bench results folder")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--hours", type=float, default=2.0, help="optimizer time of the training run")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--episodes", type=int, default=50, help="control episodes per seed")
    ap.add_argument("--minutes", default="5,15,30,60,120", help="training-time budgets of the curve")
    args = ap.parse_args()
    out = Path(args.out)
    cfg = override(preset(args.preset), args.sets)
    tic = time.perf_counter()
    d = cfg.data
    store = collect(
        d.world,
        d.episodes,
        d.steps_per_episode,
        out / "data",
        seed=d.seed,
        policy=d.policy,
        image_size=cfg.model.image_size,
    )
    collect_s = time.perf_counter() - tic
    episodes = store.load_all(stream=cfg.train.stream)
    steps, secs = planned_steps(cfg, out, episodes, args.hours, args.sets)
    every = max(10, round(steps * CHECKPOINT_MINUTES / (args.hours * 60)))
    cfg = override(cfg, [f"train.steps={steps}", f"train.checkpoint_every={every}", "train.keep_checkpoints=100000"])
    _, result = train(cfg, episodes, out, resume=True)
    train_s = time.perf_counter() - tic - collect_s
    command = "python benchmarks/push_t.py " + shlex.join(sys.argv[1:])
    options = BenchOptions(episodes=args.episodes, goal_offset=25, budget=50)
    suites = ["control-dataset", "probe"]
    res = bench(out, args.results, suites=suites, seeds=args.seeds, options=options, command=command)
    rows = success_curve(out, [float(m) for m in args.minutes.split(",")], args.episodes)
    write_json_atomic(Path(args.results) / "training_curve.json", {"run": str(out), "rows": rows})
    plot_curve(rows, Path(args.results) / "plots" / "training_curve.png", "Push-T: success vs training time")
    ds = res["suites"]["control-dataset"]["models"]
    figure = {
        test: {m: round(v[f"{test}_success_rate"]["mean"], 3) for m, v in ds.items() if f"{test}_success_rate" in v}
        for test in ("anchors", "strict")
    }
    anchors = figure["anchors"]
    best_baseline = max(anchors.get(m, 0.0) for m in ("untrained", "random", "noop"))
    plan_s = res["suites"]["control-dataset"]["extra"].get("seconds_per_step")
    summary = {
        "benchmark": "push-t",
        "command": command,
        "results": args.results,
        "wall_seconds": time.perf_counter() - tic,
        "collect_seconds": collect_s,
        "train_seconds": train_s,
        "measured_step_seconds": secs,
        "steps": steps,
        "threads": torch.get_num_threads(),
        "final_metrics": {k: result.get(k) for k in ("step", "pred_loss", "latent_std", "effective_rank")},
        "dataset_protocol": figure,
        "curve": [(r["minutes"], r.get("anchors_success_rate", r["success_rate"])) for r in rows],
        "plan_seconds_per_step": plan_s,
    }
    summary["targets"] = {
        "anchors' test >= 0.60": anchors.get("trained", 0.0) >= 0.6,
        ">= 40 points above the best baseline": anchors.get("trained", 0.0) >= best_baseline + 0.4,
        "planning <= 0.25 s per MPC step": plan_s is not None and plan_s <= 0.25,
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
