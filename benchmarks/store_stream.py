"""Benchmark: the episode store on disk and streamed training batches, against the in-memory path.

    python benchmarks/store_stream.py --data runs/push/data --out runs/bench-store

Rewrites the store as .npz (schema 2) and as HDF5 (schema 3, the current format) and reports, in
one run: bytes per episode and seconds to write each format; seconds to draw a training batch of
`--batch` windows held in memory and streamed from HDF5 (SequenceSampler, the same windows), and
their ratio; and, with --train-steps, the training speed (samples/s) with the
frames held and streamed (the --preset model, prefetch on with streaming), and its ratio. One JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from jepalab.data.sequences import SequenceSampler
from jepalab.data.store import EpisodeStore


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def rewrite(episodes, meta: dict, out: Path, schema: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    store = EpisodeStore.create(out, meta)
    if schema != 3:  # an older store: its index says so, and it is appended to in its own format
        index = json.loads(store.index_path.read_text())
        store.index_path.write_text(json.dumps({**index, "schema_version": schema}))
    tic = time.perf_counter()
    for i, ep in enumerate(episodes):
        store.append(ep, i)
    return time.perf_counter() - tic


def batch_seconds(sampler: SequenceSampler, batch: int, reps: int) -> float:
    sampler.sample(batch)  # warm: the first read opens the files
    tic = time.perf_counter()
    for _ in range(reps):
        sampler.sample(batch)
    return (time.perf_counter() - tic) / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="an episode store to copy (any schema)")
    ap.add_argument("--out", default="runs/bench-store")
    ap.add_argument("--episodes", type=int, default=200)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--history", type=int, default=3)
    ap.add_argument("--frameskip", type=int, default=2)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--train-steps", type=int, default=0, help="also time this many training steps held vs streamed")
    ap.add_argument("--preset", default="push", help="the model trained with --train-steps")
    args = ap.parse_args()
    src = EpisodeStore(args.data)
    meta = {k: v for k, v in src.meta().items() if k not in ("format", "schema_version")}
    episodes = src.load_all(args.episodes)
    out = Path(args.out)
    result = {
        "episodes": len(episodes),
        "frames_per_episode": len(episodes[0].pixels),
        "image": list(episodes[0].pixels.shape[1:]),
        "batch": args.batch,
    }
    for name, schema in (("npz", 2), ("hdf5", 3)):
        seconds = rewrite(episodes, meta, out / name, schema)
        result[f"{name}_write_s_per_episode"] = seconds / len(episodes)
        result[f"{name}_bytes_per_episode"] = folder_bytes(out / name / "episodes") // len(episodes)
    raw = sum(ep.pixels.nbytes for ep in episodes) // len(episodes)
    result["raw_frame_bytes_per_episode"] = raw
    h5 = EpisodeStore(out / "hdf5")
    image = episodes[0].pixels.shape[1]
    action_dim = episodes[0].actions.shape[1]
    kw = dict(history=args.history, frameskip=args.frameskip, image_size=image, action_dim=action_dim, seed=0)
    held = SequenceSampler(h5.load_all(), **kw)
    streamed = SequenceSampler(h5.load_all(stream="on"), **kw)
    result["batch_s_held"] = batch_seconds(held, args.batch, args.reps)
    result["batch_s_streamed"] = batch_seconds(streamed, args.batch, args.reps)
    result["streamed_over_held_batch_time"] = result["batch_s_streamed"] / result["batch_s_held"]
    if args.train_steps:
        from jepalab.config import override, preset
        from jepalab.training.train import train

        # a throwaway first run pays the one-time costs (threads, allocator) outside the comparison
        for mode in ("warm-up", "off", "on"):
            steps = 3 if mode == "warm-up" else args.train_steps
            mode = "off" if mode == "warm-up" else mode
            cfg = override(
                preset(args.preset),
                [
                    f"train.steps={steps}",
                    "train.warmup_steps=1",
                    f"train.stream={mode}",
                    f"train.prefetch={mode}",
                    f"model.action_dim={action_dim}",
                    f"model.image_size={image}",
                    "train.log_every=1000000",
                ],
            )
            shutil.rmtree(out / f"train-{mode}", ignore_errors=True)
            _, r = train(cfg, h5.load_all(stream=mode), out / f"train-{mode}", progress=False)
            result[f"train_samples_per_s_stream_{mode}"] = r["step"] * cfg.train.batch_size / r["train_seconds"]
        result["streamed_over_held_train_speed"] = (
            result["train_samples_per_s_stream_on"] / result["train_samples_per_s_stream_off"]
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
