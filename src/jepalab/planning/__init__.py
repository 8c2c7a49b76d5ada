"""Planners behind one small protocol (see base.py): name -> factory."""

from .base import Plan, Planner, StateGoal, goal_cost, to_model_actions
from .cem import CEM
from .mppi import MPPI

PLANNERS = {"cem": CEM, "mppi": MPPI}


def make_planner(cfg, action_dim: int, seed: int = 0) -> Planner:
    if cfg.planner not in PLANNERS:
        raise ValueError(f"unknown planner {cfg.planner!r}; planners: {', '.join(PLANNERS)}")
    return PLANNERS[cfg.planner](cfg, action_dim, seed)


__all__ = ["CEM", "MPPI", "PLANNERS", "Plan", "Planner", "StateGoal", "goal_cost", "make_planner", "to_model_actions"]
