"""Model-predictive path integral: a softmax-weighted average of all candidates.

The temperature is relative to each problem's cost spread, so one setting works
whatever the scale of the latent space.
"""

from __future__ import annotations

import torch

from .base import SamplingPlanner


class MPPI(SamplingPlanner):
    def refit(self, candidates: torch.Tensor, cost: torch.Tensor):
        spread = cost.std(1, keepdim=True).clamp_min(1e-8)
        w = torch.softmax(-(cost - cost.min(1, keepdim=True).values) / (self.cfg.temperature * spread), dim=1)
        w = w[..., None, None]  # (B, N, 1, 1)
        mean = (w * candidates).sum(1)
        std = (w * (candidates - mean[:, None]) ** 2).sum(1).sqrt()
        return mean, std
