"""dataset.json, the index of an episode store: the rules its fields follow, and that it describes the
episodes beside it (data/store.py checks both whenever a store is opened; every error names the file)."""

from __future__ import annotations

import re
from pathlib import Path

from ..config import CHOICES
from ..worlds import WORLDS

VARIETIES = CHOICES["data.variety"]

# the fields of dataset.json a store's reader relies on: name -> (type, lowest value or None)
INDEX_FIELDS = {
    "world": (str, None),
    "steps_per_episode": (int, 1),
    "seed": (int, 0),
    "image_size": (int, 8),
    "action_dim": (int, 1),
    "proprio_dim": (int, 0),
    "policy": (str, None),
    "depth_size": (int, 1),
    "variety": (str, None),
}


# what a store of a built-in world always says of its episodes (a store a user writes may say less)
BUILT_IN_NEEDS = ("image_size", "action_dim", "proprio_dim")


def world_name_problem(world: str) -> str | None:
    """Why `world` cannot name a store's world, or None. A built-in world, gymnasium:[NAMESPACE/]ID,
    imported:/lerobot: data, or any printable name a user gave their own data; never a path (the name
    travels into run configs, reports and file names)."""
    if not (0 < len(world) <= 200 and world.isprintable()):
        return "must be a printable name of 1..200 characters"
    slashes = world.count("/")
    if (
        "\\" in world
        or world.startswith("~")
        or any(part in ("", ".", "..") for part in re.split("[/:]", world))
        or slashes > (1 if world.startswith("gymnasium:") else 0)
    ):
        return "must be a name, not a path (no '/', '\\', '.' or '..' parts; gymnasium:NAMESPACE/ID has one '/')"
    return None


def check_meta(meta: dict, path: Path, error) -> None:
    """dataset.json's fields: their types and ranges, a world that is a name, and for a built-in world
    the fields every collected store carries."""
    errors = []
    if "world" not in meta:
        raise error(f"{path}: 'world' is missing (every store names the world its episodes come from)")
    for name, (kind, low) in INDEX_FIELDS.items():
        value = meta.get(name)
        if value is None:  # absent, or unknown to its writer (an import of clips of many lengths)
            continue
        if type(value) is not kind:
            errors.append(f"'{name}' must be {'an integer' if kind is int else 'a string'}, got {value!r}")
        elif low is not None and not low <= value <= 1_000_000_000:
            errors.append(f"'{name}' must be in {low}..1e9, got {value}")
    world = meta.get("world")
    problem = world_name_problem(world) if isinstance(world, str) else "must be a string"
    if problem:
        errors.append(f"'world' {problem}, got {world!r}")
    elif world in WORLDS:
        missing = [k for k in BUILT_IN_NEEDS if meta.get(k) is None]
        if missing:
            errors.append(
                f"{', '.join(repr(k) for k in missing)} missing (a store of the built-in world {world!r} says them)"
            )
    if meta.get("variety") not in (None, *VARIETIES):
        errors.append(f"'variety' must be one of {', '.join(VARIETIES)}, got {meta['variety']!r}")
    if errors:
        raise error(f"{path}: " + "; ".join(errors))


def check_episodes_meta(meta: dict, path: Path, paths: list[Path], episodes: list, error) -> None:
    """What dataset.json says of the episodes against the first of them (each is then checked against
    the first by load_all): frame size, action and proprio sizes, and no episode longer than stated."""
    first, name = episodes[0], paths[0].name
    said = {
        "image_size": first.pixels.shape[1],
        "action_dim": first.actions.shape[1],
        "proprio_dim": first.proprio.shape[1],
    }
    wrong = [
        f"'{k}' is {meta[k]}, its episodes have {v} ({name})"
        for k, v in said.items()
        if meta.get(k) is not None and meta[k] != v
    ]
    longest = max(len(ep) for ep in episodes)
    if isinstance(meta.get("steps_per_episode"), int) and longest > meta["steps_per_episode"]:
        wrong.append(f"'steps_per_episode' is {meta['steps_per_episode']}, an episode has {longest} steps")
    if wrong:
        raise error(f"{path}: does not describe its episodes: " + "; ".join(wrong))
