"""Any gymnasium environment that renders `rgb_array`, as a jepalab world.

    from jepalab.worlds import make
    env = make("gymnasium:Reacher-v5", image_size=64)     # MUJOCO_GL=egl on a machine without a screen
    obs, info = env.reset(seed=0)                          # {"pixels", "proprio"}, info["goal"] ...

What the wrapper adds to the environment:
- observations {"pixels": (S, S, 3) uint8 rendered at the model's size, "proprio": the env's own
  observation vector (a dict observation's "observation")}, and with depth_size=N a spatial channel
  "depth": (N, N) distances from the camera in metres (MuJoCo envs; info["goal_depth"] at the goal);
- actions in [-1, 1]^A for every Box action space, mapped linearly onto the env's bounds (Pusher's
  are +-2), so planners and exploration never need to know them; a Discrete(n) space takes a vector
  of n scores and steps with the best one;
- info["state"]: the true simulator state where there is one (MuJoCo qpos and qvel), for probes;
- goals, for the tasks that have one (`TASKS`): info["goal"] an image of the goal reached,
  info["goal_proprio"] the observation vector there, info["is_success"] the task's own test.
  Rendering the goal reached means putting the scene in the goal pose for one frame: the arm of
  Reacher at the target (two-link inverse kinematics), PointMaze's ball at its goal, Pusher's object
  at its goal (the arm where it is).

MuJoCo scenes are rendered without shadows and reflections: at 64x64 they are a few pixels of
detail that cost most of the render time.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import gymnasium as gym
import numpy as np

PREFIX = "gymnasium:"


class GymWorldError(ValueError):
    pass


@dataclass
class Task:
    """How to show and test the goal of one environment family."""
    pose_goal: Callable  # (unwrapped env) -> None: put the scene in the goal pose (state restored after)
    success: Callable  # (unwrapped env, info) -> bool
    distance: Callable | None  # (unwrapped env) -> the task's distance to its goal, where it has one
    tolerance: str  # what success means, for reports
    camera: dict | None = None  # MuJoCo default_camera_config: the task's scene filling a small frame
    goal_columns: tuple | None = None  # the proprio numbers a goal given as a state sets (None: all)
    point: Callable | None = None  # (unwrapped env) -> what success is measured on (the fingertip, the object)
    tol: float = 0.0  # success: `point` within this of the goal's
    expert: Callable | None = None  # (unwrapped env) -> an action in the env's own units that heads for the goal
    retarget: Callable | None = None  # (unwrapped env, rng) -> None: a new goal (a long demonstration's next task)


def _reacher_goal(u) -> None:
    """Joint angles that put the fingertip on the target (elbow-down solution)."""
    l1, l2 = 0.1, 0.11
    x, y = u.data.qpos[2:4]
    c = np.clip((x * x + y * y - l1 * l1 - l2 * l2) / (2 * l1 * l2), -1, 1)
    q1 = np.arccos(c)
    q0 = np.arctan2(y, x) - np.arctan2(l2 * np.sin(q1), l1 + l2 * np.cos(q1))
    u.data.qpos[:2] = q0, q1
    u.data.qvel[:] = 0


def _reacher_distance(u) -> float:
    return float(np.linalg.norm(u.get_body_com("fingertip") - u.get_body_com("target")))


def _reacher_expert(u) -> np.ndarray:
    """Torques of a PD controller towards the joint angles that put the fingertip on the target."""
    q, qd = u.data.qpos[:2].copy(), u.data.qvel[:2].copy()
    saved = u.data.qpos.copy(), u.data.qvel.copy()
    _reacher_goal(u)
    want = u.data.qpos[:2].copy()
    u.data.qpos[:], u.data.qvel[:] = saved
    err = (want - q + np.pi) % (2 * np.pi) - np.pi
    return np.clip(2.0 * err - 0.15 * qd, -1, 1)


def _reacher_retarget(u, rng: np.random.Generator) -> None:
    """A new target where Reacher's reset draws them (within 0.2 of the base)."""
    while True:
        goal = rng.uniform(-0.2, 0.2, 2)
        if np.linalg.norm(goal) < 0.2:
            break
    qpos, qvel = u.data.qpos.copy(), u.data.qvel.copy()
    qpos[2:4], qvel[2:4] = goal, 0
    u.set_state(qpos, qvel)


def _pusher_goal(u) -> None:
    u.data.qpos[-4:-2] = u.data.qpos[-2:]  # the object's slide joints onto the goal's
    u.data.qvel[:] = 0


def _pusher_distance(u) -> float:
    return float(np.linalg.norm((u.get_body_com("object") - u.get_body_com("goal"))[:2]))


def _maze_goal(u) -> None:
    u.data.qpos[:2] = u.goal[:2] if hasattr(u, "goal") else u.data.qpos[:2]
    u.data.qvel[:] = 0


TASKS: dict[str, Task] = {
    "Reacher": Task(
        _reacher_goal,
        lambda u, info: _reacher_distance(u) < 0.02,
        _reacher_distance,
        "fingertip within 0.02 of the target",
        camera={"distance": 0.62, "elevation": -90.0, "azimuth": 90.0, "lookat": np.zeros(3)},
        goal_columns=(0, 1, 2, 3),  # cos and sin of both joint angles: the arm's pose
        point=lambda u: u.get_body_com("fingertip")[:2].copy(),
        tol=0.02,
        expert=_reacher_expert,
        retarget=_reacher_retarget,
    ),
    "Pusher": Task(
        _pusher_goal,
        lambda u, info: _pusher_distance(u) < 0.05,
        _pusher_distance,
        "object within 0.05 of the goal",
        camera={"distance": 1.5, "elevation": -90.0, "azimuth": 90.0, "lookat": np.array([0.25, -0.3, -0.3])},
        goal_columns=(17, 18),  # the object's x, y
        point=lambda u: u.get_body_com("object")[:2].copy(),
        tol=0.05,
    ),
    "PointMaze": Task(
        _maze_goal,
        lambda u, info: bool(info.get("success", False)),
        None,
        "the env's own success (0.45)",
        goal_columns=(0, 1),
    ),  # the ball's x, y
}


def task_for(env_id: str) -> Task | None:
    family = env_id.split("/")[-1].split("_")[0].split("-")[0]
    return TASKS.get(family)


def _import_provider(env_id: str) -> str:
    """'package.module:Name-v0' (gymnasium's own form) -> imports the module, which registers its envs,
    and returns 'Name-v0'; a plain id is returned as it is."""
    if ":" not in env_id:
        return env_id
    module, _, name = env_id.partition(":")
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise GymWorldError(f"{env_id}: cannot import {module!r} ({e}); install the package that provides "
                            f"{name!r}") from None
    return name


def _register_robotics(env_id: str) -> None:
    if env_id not in gym.registry:
        try:
            import gymnasium_robotics
            gym.register_envs(gymnasium_robotics)
        except ImportError:
            pass
    if env_id not in gym.registry:
        raise GymWorldError(f"gymnasium has no environment {env_id!r} (for MuJoCo envs: pip install "
                            "'gymnasium[mujoco]'; for PointMaze/AntMaze: pip install gymnasium-robotics)")


class GymWorld(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, env_id: str, image_size: int = 64, max_steps: int | None = None, depth_size: int = 0,
                 **env_kwargs):
        os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; a user's own setting wins
        registered = _import_provider(env_id)
        _register_robotics(registered)
        self.env_id, self.size, self.depth_size = env_id, image_size, depth_size
        self.task = task_for(registered)
        self.state_goal_columns = None if self.task is None else self.task.goal_columns
        kwargs = dict(render_mode="rgb_array", **env_kwargs)
        if self.task is not None and self.task.camera is not None:
            kwargs.setdefault("default_camera_config", self.task.camera)
        if max_steps is not None:
            kwargs["max_episode_steps"] = max_steps
        try:
            try:  # MuJoCo envs render at the model's size directly; others are resized
                self.env = gym.make(registered, width=image_size, height=image_size, **kwargs)
            except TypeError:
                self.env = gym.make(registered, **kwargs)
        except gym.error.DependencyNotInstalled as e:
            raise GymWorldError(f"{env_id}: {e}") from None
        # gymnasium-robotics' mazes write their MJCF to a temp file that nothing deletes (one more in
        # /tmp for every env made); MuJoCo has read it by now, and nothing reads it again
        leaked = getattr(self.env.unwrapped, "tmp_xml_file_path", None)
        if isinstance(leaked, str):
            Path(leaked).unlink(missing_ok=True)
        space = self.env.action_space
        if isinstance(space, gym.spaces.Box):
            if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
                raise GymWorldError(f"{env_id}: unbounded action space {space}; jepalab needs bounds to scale actions")
            self.low, self.high = space.low.astype(np.float64), space.high.astype(np.float64)
            dim = int(np.prod(space.shape))
        elif isinstance(space, gym.spaces.Discrete):
            self.low = self.high = None
            dim = int(space.n)
        else:
            raise GymWorldError(f"{env_id}: action space {space} is not supported (Box or Discrete)")
        self.action_space = gym.spaces.Box(-1.0, 1.0, (dim,), np.float32)
        proprio = self._proprio(self.env.observation_space.sample())
        spaces = {"pixels": gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8),
                  "proprio": gym.spaces.Box(-np.inf, np.inf, proprio.shape, np.float32)}
        if depth_size:
            if self._renderer() is None:
                raise GymWorldError(f"{env_id}: depth maps come from MuJoCo's renderer; this env has none")
            spaces["depth"] = gym.spaces.Box(0.0, np.inf, (depth_size, depth_size), np.float32)
        self.observation_space = gym.spaces.Dict(spaces)
        self._styled, self._goal_depth = False, None

    # -- conversions -------------------------------------------------------------
    @staticmethod
    def _proprio(obs) -> np.ndarray:
        if isinstance(obs, dict):
            key = next((k for k in ("observation", "proprio", "state") if k in obs), None)
            # else every numeric vector of the dict (images, which some envs put there too, are left out)
            obs = obs[key] if key else np.concatenate(
                [np.ravel(v) for k, v in sorted(obs.items())
                 if np.issubdtype(np.asarray(v).dtype, np.number) and np.asarray(v).ndim <= 1])
        if isinstance(obs, tuple):  # PointMaze's agent reports (observation, info)
            obs = obs[0]
        return np.ravel(np.asarray(obs, np.float32))

    def _env_action(self, action):
        a = np.asarray(action, np.float64).ravel()
        if a.shape != self.action_space.shape or not np.all(np.isfinite(a)):
            raise GymWorldError(
                f"{self.env_id}: action must be {self.action_space.shape[0]} finite floats, got {a.tolist()}"
            )
        if self.low is None:
            return int(np.argmax(a))
        return (self.low + (np.clip(a, -1, 1) + 1) / 2 * (self.high - self.low)).reshape(self.env.action_space.shape)

    def pixels(self) -> np.ndarray:
        try:
            frame = self.env.render()
        except gym.error.DependencyNotInstalled as e:  # classic-control envs render through pygame
            raise GymWorldError(f"{self.env_id}: {e}") from None
        if frame is None:
            raise GymWorldError(
                f"{self.env_id}: render() returned nothing; jepalab needs an env that renders rgb_array"
            )
        if not self._styled:
            self._no_shadows()
        return self._resize(frame)

    def _resize(self, frame: np.ndarray) -> np.ndarray:
        """An RGB(A) frame of any size -> (S, S, 3) uint8 at the model's size."""
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:  # a float image in [0, 1]
            frame = (np.clip(frame, 0, 1) * 255).round().astype(np.uint8) if frame.max() <= 1.0 else \
                np.clip(frame, 0, 255).astype(np.uint8)
        if frame.shape[:2] != (self.size, self.size):
            from PIL import Image
            frame = np.asarray(Image.fromarray(np.ascontiguousarray(frame[..., :3])).resize((self.size, self.size),
                                                                                          Image.BILINEAR))
        return np.ascontiguousarray(frame[..., :3], dtype=np.uint8)

    def _renderer(self):
        u = self.env.unwrapped
        return getattr(u, "mujoco_renderer", None) or getattr(getattr(u, "point_env", None), "mujoco_renderer", None)

    def depth(self) -> np.ndarray:
        """Distance from the camera in metres, (depth_size, depth_size) float32: a spatial channel
        the model can fuse as a sense (model.senses=depth). MuJoCo's depth buffer is non-linear in
        distance; it is mapped back through the near and far planes, then averaged down."""
        renderer = self._renderer()
        buffer = np.asarray(renderer.render("depth_array"), np.float64)
        m = renderer.model
        near, far = m.vis.map.znear * m.stat.extent, m.vis.map.zfar * m.stat.extent
        metres = (near / (1 - buffer * (1 - near / far))).astype(np.float32)
        from PIL import Image
        return np.asarray(Image.fromarray(metres, mode="F").resize((self.depth_size,) * 2, Image.BOX), np.float32)

    def observe(self, obs) -> dict:
        out = {"pixels": self.pixels(), "proprio": self._proprio(obs)}
        if self.depth_size:
            out["depth"] = self.depth()
        return out

    def _no_shadows(self) -> None:
        self._styled = True
        renderer = self._renderer()
        viewer = getattr(renderer, "viewer", None)
        if viewer is None or not hasattr(viewer, "scn"):
            return
        import mujoco
        viewer.scn.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        viewer.scn.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0

    def state(self) -> np.ndarray | None:
        data = getattr(self.env.unwrapped, "data", None)
        if data is None or not hasattr(data, "qpos"):
            return None
        return np.concatenate([data.qpos, data.qvel]).astype(np.float32)

    # -- goals ---------------------------------------------------------------------
    def _goal(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(image, observation vector, depth map or None) of the goal reached; the simulator state is
        restored after."""
        import mujoco
        u = self.env.unwrapped
        saved = u.data.qpos.copy(), u.data.qvel.copy()
        self.task.pose_goal(u)
        mujoco.mj_forward(u.model, u.data)
        image = self.pixels()
        depth = self.depth() if self.depth_size else None
        mj_env = getattr(u, "point_env", u)  # a maze wraps the MuJoCo env of its agent
        proprio = self._proprio(mj_env._get_obs())
        u.data.qpos[:], u.data.qvel[:] = saved
        mujoco.mj_forward(u.model, u.data)
        return image, proprio, depth

    def _info(self, info: dict) -> dict:
        info = dict(info)
        state = self.state()
        if state is not None:
            info["state"] = state
        if self.task is not None:
            info["goal"], info["goal_proprio"] = self._goal_image, self._goal_proprio
            if self._goal_depth is not None:
                info["goal_depth"] = self._goal_depth
            info["is_success"] = bool(self.task.success(self.env.unwrapped, info))
            if self.task.distance is not None:
                info["distance"] = self.task.distance(self.env.unwrapped)
        else:
            self._env_goal(info)
        return info

    def _env_goal(self, info: dict) -> None:
        """Goals an env offers itself (an env jepalab has no Task for, e.g. stable-worldmodel's): the goal
        image from info "goal" (resized to the model's frames), the goal state from "goal_proprio" or
        "goal_state" (as "goal_proprio" only when it has the proprio's size, else as "goal_state", so a
        model that fuses proprio says what is missing instead of reading the wrong numbers), success
        from "is_success" or "success"."""
        goal = info.get("goal")
        if goal is not None and np.ndim(goal) == 3 and np.shape(goal)[-1] in (3, 4):
            info["goal"] = self._resize(np.asarray(goal))
        else:
            info.pop("goal", None)
        for key in ("goal_proprio", "goal_state"):
            if key in info and np.issubdtype(np.asarray(info[key]).dtype, np.number):
                vec = np.ravel(np.asarray(info.pop(key), np.float32))
                info["goal_proprio" if vec.shape == self.observation_space["proprio"].shape else "goal_state"] = vec
                break
        for key in ("is_success", "success"):
            if key in info:
                info["is_success"] = bool(np.asarray(info[key]).any())
                break

    def offers_goals(self) -> bool:
        """Whether this env shows goals jepalab can plan to: a Task, or a goal image in its own info
        (found by resetting it: the env starts a new episode)."""
        if self.task is not None:
            return True
        _, info = self.reset(seed=0)
        return "goal" in info and "is_success" in info

    # -- gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        if self.task is not None:
            self._goal_image, self._goal_proprio, self._goal_depth = self._goal()
        return self.observe(obs), self._info(info)

    # -- exact state (the dataset protocol, evals/dataset_goals.py) ---------------------
    def _mujoco(self):
        u = self.env.unwrapped
        if getattr(u, "data", None) is None or not hasattr(u, "set_state"):
            raise GymWorldError(f"{self.env_id}: recorded states need a MuJoCo env (qpos, qvel and set_state)")
        return u

    def get_state(self) -> np.ndarray:
        """[qpos, qvel] of the MuJoCo simulation: all the next step depends on."""
        u = self._mujoco()
        return np.concatenate([u.data.qpos, u.data.qvel]).astype(np.float64)

    def set_state(self, state) -> tuple[dict, dict]:
        """Put the simulation in a state from get_state; -> (obs, info) as reset returns them."""
        u = self._mujoco()
        s = np.asarray(state, np.float64).ravel()
        nq, nv = u.model.nq, u.model.nv
        if s.shape != (nq + nv,) or not np.all(np.isfinite(s)):
            raise GymWorldError(f"{self.env_id}: a state is {nq + nv} finite numbers (qpos, qvel), got shape {s.shape}")
        u.set_state(s[:nq], s[nq:])
        if self.task is not None:
            self._goal_image, self._goal_proprio, self._goal_depth = self._goal()
        return self.observe(self._mj_obs()), self._info({})

    def _mj_obs(self):
        u = self.env.unwrapped
        return getattr(u, "point_env", u)._get_obs()

    def state_success(self, goal_state) -> tuple[bool, float]:
        """The task's own test against a recorded state: its point (Reacher's fingertip, Pusher's
        object) within the task's tolerance of where that point is in `goal_state`."""
        if self.task is None or self.task.point is None:
            raise GymWorldError(f"{self.env_id}: no success test against a recorded state for this env")
        u, now = self._mujoco(), self.get_state()
        here = self.task.point(u)
        self._put(goal_state)
        there = self.task.point(u)
        self._put(now)
        dist = float(np.linalg.norm(here - there))
        return dist < self.task.tol, dist

    def _put(self, state) -> None:
        u = self.env.unwrapped
        s = np.asarray(state, np.float64)
        u.set_state(s[: u.model.nq], s[u.model.nq:])

    def expert_finished(self) -> bool:
        return self.task is not None and bool(self.task.success(self.env.unwrapped, {}))

    def retarget(self, rng: np.random.Generator) -> None:
        if self.task is None or self.task.retarget is None:
            raise AttributeError(f"{self.env_id}: no way to set a new goal")
        self.task.retarget(self.env.unwrapped, rng)
        self._goal_image, self._goal_proprio, self._goal_depth = self._goal()

    @property
    def has_expert(self) -> bool:
        return self.task is not None and self.task.expert is not None

    def expert_action(self) -> np.ndarray:
        """The task's scripted controller (Reacher: inverse kinematics + PD), in [-1, 1]."""
        if self.task is None or self.task.expert is None:
            raise AttributeError(f"{self.env_id} has no scripted expert")
        a = np.asarray(self.task.expert(self.env.unwrapped), np.float64)
        return np.clip(2 * (a - self.low) / (self.high - self.low) - 1, -1, 1).astype(np.float32)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(self._env_action(action))
        return self.observe(obs), float(reward), bool(terminated), bool(truncated), self._info(info)

    def render(self):
        return self.pixels()

    def close(self):
        self.env.close()
