"""What the gymnasium adapter (worlds/gym_env.py) needs beside the adapter itself: finding an env by its
`module:Id` and registering gymnasium-robotics', converting frames to the model's size, MuJoCo's depth
maps and its renderer without shadows."""

from __future__ import annotations

import importlib

import gymnasium as gym
import numpy as np


class GymWorldError(ValueError):
    pass


def import_provider(env_id: str) -> str:
    """'package.module:Name-v0' (gymnasium's own form) -> imports the module, which registers its envs,
    and returns 'Name-v0'; a plain id is returned as it is."""
    if ":" not in env_id:
        return env_id
    module, _, name = env_id.partition(":")
    try:
        importlib.import_module(module)
    except ImportError as e:
        raise GymWorldError(
            f"{env_id}: cannot import {module!r} ({e}); install the package that provides {name!r}"
        ) from None
    return name


def register_robotics(env_id: str) -> None:
    if env_id not in gym.registry:
        try:
            import gymnasium_robotics

            gym.register_envs(gymnasium_robotics)
        except ImportError:
            pass
    if env_id not in gym.registry:
        raise GymWorldError(
            f"gymnasium has no environment {env_id!r} (for MuJoCo envs: pip install "
            "'gymnasium[mujoco]'; for PointMaze/AntMaze: pip install gymnasium-robotics)"
        )


def numeric(value) -> bool:
    try:
        return value is not None and np.issubdtype(np.asarray(value).dtype, np.number)
    except (TypeError, ValueError):
        return False


def resize_frame(frame, size: int) -> np.ndarray:
    """An RGB(A) frame of any size (numpy or a tensor; uint8, or float in [0, 1]) -> (size, size, 3) uint8."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:  # a float image in [0, 1]
        frame = (
            (np.clip(frame, 0, 1) * 255).round().astype(np.uint8)
            if frame.max() <= 1.0
            else np.clip(frame, 0, 255).astype(np.uint8)
        )
    if frame.shape[:2] != (size, size):
        from PIL import Image

        frame = np.asarray(Image.fromarray(np.ascontiguousarray(frame[..., :3])).resize((size, size), Image.BILINEAR))
    return np.ascontiguousarray(frame[..., :3], dtype=np.uint8)


def mujoco_depth(renderer, size: int) -> np.ndarray:
    """Distance from the camera in metres, (size, size) float32. MuJoCo's depth buffer is non-linear in
    distance; it is mapped back through the near and far planes, then averaged down."""
    buffer = np.asarray(renderer.render("depth_array"), np.float64)
    m = renderer.model
    near, far = m.vis.map.znear * m.stat.extent, m.vis.map.zfar * m.stat.extent
    metres = (near / (1 - buffer * (1 - near / far))).astype(np.float32)
    from PIL import Image

    return np.asarray(Image.fromarray(metres, mode="F").resize((size,) * 2, Image.BOX), np.float32)


def hide_shadows(renderer) -> None:
    """MuJoCo scenes without shadows and reflections: at 64x64 they are a few pixels of detail that cost
    most of the render time."""
    viewer = getattr(renderer, "viewer", None)
    if viewer is None or not hasattr(viewer, "scn"):
        return
    import mujoco

    viewer.scn.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
    viewer.scn.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
