"""The objective: next-latent prediction, multi-step rollout prediction and the anti-collapse
terms. `jepa_loss` is the whole loss of an action-conditioned world model; the rest are its parts,
small, pure and unit-tested.

    from jepalab.training.objectives import sigreg
    sigreg(torch.randn(1024, 128))        # ~0: already an isotropic Gaussian
    sigreg(torch.zeros(1024, 128))        # large: collapsed

SIGReg, VICReg and the EMA update live in models/regularizers.py (the video model's own loss uses
them too) and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..models.regularizers import ema_update, sigreg, vicreg  # noqa: F401  (re-exported)


def prediction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between predicted and encoded next latents (gradients reach both)."""
    return F.mse_loss(pred, target)


REGULARIZERS = {  # objective.regularizer -> (projections -> the term); keys are config.CHOICES'
    "sigreg": lambda projections: lambda z: sigreg(z, projections=projections),
    "vicreg": lambda projections: vicreg,
}


def make_regularizer(name: str, projections: int = 256) -> Callable[[torch.Tensor], torch.Tensor]:
    """The anti-collapse term by name; every one maps latents (N, D) to a scalar."""
    if name not in REGULARIZERS:
        raise ValueError(f"unknown regularizer {name!r}: expected one of {', '.join(REGULARIZERS)}")
    return REGULARIZERS[name](projections)


@torch.no_grad()
def latent_stats(z: torch.Tensor) -> dict[str, float]:
    """Collapse diagnostics of z (N, D): mean per-dimension std and effective rank.

    Effective rank = exp(entropy of the normalised singular values) (Roy & Vetterli 2007):
    D for a well-spread latent, 1 for a latent that lives on a line.
    """
    z = z.float()
    zc = z - z.mean(0)
    s = torch.linalg.svdvals(zc)
    p = s / s.sum().clamp_min(1e-12)
    entropy = -(p * torch.log(p.clamp_min(1e-12))).sum()
    return {"latent_std": float(z.std(0).mean()), "effective_rank": float(torch.exp(entropy))}


def jepa_loss(
    model, obs, actions: torch.Tensor, objective, history: int, regularizer, gather=lambda z: z
) -> tuple[torch.Tensor, dict]:
    """The JEPA loss of a world model on a batch of windows, LeWorldModel-style (gradients reach the
    encoder through both predictions and targets; no EMA, no stop-gradient).

    obs: frames (B, T+1, H, W, 3) or a dict of senses; actions (B, T, A); objective: ObjectiveConfig.
    - prediction: teacher-forced next latents over the first `history` steps;
    - rollout: imagined from the first `objective.rollout_context` frames, feeding predictions back as a
      planner does, so that errors cannot compound unseen (objective.rollout_steps > 1);
    - anti-collapse (`regularizer`, SIGReg or VICReg) on every encoded frame of the global batch
      (`gather` collects them from every process), computed in fp32; with objective.reg_over=changes on
      each frame's departure from its window's mean instead (what moves, not what tells scenes
      apart), plus objective.frames_weight times the term over whole frames.
    -> (loss, {"loss", "pred_loss", "rollout_loss", "reg_loss", "z"}: detached tensors).
    """
    from ..runtime import fp32

    W = history
    z = model.encode(obs)  # (B, T+1, D)
    pred = model.predict(z[:, :W], actions[:, :W])  # (B, W, D): z_1..z_W
    pred_loss = prediction_loss(pred, z[:, 1 : W + 1])
    loss = pred_loss
    info = {"pred_loss": pred_loss.detach()}  # tensors: read at log steps, never a host sync inside a step
    if objective.rollout_steps > 1:
        R, C = objective.rollout_steps, objective.rollout_context
        imagined = model.rollout(z[:, :C], actions[:, : C - 1], actions[:, C - 1 : C - 1 + R])  # (B, R, D)
        rollout_loss = prediction_loss(imagined, z[:, C : C + R])
        loss = loss + objective.rollout_weight * rollout_loss
        info["rollout_loss"] = rollout_loss.detach()
    with fp32(z.device.type):
        spread = z
        if objective.reg_over == "changes":
            moving = model.moving_part(z)
            spread = moving - moving.mean(1, keepdim=True)
        reg = regularizer(gather(spread.reshape(-1, spread.shape[-1]).float()))  # the global batch
        if objective.reg_over == "changes" and objective.frames_weight > 0:
            reg = reg + objective.frames_weight * regularizer(gather(z.reshape(-1, z.shape[-1]).float()))
    loss = loss + objective.weight * reg
    return loss, {"loss": loss.detach(), **info, "reg_loss": reg.detach(), "z": z.detach()}
