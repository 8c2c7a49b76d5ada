"""Goals that a third-party env shows itself, read the way the real packages show them.

For an env jepalab has no Task for (worlds/gym_tasks.py), e.g. stable-worldmodel's swm/TwoRoom-v1
and swm/PushT-v1, `EnvGoals` turns what the env offers into what planning needs:

- the goal image: info["goal"] when the env draws one (swm/PushT-v1); else rendered from
  info["goal_state"] when that state has the size of the env's own state (info["state"], or the
  observation's "state"): the env is put there with `_set_state(state)` for one frame and put back
  (swm/TwoRoom-v1, whose goal_state is the place the agent must reach);
- the goal as numbers: info["goal_proprio"], else goal_state when it has the proprio's size;
- success: info["is_success"] (or "success") where the env reports it, else `terminated`: an env
  that shows a goal and reports no success ends its episode by reaching it (swm's own evaluation
  counts success so). `source` says which one was read, for the results.

The dataset protocol (evals/dataset_goals.py) needs the env's state set and its goal replaced:
`set_state` resets the env with options {"state": ..., "goal_state": ...} (the reset options
stable-worldmodel's envs take) and `set_goal_state` calls the env's `_set_goal_state`, so that the
env's own success test judges the recorded goal, as stable-worldmodel's dataset evaluation does.
"""

from __future__ import annotations

import numpy as np


class EnvGoalsError(ValueError):
    pass


def _vector(value) -> np.ndarray | None:
    """A numeric array (numpy, torch, list) as a flat float64 vector, or None."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        v = np.asarray(value, np.float64).ravel()
    except (TypeError, ValueError):
        return None
    return v if v.size else None


def _is_image(value) -> bool:
    return value is not None and np.ndim(value) == 3 and np.shape(value)[-1] in (3, 4)


class EnvGoals:
    """The goals, success and state of one GymWorld's env (see the module's docstring)."""

    def __init__(self, world):
        self.world = world
        self.state: np.ndarray | None = None  # the env's own state after the last reset/step
        self.goal_override: np.ndarray | None = None  # a goal state given by set_goal_state
        self.success = False
        self.source: str | None = None  # "info" or "terminated", once an info was read
        self._rendered = (None, None)  # (goal state bytes, its image): one render per goal

    @property
    def env(self):
        return self.world.env.unwrapped

    # -- reading what the env reports ----------------------------------------------------
    def observe_state(self, obs, info: dict) -> None:
        state = info.get("state")
        if state is None and isinstance(obs, dict):
            state = obs.get("state")
        self.state = _vector(state)

    def goal_state(self, info: dict) -> np.ndarray | None:
        return self.goal_override if self.goal_override is not None else _vector(info.get("goal_state"))

    def can_render(self, goal: np.ndarray | None) -> bool:
        return (
            goal is not None
            and self.state is not None
            and goal.shape == self.state.shape
            and callable(getattr(self.env, "_set_state", None))
        )

    def render_goal(self, goal: np.ndarray) -> np.ndarray:
        """The env put in `goal` for one frame, then back where it was."""
        key = goal.tobytes()
        if self._rendered[0] != key:
            saved = self.state.copy()
            self.env._set_state(goal)
            try:
                image = self.world.pixels()
            finally:
                self.env._set_state(saved)
            self._rendered = (key, image)
        return self._rendered[1]

    def info(self, info: dict, terminated: bool | None, proprio_shape: tuple) -> dict:
        """The env's info with "goal" (an image at the model's size), "goal_proprio" (or
        "goal_state" when it is not the proprio's size), "is_success" and, where the env reports
        one, "distance"."""
        goal = self.goal_state(info)
        image = info.pop("goal", None)
        if self.goal_override is not None:
            pass  # whoever set the goal has its image (set_state showed it); putting the env there and back
            # again would nudge a physics engine that steps as it takes a state (swm/PushT-v1)
        elif _is_image(image):
            info["goal"] = self.world.resize(np.asarray(image))
        elif self.can_render(goal):
            info["goal"] = self.render_goal(goal)
        given = _vector(info.pop("goal_proprio", None)) if self.goal_override is None else None
        info.pop("goal_state", None)
        if given is not None and given.shape == proprio_shape:
            info["goal_proprio"] = given.astype(np.float32)
        elif goal is not None:
            info["goal_proprio" if goal.shape == proprio_shape else "goal_state"] = goal.astype(np.float32)
        reported = next((k for k in ("is_success", "success") if k in info), None)
        self.source = "terminated" if reported is None else "info"
        if reported is not None:
            self.success = bool(np.asarray(info[reported]).any())
        else:  # at a reset or a state just set, nothing is reached yet
            self.success = bool(terminated)
        info["is_success"] = self.success
        for key in ("distance_to_target", "distance"):
            d = _vector(info.get(key))
            if d is not None and d.size == 1:
                info["distance"] = float(d[0])
                break
        return info

    def missing(self, info: dict) -> str | None:
        """What the env lacks for planning to a goal (None: nothing), from an info `info()` made."""
        if "goal" in info:
            return None
        has_goal_state = "goal_state" in info or "goal_proprio" in info
        return (
            "its info has no 'goal' image, and no 'goal_state' jepalab can render: that needs the env's "
            "own state (info['state'] or the observation's 'state') of the same size and a _set_state(state) "
            "method"
            if has_goal_state
            else "its info shows no goal: neither a 'goal' image nor a 'goal_state'"
        )

    @property
    def success_rule(self) -> str:
        return {
            "info": "the env's info['is_success']",
            "terminated": "the env's termination (its info reports no success)",
        }.get(self.source, "unknown")

    # -- the dataset protocol: recorded states and goals ---------------------------------
    def get_state(self) -> np.ndarray:
        if self.state is None:
            raise EnvGoalsError(
                f"{self.world.env_id}: reports no state (info['state'] or the observation's "
                "'state'); the dataset protocol needs one"
            )
        return self.state.copy()

    def set_state(self, state) -> tuple:
        """Reset the env into `state` (and the goal given by set_goal_state, if any); -> (obs, info)."""
        s = _vector(state)
        if s is None or not np.all(np.isfinite(s)):
            raise EnvGoalsError(f"{self.world.env_id}: a state is a vector of finite numbers, got {state!r}")
        options = {"state": s}
        if self.goal_override is not None:
            options["goal_state"] = self.goal_override
        obs, info = self.world.env.reset(seed=self.world.last_seed, options=options)
        self.observe_state(obs, info)
        if self.goal_override is not None:
            self.env._set_goal_state(self.goal_override)
        # a physics engine may move the state by one tiny step as it takes it (swm/PushT-v1 does)
        tolerance = 0.01 * max(1.0, float(np.abs(s).max()))
        if self.state is None or self.state.shape != s.shape or not np.allclose(self.state, s, atol=tolerance):
            raise EnvGoalsError(
                f"{self.world.env_id}: reset(options={{'state': ...}}) did not put the env in the "
                f"recorded state (asked {np.round(s, 3).tolist()}, got "
                f"{None if self.state is None else np.round(self.state, 3).tolist()})"
            )
        return self.world.observe(obs, info), self.world.finish_info(info, None)

    def set_goal_state(self, goal) -> None:
        setter = getattr(self.env, "_set_goal_state", None)
        if not callable(setter):
            raise EnvGoalsError(
                f"{self.world.env_id}: has no _set_goal_state(goal): its success test cannot be "
                "pointed at a recorded goal"
            )
        self.goal_override = _vector(goal)
        setter(self.goal_override)

    def state_success(self, goal_state) -> tuple[bool, float]:
        """The env's own test against `goal_state` (which set_goal_state made its goal), as of the
        latest step; the distance is the env's where it reports one, else between the states."""
        goal = _vector(goal_state)
        if (
            self.goal_override is None
            or goal.shape != self.goal_override.shape
            or not np.array_equal(goal, self.goal_override)
        ):
            self.set_goal_state(goal)
        dist = (
            float(np.linalg.norm(self.state - goal))
            if self.state is not None and self.state.shape == goal.shape
            else float("nan")
        )
        return self.success, dist

    def protocol_missing(self) -> str | None:
        """What the env lacks for the dataset protocol (None: nothing), tried on a reset."""
        self.world.reset(seed=0)
        try:
            start = self.get_state()
            self.set_goal_state(start)
            self.set_state(start)
        except EnvGoalsError as e:
            return str(e).split(": ", 1)[-1]
        finally:
            self.goal_override = None
        return None
