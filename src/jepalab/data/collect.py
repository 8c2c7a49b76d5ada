"""Collect episodes from a world with an exploration policy into an episode store.

    jepalab collect --world two-room --episodes 1000 --out data/two-room

Episode i is generated from seed `seed + i`, so a collection that was
interrupted resumes where it stopped and yields the same data as one that ran
through.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ..worlds import make
from .store import Episode, EpisodeStore


class HeldRandomPolicy:
    """Random exploration that holds a direction for a few steps (a persistent random walk).

    A fresh direction and speed are drawn with probability `switch_prob` per step; held
    actions carry the agent across rooms and through doors far more often than white
    noise does, which is what a world model needs to see.
    """

    def __init__(self, action_dim: int, rng: np.random.Generator, switch_prob: float = 0.15, noise: float = 0.1):
        self.dim, self.rng, self.switch_prob, self.noise = action_dim, rng, switch_prob, noise
        self.current = self._draw()

    def _draw(self) -> np.ndarray:
        direction = self.rng.normal(size=self.dim)
        direction /= np.linalg.norm(direction) + 1e-8
        return direction * self.rng.uniform(0.2, 1.0) * np.sqrt(self.dim)

    def __call__(self) -> np.ndarray:
        if self.rng.random() < self.switch_prob:
            self.current = self._draw()
        return np.clip(self.current + self.noise * self.rng.normal(size=self.dim), -1, 1).astype(np.float32)


def rollout_episode(env, steps: int, seed: int) -> Episode:
    obs, _ = env.reset(seed=seed)
    policy = HeldRandomPolicy(env.action_space.shape[0], np.random.default_rng(seed))
    pixels, proprio, actions = [obs["pixels"]], [obs["proprio"]], []
    for _ in range(steps):
        a = policy()
        obs, *_ = env.step(a)
        actions.append(a)
        pixels.append(obs["pixels"])
        proprio.append(obs["proprio"])
    return Episode(np.stack(pixels), np.stack(actions).astype(np.float32), np.stack(proprio).astype(np.float32))


PASSIVE_OBJECTS = 4  # bounce's most objects: proprio holds each one's position (zeros when absent)
BARRIER_PROB = 0.3  # a world model that never met a wall inside the arena cannot expect a bounce off one
FAMILY_PROB = 0.5  # share of clips from bounce's scene families (see worlds.bounce.sample_mixed_scene)


def passive_episode(steps: int, seed: int) -> Episode:
    """A `bounce` clip as an episode: nothing acts in a passive world, so its one action dimension is
    always zero ("the agent does nothing"), and proprio carries the objects' true positions for probes."""
    from ..worlds.bounce import sample_mixed_scene, simulate
    scene = sample_mixed_scene(np.random.default_rng(seed), steps + 1, FAMILY_PROB, BARRIER_PROB)
    clip = simulate(scene)
    state = np.zeros((steps + 1, PASSIVE_OBJECTS, 2), np.float32)
    state[:, :clip.positions.shape[1]] = clip.positions * clip.present[..., None]
    return Episode(clip.frames, np.zeros((steps, 1), np.float32), state.reshape(steps + 1, -1))


def collect(world: str, episodes: int, steps: int, out, seed: int = 0, progress: bool = True) -> EpisodeStore:
    """Write `episodes` episodes of `steps` steps each; skips the ones already on disk."""
    if world == "bounce":
        return _collect_passive(episodes, steps, out, seed, progress)
    # max_steps beyond `steps`: collection episodes never end early, and never on reaching a goal.
    env = make(world, max_steps=steps + 1, goal_mode="anywhere")
    n = env.observation_space["pixels"].shape[0]
    store = EpisodeStore.create(out, {
        "world": world, "steps_per_episode": steps, "seed": seed, "image_size": n,
        "action_dim": int(env.action_space.shape[0]),
        "proprio_dim": int(env.observation_space["proprio"].shape[0]), "policy": "held-random",
    })
    done = {int(p.stem.split("_")[1]) for p in store.episode_paths()}
    todo = [i for i in range(episodes) if i not in done]
    for i in tqdm(todo, desc=f"collect {world}", unit="ep", disable=not progress):
        store.append(rollout_episode(env, steps, seed + i), i)
    return store


def _collect_passive(episodes: int, steps: int, out, seed: int, progress: bool) -> EpisodeStore:
    from ..worlds.bounce import SIZE
    store = EpisodeStore.create(out, {
        "world": "bounce", "steps_per_episode": steps, "seed": seed, "image_size": SIZE, "action_dim": 1,
        "proprio_dim": 2 * PASSIVE_OBJECTS, "policy": "none (passive world: zero actions)",
        "scenes": f"bounce mixed: families {FAMILY_PROB}, barriers {BARRIER_PROB}",
    })
    done = {int(p.stem.split("_")[1]) for p in store.episode_paths()}
    for i in tqdm([i for i in range(episodes) if i not in done], desc="collect bounce", unit="ep", disable=not progress):
        store.append(passive_episode(steps, seed + i), i)
    return store
