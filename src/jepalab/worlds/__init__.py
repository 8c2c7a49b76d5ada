"""Built-in worlds: a plain name -> factory dict (WORLDS; each world in a module of its own).

    from jepalab.worlds import make
    env = make("two-room", max_steps=100)

Every world is a gymnasium `Env` with dict observations {"pixels", "proprio"} and
an info dict carrying "goal" (an image) and "is_success". `make("gymnasium:Reacher-v5")` wraps any
gymnasium env that renders rgb_array the same way (worlds/gym_env.py).

Importing this module registers the built-in worlds with gymnasium:

    import gymnasium as gym, jepalab.worlds
    env = gym.make("jepalab/TwoRoom-v0")      # also jepalab/Push-v0, jepalab/PushT-v0, jepalab/Bounce-v0
    env = gym.make("jepalab.worlds:jepalab/Push-v0", max_steps=200)   # imports and registers in one go
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym


def _two_room(**kwargs) -> gym.Env:
    from .two_room import TwoRoomEnv

    return TwoRoomEnv(**kwargs)


def _push(**kwargs) -> gym.Env:
    from .push import PushEnv

    return PushEnv(**kwargs)


def _push_t(**kwargs) -> gym.Env:
    """Push-T: the T, and no target drawn on the floor. Push-T's target is one fixed pose, a constant
    background; ours differs from episode to episode, and a latent spent itself on it
    (docs/measurements.md). Goals come as images of the block in place."""
    from .push import PushEnv

    kwargs.setdefault("show_target", False)
    return PushEnv(block="T", **kwargs)


def _bounce(**kwargs) -> gym.Env:
    from .bounce_env import BounceEnv

    return BounceEnv(**kwargs)


WORLDS: dict[str, Callable[..., gym.Env]] = {"two-room": _two_room, "push": _push, "push-t": _push_t, "bounce": _bounce}
PASSIVE = {"bounce"}  # worlds where nothing acts: no goals to reach, nothing to plan
DRAWN_AT_ANY_SIZE = {"push", "push-t"}  # worlds that take image_size (the others draw at their own size)
GYM_IDS = {
    "two-room": "jepalab/TwoRoom-v0",
    "push": "jepalab/Push-v0",
    "push-t": "jepalab/PushT-v0",
    "bounce": "jepalab/Bounce-v0",
}


SUCCESS_TESTS = {"push": ("anchors", "strict"), "push-t": ("anchors", "strict")}  # worlds with several tests


def evaluation_options(world: str, plan) -> dict:
    """The world options an evaluation takes from its plan settings: which success test the push
    worlds report (plan.success; both are recorded)."""
    return {"success": plan.success} if world in SUCCESS_TESTS else {}


def _register() -> None:
    for name, env_id in GYM_IDS.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=f"{__name__}:{WORLDS[name].__name__}", disable_env_checker=False)


_register()


def make(name: str, **kwargs) -> gym.Env:
    """A built-in world by name, or `gymnasium:ID` for any gymnasium env that renders rgb_array
    (worlds/gym_env.py; keyword image_size sets its frames' size)."""
    if name.startswith("gymnasium:"):
        from .gym_env import GymWorld

        kwargs.pop("goal_mode", None)  # a built-in world's option; a gymnasium env draws its own goals
        return GymWorld(name[len("gymnasium:") :], **kwargs)
    if name not in WORLDS:
        raise ValueError(
            f"unknown world {name!r}; built-in worlds: {', '.join(sorted(WORLDS))}, "
            "or gymnasium:ID for a gymnasium environment"
        )
    if name not in DRAWN_AT_ANY_SIZE:
        kwargs.pop("image_size", None)
    return WORLDS[name](**kwargs)
