"""model.variant=appearance: a last part of the latent for which local patterns show anywhere in the frame,
not where, and a predictor that remembers it through occlusions.

The frame's projector keeps little of an object's look (on `bounce` a recoloured object moves it a
seventh of a frame's motion), and the predictor takes it from the newest frame only, so an object
that comes out of an occluder as something else surprises no one. Here the predictor forecasts this
part as a change of the most of each pattern seen so far (a running maximum over its window, and
`memory` before it) instead of the newest frame, so an object that went behind an occluder one frame
ago, or three, is still expected to look as it did, and a forecast that it stays hidden must be
learned, not defaulted to. A caller that has seen more of the clip than the window passes `memory`
(the part's maximum over every frame so far: surprise does, models/part_errors.py), so an occlusion
longer than the history is bridged as well.

Surprise scores this part apart from the rest, each in units of its median error on the training
clips (`surprise_scale`, measured at every checkpoint save by `calibrate`).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .backbones import make_backbone
from .encoder import FEATURES, Encoder, make_projector
from .part_errors import calibrate_surprise
from .predictor import Predictor
from .world_model import WorldModel


class AppearancePresence(nn.Module):
    """How strongly each of `out` learned local patterns (a colour, an edge, a corner; a 5-pixel
    receptive field) shows anywhere in the frame: the maximum of each pattern's map over all places.
    Moving an object leaves it alone; recolouring or reshaping one changes it; an object out of sight
    takes its patterns with it. The BatchNorm (no affine, as the senses' parts) holds each pattern at
    unit variance over the batch, so patterns that tell scenes apart cannot fade, and being a
    per-dimension increasing map it keeps "the most of each pattern" meaningful for the predictor's
    running maximum."""

    def __init__(self, out: int, width: int = 16):
        super().__init__()
        self.patterns = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.GELU(), nn.Conv2d(width, out, 3, stride=2, padding=1)
        )
        self.norm = nn.BatchNorm1d(out, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) in [-1, 1] -> (B, out)
        return self.norm(self.patterns(x).amax((2, 3)))


class AppearanceEncoder(Encoder):
    def __init__(self, cfg: ModelConfig, video=None):
        dims = cfg.part_dims()
        # built in this order: the backbone, the appearance part, the projector (Encoder's `parts`)
        backbone = make_backbone(cfg, FEATURES, video)
        appearance = AppearancePresence(dims["appearance"])
        super().__init__(
            cfg, parts={"backbone": backbone, "appearance": appearance, "projector": make_projector(dims["frames"])}
        )

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.frames(pixels)
        return torch.cat([self.project(self.backbone(x)), self.appearance(x)], -1)


class AppearancePredictor(Predictor):
    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.appearance = cfg.part_dims()["appearance"]

    def forward(self, z: torch.Tensor, actions: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        """As Predictor's; memory (B, K): the appearance part at its most over the frames before the window."""
        return self.base(z, memory) + self.change(z, actions)

    def base(self, z: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        """The newest latent, with the appearance part the most of each pattern seen so far."""
        K = self.appearance
        seen = z[..., -K:].cummax(1).values
        if memory is not None:
            seen = torch.maximum(seen, memory[:, None])
        return torch.cat([z[..., :-K], seen], -1)


class AppearanceWorldModel(WorldModel):
    """model.variant=appearance."""

    variant = "appearance"
    calibrated_at_save = ("surprise_scale",)

    def __init__(self, cfg: ModelConfig, video=None):
        super().__init__(cfg, video)
        self.appearance_dims = self.predictor.appearance
        # each surprise part's median error on training clips (`calibrate`, run at every checkpoint
        # save); NaN until then, and surprise is the plain mean squared error
        self.register_buffer("surprise_scale", torch.full((len(self.surprise_parts()),), float("nan")))

    def make_encoder(self, cfg: ModelConfig, video=None) -> Encoder:
        return AppearanceEncoder(cfg, video)

    def make_predictor(self, cfg: ModelConfig) -> Predictor:
        return AppearancePredictor(cfg)

    def surprise_parts(self) -> dict[str, int]:
        return {"motion": self.cfg.latent_dim - self.appearance_dims, "appearance": self.appearance_dims}

    def moving_part(self, z: torch.Tensor) -> torch.Tensor:
        """The appearance part changes only when something goes out of sight or comes back; spreading
        its changes would push it to follow places (training/objectives.py, reg_over=changes)."""
        return z[..., : z.shape[-1] - self.appearance_dims]

    def calibrate(self, clips) -> dict[str, torch.Tensor]:
        """surprise_scale from `clips` (frame arrays of training episodes, models/part_errors.py)."""
        scale = calibrate_surprise(self, clips)
        self.train()
        return {"surprise_scale": scale}

    def predict(self, z_hist: torch.Tensor, actions: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        return self.predictor(z_hist, actions, memory)

    def rollout(
        self,
        z_ctx: torch.Tensor,
        a_ctx: torch.Tensor,
        actions: torch.Tensor,
        window: int | None = None,
        memory: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """As WorldModel's; memory (B, K): the appearance part at its most over frames seen before
        z_ctx. The context's own and the imagined frames are added to it as the rollout goes (`carry`)."""
        return super().rollout(z_ctx, a_ctx, actions, window, **({} if memory is None else {"memory": memory}))

    def carry(self, carried: dict, seen: torch.Tensor) -> dict:
        if carried.get("memory") is None:
            return carried
        return {"memory": torch.maximum(carried["memory"], seen[..., -self.appearance_dims :].amax(1))}
