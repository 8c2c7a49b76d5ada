"""Stand-ins for a third-party env package, shaped as stable-worldmodel 0.1.1's envs are (read from the
installed package, not from what jepalab's adapter reads). Importing this registers:

- `fakeworlds/Rooms-v1`, shaped like swm/TwoRoom-v1: `reset`/`step` return a torch tensor of the
  state (agent x, y, target x, y, door centres; shape (10,)); pixels come only from `render()`
  (224 px, HWC uint8); info holds env_name, proprio, state (the agent's place), goal_state (the
  target) and distance_to_target; no goal image and no is_success: success is `terminated`
  (distance < 16); `_set_state(agent)`, `_set_goal_state(target)`, reset options "state" and
  "target_state"; no time limit of its own.
- `fakeworlds/Block-v1`, shaped like swm/PushT-v1: observations {"proprio": agent x, y, vx, vy;
  "state": agent x, y, block x, y, angle, vx, vy}; info holds a goal image ("goal"), goal_state (7),
  goal_proprio (4) and more, no is_success: success is `terminated` (agent and block within 20 px
  and the angle within pi/9); `_set_state` takes one physics step as it sets the state, as
  pymunk's does; `_set_goal_state` replaces the goal state only (not its image); reset options
  "state" and "goal_state".
- `fakeworlds/NoGoal-v1`: renders and moves, shows no goal at all.
"""

import gymnasium as gym
import numpy as np
import torch

SIZE = 224


def _disc(img, centre, radius, colour):
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    img[(xx - centre[0]) ** 2 + (yy - centre[1]) ** 2 <= radius**2] = colour


class RoomsEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    WALL, DOOR, SPEED = 112, (90, 134), 5.0

    def __init__(self, render_mode="rgb_array"):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, SIZE, (10,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.env_name = "Rooms"
        self.agent = torch.zeros(2)
        self.target = torch.zeros(2)

    def _obs(self):
        doors = [self.WALL, sum(self.DOOR) / 2, 0.0, 0.0, 0.0, 0.0]
        return torch.tensor([*self.agent.tolist(), *self.target.tolist(), *doors], dtype=torch.float32)

    def _info(self):
        return {
            "env_name": self.env_name,
            "proprio": self.agent.numpy().copy(),
            "state": self.agent.numpy().copy(),
            "goal_state": self.target.numpy().copy(),
        }

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        self.agent = torch.as_tensor(options.get("state", self.np_random.uniform(20, 200, 2)), dtype=torch.float32)
        self.target = torch.as_tensor(
            options.get("target_state", self.np_random.uniform(20, 200, 2)), dtype=torch.float32
        )
        info = self._info()
        info["distance_to_target"] = float(torch.norm(self.agent - self.target))
        return self._obs(), info

    def step(self, action):
        a = torch.clamp(torch.as_tensor(action, dtype=torch.float32), -1, 1)
        new = torch.clamp(self.agent + a * self.SPEED, 14, SIZE - 15)
        crosses = (self.agent[0] - self.WALL) * (new[0] - self.WALL) <= 0
        if crosses and not (self.DOOR[0] < float(new[1]) < self.DOOR[1]):
            new[0] = self.agent[0]  # the wall stops it outside the door
        self.agent = new
        dist = float(torch.norm(self.agent - self.target))
        info = self._info()
        info["distance_to_target"] = dist
        return self._obs(), 0.0, dist < 16.0, False, info

    def render(self):
        img = np.full((SIZE, SIZE, 3), 255, np.uint8)
        img[:, self.WALL - 5 : self.WALL + 5] = 0
        img[self.DOOR[0] : self.DOOR[1], self.WALL - 5 : self.WALL + 5] = 255
        _disc(img, self.agent.numpy(), 7, (255, 0, 0))
        return img

    def _set_state(self, state):
        self.agent = torch.tensor(state, dtype=torch.float32)

    def _set_goal_state(self, goal_state):
        self.target = torch.tensor(goal_state, dtype=torch.float32)


class BlockEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    DT = 0.01

    def __init__(self, render_mode="rgb_array"):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Dict(
            {
                "proprio": gym.spaces.Box(-512, 512, (4,), np.float64),
                "state": gym.spaces.Box(-512, 512, (7,), np.float64),
            }
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.env_name = "Block"
        self.goal_state = None
        self._goal = None

    def _state(self):
        return np.array([*self.agent, *self.block, self.angle % (2 * np.pi), *self.vel], np.float64)

    def _set_state(self, state):
        state = list(np.asarray(state, np.float64))
        self.agent, self.block, self.angle = np.array(state[:2]), np.array(state[2:4]), state[4]
        self.vel = np.array(state[-2:]) if len(state) == 7 else np.zeros(2)
        self.agent = self.agent + self.vel * self.DT  # one physics step to take effect, as pymunk's env does

    def _set_goal_state(self, goal_state):
        self.goal_state = goal_state

    def _sample(self):
        return np.array([*self.np_random.uniform(50, 450, 4), self.np_random.uniform(0, 2 * np.pi), 0.0, 0.0])

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        goal = np.asarray(options["goal_state"], np.float64) if "goal_state" in options else self._sample()
        self._set_state(goal)
        self._set_goal_state(goal)
        self._goal = self.render()
        self._set_state(np.asarray(options["state"], np.float64) if "state" in options else self._sample())
        return self._observation(), self._info()

    def _observation(self):
        s = self._state()
        return {"proprio": np.concatenate([s[:2], s[-2:]]), "state": s}

    def _info(self):
        return {
            "env_name": self.env_name,
            "pos_agent": self.agent.copy(),
            "vel_agent": self.vel.copy(),
            "block_pose": np.array([*self.block, self.angle]),
            "goal_pose": self.goal_state[2:5].copy(),
            "goal_state": self.goal_state,
            "goal_proprio": np.concatenate([self.goal_state[:2], self.goal_state[-2:]]),
            "n_contacts": 0,
            "goal": self._goal,
        }

    def step(self, action):
        target = self.agent + np.clip(np.asarray(action, np.float64), -1, 1) * 30.0
        self.vel = (target - self.agent) / 0.1
        self.agent = target
        gap = self.block - self.agent
        if np.linalg.norm(gap) < 40:  # a push moves the block and turns it a little
            self.block = self.block + 0.5 * (target - self.agent + gap / (np.linalg.norm(gap) + 1e-6) * 5)
            self.angle += 0.05
        s = self._state()
        pos = np.linalg.norm(self.goal_state[:4] - s[:4])
        turn = abs(self.goal_state[4] - s[4])
        turn = min(turn, 2 * np.pi - turn)
        return self._observation(), -pos, bool(pos < 20 and turn < np.pi / 9), False, self._info()

    def render(self):
        img = np.full((SIZE, SIZE, 3), 240, np.uint8)
        scale = SIZE / 512
        _disc(img, self.block * scale, 14, (120, 120, 200))
        tip = self.block + 30 * np.array([np.cos(self.angle), np.sin(self.angle)])
        _disc(img, tip * scale, 6, (60, 60, 160))
        _disc(img, self.agent * scale, 6, (30, 30, 240))
        return img


class NoGoalEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, render_mode="rgb_array"):
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return self.pos.copy(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 0.1 * np.asarray(action, np.float32), -1, 1)
        return self.pos.copy(), 0.0, False, False, {}

    def render(self):
        img = np.zeros((64, 64, 3), np.uint8)
        _disc(img, (self.pos + 1) * 31, 4, (255, 255, 255))
        return img


for _id, _cls in (
    ("fakeworlds/Rooms-v1", RoomsEnv),
    ("fakeworlds/Block-v1", BlockEnv),
    ("fakeworlds/NoGoal-v1", NoGoalEnv),
):
    if _id not in gym.registry:
        gym.register(_id, entry_point=_cls)
