"""Video JEPA (V-JEPA): predict the latents of masked space-time tokens from the visible ones.

    video (B, T, H, W, 3) uint8
      -> tubelets of `tubelet` frames x `patch` x `patch` pixels -> tokens (B, N, dim), N = T/t * H/p * W/p
    encoder(context tokens only)         -> (B, Nc, dim)
    predictor(context + mask tokens)     -> predicted latents of the target tokens (B, Nt, dim)
    target = EMA encoder(all tokens), layer-normed, stop-gradient    (target="ema", V-JEPA)
           | the encoder itself + SIGReg on its tokens                (target="sigreg", LeJEPA)
    loss   = L1(prediction, target) [+ weight * SIGReg]
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..objectives import ema_update, sigreg


def _blocks(dim: int, depth: int, heads: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, N, C), idx (B, K) -> (B, K, C)."""
    return torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[-1]))


class VideoEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Conv3d(3, cfg.dim, (cfg.tubelet, cfg.patch, cfg.patch), stride=(cfg.tubelet, cfg.patch, cfg.patch))
        self.pos = nn.Parameter(torch.randn(1, cfg.tokens, cfg.dim) * 0.02)
        self.blocks = _blocks(cfg.dim, cfg.depth, cfg.heads)
        self.norm = nn.LayerNorm(cfg.dim)

    def tokens(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 -> patch tokens with positions (B, N, dim)."""
        c = self.cfg
        if video.shape[1:] != (c.frames, c.size, c.size, 3):
            raise ValueError(f"video model expects clips of shape (B, {c.frames}, {c.size}, {c.size}, 3), "
                             f"got {tuple(video.shape)}")
        x = video.permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)  # (B, 3, T, H, W)
        return self.embed(x).flatten(2).transpose(1, 2) + self.pos

    def forward(self, video: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """-> latents (B, N, dim) of all tokens, or (B, K, dim) of the tokens in `keep` (B, K)."""
        x = self.tokens(video)
        if keep is not None:
            x = gather_tokens(x, keep)
        return self.norm(self.blocks(x))


class VideoPredictor(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.inp = nn.Linear(cfg.dim, cfg.pred_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.pred_dim))
        self.pos = nn.Parameter(torch.randn(1, cfg.tokens, cfg.pred_dim) * 0.02)
        self.blocks = _blocks(cfg.pred_dim, cfg.pred_depth, max(1, cfg.pred_dim // 32))
        self.norm = nn.LayerNorm(cfg.pred_dim)
        self.out = nn.Linear(cfg.pred_dim, cfg.dim)

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        """ctx (B, Nc, dim) at ctx_idx; -> predictions (B, Nt, dim) at tgt_idx."""
        B, Nt = tgt_idx.shape
        pos = self.pos.expand(B, -1, -1)
        x = self.inp(ctx) + gather_tokens(pos, ctx_idx)
        m = self.mask_token.expand(B, Nt, -1) + gather_tokens(pos, tgt_idx)
        x = self.blocks(torch.cat([x, m], 1))
        return self.out(self.norm(x[:, -Nt:]))


class VideoJEPA(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.encoder = VideoEncoder(cfg)
        self.predictor = VideoPredictor(cfg)
        if cfg.target == "ema":
            self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)

    def loss(self, video: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> tuple[torch.Tensor, dict]:
        c = self.cfg
        # target: latents of the tokens to predict
        if c.target == "ema":
            with torch.no_grad():
                full = self.target_encoder(video)
                target = gather_tokens(F.layer_norm(full, full.shape[-1:]), tgt_idx)
        else:
            full = self.encoder(video)
            target = gather_tokens(full, tgt_idx)
        # context: the encoder sees only the visible tokens
        ctx = self.encoder(video, keep=ctx_idx)
        pred = self.predictor(ctx, ctx_idx, tgt_idx)
        pred_loss = F.l1_loss(pred, target)
        info = {"pred_loss": pred_loss.item()}
        loss = pred_loss
        if c.target == "sigreg":
            reg = sigreg(full.reshape(-1, full.shape[-1]), projections=c.projections)
            loss = loss + c.reg_weight * reg
            info["reg_loss"] = reg.item()
        info["z"] = ctx.detach()
        return loss, info

    def update_target(self, momentum: float) -> None:
        if self.cfg.target == "ema":
            ema_update(self.target_encoder, self.encoder, momentum)

    @torch.no_grad()
    def embed(self, video: torch.Tensor) -> torch.Tensor:
        """Frozen features for probes: all token latents (B, N, dim)."""
        return self.encoder(video)
