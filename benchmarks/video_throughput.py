"""Pretraining throughput (clips/s) of the video model: fp32 vs bf16 autocast, activation
checkpointing off vs on, measured in one process on the same clips, interleaved so that the
machine's drift hits every variant alike.

    python benchmarks/video_throughput.py --out runs/bench-video-throughput     # ~3 min on 2 cores
    python benchmarks/video_throughput.py --preset video-base --device cuda     # on a GPU

Prints a table and writes throughput.json: clips/s per variant (median of the timed rounds), and
the ratio to fp32 without checkpointing. The clips are generated once beforehand; the data
pipeline's own speed is reported separately (clips generated per second).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from jepalab.config import override, preset
from jepalab.data.clips import BounceClips
from jepalab.masks import VJEPA_SPECS, multiblock_masks
from jepalab.models.video import VideoJEPA
from jepalab.runtime import autocast, cpu_name, tune_allocator

VARIANTS = [("fp32", False), ("bf16", False), ("fp32", True), ("bf16", True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="video-small")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="timed rounds per variant (interleaved)")
    ap.add_argument("--steps", type=int, default=5, help="training steps per round")
    ap.add_argument("--out", default="runs/bench-video-throughput")
    args = ap.parse_args()
    tune_allocator()
    base = preset(args.preset)
    v = base.video
    tic = time.perf_counter()
    source = BounceClips(v.frames, v.size, seed=0)
    clips = [source.batch(args.batch).to(args.device) for _ in range(args.steps)]
    gen_rate = args.batch * args.steps / (time.perf_counter() - tic)
    grid = (v.frames // v.tubelet, v.size // v.patch, v.size // v.patch)
    masks = [
        multiblock_masks(args.batch, grid, VJEPA_SPECS, torch.Generator().manual_seed(i)) for i in range(args.steps)
    ]
    models = {}
    for precision, recompute in VARIANTS:
        torch.manual_seed(0)
        cfg = override(preset(args.preset), [f"video.recompute={recompute}"])
        model = VideoJEPA(cfg.video).to(args.device).train()
        models[(precision, recompute)] = (model, torch.optim.AdamW(model.parameters(), lr=1e-4))
    times: dict = {k: [] for k in VARIANTS}
    for r in range(args.rounds + 1):  # round 0 warms up every variant and is not counted
        for key in VARIANTS:
            model, opt = models[key]
            if args.device == "cuda":
                torch.cuda.synchronize()
            tic = time.perf_counter()
            for video, (ctx, tgt) in zip(clips, masks):
                with autocast(key[0], args.device):
                    loss, _ = model.loss(video, ctx.to(args.device), tgt.to(args.device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                model.update_target(0.996)
            if args.device == "cuda":
                torch.cuda.synchronize()
            if r:
                times[key].append(time.perf_counter() - tic)
    rows = []
    for precision, recompute in VARIANTS:
        rate = args.batch * args.steps / statistics.median(times[(precision, recompute)])
        rows.append({"precision": precision, "recompute": recompute, "clips_per_s": rate})
    ref = rows[0]["clips_per_s"]
    for row in rows:
        row["vs_fp32"] = row["clips_per_s"] / ref
    result = {
        "preset": args.preset,
        "device": args.device,
        "hardware": torch.cuda.get_device_name() if args.device == "cuda" else cpu_name(),
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "frames": v.frames,
        "size": v.size,
        "tokens": v.tokens,
        "torch": torch.__version__,
        "clips_generated_per_s": gen_rate,
        "variants": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(result, indent=2))
    print(f"{args.preset} on {result['hardware']} ({args.device}, {result['threads']} threads), batch {args.batch}:")
    print(f"{'precision':<10}{'recompute':<11}{'clips/s':>9}{'vs fp32':>9}")
    for row in rows:
        print(f"{row['precision']:<10}{str(row['recompute']):<11}{row['clips_per_s']:>9.1f}{row['vs_fp32']:>9.2f}")
    print(f"data: bounce generates {gen_rate:.0f} clips/s on one core; results: {out / 'throughput.json'}")


if __name__ == "__main__":
    main()
