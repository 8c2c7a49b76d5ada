import numpy as np
import pytest
import torch

from jepalab.config import PlanConfig, override
from jepalab.evals.control import run_control
from jepalab.planning import make_planner, to_model_actions


class PointMassModel(torch.nn.Module):
    """An exact world model of an open plane: z is the position, an action moves it by 0.1 * a."""

    class cfg:
        frameskip = 1
        history = 1

    def rollout(self, z_ctx, a_ctx, actions, window=None):
        return z_ctx[:, -1:] + 0.1 * torch.cumsum(actions, 1)


@pytest.mark.parametrize("name", ["cem", "mppi"])
def test_planners_find_the_goal_with_an_exact_model(name):
    cfg = PlanConfig(planner=name, horizon=5, samples=128, iterations=4, elites=16)
    planner = make_planner(cfg, action_dim=2, seed=0)
    B = 8
    start = torch.zeros(B, 1, 2)
    goal = torch.rand(B, 2, generator=torch.Generator().manual_seed(0)) * 0.8 - 0.4
    plan = planner.plan(PointMassModel(), start, torch.zeros(B, 0, 2), goal)
    assert plan.actions.shape == (B, 5, 2) and plan.cost.shape == (B,) and plan.imagined.shape == (B, 5, 2)
    assert plan.actions.abs().max() <= 1.0
    reached = (start[:, 0] + 0.1 * plan.actions.sum(1) - goal).norm(dim=1)
    random_actions = torch.rand(B, 5, 2, generator=torch.Generator().manual_seed(1)) * 2 - 1
    random_reach = (start[:, 0] + 0.1 * random_actions.sum(1) - goal).norm(dim=1)
    assert reached.max() < 0.05 and reached.mean() < random_reach.mean() / 5


def test_single_and_batched_planning_agree_in_shape():
    planner = make_planner(PlanConfig(horizon=3, samples=16, iterations=2, elites=4), action_dim=2)
    for B in (1, 5):
        plan = planner.plan(PointMassModel(), torch.zeros(B, 1, 2), torch.zeros(B, 0, 2), torch.ones(B, 2))
        assert plan.actions.shape == (B, 3, 2)


def test_model_actions_hold_the_environment_action():
    a = torch.tensor([[[0.1, -0.2]]])
    assert torch.equal(to_model_actions(a, 3), torch.tensor([[[0.1, -0.2, 0.1, -0.2, 0.1, -0.2]]]))


def test_planning_with_a_learned_model_beats_random_actions(learned):
    """A model trained for ~30 s on 2 cores plans to goals anywhere in the arena better than random."""
    cfg = override(
        learned["cfg"],
        [
            "plan.horizon=5",
            "plan.samples=64",
            "plan.iterations=3",
            "plan.elites=8",
            "plan.episodes=24",
            "plan.max_steps=60",
        ],
    ).plan
    easier = {"goal_mode": "anywhere"}  # goals anywhere, not only behind the wall: a quicker task
    planned = run_control("two-room", cfg, learned["model"], "planner", progress=False, world_kwargs=easier)
    random = run_control("two-room", cfg, None, "random", progress=False, world_kwargs=easier)
    assert planned.success_rate >= random.success_rate + 0.25, (planned.success_rate, random.success_rate)
    assert np.mean(planned.final_distance) < np.mean(random.final_distance)
