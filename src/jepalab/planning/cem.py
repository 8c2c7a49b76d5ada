"""Cross-entropy method: refit the sampling Gaussian to the lowest-cost `elites` candidates."""

from __future__ import annotations

import torch

from .base import SamplingPlanner


class CEM(SamplingPlanner):
    def refit(self, candidates: torch.Tensor, cost: torch.Tensor):
        idx = cost.topk(self.cfg.elites, dim=1, largest=False).indices  # (B, K)
        elites = torch.gather(candidates, 1, idx[..., None, None].expand(-1, -1, *candidates.shape[2:]))
        return elites.mean(1), elites.std(1)
