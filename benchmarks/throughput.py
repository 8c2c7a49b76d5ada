"""Benchmark: training and planning throughput, the machine's matmul peak and the fraction of it a
training step achieves.

    python benchmarks/throughput.py                       # CPU, or the GPU if there is one
    python benchmarks/throughput.py --compile             # + torch.compile (compile time reported)

Train: the two-room preset's world model on synthetic episodes (random frames and actions: the
arithmetic is what is measured), `--steps` timed steps after warm-up, fp32 and bf16 autocast (and
torch.compile when asked). Plan: one CEM call for 1 and for 32 episodes at once, fp32 and bf16.
Peak: this device's measured matmul throughput (GFLOP/s, fp32 and bf16) at the shapes the models
use and at a large square; the training step's achieved FLOP/s (torch.utils.flop_counter per step
/ seconds per step) is reported as a fraction of the measured peak of its precision. Prints one
JSON object.

    python benchmarks/throughput.py --compare-src /path/to/old/checkout/src --rounds 3

Today vs this tree: the same child (the two-room preset at each tree's own defaults: precision,
thread policy) run alternately from the other tree's source and this one, `--rounds` times, so that
the machine's drift falls on both; reports samples/s per round and the ratio.

    python benchmarks/throughput.py --precision-rounds 2    # fp32 vs bf16 steps only, alternated

    python benchmarks/throughput.py --under-load

Under load: each thread setting (the default, one thread per core fixed for the run, spinning
waits; train.threads_follow_load, which sizes the pool to the cores other processes leave free;
OMP_WAIT_POLICY=passive; one thread) is timed alone and beside one single-threaded busy process at
nice 19 and at nice 0. The wait policy must be set before torch starts its thread pool, so each runs
in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from jepalab.config import override, preset
from jepalab.data.store import Episode
from jepalab.planning import make_planner
from jepalab.runtime import cpu_name

try:
    from jepalab.training.train import Trainer
except ImportError:  # --compare-src: a tree from before the package was laid out by stage
    from jepalab.train import Trainer


def synthetic_episodes(n: int, steps: int, size: int, action_dim: int, seed: int = 0) -> list[Episode]:
    rng = np.random.default_rng(seed)
    return [
        Episode(
            rng.integers(0, 256, (steps + 1, size, size, 3), dtype=np.uint8),
            rng.uniform(-1, 1, (steps, action_dim)).astype(np.float32),
            rng.uniform(0, 1, (steps + 1, 2)).astype(np.float32),
        )
        for _ in range(n)
    ]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ------------------------------------------------------------------ the machine's peak
MATMUL_SHAPES = {  # name -> (m, k, n): the largest matmuls of the models at their defaults, and a big square
    "projector (B*T x 256 -> 512)": (256, 256, 512),
    "conv3 as a matmul (B*T*64 x 1024 -> 128)": (16384, 1024, 128),
    "predictor MLP (B*T x 128 -> 512)": (256, 128, 512),
    "square 1024": (1024, 1024, 1024),
}


def matmul_peak(device: torch.device, seconds: float = 1.0) -> dict:
    """GFLOP/s of plain matmuls per precision and shape; the best of each precision is the peak."""
    out = {}
    for dtype in (torch.float32, torch.bfloat16):
        rows = {}
        for name, (m, k, n) in MATMUL_SHAPES.items():
            a, b = torch.randn(m, k, device=device, dtype=dtype), torch.randn(k, n, device=device, dtype=dtype)
            a @ b
            reps, tic = 0, time.perf_counter()
            while time.perf_counter() - tic < seconds / len(MATMUL_SHAPES):
                a @ b
                reps += 1
            sync(device)
            rows[name] = 2 * m * k * n * reps / (time.perf_counter() - tic) / 1e9
        out[str(dtype).split(".")[-1]] = {"gflops": rows, "peak_gflops": max(rows.values())}
    return out


# ------------------------------------------------------------------ training and planning
def time_train(cfg, episodes, steps: int, out) -> tuple[dict, torch.nn.Module]:
    trainer = Trainer(cfg, episodes, out, progress=False)
    tic = time.perf_counter()
    trainer.train_step()  # the first step pays torch.compile's compile time
    first = time.perf_counter() - tic
    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    flops = counter.get_total_flops()
    for _ in range(2):
        trainer.train_step()
    sync(trainer.device)
    tic = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync(trainer.device)
    dt = (time.perf_counter() - tic) / steps
    return {
        "device": str(trainer.device),
        "precision": trainer.precision,
        "compile": cfg.train.compile,
        "batch": cfg.train.batch_size,
        "threads": torch.get_num_threads(),
        "step_s": dt,
        "samples_per_s": cfg.train.batch_size / dt,
        "first_step_s": first,
        "flops_per_step": flops,
        "gflops_per_s": flops / dt / 1e9,
    }, trainer.model


@torch.no_grad()
def time_plan(model, cfg, episodes: int, repeats: int, precision: str, compile: bool = False) -> dict:
    """One batched plan (CEM over the preset's samples and horizon) for `episodes` episodes, as the
    planner runs it with plan.precision and plan.compile; FLOPs counted on an eager fp32 plan."""
    from dataclasses import replace

    device = next(model.parameters()).device
    model.eval()
    z = torch.randn(episodes, 1, cfg.model.latent_dim, device=device)
    zg = torch.randn(episodes, cfg.model.latent_dim, device=device)
    a0 = torch.zeros(episodes, 0, model.model_action_dim, device=device)
    with FlopCounterMode(display=False) as counter:
        make_planner(cfg.plan, cfg.model.action_dim, seed=0).plan(model, z, a0, zg)
    flops = counter.get_total_flops()
    planner = make_planner(replace(cfg.plan, precision=precision, compile=compile), cfg.model.action_dim, seed=0)
    tic = time.perf_counter()
    planner.plan(model, z, a0, zg)  # a compiled rollout compiles here
    sync(device)
    first = time.perf_counter() - tic
    tic = time.perf_counter()
    for _ in range(repeats):
        planner.plan(model, z, a0, zg)
    sync(device)
    dt = (time.perf_counter() - tic) / repeats
    p = cfg.plan
    return {
        "episodes": episodes,
        "precision": precision,
        "compile": compile,
        "first_call_s": first,
        "call_s": dt,
        "episode_plans_per_s": episodes / dt,
        "imagined_steps_per_s": episodes * p.samples * p.iterations * p.horizon / dt,
        "flops_per_call": flops,
        "gflops_per_s": flops / dt / 1e9,
    }


# ------------------------------------------------------------------ children: one setting per process
def child_step_time(extra: list[str], steps: int, batch: int) -> None:
    """Run in a fresh process: the two-room preset at this tree's defaults (plus the `extra` --set's),
    through the training loop itself (so that train.threads_follow_load's checks run as they do in
    training: soon after the start and at log steps); prints seconds per step as JSON."""
    sets = [
        f"train.batch_size={batch}",
        "train.steps=1000000",
        "train.checkpoint_every=1000000",
        "train.log_every=10",
    ] + list(extra)
    cfg = override(preset("two-room"), sets)
    episodes = synthetic_episodes(32, cfg.data.steps_per_episode, cfg.model.image_size, cfg.model.action_dim)
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(cfg, episodes, out, progress=False)
        trainer.run(until=5)
        tic = time.perf_counter()
        trainer.run(until=5 + steps)
        dt = (time.perf_counter() - tic) / steps
    print(
        json.dumps(
            {
                "step_s": dt,
                "samples_per_s": batch / dt,
                "threads": torch.get_num_threads(),
                "precision": getattr(trainer, "precision", cfg.train.precision),
            }
        )
    )


def run_child(sets: list[str], steps: int, batch: int, env: dict | None = None, src: str | None = None) -> dict:
    env = {**os.environ, **(env or {})}
    if src:  # another checkout's jepalab (today's tree, for --compare-src)
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, __file__, "--child-sets", json.dumps(sets), "--steps", str(steps), "--batch", str(batch)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"child failed ({src or 'this tree'}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def compare(src: str, rounds: int, steps: int, batch: int) -> dict:
    """Today's tree (src) and this one, alternated, each at its own defaults."""
    rows = []
    for r in range(rounds):
        old = run_child([], steps, batch, src=src)
        new = run_child([], steps, batch)
        rows.append(
            {
                "round": r,
                "today_samples_per_s": old["samples_per_s"],
                "new_samples_per_s": new["samples_per_s"],
                "ratio": new["samples_per_s"] / old["samples_per_s"],
                "new_precision": new["precision"],
            }
        )
        print(
            f"round {r}: today {old['samples_per_s']:.0f} samples/s, new {new['samples_per_s']:.0f} "
            f"({rows[-1]['ratio']:.2f}x)",
            file=sys.stderr,
            flush=True,
        )
    ratios = [row["ratio"] for row in rows]
    return {
        "benchmark": "throughput-compare",
        "today_src": src,
        "batch": batch,
        "steps": steps,
        "rounds": rows,
        "ratio_mean": float(np.mean(ratios)),
        "ratio_min": float(np.min(ratios)),
    }


UNDER_LOAD_SETTINGS = {  # name -> (--set's beside the preset, extra environment)
    "default (fixed: one thread per core, spinning waits)": ([], {}),
    "train.threads_follow_load=true (threads sized to the free cores)": (["train.threads_follow_load=true"], {}),
    "fixed, OMP_WAIT_POLICY=passive": ([], {"OMP_WAIT_POLICY": "passive"}),
    "1 thread": (["train.threads=1"], {}),
}
COMPETITORS = {  # name -> the command line of one single-threaded busy process beside training
    "alone": None,
    "nice19": ["nice", "-n", "19"],
    "nice0": [],
}


def under_load(steps: int, batch: int, only: list[str] | None = None) -> dict:
    rows = {}
    default = next(iter(UNDER_LOAD_SETTINGS))
    for name, (sets, env) in UNDER_LOAD_SETTINGS.items():
        if only and name not in only and name != default:
            continue
        row = {}
        for competitor_name, prefix in COMPETITORS.items():
            competitor = (
                subprocess.Popen(prefix + [sys.executable, "-c", "while True: pass"]) if prefix is not None else None
            )
            try:
                time.sleep(0.5)  # the competitor is running before training starts, as on a busy machine
                child = run_child(sets, steps, batch, env)
            finally:
                if competitor:
                    competitor.kill()
                    competitor.wait()
            row[f"{competitor_name}_step_s"], row[f"{competitor_name}_threads"] = child["step_s"], child["threads"]
        for competitor_name in list(COMPETITORS)[1:]:
            row[f"{competitor_name}_slowdown"] = row[f"{competitor_name}_step_s"] / row["alone_step_s"]
        rows[name] = row
        print(
            f"{name:<55} alone {row['alone_step_s']:.3f} s/step; beside a busy process at nice 19 "
            f"{row['nice19_step_s']:.3f} ({row['nice19_slowdown']:.2f}x), at nice 0 {row['nice0_step_s']:.3f} "
            f"({row['nice0_slowdown']:.2f}x, {row['nice0_threads']} threads at the end)",
            file=sys.stderr,
            flush=True,
        )
    base = rows[default]["alone_step_s"]
    for row in rows.values():
        for competitor_name in COMPETITORS:
            row[f"{competitor_name}_vs_default_alone"] = row[f"{competitor_name}_step_s"] / base
    return {
        "benchmark": "throughput-under-load",
        "cores": os.cpu_count(),
        "batch": batch,
        "steps": steps,
        "competitor": "one single-threaded busy loop (python), at nice 19 and at nice 0, started 0.5 s before",
        "settings": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per setting")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--out", default="runs/throughput", help="scratch run folder")
    ap.add_argument("--under-load", action="store_true", help="time thread settings alone and beside a busy process")
    ap.add_argument("--settings", help="under load: only these settings (names separated by ;) beside the default")
    ap.add_argument("--compare-src", help="today's checkout's src folder: time it and this tree alternately")
    ap.add_argument("--rounds", type=int, default=3, help="--compare-src: alternations")
    ap.add_argument(
        "--precision-rounds",
        type=int,
        help="only time fp32 and bf16 training steps, each in a fresh process, alternated this many rounds",
    )
    ap.add_argument("--child-sets", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_sets is not None:
        return child_step_time(json.loads(args.child_sets), args.steps, args.batch)
    if args.under_load:
        only = args.settings.split(";") if args.settings else None
        print(json.dumps(under_load(args.steps, args.batch, only), indent=2))
        return
    if args.precision_rounds:
        rows = [
            {"round": r, "precision": p, **run_child([f"train.precision={p}"], args.steps, args.batch)}
            for r in range(args.precision_rounds)
            for p in ("fp32", "bf16")
        ]
        step = {p: float(np.median([x["step_s"] for x in rows if x["precision"] == p])) for p in ("fp32", "bf16")}
        speedup = step["fp32"] / step["bf16"]
        print(json.dumps({"benchmark": "precision-step", "cpu": cpu_name(), "rows": rows, "bf16_speedup": speedup}))
        return
    if args.compare_src:
        print(json.dumps(compare(args.compare_src, args.rounds, args.steps, args.batch), indent=2))
        return
    base = override(
        preset("two-room"),
        [
            f"train.batch_size={args.batch}",
            "train.steps=1000000",
            "train.checkpoint_every=1000000",
            "train.log_every=1000000",
        ],
    )
    episodes = synthetic_episodes(64, base.data.steps_per_episode, base.model.image_size, base.model.action_dim)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device_name = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    peak = matmul_peak(device)
    for dtype, p in peak.items():
        print(f"matmul peak {dtype}: {p['peak_gflops']:.0f} GFLOP/s", flush=True)
    rows, model = [], None
    settings = [("fp32", False), ("bf16", False)] + ([("fp32", True), ("bf16", True)] if args.compile else [])
    for precision, compiled in settings:
        cfg = override(base, [f"train.precision={precision}", f"train.compile={compiled}"])
        row, model = time_train(cfg, episodes, args.steps, args.out)
        row["fraction_of_peak"] = (
            row["gflops_per_s"] / peak["bfloat16" if precision == "bf16" else "float32"]["peak_gflops"]
        )
        rows.append(row)
        print(
            f"train {precision} compile={compiled}: {row['samples_per_s']:.0f} samples/s, "
            f"{row['gflops_per_s']:.0f} GFLOP/s = {row['fraction_of_peak']:.0%} of the measured {precision} peak"
            + (f" (first step {row['first_step_s']:.1f} s)" if compiled else ""),
            flush=True,
        )
    plans = [
        time_plan(model, base, e, 3, p, c)
        for e in (1, 32)
        for p, c in (("fp32", False), ("bf16", False), ("fp32", True))
    ]
    for p in plans:
        print(
            f"plan {p['episodes']} episode(s) {p['precision']} compile={p['compile']}: {p['call_s'] * 1000:.1f} ms "
            f"per call (first {p['first_call_s']:.1f} s), {p['imagined_steps_per_s']:.0f} imagined steps/s",
            flush=True,
        )
    from jepalab.runtime import resolve_precision

    print(
        json.dumps(
            {
                "benchmark": "throughput",
                "device": device_name,
                "threads": torch.get_num_threads(),
                "default_precision": resolve_precision("auto", device),
                "matmul_peak": peak,
                "train": rows,
                "plan": plans,
                "bf16_speedup": rows[1]["samples_per_s"] / rows[0]["samples_per_s"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
