"""Surprise: how badly a model predicted what it then saw, frame by frame.

    from jepalab.evals.surprise import surprise_curve
    curve = surprise_curve(model, frames)      # (T,) floats, NaN where no prediction is made

Video model (`jepalab pretrain`): windows of the model's clip length slide over the video one tubelet
at a time. In each, the predictor sees every token of the first `context` time steps (tubelets) and
predicts the latents of the next `horizon` steps; a step's surprise is the L1 error against the EMA
encoder's layer-normed latents, the training target. A step predicted from several windows (horizon
> 1) averages them. Each frame takes its tubelet step's value, so the curve has the frame rate of the
video; it is NaN over the first context and over the last steps that no window predicts (with an
8-frame window, 2 steps of context and a horizon of 1: the first 4 and the last 2 frames).

Action-conditioned world model (`jepalab train`): every frame is one model step (choose the video's
fps to match the world's step); the predictor sees the latents of the previous `context` frames (by
default and at most its `history`) with **zero actions** (a video carries none: "the agent does
nothing"; for a passive world such as `bounce` that is exactly its training data), and a frame's
surprise is the mean squared error of its predicted latent; with `horizon` > 1, the mean over the
predictions made 1..horizon frames ahead (imagined by feeding predictions back, as planning does).
A model with an appearance part (model.variant=appearance) remembers each look over the whole clip, not just
its context, and scores each part of its latent in units of that part's median error on its training
clips (`calibrate_surprise`, run by every checkpoint save), summed over the parts.
NaN over the first context + horizon - 1 frames and the last horizon - 1, which not every lead reaches.

Pixel baseline (`PixelPredictor`): the same windows and steps as the video model, predicting pixels
instead of latents; its error per patch of the video model's grid is the mean squared pixel error.

Both pool a time step's token (patch) errors the same way: the mean of the largest eighth
(`top_tokens`), so that one small object that misbehaves is not averaged away by the background.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import TrainConfig
from ..masks import future_masks
from ..models.part_errors import (
    SurpriseError,
    _as_video,
    calibrate_surprise,  # noqa: F401  (re-exported: where users found it)
    world_model_part_errors,
)
from ..models.video import VideoJEPA, gather_tokens
from ..models.world_model import WorldModel
from ..training.loop import TrainingLoop


def top_tokens(errors: torch.Tensor) -> torch.Tensor:
    """(..., tokens) -> (...): the mean of the largest eighth of a time step's token errors. An object
    covers a few of the 64 tokens of a bounce frame; averaged over all of them, its error would drown
    in the background's."""
    k = max(1, errors.shape[-1] // 8)
    return errors.topk(k, dim=-1).values.mean(-1)


def _steps_to_frames(step_values: np.ndarray, tubelet: int, frames: int) -> np.ndarray:
    out = np.repeat(step_values, tubelet)
    return np.concatenate([out, np.full(frames - len(out), np.nan)])[:frames]


def _mean_over_leads(firsts: list[int], errors: np.ndarray, length: int, horizon: int) -> np.ndarray:
    """errors[i] (horizon,) are the errors of predicting steps firsts[i]..firsts[i]+horizon-1, 1..horizon
    steps ahead. -> (length,): each step's mean over its leads, NaN unless every lead was made (so a
    constant video gives a flat curve)."""
    total, count = np.zeros(length), np.zeros(length)
    for first, row in zip(firsts, errors):
        total[first : first + horizon] += row
        count[first : first + horizon] += 1
    with np.errstate(invalid="ignore"):
        return total / np.where(count == horizon, count, np.nan)


def _window_curve(
    step_errors, video: torch.Tensor, window: int, tubelet: int, context: int, horizon: int, batch: int
) -> np.ndarray:
    """Windows of `window` frames slide by one tubelet; `step_errors(clips) -> (B, horizon)`: errors of
    the window steps context..context+horizon-1 given the steps before them. The query is the same in
    every window (the same positions), so a constant video gets a flat curve; the price is that the
    last steps of a video, which no window can reach at that place, get none. -> per-frame curve."""
    T, S = len(video) // tubelet, window // tubelet
    starts = list(range(0, T - S + 1))
    errors = [
        step_errors(torch.stack([video[w * tubelet : w * tubelet + window] for w in starts[i : i + batch]]))
        .cpu()
        .double()
        .numpy()
        for i in range(0, len(starts), batch)
    ]
    steps = _mean_over_leads([w + context for w in starts], np.concatenate(errors), T, horizon)
    return _steps_to_frames(steps, tubelet, len(video))


def _check_steps(steps: int, context: int, horizon: int) -> None:
    if not 1 <= context < steps:
        raise SurpriseError(f"context must be 1..{steps - 1} time steps for this model, got {context}")
    if not 1 <= horizon <= steps - context:
        raise SurpriseError(f"horizon must be 1..{steps - context} time steps with context {context}, got {horizon}")


@torch.no_grad()
def video_model_curve(
    model: VideoJEPA, frames, context: int | None = None, horizon: int = 1, batch: int = 32, name: str = "video"
) -> np.ndarray:
    c = model.cfg
    steps, per_step = c.grid[0], c.grid[1] * c.grid[2]
    context = context or c.context_steps
    _check_steps(steps, context, horizon)
    video = _as_video(frames, c.size, c.frames, name)
    model.eval()
    target_encoder = model.feature_encoder

    def step_errors(clips: torch.Tensor) -> torch.Tensor:
        B = len(clips)
        ctx, tgt = future_masks(B, c.grid, context, horizon)
        full = target_encoder(clips)
        target = gather_tokens(F.layer_norm(full, full.shape[-1:]), tgt)
        pred = model.predictor(model.encoder(clips, keep=ctx), ctx, tgt)
        return top_tokens((pred - target).abs().mean(-1).reshape(B, horizon, per_step))

    return _window_curve(step_errors, video, c.frames, c.tubelet, context, horizon, batch)


def world_model_curve(
    model: WorldModel,
    frames,
    horizon: int = 1,
    batch: int = 256,
    name: str = "video",
    senses: dict | None = None,
    context: int | None = None,
) -> np.ndarray:
    """Frame f's surprise: the error of its latent as imagined (zero actions) from the `context` frames
    (1..history, default: the model's history) before f - l + 1, averaged over leads l = 1..horizon;
    NaN where not every lead can be made. The error is the mean squared error over the latent, or,
    for a model calibrated by `calibrate_surprise`, the sum over its parts of each part's mean squared
    error in units of its median on training clips. `senses`: the model's other senses, one row per
    frame (e.g. {"audio": (T, M, S)})."""
    ends, errors = world_model_part_errors(model, frames, horizon, batch, name, senses, context)
    dims = np.array(list(model.surprise_parts().values()), np.float64)
    scale = (
        model.surprise_scale.double().cpu().numpy() if hasattr(model, "surprise_scale") else np.full(len(dims), np.nan)
    )
    per_lead = (errors / scale).sum(-1) if np.isfinite(scale).all() else errors @ dims / dims.sum()
    return _mean_over_leads(ends, per_lead, len(frames), horizon)


class PixelPredictor(nn.Module):
    """The pixel-space baseline: a small conv net that sees the context frames of a window (stacked
    as channels) and predicts the frames of the next time step. Trained on the same stream of clips
    as the video model, it asks whether latent prediction adds anything over predicting pixels."""

    def __init__(self, cfg, width: int = 48):
        super().__init__()
        self.cfg = cfg
        self.context = cfg.context_steps * cfg.tubelet
        self.net = nn.Sequential(
            nn.Conv2d(3 * self.context, width, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(width, width, 3, padding=2, dilation=2),
            nn.GELU(),
            nn.Conv2d(width, width, 3, padding=4, dilation=4),
            nn.GELU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(width, 3 * cfg.tubelet, 3, padding=1),
        )

    @staticmethod
    def _floats(clips: torch.Tensor) -> torch.Tensor:
        return clips.permute(0, 1, 4, 2, 3).float().div(255)  # (B, T, 3, H, W)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """clips (B, >= context, H, W, 3) uint8 -> next `tubelet` frames (B, tubelet, 3, H, W) in [0, 1]."""
        x = self._floats(clips[:, : self.context])
        last = x[:, -1:]
        delta = self.net(x.flatten(1, 2)).view(len(x), self.cfg.tubelet, 3, *x.shape[-2:])
        return last + delta  # a change from the last frame seen: "nothing moves" is the easy answer

    def step_errors(self, clips: torch.Tensor) -> torch.Tensor:
        """Errors of the step after the context (its windows are exactly context + one step long)."""
        t = self.cfg.tubelet
        target = self._floats(clips[:, self.context : self.context + t])
        err = (self(clips) - target).pow(2).mean((1, 2))  # (B, H, W)
        patches = F.avg_pool2d(err[:, None], self.cfg.patch).flatten(1)  # (B, patches): the video model's grid
        return top_tokens(patches[:, None])

    def curve(self, frames, batch: int = 64, name: str = "video") -> np.ndarray:
        c = self.cfg
        video = _as_video(frames, c.size, self.context + c.tubelet, name)
        self.eval()
        with torch.no_grad():
            return _window_curve(
                self.step_errors, video, self.context + c.tubelet, c.tubelet, c.context_steps, 1, batch
            )


class PixelTrainer(TrainingLoop):
    """The pixel baseline's training, in the shared loop: AdamW, cosine decay to zero, no clip, no
    checkpoints (it trains in seconds, beside the evaluation that needs it)."""

    desc = "pixel baseline"

    def __init__(self, cfg, source, steps: int, batch: int, lr: float, progress: bool):
        t = TrainConfig(
            steps=steps,
            batch_size=batch,
            lr=lr,
            weight_decay=1e-4,
            grad_clip=0.0,
            warmup_steps=0,
            log_every=steps,
            checkpoint_every=steps,
            precision="fp32",
        )
        super().__init__(cfg, PixelPredictor(cfg), t, None, torch.device("cpu"), progress)
        self.source = source

    def lr(self, step: int) -> float:
        return self.train_cfg.lr * 0.5 * (1 + np.cos(np.pi * step / self.train_cfg.steps))

    def next_batch(self) -> tuple:
        return (self.source.batch(self.train_cfg.batch_size),)

    def loss(self, clips: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return self.model.step_errors(clips).mean(), {}


def train_pixel_predictor(
    cfg, source, steps: int = 300, batch: int = 16, lr: float = 2e-3, seed: int = 0, progress: bool = False
) -> PixelPredictor:
    """Fit the pixel baseline on clips from `source` (a clip source, as pretraining's)."""
    torch.manual_seed(seed)
    trainer = PixelTrainer(cfg, source, steps, batch, lr, progress)
    trainer.run()
    return trainer.model.eval()


NORMALISE = ("none", "running")


def running_normalised(curve: np.ndarray, min_history: int = 3) -> np.ndarray:
    """Scale-aware surprise: each frame's value in units of the median of the video's own earlier
    values (causal, so a twin's later event cannot lower its own peak). A new domain raises every
    frame's error together; a frame that stands out against its own video still stands out. NaN
    until `min_history` earlier values exist."""
    curve = np.asarray(curve, np.float64)
    out = np.full_like(curve, np.nan)
    seen = []
    for t, value in enumerate(curve):
        if len(seen) >= min_history and np.isfinite(value):
            out[t] = value / max(float(np.median(seen)), 1e-12)
        if np.isfinite(value):
            seen.append(value)
    return out


def surprise_curve(
    model,
    frames,
    context: int | None = None,
    horizon: int = 1,
    name: str = "video",
    senses: dict | None = None,
    windows=None,
) -> np.ndarray:
    """Per-frame surprise of any jepalab model (see the module docstring); NaN where none is made.
    `senses`: a world model's other senses per frame (e.g. {"audio": ...}), when it fuses any.
    `windows` (evals/window_surprise.Windows): the paper's windowed losses instead, each at its window's
    first predicted frame; a transformers V-JEPA 2 (hf:) is scored only that way."""
    from ..models.hf_video import VJEPA2Predictor
    from .window_surprise import Windows, windows_curve

    if windows is not None or isinstance(model, VJEPA2Predictor):
        if senses:
            raise SurpriseError("windowed surprise takes frames alone, not other senses")
        return windows_curve(model, frames, windows or Windows(context=context), name=name)
    if isinstance(model, VideoJEPA):
        return video_model_curve(model, frames, context, horizon, name=name)
    if isinstance(model, WorldModel):
        return world_model_curve(model, frames, horizon, name=name, senses=senses, context=context)
    if isinstance(model, PixelPredictor):
        return model.curve(frames, name=name)
    raise SurpriseError(f"no surprise for a {type(model).__name__}")


def summarize(curve: np.ndarray) -> dict:
    """-> {"frames", "surprise" (NaN kept), "peak_frame", "peak"}; peak over the frames with a value."""
    if np.isnan(curve).all():
        raise SurpriseError("no frame has a prediction")
    k = int(np.nanargmax(curve))
    return {"frames": len(curve), "surprise": [float(x) for x in curve], "peak_frame": k, "peak": float(curve[k])}


def plot_curve(row: dict, path):
    """One video's surprise over its frames, the peak marked; -> the PNG path."""
    from pathlib import Path

    from ..plots import pyplot

    plt = pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 2.6))
    ax.plot(row["surprise"], color="tab:red")
    ax.axvline(row["peak_frame"], color="grey", ls="--", lw=1)
    ax.set_xlabel("frame")
    ax.set_ylabel("surprise")
    ax.set_title(f"{Path(row.get('path', '')).name}: peak {row['peak']:.4f} at frame {row['peak_frame']}", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
