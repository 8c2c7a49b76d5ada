"""A stand-in for a third-party env package (stable-worldmodel's shape): importing it registers
`fakeworlds/Dot-v0`, a dot on a plane whose observations are a dict with its own image and proprio
and whose info offers the goal image, the goal state and success, as `swm/TwoRoom-v1` does."""
import gymnasium as gym
import numpy as np


class DotEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode="rgb_array", size=96):
        self.render_mode, self.size = render_mode, size
        self.observation_space = gym.spaces.Dict({
            "pixels": gym.spaces.Box(0, 255, (size, size, 3), np.uint8),
            "proprio": gym.spaces.Box(0.0, 1.0, (2,), np.float32)})
        self.action_space = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)

    def _draw(self, pos):
        img = np.full((self.size, self.size, 3), 230, np.uint8)
        c = (np.asarray(pos) * (self.size - 8)).astype(int) + 4
        img[c[1] - 4:c[1] + 4, c[0] - 4:c[0] + 4] = (200, 30, 30)
        return img

    def _info(self):
        return {"goal": self._draw(self.goal), "goal_proprio": self.goal.astype(np.float32),
                "is_success": bool(np.linalg.norm(self.pos - self.goal) < 0.1)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.goal = self.np_random.uniform(0.1, 0.9, 2), self.np_random.uniform(0.1, 0.9, 2)
        return {"pixels": self._draw(self.pos), "proprio": self.pos.astype(np.float32)}, self._info()

    def step(self, action):
        self.pos = np.clip(self.pos + 0.05 * np.asarray(action) / 2.0, 0.0, 1.0)
        info = self._info()
        return ({"pixels": self._draw(self.pos), "proprio": self.pos.astype(np.float32)}, 0.0, info["is_success"],
                False, info)

    def render(self):
        return self._draw(self.pos)


if "fakeworlds/Dot-v0" not in gym.registry:
    gym.register("fakeworlds/Dot-v0", entry_point=DotEnv, max_episode_steps=200)
