"""Encoders: frames (B, H, W, 3) uint8 -> latent z (B, D).

A backbone (small CNN, or a ViT over patch tokens read out through a CLS token)
followed by a projector MLP with BatchNorm, as in LeWorldModel: the BatchNorm
keeps the latent's scale in a range the anti-collapse term can shape.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig


def to_float_image(pixels: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-1, 1]."""
    return pixels.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class CNNBackbone(nn.Module):
    """Four stride-2 convolutions: 64x64 -> 4x4, then a linear readout."""

    def __init__(self, cfg: ModelConfig, out_dim: int):
        super().__init__()
        w = cfg.width
        chans = [3, w, 2 * w, 4 * w, 4 * w]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.GroupNorm(min(8, cout), cout), nn.GELU()]
        self.convs = nn.Sequential(*layers)
        side = cfg.image_size // 16
        self.readout = nn.Linear(chans[-1] * side * side, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, out)
        return self.readout(self.convs(x).flatten(1))


class ViTBackbone(nn.Module):
    """Patch tokens + CLS through pre-norm transformer blocks; the CLS token is the readout."""

    def __init__(self, cfg: ModelConfig, out_dim: int):
        super().__init__()
        dim = 4 * cfg.width
        n_tokens = (cfg.image_size // cfg.patch) ** 2
        self.patchify = nn.Conv2d(3, dim, cfg.patch, stride=cfg.patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n_tokens + 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, max(1, dim // 32), 4 * dim, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, cfg.vit_depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.readout = nn.Linear(dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patchify(x).flatten(2).transpose(1, 2)  # (B, N, dim)
        tokens = torch.cat([self.cls.expand(len(x), -1, -1), tokens], 1) + self.pos
        return self.readout(self.norm(self.blocks(tokens)[:, 0]))


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig, feature_dim: int = 256, hidden: int = 512, video=None):
        super().__init__()
        self.image_size = cfg.image_size
        if video is not None:  # a VideoConfig: frozen pretrained video encoder + trained readout
            from .video import FrozenVideoBackbone
            self.backbone = FrozenVideoBackbone(video, feature_dim)
        else:
            self.backbone = (CNNBackbone if cfg.encoder == "cnn" else ViTBackbone)(cfg, feature_dim)
        self.projector = nn.Sequential(
            nn.Linear(feature_dim, hidden), nn.BatchNorm1d(hidden), nn.GELU(), nn.Linear(hidden, cfg.latent_dim))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """pixels (B, H, W, 3) uint8 -> z (B, D)."""
        if pixels.shape[-3:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"encoder expects frames of shape (..., {self.image_size}, {self.image_size}, 3), "
                             f"got {tuple(pixels.shape)}")
        x = to_float_image(pixels)
        if x.shape[0] == 1 and self.training:
            # BatchNorm cannot take a batch of one in training mode; such calls are inference.
            raise ValueError("encoder in training mode needs a batch of at least 2 frames")
        return self.projector(self.backbone(x))


def resize_frames(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (B, H, W, 3) uint8 frames to (B, size, size, 3) with area/bilinear filtering."""
    x = pixels.permute(0, 3, 1, 2).float()
    mode = "area" if x.shape[-1] > size else "bilinear"
    x = F.interpolate(x, size=(size, size), mode=mode)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
