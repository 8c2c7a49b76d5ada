"""Encoders: frames (B, H, W, 3) uint8 [+ other senses] -> latent z (B, D).

A backbone (small CNN, or a ViT over patch tokens read out through a CLS token)
followed by a projector MLP with BatchNorm, as in LeWorldModel: the BatchNorm
keeps the latent's scale in a range the anti-collapse term can shape.

Other senses (model.senses) get a part of the latent of their own: each has a small MLP (with
BatchNorm, as the projector) onto `latent_dim // 8` dimensions, and the frame's projector fills the
rest. One latent then holds what is seen, felt (proprio) and heard (audio), and the predictor, which
attends over all of it, forecasts each sense from all of them (a collision it sees coming predicts a
sound). A part of its own, held at unit variance over the batch by a BatchNorm, is what keeps a sense in
the latent: those dimensions only a sense reaches, so they can only vary by carrying it. Added into
the frame's features instead, a sound the predictor cannot forecast is cheapest to ignore (the
measurement: docs/measurements.md, "Figures behind code comments"). A depth map (metres from the
camera, a spatial channel of MuJoCo envs) is small (model.depth_size, 16 x 16) and enters the same
way, flattened. Proprio enters through symlog (sign(x) log(1 + |x|)): joint velocities of 80 and
positions of 0.1 share one range without statistics from the data.

model.appearance adds a last part read from the pixels by AppearancePresence: which local patterns
show anywhere in the frame, not where. The frame's projector keeps little of an object's look (on
`bounce` a recoloured object moves it a seventh of a frame's motion), and the predictor takes it from
the newest frame only, so an object that comes out of an occluder as something else surprises no
one; the predictor forecasts this part from the most of each pattern over its context instead
(models/predictor.py), so what went out of sight is expected back as it was.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig


def to_float_image(pixels: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8 -> (B, 3, H, W) float in [-1, 1]."""
    return pixels.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of each position of a (B, C, H, W) map: unlike GroupNorm, whose
    statistics span the whole map, what happens in one corner leaves the other corners' features alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class CNNBackbone(nn.Module):
    """Four stride-2 convolutions: 64x64 -> 4x4, then a linear readout of the whole map, or with
    model.spatial one readout per cell (the same 1x1 linear map at every cell, and norms per position
    so that each cell's token holds what its receptive field sees)."""

    def __init__(self, cfg: ModelConfig, out_dim: int):
        super().__init__()
        w = cfg.width
        chans = [3, w, 2 * w, 4 * w, 4 * w]
        layers = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            norm = ChannelNorm(cout) if cfg.spatial else nn.GroupNorm(min(8, cout), cout)
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), norm, nn.GELU()]
        self.convs = nn.Sequential(*layers)
        side = cfg.image_size // 16
        self.spatial = cfg.spatial
        self.readout = nn.Conv2d(chans[-1], out_dim, 1) if cfg.spatial else nn.Linear(chans[-1] * side * side, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, out), spatial: (B, cells, out)
        if self.spatial:
            return self.readout(self.convs(x)).flatten(2).transpose(1, 2)
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
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], 1) + self.pos
        return self.readout(self.norm(self.blocks(tokens)[:, 0]))


def _sense_mlp(n_in: int, out: int, hidden: int = 128) -> nn.Sequential:
    # the last BatchNorm holds the part at unit variance over the batch: it cannot fade to a constant
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(n_in, hidden),
        nn.BatchNorm1d(hidden),
        nn.GELU(),
        nn.Linear(hidden, out),
        nn.BatchNorm1d(out, affine=False),
    )


class AppearancePresence(nn.Module):
    """model.appearance: how strongly each of `out` learned local patterns (a colour, an edge, a
    corner; a 5-pixel receptive field) shows anywhere in the frame: the maximum of each pattern's map
    over all places. Moving an object leaves it alone; recolouring or reshaping one changes it; an
    object out of sight takes its patterns with it. The BatchNorm (no affine, as the senses' parts)
    holds each pattern at unit variance over the batch, so patterns that tell scenes apart cannot
    fade, and being a per-dimension increasing map it keeps "the most of each pattern" meaningful
    for the predictor's running maximum."""

    def __init__(self, out: int, width: int = 16):
        super().__init__()
        self.patterns = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.GELU(),
                                      nn.Conv2d(width, out, 3, stride=2, padding=1))
        self.norm = nn.BatchNorm1d(out, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) in [-1, 1] -> (B, out)
        return self.norm(self.patterns(x).amax((2, 3)))


def sense_dims(cfg: ModelConfig) -> dict[str, int]:
    """Latent dimensions of each part, in the latent's order: "frames", one per other sense, and
    "appearance" last (model.appearance)."""
    own = {s: max(1, cfg.latent_dim // 8) for s in cfg.sense_list + (["appearance"] if cfg.appearance else [])}
    return {"frames": cfg.latent_dim - sum(own.values()), **own}


class Encoder(nn.Module):
    def __init__(self, cfg: ModelConfig, feature_dim: int = 256, hidden: int = 512, video=None):
        super().__init__()
        self.image_size = cfg.image_size
        self.senses = cfg.sense_list
        self.sense_shapes = {"proprio": (cfg.proprio_dim,), "audio": (cfg.audio_mels, cfg.audio_steps),
                             "depth": (cfg.depth_size, cfg.depth_size)}
        dims = sense_dims(cfg)
        self.embed = nn.ModuleDict({s: _sense_mlp(int(torch.tensor(self.sense_shapes[s]).prod()), dims[s])
                                    for s in self.senses})
        if video is not None:  # frozen pretrained video encoder + trained readout
            from .hf_video import HFVideoBackbone, is_hf_spec
            from .video import FrozenVideoBackbone
            self.backbone = (HFVideoBackbone if is_hf_spec(video) else FrozenVideoBackbone)(video, feature_dim)
        else:
            self.backbone = (CNNBackbone if cfg.encoder == "cnn" else ViTBackbone)(cfg, feature_dim)
        self.appearance = AppearancePresence(dims["appearance"]) if cfg.appearance else None
        self.projector = nn.Sequential(
            nn.Linear(feature_dim, hidden), nn.BatchNorm1d(hidden), nn.GELU(),
            nn.Linear(hidden, dims["frames"] // cfg.cells))

    def forward(self, pixels: torch.Tensor, **senses: torch.Tensor) -> torch.Tensor:
        """pixels (B, H, W, 3) uint8 [, proprio (B, P), audio (B, M, S), depth (B, d, d)] -> z (B, D)."""
        if pixels.shape[-3:] != (self.image_size, self.image_size, 3):
            raise ValueError(f"encoder expects frames of shape (..., {self.image_size}, {self.image_size}, 3), "
                             f"got {tuple(pixels.shape)}")
        x = to_float_image(pixels)
        if self.training and x.shape[0] == 1:  # (in this order: an exported eval model keeps a free batch)
            # BatchNorm cannot take a batch of one in training mode; such calls are inference.
            raise ValueError("encoder in training mode needs a batch of at least 2 frames")
        features = self.backbone(x)  # (B, F), or spatial (B, cells, F)
        # spatial: every cell through the same projector, BatchNorm over all cells of the batch
        parts = [self.projector(features.reshape(-1, features.shape[-1])).reshape(x.shape[0], -1)]
        for name in self.senses:
            value = senses.get(name)
            want = self.sense_shapes[name]
            if value is None:
                raise ValueError(
                    f"this model fuses {name}: give it beside the frames, shape (..., {', '.join(map(str, want))})"
                )
            if tuple(value.shape[1:]) != want:
                raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, want))}), got {tuple(value.shape)}")
            value = value.float()
            if name == "proprio":
                value = value.sign() * value.abs().log1p()
            parts.append(self.embed[name](value))
        if self.appearance is not None:
            parts.append(self.appearance(x))
        return torch.cat(parts, -1) if len(parts) > 1 else parts[0]


def resize_frames(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (B, H, W, 3) uint8 frames to (B, size, size, 3) with area/bilinear filtering."""
    x = pixels.permute(0, 3, 1, 2).float()
    mode = "area" if x.shape[-1] > size else "bilinear"
    x = F.interpolate(x, size=(size, size), mode=mode)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
