"""Random training windows from episodes held in memory.

A window is `history + 1` frames spaced `frameskip` environment steps apart and
the `history` model actions between them, each the concatenation of the
`frameskip` environment actions it spans.
"""
from __future__ import annotations

import numpy as np
import torch

from .store import DataError, Episode


class SequenceSampler:
    def __init__(self, episodes: list[Episode], history: int, frameskip: int, image_size: int,
                 action_dim: int, seed: int = 0, senses: tuple[str, ...] = ()):
        self.history, self.frameskip, self.senses = history, frameskip, tuple(senses)
        span = history * frameskip  # environment steps covered by one window
        for i, ep in enumerate(episodes):
            if ep.pixels.shape[1:3] != (image_size, image_size):
                raise DataError(f"episode {i}: frames are {ep.pixels.shape[1]}x{ep.pixels.shape[2]}, the model "
                                f"takes {image_size}x{image_size} (set model.image_size or resize the data)")
            if ep.actions.shape[1] != action_dim:
                raise DataError(f"episode {i}: actions have {ep.actions.shape[1]} dims, the model takes {action_dim}")
            for sense in self.senses:
                if getattr(ep, sense) is None:
                    raise DataError(f"episode {i}: no '{sense}' field, and the model's senses include {sense}")
        usable = [ep for ep in episodes if len(ep) >= span]
        if not usable:
            raise DataError(f"no episode is long enough for a window of {span} steps "
                            f"(history {history} x frameskip {frameskip})")
        self.pixels = np.concatenate([ep.pixels for ep in usable])  # all frames, episodes back to back
        self.extra = {s: np.concatenate([getattr(ep, s) for ep in usable]).astype(np.float32) for s in self.senses}
        # Pad every episode's actions by one row so that frame and action rows share indices.
        self.actions = np.concatenate([np.vstack([ep.actions, np.zeros_like(ep.actions[:1])]) for ep in usable])
        offsets = np.cumsum([0] + [len(ep.pixels) for ep in usable])
        self.starts = np.concatenate([np.arange(o, o + len(ep) - span + 1) for o, ep in zip(offsets, usable)])
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.starts)

    def sample(self, batch_size: int, part: tuple[int, int] = (0, 1)) -> tuple[torch.Tensor | dict, torch.Tensor]:
        """-> pixels (B, history+1, H, W, 3) uint8, actions (B, history, frameskip * A) float32.
        With senses, the first is an observation dict: {"pixels": ..., sense: (B, history+1, ...)}.

        part=(rank, world): draw the whole batch of `batch_size` windows, return only this rank's
        slice of batch_size // world rows. Every rank draws the same numbers, so the processes
        together train on exactly the batch one process would, whatever their number."""
        s = self.starts[self.rng.integers(0, len(self.starts), batch_size)]
        rank, world = part
        if world > 1:
            per = batch_size // world
            s = s[rank * per:(rank + 1) * per]
            batch_size = len(s)
        k = self.frameskip
        frame_idx = s[:, None] + k * np.arange(self.history + 1)  # (B, T+1)
        act_idx = s[:, None] + np.arange(self.history * k)  # (B, T*k)
        acts = self.actions[act_idx].reshape(batch_size, self.history, -1)
        pixels = torch.from_numpy(self.pixels[frame_idx])
        if self.senses:
            pixels = {"pixels": pixels, **{s: torch.from_numpy(v[frame_idx]) for s, v in self.extra.items()}}
        return pixels, torch.from_numpy(acts)
