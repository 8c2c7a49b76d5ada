"""dataset.json, the index of an episode store: the rules its fields follow, and that it describes the
episodes beside it (data/store.py checks both whenever a store is opened; every error names the file)."""

from __future__ import annotations

from pathlib import Path

from ..config import CHOICES

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


def check_meta(meta: dict, path: Path, error) -> None:
    """dataset.json's fields: their types and ranges."""
    errors = []
    for name, (kind, low) in INDEX_FIELDS.items():
        value = meta.get(name)
        if value is None:  # absent, or unknown to its writer (an import of clips of many lengths)
            continue
        if type(value) is not kind:
            errors.append(f"'{name}' must be {'an integer' if kind is int else 'a string'}, got {value!r}")
        elif low is not None and not low <= value <= 1_000_000_000:
            errors.append(f"'{name}' must be in {low}..1e9, got {value}")
    world = meta.get("world")
    # a built-in world, gymnasium:ID, imported:/lerobot: data, or a name a user gave their own data: any
    # printable name (the index's own checksum is what catches a name that changed)
    if isinstance(world, str) and not (0 < len(world) <= 200 and world.isprintable()):
        errors.append(f"'world' must be a printable name of 1..200 characters, got {world!r}")
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
