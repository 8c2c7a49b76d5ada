"""The built-in `push` world: a round pusher moves a block to a target pose (as Push-T), with contact
physics (pymunk).

    from jepalab.worlds import make
    env = make("push")                      # a box; make("push", block="T") for the T of Push-T

Top-down 64x64 frames: the grey target pose drawn on the floor, the block (blue) on top, the pusher
(red disc). Actions are 2-D velocity commands in [-1, 1]; a step lasts 0.1 s, in which a PD
controller drives the kinematic pusher towards `position + action * MAX_STEP` over 10 physics
substeps, so the pusher moves at most MAX_STEP per step and pushes the block only by contact. The
floor's friction is modelled by damping the block's velocity, so it stops soon after it is let go.

proprio: [pusher x, y, block x, y, cos angle, sin angle] (positions in the unit square).
Success: the block's centre within POS_TOL of the target's and its angle within ANGLE_TOL (for the
T, modulo nothing; for the box, modulo a quarter turn: a square looks the same).
Goals: the target pose is the start pose moved by 0.10-0.25 and turned by up to 45 degrees, kept
inside the arena; the goal image is the block on its target with the pusher where it started.
`expert_action()` is a scripted pusher (get behind the block, push it towards the target), the
`noisy-expert` collection policy.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

SIZE = 64
SCALE = 100.0  # physics units per unit of the arena: pymunk's tolerances are tuned for pixel-like units
PUSHER_RADIUS = 0.04
MAX_STEP = 0.04  # arena units per step
SUBSTEPS, DT = 10, 0.01
POS_TOL, ANGLE_TOL = 0.05, np.deg2rad(15)
FLOOR, TARGET, BLOCK, PUSHER, WALL = (235, 235, 228), (190, 190, 190), (40, 90, 200), (220, 40, 40), (70, 70, 70)
BOX = [(-0.06, -0.06, 0.06, 0.06)]  # rectangles (x0, y0, x1, y1) in the block's frame
T_SHAPE = [(-0.1, -0.055, 0.1, -0.015), (-0.02, -0.015, 0.02, 0.105)]  # the bar and the stem; centre of mass ~0


def _pixel_grid() -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(SIZE) + 0.5) / SIZE
    return np.meshgrid(c, c)  # row index is y, column index is x


def draw_block(img: np.ndarray, parts, pos, angle: float, color) -> None:
    """Fill the block's rectangles, posed at pos/angle, with a 2x2 supersampled coverage (soft edges)."""
    x, y = _pixel_grid()
    cover = np.zeros((SIZE, SIZE), np.float32)
    c, s = np.cos(angle), np.sin(angle)
    for dx, dy in ((-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)):
        px, py = x + dx / SIZE - pos[0], y + dy / SIZE - pos[1]
        u, v = c * px + s * py, -s * px + c * py  # into the block's frame
        inside = np.zeros_like(u, bool)
        for x0, y0, x1, y1 in parts:
            inside |= (u >= x0) & (u <= x1) & (v >= y0) & (v <= y1)
        cover += inside * 0.25
    a = cover[..., None]
    img[:] = (img * (1 - a) + np.asarray(color, np.float32) * a).round().astype(np.uint8)


def draw_disc(img: np.ndarray, pos, radius: float, color) -> None:
    x, y = _pixel_grid()
    d = np.sqrt((x - pos[0]) ** 2 + (y - pos[1]) ** 2) * SIZE
    a = np.clip(radius * SIZE - d + 0.5, 0, 1)[..., None]
    img[:] = (img * (1 - a) + np.asarray(color, np.float32) * a).round().astype(np.uint8)


def angle_error(a: float, b: float, symmetry: int = 1) -> float:
    period = 2 * np.pi / symmetry
    d = (a - b) % period
    return float(min(d, period - d))


class PushEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    state_goal_columns = (2, 3, 4, 5)  # the block's pose (x, y, cos, sin): what a goal given as a state sets

    def __init__(self, max_steps: int = 100, block: str = "box", goal_mode: str = "near",
                 render_mode: str | None = "rgb_array", show_target: bool = True):
        if block not in ("box", "T"):
            raise ValueError(f"push: block must be 'box' or 'T', got {block!r}")
        if goal_mode not in ("near", "anywhere"):
            raise ValueError(f"push: goal_mode must be 'near' or 'anywhere', got {goal_mode!r}")
        self.block_kind, self.parts = block, BOX if block == "box" else T_SHAPE
        self.symmetry = 4 if block == "box" else 1
        self.max_steps, self.goal_mode, self.render_mode = max_steps, goal_mode, render_mode
        self.show_target = show_target
        self.observation_space = gym.spaces.Dict({
            "pixels": gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8),
            "proprio": gym.spaces.Box(-1.0, 1.0, (6,), np.float32),
        })
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.space = None

    # -- physics -------------------------------------------------------------------
    def _build(self, pusher, block_pos, block_angle) -> None:
        import pymunk
        space = pymunk.Space()
        space.gravity = (0, 0)
        space.damping = 0.02  # the floor's friction: 2 % of the block's velocity left after a second
        # thick walls (their inner faces on the arena's edges): a block squeezed against one by the
        # kinematic pusher gets stuck instead of tunnelling through
        t, lo, hi = 10.0, -10.0, SCALE + 10.0
        walls = [((lo, lo), (hi, lo)), ((hi, lo), (hi, hi)), ((hi, hi), (lo, hi)), ((lo, hi), (lo, lo))]
        for a, b in walls:
            seg = pymunk.Segment(space.static_body, a, b, t)
            seg.friction = 0.5
            space.add(seg)
        body = pymunk.Body()
        shapes = []
        for x0, y0, x1, y1 in self.parts:
            verts = [(x0 * SCALE, y0 * SCALE), (x1 * SCALE, y0 * SCALE), (x1 * SCALE, y1 * SCALE), (x0 * SCALE, y1 * SCALE)]
            shape = pymunk.Poly(body, verts)
            shape.density, shape.friction = 0.01, 0.6
            shapes.append(shape)
        body.position, body.angle = tuple(np.asarray(block_pos) * SCALE), float(block_angle)
        space.add(body, *shapes)
        agent = pymunk.Body(body_type=pymunk.Body.KINEMATIC)
        circle = pymunk.Circle(agent, PUSHER_RADIUS * SCALE)
        circle.friction = 0.6
        agent.position = tuple(np.asarray(pusher) * SCALE)
        space.add(agent, circle)
        self.space, self.block, self.agent = space, body, agent

    @property
    def pusher_pos(self) -> np.ndarray:
        return np.array(self.agent.position) / SCALE

    @property
    def block_pose(self) -> tuple[np.ndarray, float]:
        return np.array(self.block.position) / SCALE, float(self.block.angle)

    # -- rendering ---------------------------------------------------------------------
    def _draw(self, pusher, block_pos, block_angle) -> np.ndarray:
        img = np.empty((SIZE, SIZE, 3), np.uint8)
        img[:] = FLOOR
        if self.show_target:
            draw_block(img, self.parts, self.target_pos, self.target_angle, TARGET)
        draw_block(img, self.parts, block_pos, block_angle, BLOCK)
        draw_disc(img, pusher, PUSHER_RADIUS, PUSHER)
        img[[0, -1], :] = WALL
        img[:, [0, -1]] = WALL
        return img

    def render(self):
        pos, angle = self.block_pose
        return self._draw(self.pusher_pos, pos, angle)

    def render_background(self) -> np.ndarray:
        """The arena the pusher's path (proprio[:2]) is drawn on: floor and walls, no block and no
        target, which differ from episode to episode (works before any reset)."""
        img = np.empty((SIZE, SIZE, 3), np.uint8)
        img[:] = FLOOR
        img[[0, -1], :] = WALL
        img[:, [0, -1]] = WALL
        return img

    # -- gymnasium API -----------------------------------------------------------------
    def _obs(self) -> dict:
        pos, angle = self.block_pose
        proprio = np.array([*self.pusher_pos, *pos, np.cos(angle), np.sin(angle)], np.float32)
        return {"pixels": self.render(), "proprio": proprio}

    def _info(self) -> dict:
        pos, angle = self.block_pose
        dist = float(np.linalg.norm(pos - self.target_pos))
        err = angle_error(angle, self.target_angle, self.symmetry)
        return {"goal": self._goal_img, "goal_proprio": self._goal_proprio, "distance": dist, "angle_error": err,
                "is_success": dist < POS_TOL and err < ANGLE_TOL}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        options, rng = options or {}, self.np_random
        block_pos = np.asarray(options.get("block", rng.uniform(0.3, 0.7, 2)), np.float64)
        block_angle = float(options.get("block_angle", rng.uniform(-np.pi, np.pi)))
        if "pusher" in options:
            pusher = np.asarray(options["pusher"], np.float64)
        else:  # near the block, outside it
            while True:
                pusher = block_pos + rng.uniform(-0.2, 0.2, 2)
                if np.linalg.norm(pusher - block_pos) > 0.13 and np.all((pusher > 0.06) & (pusher < 0.94)):
                    break
        if "target" in options:
            self.target_pos, self.target_angle = np.asarray(options["target"], np.float64), float(options.get("target_angle", block_angle))
        elif self.goal_mode == "near":
            while True:
                d = rng.uniform(0.10, 0.25)
                self.target_pos = block_pos + d * np.array([np.cos(t := rng.uniform(0, 2 * np.pi)), np.sin(t)])
                if np.all((self.target_pos > 0.15) & (self.target_pos < 0.85)):
                    break
            self.target_angle = block_angle + rng.uniform(-np.pi / 4, np.pi / 4)
        else:
            self.target_pos, self.target_angle = rng.uniform(0.2, 0.8, 2), rng.uniform(-np.pi, np.pi)
        self._build(pusher, block_pos, block_angle)
        self._goal_img = self._draw(pusher, self.target_pos, self.target_angle)
        self._goal_proprio = np.array([*pusher, *self.target_pos, np.cos(self.target_angle), np.sin(self.target_angle)],
                                      np.float32)
        self.steps = 0
        return self._obs(), self._info()

    def step(self, action):
        a = np.asarray(action, np.float64).reshape(2)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"push: action must be finite, got {a.tolist()}")
        goal = np.clip(self.pusher_pos + np.clip(a, -1, 1) * MAX_STEP, PUSHER_RADIUS, 1 - PUSHER_RADIUS) * SCALE
        for _ in range(SUBSTEPS):  # PD control of the kinematic pusher towards this step's goal
            pos, vel = np.array(self.agent.position), np.array(self.agent.velocity)
            self.agent.velocity = tuple(0.5 / DT * (goal - pos) - 0.1 * vel)
            self.space.step(DT)
        self.steps += 1
        info = self._info()
        return self._obs(), -info["distance"], info["is_success"], self.steps >= self.max_steps, info

    def expert_action(self) -> np.ndarray:
        """Go behind the block (seen from the target), then push through its centre towards the target."""
        pos, _ = self.block_pose
        to_target = self.target_pos - pos
        dist = np.linalg.norm(to_target)
        if dist < 1e-6:
            return np.zeros(2, np.float32)
        direction = to_target / dist
        behind = pos - direction * (0.1 + PUSHER_RADIUS)
        me = self.pusher_pos
        side = np.array([-direction[1], direction[0]])
        waypoint = behind + side * (0.12 if np.dot(me - pos, side) > 0 else -0.12)  # round the block, not through it
        if np.linalg.norm(me - behind) > 0.03 and np.dot(me - pos, direction) > -0.05 and np.linalg.norm(me - waypoint) > 0.03:
            step = waypoint - me
        elif np.linalg.norm(me - behind) > 0.03:
            step = behind - me
        else:
            step = direction * min(dist, MAX_STEP)
        return np.clip(step / MAX_STEP, -1, 1).astype(np.float32)
