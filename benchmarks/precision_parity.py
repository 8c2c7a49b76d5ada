"""Benchmark: does bf16 training learn what fp32 training learns? The two-room preset (the demo's
model and data) trained in fp32 and in bf16 autocast, seed by seed, each planned with on the demo's
evaluation (50 episodes beside random actions and the untrained model).

    python benchmarks/precision_parity.py --out runs/parity --seeds 3

Per run: the final training prediction loss, the held-out prediction loss, planning success, the
training samples/s. The fp32 run of a seed is the same arithmetic as the code before bf16 existed
(fp32 runs give the same weights byte for byte); `--sets` adds settings to every run (e.g. another
preset's sizes). Prints one JSON object with the per-seed rows and the mean of each column.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/parity")
    ap.add_argument("--data", help="an episode store of the preset's world (default: collected into OUT/data)")
    ap.add_argument("--preset", default="two-room")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--sets", nargs="*", default=[], help="section.key=value settings for every run")
    args = ap.parse_args()
    from jepalab.config import override, preset
    from jepalab.data.collect import collect
    from jepalab.data.store import EpisodeStore
    from jepalab.pipeline import evaluate
    from jepalab.training.loop import latest_metrics
    from jepalab.training.train import train

    out = Path(args.out)
    base = override(preset(args.preset), list(args.sets))
    store = (
        EpisodeStore(args.data)
        if args.data
        else collect(base.data.world, base.data.episodes, base.data.steps_per_episode, out / "data")
    )
    episodes = store.load_all()
    rows = []
    for seed in range(args.seeds):
        for precision in args.precisions.split(","):
            cfg = override(preset(args.preset), [*args.sets, f"train.precision={precision}", f"train.seed={seed}"])
            run = out / f"{precision}-seed{seed}"
            model, result = train(cfg, episodes, run, resume=True)
            summary = evaluate(model, cfg, run, train_eps=episodes, progress=False)
            metrics = latest_metrics(run)
            rates = [m["samples_per_s"] for m in metrics if "samples_per_s" in m][1:]  # the first window holds warm-up
            rows.append(
                {
                    "seed": seed,
                    "precision": precision,
                    "final_pred_loss": result.get("pred_loss"),
                    "val_pred_loss": result.get("val_pred_loss"),
                    "success_rate": summary["success_rate"],
                    "random_success_rate": summary.get("random_success_rate"),
                    "samples_per_s": float(np.median(rates)) if rates else None,
                    "train_seconds": result.get("train_seconds"),
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    means = {}
    for precision in args.precisions.split(","):
        mine = [r for r in rows if r["precision"] == precision]
        means[precision] = {
            k: float(np.mean([r[k] for r in mine]))
            for k in ("final_pred_loss", "val_pred_loss", "success_rate", "samples_per_s", "train_seconds")
        }
    print(
        json.dumps(
            {"benchmark": "precision-parity", "preset": args.preset, "sets": args.sets, "runs": rows, "means": means},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
