"""The built-in `two-room` world: a point agent, two rooms, one door.

Modelled on the Two-Room task of PLDM and LeWorldModel. The arena is the unit
square, split by a vertical wall with a door; the agent moves by a bounded
displacement per step and slides along walls. Observations are 64x64 RGB
top-down images plus the agent's position (proprioception). A goal is an image
of the agent somewhere else — by default in the other room, so a plan must go
through the door.

    python -c "import jepalab.worlds as w; env = w.make('two-room'); print(env.reset(seed=0)[1]['goal_proprio'])"

The physics and the renderer are vectorised numpy functions over a batch of
positions, so collection and evaluation can step many agents at once; the
gymnasium `Env` wraps them for a single agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np


@dataclass(frozen=True)
class TwoRoomLayout:
    wall_x: float = 0.5
    """Centre of the dividing wall."""
    wall_width: float = 0.04
    """Thickness of the dividing wall."""
    door_y: float = 0.5
    """Centre of the door."""
    door_height: float = 0.24
    """Opening of the door; the agent's centre passes through door_height - 2 * agent_radius."""
    agent_radius: float = 0.04
    max_step: float = 0.05
    """Largest displacement per step (an action of norm 1 per axis)."""
    goal_radius: float = 0.08
    """The episode succeeds when the agent's centre is this close to the goal."""
    size: int = 64
    """Image side in pixels."""


BACKGROUND = np.array([235, 235, 225], np.uint8)
WALL = np.array([60, 60, 70], np.uint8)
AGENT = np.array([220, 40, 40], np.float32)
SUBSTEPS = 2


def blocked(pos: np.ndarray, L: TwoRoomLayout) -> np.ndarray:
    """True where an agent centred at pos (..., 2) would overlap a wall."""
    x, y = pos[..., 0], pos[..., 1]
    r = L.agent_radius
    outside = (x < r) | (x > 1 - r) | (y < r) | (y > 1 - r)
    return outside | (_in_wall_band(x, L) & ~_in_door(y, L))


def _in_wall_band(x, L: TwoRoomLayout):
    return np.abs(x - L.wall_x) < L.wall_width / 2 + L.agent_radius


def _in_door(y, L: TwoRoomLayout):
    return np.abs(y - L.door_y) < L.door_height / 2 - L.agent_radius


def step_positions(pos: np.ndarray, action: np.ndarray, L: TwoRoomLayout) -> np.ndarray:
    """Move agents (B, 2) by clipped actions (B, 2): each axis is clipped to the free interval
    it moves in, so a blocked axis stops at the wall while the other one slides along it.
    Two half-steps keep diagonal moves near the door corners close to the straight line."""
    r, half_wall, half_door = L.agent_radius, L.wall_width / 2, L.door_height / 2 - L.agent_radius
    delta = np.clip(action, -1.0, 1.0) * (L.max_step / SUBSTEPS)
    x, y = pos[:, 0].copy(), pos[:, 1].copy()
    for _ in range(SUBSTEPS):
        # x moves: through the door the whole width is free, elsewhere only the current room.
        door = _in_door(y, L)
        left = x < L.wall_x
        lo = np.where(door | left, r, L.wall_x + half_wall + r)
        hi = np.where(door | ~left, 1 - r, L.wall_x - half_wall - r)
        x = np.clip(x + delta[:, 0], lo, hi)
        # y moves: inside the wall band only the door's span is free.
        band = _in_wall_band(x, L)
        lo = np.where(band, L.door_y - half_door, r)
        hi = np.where(band, L.door_y + half_door, 1 - r)
        y = np.clip(y + delta[:, 1], lo, hi)
    return np.stack([x, y], axis=1)


def background(L: TwoRoomLayout) -> np.ndarray:
    """The static map (H, W, 3) uint8: floor and the dividing wall with its door."""
    n = L.size
    c = (np.arange(n) + 0.5) / n
    x, y = np.meshgrid(c, c)  # row index is y, column index is x
    wall = (np.abs(x - L.wall_x) < L.wall_width / 2) & ~(np.abs(y - L.door_y) < L.door_height / 2)
    img = np.empty((n, n, 3), np.uint8)
    img[:] = BACKGROUND
    img[wall] = WALL
    img[[0, -1], :] = WALL
    img[:, [0, -1]] = WALL
    return img


def render_positions(pos: np.ndarray, L: TwoRoomLayout, bg: np.ndarray | None = None) -> np.ndarray:
    """Images (B, H, W, 3) uint8 of agents at pos (B, 2): anti-aliased discs, so that the
    image carries sub-pixel position. Only a small window around each agent is drawn."""
    bg = background(L) if bg is None else bg
    n, B = L.size, len(pos)
    k = int(np.ceil(2 * L.agent_radius * n)) + 3  # window side in pixels
    centre = pos.astype(np.float32) * n  # pixel units
    top_left = np.clip(np.floor(centre - k / 2).astype(np.int64), 0, n - k)  # (B, 2) as (x, y)
    offs = np.arange(k)
    cols = top_left[:, 0, None] + offs  # (B, k)
    rows = top_left[:, 1, None] + offs
    dx = cols[:, None, :] + 0.5 - centre[:, 0, None, None]  # (B, 1, k)
    dy = rows[:, :, None] + 0.5 - centre[:, 1, None, None]  # (B, k, 1)
    alpha = np.clip(L.agent_radius * n - np.sqrt(dx * dx + dy * dy) + 0.5, 0.0, 1.0)[..., None]
    b = np.arange(B)[:, None, None]
    imgs = np.repeat(bg[None], B, axis=0)
    window = imgs[b, rows[:, :, None], cols[:, None, :]].astype(np.float32)  # (B, k, k, 3)
    imgs[b, rows[:, :, None], cols[:, None, :]] = (window * (1 - alpha) + AGENT * alpha).round().astype(np.uint8)
    return imgs


def sample_free(rng: np.random.Generator, L: TwoRoomLayout, room: str = "any") -> np.ndarray:
    """A uniformly random free position (2,) in 'left', 'right' or 'any' room (door included)."""
    while True:
        p = rng.uniform(L.agent_radius, 1 - L.agent_radius, size=2)
        if blocked(p[None], L)[0]:
            continue
        if room == "any" or (room == "left") == (p[0] < L.wall_x):
            return p


class TwoRoomEnv(gym.Env):
    """Gymnasium env for `two-room`. Observation: {"pixels": (64,64,3) uint8, "proprio": (2,) float32}.

    reset(options={"start": (x, y), "goal": (x, y)}) pins the episode; otherwise the start is
    uniform in a random room and the goal uniform in the other room (goal_mode="other-room")
    or anywhere free (goal_mode="anywhere"). info carries "goal" (the goal image),
    "goal_proprio" and "is_success".
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(
        self,
        max_steps: int = 100,
        goal_mode: str = "other-room",
        layout: TwoRoomLayout = TwoRoomLayout(),
        render_mode: str | None = "rgb_array",
    ):
        if goal_mode not in ("other-room", "anywhere"):
            raise ValueError(f"goal_mode must be 'other-room' or 'anywhere', got {goal_mode!r}")
        self.layout, self.max_steps, self.goal_mode, self.render_mode = layout, max_steps, goal_mode, render_mode
        n = layout.size
        self.observation_space = gym.spaces.Dict(
            {
                "pixels": gym.spaces.Box(0, 255, (n, n, 3), np.uint8),
                "proprio": gym.spaces.Box(0.0, 1.0, (2,), np.float32),
            }
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._bg = background(layout)
        self.pos = np.full(2, 0.25)
        self.goal = np.full(2, 0.75)
        self.steps = 0

    def _obs(self) -> dict:
        return {"pixels": self.render(), "proprio": self.pos.astype(np.float32)}

    def _info(self) -> dict:
        dist = float(np.linalg.norm(self.pos - self.goal))
        return {
            "goal": self._goal_img.copy(),
            "goal_proprio": self.goal.astype(np.float32),
            "distance": dist,
            "is_success": dist < self.layout.goal_radius,
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options = options or {}
        L = self.layout
        if "start" in options:
            self.pos = np.asarray(options["start"], np.float64)
            if blocked(self.pos[None], L)[0]:
                raise ValueError(f"start {tuple(self.pos)} is inside a wall")
        else:
            self.pos = sample_free(self.np_random, L, str(self.np_random.choice(["left", "right"])))
        if "goal" in options:
            self.goal = np.asarray(options["goal"], np.float64)
        elif self.goal_mode == "other-room":
            self.goal = sample_free(self.np_random, L, "right" if self.pos[0] < L.wall_x else "left")
        else:
            self.goal = sample_free(self.np_random, L, "any")
        self._goal_img = render_positions(self.goal[None], L, self._bg)[0]
        self.steps = 0
        return self._obs(), self._info()

    def step(self, action):
        action = np.asarray(action, np.float64).reshape(1, 2)
        if not np.all(np.isfinite(action)):
            raise ValueError(f"two-room: action must be finite, got {action.ravel().tolist()}")
        self.pos = step_positions(self.pos[None], action, self.layout)[0]
        self.steps += 1
        info = self._info()
        return self._obs(), -info["distance"], info["is_success"], self.steps >= self.max_steps, info

    def render(self):
        return render_positions(self.pos[None], self.layout, self._bg)[0]

    # -- exact state and the scripted expert (the dataset protocol, evals/dataset_goals.py) ------
    def get_state(self) -> np.ndarray:
        """[agent x, y, goal x, y]: all the next step depends on."""
        return np.array([*self.pos, *self.goal], np.float64)

    def set_state(self, state) -> tuple[dict, dict]:
        s = np.asarray(state, np.float64).ravel()
        if s.shape != (4,) or not np.all(np.isfinite(s)):
            raise ValueError(f"two-room: a state is 4 finite numbers (see get_state), got shape {s.shape}")
        return self.reset(options={"start": s[:2], "goal": s[2:]})

    def state_success(self, goal_state) -> tuple[bool, float]:
        """The world's own test against a recorded state: the agent within goal_radius of its place there."""
        dist = float(np.linalg.norm(self.pos - np.asarray(goal_state, np.float64)[:2]))
        return dist < self.layout.goal_radius, dist

    def expert_finished(self) -> bool:
        return bool(self._info()["is_success"])

    def retarget(self, rng: np.random.Generator) -> None:
        """A new goal anywhere free (the expert's next task on a long demonstration)."""
        self.goal = sample_free(rng, self.layout, "any")
        self._goal_img = render_positions(self.goal[None], self.layout, self._bg)[0]

    def expert_action(self) -> np.ndarray:
        """Straight to the goal in its room; from the other room, line up with the door, then through it."""
        L, (x, y) = self.layout, self.pos
        side = np.sign(self.goal[0] - L.wall_x)
        if np.sign(x - L.wall_x) == side:
            target = self.goal
        elif abs(y - L.door_y) < 0.03:
            target = np.array([L.wall_x + side * 0.1, L.door_y])
        else:
            target = np.array([L.wall_x - side * 0.12, L.door_y])
        return np.clip((target - self.pos) / L.max_step, -1, 1).astype(np.float32)

    def render_background(self) -> np.ndarray:
        """The map without the agent, for drawing trajectories on."""
        return self._bg.copy()
