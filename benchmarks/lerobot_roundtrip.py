"""Benchmark: LeRobot's own reader on jepalab's LeRobot v3.0 exports, and the round trip back.

LeRobot installs from the package registry into a venv of its own (it brings its own torch):

    python -m venv .venv-lerobot && .venv-lerobot/bin/pip install lerobot
    python benchmarks/lerobot_roundtrip.py make --out runs/lerobot          # jepalab's venv: stores + exports
    CUDA_VISIBLE_DEVICES= .venv-lerobot/bin/python benchmarks/lerobot_roundtrip.py check --out runs/lerobot

`make`: a small store of each built-in world with an action space (two-room, push, push-t) is
collected and exported twice, with the default codec (libx264, lossy) and losslessly (libx264rgb,
crf 0); each store's arrays are saved beside as .npz for the check; then each lossy export is imported
back and exported again (import -> export -> import keeps rewards, done flags, tasks and fps).
`check` (run where lerobot is installed; it imports nothing of jepalab): every export is opened with
lerobot.datasets.lerobot_dataset.LeRobotDataset and every frame read through it is compared with the
store: actions and state exactly, frames within the codec's error (exactly for the lossless ones),
rewards, done flags and the task strings; LeRobotDatasetMetadata's names, stats and tasks are read.
Prints one JSON object each.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

WORLDS = ("two-room", "push", "push-t")


def make(out: Path) -> dict:
    from jepalab.data.collect import collect
    from jepalab.data.importers import import_lerobot
    from jepalab.data.lerobot_export import export_store

    rows = {}
    for world in WORLDS:
        store = collect(world, 3, 20, out / world / "store", progress=False)
        eps = store.load_all()
        np.savez(
            out / world / "store.npz",
            **{
                f"{k}{i}": getattr(ep, k)
                for i, ep in enumerate(eps)
                for k in ("pixels", "actions", "proprio", "rewards")
            },
        )
        for name, codec, crf in (("lossy", "libx264", None), ("lossless", "libx264rgb", 0)):
            _, report = export_store(store.root, out / world / name, video_codec=codec, crf=crf)
            rows[f"{world}/{name}"] = report
        back = import_lerobot(out / world / "lossy", out / world / "back", image_size=64, progress=False)
        again, _ = export_store(back.root, out / world / "again")
        twice = import_lerobot(again, out / world / "back2", image_size=64, progress=False)
        a, b = back.load_all(), twice.load_all()
        rows[f"{world}/round trip"] = {
            "rewards kept": all(np.array_equal(x.rewards, y.rewards) for x, y in zip(a, b)),
            "tasks kept": [x.task for x in a] == [y.task for y in b] and a[0].task == world,
            "fps kept": back.meta()["fps"] == twice.meta()["fps"] == 10,
            "episode ends kept": [len(x) for x in a] == [len(y) for y in b] == [len(e) for e in eps],
        }
    return rows


def check(out: Path) -> dict:
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

    rows = {}
    for world in WORLDS:
        want = np.load(out / world / "store.npz")
        for name in ("lossy", "lossless", "again"):
            root = out / world / name
            meta = LeRobotDatasetMetadata(f"local/{world}-{name}", root=root)
            # pyav: torchcodec, its default, needs a system FFmpeg; PyAV brings its own
            ds = LeRobotDataset(f"local/{world}-{name}", root=root, video_backend="pyav")
            worst, exact_actions, exact_state, rewards_ok, done_ok = 0, True, True, True, True
            errors = []
            for i in range(len(ds)):
                item = ds[i]
                e, t = int(item["episode_index"]), int(item["frame_index"])
                frame = (item["observation.image"].permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()
                diff = np.abs(frame.astype(int) - want[f"pixels{e}"][t].astype(int))
                worst = max(worst, int(diff.max()))
                errors.append(diff.ravel())
                n = len(want[f"actions{e}"])
                action = want[f"actions{e}"][t] if t < n else np.zeros_like(want[f"actions{e}"][0])
                exact_actions &= bool(np.array_equal(item["action"].numpy(), action))
                exact_state &= bool(np.array_equal(item["observation.state"].numpy(), want[f"proprio{e}"][t]))
                reward = want[f"rewards{e}"][t] if t < n else 0.0
                rewards_ok &= bool(np.isclose(float(item["next.reward"]), reward))
                done_ok &= bool(item["next.done"]) == (t == n)
            rows[f"{world}/{name}"] = {
                "frames": len(ds),
                "episodes": ds.num_episodes,
                "fps": ds.fps,
                "max_frame_error": worst,
                "mean_frame_error": float(np.concatenate(errors).mean()),
                "share_of_values_off_by_more_than_10": float((np.concatenate(errors) > 10).mean()),
                "actions_exact": exact_actions,
                "state_exact": exact_state,
                "rewards": rewards_ok,
                "done": done_ok,
                "task": ds[0]["task"],
                "names": meta.names["observation.state"],
                "stats_keys": sorted(meta.stats["observation.state"]),
            }
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=["make", "check"])
    ap.add_argument("--out", default="runs/lerobot")
    args = ap.parse_args()
    out = Path(args.out)
    rows = make(out) if args.step == "make" else check(out)
    print(json.dumps({"benchmark": f"lerobot-{args.step}", "rows": rows}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
