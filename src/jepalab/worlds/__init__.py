"""Built-in worlds: a plain name -> factory dict (see DESIGN.md).

    from jepalab.worlds import make
    env = make("two-room", max_steps=100)

Every world is a gymnasium `Env` with dict observations {"pixels", "proprio"} and
an info dict carrying "goal" (an image) and "is_success".
"""
from __future__ import annotations

from typing import Callable

import gymnasium as gym


def _two_room(**kwargs) -> gym.Env:
    from .two_room import TwoRoomEnv
    return TwoRoomEnv(**kwargs)


WORLDS: dict[str, Callable[..., gym.Env]] = {"two-room": _two_room}


def make(name: str, **kwargs) -> gym.Env:
    if name not in WORLDS:
        raise ValueError(f"unknown world {name!r}; built-in worlds: {', '.join(sorted(WORLDS))}")
    return WORLDS[name](**kwargs)
