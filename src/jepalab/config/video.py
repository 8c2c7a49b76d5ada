"""The sections of a video pretraining run (V-JEPA): the video model, the clips' source, PretrainConfig."""

from __future__ import annotations

from dataclasses import dataclass, field

from .checks import choice_checks, train_checks
from .run import Sections
from .sections import TrainConfig, opt


@dataclass
class VideoConfig:
    frames: int = opt(8, "frames per clip")
    size: int = opt(64, "side of the square frames")
    tubelet: int = opt(2, "frames per space-time patch")
    patch: int = opt(8, "pixels per patch side")
    dim: int = opt(128, "encoder token width")
    depth: int = opt(4, "encoder transformer blocks")
    heads: int = opt(4, "encoder attention heads")
    pred_dim: int = opt(64, "predictor token width")
    pred_depth: int = opt(2, "predictor transformer blocks")
    target: str = opt("ema", "targets: ema (V-JEPA: EMA encoder, stop-gradient) | sigreg (LeJEPA: no EMA, SIGReg)")
    ema_start: float = opt(0.996, "EMA momentum at the start, rising linearly to ema_end")
    ema_end: float = opt(1.0, "EMA momentum at the end of training")
    reg_weight: float = opt(1.0, "sigreg target: weight of SIGReg on the encoder's tokens")
    reg_over: str = opt(
        "tokens",
        "sigreg target: the samples SIGReg shapes: tokens (every token of the batch) | clips "
        "(each token position across the batch's clips, its batch mean removed: "
        "what varies between scenes, not between places)",
    )
    projections: int = opt(256, "sigreg target: random 1-D projections per step")
    short_blocks: int = opt(8, "short-range target blocks per clip (15% of the frame each, whole clip in time)")
    long_blocks: int = opt(
        0,
        "long-range target blocks per clip (70% of the frame each). V-JEPA uses 8 and 2 on "
        "natural video (video-base); in a sparse world they hide the few moving objects "
        "from the context and pretraining learns to ignore them",
    )
    future_prob: float = opt(
        0.25,
        "share of pretraining steps that forecast: predict every token of the later "
        "time steps from all tokens of the first ones (masks.future_masks)",
    )
    future_context: int = opt(0, "time steps of context in forecasting steps (0: half the clip's steps)")
    recompute: bool = opt(
        False,
        "activation checkpointing: recompute each transformer block in the backward "
        "pass instead of storing its activations (less memory, ~1/3 more compute)",
    )

    @property
    def grid(self) -> tuple[int, int, int]:
        """(time steps, rows, columns) of space-time tokens."""
        return self.frames // self.tubelet, self.size // self.patch, self.size // self.patch

    @property
    def mask_specs(self):
        from ..masks import MaskSpec

        return tuple(
            MaskSpec(n, (scale, scale)) for n, scale in ((self.short_blocks, 0.15), (self.long_blocks, 0.7)) if n
        )

    @property
    def context_steps(self) -> int:
        """Time steps of context when forecasting (pretraining's future masks, surprise)."""
        return self.future_context or max(1, self.grid[0] // 2)

    @property
    def tokens(self) -> int:
        t, h, w = self.grid
        return t * h * w


@dataclass
class SourceConfig:
    world: str = opt("bounce", "built-in passive world to generate clips from (when no videos are given)")
    videos: str = opt("", "video files or folders, comma-separated (instead of a world)")
    store: str = opt("", "an episode store (a world's collected episodes) to cut clips from (instead of a world)")
    frame_step: int = opt(1, "store: environment steps between a clip's frames (the world model's frameskip)")
    fps: float = opt(10.0, "frames per second clips are sampled at from video files")
    seed: int = opt(0, "seed of generated scenes and of the clip order")


@dataclass
class PretrainConfig(Sections):
    video: VideoConfig = field(default_factory=VideoConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=1500, batch_size=16, lr=5e-4, warmup_steps=50))

    def validate(self) -> PretrainConfig:
        v = self.video
        checks = (
            [
                (
                    v.frames % v.tubelet == 0,
                    f"video.frames ({v.frames}) must be a multiple of video.tubelet ({v.tubelet})",
                ),
                (v.size % v.patch == 0, f"video.size ({v.size}) must be a multiple of video.patch ({v.patch})"),
                (v.dim % v.heads == 0, "video.dim must be divisible by video.heads"),
                (0.0 <= v.ema_start <= v.ema_end <= 1.0, "need 0 <= video.ema_start <= video.ema_end <= 1"),
                (
                    v.short_blocks >= 0 and v.long_blocks >= 0 and v.short_blocks + v.long_blocks >= 1,
                    "need video.short_blocks, video.long_blocks >= 0 and at least one block",
                ),
                (0.0 <= v.future_prob <= 1.0, "video.future_prob must be in [0, 1]"),
                (
                    0 <= v.future_context < v.frames // v.tubelet,
                    f"video.future_context must be in 0..{v.frames // v.tubelet - 1} (0: half the time steps)",
                ),
                (self.source.frame_step >= 1, f"source.frame_step must be >= 1, got {self.source.frame_step}"),
            ]
            + train_checks(self.train)
            + choice_checks(self)
        )
        return self._require(checks)
