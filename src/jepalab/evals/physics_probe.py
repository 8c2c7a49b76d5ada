"""What does a video encoder know about physics? Probes on frozen features of `bounce` clips.

    jepalab probe --checkpoint runs/video --world bounce

For held-out clips (seeds never used in pretraining) the encoder's tokens of
each time step are read out by a light probe — linear (ridge on mean-pooled
tokens) and attentive (one learned query attending over the tokens) — to
predict each object's position and velocity (one-object clips) and the number
of objects (clips with 1–4). The same probes run on an untrained encoder of the
same architecture and on raw pixel patches, in the same call.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from .probe import LinearProbe


@dataclass
class ProbeSet:
    tokens: np.ndarray  # (M, K, C) one row per clip time step: the K tokens of that step
    position: np.ndarray  # (M, 2) of the single object (one-object clips)
    velocity: np.ndarray  # (M, 2)


def bounce_clips(n: int, frames: int, size: int, seed: int, max_objects: int):
    from ..models.encoder import resize_frames
    from ..worlds.bounce import sample_scene, simulate
    rng = np.random.default_rng(seed)
    clips = [simulate(sample_scene(rng, frames=frames, max_objects=max_objects, occluder_prob=0.0)) for _ in range(n)]
    video = torch.from_numpy(np.stack([c.frames for c in clips]))
    if size != video.shape[2]:
        B, T = video.shape[:2]
        video = resize_frames(video.reshape(B * T, *video.shape[2:]), size).reshape(B, T, size, size, 3)
    return video, clips


def step_tokens(tokens: torch.Tensor, cfg) -> torch.Tensor:
    """(B, N, C) tokens in (t, h, w) order -> (B * T', H' * W', C), one row per time step."""
    B, N, C = tokens.shape
    per_step = (cfg.size // cfg.patch) ** 2
    return tokens.reshape(B * (N // per_step), per_step, C)


def pixel_tokens(video: torch.Tensor, cfg) -> torch.Tensor:
    """Raw-pixel baseline: each tubelet patch flattened, (B, N, t*p*p*3) floats in [0, 1]."""
    B, T, H, W, _ = video.shape
    t, p = cfg.tubelet, cfg.patch
    x = video.float().div(255).reshape(B, T // t, t, H // p, p, W // p, p, 3)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(B, (T // t) * (H // p) * (W // p), t * p * p * 3)


def targets_per_step(clips, cfg, key: str) -> np.ndarray:
    """Ground truth of object 0 at the last frame of each tubelet: (B * T', 2)."""
    idx = np.arange(cfg.tubelet - 1, cfg.frames, cfg.tubelet)
    return np.concatenate([getattr(c, key)[idx, 0] for c in clips])


class AttentiveProbe(nn.Module):
    """One learned query attends over the tokens of a time step. Each token slot gets a learned
    position embedding, so features that carry no position of their own (raw pixels) are
    probed on equal terms."""

    def __init__(self, dim: int, out: int, tokens: int, heads: int = 4):
        super().__init__()
        width = 64
        self.inp = nn.Linear(dim, width)
        self.pos = nn.Parameter(torch.randn(1, tokens, width) * 0.02)
        self.query = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Linear(width, out))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.inp(tokens) + self.pos
        pooled, _ = self.attn(self.query.expand(len(x), -1, -1), x, x)
        return self.head(pooled[:, 0])


def r2(pred: np.ndarray, y: np.ndarray) -> float:
    resid = ((y - pred) ** 2).sum(0)
    total = ((y - y.mean(0)) ** 2).sum(0)
    return float(np.mean(1 - resid / np.maximum(total, 1e-12)))


def fit_attentive(train_x: torch.Tensor, train_y: np.ndarray, test_x: torch.Tensor, test_y: np.ndarray,
                  steps: int = 400, seed: int = 0) -> float:
    """Train an attentive probe on frozen tokens; R² on the test set."""
    torch.manual_seed(seed)
    mu, sd = train_y.mean(0), train_y.std(0) + 1e-8
    y = torch.from_numpy((train_y - mu) / sd).float()
    probe = AttentiveProbe(train_x.shape[-1], train_y.shape[1], train_x.shape[1])
    opt = torch.optim.AdamW(probe.parameters(), lr=3e-3, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(train_x), (min(128, len(train_x)),), generator=g)
        loss = nn.functional.mse_loss(probe(train_x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = probe(test_x).numpy() * sd + mu
    return r2(pred, test_y)


def fit_linear(train_x: torch.Tensor, train_y: np.ndarray, test_x: torch.Tensor, test_y: np.ndarray) -> float:
    """Ridge regression on the concatenated tokens of a time step (their layout kept: mean
    pooling would erase where things are); R² on the test set."""
    probe = LinearProbe.fit(train_x.flatten(1).numpy(), train_y, ridge=1e-2)
    return r2(probe(test_x.flatten(1).numpy()), test_y)


@torch.no_grad()
def encode_tokens(encoder, video: torch.Tensor, batch: int = 32) -> torch.Tensor:
    encoder.eval()
    return torch.cat([encoder(video[i:i + batch]) for i in range(0, len(video), batch)])


def probe_encoders(encoders: dict, cfg, clips: int = 256, seed: int = 10_000, attentive_steps: int = 400) -> dict:
    """R² of position and velocity of the object in one-object clips, for each encoder and for raw pixels.

    encoders: name -> VideoEncoder. Clips come from seeds seed.. (train) and seed + clips.. (test),
    far from the pretraining stream's seeds."""
    train_video, train_clips = bounce_clips(clips, cfg.frames, cfg.size, seed, max_objects=1)
    test_video, test_clips = bounce_clips(max(32, clips // 4), cfg.frames, cfg.size, seed + 1, max_objects=1)
    features = {name: (step_tokens(encode_tokens(e, train_video), cfg), step_tokens(encode_tokens(e, test_video), cfg))
                for name, e in encoders.items()}
    features["raw pixels"] = (step_tokens(pixel_tokens(train_video, cfg), cfg), step_tokens(pixel_tokens(test_video, cfg), cfg))
    results = {}
    for quantity, label in (("positions", "position"), ("velocities", "velocity")):
        y_tr, y_te = targets_per_step(train_clips, cfg, quantity), targets_per_step(test_clips, cfg, quantity)
        for name, (tr, te) in features.items():
            results[f"{name} / {label} / linear"] = fit_linear(tr, y_tr, te, y_te)
            results[f"{name} / {label} / attentive"] = fit_attentive(tr, y_tr, te, y_te, steps=attentive_steps)
    return results
