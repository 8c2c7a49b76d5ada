"""Success against training time: the checkpoints of one run, each planned on the same episodes.

    python -m jepalab.bench.curve runs/push-t --minutes 5,10,20,30 --out results/push-t

For each budget of minutes, the run's last checkpoint whose recorded training time (meta.json
`train_seconds`: time inside optimizer steps, not collection or checkpointing) is within it plans the
dataset protocol's episodes of evaluation seed 0 (bench/suites/control.py DatasetControlSuite), so that a user
sees how much CPU time buys how much success. Keep the checkpoints: train with
`train.keep_checkpoints` large enough and `train.checkpoint_every` small enough to land near each budget.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..data.store import write_json_atomic
from ..training import checkpoint


def run_checkpoints(run) -> list[tuple[float, Path]]:
    """(training seconds, checkpoint folder) of every complete checkpoint of a run, oldest first."""
    root = Path(run) / "checkpoints"
    if not root.is_dir():
        raise ValueError(f"{run}: no checkpoints folder (is it a run folder?)")
    out = []
    for ckpt in sorted(root.glob("step_*")):
        if (ckpt / "meta.json").is_file():
            meta = checkpoint.read_meta(ckpt)
            out.append((float(meta.get("train_seconds", float("nan"))), ckpt))
    return out


def pick(checkpoints: list[tuple[float, Path]], minutes: float) -> tuple[float, Path] | None:
    """The last checkpoint trained for at most `minutes` (None when the first came later)."""
    within = [c for c in checkpoints if c[0] <= minutes * 60 + 1e-6]
    return within[-1] if within else None


def success_curve(
    run,
    minutes=(5, 10, 20, 30),
    episodes: int = 50,
    goal_offset: int = 25,
    budget: int = 50,
    sets: list[str] = (),
    progress: bool = True,
) -> list[dict]:
    from ..config import override
    from .suites import BenchOptions, DatasetControlSuite

    rows, suite = [], None
    checkpoints = run_checkpoints(run)
    for m in minutes:
        chosen = pick(checkpoints, m)
        if chosen is None:
            rows.append({"minutes": m, "checkpoint": None, "success_rate": None})
            continue
        seconds, ckpt = chosen
        model, cfg, meta = checkpoint.load_model(ckpt)
        cfg = override(cfg, list(sets))
        suite = DatasetControlSuite(
            model, cfg, BenchOptions(episodes=episodes, goal_offset=goal_offset, budget=budget), progress=progress
        )
        r = suite._control(suite.plan, model, "planner", 0)
        rows.append(
            {
                "minutes": m,
                "checkpoint": ckpt.name,
                "step": meta["step"],
                "train_seconds": seconds,
                "success_rate": r.success_rate,
                # a world with several success tests (push: anchors, strict) records each
                **{f"{test}_success_rate": float(met.mean()) for test, met in r.success_tests.items()},
                "mean_final_distance": float(r.final_distance.mean()),
                "seconds_per_step": r.seconds_per_step,
                "episodes": episodes,
                "trajectory_seeds": [suite.seed(0), suite.seed(0) + episodes - 1],
            }
        )
    return rows


def plot_curve(rows: list[dict], path, title: str = "") -> None:
    from ..plots import pyplot

    plt = pyplot()
    got = [r for r in rows if r["success_rate"] is not None]
    fig, ax = plt.subplots(figsize=(5, 3.4))
    ax.plot([r["train_seconds"] / 60 for r in got], [r["success_rate"] for r in got], "o-")
    ax.set_xlabel("training time on this machine (minutes)")
    ax.set_ylabel("success rate (dataset protocol)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="run folder whose checkpoints were kept")
    ap.add_argument("--minutes", default="5,10,20,30", help="training-time budgets, comma-separated")
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--goal-offset", type=int, default=25)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="plan.KEY=VALUE")
    ap.add_argument("--out", required=True, help="folder for training_curve.json and plots/training_curve.png")
    args = ap.parse_args()
    rows = success_curve(
        args.run, [float(m) for m in args.minutes.split(",")], args.episodes, args.goal_offset, args.budget, args.sets
    )
    out = Path(args.out)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "training_curve.json", {"run": str(args.run), "rows": rows})
    plot_curve(rows, out / "plots" / "training_curve.png", f"{args.run}: success vs training time")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
