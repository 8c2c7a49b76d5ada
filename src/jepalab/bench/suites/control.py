"""control: goal-reaching success of MPC in the world the model was trained in (the world's own random
targets), beside the same planner on the untrained model, random actions and zero actions (noop); on
the first seed also success against the planning budget and the trajectories. control-dataset: the
same on the anchors' protocol (evals/dataset_goals.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..manifest import sha256_arrays
from .common import BenchOptions, _seeded, world_facts


class ControlSuite:
    name = "control"

    def __init__(self, model, cfg, options: BenchOptions, progress: bool = True):
        self.model, self.cfg, self.progress = model, cfg, progress
        episodes = options.episodes or cfg.plan.episodes
        self.plan = replace(cfg.plan, episodes=episodes)
        self.budgets = options.budgets
        self.seed(0)  # refuse at once what the first seed would refuse

    def seed(self, s: int) -> int:
        """First episode seed of evaluation seed s; never one that collected training episodes."""
        lo, d = self.plan.seed + 1000 * s, self.cfg.data
        if lo < d.seed + d.episodes and d.seed < lo + self.plan.episodes:
            raise ValueError(
                f"control: evaluation seeds {lo}..{lo + self.plan.episodes - 1} overlap the training "
                f"episodes' seeds {d.seed}..{d.seed + d.episodes - 1}; set plan.seed beyond them"
            )
        return lo

    def options(self) -> dict:
        return {
            "world": self.cfg.data.world,
            "plan": vars(self.plan),
            "budgets": list(self.budgets),
            **world_facts(self.cfg.data.world),
        }

    def fingerprint(self, s: int) -> dict:
        from ...evals.control import reset_envs

        _, obs, infos = reset_envs(
            self.cfg.data.world, self.plan, self.plan.episodes, self.seed(s), {"image_size": self.cfg.model.image_size}
        )  # the episodes run() plans in
        digest = sha256_arrays(
            *[o["pixels"] for o in obs], *[i["goal"] for i in infos], *[np.asarray(i["goal_proprio"]) for i in infos]
        )
        return {
            "world": self.cfg.data.world,
            "episode_seeds": [self.seed(s), self.seed(s) + self.plan.episodes - 1],
            "sha256": digest,
        }

    def _control(self, plan, model, policy: str, s: int, label: str | None = None):
        from ...evals.control import run_control

        return run_control(
            self.cfg.data.world, plan, model, policy, seed=self.seed(s), progress=self.progress, label=label
        )

    def run(self, s: int, plots) -> tuple[dict, dict]:
        from ...evals.intuitive_physics import untrained_twin
        from ...plots import plot_trajectories

        world = self.cfg.data.world
        _seeded(self.cfg.train.seed)
        results = {
            "trained": self._control(self.plan, self.model, "planner", s),
            "untrained": self._control(
                self.plan,
                untrained_twin(self.model, self.cfg.train.seed),
                "planner",
                s,
                label="untrained planner (baseline)",
            ),
            "random": self._control(self.plan, None, "random", s),
            "noop": self._control(self.plan, None, "noop", s),
        }
        results["trained"].policy, results["untrained"].policy = "planner", "untrained"
        # a world with several success tests (push: anchors, strict) reports each beside the one it is run with
        metrics = {
            name: {
                "success_rate": r.success_rate,
                "mean_final_distance": float(r.final_distance.mean()),
                "mean_steps": float(r.steps.mean()),
                **{f"{test}_success_rate": float(met.mean()) for test, met in r.success_tests.items()},
            }
            for name, r in results.items()
        }
        extra = {
            "seconds_per_step": results["trained"].seconds_per_step,  # timings vary: kept out of the metrics
            "episodes": {name: len(r.steps) for name, r in results.items()},
        }  # for the pooled interval
        if plots is not None:  # first seed: the budget sweep and the trajectories
            sweep = []
            for f in self.budgets:
                samples = max(self.plan.elites + 1, round(self.plan.samples * f))
                r = (
                    results["trained"]
                    if samples == self.plan.samples
                    else self._control(replace(self.plan, samples=samples), self.model, "planner", s)
                )
                sweep.append(
                    {
                        "samples": samples,
                        "success_rate": r.success_rate,
                        "episodes": len(r.steps),
                        "seconds_per_step": r.seconds_per_step,
                    }
                )
            extra["budget_sweep"] = sweep
            from ...worlds import make

            env = make(world)
            if hasattr(env.unwrapped, "render_background"):  # a map that proprio's first two numbers are places on
                plot_trajectories(
                    env.unwrapped.render_background(),
                    list(results.values()),
                    plots / f"{self.name}_trajectories.png",
                    block_parts=getattr(env.unwrapped, "parts", None),  # a push world: its block's shape
                )
            env.close()
            _plot_budget(sweep, metrics, plots / f"{self.name}_budget.png")
        return metrics, extra


class DatasetControlSuite(ControlSuite):
    """The anchors' protocol (evals/dataset_goals.py): start from a state of a held-out expert
    trajectory, the goal is its state `goal_offset` steps later, `budget` environment steps."""

    name = "control-dataset"

    def __init__(self, model, cfg, options: BenchOptions, progress: bool = True):
        self.offset, self.budget, self.expert = options.goal_offset, options.budget, options.dataset_expert
        self._starts: dict[int, list] = {}
        super().__init__(model, cfg, options, progress)
        self.plan = replace(self.plan, max_steps=self.budget)

    def seed(self, s: int) -> int:
        """First expert trajectory seed of evaluation seed s; never one that collected training episodes."""
        lo, d, n = 700_000 + 10_000 * s, self.cfg.data, self.plan.episodes
        if lo < d.seed + d.episodes and d.seed < lo + n:
            raise ValueError(
                f"control-dataset: trajectory seeds {lo}..{lo + n - 1} overlap the training episodes' "
                f"seeds {d.seed}..{d.seed + d.episodes - 1}"
            )
        return lo

    def options(self) -> dict:
        return {
            **super().options(),
            "protocol": "dataset",
            "goal_offset": self.offset,
            "budget": self.budget,
            "trajectory": f"{world_facts(self.cfg.data.world, trajectory=True)['trajectory']}, "
            "100 steps (or 2 x goal_offset)",
            **({"expert": "pose (turns the block to each target's angle)"} if self.expert == "pose" else {}),
        }

    def starts(self, s: int) -> list:
        from ...evals.dataset_goals import dataset_starts

        if s not in self._starts:
            self._starts[s] = dataset_starts(
                self.cfg.data.world,
                self.plan.episodes,
                self.seed(s),
                self.offset,
                max(100, 2 * self.offset),
                {"image_size": self.cfg.model.image_size},
                self.expert,
            )
        return self._starts[s]

    def _control(self, plan, model, policy: str, s: int, label: str | None = None):
        from ...evals.control import run_control

        return run_control(
            self.cfg.data.world, plan, model, policy, progress=self.progress, starts=self.starts(s), label=label
        )

    def fingerprint(self, s: int) -> dict:
        starts = self.starts(s)
        return {
            "world": self.cfg.data.world,
            "trajectory_seeds": [self.seed(s), self.seed(s) + len(starts) - 1],
            "start_steps": [g.t for g in starts],
            "sha256": sha256_arrays(*[a for g in starts for a in (g.start, g.goal)]),
        }


def _plot_budget(sweep: list[dict], metrics: dict, path) -> None:
    """Success against the budget, each point with its Wilson interval over the seed's episodes."""
    from ...plots import pyplot
    from ..stats import wilson

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    rates = [r["success_rate"] for r in sweep]
    bounds = [wilson(round(r["success_rate"] * r["episodes"]), r["episodes"]) for r in sweep]
    errors = [[rate - lo for rate, (lo, _) in zip(rates, bounds)], [hi - rate for rate, (_, hi) in zip(rates, bounds)]]
    ax.errorbar(
        [r["samples"] for r in sweep], rates, yerr=errors, fmt="o-", capsize=3, label="trained + planner (95 % Wilson)"
    )
    for name, style in (("untrained", "--"), ("random", ":")):
        ax.axhline(
            metrics[name]["success_rate"],
            ls=style,
            color="grey",
            label=f"{name} (full budget)" if name == "untrained" else name,
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("planning budget: candidates per iteration")
    ax.set_ylabel("success rate")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
