"""Linear probes: what does the latent know? Ridge regression from z to a known quantity.

Used by the demo to report how well the latent encodes the agent's position (R²
on held-out episodes, beside an untrained encoder) and to draw imagined plans
on the world's map.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@torch.no_grad()
def encode_frames(model, pixels: np.ndarray, batch: int = 512, senses: dict | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 [+ the model's other senses, N rows each] -> (N, D) latents, in eval mode
    and in batches."""
    model.eval()
    senses = senses or {}
    return np.concatenate([model.encode({"pixels": torch.from_numpy(pixels[i:i + batch]),
                                         **{k: torch.from_numpy(v[i:i + batch]) for k, v in senses.items()}}).numpy()
                           for i in range(0, len(pixels), batch)])


def episode_senses(model, episodes) -> dict:
    """The other senses a world model fuses, concatenated over episodes as their pixels are."""
    names = getattr(getattr(model, "encoder", None), "senses", [])
    return {k: np.concatenate([getattr(e, k) for e in episodes]).astype(np.float32) for k in names}


@dataclass
class LinearProbe:
    weight: np.ndarray  # (D, Y)
    bias: np.ndarray  # (Y,)

    @classmethod
    def fit(cls, z: np.ndarray, y: np.ndarray, ridge: float = 1e-3) -> "LinearProbe":
        z = z.astype(np.float64)
        mu = z.mean(0)
        zc, yc = z - mu, y - y.mean(0)
        n, d = zc.shape
        if n < d:  # the dual form solves an n x n system: wide features (concatenated tokens) stay cheap
            w = zc.T @ np.linalg.solve(zc @ zc.T + ridge * n * np.eye(n), yc)
        else:
            w = np.linalg.solve(zc.T @ zc + ridge * n * np.eye(d), zc.T @ yc)
        return cls(w, y.mean(0) - mu @ w)

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return z @ self.weight + self.bias

    def r2(self, z: np.ndarray, y: np.ndarray) -> float:
        """Coefficient of determination over all output dimensions together (variance-weighted: a
        dimension that barely varies, such as the position of an object that is rarely there, cannot
        blow the figure up)."""
        resid = ((y - self(z)) ** 2).sum()
        total = ((y - y.mean(0)) ** 2).sum()
        return float(1 - resid / max(total, 1e-12))


def position_probe(model, train_eps, test_eps, max_frames: int = 4000, seed: int = 0) -> tuple[LinearProbe, float]:
    """Fit z -> proprio on frames of train_eps; return the probe and its R² on test_eps."""
    rng = np.random.default_rng(seed)

    def frames(eps):
        px = np.concatenate([e.pixels for e in eps])
        pr = np.concatenate([e.proprio for e in eps])
        idx = rng.choice(len(px), min(max_frames, len(px)), replace=False)
        senses = {k: v[idx] for k, v in episode_senses(model, eps).items()}
        return encode_frames(model, px[idx], senses=senses), pr[idx]

    z_tr, y_tr = frames(train_eps)
    z_te, y_te = frames(test_eps)
    probe = LinearProbe.fit(z_tr, y_tr)
    return probe, probe.r2(z_te, y_te)
