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
from torch.utils.checkpoint import checkpoint

from ..runtime import fp32
from .regularizers import ema_update, sigreg


class Blocks(nn.TransformerEncoder):
    """Pre-norm transformer blocks; with `recompute`, each block's activations are recomputed in the
    backward pass instead of stored (activation checkpointing: memory for ~1/3 more compute)."""

    def __init__(self, dim: int, depth: int, heads: int, recompute: bool = False):
        layer = nn.TransformerEncoderLayer(
            dim, heads, 4 * dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
        )
        super().__init__(layer, depth, enable_nested_tensor=False)
        self.recompute = recompute

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            if self.recompute and torch.is_grad_enabled():
                x = checkpoint(layer, x, use_reentrant=False)
            else:
                x = layer(x)
        return x


def sincos_positions(grid: tuple[int, int, int], dim: int) -> torch.Tensor:
    """Fixed 3-D sine-cosine position embeddings (1, T*H*W, dim) in (t, h, w) order, as V-JEPA.
    Fixed and of unit scale, they keep every token's place in its features from the first step;
    learned ones initialised small let a young encoder smear the scene over all tokens."""
    parts = [dim // 4, 3 * dim // 8, dim - dim // 4 - 3 * dim // 8]  # channels for t, h, w
    parts = [p - p % 2 for p in parts[:2]] + [dim - sum(p - p % 2 for p in parts[:2])]
    axes = torch.meshgrid(*(torch.arange(n, dtype=torch.float64) for n in grid), indexing="ij")
    out = []
    for coord, width in zip(axes, parts):
        half = width // 2
        freqs = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float64) / max(1, half))
        angles = coord.reshape(-1, 1) * freqs
        emb = torch.cat([angles.sin(), angles.cos()], 1)
        out.append(torch.nn.functional.pad(emb, (0, width - emb.shape[1])))
    return torch.cat(out, 1).float()[None]


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """x (B, N, C), idx (B, K) -> (B, K, C)."""
    return torch.gather(x, 1, idx[..., None].expand(-1, -1, x.shape[-1]))


class VideoEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Conv3d(
            3, cfg.dim, (cfg.tubelet, cfg.patch, cfg.patch), stride=(cfg.tubelet, cfg.patch, cfg.patch)
        )
        self.register_buffer("pos", sincos_positions(cfg.grid, cfg.dim))
        self.blocks = Blocks(cfg.dim, cfg.depth, cfg.heads, cfg.recompute)
        self.norm = nn.LayerNorm(cfg.dim)

    def tokens(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 -> patch tokens with positions (B, N, dim)."""
        c = self.cfg
        if video.shape[1:] != (c.frames, c.size, c.size, 3):
            raise ValueError(
                f"video model expects clips of shape (B, {c.frames}, {c.size}, {c.size}, 3), got {tuple(video.shape)}"
            )
        x = video.permute(0, 4, 1, 2, 3).float().div(127.5).sub(1.0)  # (B, 3, T, H, W)
        return self.embed(x).flatten(2).transpose(1, 2) + self.pos

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, size, size) float in [-1, 1] -> (B, H'*W', dim): the frame fills one tubelet by
        repetition and takes the positions of the first time step (how V-JEPA 2 encodes images)."""
        clip = x[:, :, None].expand(-1, -1, self.cfg.tubelet, -1, -1)  # (B, 3, t, H, W)
        tokens = self.embed(clip).flatten(2).transpose(1, 2)
        return self.norm(self.blocks(tokens + self.pos[:, : tokens.shape[1]]))

    def forward(self, video: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """-> latents (B, N, dim) of all tokens, or (B, K, dim) of the tokens in `keep` (B, K)."""
        x = self.tokens(video)
        if keep is not None:
            x = gather_tokens(x, keep)
        return self.norm(self.blocks(x))


class FrozenVideoBackbone(nn.Module):
    """A pretrained video encoder, frozen, as the frame encoder of an action-conditioned world model
    (as V-JEPA 2-AC): `VideoEncoder.encode_image`, then a trained linear readout maps its patch
    tokens, layout kept, to features. Only the readout learns."""

    def __init__(self, vcfg, out_dim: int):
        super().__init__()
        self.video = VideoEncoder(vcfg).requires_grad_(False)
        self.readout = nn.Linear((vcfg.size // vcfg.patch) ** 2 * vcfg.dim, out_dim)

    def train(self, mode: bool = True):
        super().train(mode)
        self.video.eval()  # frozen: no dropout or statistics updates, whatever the caller's mode
        return self

    @torch.no_grad()
    def frozen_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) float in [-1, 1] -> what the frozen encoder gives the readout (B, tokens * dim):
        the part of a step that never changes, which training can cache (training/feature_cache.py)."""
        v = self.video
        size = v.cfg.size
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        return v.encode_image(x).flatten(1)

    def from_features(self, features: torch.Tensor) -> torch.Tensor:
        return self.readout(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) float in [-1, 1] -> (B, out_dim)."""
        return self.from_features(self.frozen_features(x))


class VideoPredictor(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.inp = nn.Linear(cfg.dim, cfg.pred_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, cfg.pred_dim))
        self.register_buffer("pos", sincos_positions(cfg.grid, cfg.pred_dim))
        self.blocks = Blocks(cfg.pred_dim, cfg.pred_depth, max(1, cfg.pred_dim // 32), cfg.recompute)
        self.norm = nn.LayerNorm(cfg.pred_dim)
        self.out = nn.Linear(cfg.pred_dim, cfg.dim)

    def forward(self, ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        """ctx (B, Nc, dim) at ctx_idx; -> predictions (B, Nt, dim) at tgt_idx."""
        B, Nt = tgt_idx.shape
        pos = self.pos.expand(B, -1, -1)
        x = self.inp(ctx) + gather_tokens(pos, ctx_idx)
        m = self.mask_token.expand(B, Nt, -1) + gather_tokens(pos, tgt_idx)
        x = self.blocks(torch.cat([x, m], 1))
        # a linear layer's 3-D output is a view; under FSDP2 a view output can lose the hook that
        # gathers the parameters for backward if someone edits it in place, so hand back a fresh tensor
        return self.out(self.norm(x[:, -Nt:])).clone()


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
        pred_loss = F.l1_loss(pred.float(), target.float())
        info = {"pred_loss": pred_loss.detach()}  # read at log steps
        loss = pred_loss
        if c.target == "sigreg":
            with fp32(video.device.type):
                z = full.float()
                if c.reg_over == "clips":  # each position's batch mean out: positions alone cannot satisfy SIGReg
                    z = z - z.mean(0, keepdim=True)
                reg = sigreg(z.reshape(-1, z.shape[-1]), projections=c.projections)
            loss = loss + c.reg_weight * reg
            info["reg_loss"] = reg.detach()
        info["z"] = ctx.detach()
        return loss, info

    def update_target(self, momentum: float) -> None:
        if self.cfg.target == "ema":
            ema_update(self.target_encoder, self.encoder, momentum)

    @property
    def feature_encoder(self) -> VideoEncoder:
        """The encoder whose features are used downstream (probes, frozen transfer): the EMA target
        encoder when there is one, as V-JEPA evaluates. On bounce it probed better than the online
        encoder (position R² 0.88 vs 0.74 after 600 steps): the average over recent weights is smoother."""
        return getattr(self, "target_encoder", self.encoder)

    @torch.no_grad()
    def embed(self, video: torch.Tensor) -> torch.Tensor:
        """Frozen features for probes: all token latents (B, N, dim)."""
        return self.feature_encoder(video)
