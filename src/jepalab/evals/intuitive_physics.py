"""`jepalab physics`: score a model on the violation-of-expectation suite (evals/physics_suite.py).

    jepalab physics --checkpoint runs/video                # generated suite, seeds from 50,000
    jepalab physics --checkpoint runs/video --suite suite/ # a suite written by --make-suite

Per clip, the surprise curve (evals/surprise.py). Per category and overall (the mean over categories):
- pairwise accuracy: the impossible clip of a pair is more surprising than its possible twin where
  the two differ: peak surprise over the frames from one before the first differing frame to
  `PAIR_WINDOW` frames after it (ties: half). Before that frame the twins are the same video; long
  after it the possible twin may meet events of its own (a bounce on the floor the impossible one
  floated away from) that say nothing about the violation;
- AUROC of the clip-level surprise (the peak over the whole clip, no knowledge of the event),
  impossible clips against possible ones, unpaired: the harder, detector-style figure;
- localisation: the share of impossible clips whose peak frame falls from one frame before the first
  frame that differs from the twin (a tubelet spans two frames) to `LOCALISE_AFTER` frames after it.
Three models in the same run: the checkpoint, the same architecture untrained (the weights it started
from), and a pixel-space predictor trained on the checkpoint's own clip stream.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data import jsonout
from .physics_suite import QUIET_AFTER, Pair
from .surprise import surprise_curve

LOCALISE_AFTER = 4
PAIR_WINDOW = QUIET_AFTER  # the suite keeps the possible twin free of collisions this long


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties: half): Mann-Whitney U / (n m)."""
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def _peak(values: np.ndarray) -> float:
    return float(np.nanmax(values)) if np.isfinite(values).any() else float("-inf")


def score_pairs(curves: list[tuple[np.ndarray, np.ndarray]], pairs: list[Pair], reduce: str | None = None) -> dict:
    """curves[i] = (possible, impossible) curves of pairs[i] -> {"categories": {c: metrics}, "overall": metrics}.
    reduce None: a pair is judged on the peaks near its event (the module docstring); "max" or "mean":
    on each whole clip's max or mean, as the V-JEPA paper judges its pairs (evals/window_surprise.py),
    and the clip-level surprise of the AUROC is the same figure."""
    from .window_surprise import video_score

    per: dict = {}
    for (cp, ci), p in zip(curves, pairs):
        if reduce is None:
            span = slice(max(0, p.diverge_frame - 1), p.diverge_frame + PAIR_WINDOW + 1)
            wp, wi = _peak(cp[span]), _peak(ci[span])
            clip_p, clip_i = np.nanmax(cp), np.nanmax(ci)
        else:
            wp, wi = clip_p, clip_i = video_score(cp, reduce), video_score(ci, reduce)
        peak = int(np.nanargmax(ci))
        d = per.setdefault(p.category, {"possible": [], "impossible": [], "win": [], "localised": []})
        d["possible"].append(clip_p)
        d["impossible"].append(clip_i)
        d["win"].append(1.0 if wi > wp else 0.5 if wi == wp else 0.0)
        d.setdefault("variants", {}).setdefault(p.variant, []).append(d["win"][-1])
        d["localised"].append(float(p.diverge_frame - 1 <= peak <= p.diverge_frame + LOCALISE_AFTER))
    cats = {
        c: {
            "pairs": len(d["win"]),
            "pairwise_accuracy": float(np.mean(d["win"])),
            "wins": d["win"],
            "auroc": auroc(d["impossible"], d["possible"]),
            "localised": float(np.mean(d["localised"])),
            "variant_accuracy": {v: float(np.mean(w)) for v, w in d["variants"].items()},
        }
        for c, d in per.items()
    }
    overall = {k: float(np.mean([m[k] for m in cats.values()])) for k in ("pairwise_accuracy", "auroc", "localised")}
    return {"categories": cats, "overall": {"pairs": sum(m["pairs"] for m in cats.values()), **overall}}


def suite_curves(
    model,
    pairs: list[Pair],
    context: int | None = None,
    horizon: int = 1,
    desc: str = "surprise",
    progress: bool = False,
    windows=None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    kw = {"context": context, "horizon": horizon, "windows": windows}
    return [
        (surprise_curve(model, p.possible, **kw), surprise_curve(model, p.impossible, **kw))
        for p in tqdm(pairs, desc=desc, disable=not progress)
    ]


def untrained_twin(model, seed: int):
    """The same architecture with the weights its training started from (its config's seed)."""
    from ..models.video import VideoJEPA
    from ..models.world_model import WorldModel

    if isinstance(model, VideoJEPA):
        torch.manual_seed(seed)
        return VideoJEPA(model.cfg).eval()
    if isinstance(model, WorldModel):
        return model.fresh_copy().eval()
    raise TypeError(f"no untrained twin for {type(model).__name__}")


def evaluate_models(
    models: dict,
    pairs: list[Pair],
    context: int | None = None,
    horizon: int = 1,
    progress: bool = False,
    normalise: str = "none",
    windows=None,
) -> tuple[dict, dict]:
    """-> ({model name: score_pairs(...)}, {model name: curves}). normalise="running": every curve in
    units of its own video's earlier surprise (evals/surprise.py running_normalised). windows
    (evals/window_surprise.Windows): the paper's windowed scoring, pairs judged on whole clips; the
    pixel baseline keeps its one-step curve, judged on whole clips the same way."""
    from .surprise import PixelPredictor, running_normalised

    results, curves = {}, {}
    for name, model in models.items():
        own = None if isinstance(model, PixelPredictor) else windows
        curves[name] = suite_curves(
            model, pairs, context, horizon, desc=f"surprise ({name})", progress=progress, windows=own
        )
        if normalise == "running":
            curves[name] = [(running_normalised(a), running_normalised(b)) for a, b in curves[name]]
        results[name] = score_pairs(curves[name], pairs, reduce=windows.reduce if windows else None)
    return results, curves


def format_physics_table(results: dict) -> str:
    names = list(results)
    cats = list(next(iter(results.values()))["categories"])
    head = f"{'category':<13}{'pairs':>6}" + "".join(f"{n + ' acc':>16}{'AUROC':>7}{'loc.':>6}" for n in names)
    lines = [head, "-" * len(head)]
    for c in cats + ["overall"]:
        first = results[names[0]]["overall" if c == "overall" else "categories"]
        pairs = first["pairs"] if c == "overall" else first[c]["pairs"]
        row = f"{c:<13}{pairs:>6}"
        for n in names:
            m = results[n]["overall"] if c == "overall" else results[n]["categories"][c]
            row += f"{m['pairwise_accuracy']:>16.3f}{m['auroc']:>7.3f}{m['localised']:>6.2f}"
        lines.append(row)
    return "\n".join(lines)


def plot_examples(pairs: list[Pair], curves: list, path, per_category: int = 2, title: str = "") -> None:
    """Surprise curves of a few pairs per category: possible vs impossible, the divergence marked."""
    from ..plots import pyplot

    plt = pyplot()
    cats = list(dict.fromkeys(p.category for p in pairs))
    fig, axes = plt.subplots(per_category, len(cats), figsize=(3.2 * len(cats), 2.4 * per_category), squeeze=False)
    for j, c in enumerate(cats):
        idx = [i for i, p in enumerate(pairs) if p.category == c][:per_category]
        for r, i in enumerate(idx):
            ax = axes[r, j]
            ax.plot(curves[i][0], label="possible", color="tab:blue")
            ax.plot(curves[i][1], label="impossible", color="tab:red")
            ax.axvline(pairs[i].diverge_frame, color="grey", ls="--", lw=1)
            ax.set_title(f"{c} / {pairs[i].variant}", fontsize=9)
            ax.set_xlabel("frame")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(title or "surprise over frames (dashed: first frame that differs)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def physics_models(
    model, cfg, pixel_steps: int = 400, context: int | None = None, progress: bool = True
) -> tuple[dict, int | None]:
    """The models a suite is scored with: the checkpoint's, its untrained twin and a pixel-space
    predictor trained on the model's own clip stream (bounce for an action-conditioned model).
    -> ({name: model}, the checkpoint's context: a video model's time steps; an action-conditioned
    model's frames, None for its history)."""
    from dataclasses import replace

    from ..config import SourceConfig, VideoConfig
    from ..data.clips import make_clip_source
    from .surprise import calibrate_surprise, train_pixel_predictor

    video = getattr(cfg, "video", None)  # None: an action-conditioned model
    video_cfg = video or VideoConfig()
    source_cfg = getattr(cfg, "source", None) or SourceConfig()
    # the pixel baseline's window: the video model's context; an action-conditioned model's context
    # counts frames of its own history, not the baseline's tubelets
    ctx = (context if video is not None else None) or video_cfg.context_steps
    window = replace(video_cfg, frames=(ctx + 1) * video_cfg.tubelet, future_context=ctx)
    pixel = train_pixel_predictor(
        window, make_clip_source(source_cfg, window), steps=pixel_steps, seed=cfg.train.seed, progress=progress
    )
    twin = untrained_twin(model, cfg.train.seed)
    if hasattr(model, "surprise_scale") and torch.isfinite(model.surprise_scale).all():
        # scored as the trained model is: each part in units of its own median error, here on bounce clips
        from ..data.clips import BounceClips

        clips = BounceClips(24, cfg.model.image_size, seed=cfg.train.seed + 1)
        calibrate_surprise(twin, (clips.clip().frames for _ in range(200)))
    return ({"trained": model, "untrained": twin, "pixels": pixel}, ctx if video is not None else context)


def physics_checkpoint(
    path,
    suite=None,
    pairs_per_category: int = 100,
    seed: int = 50_000,
    pixel_steps: int = 400,
    context: int | None = None,
    horizon: int = 1,
    progress: bool = True,
    style: str = "bounce",
    normalise: str = "none",
    windows=None,
) -> tuple[dict, list[Pair], dict]:
    """`jepalab physics`: the checkpoint, its untrained twin and the pixel baseline on one suite
    (read from `suite`, or generated from `seed`: style "bounce", the project's own, or "alt", drawn
    another way by evals/alt_suite.py). -> (report, pairs, curves by model name)."""
    from ..training.checkpoint import load_any, resolve
    from . import alt_suite
    from .physics_suite import GENERATOR, make_suite, read_suite

    if style not in ("bounce", "alt"):
        raise ValueError(f"--suite-style must be bounce or alt, got {style!r}")
    model, cfg, meta = load_any(path)
    if suite:
        pairs = read_suite(suite)
    elif style == "alt":
        pairs = alt_suite.make_alt_suite(pairs_per_category, seed, progress=progress)
    else:
        pairs = make_suite(pairs_per_category, seed, progress=progress)
    models, ctx = physics_models(model, cfg, pixel_steps, context, progress)
    results, curves = evaluate_models(
        models, pairs, context, horizon, progress=progress, normalise=normalise, windows=windows
    )
    generator = alt_suite.GENERATOR if style == "alt" else GENERATOR
    report = {
        "checkpoint": str(resolve(path)),
        "step": meta["step"],
        "kind": meta.get("kind", "world"),
        "suite": str(suite)
        if suite
        else {"generator": generator, "seed": seed, "pairs_per_category": pairs_per_category},
        "normalise": normalise,
        "context": ctx,
        "horizon": horizon,
        "scoring": "frames" if windows is None else {"windows": vars(windows)},
        "pixel_steps": pixel_steps,
        "localise_after": LOCALISE_AFTER,
        "results": results,
    }
    return report, pairs, curves


def write_physics_report(report: dict, pairs: list[Pair], curves: dict, out):
    """physics.json and examples.png (the trained model's curves) into `out`; -> out."""
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "physics.json").write_text(jsonout.dumps(report, indent=1))
    plot_examples(pairs, curves["trained"], out / "examples.png")
    return out
