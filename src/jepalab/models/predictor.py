"""Action-conditioned causal transformer: latents z_0..z_{T-1} and actions a_0..a_{T-1}
-> predictions of z_1..z_T.

Actions enter every block through AdaLN-zero (DiT): the action embedding sets the
shift, scale and gate of each block's norms, and the gates start at zero, so a
fresh predictor is the identity map plus a readout and training starts stable.
The predictor outputs a *change* of latent, added to the input: most steps move
the world a little, and the residual form makes "little" the easy answer.

Variants change what a token is (models/spatial.py: one per cell) or what a change is added to
(models/appearance.py: the most of each pattern seen so far), by overriding `tokens` and `base`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale) + shift


class AdaLNBlock(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * dim, dim))
        self.ada = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.ada.weight)
        nn.init.zeros_(self.ada.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, T, dim), cond (B, T, dim) -> (B, T, dim). mask (T, T) bool, True where a token may
        attend; None: causal."""
        B, T, C = x.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(cond).chunk(6, dim=-1)
        q, k, v = self.qkv(modulate(self.norm1(x), shift1, scale1)).view(B, T, 3, self.heads, C // self.heads).unbind(2)
        if T == 1 and not self.training:
            attn = v.reshape(B, T, C)  # one token attends only to itself: softmax weight 1, exactly v
        else:
            attn = F.scaled_dot_product_attention(
                q.transpose(1, 2),
                k.transpose(1, 2),
                v.transpose(1, 2),
                attn_mask=mask,
                is_causal=mask is None,
                dropout_p=self.dropout if self.training else 0.0,
            )
            attn = attn.transpose(1, 2).reshape(B, T, C)
        x = x + gate1 * self.proj(attn)
        return x + gate2 * self.mlp(modulate(self.norm2(x), shift2, scale2))


class Predictor(nn.Module):
    def __init__(self, cfg: ModelConfig, token: int | None = None):
        super().__init__()
        d = cfg.pred_dim
        self.history = cfg.history
        self.inp = nn.Linear(token or cfg.latent_dim, d)
        self.pos = nn.Parameter(torch.zeros(1, cfg.history, d))
        self.action_embed = nn.Sequential(nn.Linear(cfg.action_dim * cfg.frameskip, d), nn.SiLU(), nn.Linear(d, d))
        self.blocks = nn.ModuleList(AdaLNBlock(d, cfg.pred_heads, cfg.dropout) for _ in range(cfg.pred_depth))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, token or cfg.latent_dim)

    def forward(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """z (B, T, D), actions (B, T, A) with T <= history -> predicted next latents (B, T, D)."""
        return self.base(z) + self.change(z, actions)

    def change(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        B, T, D = z.shape
        if T > self.history:
            raise ValueError(f"predictor sees at most {self.history} latents, got {T}")
        x, cond, mask = self.tokens(z, actions)
        for block in self.blocks:
            x = block(x, cond, mask)
        return self.out(self.norm(x)).reshape(B, T, D)

    def tokens(self, z: torch.Tensor, actions: torch.Tensor):
        """-> (tokens (B, N, d), action conditioning (B, N, d), attention mask or None: causal)."""
        return self.inp(z) + self.pos[:, : z.shape[1]], self.action_embed(actions), None

    def base(self, z: torch.Tensor) -> torch.Tensor:
        """What each prediction is a change of: the newest latent."""
        return z
