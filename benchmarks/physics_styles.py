"""Benchmark: one physics model on the project's violation-of-expectation suite and on the same
events drawn another way (evals/alt_suite.py), with raw and with running-normalised surprise.

    python benchmarks/physics_styles.py --checkpoint runs/bounce --pairs 100 --seeds 3
    python benchmarks/physics_styles.py --checkpoint runs/bounce --windows 2:max --windows 4:mean

--windows CONTEXT:REDUCE (repeatable) adds the trained model scored as the V-JEPA paper scores
(evals/window_surprise.py: windows sliding by 2 frames, CONTEXT frames seen, the rest of each window
predicted, a clip's score the max or mean over its windows), beside the per-frame scoring; curves are
computed once per context and scored with each reduction. Tune on the bounce style only: the alt
style is the held-out check.

The checkpoint, its untrained twin and the pixel-space predictor are built once; each suite's
curves are computed once and scored both ways. Prints one JSON object: per style, normalisation
and model, the mean pairwise accuracy and each category's.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from jepalab.evals.alt_suite import make_alt_suite
from jepalab.evals.intuitive_physics import physics_models, score_pairs, suite_curves
from jepalab.evals.physics_suite import make_suite
from jepalab.evals.surprise import running_normalised
from jepalab.evals.window_surprise import REDUCE, Windows
from jepalab.training.checkpoint import load_any


def window_spec(text: str) -> tuple[int, str]:
    context, _, reduce = text.partition(":")
    if not context.isdigit() or reduce not in REDUCE:
        raise SystemExit(f"--windows takes CONTEXT:REDUCE with REDUCE one of {REDUCE}, e.g. 4:max; got {text!r}")
    return int(context), reduce


def as_row(scored: dict) -> dict:
    return {
        "mean": scored["overall"]["pairwise_accuracy"],
        **{k: v["pairwise_accuracy"] for k, v in scored["categories"].items()},
    }


def report(style: str, seed: int, scoring: str, name: str, row: dict) -> None:
    print(
        f"{style:<7} {seed:<7} {scoring:<8} {name:<10} " + "  ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default="runs/bounce")
    ap.add_argument("--pairs", type=int, default=100, help="pairs per category, style and seed")
    ap.add_argument(
        "--seeds", type=int, default=1, help="suite seeds per style (the bench's: 50,000 / 150,000 + 10,000 x k)"
    )
    ap.add_argument("--pixel-steps", type=int, default=400)
    ap.add_argument("--windows", action="append", default=[], metavar="CONTEXT:REDUCE", help="e.g. 4:max")
    args = ap.parse_args()
    specs = [window_spec(w) for w in args.windows]
    tic = time.perf_counter()
    model, cfg, meta = load_any(args.checkpoint)
    models, _ = physics_models(model, cfg, args.pixel_steps, progress=False)
    seeds = {
        "bounce": [50_000 + 10_000 * k for k in range(args.seeds)],
        "alt": [150_000 + 10_000 * k for k in range(args.seeds)],
    }
    makers = {"bounce": make_suite, "alt": make_alt_suite}
    out = {
        "benchmark": "physics-styles",
        "checkpoint": args.checkpoint,
        "step": meta["step"],
        "pairs": args.pairs,
        "seeds": seeds,
        "results": {},
    }
    for style, style_seeds in seeds.items():
        rows = {}  # (norm, model) -> one row per seed
        for seed in style_seeds:
            pairs = makers[style](args.pairs, seed)
            for name, m in models.items():
                curves = suite_curves(m, pairs)
                for norm, f in (("raw", None), ("running", running_normalised)):
                    c = curves if f is None else [(f(a), f(b)) for a, b in curves]
                    row = as_row(score_pairs(c, pairs))
                    rows.setdefault((norm, name), []).append(row)
                    report(style, seed, norm, name, row)
            for context in sorted({c for c, _ in specs}):
                curves = suite_curves(models["trained"], pairs, windows=Windows(context=context))
                for reduce in [r for c, r in specs if c == context]:
                    row = as_row(score_pairs(curves, pairs, reduce=reduce))
                    rows.setdefault((f"windows {context}:{reduce}", "trained"), []).append(row)
                    report(style, seed, f"windows {context}:{reduce}", "trained", row)
        for (norm, name), per_seed in rows.items():
            summary = {k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0]}
            summary["mean_std_over_seeds"] = (
                float(np.std([r["mean"] for r in per_seed], ddof=1)) if len(per_seed) > 1 else None
            )
            out["results"].setdefault(style, {}).setdefault(norm, {})[name] = {**summary, "per_seed": per_seed}
    out["wall_seconds"] = time.perf_counter() - tic
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
