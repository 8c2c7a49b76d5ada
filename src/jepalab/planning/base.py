"""What every planner shares: the protocol, the cost, and how plans become model actions.

A planner searches either over *held* actions (plan.action_blocks=false): one environment action
per model step, repeated `frameskip` times to form the model's action, which keeps the search space
at horizon x action_dim (12 numbers in two-room); or over *action blocks* (true): the model's whole
action, `frameskip` distinct environment actions per model step, as LeWorldModel and DINO-WM plan.
The planner is told which by the size it searches (`action_dim`): the model's action size or the
environment's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..contracts import Cost, Planner, Sampler  # noqa: F401 - Planner: planning.Planner, the protocol
from ..models import WorldModel


@dataclass
class Plan:
    actions: torch.Tensor  # (B, H, A) environment actions in [-1, 1], one per model step
    cost: torch.Tensor  # (B,) imagined cost of these actions
    imagined: torch.Tensor  # (B, H, D) latents the model imagines under them


@dataclass
class StateGoal:
    """A goal given as a state (numbers, e.g. a block's pose) rather than as an image: the cost is
    the distance between `target` and a linear readout of the imagined latents (a state probe,
    evals/probe.py StateProbe), in the probe's standardised units. Planners take it wherever they
    take a goal latent; indexing selects episodes as it does on a (B, D) goal latent."""

    weight: torch.Tensor  # (D, Y)
    bias: torch.Tensor  # (Y,)
    target: torch.Tensor  # (B, Y)

    def __getitem__(self, rows) -> StateGoal:
        return StateGoal(self.weight, self.bias, self.target[rows])

    def read(self, z: torch.Tensor) -> torch.Tensor:
        """(..., D) latents -> (..., Y) states as the probe reads them."""
        return z @ self.weight.to(z) + self.bias.to(z)


def to_model_actions(actions: torch.Tensor, frameskip: int) -> torch.Tensor:
    """(..., A) held environment actions -> (..., frameskip * A) model actions."""
    return actions.repeat(*([1] * (actions.dim() - 1)), frameskip)


def goal_cost(imagined: torch.Tensor, z_goal: torch.Tensor | StateGoal, stage_weight: float = 0.0) -> torch.Tensor:
    """Squared latent distance to the goal: (B, N, H, D), (B, D) -> (B, N); for a StateGoal, the
    squared distance of the imagined states, read by its probe, to its target.

    The end of the horizon counts fully, so a plan may first move away from the goal
    (around a wall, through a door) as long as it ends closer; `stage_weight` adds the
    mean distance of the intermediate states, which favours plans that get there early
    and stay, over plans that wander and come back.
    """
    if isinstance(z_goal, StateGoal):
        imagined, z_goal = z_goal.read(imagined), z_goal.target.to(imagined)
    dist = (imagined - z_goal[:, None, None]).pow(2).sum(-1)  # (B, N, H)
    cost = dist[:, :, -1]
    if stage_weight > 0 and dist.shape[-1] > 1:
        cost = cost + stage_weight * dist[:, :, :-1].mean(-1)
    return cost


def imagine(
    model: WorldModel, z_ctx: torch.Tensor, a_ctx: torch.Tensor, candidates: torch.Tensor, window: int | None = None
) -> torch.Tensor:
    """Roll out N candidate plans per batch item: candidates (B, N, H, A) -> latents (B, N, H, D)."""
    B, N, H, P = candidates.shape
    expand = lambda x: x[:, None].expand(B, N, *x.shape[1:]).reshape(B * N, *x.shape[1:])
    # held actions are repeated to the model's action size; action blocks are that size already
    full = getattr(model, "model_action_dim", None)
    acts = to_model_actions(candidates, full // P if full else model.cfg.frameskip).reshape(B * N, H, -1)
    return model.rollout(expand(z_ctx), expand(a_ctx), acts, window).reshape(B, N, H, -1)


def gaussian(mean, std, iteration: int, samples: int, generator: torch.Generator) -> torch.Tensor:
    """CEM's and MPPI's sampler: white Gaussian noise around the mean, clipped to [-1, 1]; the mean
    itself is candidate 0, so a refit never loses it."""
    B, H, A = mean.shape
    noise = torch.randn(B, samples, H, A, generator=generator)
    candidates = (mean[:, None] + std[:, None] * noise).clamp(-1, 1)
    candidates[:, 0] = mean
    return candidates


class SamplingPlanner:
    """Shared loop of CEM and MPPI: sample, score, refit; keep the best seen. Each part can be
    replaced: `sample` (a Sampler: where to look), `cost` (a Cost: what is good), `refit` (how the
    next iteration's mean and std follow from the scored candidates) - a new sampling planner
    (iCEM's coloured noise, say) overrides one method (docs/extending.md)."""

    sample: Sampler = staticmethod(gaussian)

    def __init__(self, cfg, action_dim: int, seed: int = 0, cost: Cost | None = None):
        self.cfg, self.action_dim = cfg, action_dim
        self.generator = torch.Generator().manual_seed(seed)
        self.cost = cost or (lambda imagined, goal: goal_cost(imagined, goal, cfg.stage_weight))

    def refit(self, candidates, cost):  # -> new (mean, std), each (B, H, A)
        raise NotImplementedError

    def imagine(self, model, z_ctx, a_ctx, candidates) -> torch.Tensor:
        """`imagine` as plan.precision and plan.compile ask; the latents come back in fp32, so the
        costs that rank the candidates are compared at full precision."""
        from ..runtime import autocast, compiled, resolve_precision

        c = self.cfg
        fn = imagine
        if c.compile:
            if getattr(self, "_compiled_for", None) is not model:  # one compiled rollout per model
                self._compiled = compiled(imagine, "the planner's rollout", dynamic=True)
                self._compiled_for = model
            fn = self._compiled
        precision = resolve_precision(c.precision, z_ctx.device)
        with autocast(precision, z_ctx.device.type):
            return fn(model, z_ctx, a_ctx, candidates, c.context).float()

    @torch.no_grad()
    def plan(self, model, z_ctx, a_ctx, z_goal, init=None) -> Plan:
        c = self.cfg
        B, H, A = z_ctx.shape[0], c.horizon, self.action_dim
        mean = torch.zeros(B, H, A) if init is None else init.clone()
        std = torch.full((B, H, A), c.init_std)
        best_cost = torch.full((B,), float("inf"))
        best_actions = mean.clone()
        best_imagined = None
        rows = torch.arange(B)
        for iteration in range(c.iterations):
            candidates = self.sample(mean, std, iteration, c.samples, self.generator)
            # score: the search lives on the CPU (small tensors, one seeded generator); the model may not
            imagined = self.imagine(model, z_ctx, a_ctx, candidates.to(z_ctx.device))
            cost = self.cost(imagined, z_goal).cpu()
            imagined = imagined.cpu()
            # keep the best plan seen over all iterations
            i = cost.argmin(1)
            better = cost[rows, i] < best_cost
            best_cost = torch.where(better, cost[rows, i], best_cost)
            best_actions[better] = candidates[rows, i][better]
            if best_imagined is None:
                best_imagined = imagined[rows, i].clone()
            best_imagined[better] = imagined[rows, i][better]
            # refit
            mean, std = self.refit(candidates, cost)
            std = std.clamp_min(c.min_std)
        return Plan(best_actions, best_cost, best_imagined)
