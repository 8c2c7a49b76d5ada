"""The encoder: frames (B, H, W, 3) uint8 -> latent z (B, D).

A backbone (models/backbones.py: a small CNN, a ViT, or a frozen pretrained video encoder) followed
by a projector MLP with BatchNorm, as in LeWorldModel: the BatchNorm keeps the latent's scale in a
range the anti-collapse term can shape.

The optional parts of the latent compose around this one: other senses (models/senses.py), an
appearance part (models/appearance.py), one token per cell (models/spatial.py).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..config import ModelConfig
from .backbones import make_backbone

FEATURES, HIDDEN = 256, 512  # the backbone's output and the projector's hidden width


def as_frames(x) -> torch.Tensor:
    """Frames in any common convention -> (..., H, W, 3) uint8, converted by a stated rule or refused,
    never rescaled by guess: uint8 0-255 (jepalab's, gymnasium's) as they are; float frames are read
    as 0-1 (LeRobot's and torchvision's convention) and refused outside it; numpy arrays or torch
    tensors; channels last (..., H, W, 3) or first (..., 3, H, W)."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not torch.is_tensor(x):
        raise TypeError(f"frames must be a numpy array or a torch tensor, got {type(x).__name__}")
    if x.ndim < 3:
        raise ValueError(f"frames must be (..., H, W, 3) or (..., 3, H, W), got shape {tuple(x.shape)}")
    if x.shape[-1] != 3 and x.shape[-3] == 3:  # channels first
        x = x.movedim(-3, -1)
    if x.dtype == torch.uint8:
        return x
    if x.is_floating_point():
        lo, hi = (float(v) for v in torch.aminmax(x.detach().float())) if x.numel() else (0.0, 1.0)
        if not (0.0 <= lo and hi <= 1.0):
            raise ValueError(
                f"float frames are read as 0-1 (LeRobot's and torchvision's convention); these hold "
                f"values in [{lo:g}, {hi:g}]: pass 0-255 frames as uint8"
            )
        return (x * 255).round().to(torch.uint8)
    raise ValueError(f"frames must be uint8 (0-255) or float (0-1), got {x.dtype}")


def to_float_image(pixels: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-1, 1]."""
    return pixels.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def make_projector(out_dim: int, features: int = FEATURES, hidden: int = HIDDEN) -> nn.Sequential:
    return nn.Sequential(nn.Linear(features, hidden), nn.BatchNorm1d(hidden), nn.GELU(), nn.Linear(hidden, out_dim))


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig, video=None, parts: dict[str, nn.Module] | None = None):
        """video: model.video_encoder's spec (models/backbones.make_backbone). parts: the encoder's modules
        by name ("backbone", "projector" and what a variant adds), each becoming the attribute of that
        name, in the order they were built; None: the base's own. A variant builds its parts in an order
        of its own, because a model's random initial weights follow the order its parts are built in,
        and the runs measured so far used that order."""
        super().__init__()
        self.image_size = cfg.image_size
        if parts is None:
            parts = {"backbone": make_backbone(cfg, FEATURES, video), "projector": make_projector(cfg.latent_dim)}
        for name, module in parts.items():
            self.add_module(name, module)

    def frames(self, pixels: torch.Tensor) -> torch.Tensor:
        """Checked frames (B, H, W, 3) uint8 -> (B, 3, H, W) floats."""
        if pixels.shape[-3:] != (self.image_size, self.image_size, 3):
            raise ValueError(
                f"encoder expects frames of shape (..., {self.image_size}, {self.image_size}, 3), "
                f"got {tuple(pixels.shape)}"
            )
        x = to_float_image(pixels)
        if self.training and x.shape[0] == 1:  # (in this order: an exported eval model keeps a free batch)
            # BatchNorm cannot take a batch of one in training mode; such calls are inference.
            raise ValueError("encoder in training mode needs a batch of at least 2 frames")
        return x

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return self.projector(features)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels (B, H, W, 3) uint8 -> z (B, D)."""
        return self.project(self.backbone(self.frames(pixels)))

    # -- a frozen front, computed once (training/feature_cache.py) ---------------------
    @property
    def frozen_front(self) -> str | None:
        """What of this encoder never learns and so can be computed once per frame and cached: "all"
        (model.freeze_encoder: z itself), "backbone" (a frozen pretrained encoder before its trained
        readout), or None (the whole encoder learns)."""
        if not any(p.requires_grad for p in self.parameters()):
            return "all"
        return "backbone" if hasattr(self.backbone, "frozen_features") else None

    def frozen_state(self) -> dict[str, torch.Tensor]:
        """The weights and buffers the frozen front's output depends on (a cache's key)."""
        if self.frozen_front == "all":
            return self.state_dict()
        return {k: v for k, v in self.backbone.state_dict().items() if not k.startswith("readout.")}

    @torch.no_grad()
    def frozen_features(self, pixels: torch.Tensor) -> torch.Tensor:
        """Frames (B, H, W, 3) uint8 -> the frozen front's output (B, F), in eval mode."""
        if self.frozen_front == "all":
            return self(pixels)
        return self.backbone.frozen_features(self.frames(pixels))

    def from_features(self, features: torch.Tensor) -> torch.Tensor:
        """The learning rest of the encoder on cached front features (B, F) -> z (B, D)."""
        if self.frozen_front == "all":
            return features
        return self.project(self.backbone.from_features(features))

    def encode(self, obs) -> torch.Tensor:
        """Frames (..., H, W, 3) uint8, or an observation dict holding them as "pixels" (or a frozen
        front's cached "features" (..., F)) -> z (..., D)."""
        if isinstance(obs, dict) and "features" in obs:
            f = obs["features"]
            return self.from_features(f.reshape(-1, f.shape[-1])).reshape(*f.shape[:-1], -1)
        pixels = obs["pixels"] if isinstance(obs, dict) else obs
        lead = pixels.shape[:-3]
        return self(pixels.reshape(-1, *pixels.shape[-3:])).reshape(*lead, -1)

    def observation_batch(self, observations: list[dict], goal: bool = False):
        """A batch of a world's observation dicts (numpy, as env.reset/step return them) -> what
        `encode` takes; goal=True: their info dicts' "goal" images."""
        return torch.from_numpy(np.stack([o["goal" if goal else "pixels"] for o in observations]))
