"""Occluders painted over the context of a training window, so that the predictor learns to carry
what it saw through frames in which it cannot see it (`objective.occlude`).

    frames, where = paint_occluders(frames, rate=0.3, history=4)   # (B, T, H, W, 3) uint8

A world model that predicts frame t+1 from frames t-3..t can always copy an object's appearance from
frame t, except when the object is hidden there; in ordinary video that happens for a frame or two
when something passes behind an occluder, and the first frame it shows again gives away only a
sliver of it. So the loss barely rewards remembering an appearance, and a model trained on `bounce`
is no more surprised by an object that comes out of hiding in another colour than by one that keeps
its own (docs/measurements.md). Here, in a share `rate` of the windows, a flat bar is painted over an
object in one or two consecutive context frames (never the first); the targets stay the clean
frames, so predicting the frame after the bar needs the object's colour, shape and motion from the
frames before it. The bar is placed on a pixel that differs from the frame's median colour (an
object on a plain background) and spans the frame, vertical or horizontal, as `bounce`'s occluders.
"""
from __future__ import annotations

import torch

BAR_COLOUR = (150, 150, 150)  # bounce's occluder grey
SALIENT = 40  # a pixel this far (max over channels, 0..255) from the frame's median colour is "something"


def paint_occluders(frames: torch.Tensor, rate: float, history: int,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """frames (B, T, H, W, 3) uint8 -> (a copy with bars painted, where (B, T) bool: the frames painted).
    Only frames 1..history-1 (the predictor's context after its first frame) are painted; a window
    without a salient pixel in the frame the bar is placed on is left clean."""
    B, T, H, W, _ = frames.shape
    where = torch.zeros(B, T, dtype=torch.bool, device=frames.device)
    if rate <= 0 or history < 2:
        return frames, where
    out = frames.clone()
    chosen = torch.nonzero(torch.rand(B, generator=generator) < rate).flatten().tolist()
    colour = torch.tensor(BAR_COLOUR, dtype=frames.dtype, device=frames.device)
    for b in chosen:
        span = min(int(torch.randint(1, 3, (1,), generator=generator)), history - 1)
        first = int(torch.randint(1, history - span + 1, (1,), generator=generator))
        frame = frames[b, first].int()
        median = frame.reshape(-1, 3).median(0).values
        bar_like = (frame - colour.int()).abs().amax(-1) <= SALIENT  # an occluder already there hides nothing
        salient = torch.nonzero((((frame - median).abs().amax(-1) > SALIENT) & ~bar_like).reshape(-1)).flatten()
        if not len(salient):
            continue
        y, x = divmod(int(salient[int(torch.randint(len(salient), (1,), generator=generator))]), W)
        vertical = bool(torch.rand(1, generator=generator) < 0.5)
        extent = W if vertical else H
        width = max(2, round(extent * float(0.12 + 0.1 * torch.rand(1, generator=generator))))
        centre = x if vertical else y
        lo = min(max(0, centre - width // 2), extent - width)
        bar = (slice(None), slice(lo, lo + width)) if vertical else (slice(lo, lo + width), slice(None))
        out[b, first:first + span][(slice(None), *bar)] = colour
        where[b, first:first + span] = True
    return out, where
