"""Benchmark: jepalab on stable-worldmodel's own envs (swm/TwoRoom-v1, swm/PushT-v1), through the plain
`gymnasium:stable_worldmodel:ID` path, with no glue per env.

stable-worldmodel installs from the package registry into a venv of its own (it brings its own torch,
about 3.4 GB; the `[env]` extra brings cv2 and imageio, without which it does not import). It runs on
a CPU: hide any GPU with CUDA_VISIBLE_DEVICES= so that its CUDA build of torch stays on the CPU.

    python -m venv .venv-swm && .venv-swm/bin/pip install 'stable-worldmodel[env]' -e .
    CUDA_VISIBLE_DEVICES= .venv-swm/bin/python benchmarks/swm_envs.py --out runs/swm --results benchmarks/results/swm

For each env, before anything is collected, the adapter is asked whether the env shows a goal jepalab
can plan to and how its success is decided (worlds/env_goals.py: swm/TwoRoom-v1's goal image is
rendered from its goal_state, swm/PushT-v1 draws its own; success is the env's termination, as
stable-worldmodel's own evaluation counts it) and whether episodes can start from recorded states
(the dataset protocol): an env that cannot be planned in is refused in seconds, saying what it lacks.
Then: `collect` (held random exploration: stable-worldmodel's experts are its own code, not the env's),
train with the preset named per env (the two-room preset for TwoRoom, push-t's for PushT) at the env's
action size, and `bench` both protocols: the env's own random goals (`control`) and the anchors'
dataset protocol (`control-dataset`: goal 25 steps ahead on held-out trajectories, budget 50), each
beside the untrained model, random and zero actions in the same run. The manifest records the
installed versions of stable-worldmodel, gymnasium and torch. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

# env -> (preset, settings over it); the recipes jepalab uses for its own two-room and Push-T. swm's
# two rooms are 224 px wide with a door the agent must find: a goal in the other room lies further than
# the preset's 6-step plan reaches (50 held-out episodes on one model, budget 100: horizon 6 and 128
# samples 0.78, of which 0.57 across the door; horizon 10 with 256 samples 0.88; horizon 12 with 256
# samples 0.96, 0.91 across the door, 0.22 s a step on one core)
ENVS = {
    "swm/TwoRoom-v1": ("two-room", ["plan.horizon=12", "plan.samples=256"]),
    "swm/PushT-v1": ("push-t", ["data.policy=random"]),
}


def check(world: str, cfg) -> dict:
    """The suites' verdicts for this env, before any collection; exits 2 where none can plan."""
    from jepalab.bench.suites import applicable, world_facts

    reasons = applicable("world", cfg)
    if reasons["control"] is not None:
        print(f"{world}: cannot be planned in: {reasons['control']}", file=sys.stderr)
        sys.exit(2)
    return {"success": world_facts(world)["success"], "dataset_protocol": reasons["control-dataset"] or "yes"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/swm", help="run folders (data and checkpoints), one per env")
    ap.add_argument("--results", default="benchmarks/results/swm", help="bench folders, one per env")
    ap.add_argument("--envs", default=",".join(ENVS), help="comma-separated stable-worldmodel env ids")
    ap.add_argument("--episodes", type=int, default=1000, help="collected episodes per env")
    ap.add_argument("--steps", type=int, help="training steps per env (default: the preset's)")
    ap.add_argument("--eval-episodes", type=int, default=50)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--check-only", action="store_true", help="only say whether each env can be planned in")
    args = ap.parse_args()
    if importlib.util.find_spec("stable_worldmodel") is None:
        print("stable-worldmodel is not installed in this environment; see this script's docstring", file=sys.stderr)
        return 2
    from importlib import metadata

    from jepalab.bench import BenchOptions, bench
    from jepalab.config import override, preset
    from jepalab.data.collect import collect
    from jepalab.training.train import train

    summary = {"stable-worldmodel": metadata.version("stable-worldmodel"), "envs": {}}
    for env_id in args.envs.split(","):
        name, sets = ENVS.get(env_id, ("two-room", []))
        world = f"gymnasium:stable_worldmodel:{env_id}"
        run, results = Path(args.out) / env_id.replace("/", "_"), Path(args.results) / env_id.replace("/", "_")
        cfg = override(
            preset(name),
            [
                f"data.world={world}",
                f"data.episodes={args.episodes}",
                *sets,
                *([f"train.steps={args.steps}"] if args.steps else []),
                "plan.seed=500000",
            ],
        )
        facts = check(world, cfg)
        print(
            f"{env_id}: success is {facts['success']}; dataset protocol: {facts['dataset_protocol']}",
            file=sys.stderr,
            flush=True,
        )
        if args.check_only:
            summary["envs"][env_id] = facts
            continue
        tic = time.perf_counter()
        store = collect(
            world,
            cfg.data.episodes,
            cfg.data.steps_per_episode,
            run / "data",
            policy=cfg.data.policy,
            image_size=cfg.model.image_size,
        )
        collect_s = time.perf_counter() - tic
        cfg = override(cfg, [f"model.action_dim={store.meta()['action_dim']}"])
        _, trained = train(cfg, store.load_all(), run, resume=True)
        protocols = ["control"] + (["control-dataset"] if facts["dataset_protocol"] == "yes" else [])
        res = bench(
            run,
            results,
            suites=protocols,
            seeds=args.seeds,
            options=BenchOptions(episodes=args.eval_episodes),
            sets=[s for s in sets if s.startswith("plan.")] + ["plan.seed=500000"],
            command="python benchmarks/swm_envs.py " + " ".join(sys.argv[1:]),
        )
        summary["envs"][env_id] = {
            **facts,
            "preset": name,
            "collect_seconds": round(collect_s),
            "train_seconds": trained.get("train_seconds"),
            **{
                suite: {m: round(v["success_rate"]["mean"], 3) for m, v in res["suites"][suite]["models"].items()}
                for suite in protocols
            },
        }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
