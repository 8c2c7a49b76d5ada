"""Discontinuities in real footage, as matched pairs: the continuous clip, and the same clip with a
jump cut, dropped frames or reversed playback from `diverge_frame` on (issue 26, item 4).

    from jepalab.evals.footage_pairs import footage_pairs
    pairs = footage_pairs(sample_videos(), fps=10)      # evals.physics_suite.Pair, category = kind

A model that has learned how footage goes on should be more surprised by the broken twin; the
pairs are scored as the physics suite's are (evals/intuitive_physics.score_pairs). Only footage
the model did not train on says anything: pass videos it never saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .physics_suite import Pair

KINDS = ("jump-cut", "dropped-frames", "reversed")
WINDOW = 24


def _broken(frames: np.ndarray, start: int, d: int, kind: str, rng) -> np.ndarray | None:
    """The window [start, start + WINDOW) with a discontinuity at its frame d, or None if the video
    is too short for it."""
    n, before = len(frames), frames[start : start + d]
    rest = WINDOW - d
    if kind == "jump-cut":  # the rest from elsewhere in the video, at least a second away
        far = [s for s in range(0, n - rest + 1) if abs(s - (start + d)) >= 10]
        if not far:
            return None
        s = int(rng.choice(far))
        after = frames[s : s + rest]
    elif kind == "dropped-frames":  # five frames skipped
        if start + d + 5 + rest > n:
            return None
        after = frames[start + d + 5 : start + d + 5 + rest]
    else:  # played backwards from the divergence: the frames it just showed, in reverse
        if d < rest + 1:
            return None
        after = frames[start + d - 2 :: -1][:rest]  # (d > rest >= 1, so it starts inside the window)
        if len(after) < rest:
            return None
    return np.concatenate([before, after])


def footage_pairs(videos, fps: float = 10.0, size: int = 64, per_video: int = 12, seed: int = 0) -> list[Pair]:
    """`per_video` pairs per video, the kinds in turn, from windows spread over each video."""
    from ..data.video import iter_frames

    rng = np.random.default_rng(seed)
    pairs = []
    for v, path in enumerate(videos):
        frames = np.stack(list(iter_frames(path, fps, size)))
        if len(frames) < WINDOW:
            continue
        made = 0
        for attempt in range(per_video * 10):
            if made == per_video:
                break
            kind = KINDS[made % len(KINDS)]
            start = int(rng.integers(0, len(frames) - WINDOW + 1))
            d = int(rng.integers(10, 15))
            possible = frames[start : start + WINDOW]
            broken = _broken(frames, start, d, kind, rng)
            if broken is None:
                continue
            differ = np.flatnonzero(np.any(possible != broken, axis=(1, 2, 3)))
            if not len(differ) or differ[0] != d:
                continue  # a still shot: the "discontinuity" would not show
            pairs.append(Pair(kind, Path(path).name, seed * 1000 + v * 100 + attempt, possible, broken, d, d))
            made += 1
    return pairs
