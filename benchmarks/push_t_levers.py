"""Benchmark: the levers the anchors found for Push-T, each measured at one fixed training budget.

    python benchmarks/push_t_levers.py --out runs/levers --minutes 15 --levers base,proprio,history3

Every lever is the push-t preset with one change (LEVERS), trained for the same minutes of optimizer
time on this CPU (the step count is set from the lever's own measured step time, so that the learning
rate schedule runs its full course within the budget), then measured the same way:
- probes: ridge probes (standardised latents) of pusher x, y / block x, y / block cos, sin fitted on
  40 noisy-expert episodes and scored (R², per column) on 20 others (seeds 900,000+);
- planning: the anchors' dataset protocol on the same 20 held-out expert trajectories (seeds
  700,000+, goal 25 steps ahead, budget 50), success by both tests (anchors': pusher and block
  within 20/512 together and 20 degrees; strict: the block within 0.05 and 15 degrees), the block's
  final distance to the goal pose and the planner's seconds per MPC step (batched over the episodes);
- training samples/s.
A lever's data differs only where the lever is the data (96 px frames, 5,000 episodes, the near-block
policy's pokes that turn the T: `nearblock`; the pose expert's demonstrations: `poseexpert`); the
probes are scored on near-block episodes too (seeds 950,000+), where the angle varies more.
`--steps N` gives every lever the same step count instead of a measured budget (levers run beside
other work, whose pace is not their own). The frozen
lever pretrains a V-JEPA encoder on push-t's frames (jepalab pretrain, part of its budget) and
trains the rest on that encoder's cached features. Rows are appended to OUT/levers.json as they
finish (a lever already there is skipped); prints the table as JSON at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from push_t import step_seconds  # this folder's recipe: one pace measurement for both

COLUMNS = ("pusher x", "pusher y", "block x", "block y", "block cos", "block sin")
LEWM_SIZE = [  # LeWorldModel's sizes at 64 px: ViT-tiny widths (4 x model.width = 192, 12 blocks), patch 8,
    # predictor 6 x 192, history 3 (benchmarks/lewm_side_by_side.py times jepalab at this size too)
    "model.encoder=vit",
    "model.width=48",
    "model.patch=8",
    "model.vit_depth=12",
    "model.pred_dim=192",
    "model.pred_depth=6",
    "model.pred_heads=4",
    "model.history=3",
]
LEVERS = {  # name -> (settings over the push-t preset, data: (image size, episodes))
    "base": ([], (64, 1000)),
    "proprio": (
        ["model.variant=senses", "model.senses=proprio", "model.proprio_dim=6", "model.proprio_columns=0,1"],
        (64, 1000),
    ),
    "history3": (["model.history=3", "plan.context=3"], (64, 1000)),
    "rollout2": (["objective.rollout_steps=2"], (64, 1000)),
    "px96": (["model.image_size=96"], (96, 1000)),
    # data whose pushes turn the T (issue 46): random pokes near the block, 5x the expert's turning
    "nearblock": ([], (64, 1000, "near-block")),
    # demonstrations that turn the T on purpose (the pose expert, worlds/push_expert.py)
    "poseexpert": ([], (64, 1000, "pose-expert")),
    "data5k": (["data.episodes=5000"], (64, 5000)),
    "spatial": (["model.variant=spatial", "model.latent_dim=256"], (64, 1000)),
    "frozen": (["model.video_encoder={pretrained}"], (64, 1000)),
    # SIGReg's weight decided what entered the latent before (1: the pusher alone; 10: the block's place too)
    "sigreg30": (["objective.weight=30"], (64, 1000)),
    # a model step spanning more pushing: the block's motion under contact depends on its angle
    "frameskip10": (["model.frameskip=10"], (64, 1000)),
    # what SIGReg spreads: each frame's departure from its sequence's mean (what moves, the T's turns
    # among it) plus a term over whole frames, as the bounce recipe does
    "changes": (["objective.reg_over=changes", "objective.frames_weight=0.5"], (64, 1000)),
    # LeWorldModel's encoder and settings: ViT-tiny widths (192 x 12 blocks) read out through CLS, predictor
    # 6 x 192, history 3, SIGReg 0.09 with 1024 projections, AdamW 5e-5 / 1e-3, batch 128
    "lewm64": (
        [
            *LEWM_SIZE,
            "plan.context=3",
            "objective.weight=0.09",
            "objective.projections=1024",
            "objective.rollout_steps=1",
            "train.lr=5e-5",
            "train.weight_decay=1e-3",
            "train.batch_size=128",
            "train.warmup_steps=20",
        ],
        (64, 1000),
    ),
    "lewm96": (
        [
            *LEWM_SIZE,
            "model.patch=12",  # 8 x 8 patches at 96 px, as at 64 px with patch 8
            "plan.context=3",
            "model.image_size=96",
            "objective.weight=0.09",
            "objective.projections=1024",
            "objective.rollout_steps=1",
            "train.lr=5e-5",
            "train.weight_decay=1e-3",
            "train.batch_size=128",
            "train.warmup_steps=20",
        ],
        (96, 1000),
    ),
}


def store_for(out: Path, size: int, episodes: int, policy: str = "noisy-expert"):
    from jepalab.data.collect import collect

    folder = out / (f"data-{size}px" if policy == "noisy-expert" else f"data-{size}px-{policy}")
    return collect("push-t", episodes, 100, folder, policy=policy, image_size=size)


def probe_columns(model, cfg, seed: int = 900_000, policy: str = "noisy-expert") -> dict:
    """R² per column of the world's proprio from the latent (ridge on standardised latents)."""
    from jepalab.data.collect import POLICIES, rollout_episode
    from jepalab.evals.probe import LinearProbe, encode_frames, episode_senses
    from jepalab.worlds import make

    env = make("push-t", max_steps=101, goal_mode="anywhere", image_size=cfg.model.image_size)
    eps = [
        rollout_episode(env, 100, seed + i, POLICIES[policy](env, np.random.default_rng(seed + i))) for i in range(60)
    ]
    for e in eps:  # every 5th frame (a model step), with the senses at the same frames
        e.pixels, e.proprio = e.pixels[::5], e.proprio[::5]
    z = [
        encode_frames(model, np.concatenate([e.pixels for e in part]), senses=episode_senses(model, part))
        for part in (eps[:40], eps[40:])
    ]
    y = [np.concatenate([e.proprio for e in part]) for part in (eps[:40], eps[40:])]
    mu, sd = z[0].mean(0), z[0].std(0) + 1e-6
    probe = LinearProbe.fit((z[0] - mu) / sd, y[0], ridge=1e-2)
    pred = probe((z[1] - mu) / sd)
    return {
        c: float(1 - ((y[1][:, i] - pred[:, i]) ** 2).sum() / ((y[1][:, i] - y[1][:, i].mean()) ** 2).sum())
        for i, c in enumerate(COLUMNS)
    }


def plan_dataset(model, cfg, episodes: int) -> dict:
    from jepalab.evals.control import run_control
    from jepalab.evals.dataset_goals import dataset_starts

    starts = dataset_starts("push-t", episodes, 700_000, 25, 100, {"image_size": cfg.model.image_size})
    plan = cfg.plan.__class__(**{**vars(cfg.plan), "max_steps": 50})
    r = run_control("push-t", plan, model, "planner", starts=starts, progress=False)
    return {
        "anchors_success": float(r.success_tests["anchors"].mean()),
        "strict_success": float(r.success_tests["strict"].mean()),
        "block_distance": float(r.final_distance.mean()),
        "plan_seconds_per_step": r.seconds_per_step,
    }


def pretrained_encoder(out: Path, store, minutes: float, common: list[str] = ()) -> tuple[Path, float]:
    """A V-JEPA encoder pretrained on push-t clips (frames 5 steps apart) for `minutes`; -> (run, seconds)."""
    from jepalab.config import override, preset
    from jepalab.training.pretrain import pretrain

    run = out / "frozen-pretrain"
    cfg = override(
        preset("video-small"), [f"source.store={store.root}", "source.frame_step=5", *common, "train.steps=100000"]
    )
    secs = step_seconds_video(cfg)
    cfg = override(cfg, [f"train.steps={max(50, int(minutes * 60 / secs))}", "train.checkpoint_every=100000"])
    _, result = pretrain(cfg, run, resume=True)
    return run, result["train_seconds"]


def step_seconds_video(cfg, steps: int = 5) -> float:
    import tempfile

    from jepalab.training.pretrain import Pretrainer

    with tempfile.TemporaryDirectory() as tmp:
        trainer = Pretrainer(cfg, tmp, progress=False)
        trainer.start()
        for _ in range(2):
            trainer.train_step()
        tic = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        return (time.perf_counter() - tic) / steps


def run_lever(
    name: str,
    out: Path,
    minutes: float,
    plan_episodes: int,
    store_episodes: int | None = None,
    common: list[str] = (),
    fixed_steps: int | None = None,
) -> dict:
    from jepalab.config import override, preset
    from jepalab.training.loop import latest_metrics
    from jepalab.training.train import train

    sets, (size, n, *policy) = LEVERS[name]
    n = min(n, store_episodes or n)
    store = store_for(out, size, n, *policy)
    episodes = store.load_all()[:n]
    budget, extra = minutes * 60, {}
    if name == "frozen":  # the budget covers pretraining (two thirds) and the rest
        run, pre_s = pretrained_encoder(out, store, minutes * 2 / 3, [c for c in common if c.startswith("train.")])
        sets = [s.format(pretrained=run) for s in sets]
        budget, extra = budget - pre_s, {"pretrain_seconds": pre_s}
    cfg = override(preset("push-t"), [*sets, *common, "train.steps=100000"])
    # a step costs the same on fewer episodes (and a cache is small); 8 steps after 3, as every row was measured
    secs = None if fixed_steps else step_seconds(cfg, episodes[:60], steps=8, warmup=3)
    steps = fixed_steps or max(50, int(budget / secs))
    cfg = override(
        cfg,
        [
            f"train.steps={steps}",
            f"train.checkpoint_every={steps}",
            f"train.warmup_steps={min(cfg.train.warmup_steps, steps // 10)}",
        ],
    )
    tic = time.perf_counter()
    model, result = train(cfg, episodes, out / name, resume=True)
    rates = [m["samples_per_s"] for m in latest_metrics(out / name) if "samples_per_s" in m][1:]
    row = {
        "lever": name,
        "settings": sets,
        "data": {"image_size": size, "episodes": n, "policy": (policy or ["noisy-expert"])[0]},
        "steps": steps,
        "train_seconds": result["train_seconds"],
        "wall_seconds": time.perf_counter() - tic,
        "samples_per_s": float(np.median(rates)) if rates else None,
        "pred_loss": result.get("pred_loss"),
        "effective_rank": result.get("effective_rank"),
        **extra,
    }
    row["probe_r2"] = probe_columns(model, cfg)
    row["probe_r2_near_block"] = probe_columns(model, cfg, seed=950_000, policy="near-block")
    row.update(plan_dataset(model, cfg, plan_episodes))
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/levers")
    ap.add_argument("--minutes", type=float, default=15.0, help="training budget per lever (optimizer time)")
    ap.add_argument("--levers", default=",".join(LEVERS))
    ap.add_argument("--episodes", type=int, default=20, help="held-out dataset-protocol episodes")
    ap.add_argument("--store-episodes", type=int, help="at most this many training episodes (a quick trial)")
    ap.add_argument("--steps", type=int, help="the same step count for every lever instead of a measured budget")
    ap.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for every lever (e.g. train.threads=1: each lever on one core, the same for all)",
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "levers.json"
    table = (
        json.loads(table_path.read_text())
        if table_path.exists()
        else {"minutes": args.minutes, "settings": args.sets, "rows": []}
    )
    done = {r["lever"] for r in table["rows"]}
    for name in args.levers.split(","):
        if name in done:
            continue
        if name not in LEVERS:
            raise SystemExit(f"unknown lever {name!r}; levers: {', '.join(LEVERS)}")
        torch.manual_seed(0)
        row = run_lever(name, out, args.minutes, args.episodes, args.store_episodes, args.sets, args.steps)
        table["rows"].append(row)
        table_path.write_text(json.dumps(table, indent=2))
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
