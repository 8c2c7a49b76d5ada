"""The goal-reaching tasks of gymnasium env families jepalab knows how to pose: how to show the goal
reached (put the scene in the goal pose for one frame), the task's own success test and distance,
a scripted expert where there is one, and the camera that fills a small frame with the scene.

    from jepalab.worlds.gym_tasks import task_for
    task_for("Reacher-v5").tolerance        # 'fingertip within 0.02 of the target'

An env that is not here shows its goals through its own info (worlds/gym_env.py, `EnvGoals`).
"""

from __future__ import annotations

import numpy as np


class Task:
    """How to show and test the goal of one environment family: a small class per family. What a family
    lacks stays None (a task without a scripted expert, a success without a distance)."""

    tolerance = ""  # what success means, for reports
    camera: dict | None = None  # MuJoCo default_camera_config: the task's scene filling a small frame
    goal_columns: tuple | None = None  # the proprio numbers a goal given as a state sets (None: all)
    tol = 0.0  # success: `point` within this of the goal's
    distance = None  # (unwrapped env) -> the task's distance to its goal
    point = None  # (unwrapped env) -> what success is measured on (the fingertip, the object)
    expert = None  # (unwrapped env) -> an action in the env's own units that heads for the goal
    retarget = None  # (unwrapped env, rng) -> None: a new goal (a long demonstration's next task)

    def pose_goal(self, mujoco_env) -> None:
        """Put the scene in the goal pose (the caller restores the state after)."""
        raise NotImplementedError

    def success(self, mujoco_env, info) -> bool:
        return self.distance(mujoco_env) < self.tol


def _reacher_goal(mujoco_env) -> None:
    """Joint angles that put the fingertip on the target (elbow-down solution)."""
    l1, l2 = 0.1, 0.11
    x, y = mujoco_env.data.qpos[2:4]
    c = np.clip((x * x + y * y - l1 * l1 - l2 * l2) / (2 * l1 * l2), -1, 1)
    q1 = np.arccos(c)
    q0 = np.arctan2(y, x) - np.arctan2(l2 * np.sin(q1), l1 + l2 * np.cos(q1))
    mujoco_env.data.qpos[:2] = q0, q1
    mujoco_env.data.qvel[:] = 0


def _reacher_distance(mujoco_env) -> float:
    return float(np.linalg.norm(mujoco_env.get_body_com("fingertip") - mujoco_env.get_body_com("target")))


class Reacher(Task):
    tolerance = "fingertip within 0.02 of the target"
    camera = {"distance": 0.62, "elevation": -90.0, "azimuth": 90.0, "lookat": np.zeros(3)}
    goal_columns = (0, 1, 2, 3)  # cos and sin of both joint angles: the arm's pose
    tol = 0.02

    def pose_goal(self, mujoco_env) -> None:
        _reacher_goal(mujoco_env)

    def distance(self, mujoco_env) -> float:
        return _reacher_distance(mujoco_env)

    def point(self, mujoco_env) -> np.ndarray:
        return mujoco_env.get_body_com("fingertip")[:2].copy()

    def expert(self, mujoco_env) -> np.ndarray:
        """Torques of a PD controller towards the joint angles that put the fingertip on the target."""
        q, qd = mujoco_env.data.qpos[:2].copy(), mujoco_env.data.qvel[:2].copy()
        saved = mujoco_env.data.qpos.copy(), mujoco_env.data.qvel.copy()
        _reacher_goal(mujoco_env)
        want = mujoco_env.data.qpos[:2].copy()
        mujoco_env.data.qpos[:], mujoco_env.data.qvel[:] = saved
        err = (want - q + np.pi) % (2 * np.pi) - np.pi
        return np.clip(2.0 * err - 0.15 * qd, -1, 1)

    def retarget(self, mujoco_env, rng: np.random.Generator) -> None:
        """A new target where Reacher's reset draws them (within 0.2 of the base)."""
        while True:
            goal = rng.uniform(-0.2, 0.2, 2)
            if np.linalg.norm(goal) < 0.2:
                break
        qpos, qvel = mujoco_env.data.qpos.copy(), mujoco_env.data.qvel.copy()
        qpos[2:4], qvel[2:4] = goal, 0
        mujoco_env.set_state(qpos, qvel)


class Pusher(Task):
    tolerance = "object within 0.05 of the goal"
    camera = {"distance": 1.5, "elevation": -90.0, "azimuth": 90.0, "lookat": np.array([0.25, -0.3, -0.3])}
    goal_columns = (17, 18)  # the object's x, y
    tol = 0.05

    def pose_goal(self, mujoco_env) -> None:
        mujoco_env.data.qpos[-4:-2] = mujoco_env.data.qpos[-2:]  # the object's slide joints onto the goal's
        mujoco_env.data.qvel[:] = 0

    def distance(self, mujoco_env) -> float:
        return float(np.linalg.norm((mujoco_env.get_body_com("object") - mujoco_env.get_body_com("goal"))[:2]))

    def point(self, mujoco_env) -> np.ndarray:
        return mujoco_env.get_body_com("object")[:2].copy()


class PointMaze(Task):
    tolerance = "the env's own success (0.45)"
    goal_columns = (0, 1)  # the ball's x, y

    def pose_goal(self, mujoco_env) -> None:
        mujoco_env.data.qpos[:2] = mujoco_env.goal[:2] if hasattr(mujoco_env, "goal") else mujoco_env.data.qpos[:2]
        mujoco_env.data.qvel[:] = 0

    def success(self, mujoco_env, info) -> bool:
        return bool(info.get("success", False))


TASKS: dict[str, Task] = {"Reacher": Reacher(), "Pusher": Pusher(), "PointMaze": PointMaze()}


def task_for(env_id: str) -> Task | None:
    """The Task of an env id's family ('Reacher-v5', 'PointMaze_UMaze-v3' -> 'Reacher', 'PointMaze'), or None."""
    family = env_id.split("/")[-1].split("_")[0].split("-")[0]
    return TASKS.get(family)
