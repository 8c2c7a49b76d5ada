"""Random training windows from episodes, held in memory or streamed from an HDF5 store.

A window is `history + 1` frames spaced `frameskip` environment steps apart and
the `history` model actions between them, each the concatenation of the
`frameskip` environment actions it spans.

Streaming (train.stream): episodes whose frames are StreamedFrames stay on disk and each window's
frames are read when it is drawn; everything else (actions, senses) is small and held in memory.
The windows drawn, and so the batches, are the same either way (tested).
"""

from __future__ import annotations

import numpy as np
import torch

from .store import DataError, Episode, StreamedFrames


class SequenceSampler:
    def __init__(
        self,
        episodes: list[Episode],
        history: int,
        frameskip: int,
        image_size: int,
        action_dim: int,
        seed: int = 0,
        senses: tuple[str, ...] = (),
    ):
        self.history, self.frameskip, self.senses = history, frameskip, tuple(senses)
        span = history * frameskip  # environment steps covered by one window
        for i, ep in enumerate(episodes):
            if ep.pixels.shape[1:3] != (image_size, image_size):
                raise DataError(
                    f"episode {i}: frames are {ep.pixels.shape[1]}x{ep.pixels.shape[2]}, the model "
                    f"takes {image_size}x{image_size} (set model.image_size or resize the data)"
                )
            if ep.actions.shape[1] != action_dim:
                raise DataError(f"episode {i}: actions have {ep.actions.shape[1]} dims, the model takes {action_dim}")
            for sense in self.senses:
                if getattr(ep, sense) is None:
                    raise DataError(f"episode {i}: no '{sense}' field, and the model's senses include {sense}")
        self.usable = [i for i, ep in enumerate(episodes) if len(ep) >= span]
        usable = [episodes[i] for i in self.usable]
        if not usable:
            raise DataError(
                f"no episode is long enough for a window of {span} steps (history {history} x frameskip {frameskip})"
            )
        self.streamed = any(isinstance(ep.pixels, StreamedFrames) for ep in usable)
        # all frames, episodes back to back (or, streamed, each episode's frames left on disk)
        self.pixels = [ep.pixels for ep in usable] if self.streamed else np.concatenate([ep.pixels for ep in usable])
        self.extra = {s: np.concatenate([getattr(ep, s) for ep in usable]).astype(np.float32) for s in self.senses}
        # Pad every episode's actions by one row so that frame and action rows share indices.
        self.actions = np.concatenate([np.vstack([ep.actions, np.zeros_like(ep.actions[:1])]) for ep in usable])
        offsets = np.cumsum([0] + [len(ep.pixels) for ep in usable])
        self.offsets = offsets[:-1]
        self.starts = np.concatenate([np.arange(o, o + len(ep) - span + 1) for o, ep in zip(offsets, usable)])
        self.rng = np.random.default_rng(seed)
        self.features = False

    def use_features(self, features: list[np.ndarray]) -> None:
        """Draw a frozen encoder front's cached features (one (frames, F) array per episode given to
        the sampler, training/feature_cache.py) instead of frames: the same windows, as
        {"features": (B, history+1, F)}."""
        if self.senses:
            raise ValueError(f"cached features stand for frames alone; this model also takes {', '.join(self.senses)}")
        self.pixels = np.concatenate([features[i] for i in self.usable])
        self.streamed, self.features = False, True

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
            s = s[rank * per : (rank + 1) * per]
            batch_size = len(s)
        k = self.frameskip
        frame_idx = s[:, None] + k * np.arange(self.history + 1)  # (B, T+1)
        act_idx = s[:, None] + np.arange(self.history * k)  # (B, T*k)
        acts = self.actions[act_idx].reshape(batch_size, self.history, -1)
        pixels = torch.from_numpy(self._frames(s) if self.streamed else self.pixels[frame_idx])
        if self.features:
            return {"features": pixels}, torch.from_numpy(acts)
        if self.senses:
            pixels = {"pixels": pixels, **{s: torch.from_numpy(v[frame_idx]) for s, v in self.extra.items()}}
        return pixels, torch.from_numpy(acts)

    def _frames(self, starts: np.ndarray) -> np.ndarray:
        """The windows' frames read from disk. One contiguous read per window, strided in memory:
        HDF5's own strided reads are far slower (docs/measurements.md, "Figures behind code comments")."""
        episodes = np.searchsorted(self.offsets, starts, side="right") - 1
        span = self.history * self.frameskip + 1
        return np.stack(
            [self.pixels[e][o : o + span][:: self.frameskip] for e, o in zip(episodes, starts - self.offsets[episodes])]
        )


class Prefetcher:
    """Draws the next batch on a background thread while the current step runs, pinned for the copy
    to a GPU: the host work of step t+1 overlaps the device work of step t (train.prefetch).

    The batches and their order are exactly the sampler's own (tested): one draw is in flight at a
    time, and `rng_state()` is the sampler's state *before* that draw, which is what a checkpoint
    must store for a resumed run to draw it again. `pause()` waits for the draw in flight and hands
    the sampler back, for work that uses its generator (BatchNorm recalibration)."""

    def __init__(self, sampler: SequenceSampler, batch_size: int, part: tuple[int, int], pin: bool):
        from concurrent.futures import ThreadPoolExecutor

        self.sampler, self.batch_size, self.part, self.pin = sampler, batch_size, part, pin
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="jepalab-prefetch")
        self.pending = None  # (future, sampler state before the draw)

    def _draw(self):
        obs, actions = self.sampler.sample(self.batch_size, self.part)
        if self.pin:
            obs = {k: v.pin_memory() for k, v in obs.items()} if isinstance(obs, dict) else obs.pin_memory()
            actions = actions.pin_memory()
        return obs, actions

    def _submit(self) -> None:
        self.pending = (self.pool.submit(self._draw), self.sampler.rng.bit_generator.state)

    def next(self):
        if self.pending is None:
            self._submit()
        batch = self.pending[0].result()
        self._submit()
        return batch

    def pause(self) -> None:
        """Wait for the draw in flight and rewind the sampler to before it (it is drawn again later)."""
        if self.pending is not None:
            future, state = self.pending
            future.result()
            self.sampler.rng.bit_generator.state = state
            self.pending = None

    def rng_state(self) -> dict:
        return self.pending[1] if self.pending is not None else self.sampler.rng.bit_generator.state

    def close(self) -> None:
        self.pause()
        self.pool.shutdown(wait=True)
