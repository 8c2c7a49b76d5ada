"""A world model's error per latent part over a video, and the calibration of those parts.

Kept beside the model, not with the evaluations: every checkpoint save of a model with an appearance
part calibrates it (models/appearance.py, from training/train.py), and evals/surprise.py turns the same errors
into surprise curves.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..data.clips import resize_frames
from .world_model import WorldModel


class SurpriseError(ValueError):
    pass


def _as_video(frames, size: int, need: int, name: str = "video") -> torch.Tensor:
    v = torch.from_numpy(np.array(frames))  # a copy: callers may hand read-only or strided arrays
    if v.ndim != 4 or v.shape[-1] != 3 or v.dtype != torch.uint8:
        raise SurpriseError(f"{name}: frames must be (T, H, W, 3) uint8, got {tuple(v.shape)} {v.dtype}")
    if len(v) < need:
        raise SurpriseError(f"{name}: {len(v)} frames, the model needs at least {need} to make one prediction")
    return resize_frames(v, size) if v.shape[1:3] != (size, size) else v


@torch.no_grad()
def world_model_part_errors(
    model: WorldModel,
    frames,
    horizon: int = 1,
    batch: int = 256,
    name: str = "video",
    senses: dict | None = None,
    context: int | None = None,
    layer_norm: bool = False,
) -> tuple[list[int], np.ndarray]:
    """-> (ends, errors (len(ends), horizon, parts)): the mean squared error of each latent part
    (`WorldModel.surprise_parts`) of the latents imagined from z[end - context:end] for end .. end +
    horizon - 1. With model.variant=appearance the rollout is handed that part's most over every frame
    before the window, so the predictor remembers a look for as long as the clip is. layer_norm: the
    mean absolute error of the layer-normed latents instead (predicted and seen alike: this model was
    trained on raw latents), as V-JEPA scores surprise (evals/window_surprise.py)."""
    if horizon < 1:
        raise SurpriseError(f"horizon must be >= 1, got {horizon}")
    if context is not None and not 1 <= context <= model.cfg.history:
        raise SurpriseError(f"context must be 1..{model.cfg.history} frames (this model's history), got {context}")
    H = context or model.cfg.history
    video = _as_video(frames, model.cfg.image_size, H + horizon, name)
    extra = {k: torch.as_tensor(np.asarray(v, np.float32)) for k, v in (senses or {}).items()}
    for k, v in extra.items():
        if len(v) != len(video):
            raise SurpriseError(f"{name}: {k} has {len(v)} rows for {len(video)} frames")
    model.eval()
    device = next(model.parameters()).device
    z = torch.cat(
        [
            model.encode(
                {
                    "pixels": video[i : i + batch].to(device),
                    **{k: v[i : i + batch].to(device) for k, v in extra.items()},
                }
            )
            for i in range(0, len(video), batch)
        ]
    )  # (T, D)
    T, A = len(z), model.model_action_dim
    K = getattr(model, "appearance_dims", 0)  # models/appearance.py: its part is remembered past the window
    seen = z[:, -K:].cummax(0).values if K else None  # the appearance part at its most up to each frame
    ends = list(range(H, T - horizon + 1))  # the history is z[end - H:end]; it imagines end .. end + horizon - 1
    bounds = np.cumsum([0] + list(model.surprise_parts().values()))
    errors = []
    for i in range(0, len(ends), batch):
        chunk = ends[i : i + batch]
        ctx = torch.stack([z[e - H : e] for e in chunk])
        memory = {"memory": seen[[e - 1 for e in chunk]]} if K else {}
        imagined = model.rollout(
            ctx,
            torch.zeros(len(chunk), H - 1, A, device=device),
            torch.zeros(len(chunk), horizon, A, device=device),
            **memory,
        )
        seen_next = torch.stack([z[e : e + horizon] for e in chunk])
        if layer_norm:
            D = imagined.shape[-1]
            sq = (F.layer_norm(imagined, (D,)) - F.layer_norm(seen_next, (D,))).abs()
        else:
            sq = (imagined - seen_next).pow(2)
        errors.append(
            torch.stack([sq[..., a:b].mean(-1) for a, b in zip(bounds[:-1], bounds[1:])], -1).double().cpu().numpy()
        )
    return ends, np.concatenate(errors)


def calibrate_surprise(model: WorldModel, clips, frames: int = 2000) -> torch.Tensor:
    """Set model.surprise_scale: each latent part's median one-step error (as world_model_curve makes
    it: zero actions, the model's history as context) over the first `frames` predicted frames of
    `clips`, an iterable of (T, H, W, 3) uint8 frame arrays (one per training episode). Why: with
    model.variant=appearance the appearance part's error is about a fifteenth of the rest's, and a look that changed
    behind an occluder shows only there; counted in units of its own typical error, it is heard
    (docs/measurements.md). -> the scales."""
    rows, H = [], model.cfg.history
    for i, pixels in enumerate(clips):
        if len(pixels) < H + 1:
            continue
        rows.append(world_model_part_errors(model, pixels, name=f"clip {i}")[1][:, 0])
        if sum(len(r) for r in rows) >= frames:
            break
    if not rows:
        raise SurpriseError(f"no clip has the {H + 1} frames a calibration needs")
    scale = torch.as_tensor(np.median(np.concatenate(rows)[:frames], 0), dtype=torch.float32).clamp_min(1e-12)
    model.surprise_scale.copy_(scale)
    return scale
