"""The anchors' control protocol: goals taken from held-out expert trajectories.

    jepalab bench --checkpoint runs/push-t --protocol dataset --goal-offset 25 --budget 50

As LeWorldModel, DINO-WM and PLDM measure planning: a trajectory of the world's scripted expert
(with Gaussian noise on its actions, given a new target each time it reaches one, so that it is at
work throughout) is recorded from a seed no training run used; an episode starts from the recorded state at a random
step t, its goal is the recorded state at t + offset (so it is reachable in `offset` steps), the
goal image is an observation of that state, and success is the world's own test against it
(push: the block's pose; Reacher: the fingertip; two-room: the agent's place), checked at every
step of a budget of environment steps. A world without a scripted expert (a third-party env) is
recorded with the collection's policy instead, held random exploration (`trajectory_policy` says
which), as the anchors' datasets hold whatever policy collected them.

A world takes part through three methods: `get_state()` (everything the next step depends on),
`set_state(state)` -> (obs, info) and `state_success(goal_state)` -> (success, distance); with
`expert_action()` its trajectories are the expert's; with `set_goal_state(goal)` the recorded goal
becomes the world's own, so that its own success test judges it (stable-worldmodel's envs).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np

from ..worlds import make

EXPERT_NOISE = 0.1  # std of the Gaussian noise on the expert's actions (in [-1, 1] units)


@dataclass
class GoalStart:
    """One episode of the protocol: a start state and the goal state `offset` steps later."""

    seed: int  # the expert trajectory's seed
    t: int  # the step of the trajectory the episode starts from
    start: np.ndarray  # world state (get_state)
    goal: np.ndarray  # world state at t + offset


def has_expert(env) -> bool:
    u = env.unwrapped
    return bool(getattr(u, "has_expert", hasattr(u, "expert_action")))


def trajectory_policy(env) -> str:
    """What records the protocol's trajectories in this world, for the results."""
    return "noisy-expert" if has_expert(env) else "held-random (no scripted expert: the collection policy)"


EXPERTS = ("place", "pose")  # the push worlds' two scripted experts (worlds/push_expert.py)


def expert_states(env, seed: int, steps: int, expert: str = "place") -> np.ndarray:
    """States (steps + 1, S) of one recorded trajectory from `seed`: the noisy expert's, or held random
    exploration where the world has no expert. expert="pose": the push worlds' pose expert, which turns
    the block to each target's angle, so that goals `offset` steps on need a turn. The env's own goal
    plays no part: a trajectory goes on past it (an env that ends its episode there is stepped on,
    which its state allows)."""
    from ..data.collect import HeldRandomPolicy, NoisyExpertPolicy, PoseExpertPolicy

    if expert not in EXPERTS:
        raise ValueError(f"dataset protocol: expert must be one of {', '.join(EXPERTS)}, got {expert!r}")
    env.reset(seed=seed)
    u = env.unwrapped
    rng = np.random.default_rng(seed)
    # a demonstrator at work throughout: no stretches of random actions, a new target at each one reached
    policy = (
        (PoseExpertPolicy if expert == "pose" else NoisyExpertPolicy)(env, rng, noise=EXPERT_NOISE, switch_prob=0.0)
        if has_expert(env)
        else HeldRandomPolicy(env.action_space.shape[0], rng)
    )
    states = [u.get_state()]
    for _ in range(steps):
        env.step(policy())
        states.append(u.get_state())
    return np.stack(states)


def dataset_starts(
    world: str,
    episodes: int,
    seed: int,
    offset: int = 25,
    trajectory_steps: int = 100,
    world_kwargs: dict | None = None,
    expert: str = "place",
) -> list[GoalStart]:
    """`episodes` start/goal pairs, one per held-out expert trajectory (seeds seed .. seed + episodes - 1);
    the start step is drawn uniformly from those with a goal `offset` steps later on the trajectory."""
    if offset < 1 or trajectory_steps < offset:
        raise ValueError(f"dataset protocol: need 1 <= goal offset ({offset}) <= trajectory steps ({trajectory_steps})")
    env = make(world, max_steps=trajectory_steps + 1, **_collect_kwargs(world, world_kwargs))
    try:
        _require_protocol(env, world)
        out = []
        for i in range(episodes):
            states = expert_states(env, seed + i, trajectory_steps, expert)
            t = int(np.random.default_rng([seed + i, 25]).integers(0, trajectory_steps - offset + 1))
            out.append(GoalStart(seed + i, t, states[t], states[t + offset]))
        return out
    finally:
        env.close()


def _collect_kwargs(world: str, world_kwargs: dict | None) -> dict:
    """The world as collection makes it (goals anywhere in built-in worlds), at the model's size."""
    kw = dict(world_kwargs or {})
    if not world.startswith("gymnasium:"):
        kw.setdefault("goal_mode", "anywhere")
    return kw


def _require_protocol(env, world: str) -> None:
    u = env.unwrapped
    missing = [m for m in ("get_state", "set_state", "state_success") if not hasattr(u, m)]
    lacks = (
        ", ".join(missing) + " missing"
        if missing
        else (u.protocol_support() if hasattr(u, "protocol_support") else None)
    )
    if lacks:
        raise ValueError(
            f"{world}: the dataset protocol needs recorded states and a success test against them "
            f"({lacks}); use --protocol random"
        )


class RecordedGoal(gym.Wrapper):
    """A world reset to a recorded start, whose info reports the recorded goal: "goal" (its image),
    "goal_proprio", and "is_success" / "distance" by the world's own test against the goal state."""

    def __init__(self, env, start: GoalStart, max_steps: int):
        super().__init__(env)
        self.start, self.max_steps, self.steps = start, max_steps, 0

    def reset(self, *, seed=None, options=None):
        u = self.env.unwrapped
        self.env.reset(seed=self.start.seed)  # wrappers (a gymnasium env's time limit) start afresh
        goal_obs, _ = u.set_state(self.start.goal)
        self.goal = {"goal": goal_obs["pixels"], "goal_proprio": goal_obs["proprio"]}
        if "depth" in goal_obs:
            self.goal["goal_depth"] = goal_obs["depth"]
        obs, info = u.set_state(self.start.start)
        if hasattr(u, "set_goal_state"):  # the world's own success test judges the recorded goal
            u.set_goal_state(self.start.goal)
        self.steps = 0
        return obs, self._info(info)

    def _info(self, info: dict) -> dict:
        u = self.env.unwrapped
        ok, dist = u.state_success(self.start.goal)
        out = {**info, **self.goal, "is_success": bool(ok), "distance": dist}
        if hasattr(u, "state_success_tests"):  # a world with more than one test reports each (push: anchors, strict)
            out["success_tests"] = u.state_success_tests(self.start.goal)
        else:
            out.pop("success_tests", None)  # the world's own target's, not the recorded goal's
        return out

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        info = self._info(info)
        # the goal state is the task now: the world's own target no longer ends the episode
        return obs, reward, info["is_success"], truncated or self.steps >= self.max_steps, info


def reset_to_starts(world: str, starts: list[GoalStart], max_steps: int, world_kwargs: dict | None = None):
    """-> (envs, obs, infos), each env reset to its recorded start, as evals/control.reset_envs returns them."""
    envs, obs, infos = [], [], []
    for s in starts:
        # the world's own time limit out of the way: the budget counts here
        env = RecordedGoal(
            make(world, max_steps=max_steps + 10_000, **_collect_kwargs(world, world_kwargs)), s, max_steps
        )
        o, info = env.reset()
        envs.append(env), obs.append(o), infos.append(info)
    return envs, obs, infos
