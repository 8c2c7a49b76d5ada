"""The suites `jepalab bench` runs on one checkpoint, each with its baselines in the same run.

- control: goal-reaching success of MPC in the world the model was trained in (the world's own random
  targets), beside the same planner on the untrained model, random actions and zero actions (noop);
  on the first seed also success against the planning budget (candidates per iteration) and the
  trajectories.
- control-dataset: the same, on the anchors' protocol (evals/dataset_goals.py): start states and
  goals `goal_offset` steps apart on held-out expert trajectories, a budget of environment steps.
- physics: the violation-of-expectation suite (evals/physics_suite.py), the trained model beside
  its untrained twin and a pixel-space predictor.
- probe: what the latent knows. A video model: frozen-feature probes of position, velocity and count
  (evals/physics_probe.py); an action-conditioned model: a linear probe of the world's state
  (proprio) from the latent, on fresh episodes.

Evaluation seed index s maps to data seeds no training run reaches (see each `*_seed`), and the same
s always gives the same data. Each suite's `fingerprint(s)` re-creates its data for `--verify`.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, replace

import numpy as np
import torch

from .manifest import sha256_arrays

SUITES = ("control", "control-dataset", "physics", "physics-alt", "probe")
PROTOCOLS = {"random": ("control",), "dataset": ("control-dataset",), "both": ("control", "control-dataset")}


@dataclass
class BenchOptions:
    episodes: int | None = None  # control episodes per seed (None: the checkpoint's plan.episodes)
    budgets: tuple = (0.125, 0.25, 0.5, 1.0)  # control: planning budget sweep, as fractions of plan.samples
    pairs: int = 100  # physics: pairs per category per seed
    pixel_steps: int = 400  # physics: training steps of the pixel-space predictor
    probe_clips: int = 256  # probe (video model): training clips per task
    probe_steps: int = 400  # probe (video model): attentive probe steps
    probe_episodes: int = 40  # probe (world model): episodes to fit on (and half as many to test on)
    goal_offset: int = 25  # control-dataset: the goal is the expert trajectory's state this many steps on
    budget: int = 50  # control-dataset: environment steps allowed per episode


def applicable(kind: str, cfg) -> dict[str, str | None]:
    """suite -> None if it applies to this checkpoint, else why not."""
    from ..worlds import PASSIVE, WORLDS
    from ..worlds.gym_env import PREFIX
    world = None if kind == "video" else cfg.data.world
    gym_lacks = _gym_goal_support(world) if (world or "").startswith(PREFIX) else None
    with_goals = (world in WORLDS and world not in PASSIVE) or ((world or "").startswith(PREFIX) and not gym_lacks)
    return {
        "control-dataset": _dataset_protocol_reason(world, kind),
        "control": None if with_goals else
        (f"{world!r} shows no goal jepalab can plan to: {gym_lacks} (jepalab's own tasks: worlds/gym_tasks.py)"
         if (world or "").startswith(PREFIX) else
         ("a video-pretrained model has no actions to plan with" if kind == "video"
          else f"{world!r} is a passive world: there is nothing to control")),
        "physics": None if kind == "video" or world == "bounce" else
        f"the suite is made of bounce clips; this model was trained on {world!r}",
        "physics-alt": None if kind == "video" or world == "bounce" else
        f"the suite shows passive scenes like bounce's; this model was trained on {world!r}",
        "probe": None,
    }


def _gym_goal_support(world: str) -> str | None:
    """None when a gymnasium env shows goals jepalab can plan to, else what it lacks."""
    from ..worlds import make
    from ..worlds.gym_env import PREFIX, task_for
    if task_for(world[len(PREFIX):].split(":")[-1]) is not None:
        return None
    env = make(world, max_steps=2)
    try:
        return env.unwrapped.goal_support()
    finally:
        env.close()


def world_facts(world: str, trajectory: bool = False) -> dict:
    """For a gymnasium env: how success is decided ("success") and, with trajectory=True, what records
    the dataset protocol's trajectories ("trajectory"); {} for a built-in world (its docs say)."""
    from ..worlds import make
    from ..worlds.gym_env import PREFIX
    if not world.startswith(PREFIX):
        return {"trajectory": "noisy-expert"} if trajectory else {}
    from ..evals.dataset_goals import trajectory_policy
    env = make(world, max_steps=2)
    try:
        env.reset(seed=0)
        facts = {"success": env.unwrapped.success_rule}
        if trajectory:
            facts["trajectory"] = trajectory_policy(env)
        return facts
    finally:
        env.close()


def _dataset_protocol_reason(world, kind: str) -> str | None:
    """None when the world can replay recorded states and has a scripted expert, else why not."""
    if kind == "video":
        return "a video-pretrained model has no actions to plan with"
    if world in (None, "bounce"):
        return f"{world!r} is a passive world: there is nothing to control"
    from ..evals.dataset_goals import _require_protocol
    from ..worlds import make
    try:
        env = make(world, max_steps=2)
    except Exception as e:  # noqa: BLE001 - a world that cannot be made here is a reason, said as such
        return f"{world!r} cannot be made here ({e})"
    try:
        _require_protocol(env, world)
        return None
    except ValueError as e:
        return str(e)
    finally:
        env.close()


def _seeded(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


# ---------------------------------------------------------------- control
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
            raise ValueError(f"control: evaluation seeds {lo}..{lo + self.plan.episodes - 1} overlap the training "
                             f"episodes' seeds {d.seed}..{d.seed + d.episodes - 1}; set plan.seed beyond them")
        return lo

    def options(self) -> dict:
        return {"world": self.cfg.data.world, "plan": vars(self.plan), "budgets": list(self.budgets),
                **world_facts(self.cfg.data.world)}

    def fingerprint(self, s: int) -> dict:
        from ..evals.control import reset_envs
        _, obs, infos = reset_envs(self.cfg.data.world, self.plan, self.plan.episodes, self.seed(s),
                                   {"image_size": self.cfg.model.image_size})  # the episodes run() plans in
        digest = sha256_arrays(*[o["pixels"] for o in obs], *[i["goal"] for i in infos],
                               *[np.asarray(i["goal_proprio"]) for i in infos])
        return {"world": self.cfg.data.world, "episode_seeds": [self.seed(s), self.seed(s) + self.plan.episodes - 1],
                "sha256": digest}

    def _control(self, plan, model, policy: str, s: int, label: str | None = None):
        from ..evals.control import run_control
        return run_control(self.cfg.data.world, plan, model, policy, seed=self.seed(s), progress=self.progress,
                           label=label)

    def run(self, s: int, plots) -> tuple[dict, dict]:
        from ..evals.intuitive_physics import untrained_twin
        from ..plots import plot_trajectories
        world = self.cfg.data.world
        _seeded(self.cfg.train.seed)
        results = {"trained": self._control(self.plan, self.model, "planner", s),
                   "untrained": self._control(self.plan, untrained_twin(self.model, self.cfg.train.seed), "planner", s,
                                              label="untrained planner (baseline)"),
                   "random": self._control(self.plan, None, "random", s),
                   "noop": self._control(self.plan, None, "noop", s)}
        results["trained"].policy, results["untrained"].policy = "planner", "untrained"
        # a world with several success tests (push: anchors, strict) reports each beside the one it is run with
        metrics = {name: {"success_rate": r.success_rate, "mean_final_distance": float(r.final_distance.mean()),
                          "mean_steps": float(r.steps.mean()),
                          **{f"{test}_success_rate": float(met.mean()) for test, met in r.success_tests.items()}}
                   for name, r in results.items()}
        extra = {"seconds_per_step": results["trained"].seconds_per_step,  # timings vary: kept out of the metrics
                 "episodes": {name: len(r.steps) for name, r in results.items()}}  # for the pooled interval
        if plots is not None:  # first seed: the budget sweep and the trajectories
            sweep = []
            for f in self.budgets:
                samples = max(self.plan.elites + 1, round(self.plan.samples * f))
                r = results["trained"] if samples == self.plan.samples else self._control(
                    replace(self.plan, samples=samples), self.model, "planner", s)
                sweep.append({"samples": samples, "success_rate": r.success_rate, "episodes": len(r.steps),
                              "seconds_per_step": r.seconds_per_step})
            extra["budget_sweep"] = sweep
            from ..worlds import make
            env = make(world)
            if hasattr(env.unwrapped, "render_background"):  # a map that proprio's first two numbers are places on
                plot_trajectories(env.unwrapped.render_background(), list(results.values()),
                                  plots / f"{self.name}_trajectories.png")
            env.close()
            _plot_budget(sweep, metrics, plots / f"{self.name}_budget.png")
        return metrics, extra


class DatasetControlSuite(ControlSuite):
    """The anchors' protocol (evals/dataset_goals.py): start from a state of a held-out expert
    trajectory, the goal is its state `goal_offset` steps later, `budget` environment steps."""
    name = "control-dataset"

    def __init__(self, model, cfg, options: BenchOptions, progress: bool = True):
        self.offset, self.budget = options.goal_offset, options.budget
        self._starts: dict[int, list] = {}
        super().__init__(model, cfg, options, progress)
        self.plan = replace(self.plan, max_steps=self.budget)

    def seed(self, s: int) -> int:
        """First expert trajectory seed of evaluation seed s; never one that collected training episodes."""
        lo, d, n = 700_000 + 10_000 * s, self.cfg.data, self.plan.episodes
        if lo < d.seed + d.episodes and d.seed < lo + n:
            raise ValueError(f"control-dataset: trajectory seeds {lo}..{lo + n - 1} overlap the training episodes' "
                             f"seeds {d.seed}..{d.seed + d.episodes - 1}")
        return lo

    def options(self) -> dict:
        return {**super().options(), "protocol": "dataset", "goal_offset": self.offset, "budget": self.budget,
                "trajectory": f"{world_facts(self.cfg.data.world, trajectory=True)['trajectory']}, "
                              "100 steps (or 2 x goal_offset)"}

    def starts(self, s: int) -> list:
        from ..evals.dataset_goals import dataset_starts
        if s not in self._starts:
            self._starts[s] = dataset_starts(self.cfg.data.world, self.plan.episodes, self.seed(s), self.offset,
                                             max(100, 2 * self.offset), {"image_size": self.cfg.model.image_size})
        return self._starts[s]

    def _control(self, plan, model, policy: str, s: int, label: str | None = None):
        from ..evals.control import run_control
        return run_control(self.cfg.data.world, plan, model, policy, progress=self.progress, starts=self.starts(s),
                           label=label)

    def fingerprint(self, s: int) -> dict:
        starts = self.starts(s)
        return {"world": self.cfg.data.world, "trajectory_seeds": [self.seed(s), self.seed(s) + len(starts) - 1],
                "start_steps": [g.t for g in starts],
                "sha256": sha256_arrays(*[a for g in starts for a in (g.start, g.goal)])}


def _plot_budget(sweep: list[dict], metrics: dict, path) -> None:
    """Success against the budget, each point with its Wilson interval over the seed's episodes."""
    from ..plots import pyplot
    from .stats import wilson
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.4))
    rates = [r["success_rate"] for r in sweep]
    bounds = [wilson(round(r["success_rate"] * r["episodes"]), r["episodes"]) for r in sweep]
    errors = [[rate - lo for rate, (lo, _) in zip(rates, bounds)], [hi - rate for rate, (_, hi) in zip(rates, bounds)]]
    ax.errorbar([r["samples"] for r in sweep], rates, yerr=errors, fmt="o-", capsize=3,
                label="trained + planner (95 % Wilson)")
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


# ---------------------------------------------------------------- physics
_PHYSICS_BASELINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (pixel steps, baselines)


class PhysicsSuite:
    name = "physics"

    def __init__(self, model, cfg, options: BenchOptions, progress: bool = True):
        self.model, self.cfg, self.options_, self.progress = model, cfg, options, progress

    def seed(self, s: int) -> int:
        return 50_000 + 10_000 * s  # a suite of p pairs per category uses seed .. seed + 5000 (p <= 1000)

    @property
    def generator(self) -> str:
        from ..evals.physics_suite import GENERATOR
        return GENERATOR

    def options(self) -> dict:
        return {
            "generator": self.generator,
            "pairs_per_category": self.options_.pairs,
            "pixel_steps": self.options_.pixel_steps,
        }

    def _baselines(self) -> dict:
        """The checkpoint beside its untrained twin and the pixel predictor, built once per checkpoint
        and pixel budget and shared by both physics suites (the pixel baseline trains on a fixed seed,
        so a second build would only repeat it). The cache holds the baselines, not the checkpoint,
        so it lets go of them with the model."""
        from ..evals.intuitive_physics import physics_models
        key = self.options_.pixel_steps
        cached = _PHYSICS_BASELINES.get(self.model)
        if cached is None or cached[0] != key:
            _seeded(self.cfg.train.seed)
            models, _ = physics_models(self.model, self.cfg, key, progress=self.progress)
            cached = _PHYSICS_BASELINES[self.model] = (key, {k: m for k, m in models.items() if k != "trained"})
        return {"trained": self.model, **cached[1]}

    def _pairs(self, s: int):
        from ..evals.physics_suite import make_suite
        return make_suite(self.options_.pairs, self.seed(s), progress=self.progress)

    def fingerprint(self, s: int, pairs=None) -> dict:
        pairs = pairs if pairs is not None else self._pairs(s)
        return {"generator": self.generator, "seed": self.seed(s), "pairs": len(pairs),
                "sha256": sha256_arrays(*[a for p in pairs for a in (p.possible, p.impossible)],
                                        np.array([p.diverge_frame for p in pairs]))}

    def run(self, s: int, plots) -> tuple[dict, dict]:
        from ..evals.intuitive_physics import evaluate_models, plot_examples
        pairs = self._pairs(s)
        results, curves = evaluate_models(self._baselines(), pairs, progress=self.progress)
        metrics = {}
        for name, r in results.items():
            m = {k: r["overall"][k] for k in ("pairwise_accuracy", "auroc", "localised")}
            m.update({f"{c} pairwise_accuracy": v["pairwise_accuracy"] for c, v in r["categories"].items()})
            m.update({f"{c}/{var} pairwise_accuracy": acc for c, v in r["categories"].items()
                      for var, acc in v["variant_accuracy"].items()})
            metrics[name] = m
        if plots is not None:
            plot_examples(pairs, curves["trained"], plots / f"{self.name}_examples.png")
        wins = {name: {c: v["wins"] for c, v in r["categories"].items()} for name, r in results.items()}
        return metrics, {"fingerprint": self.fingerprint(s, pairs), "pair_wins": wins}


class PhysicsAltSuite(PhysicsSuite):
    """The same events drawn another way (evals/alt_suite.py), which no recipe trains or tunes on:
    a model that knows bounce's renderer rather than physics scores well above and not here."""
    name = "physics-alt"

    @property
    def generator(self) -> str:
        from ..evals.alt_suite import GENERATOR
        return GENERATOR

    def seed(self, s: int) -> int:
        return 150_000 + 10_000 * s

    def _pairs(self, s: int):
        from ..evals.alt_suite import make_alt_suite
        return make_alt_suite(self.options_.pairs, self.seed(s), progress=self.progress)


# ---------------------------------------------------------------- probe
class ProbeSuite:
    name = "probe"

    def __init__(self, model, cfg, options: BenchOptions, progress: bool = True):
        self.model, self.cfg, self.o, self.progress = model, cfg, options, progress
        self.video = hasattr(cfg, "video")

    def seed(self, s: int) -> int:
        # video: probe_encoders uses seed .. seed + 3; world: 1.5 x probe_episodes episode seeds
        return 10_000 + 10 * s if self.video else 900_000 + 10_000 * s

    def options(self) -> dict:
        if self.video:
            return {"kind": "video features", "clips": self.o.probe_clips, "attentive_steps": self.o.probe_steps}
        return {"kind": "linear probe of proprio", "world": self.cfg.data.world, "episodes": self.o.probe_episodes,
                "steps_per_episode": self.cfg.data.steps_per_episode}

    def _episodes(self, s: int):
        from ..data.collect import passive_episode, rollout_episode
        from ..worlds import make
        n = self.o.probe_episodes + max(2, self.o.probe_episodes // 2)
        world, steps, seed = self.cfg.data.world, self.cfg.data.steps_per_episode, self.seed(s)
        if world == "bounce":
            return [passive_episode(steps, seed + i) for i in range(n)]
        env = make(world, max_steps=steps + 1, goal_mode="anywhere", image_size=self.cfg.model.image_size)
        return [rollout_episode(env, steps, seed + i) for i in range(n)]

    def fingerprint(self, s: int) -> dict:
        if self.video:
            from ..evals.physics_probe import count_set, held_out_clips, one_object_set
            v, n, seed = self.cfg.video, self.o.probe_clips, self.seed(s)
            sets = [one_object_set(n, v, seed), one_object_set(held_out_clips(n), v, seed + 1),
                    count_set(n, v, seed + 2), count_set(held_out_clips(n), v, seed + 3)]
            return {"generator": "bounce probe clips", "seed": seed, "sha256": sha256_arrays(*[c.video for c in sets])}
        eps = self._episodes(s)
        return {"world": self.cfg.data.world, "episode_seeds": [self.seed(s), self.seed(s) + len(eps) - 1],
                "sha256": sha256_arrays(*[a for e in eps for a in (e.pixels, e.actions, e.proprio)])}

    def run(self, s: int, plots) -> tuple[dict, dict]:
        from ..evals.intuitive_physics import untrained_twin
        _seeded(self.cfg.train.seed)
        twin = untrained_twin(self.model, self.cfg.train.seed)
        scatter: dict = {}
        if self.video:
            from ..evals.physics_probe import probe_encoders
            res = probe_encoders({"trained": self.model.feature_encoder, "untrained": twin.encoder}, self.cfg.video,
                                 clips=self.o.probe_clips, seed=self.seed(s), attentive_steps=self.o.probe_steps,
                                 progress=self.progress, scatter=scatter)
            metrics: dict = {}
            for quantity, probes in res.items():
                for probe, row in probes.items():
                    for name, v in row.items():
                        metrics.setdefault(name, {})[f"{quantity} ({probe})"] = v
        else:
            from ..evals.probe import encode_frames, episode_senses, position_probe
            eps = self._episodes(s)
            train, test = eps[: self.o.probe_episodes], eps[self.o.probe_episodes:]
            metrics = {}
            y = np.concatenate([e.proprio for e in test])
            for name, m in (("trained", self.model), ("untrained", twin)):
                probe, r2 = position_probe(m, train, test, seed=self.cfg.train.seed)
                metrics[name] = {"state R²": r2}
                scatter[name] = (probe(encode_frames(m, np.concatenate([e.pixels for e in test]),
                                                     senses=episode_senses(m, test))), y)
        if plots is not None:
            _plot_scatter(scatter, plots / "probe_scatter.png")
        return metrics, {}


def _plot_scatter(scatter: dict, path) -> None:
    """Predicted against true x position (first state dimension) on held-out data, one panel per features."""
    from ..plots import pyplot
    plt = pyplot()
    fig, axes = plt.subplots(1, len(scatter), figsize=(3.4 * len(scatter), 3.4), squeeze=False)
    for ax, (name, (pred, y)) in zip(axes[0], scatter.items()):
        k = min(len(y), 2000)
        ax.scatter(y[:k, 0], pred[:k, 0], s=3, alpha=0.4)
        lo, hi = float(y[:, 0].min()), float(y[:, 0].max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
        ax.set_title(name)
        ax.set_xlabel("true x")
        ax.set_ylabel("predicted x")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


SUITE_CLASSES = {"control": ControlSuite, "control-dataset": DatasetControlSuite, "physics": PhysicsSuite,
                 "physics-alt": PhysicsAltSuite, "probe": ProbeSuite}
