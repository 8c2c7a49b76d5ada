"""Spatio-temporal multi-block masks for video pretraining (V-JEPA).

    from jepalab.masks import MaskSpec, multiblock_masks, VJEPA_SPECS
    ctx, tgt = multiblock_masks(batch=8, grid=(8, 8, 8), specs=VJEPA_SPECS, generator=torch.Generator().manual_seed(0))

A video of T x H x W patch tokens (time, rows, columns) is split into *target*
tokens — the union of a few rectangular blocks that span the whole clip in time
(short-range: many small blocks; long-range: a couple of large ones) — and
*context* tokens, all the others. The predictor sees the context and must
predict the latents of the targets; blocks that span time stop it from copying
the same patch from a neighbouring frame.

Each sample in a batch gets its own blocks; to stack them, every sample keeps
as many context and target tokens as the sample with the fewest (V-JEPA does
the same), dropping a random subset of the rest, so context and target never
overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class MaskSpec:
    blocks: int
    """Blocks drawn per sample; their union is masked."""
    spatial_scale: tuple[float, float]
    """Range of the fraction of the H x W grid one block covers."""
    aspect_ratio: tuple[float, float] = (0.75, 1.5)
    """Range of block height / width."""
    temporal_scale: tuple[float, float] = (1.0, 1.0)
    """Range of the fraction of the T frames one block spans (1: the whole clip)."""


# V-JEPA's recipe: 8 short-range blocks of 15% and 2 long-range blocks of 70% of the frame.
VJEPA_SPECS = (MaskSpec(8, (0.15, 0.15)), MaskSpec(2, (0.7, 0.7)))


def _uniform(lo_hi: tuple[float, float], g: torch.Generator) -> float:
    lo, hi = lo_hi
    return lo + (hi - lo) * float(torch.rand((), generator=g))


def sample_block(grid: tuple[int, int, int], spec: MaskSpec, g: torch.Generator) -> torch.Tensor:
    """One block as a bool mask (T, H, W), True inside."""
    T, H, W = grid
    area = _uniform(spec.spatial_scale, g) * H * W
    # sample the aspect ratio in log space so that tall and wide blocks are equally likely
    ratio = math.exp(_uniform((math.log(spec.aspect_ratio[0]), math.log(spec.aspect_ratio[1])), g))
    h = max(1, min(H, round(math.sqrt(area * ratio))))
    w = max(1, min(W, round(math.sqrt(area / ratio))))
    t = max(1, min(T, round(_uniform(spec.temporal_scale, g) * T)))
    t0 = int(torch.randint(0, T - t + 1, (), generator=g))
    r0 = int(torch.randint(0, H - h + 1, (), generator=g))
    c0 = int(torch.randint(0, W - w + 1, (), generator=g))
    mask = torch.zeros(T, H, W, dtype=torch.bool)
    mask[t0 : t0 + t, r0 : r0 + h, c0 : c0 + w] = True
    return mask


def sample_target_mask(grid: tuple[int, int, int], specs, g: torch.Generator, min_context: int = 1) -> torch.Tensor:
    """Union of every spec's blocks (T, H, W); redrawn until at least `min_context` tokens stay visible."""
    for _ in range(100):
        mask = torch.zeros(grid, dtype=torch.bool)
        for spec in specs:
            for _ in range(spec.blocks):
                mask |= sample_block(grid, spec, g)
        if (~mask).sum() >= min_context:
            return mask
    raise ValueError(f"mask specs {specs} leave fewer than {min_context} context tokens on grid {grid}")


def multiblock_masks(
    batch: int,
    grid: tuple[int, int, int],
    specs=VJEPA_SPECS,
    generator: torch.Generator | None = None,
    min_context: int = 4,
) -> tuple[torch.Tensor, torch.Tensor]:
    """-> context indices (B, Nc), target indices (B, Nt) into the flattened T*H*W tokens, sorted per row."""
    g = generator or torch.Generator().manual_seed(0)
    masks = [sample_target_mask(grid, specs, g, min_context).flatten() for _ in range(batch)]
    n_ctx = min(int((~m).sum()) for m in masks)
    n_tgt = min(int(m.sum()) for m in masks)

    def keep(idx: torch.Tensor, n: int) -> torch.Tensor:
        chosen = idx[torch.randperm(len(idx), generator=g)[:n]]
        return chosen.sort().values

    ctx = torch.stack([keep(torch.nonzero(~m).squeeze(1), n_ctx) for m in masks])
    tgt = torch.stack([keep(torch.nonzero(m).squeeze(1), n_tgt) for m in masks])
    return ctx, tgt


def future_masks(
    batch: int, grid: tuple[int, int, int], context_steps: int, horizon: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forecasting: context = every token of the first `context_steps` time steps, target = every token
    of the next `horizon` ones (default: all the later ones). -> (ctx (B, Nc), tgt (B, Nt)) as
    multiblock_masks. Mixed into pretraining (video.future_prob) it makes the features carry what
    forecasting needs (where things go next), and it is the query that surprise scoring asks of the
    predictor."""
    T, H, W = grid
    if not 1 <= context_steps < T:
        raise ValueError(f"context_steps must be in 1..{T - 1} for {T} time steps, got {context_steps}")
    horizon = T - context_steps if horizon is None else horizon
    if not 1 <= horizon <= T - context_steps:
        raise ValueError(
            f"horizon must be in 1..{T - context_steps} after {context_steps} context steps, got {horizon}"
        )
    split = context_steps * H * W
    ctx = torch.arange(split).expand(batch, -1)
    tgt = torch.arange(split, split + horizon * H * W).expand(batch, -1)
    return ctx, tgt
