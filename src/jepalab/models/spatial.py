"""model.variant=spatial: one latent token per cell of the CNN's last feature map (4 x 4 at 64 px), as DINO-WM
keeps patch features, instead of one vector per frame.

The CNN reads out each cell with the same 1x1 linear map and normalises per position, so that each
cell's token holds what its receptive field sees; every cell goes through the same projector, with
BatchNorm over all cells of the batch. z stays a flat vector (latent_dim = cells x token size). The
predictor attends over every cell of every frame so far (causal in frames, not in cells), each cell
with its own position, and each frame's action conditions all of its cells.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .backbones import CNNBackbone
from .encoder import FEATURES, Encoder, make_projector
from .predictor import Predictor
from .world_model import WorldModel


class ChannelNorm(nn.LayerNorm):
    """LayerNorm over the channels of each position of a (B, C, H, W) map: unlike GroupNorm, whose
    statistics span the whole map, what happens in one corner leaves the other corners' features alone."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class SpatialCNN(CNNBackbone):
    """The CNN with norms per position and one readout per cell: (B, 3, H, W) -> (B, cells, out)."""

    def norm(self, channels: int) -> nn.Module:
        return ChannelNorm(channels)

    def make_readout(self, channels: int, side: int, out_dim: int) -> nn.Module:
        return nn.Conv2d(channels, out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.convs(x)).flatten(2).transpose(1, 2)


class SpatialEncoder(Encoder):
    def __init__(self, cfg: ModelConfig, video=None):
        backbone = SpatialCNN(cfg, FEATURES)
        super().__init__(cfg, parts={"backbone": backbone, "projector": make_projector(cfg.latent_dim // cfg.cells)})

    def project(self, features: torch.Tensor) -> torch.Tensor:
        """(B, cells, F) -> (B, cells x token): every cell through the same projector."""
        return self.projector(features.reshape(-1, features.shape[-1])).reshape(features.shape[0], -1)


class SpatialPredictor(Predictor):
    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, token=cfg.latent_dim // cfg.cells)
        self.cells = cfg.cells
        self.cell_pos = nn.Parameter(torch.randn(1, 1, self.cells, cfg.pred_dim) * 0.02)

    def tokens(self, z: torch.Tensor, actions: torch.Tensor):
        B, T, D = z.shape
        N = self.cells
        x = self.inp(z.reshape(B, T, N, D // N)) + self.pos[:, :T, None] + self.cell_pos
        cond = self.action_embed(actions).repeat_interleave(N, dim=1)
        frame = torch.arange(T * N, device=z.device) // N
        return x.reshape(B, T * N, -1), cond, frame[:, None] >= frame[None, :]  # a frame's cells and those before


class SpatialWorldModel(WorldModel):
    """model.variant=spatial."""

    variant = "spatial"

    def make_encoder(self, cfg: ModelConfig, video=None) -> Encoder:
        return SpatialEncoder(cfg, video)

    def make_predictor(self, cfg: ModelConfig) -> Predictor:
        return SpatialPredictor(cfg)
