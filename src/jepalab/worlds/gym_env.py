"""Any gymnasium environment that renders `rgb_array`, as a jepalab world.

    from jepalab.worlds import make
    env = make("gymnasium:Reacher-v5", image_size=64)     # MUJOCO_GL=egl on a machine without a screen
    obs, info = env.reset(seed=0)                          # {"pixels", "proprio"}, info["goal"] ...

What the wrapper adds to the environment:
- observations {"pixels": (S, S, 3) uint8 from `render()` at the model's size, "proprio": the env's
  own observation vector (a dict observation's "observation", "proprio" or "state"; where the
  observation is a bare vector or tensor and the env reports info["proprio"], that one: swm's
  TwoRoom observation also holds the target)}, and with depth_size=N a spatial channel "depth":
  (N, N) distances from the camera in metres (MuJoCo envs; info["goal_depth"] at the goal);
- actions in [-1, 1]^A for every Box action space, mapped linearly onto the env's bounds (Pusher's
  are +-2), so planners and exploration never need to know them; a Discrete(n) space takes a vector
  of n scores and steps with the best one;
- info["state"]: the true simulator state where there is one (MuJoCo qpos and qvel, or the env's
  own info["state"] / observation["state"]), for probes and the dataset protocol;
- goals, for the tasks jepalab knows (worlds/gym_tasks.py): info["goal"] an image of the goal
  reached, info["goal_proprio"] the observation vector there, info["is_success"] the task's own
  test. Rendering the goal reached means putting the scene in the goal pose for one frame: the arm
  of Reacher at the target (two-link inverse kinematics), PointMaze's ball at its goal, Pusher's
  object at its goal (the arm where it is). Any other env shows its goals itself, read by
  worlds/env_goals.py as the real packages offer them (a goal image, or a goal state rendered;
  success from info or from termination).

MuJoCo scenes are rendered without shadows and reflections: at 64x64 they are a few pixels of
detail that cost most of the render time.
"""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym
import numpy as np

from .env_goals import EnvGoals, EnvGoalsError
from .gym_support import (
    GymWorldError,
    hide_shadows,
    import_provider,
    mujoco_depth,
    numeric,
    register_robotics,
    resize_frame,
)
from .gym_tasks import TASKS, Task, task_for  # noqa: F401 - re-exported: callers name them from here

PREFIX = "gymnasium:"


class GymWorld(gym.Env):
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self, env_id: str, image_size: int = 64, max_steps: int | None = None, depth_size: int = 0, **env_kwargs
    ):
        os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; a user's own setting wins
        registered = import_provider(env_id)
        register_robotics(registered)
        self.env_id, self.size, self.depth_size = env_id, image_size, depth_size
        self.task = task_for(registered)
        self.goals = None if self.task is not None else EnvGoals(self)
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
        self.last_seed = None
        self._proprio_from_info = False
        proprio = self._proprio(self.env.observation_space.sample(), {})
        if self.task is None and not isinstance(self.env.observation_space, gym.spaces.Dict):
            # a bare observation vector may hold more than the agent (swm/TwoRoom-v1's holds the target):
            # where the env says what its proprioception is (info["proprio"]), that is the proprio
            obs, info = self.env.reset(seed=0)
            if numeric(info.get("proprio")):
                self._proprio_from_info = True
                proprio = self._proprio(obs, info)
        spaces = {
            "pixels": gym.spaces.Box(0, 255, (image_size, image_size, 3), np.uint8),
            "proprio": gym.spaces.Box(-np.inf, np.inf, proprio.shape, np.float32),
        }
        if depth_size:
            if self._renderer() is None:
                raise GymWorldError(f"{env_id}: depth maps come from MuJoCo's renderer; this env has none")
            spaces["depth"] = gym.spaces.Box(0.0, np.inf, (depth_size, depth_size), np.float32)
        self.observation_space = gym.spaces.Dict(spaces)
        self._styled, self._goal_depth = False, None

    # -- conversions -------------------------------------------------------------
    def _proprio(self, obs, info: dict) -> np.ndarray:
        if self._proprio_from_info:
            return np.ravel(np.asarray(info["proprio"], np.float32))
        if isinstance(obs, dict):
            key = next((k for k in ("observation", "proprio", "state") if k in obs), None)
            # else every numeric vector of the dict (images, which some envs put there too, are left out)
            obs = (
                obs[key]
                if key
                else np.concatenate(
                    [np.ravel(v) for k, v in sorted(obs.items()) if numeric(v) and np.asarray(v).ndim <= 1]
                )
            )
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
        return self.resize(frame)

    def resize(self, frame) -> np.ndarray:
        """An RGB(A) frame of any size (numpy or a tensor) -> (S, S, 3) uint8 at the model's size."""
        return resize_frame(frame, self.size)

    def _renderer(self):
        u = self.env.unwrapped
        return getattr(u, "mujoco_renderer", None) or getattr(getattr(u, "point_env", None), "mujoco_renderer", None)

    def depth(self) -> np.ndarray:
        """Distance from the camera in metres, (depth_size, depth_size) float32: a spatial channel the model
        can fuse as a sense (model.senses=depth)."""
        return mujoco_depth(self._renderer(), self.depth_size)

    def observe(self, obs, info: dict | None = None) -> dict:
        info = {} if info is None else info
        if self.goals is not None:
            self.goals.observe_state(obs, info)
        out = {"pixels": self.pixels(), "proprio": self._proprio(obs, info)}
        if self.depth_size:
            out["depth"] = self.depth()
        return out

    def _no_shadows(self) -> None:
        self._styled = True
        hide_shadows(self._renderer())

    def state(self) -> np.ndarray | None:
        if self.goals is not None:
            return None if self.goals.state is None else self.goals.state.astype(np.float32)
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
        proprio = self._proprio(mj_env._get_obs(), {})
        u.data.qpos[:], u.data.qvel[:] = saved
        mujoco.mj_forward(u.model, u.data)
        return image, proprio, depth

    def finish_info(self, info: dict, terminated: bool | None) -> dict:
        """The env's info with the true state and, where there is one, the goal and success."""
        info = dict(info)
        state = self.state()
        if state is not None:
            info["state"] = state
        if self.task is None:
            return self.goals.info(info, terminated, self.observation_space["proprio"].shape)
        info["goal"], info["goal_proprio"] = self._goal_image, self._goal_proprio
        if self._goal_depth is not None:
            info["goal_depth"] = self._goal_depth
        info["is_success"] = bool(self.task.success(self.env.unwrapped, info))
        if self.task.distance is not None:
            info["distance"] = self.task.distance(self.env.unwrapped)
        return info

    def goal_support(self) -> str | None:
        """None when this env shows goals jepalab can plan to (a Task, or a goal image or renderable
        goal state in its own info, found by resetting it: the env starts a new episode), else
        what it lacks."""
        if self.task is not None:
            return None
        _, info = self.reset(seed=0)
        return self.goals.missing(info)

    def offers_goals(self) -> bool:
        return self.goal_support() is None

    @property
    def success_rule(self) -> str:
        """How success is decided, for reports."""
        return self.task.tolerance if self.task is not None else self.goals.success_rule

    # -- gymnasium API -------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.last_seed = seed
        if self.task is not None:
            self._goal_image, self._goal_proprio, self._goal_depth = self._goal()
        else:
            self.goals.goal_override = None  # a new episode: the env's own goal
        observation = self.observe(obs, info)
        return observation, self.finish_info(info, None)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(self._env_action(action))
        observation = self.observe(obs, info)
        return observation, float(reward), bool(terminated), bool(truncated), self.finish_info(info, bool(terminated))

    def render(self):
        return self.pixels()

    def close(self):
        self.env.close()

    # -- exact state (the dataset protocol, evals/dataset_goals.py) ---------------------
    def _mujoco(self):
        u = self.env.unwrapped
        if getattr(u, "data", None) is None or not hasattr(u, "set_state"):
            raise GymWorldError(f"{self.env_id}: recorded states need a MuJoCo env (qpos, qvel and set_state)")
        return u

    def protocol_support(self) -> str | None:
        """None when episodes can start from recorded states and be judged against recorded goals."""
        if self.task is not None:
            return None if self.task.point is not None else "no success test against a recorded state"
        return self.goals.protocol_missing()

    def get_state(self) -> np.ndarray:
        """All the next step depends on: [qpos, qvel] of a MuJoCo simulation, else the env's own state."""
        if self.goals is not None:
            return self.goals.get_state()
        u = self._mujoco()
        return np.concatenate([u.data.qpos, u.data.qvel]).astype(np.float64)

    def set_state(self, state) -> tuple[dict, dict]:
        """Put the simulation in a state from get_state; -> (obs, info) as reset returns them."""
        if self.goals is not None:
            try:
                return self.goals.set_state(state)
            except EnvGoalsError as e:
                raise GymWorldError(str(e)) from None
        u = self._mujoco()
        s = np.asarray(state, np.float64).ravel()
        nq, nv = u.model.nq, u.model.nv
        if s.shape != (nq + nv,) or not np.all(np.isfinite(s)):
            raise GymWorldError(f"{self.env_id}: a state is {nq + nv} finite numbers (qpos, qvel), got shape {s.shape}")
        u.set_state(s[:nq], s[nq:])
        if self.task is not None:
            self._goal_image, self._goal_proprio, self._goal_depth = self._goal()
        return self.observe(self._mj_obs()), self.finish_info({}, None)

    def set_goal_state(self, goal_state) -> None:
        """Make a recorded state the env's own goal, so that its own success test judges it (envs
        without a Task; a Task's test compares against the goal state directly)."""
        if self.goals is not None:
            self.goals.set_goal_state(goal_state)

    def _mj_obs(self):
        u = self.env.unwrapped
        return getattr(u, "point_env", u)._get_obs()

    def state_success(self, goal_state) -> tuple[bool, float]:
        """The task's own test against a recorded state: its point (Reacher's fingertip, Pusher's
        object) within the task's tolerance of where that point is in `goal_state`; for an env
        without a Task, the env's own test with `goal_state` as its goal."""
        if self.goals is not None:
            return self.goals.state_success(goal_state)
        if self.task.point is None:
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
        u.set_state(s[: u.model.nq], s[u.model.nq :])

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
