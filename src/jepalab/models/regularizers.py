"""The anti-collapse terms and the target network's update, as the models that carry their own loss
(models/video.py) and the training objectives (training/objectives.py) both use them: small, pure,
unit-tested, and importing nothing of jepalab.

SIGReg (LeJEPA, Balestriero & LeCun 2025) projects the batch of latents on
random unit directions and, on each 1-D projection, measures the Epps–Pulley
distance between the empirical characteristic function and that of N(0, 1).
By Cramér–Wold, matching every 1-D marginal matches the joint distribution, so
driving it to zero spreads the latents as an isotropic Gaussian — they cannot
collapse to a point or a low-dimensional subspace.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sigreg(
    z: torch.Tensor,
    projections: int = 256,
    knots: int = 17,
    t_max: float = 5.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sketched isotropic Gaussian regulariser of z (N, D); a scalar >= 0.

    For each random direction u, with x = z @ u: integrate over t the squared gap
    |E[exp(i t x)] - exp(-t^2/2)|^2, weighted by the Gaussian window exp(-t^2/2)
    (trapezoid rule on `knots` points of [-t_max, t_max]); average over directions.
    """
    n, d = z.shape
    if n < 2:
        raise ValueError("sigreg needs a batch of at least 2 latents")
    directions = torch.randn(d, projections, generator=generator, device=z.device, dtype=z.dtype)
    directions = directions / directions.norm(dim=0, keepdim=True)
    t = torch.linspace(-t_max, t_max, knots, device=z.device, dtype=z.dtype)
    target_cf = torch.exp(-0.5 * t * t)  # characteristic function of N(0, 1), real
    xt = (z @ directions).unsqueeze(-1) * t  # (N, M, K)
    real = torch.cos(xt).mean(0)  # (M, K)
    imag = torch.sin(xt).mean(0)
    gap = ((real - target_cf) ** 2 + imag**2) * target_cf
    return torch.trapezoid(gap, t, dim=-1).mean()


def vicreg(z: torch.Tensor, std_target: float = 1.0, cov_weight: float = 1.0) -> torch.Tensor:
    """VICReg's variance (hinge on each dimension's std) + covariance (off-diagonal) terms of z (N, D)."""
    n, d = z.shape
    if n < 2:
        raise ValueError("vicreg needs a batch of at least 2 latents")
    z = z - z.mean(0)
    std = torch.sqrt(z.var(0) + 1e-4)
    variance = F.relu(std_target - std).mean()
    cov = (z.T @ z) / (n - 1)
    off_diag = cov - torch.diag(torch.diag(cov))
    return variance + cov_weight * off_diag.pow(2).sum() / d


@torch.no_grad()
def ema_update(target: torch.nn.Module, online: torch.nn.Module, momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * online, parameter by parameter.

    The target encoder of V-JEPA / BYOL: a slow copy that gives stable targets and, with
    the stop-gradient, keeps the online encoder from collapsing onto its own output.
    Buffers (e.g. BatchNorm statistics) are copied, not averaged.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"EMA momentum must be in [0, 1], got {momentum}")
    t_params, o_params = list(target.parameters()), list(online.parameters())
    if len(t_params) != len(o_params):
        raise ValueError("EMA target and online modules have different parameters")
    torch._foreach_lerp_(t_params, o_params, 1.0 - momentum)
    for tb, ob in zip(target.buffers(), online.buffers()):
        tb.copy_(ob)
