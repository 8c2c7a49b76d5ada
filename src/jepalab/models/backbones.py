"""Frame backbones: frames (B, 3, H, W) in [-1, 1] -> features (B, F).

A small CNN (the default), a ViT read out through its CLS token, or with model.video_encoder a
frozen pretrained video encoder with a trained readout (models/video.py, models/hf_video.py).
model.variant=spatial's per-cell CNN lives with the rest of that option, in models/spatial.py.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig


class GroupNorm(nn.GroupNorm):
    """GroupNorm whose affine weights follow the input's dtype: under bf16 autocast the convolutions
    hand it bf16 maps, and torch's mixed bf16-input / fp32-weight kernel is several times slower than
    the plain bf16 one (which still accumulates its statistics in fp32). In fp32 nothing changes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == self.weight.dtype:
            return super().forward(x)
        return nn.functional.group_norm(
            x.contiguous(), self.num_groups, self.weight.to(x.dtype), self.bias.to(x.dtype), self.eps
        )


class CNNBackbone(nn.Module):
    """Four stride-2 convolutions: 64x64 -> 4x4, then a linear readout of the whole map."""

    def __init__(self, cfg: ModelConfig, out_dim: int):
        super().__init__()
        w = cfg.width
        chans = [3, w, 2 * w, 4 * w, 4 * w]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), self.norm(cout), nn.GELU()]
        self.convs = nn.Sequential(*layers)
        self.readout = self.make_readout(chans[-1], cfg.image_size // 16, out_dim)

    def norm(self, channels: int) -> nn.Module:
        return GroupNorm(min(8, channels), channels)

    def make_readout(self, channels: int, side: int, out_dim: int) -> nn.Module:
        return nn.Linear(channels * side * side, out_dim)

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
        layer = nn.TransformerEncoderLayer(
            dim,
            cfg.vit_heads or max(1, dim // 32),
            4 * dim,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, cfg.vit_depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.readout = nn.Linear(dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patchify(x).flatten(2).transpose(1, 2)  # (B, N, dim)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], 1) + self.pos
        return self.readout(self.norm(self.blocks(tokens)[:, 0]))


BACKBONES = {"cnn": CNNBackbone, "vit": ViTBackbone}  # model.encoder -> class; keys are config.CHOICES'


def make_backbone(cfg: ModelConfig, out_dim: int, video=None) -> nn.Module:
    """model.encoder's backbone; or, given `video` (model.video_encoder's spec: a VideoConfig or a
    transformers spec), that frozen pretrained encoder with a trained readout. Its weights are read
    from its run by checkpoint.build_world_model, which passes the spec."""
    if video is None:
        if cfg.video_encoder:
            raise ValueError(
                f"model.video_encoder={cfg.video_encoder}: build this model with "
                "checkpoint.build_world_model(cfg), which reads the encoder from its run"
            )
        return BACKBONES[cfg.encoder](cfg, out_dim)
    from .hf_video import HFVideoBackbone, is_hf_spec
    from .video import FrozenVideoBackbone

    return (HFVideoBackbone if is_hf_spec(video) else FrozenVideoBackbone)(video, out_dim)
