"""The contracts between jepalab's parts, on one page: what each kind of part offers the code that
uses it. Typed Protocols, checked structurally (a class satisfies one by having the methods, no
inheritance needed), so a new planner, cost, suite, env or loss term is written against this page.

    WorldModel    encode, rollout                  planners, suites, the server
    Cost          imagined latents, goal -> cost   planners (latent distance, a state probe's distance)
    Sampler       mean, std, iteration -> samples  sampling planners (Gaussian in CEM and MPPI)
    Planner       plan(model, context, goal)       MPC (evals/control.py), the server, the agent
    BenchSuite    seed, options, fingerprint, run  `jepalab bench` (bench/run.py)
    Env           gymnasium env, dict observations collection, control, the dataset protocol
    LossTerm      (model, obs, actions) -> loss    the training step (training/objectives.py)

This module imports nothing of jepalab, so every layer can name these types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch


@runtime_checkable
class WorldModel(Protocol):
    """What planners and suites use of an action-conditioned world model (models/world_model.py)."""

    def encode(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """{"pixels": (B, H, W, 3) uint8, and any other sense} -> (B, D) latents."""
        ...

    def rollout(
        self, z_ctx: torch.Tensor, a_ctx: torch.Tensor, actions: torch.Tensor, window: int | None = None
    ) -> torch.Tensor:
        """Context latents (B, C, D) and actions (B, C-1, A), future actions (B, H, A) -> the (B, H, D)
        latents imagined open loop."""
        ...


class Cost(Protocol):
    """How far imagined futures are from a goal: (B, N, H, D) latents of N candidates, a goal (a (B, D)
    latent, or a state goal with `read` and `target`) -> (B, N) costs, lower is better."""

    def __call__(self, imagined: torch.Tensor, goal: Any) -> torch.Tensor: ...


class Sampler(Protocol):
    """Where a sampling planner looks: (B, H, A) mean and std, the iteration number -> (B, N, H, A)
    candidate action sequences in [-1, 1]."""

    def __call__(
        self, mean: torch.Tensor, std: torch.Tensor, iteration: int, samples: int, generator: torch.Generator
    ) -> torch.Tensor: ...


class PlanResult(Protocol):
    actions: torch.Tensor  # (B, H, A) in [-1, 1]
    cost: torch.Tensor  # (B,)
    imagined: torch.Tensor  # (B, H, D)


@runtime_checkable
class Planner(Protocol):
    """Model-predictive control's search: the best action sequence from the context to the goal."""

    def plan(
        self, model: WorldModel, z_ctx: torch.Tensor, a_ctx: torch.Tensor, z_goal: Any, init: torch.Tensor | None = None
    ) -> PlanResult: ...


@runtime_checkable
class BenchSuite(Protocol):
    """One suite of `jepalab bench`: seed s always makes the same data (fingerprint re-makes it for
    --verify), and run returns ({features: {metric: value}}, extra JSON) with its baselines inside."""

    name: str

    def seed(self, s: int) -> int: ...

    def options(self) -> dict: ...

    def fingerprint(self, s: int) -> dict: ...

    def run(self, s: int, plots: Path | None) -> tuple[dict, dict]: ...


@runtime_checkable
class Env(Protocol):
    """A world to collect from and control (built-in worlds, gymnasium adapters): gymnasium's reset
    and step, with observations {"pixels": (H, W, 3) uint8, "proprio": (P,) float32} and an info that
    carries "goal" (an image), "goal_proprio" and "is_success" where the world has goals."""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]: ...

    def step(self, action) -> tuple[dict, float, bool, bool, dict]: ...


class LossTerm(Protocol):
    """A term of the training loss: (model, observations, actions) -> (a scalar, {name: logged number})."""

    def __call__(self, model: torch.nn.Module, obs: Any, actions: torch.Tensor) -> tuple[torch.Tensor, dict]: ...
