"""bounce's pictures: each frame drawn from its scene and the objects' poses, anti-aliased, with what of each
object is visible (in front of the occluder or behind it)."""

from __future__ import annotations

import numpy as np

from .bounce_scene import BACKGROUND, BARRIER, OCCLUDER, SIZE, Look, SceneSpec


# ---------------------------------------------------------------- rendering
def pixel_grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) of a side x side picture's pixel centres in arena units; the row index is y."""
    c = (np.arange(side, dtype=np.float32) + 0.5) / side
    return np.meshgrid(c, c)


_GRID = pixel_grid(SIZE)  # bounce's own pictures


def coverage(kind: str, size: float, pose: tuple, grid: tuple = _GRID) -> np.ndarray:
    """Anti-aliased coverage (H, W) in [0, 1] of a ball of radius `size` or a box of half side `size`
    at pose (x, y, angle), on the pixel centres `grid` (pixel_grid; default: bounce's)."""
    X, Y = grid
    side = X.shape[0]
    x, y, angle = pose
    px, py = X - x, Y - y
    if kind == "ball":
        dist = np.sqrt(px * px + py * py) - size  # signed distance, arena units
    else:
        c, s = np.cos(angle), np.sin(angle)
        lx, ly = c * px + s * py, -s * px + c * py  # into the box frame
        qx, qy = np.abs(lx) - size, np.abs(ly) - size
        dist = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2) + np.minimum(np.maximum(qx, qy), 0)
    return np.clip(0.5 - dist * side, 0.0, 1.0)


def rect_mask(rect: tuple | None, grid: tuple = _GRID) -> np.ndarray:
    """The pixels of `grid` (pixel_grid) inside rect (x0, y0, x1, y1); none for None."""
    X, Y = grid
    if rect is None:
        return np.zeros(X.shape, bool)
    x0, y0, x1, y1 = rect
    return (X >= x0) & (X <= x1) & (Y >= y0) & (Y <= y1)


def occluder_mask(spec: SceneSpec) -> np.ndarray:
    return rect_mask(spec.occluder)


def render(spec: SceneSpec, look: Look, draw: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """-> frame (H, W, 3) uint8 (None unless `draw`), visible fraction per object (N,)."""
    if draw:
        img = np.broadcast_to(BACKGROUND, (SIZE, SIZE, 3)).copy()
        img[rect_mask(spec.barrier)] = BARRIER
    occ = occluder_mask(spec)
    visible = np.zeros(len(look.poses), np.float32)
    for i, pose in enumerate(look.poses):
        if not look.present[i]:
            continue
        a = coverage(look.drawn[i], spec.objects[i].size, pose)
        total = a.sum()
        visible[i] = float(a[~occ].sum() / total) if total > 0 else 0.0
        if draw:
            img = img * (1 - a[..., None]) + np.array(look.colors[i], np.float32) * a[..., None]
    if not draw:
        return None, visible
    img[occ] = OCCLUDER
    return img.round().astype(np.uint8), visible
