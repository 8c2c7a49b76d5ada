"""`bounce` as a gymnasium Env: a passive world, so the action (one number) changes nothing.

Each reset draws a scene as `jepalab collect --world bounce` does (data/collect.passive_episode:
the same mix of scene families and barriers) and simulates it whole; each step shows the next
frame. proprio holds the objects' true positions (zeros for absent ones), for probes. The episode
is truncated after `max_steps` steps. `info["goal"]` is the clip's last frame: the one state the
world reaches whatever is done.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .bounce import BARRIER_PROB, FAMILY_PROB, PASSIVE_OBJECTS, SIZE, simulate


class BounceEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, max_steps: int = 24, render_mode: str | None = "rgb_array", goal_mode: str | None = None):
        self.max_steps, self.render_mode = int(max_steps), render_mode
        self._mix, self._objects = (FAMILY_PROB, BARRIER_PROB), PASSIVE_OBJECTS
        self.observation_space = gym.spaces.Dict(
            {
                "pixels": gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8),
                "proprio": gym.spaces.Box(-1.0, 2.0, (2 * PASSIVE_OBJECTS,), np.float32),  # arena units, room to spare
            }
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self._clip, self.t = None, 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        from .bounce import sample_mixed_scene

        super().reset(seed=seed)
        self._clip = simulate(sample_mixed_scene(self.np_random, self.max_steps + 1, *self._mix))
        self.t = 0
        return self._obs(), self._info()

    def step(self, action):
        if self._clip is None:
            raise RuntimeError("bounce: call reset() before step()")
        self.t = min(self.t + 1, self.max_steps)
        return self._obs(), 0.0, False, self.t >= self.max_steps, self._info()

    def _obs(self) -> dict:
        state = np.zeros((self._objects, 2), np.float32)
        clip, t = self._clip, self.t
        state[: clip.positions.shape[1]] = clip.positions[t] * clip.present[t][:, None]
        return {"pixels": clip.frames[t].copy(), "proprio": state.reshape(-1)}

    def _info(self) -> dict:
        return {"goal": self._clip.frames[-1].copy(), "is_success": False}

    def render(self):
        return None if self._clip is None else self._clip.frames[self.t].copy()
