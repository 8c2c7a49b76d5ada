"""Benchmark: V-JEPA pretraining on `bounce`, then what the frozen encoder knows.

    python benchmarks/bounce_probe.py --out runs/bench-bounce       # ~10 min on 2 CPU cores
    python benchmarks/bounce_probe.py --set video.target=sigreg      # LeJEPA-style targets

Pretrains the video-small preset on a stream of bounce clips (seed 0), then runs the same
probes as `jepalab probe` on held-out clips (seeds from 10,000): position, velocity and count,
each read by a linear and an attentive probe from the trained encoder, the untrained encoder
it started from, and raw pixels. Prints one JSON object with the table, the wall time, and
whether the targets of issue 3 hold (attentive position R² >= 0.9, and above the untrained
encoder by at least 0.05).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from jepalab.config import override, preset
from jepalab.evals.physics_probe import format_probe_table, probe_checkpoint
from jepalab.training.pretrain import pretrain


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench-bounce", help="run folder")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="config override")
    ap.add_argument("--probe-clips", type=int, default=256)
    args = ap.parse_args()
    cfg = override(preset("video-small"), args.sets)
    tic = time.perf_counter()
    _, result = pretrain(cfg, args.out, resume=True)
    pretrain_s = time.perf_counter() - tic
    report = probe_checkpoint(args.out, clips=args.probe_clips)
    wall = time.perf_counter() - tic
    att = report["results"]["position"]["attentive"]
    out = {
        "benchmark": "bounce-probe",
        "command": "python benchmarks/bounce_probe.py " + " ".join(f"--set {s}" for s in args.sets),
        "wall_seconds": wall,
        "pretrain_seconds": pretrain_s,
        "threads": torch.get_num_threads(),
        "final_metrics": {k: result.get(k) for k in ("step", "pred_loss", "latent_std", "effective_rank")},
        **report,
        "targets": {
            "attentive position R2 >= 0.9": att["trained"] >= 0.9,
            "attentive position R2 >= untrained + 0.05": att["trained"] >= att["untrained"] + 0.05,
        },
    }
    print(format_probe_table(report["results"]))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
