"""Surprise as the V-JEPA intuitive-physics paper computes it (Garrido et al. 2025,
facebookresearch/jepa-intuitive-physics), beside evals/surprise.py's per-frame curves.

    from jepalab.evals.window_surprise import Windows, windows_curve, video_score
    w = Windows(context=4, window=16, stride=2, reduce="max")
    curve = windows_curve(model, frames, w)    # (T,): each window's loss at its first predicted frame
    score = video_score(curve, w.reduce)       # the video's surprise: max (or mean) over windows

Windows of `window` frames slide over the video by `stride` frames. In each, the model sees the
first `context` and predicts everything after it, to the window's end; the window's loss is the mean
absolute error of the layer-normed targets over all predicted tokens (frames) and features. A video's
score is the max or the mean over its windows, and a pair is won when the impossible video scores
higher, over the whole clip, with no knowledge of where the event is.

Per model (its `context` unit):
- a transformers V-JEPA 2 (models/hf_video.VJEPA2Predictor; frames, a multiple of its tubelet):
  the paper's model, 16-frame windows by default;
- a jepalab video model (tubelets; the window is its clip): targets from its EMA encoder, layer-normed
  as in training;
- an action-conditioned world model (frames, 1..its history): the rest of the window is imagined with
  zero actions, as evals/surprise.py does for one frame, and both predicted and seen latents are
  layer-normed (it was trained on raw latents; layer-norming only the target would score its scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..masks import future_masks
from ..models.hf_video import VJEPA2Predictor
from ..models.part_errors import SurpriseError, _as_video, world_model_part_errors
from ..models.video import VideoJEPA, gather_tokens
from ..models.world_model import WorldModel

REDUCE = ("max", "mean")
SCORING = ("frames", "windows")
PAPER_WINDOW = 16  # frames, the paper's (its context lengths: 2 to 10 frames)


@dataclass(frozen=True)
class Windows:
    """How windows are cut and a video's score is made; None: the model's default."""

    context: int | None = None
    window: int | None = None
    stride: int = 2
    reduce: str = "max"

    def __post_init__(self):
        if self.reduce not in REDUCE:
            raise SurpriseError(f"reduce must be one of {REDUCE}, got {self.reduce!r}")
        if self.stride < 1:
            raise SurpriseError(f"stride must be >= 1 frames, got {self.stride}")


def _slide(loss_fn, video: torch.Tensor, window: int, stride: int, batch: int) -> tuple[list[int], np.ndarray]:
    """loss_fn(clips (B, window, H, W, 3)) -> (B,); -> (window starts, their losses)."""
    starts = list(range(0, len(video) - window + 1, stride))
    losses = [
        loss_fn(torch.stack([video[s : s + window] for s in starts[i : i + batch]])).double().cpu().numpy()
        for i in range(0, len(starts), batch)
    ]
    return starts, np.concatenate(losses)


def _hf(model: VJEPA2Predictor, frames, w: Windows, name: str, batch: int):
    window, context = w.window or PAPER_WINDOW, w.context or PAPER_WINDOW // 4
    video = _as_video(frames, model.size, window, name)
    starts, losses = _slide(lambda clips: model.window_losses(clips, context), video, window, w.stride, batch)
    return starts, losses, context


@torch.no_grad()
def _video_model(model: VideoJEPA, frames, w: Windows, name: str, batch: int):
    c = model.cfg
    if w.window not in (None, c.frames):
        raise SurpriseError(f"this video model's window is its clip, {c.frames} frames, got {w.window}")
    steps, k = c.grid[0], w.context or c.context_steps
    if not 1 <= k < steps:
        raise SurpriseError(f"context must be 1..{steps - 1} time steps for this model, got {k}")
    video = _as_video(frames, c.size, c.frames, name)
    model.eval()

    def loss_fn(clips):
        ctx, tgt = future_masks(len(clips), c.grid, k)
        full = model.feature_encoder(clips)
        target = gather_tokens(F.layer_norm(full, full.shape[-1:]), tgt)
        return (model.predictor(model.encoder(clips, keep=ctx), ctx, tgt) - target).abs().mean((1, 2))

    starts, losses = _slide(loss_fn, video, c.frames, w.stride, batch)
    return starts, losses, k * c.tubelet


def _world_model(model: WorldModel, frames, w: Windows, name: str, batch: int):
    k = w.context or model.cfg.history
    window = w.window or PAPER_WINDOW
    if not 1 <= k < window:
        raise SurpriseError(f"context ({k} frames) must be shorter than the window ({window})")
    ends, errors = world_model_part_errors(model, frames, window - k, 256, name, context=k, layer_norm=True)
    dims = np.array(list(model.surprise_parts().values()), np.float64)
    per_window = (errors @ dims / dims.sum()).mean(1)  # the whole latent's error, over the predicted frames
    keep = [i for i, e in enumerate(ends) if (e - k) % w.stride == 0]
    return [ends[i] - k for i in keep], per_window[keep], k


def window_losses(model, frames, w: Windows = Windows(), name: str = "video", batch: int = 16):
    """-> (window starts, losses (n,), context in frames): every window of the video scored."""
    if isinstance(model, VJEPA2Predictor):
        return _hf(model, frames, w, name, batch)
    if isinstance(model, VideoJEPA):
        return _video_model(model, frames, w, name, batch)
    if isinstance(model, WorldModel):
        return _world_model(model, frames, w, name, batch)
    raise SurpriseError(f"no window surprise for a {type(model).__name__}")


def windows_curve(model, frames, w: Windows = Windows(), name: str = "video") -> np.ndarray:
    """(T,): each window's loss at its first predicted frame, NaN at the frames no window starts
    predicting at, so that the per-frame tools (peaks, plots, pairs) take it as they take a curve."""
    starts, losses, context = window_losses(model, frames, w, name)
    curve = np.full(len(frames), np.nan)
    curve[np.asarray(starts, int) + context] = losses
    return curve


def video_score(curve: np.ndarray, reduce: str = "max") -> float:
    """A video's surprise from its windows' losses: their max or their mean."""
    if reduce not in REDUCE:
        raise SurpriseError(f"reduce must be one of {REDUCE}, got {reduce!r}")
    if not np.isfinite(curve).any():
        raise SurpriseError("no window has a loss")
    return float(np.nanmax(curve) if reduce == "max" else np.nanmean(curve))
