"""Benchmark: one physics model on the project's violation-of-expectation suite and on the same
events drawn another way (evals/alt_suite.py), with raw and with running-normalised surprise.

    python benchmarks/physics_styles.py --checkpoint runs/bounce --pairs 100

The checkpoint, its untrained twin and the pixel-space predictor are built once; each suite's
curves are computed once and scored both ways. Prints one JSON object: per style, normalisation
and model, the mean pairwise accuracy and each category's.
"""
from __future__ import annotations

import argparse
import json
import time

from jepalab.checkpoint import load_any
from jepalab.evals.alt_suite import make_alt_suite
from jepalab.evals.intuitive_physics import physics_models, score_pairs, suite_curves
from jepalab.evals.physics_suite import make_suite
from jepalab.evals.surprise import running_normalised


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="runs/bounce")
    ap.add_argument("--pairs", type=int, default=100, help="pairs per category and style")
    ap.add_argument("--pixel-steps", type=int, default=400)
    args = ap.parse_args()
    tic = time.perf_counter()
    model, cfg, meta = load_any(args.checkpoint)
    models, _ = physics_models(model, cfg, args.pixel_steps, progress=False)
    suites = {"bounce": make_suite(args.pairs, 50_000), "alt": make_alt_suite(args.pairs, 150_000)}
    out = {"benchmark": "physics-styles", "checkpoint": args.checkpoint, "step": meta["step"], "pairs": args.pairs,
           "seeds": {"bounce": 50_000, "alt": 150_000}, "results": {}}
    for style, pairs in suites.items():
        for name, m in models.items():
            curves = suite_curves(m, pairs)
            for norm, f in (("raw", None), ("running", running_normalised)):
                c = curves if f is None else [(f(a), f(b)) for a, b in curves]
                r = score_pairs(c, pairs)
                row = {"mean": r["overall"]["pairwise_accuracy"],
                       **{k: v["pairwise_accuracy"] for k, v in r["categories"].items()}}
                out["results"].setdefault(style, {}).setdefault(norm, {})[name] = row
                print(f"{style:<7} {norm:<8} {name:<10} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()),
                      flush=True)
    out["wall_seconds"] = time.perf_counter() - tic
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
