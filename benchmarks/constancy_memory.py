"""Diagnostic: does a world model of `bounce` carry an object's appearance through an occlusion?

    python benchmarks/constancy_memory.py --checkpoint runs/bounce --pairs 60     # ~30 s on 2 CPU cores

On the constancy pairs of the suite (an object changes colour or shape behind the occluder), the
model imagines the frames after the divergence from the `history` frames before it. That context is
the same video in both twins, so the imagined frames are the same too: a model that remembers the old
appearance fits the possible twin better, one that does not is at chance. Per lead (1..--leads
frames ahead): the share of pairs whose impossible twin is the worse fit, and the mean ratio of its
error to the possible twin's; beside them, how far apart the twins' latents are after the change,
against one frame's motion. And whether the predictor looks back at all (`looks_back`): on clips of
one object in free flight, is the next frame with the object recoloured the worse fit, with the
object in view, and with it hidden by a painted bar in the newest context frame only. Prints one
JSON object. An untrained twin of the model is measured in the same run as the floor.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from jepalab.evals.intuitive_physics import untrained_twin
from jepalab.evals.physics_suite import CATEGORIES, VARIANTS, make_pair
from jepalab.training.checkpoint import load_any
from jepalab.worlds.bounce import OCCLUDER, PALETTE


@torch.no_grad()
def memory_of_appearance(model, pairs, leads: int) -> dict:
    model.eval()
    H, A = model.cfg.history, model.model_action_dim
    worse, ratio, twin, motion = [], [], [], []
    for p in pairs:
        d = p.diverge_frame
        za = model.encode({"pixels": torch.from_numpy(p.possible)})
        zb = model.encode({"pixels": torch.from_numpy(p.impossible)})
        k = min(leads, len(za) - d)
        imagined = model.rollout(za[d - H : d][None], torch.zeros(1, H - 1, A), torch.zeros(1, k, A))[0]
        ea = (imagined - za[d : d + k]).pow(2).mean(-1)
        eb = (imagined - zb[d : d + k]).pow(2).mean(-1)
        worse.append(np.pad((eb > ea).double().numpy(), (0, leads - k), constant_values=np.nan))
        ratio.append(np.pad((eb / ea).double().numpy(), (0, leads - k), constant_values=np.nan))
        twin.append((za[d : d + k] - zb[d : d + k]).norm(dim=-1).mean().item())
        motion.append((za[1:] - za[:-1]).norm(dim=-1).mean().item())
    r = lambda a: [round(float(x), 3) for x in np.nanmean(np.stack(a), 0)]
    return {
        "impossible_worse_by_lead": r(worse),
        "error_ratio_by_lead": r(ratio),
        "twin_distance_after_change": round(float(np.mean(twin)), 3),
        "motion_per_frame": round(float(np.mean(motion)), 3),
    }


@torch.no_grad()
def looks_back(model, clips: list[np.ndarray], bar_width: int = 12) -> dict:
    """Does the predictor read an object's colour from older frames when the newest hides it? Per
    clip (one object in free flight), the next frame is predicted from `history` frames and compared
    with the true next frame and with the same frame with the object recoloured: the share of clips
    whose recoloured frame is the worse fit, (a) with the object in view throughout and (b) with a
    grey bar painted over it in the newest context frame only (the older ones still show it)."""
    model.eval()
    H, A = model.cfg.history, model.model_action_dim
    in_view, behind_bar = [], []
    for j, clip in enumerate(clips):
        frames = clip[: H + 1].copy()
        background = np.median(frames[H - 1].reshape(-1, 3).astype(int), 0)
        seen = np.argwhere(np.abs(frames[H - 1].astype(int) - background).max(-1) > 40)
        obj = np.abs(frames[H].astype(int) - background).max(-1) > 40
        if not len(seen) or not obj.any():
            continue
        colour = tuple(int(v) for v in frames[H][obj][0])
        recoloured = frames[H].copy()
        recoloured[obj] = [c for c in PALETTE if tuple(c) != colour][j % (len(PALETTE) - 1)]
        barred = frames.copy()
        x = int(np.median(seen[:, 1]))
        barred[H - 1][:, max(0, x - bar_width // 2) : x + bar_width // 2] = OCCLUDER.astype(np.uint8)
        truth, other = model.encode(torch.from_numpy(np.stack([frames[H], recoloured])))
        for context, store in ((frames, in_view), (barred, behind_bar)):
            z = model.encode(torch.from_numpy(context[:H]))
            imagined = model.rollout(z[None], torch.zeros(1, H - 1, A), torch.zeros(1, 1, A))[0, 0]
            store.append(float((imagined - other).pow(2).mean() > (imagined - truth).pow(2).mean()))
    return {
        "recoloured_worse_object_in_view": round(float(np.mean(in_view)), 3),
        "recoloured_worse_object_behind_bar": round(float(np.mean(behind_bar)), 3),
        "clips": len(in_view),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", required=True, help="run folder or checkpoint of an action-free bounce model")
    ap.add_argument("--pairs", type=int, default=60, help="constancy pairs (recolor and reshape in turn)")
    ap.add_argument("--seed", type=int, default=50_000, help="the suite's first seed (as `jepalab physics`)")
    ap.add_argument("--leads", type=int, default=6)
    args = ap.parse_args()
    model, cfg, meta = load_any(args.checkpoint)
    first = args.seed + 1000 * CATEGORIES.index("constancy")  # the suite's seeds for this category
    pairs = [make_pair("constancy", VARIANTS["constancy"][j % 2], first + j) for j in range(args.pairs)]
    # clips of one object in free flight, in view from the first frame (the suite's continuity scenes)
    flights = [
        make_pair("continuity", "teleport", args.seed + 1000 * CATEGORIES.index("continuity") + j).possible
        for j in range(args.pairs)
    ]
    untrained = untrained_twin(model, cfg.train.seed)
    out = {
        "checkpoint": args.checkpoint,
        "step": meta["step"],
        "pairs": len(pairs),
        "trained": {**memory_of_appearance(model, pairs, args.leads), **looks_back(model, flights)},
        "untrained": {**memory_of_appearance(untrained, pairs, args.leads), **looks_back(untrained, flights)},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
