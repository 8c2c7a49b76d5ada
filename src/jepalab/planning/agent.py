"""The closed-loop MPC agent: plan in latent space, act, observe, plan again.

    from jepalab import Agent, load_model
    model, cfg, _ = load_model("runs/push-t")
    agent = Agent(model, cfg.plan, action_dim=2)
    agent.reset(goals=[info])                   # the goal images (info dicts: "goal", "goal_proprio")
    while ...:
        actions = agent.act([obs])              # (1, replan_every * frameskip, 2): the next environment steps
        for a in actions[0]:
            obs, *_ = env.step(a)

The agent keeps what MPC needs between calls: the observed latents and the model actions between
them (the predictor's context, `plan.context`) and the unexecuted tail of the last plan (the warm
start of the next). It plans for a batch of episodes at once; `live` picks the episodes still running.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from ..models import WorldModel
from . import make_planner
from .base import Plan, StateGoal


class Agent:
    def __init__(self, model: WorldModel, plan_cfg, action_dim: int, seed: int | None = None):
        self.model, self.cfg, self.action_dim = model.eval(), plan_cfg, action_dim
        self.frameskip = model.cfg.frameskip
        # numbers searched per model step: a block of frameskip actions, or one held action
        self.searched = self.frameskip * action_dim if plan_cfg.action_blocks else action_dim
        self.planner = make_planner(plan_cfg, self.searched, seed=plan_cfg.seed if seed is None else seed)
        self.plan_seconds, self.plan_calls, self.episode_plans = 0.0, 0, 0
        self.last: Plan | None = None

    @torch.no_grad()
    def reset(self, goals: list[dict] | None = None, z_goal: torch.Tensor | StateGoal | None = None) -> None:
        """Start new episodes: goals as the worlds' info dicts (their "goal" image and other senses), or
        as latents / a StateGoal directly."""
        if z_goal is None:
            if goals is None:
                raise ValueError("Agent.reset needs goals (info dicts with a 'goal' image) or z_goal")
            z_goal = self.model.encode_observations(goals, goal=True)
        self.z_goal = z_goal
        self.episodes = len(z_goal.target) if isinstance(z_goal, StateGoal) else len(z_goal)
        self.z_hist: list[torch.Tensor] = []  # per model step: (E, D) observed latents
        self.a_hist: list[torch.Tensor] = []  # per model step: (E, k*A) model actions taken
        self.warm = torch.zeros(self.episodes, self.cfg.horizon, self.searched)

    @torch.no_grad()
    def act(self, observations: list[dict], live: np.ndarray | None = None) -> np.ndarray:
        """Plan from the newest observations (one per episode, all E of them) and return the environment
        actions to take next, (E, replan_every * frameskip, A); rows of episodes not `live` are zeros
        and those episodes are not planned for."""
        c, E, k, A = self.cfg, self.episodes, self.frameskip, self.action_dim  # short names for the shapes below
        if len(observations) != E:
            raise ValueError(f"Agent.act: {len(observations)} observations for {E} episodes")
        live = np.arange(E) if live is None else np.asarray(live)
        self.z_hist.append(self.model.encode_observations(observations))
        n_ctx = min(c.context, len(self.z_hist))
        z_ctx = torch.stack(self.z_hist[-n_ctx:], 1)[live]
        a_ctx = torch.stack(self.a_hist[-(n_ctx - 1) :], 1)[live] if n_ctx > 1 else torch.zeros(len(live), 0, k * A)
        tic = time.perf_counter()
        plan = self.planner.plan(self.model, z_ctx, a_ctx, self.z_goal[live], init=self.warm[live])
        self.plan_seconds += time.perf_counter() - tic
        self.plan_calls += 1
        self.episode_plans += len(live)
        self.last = plan
        # the first replan_every model steps: k environment steps each, a held action or a block
        taken = torch.zeros(E, c.replan_every, self.searched)
        taken[live] = plan.actions[:, : c.replan_every]
        blocks = (
            taken.reshape(E, c.replan_every, k, A)
            if c.action_blocks
            else taken[:, :, None].expand(E, c.replan_every, k, A)
        )
        self.a_hist += list(blocks.reshape(E, c.replan_every, k * A).unbind(1))  # the model actions, in order
        # warm start: the unexecuted tail of this plan, then zeros
        self.warm = torch.zeros(E, c.horizon, self.searched)
        self.warm[live, : c.horizon - c.replan_every] = plan.actions[:, c.replan_every :]
        return blocks.reshape(E, c.replan_every * k, A).numpy()
