"""Benchmark: jepalab on stable-worldmodel's own envs (swm/TwoRoom-v1, swm/PushT-v1), when installed.

    python -m venv .venv-swm && .venv-swm/bin/pip install stable-worldmodel -e .   # brings its own torch
    .venv-swm/bin/python benchmarks/swm_envs.py --out runs/swm --episodes 1000 --steps 2000

For each env: `jepalab collect --env gymnasium:stable_worldmodel:ID` (held random exploration), train
with the two-room preset's model at the env's action size, then `jepalab bench --protocol random`:
the env's own goals and success test, read from its info (worlds/gym_env.py `_env_goal`), beside
the untrained model, random and zero actions. The dataset protocol needs recorded states and a
scripted expert, which jepalab has only for its own worlds, so it is not run here. Prints one JSON
object. Without stable-worldmodel it says so and exits 2: nothing here is measured on a machine
without it (this project's CI machines have no network access to install it).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ENVS = ("swm/TwoRoom-v1", "swm/PushT-v1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/swm")
    ap.add_argument("--episodes", type=int, default=1000, help="collected episodes per env")
    ap.add_argument("--steps", type=int, default=2000, help="training steps per env")
    ap.add_argument("--eval-episodes", type=int, default=50)
    args = ap.parse_args()
    if importlib.util.find_spec("stable_worldmodel") is None:
        print("stable-worldmodel is not installed in this environment; see this script's docstring", file=sys.stderr)
        return 2
    from jepalab.bench import BenchOptions, bench
    from jepalab.config import override, preset
    from jepalab.data.collect import collect
    from jepalab.train import train
    summary = {}
    for env_id in ENVS:
        world = f"gymnasium:stable_worldmodel:{env_id}"
        run = Path(args.out) / env_id.replace("/", "_")
        store = collect(world, args.episodes, 64, run / "data")
        A = store.meta()["action_dim"]
        cfg = override(preset("two-room"), [f"data.world={world}", f"model.action_dim={A}", f"train.steps={args.steps}",
                                            "plan.seed=500000"])
        train(cfg, store.load_all(), run, resume=True)
        res = bench(run, run / "results", suites=["control"], options=BenchOptions(episodes=args.eval_episodes),
                    command="python benchmarks/swm_envs.py " + " ".join(sys.argv[1:]))
        summary[env_id] = {
            m: round(v["success_rate"]["mean"], 3) for m, v in res["suites"]["control"]["models"].items()
        }
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
