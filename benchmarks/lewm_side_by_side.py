"""Benchmark: jepalab and LeWorldModel side by side in one run, on this machine: training samples/s,
one CEM replan (300 samples x 30 iterations) and peak memory, at a matched size and at each one's
Push-T default.

    python -m venv .venv-swm && .venv-swm/bin/pip install 'stable-worldmodel[env]' transformers -e .
    CUDA_VISIBLE_DEVICES= .venv-swm/bin/python benchmarks/lewm_side_by_side.py --rounds 2

LeWM is built from stable-worldmodel's own classes (`stable_worldmodel.wm.LeWM`, its `Predictor`,
`Embedder`, `MLP` and `SIGReg`) around a transformers `ViTModel`, as LeWM's training script builds
it: ViT-tiny widths (192 wide, 12 blocks, 3 heads) read out through the CLS token, projector and
prediction head MLPs (2048 hidden, BatchNorm), predictor 6 blocks x 16 heads of 64 with AdaLN
conditioning, dropout 0.1, actions of one 5-step block embedded together; its step is LeWM's:
encode history + 1 frames, predict the next latent from the history, mean squared error plus
SIGReg (17 knots, 1024 projections) weighted 0.09, AdamW, grad clip 1. Its replan is the package's
own `CEMSolver` (300 samples, 30 iterations, top 30, horizon 5) calling `LeWM.get_cost`.

jepalab runs its own `Trainer` (sampling sequences from episodes included) and its own CEM planner
with the same samples, iterations, elites and horizon. Both train on random frames and actions (the
arithmetic is what is measured), in the same torch, with the same thread count, one setting per
fresh process (peak memory is that process's maximum resident set: the model, the optimizer, the
activations and the interpreter with torch loaded, which the `idle` row measures alone), the
settings alternated `--rounds` times so that the machine's drift falls on both. Prints one JSON
object; the samples/s ratio per round is jepalab over LeWM.

Settings:
- matched: ViT 192 x 12 (patch 8), predictor 6 x 192, history 3, batch 32, 64 px, one predicted
  frame, in fp32 and in bf16 autocast (LeWM trains in bf16 mixed precision).
- default: each one's Push-T recipe as shipped: LeWM 224 px, patch 14, batch 128, history 3,
  bf16; jepalab's push-t preset at its own defaults (64 px, conv encoder, history 1, 3-step rollout
  loss, batch 64, precision auto).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np
import torch
from push_t_levers import LEWM_SIZE  # this folder's Push-T lever at LeWM's sizes
from torch.utils.flop_counter import FlopCounterMode

FRAMESKIP, ACTION_DIM = 5, 2  # Push-T: 2-d pusher targets, 5 env steps per model step (action blocks)
CEM = {"samples": 300, "iterations": 30, "elites": 30, "horizon": 5}

SETTINGS = {  # name -> (side, settings)
    "jepalab idle": ("jepalab", None),  # the interpreter with the library loaded, nothing built
    "LeWM idle": ("lewm", None),
    "jepalab matched": ("jepalab", [*LEWM_SIZE, "objective.rollout_steps=1", "train.batch_size=32"]),
    # the same with ViT-tiny's heads (3 of 64; jepalab's default is one per 32 channels: 6 of 32)
    "jepalab matched, heads of 64": (
        "jepalab",
        [*LEWM_SIZE, "model.vit_heads=3", "objective.rollout_steps=1", "train.batch_size=32"],
    ),
    "LeWM matched": ("lewm", {"image_size": 64, "patch": 8, "batch": 32, "history": 3}),
    "jepalab default": ("jepalab", []),
    "LeWM default": ("lewm", {"image_size": 224, "patch": 14, "batch": 128, "history": 3}),
}


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started. VmHWM, not getrusage's ru_maxrss, which
    Linux carries over from the parent through fork and exec (every child would report at least the
    parent's size)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def counted(fn) -> int:
    """FLOPs of one call of fn (torch's counter: matmuls, convolutions, attention)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def autocast(precision: str):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


# ------------------------------------------------------------------ LeWM, from stable-worldmodel's classes
def build_lewm(image_size: int, patch: int, history: int):
    from stable_worldmodel.wm import LeWM
    from stable_worldmodel.wm.lewm.module import MLP, Embedder, Predictor
    from transformers import ViTConfig, ViTModel

    vit = ViTModel(
        ViTConfig(
            hidden_size=192,
            num_hidden_layers=12,
            num_attention_heads=3,
            intermediate_size=768,
            image_size=image_size,
            patch_size=patch,
            hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
        ),
        add_pooling_layer=False,
    )
    predictor = Predictor(
        num_frames=history,
        depth=6,
        heads=16,
        mlp_dim=2048,
        input_dim=192,
        hidden_dim=192,
        output_dim=192,
        dim_head=64,
        dropout=0.1,
        emb_dropout=0.0,
    )
    return LeWM(
        encoder=vit,
        predictor=predictor,
        action_encoder=Embedder(input_dim=ACTION_DIM * FRAMESKIP, emb_dim=192),
        projector=MLP(192, 2048, 192, norm_fn=torch.nn.BatchNorm1d),
        pred_proj=MLP(192, 2048, 192, norm_fn=torch.nn.BatchNorm1d),
    )


def lewm_train(s: dict, precision: str, steps: int) -> dict:
    from stable_worldmodel.wm.loss import SIGReg

    model, sigreg = build_lewm(s["image_size"], s["patch"], s["history"]), SIGReg(knots=17, num_proj=1024)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=1e-3)
    b, t, size = s["batch"], s["history"] + 1, s["image_size"]
    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 256, (b, t, 3, size, size), dtype=np.uint8))
    actions = torch.from_numpy(rng.uniform(-1, 1, (b, t, ACTION_DIM * FRAMESKIP)).astype(np.float32))
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    model.train()

    def step():
        batch = {"pixels": (frames.float() / 255 - mean) / std, "action": actions}
        with autocast(precision):
            out = model.encode(batch)
            emb, act_emb = out["emb"], out["act_emb"]
            pred = model.predict(emb[:, : s["history"]], act_emb[:, : s["history"]])
            loss = (pred - emb[:, 1:]).pow(2).mean() + 0.09 * sigreg(emb.transpose(0, 1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    flops = counted(step)  # the warm-up step: allocations and first-call costs
    tic = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - tic) / steps
    params = sum(p.numel() for p in model.parameters())
    return {
        "step_s": dt,
        "samples_per_s": b / dt,
        "batch": b,
        "frames_per_sample": t,
        "params": params,
        "gflops_per_sample": flops / b / 1e9,
    }


def lewm_plan(s: dict, precision: str, repeats: int) -> dict:
    from gymnasium.spaces import Box
    from stable_worldmodel.solver.cem import CEMSolver

    model = build_lewm(s["image_size"], s["patch"], s["history"]).eval()
    solver = CEMSolver(model, num_samples=CEM["samples"], n_steps=CEM["iterations"], topk=CEM["elites"], var_scale=1.0)
    solver.configure(
        action_space=Box(-1, 1, (1, ACTION_DIM)),
        n_envs=1,
        config=SimpleNamespace(horizon=CEM["horizon"], action_block=FRAMESKIP),
    )
    size = s["image_size"]

    def info():  # one observed frame and the goal, as LeWM's evaluation hands them to the solver
        return {
            "pixels": torch.rand(1, 1, 3, size, size),
            "goal": torch.rand(1, 1, 3, size, size),
            "action": torch.zeros(1, 1, ACTION_DIM * FRAMESKIP),
        }

    with autocast(precision):
        flops = counted(lambda: solver.solve(info()))
        tic = time.perf_counter()
        for _ in range(repeats):
            solver.solve(info())
    return {"replan_s": (time.perf_counter() - tic) / repeats, "gflops_per_replan": flops / 1e9}


# ------------------------------------------------------------------ jepalab, through its own trainer and planner
def jepalab_cfg(sets: list[str], precision: str):
    from jepalab.config import override, preset

    return override(
        preset("push-t"),
        [
            *sets,
            f"train.precision={precision}",
            f"train.threads={torch.get_num_threads()}",
            f"plan.samples={CEM['samples']}",
            f"plan.iterations={CEM['iterations']}",
            f"plan.elites={CEM['elites']}",
            f"plan.horizon={CEM['horizon']}",
            f"plan.precision={'bf16' if precision == 'bf16' else 'fp32'}",
        ],
    )


def jepalab_train(sets: list[str], precision: str, steps: int) -> dict:
    from throughput import synthetic_episodes

    from jepalab.training.train import Trainer

    cfg = jepalab_cfg(sets, precision)
    episodes = synthetic_episodes(32, cfg.data.steps_per_episode, cfg.model.image_size, ACTION_DIM)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, episodes, out, progress=False)
        flops = counted(trainer.train_step)  # the warm-up step: allocations and first-call costs
        tic = time.perf_counter()
        for _ in range(steps):
            trainer.train_step()
        dt = (time.perf_counter() - tic) / steps
    window = cfg.objective.window_steps(cfg.model.history) + 1
    return {
        "step_s": dt,
        "samples_per_s": cfg.train.batch_size / dt,
        "batch": cfg.train.batch_size,
        "frames_per_sample": window,
        "precision": trainer.precision,
        "params": sum(p.numel() for p in trainer.model.parameters()),
        "gflops_per_sample": flops / cfg.train.batch_size / 1e9,
    }


@torch.no_grad()
def jepalab_plan(sets: list[str], precision: str, repeats: int) -> dict:
    from jepalab.models import build
    from jepalab.planning import make_planner

    cfg = jepalab_cfg(sets, precision)
    model = build(cfg.model).eval()
    planner = make_planner(cfg.plan, cfg.model.action_dim, seed=0)

    def plan():  # the observed frame and the goal are encoded as the agent does, then one CEM replan
        frames = torch.rand(2, 1, cfg.model.image_size, cfg.model.image_size, 3)
        z = model.encode(frames)
        a0 = torch.zeros(1, 0, model.model_action_dim)
        planner.plan(model, z[:1, :1], a0, z[1:, 0])

    flops = counted(plan)  # the warm-up replan
    tic = time.perf_counter()
    for _ in range(repeats):
        plan()
    return {"replan_s": (time.perf_counter() - tic) / repeats, "gflops_per_replan": flops / 1e9}


# ------------------------------------------------------------------ one setting per process
def child(name: str, phase: str, precision: str, steps: int, repeats: int) -> None:
    side, s = SETTINGS[name]
    if s is None:  # what loading the library costs before anything is built
        if side == "jepalab":
            import jepalab.planning  # noqa: F401
            import jepalab.training.train  # noqa: F401
        else:
            import stable_worldmodel.solver.cem  # noqa: F401
            import stable_worldmodel.wm  # noqa: F401
            import transformers  # noqa: F401
        row = {}
    elif phase == "train":
        row = lewm_train(s, precision, steps) if side == "lewm" else jepalab_train(s, precision, steps)
    else:
        row = lewm_plan(s, precision, repeats) if side == "lewm" else jepalab_plan(s, precision, repeats)
    print(json.dumps({**row, "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads()}))


def run_child(name: str, phase: str, precision: str, args) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--phase", phase, "--precision", precision]
    cmd += ["--steps", str(args.steps), "--repeats", str(args.repeats), "--threads", str(args.threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    if done.returncode:
        raise RuntimeError(f"{name} {phase} {precision} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2, help="alternations of every setting")
    ap.add_argument("--steps", type=int, default=3, help="timed training steps (after one warm-up step)")
    ap.add_argument("--repeats", type=int, default=1, help="timed replans (after one warm-up)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads, the same for both")
    ap.add_argument("--only", help="settings to run, separated by ; (default: all)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--phase", default="train", help=argparse.SUPPRESS)
    ap.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        child(args.child, args.phase, args.precision, args.steps, args.repeats)
        return

    from importlib.metadata import version  # the parent stays small: nothing of either library loaded

    runs = [("jepalab idle", "train", "fp32"), ("LeWM idle", "train", "fp32")]
    for name in ("jepalab matched", "jepalab matched, heads of 64", "LeWM matched"):
        runs += [(name, phase, precision) for precision in ("fp32", "bf16") for phase in ("train", "plan")]
    runs += [("jepalab default", phase, "auto" if phase == "train" else "bf16") for phase in ("train", "plan")]
    runs += [("LeWM default", phase, "bf16") for phase in ("train", "plan")]
    only = set(args.only.split(";")) if args.only else None
    runs = [r for r in runs if only is None or r[0] in only or r[0].endswith("idle")]
    results: dict[str, list] = {}
    for r in range(args.rounds):
        for name, phase, precision in runs:
            row = run_child(name, phase, precision, args)
            results.setdefault(f"{name} | {phase} | {precision}", []).append(row)
            print(f"round {r} {name} {phase} {precision}: {row}", file=sys.stderr, flush=True)

    def mean(key, field):
        rows = results.get(key, [])
        return float(np.mean([row[field] for row in rows])) if rows else None

    summary = {}
    for ours, precision in [
        (o, p) for o in ("jepalab matched", "jepalab matched, heads of 64") for p in ("fp32", "bf16")
    ]:
        j, lw = f"{ours} | train | {precision}", f"LeWM matched | train | {precision}"
        if j in results and lw in results:
            ratios = [a["samples_per_s"] / b["samples_per_s"] for a, b in zip(results[j], results[lw])]
            plan_ratio = mean(f"LeWM matched | plan | {precision}", "replan_s") / mean(
                f"{ours} | plan | {precision}", "replan_s"
            )
            summary[f"{ours.removeprefix('jepalab ')} {precision}"] = {
                "jepalab_samples_per_s": mean(j, "samples_per_s"),
                "lewm_samples_per_s": mean(lw, "samples_per_s"),
                "samples_ratio_per_round": ratios,
                "jepalab_replan_s": mean(f"{ours} | plan | {precision}", "replan_s"),
                "lewm_replan_s": mean(f"LeWM matched | plan | {precision}", "replan_s"),
                "replan_speedup": plan_ratio,
                "jepalab_train_peak_mb": mean(j, "peak_rss_mb"),
                "lewm_train_peak_mb": mean(lw, "peak_rss_mb"),
            }
    print(
        json.dumps(
            {
                "benchmark": "lewm-side-by-side",
                "command": "python benchmarks/lewm_side_by_side.py " + " ".join(sys.argv[1:]),
                "cores": os.cpu_count(),
                "threads": args.threads,
                "torch": torch.__version__,
                "stable_worldmodel": version("stable-worldmodel"),
                "transformers": version("transformers"),
                "cem": CEM,
                "steps": args.steps,
                "rounds": args.rounds,
                "summary": summary,
                "runs": results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
