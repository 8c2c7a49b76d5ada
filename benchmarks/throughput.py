"""Benchmark: training and planning throughput, and model FLOP utilisation, on whatever device is here.

    python benchmarks/throughput.py                       # CPU, or the GPU if there is one
    python benchmarks/throughput.py --compile --peak-tflops 989   # + torch.compile; MFU against a known peak

Train: the two-room preset's world model on synthetic episodes (random frames and actions: the
arithmetic is what is measured), `--steps` timed steps after warm-up, fp32 and bf16 autocast in one
run (and torch.compile when asked). Plan: one CEM call for 1 and for 32 episodes at once. FLOPs
per step come from torch.utils.flop_counter; MFU = achieved FLOP/s / peak, printed when the peak is
known (a table of common GPUs, or --peak-tflops). Prints one JSON object.

    python benchmarks/throughput.py --under-load          # CPU: thread settings alone and beside a competitor

Under load: each thread setting (train.threads, OMP_WAIT_POLICY, GOMP_SPINCOUNT; they must be set
before torch starts its thread pool, so each runs in a fresh process) is timed alone and beside one
single-threaded busy process at the lowest priority (nice 19), as a user's machine always runs
something else. Reports seconds per step for both and the slow-down ratio per setting.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from jepalab.config import override, preset
from jepalab.data.store import Episode
from jepalab.planning import make_planner
from jepalab.train import Trainer

PEAK_TFLOPS_BF16 = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "A10": 125.0, "4090": 165.0}


def synthetic_episodes(n: int, steps: int, size: int, action_dim: int, seed: int = 0) -> list[Episode]:
    rng = np.random.default_rng(seed)
    return [Episode(rng.integers(0, 256, (steps + 1, size, size, 3), dtype=np.uint8),
                    rng.uniform(-1, 1, (steps, action_dim)).astype(np.float32),
                    rng.uniform(0, 1, (steps + 1, 2)).astype(np.float32)) for _ in range(n)]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_train(cfg, episodes, steps: int, out) -> dict:
    trainer = Trainer(cfg, episodes, out, progress=False)
    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    flops = counter.get_total_flops()
    for _ in range(3):
        trainer.train_step()
    sync(trainer.device)
    tic = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    sync(trainer.device)
    dt = (time.perf_counter() - tic) / steps
    return {"device": str(trainer.device), "precision": cfg.train.precision, "compile": cfg.train.compile,
            "batch": cfg.train.batch_size, "step_s": dt, "samples_per_s": cfg.train.batch_size / dt,
            "flops_per_step": flops, "tflops_per_s": flops / dt / 1e12}, trainer.model


@torch.no_grad()
def time_plan(model, cfg, episodes: int, repeats: int) -> dict:
    device = next(model.parameters()).device
    model.eval()
    planner = make_planner(cfg.plan, cfg.model.action_dim, seed=0)
    z = torch.randn(episodes, 1, cfg.model.latent_dim, device=device)
    zg = torch.randn(episodes, cfg.model.latent_dim, device=device)
    a0 = torch.zeros(episodes, 0, model.model_action_dim, device=device)
    with FlopCounterMode(display=False) as counter:
        planner.plan(model, z, a0, zg)
    flops = counter.get_total_flops()
    sync(device)
    tic = time.perf_counter()
    for _ in range(repeats):
        planner.plan(model, z, a0, zg)
    sync(device)
    dt = (time.perf_counter() - tic) / repeats
    p = cfg.plan
    return {"episodes": episodes, "call_s": dt, "episode_plans_per_s": episodes / dt,
            "imagined_steps_per_s": episodes * p.samples * p.iterations * p.horizon / dt,
            "flops_per_call": flops, "tflops_per_s": flops / dt / 1e12}


UNDER_LOAD_SETTINGS = {  # name -> (train.threads, extra environment)
    "threads=all": (0, {}),
    "threads=all, OMP_WAIT_POLICY=passive": (0, {"OMP_WAIT_POLICY": "passive"}),
    "threads=all, GOMP_SPINCOUNT=10000": (0, {"GOMP_SPINCOUNT": "10000"}),
    "threads=1": (1, {}),
}


def child_step_time(threads: int, steps: int, batch: int, out: str) -> None:
    """Run in a fresh process by under_load(): prints seconds per training step as JSON."""
    cfg = override(preset("two-room"), [f"train.batch_size={batch}", "train.steps=1000000", f"train.threads={threads}",
                                        "train.checkpoint_every=1000000", "train.log_every=1000000"])
    episodes = synthetic_episodes(32, cfg.data.steps_per_episode, cfg.model.image_size, cfg.model.action_dim)
    trainer = Trainer(cfg, episodes, out, progress=False)
    for _ in range(3):
        trainer.train_step()
    tic = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    print(json.dumps({"step_s": (time.perf_counter() - tic) / steps, "threads": torch.get_num_threads()}))


COMPETITORS = {  # name -> the command line of one single-threaded busy process beside training
    "alone": None,
    "nice19": ["nice", "-n", "19"],
    "nice0": [],
}


def under_load(steps: int, batch: int, out: str, only: list[str] | None = None) -> dict:
    import os
    import subprocess
    import sys
    rows = {}
    for name, (threads, env) in UNDER_LOAD_SETTINGS.items():
        if only and name not in only and name != "threads=all":
            continue
        row = {}
        for competitor_name, prefix in COMPETITORS.items():
            competitor = (subprocess.Popen(prefix + [sys.executable, "-c", "while True: pass"])
                          if prefix is not None else None)
            try:
                done = subprocess.run([sys.executable, __file__, "--child-threads", str(threads), "--steps", str(steps),
                                       "--batch", str(batch), "--out", out], env={**os.environ, **env},
                                      capture_output=True, text=True, check=True)
            finally:
                if competitor:
                    competitor.kill()
                    competitor.wait()
            row[f"{competitor_name}_step_s"] = json.loads(done.stdout.splitlines()[-1])["step_s"]
        for competitor_name in list(COMPETITORS)[1:]:
            row[f"{competitor_name}_slowdown"] = row[f"{competitor_name}_step_s"] / row["alone_step_s"]
        rows[name] = row
        print(f"{name:<38} alone {row['alone_step_s']:.3f} s/step; beside a busy process at nice 19 "
              f"{row['nice19_step_s']:.3f} ({row['nice19_slowdown']:.2f}x), at nice 0 {row['nice0_step_s']:.3f} "
              f"({row['nice0_slowdown']:.2f}x)", file=sys.stderr, flush=True)
    base = rows["threads=all"]["alone_step_s"]
    for row in rows.values():
        for competitor_name in COMPETITORS:
            row[f"{competitor_name}_vs_default_alone"] = row[f"{competitor_name}_step_s"] / base
    return {"benchmark": "throughput-under-load", "cores": os.cpu_count(), "batch": batch, "steps": steps,
            "competitor": "one single-threaded busy loop (python), at nice 19 and at nice 0", "settings": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="timed training steps per setting")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile")
    ap.add_argument("--peak-tflops", type=float, help="the device's peak (bf16 for GPUs) for MFU")
    ap.add_argument("--out", default="runs/throughput", help="scratch run folder")
    ap.add_argument("--under-load", action="store_true", help="time thread settings alone and beside a busy process")
    ap.add_argument("--settings", help="under load: only these settings (names separated by ;) beside the default")
    ap.add_argument("--child-threads", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_threads is not None:
        return child_step_time(args.child_threads, args.steps, args.batch, args.out)
    if args.under_load:
        only = args.settings.split(";") if args.settings else None
        print(json.dumps(under_load(args.steps, args.batch, args.out, only), indent=2))
        return
    base = override(preset("two-room"), [f"train.batch_size={args.batch}", "train.steps=1000000",
                                         "train.checkpoint_every=1000000", "train.log_every=1000000"])
    episodes = synthetic_episodes(64, base.data.steps_per_episode, base.model.image_size, base.model.action_dim)
    device_name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS_BF16.items() if k in device_name), None)
    rows, model = [], None
    settings = [("fp32", False), ("bf16", False)] + ([("fp32", True), ("bf16", True)] if args.compile else [])
    for precision, compiled in settings:
        cfg = override(base, [f"train.precision={precision}", f"train.compile={compiled}"])
        row, model = time_train(cfg, episodes, args.steps, args.out)
        if peak:
            row["mfu"] = row["tflops_per_s"] / peak
        rows.append(row)
        print(f"train {precision} compile={compiled}: {row['samples_per_s']:.0f} samples/s, "
              f"{row['tflops_per_s']:.3f} TFLOP/s" + (f", MFU {row['mfu']:.1%}" if peak else ""), flush=True)
    plans = [time_plan(model, base, e, repeats=3) for e in (1, 32)]
    for p in plans:
        print(f"plan {p['episodes']} episode(s): {p['call_s'] * 1000:.1f} ms per call, "
              f"{p['imagined_steps_per_s']:.0f} imagined steps/s", flush=True)
    print(json.dumps({"benchmark": "throughput", "device": device_name, "threads": torch.get_num_threads(),
                      "peak_tflops": peak, "train": rows, "plan": plans,
                      "bf16_speedup": rows[1]["samples_per_s"] / rows[0]["samples_per_s"]}, indent=2))


if __name__ == "__main__":
    main()
