"""What every suite shares: their names, the options of a run, which suites apply to a checkpoint,
what a gymnasium world says of its goals, and seeding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SUITES = ("control", "control-dataset", "physics", "physics-alt", "probe")
PROTOCOLS = {"random": ("control",), "dataset": ("control-dataset",), "both": ("control", "control-dataset")}


@dataclass
class BenchOptions:
    episodes: int | None = None  # control episodes per seed (None: the checkpoint's plan.episodes)
    budgets: tuple = (0.125, 0.25, 0.5, 1.0)  # control: planning budget sweep, as fractions of plan.samples
    pairs: int = 100  # physics: pairs per category per seed
    pixel_steps: int = 400  # physics: training steps of the pixel-space predictor
    probe_clips: int = 256  # probe (video model): training clips per task
    probe_steps: int = 400  # probe: attentive probe steps (video model), MLP probe steps (world model)
    probe_episodes: int = 40  # probe (world model): episodes to fit on (and half as many to test on)
    goal_offset: int = 25  # control-dataset: the goal is the expert trajectory's state this many steps on
    budget: int = 50  # control-dataset: environment steps allowed per episode
    dataset_expert: str = "place"  # control-dataset: whose trajectories (push worlds: "pose" turns the block)


def applicable(kind: str, cfg) -> dict[str, str | None]:
    """suite -> None if it applies to this checkpoint, else why not."""
    from ...worlds import PASSIVE, WORLDS
    from ...worlds.gym_env import PREFIX

    world = None if kind == "video" else cfg.data.world
    gym_lacks = _gym_goal_support(world) if (world or "").startswith(PREFIX) else None
    with_goals = (world in WORLDS and world not in PASSIVE) or ((world or "").startswith(PREFIX) and not gym_lacks)
    return {
        "control-dataset": _dataset_protocol_reason(world, kind),
        "control": None
        if with_goals
        else (
            f"{world!r} shows no goal jepalab can plan to: {gym_lacks} (jepalab's own tasks: worlds/gym_tasks.py)"
            if (world or "").startswith(PREFIX)
            else (
                "a video-pretrained model has no actions to plan with"
                if kind == "video"
                else f"{world!r} is a passive world: there is nothing to control"
            )
        ),
        "physics": None
        if kind == "video" or world == "bounce"
        else f"the suite is made of bounce clips; this model was trained on {world!r}",
        "physics-alt": None
        if kind == "video" or world == "bounce"
        else f"the suite shows passive scenes like bounce's; this model was trained on {world!r}",
        "probe": None,
    }


def _gym_goal_support(world: str) -> str | None:
    """None when a gymnasium env shows goals jepalab can plan to, else what it lacks."""
    from ...worlds import make
    from ...worlds.gym_env import PREFIX, task_for

    if task_for(world[len(PREFIX) :].split(":")[-1]) is not None:
        return None
    env = make(world, max_steps=2)
    try:
        return env.unwrapped.goal_support()
    finally:
        env.close()


def world_facts(world: str, trajectory: bool = False) -> dict:
    """For a gymnasium env: how success is decided ("success") and, with trajectory=True, what records
    the dataset protocol's trajectories ("trajectory"); {} for a built-in world (its docs say)."""
    from ...worlds import make
    from ...worlds.gym_env import PREFIX

    if not world.startswith(PREFIX):
        return {"trajectory": "noisy-expert"} if trajectory else {}
    from ...evals.dataset_goals import trajectory_policy

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
    from ...evals.dataset_goals import _require_protocol
    from ...worlds import make

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
