"""Goal reaching by model-predictive control in latent space, batched over episodes.

    jepalab plan --checkpoint runs/two-room --episodes 50

All evaluation episodes step in lockstep: one planner call plans for every
episode still running, so CPU time goes into large batched rollouts. Episode i
is reset with seed `plan.seed + i` — seeds that collection (seed `data.seed + i`
for a few thousand i at most) does not reach by default — and every policy
(trained model, untrained model, random actions) sees the same starts and goals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from ..config import PlanConfig
from ..data.collect import HeldRandomPolicy
from ..models import WorldModel
from ..planning.agent import Agent
from ..worlds import make


@dataclass
class ControlResult:
    policy: str
    success: np.ndarray  # (E,) bool
    steps: np.ndarray  # (E,) environment steps taken
    final_distance: np.ndarray  # (E,) the task's distance to the goal at the end (info["distance"]; else proprio's)
    plan_seconds: float = 0.0  # wall time spent in planner calls
    plan_calls: int = 0  # batched planner calls
    episode_plans: int = 0  # sum over calls of the episodes planned for
    paths: list = field(default_factory=list)  # per episode: (T, P) proprio path
    goals: np.ndarray | None = None  # (E, P)
    first_plans: list = field(default_factory=list)  # per episode: (H, D) imagined latents of the first plan
    # a world with several success tests (push: "anchors", "strict"): test -> (E,) bool, each met at some step
    success_tests: dict = field(default_factory=dict)

    @property
    def success_rate(self) -> float:
        return float(self.success.mean())

    @property
    def seconds_per_step(self) -> float:
        """Planner wall time per (episode, MPC step), amortised over the batch."""
        return self.plan_seconds / max(1, self.episode_plans)


def reset_envs(world: str, cfg: PlanConfig, episodes: int, seed: int, world_kwargs: dict | None = None):
    envs, obs, infos = [], [], []
    for i in range(episodes):
        env = make(world, max_steps=cfg.max_steps, **(world_kwargs or {}))
        o, info = env.reset(seed=seed + i)
        envs.append(env), obs.append(o), infos.append(info)
    return envs, obs, infos


POLICIES = ("planner", "random", "noop")


def run_control(
    world: str,
    cfg: PlanConfig,
    model: WorldModel | None,
    policy: str = "planner",
    episodes: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    world_kwargs: dict | None = None,
    state_probe=None,
    starts=None,
    label: str | None = None,
) -> ControlResult:
    """Run `episodes` goal-reaching episodes with the planner on `model`, with random actions, or
    with zero actions (noop: what the goal gives for free).
    `world_kwargs` go to the world's factory (e.g. {"goal_mode": "anywhere"} for two-room).
    With a `state_probe` (evals/probe.py StateProbe), the planner is given each goal as a state
    (its goal_proprio's probe columns) instead of as an image. With `starts` (evals/dataset_goals.py
    GoalStart), the episodes start from those recorded states and aim at their recorded goals
    instead of seeded resets (the dataset protocol; cfg.max_steps is the budget). `label` names the
    run in the progress bar (e.g. "untrained planner": the baseline, not the model being measured)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown control policy {policy!r}; policies: {', '.join(POLICIES)}")
    from ..worlds import PASSIVE

    if world in PASSIVE:
        raise ValueError(
            f"{world!r} is a passive world: there are no goals to reach and nothing to control "
            "(its models are scored by `jepalab physics` and `jepalab surprise`)"
        )
    seed = cfg.seed if seed is None else seed
    from ..worlds import evaluation_options

    world_kwargs = {**evaluation_options(world, cfg), **(world_kwargs or {})}
    if model is not None:  # a gymnasium env renders at the model's size (built-in worlds ignore it)
        world_kwargs = {"image_size": model.cfg.image_size, **world_kwargs}
    if starts is not None:
        from .dataset_goals import reset_to_starts

        episodes = len(starts)
        envs, obs, infos = reset_to_starts(world, starts, cfg.max_steps, world_kwargs)
    else:
        episodes = cfg.episodes if episodes is None else episodes
        envs, obs, infos = reset_envs(world, cfg, episodes, seed, world_kwargs)
    E = episodes
    done = np.zeros(E, bool)
    success = np.zeros(E, bool)
    steps = np.zeros(E, int)
    paths = [[o["proprio"]] for o in obs]
    last = list(infos)  # each episode's latest info: its task distance at the end
    result = ControlResult(policy, success, steps, np.zeros(E), goals=np.stack([i["goal_proprio"] for i in infos]))

    # success is counted after steps, as the anchors count it (a start already on its goal is not a success)
    tests = result.success_tests = {name: np.zeros(E, bool) for name in infos[0].get("success_tests", {})}

    def act(i: int, a: np.ndarray) -> None:
        o, _, terminated, truncated, info = envs[i].step(a)
        obs[i] = o
        paths[i].append(o["proprio"])
        last[i] = info
        steps[i] += 1
        success[i] |= bool(info["is_success"])
        for name, met in info.get("success_tests", {}).items():
            tests[name][i] |= bool(met)
        # the reported test ends an episode, as the anchors' evaluation freezes an env at its success:
        # another test counts as met when it was met by then (so its figure is a lower bound)
        done[i] = terminated or truncated

    bar = tqdm(total=cfg.max_steps, desc=f"control [{label or policy}]", unit="step", disable=not progress)
    if policy == "random":
        rngs = [HeldRandomPolicy(envs[0].action_space.shape[0], np.random.default_rng(seed + i)) for i in range(E)]
        for _ in range(cfg.max_steps):
            for i in np.flatnonzero(~done):
                act(i, rngs[i]())
            bar.update(1)
    elif policy == "noop":
        zero = np.zeros(envs[0].action_space.shape[0], np.float32)
        for _ in range(cfg.max_steps):
            for i in np.flatnonzero(~done):
                act(i, zero)
            bar.update(1)
    else:
        _plan_episodes(envs, obs, infos, cfg, model, done, act, result, bar, state_probe)
    bar.close()
    result.paths = [np.stack(p) for p in paths]
    # the world's own distance where it reports one (fingertip to target, block to target pose):
    # the whole proprio vector holds velocities too, whose distance says little about the task
    result.final_distance = np.array(
        [
            info["distance"] if "distance" in info else np.linalg.norm(p[-1] - g)
            for p, g, info in zip(result.paths, result.goals, last)
        ]
    )
    return result


@torch.no_grad()
def _plan_episodes(
    envs, obs, infos, cfg: PlanConfig, model: WorldModel, done, act, result: ControlResult, bar, state_probe=None
):
    agent = Agent(model, cfg, envs[0].action_space.shape[0])
    if state_probe is not None:  # the goal as numbers, read through the probe
        agent.reset(z_goal=state_probe.goal(np.stack([info["goal_proprio"][state_probe.columns] for info in infos])))
    else:
        agent.reset(goals=infos)
    env_steps = 0
    while not done.all() and env_steps < cfg.max_steps:
        actions = agent.act(obs, live=np.flatnonzero(~done))
        if not result.first_plans:
            result.first_plans = list(agent.last.imagined.numpy())
        for step in actions.transpose(1, 0, 2):  # environment steps, each (E, A)
            for i in np.flatnonzero(~done):
                act(i, step[i])
            env_steps += 1
            bar.update(1)
    result.plan_seconds, result.plan_calls, result.episode_plans = (
        agent.plan_seconds,
        agent.plan_calls,
        agent.episode_plans,
    )


def planning_latency(model: WorldModel, cfg: PlanConfig, world: str, repeats: int = 3) -> float:
    """Seconds for one planner call on a single episode (what a robot waiting for an action sees)."""
    env = make(world, max_steps=cfg.max_steps, image_size=model.cfg.image_size)
    o, info = env.reset(seed=cfg.seed)
    planner = Agent(model, cfg, env.action_space.shape[0]).planner  # sized for held actions or blocks as the agent is
    with torch.no_grad():
        model.eval()
        z = model.encode_observations([o])[:, None]
        zg = model.encode_observations([info], goal=True)
        a0 = torch.zeros(1, 0, model.model_action_dim)
        planner.plan(model, z, a0, zg)  # warm-up
        tic = time.perf_counter()
        for _ in range(repeats):
            planner.plan(model, z, a0, zg)
    return (time.perf_counter() - tic) / repeats
