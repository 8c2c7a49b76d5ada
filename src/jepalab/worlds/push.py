"""The built-in `push` world: a round pusher moves a block to a target pose (as Push-T), with contact
physics (pymunk).

    from jepalab.worlds import make
    env = make("push")                      # a box; make("push", block="T") for the T of Push-T

Top-down 64x64 frames: the grey target pose drawn on the floor, the block (blue) on top, the pusher
(red disc). Actions are 2-D velocity commands in [-1, 1]; a step lasts 0.1 s, in which a PD
the kinematic pusher moves at an even speed to `position + action * MAX_STEP` over 10 physics
substeps, so it moves at most MAX_STEP per step and pushes the block only by contact. The floor's
friction is modelled by damping the block's velocity, so it stops within a step of being let go
(quasi-static pushing, as in Push-T).

proprio: [pusher x, y, block x, y, cos angle, sin angle] (positions in the unit square).
Success, by two tests (`success_tests`; `success=` names the one `is_success` reports, both are in
info["success_tests"]):
- "anchors", the Push-T test of stable-worldmodel and DINO-WM: the pusher's and the block's
  positions together, (pusher x, y, block x, y), within 20/512 of the goal's (20 px of a 512-px
  arena) and the block's angle within pi/9 (20 degrees);
- "strict", this world's own: the block's centre within POS_TOL of the goal's and its angle within
  ANGLE_TOL, wherever the pusher is.
Angles count modulo nothing for the T and modulo a quarter turn for the box (a square looks the same).
Goals: the target pose is the start pose moved by 0.10-0.25 and turned by up to 45 degrees, kept
inside the arena; the goal image is the block on its target with the pusher where it started.
`expert_action()` is a scripted pusher (get behind the block, push it towards the target), the
`noisy-expert` collection policy; `pose_expert_action()` turns the block to the target's angle first
(the `pose-expert` policy); both in worlds/push_expert.py.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from .push_geometry import BOX, MAX_STEP, PUSHER_RADIUS, T_SHAPE  # noqa: F401 - MAX_STEP: push.MAX_STEP

SIZE = 64  # the default frame side; `image_size` draws the same arena at another
SCALE = 100.0  # physics units per unit of the arena: pymunk's tolerances are tuned for pixel-like units
SUBSTEPS, DT = 10, 0.01
FLOOR_DAMPING = 1e-12  # share of the block's velocity left after a second of sliding
POS_TOL, ANGLE_TOL = 0.05, np.deg2rad(15)  # the "strict" test: the block alone
ANCHOR_POS_TOL, ANCHOR_ANGLE_TOL = 20 / 512, np.pi / 9  # the anchors' Push-T test: pusher and block together
SUCCESS_TESTS = ("anchors", "strict")
FLOOR, TARGET, BLOCK, PUSHER, WALL = (235, 235, 228), (190, 190, 190), (40, 90, 200), (220, 40, 40), (70, 70, 70)


def _pixel_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(size) + 0.5) / size
    return np.meshgrid(c, c)  # row index is y, column index is x


def draw_block(img: np.ndarray, parts, pos, angle: float, color) -> None:
    """Fill the block's rectangles, posed at pos/angle, with a 2x2 supersampled coverage (soft edges)."""
    size = img.shape[0]
    x, y = _pixel_grid(size)
    cover = np.zeros((size, size), np.float32)
    c, s = np.cos(angle), np.sin(angle)
    for dx, dy in ((-0.25, -0.25), (0.25, -0.25), (-0.25, 0.25), (0.25, 0.25)):
        px, py = x + dx / size - pos[0], y + dy / size - pos[1]
        u, v = c * px + s * py, -s * px + c * py  # into the block's frame
        inside = np.zeros_like(u, bool)
        for x0, y0, x1, y1 in parts:
            inside |= (u >= x0) & (u <= x1) & (v >= y0) & (v <= y1)
        cover += inside * 0.25
    a = cover[..., None]
    img[:] = (img * (1 - a) + np.asarray(color, np.float32) * a).round().astype(np.uint8)


def draw_disc(img: np.ndarray, pos, radius: float, color) -> None:
    size = img.shape[0]
    x, y = _pixel_grid(size)
    d = np.sqrt((x - pos[0]) ** 2 + (y - pos[1]) ** 2) * size
    a = np.clip(radius * size - d + 0.5, 0, 1)[..., None]
    img[:] = (img * (1 - a) + np.asarray(color, np.float32) * a).round().astype(np.uint8)


def angle_error(a: float, b: float, symmetry: int = 1) -> float:
    period = 2 * np.pi / symmetry
    d = (a - b) % period
    return float(min(d, period - d))


def success_tests(
    pusher, block_pos, angle: float, goal_pusher, goal_block, goal_angle: float, symmetry: int = 1
) -> dict[str, bool]:
    """Both success tests of a pose against a goal pose (positions in arena units, angles in radians)."""
    turn = angle_error(angle, goal_angle, symmetry)
    both = np.linalg.norm(np.concatenate([np.subtract(pusher, goal_pusher), np.subtract(block_pos, goal_block)]))
    return {
        "anchors": bool(both < ANCHOR_POS_TOL and turn < ANCHOR_ANGLE_TOL),
        "strict": bool(np.linalg.norm(np.subtract(block_pos, goal_block)) < POS_TOL and turn < ANGLE_TOL),
    }


class PushEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    state_goal_columns = (2, 3, 4, 5)  # the block's pose (x, y, cos, sin): what a goal given as a state sets

    def __init__(
        self,
        max_steps: int = 100,
        block: str = "box",
        goal_mode: str = "near",
        render_mode: str | None = "rgb_array",
        show_target: bool = True,
        success: str = "anchors",
        image_size: int = SIZE,
    ):
        if block not in ("box", "T"):
            raise ValueError(f"push: block must be 'box' or 'T', got {block!r}")
        if success not in SUCCESS_TESTS:
            raise ValueError(f"push: success must be one of {', '.join(SUCCESS_TESTS)}, got {success!r}")
        self.success, self.size = success, int(image_size)
        if self.size < 16:
            raise ValueError(f"push: image_size must be >= 16, got {image_size}")
        if goal_mode not in ("near", "anywhere"):
            raise ValueError(f"push: goal_mode must be 'near' or 'anywhere', got {goal_mode!r}")
        self.block_kind, self.parts = block, BOX if block == "box" else T_SHAPE
        self.symmetry = 4 if block == "box" else 1
        self.max_steps, self.goal_mode, self.render_mode = max_steps, goal_mode, render_mode
        self.show_target = show_target
        self.observation_space = gym.spaces.Dict(
            {
                "pixels": gym.spaces.Box(0, 255, (self.size, self.size, 3), np.uint8),
                "proprio": gym.spaces.Box(-1.0, 1.0, (6,), np.float32),
            }
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.space = None

    # -- physics -------------------------------------------------------------------
    def _build(self, pusher, block_pos, block_angle) -> None:
        import pymunk

        space = pymunk.Space()
        space.gravity = (0, 0)
        # the floor's friction: a block let go at the pusher's top speed slides about a pixel more, as
        # Push-T's T does (with 2 % a second left, a touch sent it flying a quarter of the arena)
        space.damping = FLOOR_DAMPING
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
            verts = [
                (x0 * SCALE, y0 * SCALE),
                (x1 * SCALE, y0 * SCALE),
                (x1 * SCALE, y1 * SCALE),
                (x0 * SCALE, y1 * SCALE),
            ]
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
        img = np.empty((self.size, self.size, 3), np.uint8)
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
        img = np.empty((self.size, self.size, 3), np.uint8)
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
        # the goal image shows the pusher where the episode started: the anchors' test asks for it there
        tests = success_tests(
            self.pusher_pos, pos, angle, self._goal_proprio[:2], self.target_pos, self.target_angle, self.symmetry
        )
        # copies: a caller keeping the info of one step must not see it change at the next
        return {
            "goal": self._goal_img.copy(),
            "goal_proprio": self._goal_proprio.copy(),
            "distance": dist,
            "angle_error": err,
            "is_success": tests[self.success],
            "success_tests": tests,
        }

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
            self.target_pos, self.target_angle = (
                np.asarray(options["target"], np.float64),
                float(options.get("target_angle", block_angle)),
            )
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
        self._goal_proprio = np.array(
            [*pusher, *self.target_pos, np.cos(self.target_angle), np.sin(self.target_angle)], np.float32
        )
        self.steps = 0
        return self._obs(), self._info()

    def step(self, action):
        a = np.asarray(action, np.float64).reshape(2)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"push: action must be finite, got {a.tolist()}")
        goal = np.clip(self.pusher_pos + np.clip(a, -1, 1) * MAX_STEP, PUSHER_RADIUS, 1 - PUSHER_RADIUS) * SCALE
        for j in range(SUBSTEPS):  # the kinematic pusher moves at an even speed to this step's goal
            pos = np.array(self.agent.position)
            self.agent.velocity = tuple((goal - pos) / ((SUBSTEPS - j) * DT))
            self.space.step(DT)
        self.agent.velocity = (0.0, 0.0)
        self.steps += 1
        info = self._info()
        return self._obs(), -info["distance"], info["is_success"], self.steps >= self.max_steps, info

    # -- exact state, for resets to a recorded state (the dataset protocol) -------------
    def get_state(self) -> np.ndarray:
        """Everything the next step depends on: [pusher x, y, block x, y, angle, block vx, vy, spin,
        target x, y, angle] (positions in arena units)."""
        pos, angle = self.block_pose
        vel = np.array(self.block.velocity) / SCALE
        return np.array(
            [*self.pusher_pos, *pos, angle, *vel, self.block.angular_velocity, *self.target_pos, self.target_angle],
            np.float64,
        )

    def set_state(self, state) -> tuple[dict, dict]:
        """Put the world in a state from `get_state` (the step counter restarts); -> (obs, info) as
        reset returns them. The target pose in the state is kept, so the goal image is the block on it."""
        s = np.asarray(state, np.float64).ravel()
        if s.shape != (11,) or not np.all(np.isfinite(s)):
            raise ValueError(f"push: a state is 11 finite numbers (see get_state), got shape {s.shape}")
        self.reset(
            options={"pusher": s[:2], "block": s[2:4], "block_angle": s[4], "target": s[8:10], "target_angle": s[10]}
        )
        self.block.velocity, self.block.angular_velocity = tuple(s[5:7] * SCALE), float(s[7])
        return self._obs(), self._info()

    def render_state(self, state) -> np.ndarray:
        """The frame a state shows, without touching the world's own state."""
        s = np.asarray(state, np.float64).ravel()
        saved = self.target_pos, self.target_angle
        self.target_pos, self.target_angle = s[8:10], float(s[10])
        try:
            return self._draw(s[:2], s[2:4], float(s[4]))
        finally:
            self.target_pos, self.target_angle = saved

    def state_success_tests(self, goal_state) -> dict[str, bool]:
        """Both success tests against a recorded state (its pusher and block) instead of the target."""
        g = np.asarray(goal_state, np.float64).ravel()
        pos, angle = self.block_pose
        return success_tests(self.pusher_pos, pos, angle, g[:2], g[2:4], g[4], self.symmetry)

    def state_success(self, goal_state) -> tuple[bool, float]:
        """The world's test (`success`) against a recorded state instead of the target; -> (success,
        the block's distance to the state's)."""
        g = np.asarray(goal_state, np.float64).ravel()
        dist = float(np.linalg.norm(self.block_pose[0] - g[2:4]))
        return self.state_success_tests(goal_state)[self.success], dist

    def expert_finished(self) -> bool:
        """The expert has done what it can: the block on the target's place (it does not turn blocks)."""
        return float(np.linalg.norm(self.block_pose[0] - self.target_pos)) < POS_TOL

    def retarget(self, rng: np.random.Generator) -> None:
        """A new target pose anywhere (the expert's next task on a long demonstration)."""
        self.target_pos, self.target_angle = rng.uniform(0.2, 0.8, 2), rng.uniform(-np.pi, np.pi)

    # -- the scripted experts (worlds/push_expert.py) ------------------------------------
    def expert_action(self) -> np.ndarray:
        """The place expert: gets behind the block and pushes it through its centre to the target."""
        from .push_expert import place_action

        return place_action(self)

    def pose_expert_action(self) -> np.ndarray:
        """The pose expert: turns the block to the target's angle, then pushes it to its place."""
        from .push_expert import pose_action

        return pose_action(self)

    def pose_expert_finished(self) -> bool:
        from .push_expert import pose_reached

        return pose_reached(self)
