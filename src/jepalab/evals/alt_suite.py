"""A second violation-of-expectation suite, drawn another way: `jepalab physics --suite-style alt`.

The project's suite (physics_suite.py) renders `bounce` scenes with bounce's own renderer, the one
the models train on; a model can score well there by knowing that renderer. This suite shares no
code with it: its own kinematics (numpy: constant acceleration, bounces off the floor and a wall),
its own drawing (Pillow, at 96 px, downsampled to the model's 64), another look (gradient
backgrounds in other colours, a floor line, a striped occluder, a brick wall, outlined discs and
squares of other sizes). No recipe trains or tunes on it.

Five events, one per category, the ones IntPhys-style suites test:
- permanence / vanish: an object goes behind the occluder and never comes out (its twin does);
- continuity / teleport: an object in plain view jumps elsewhere;
- solidity / wall: an object passes through the wall (its twin bounces off it);
- gravity / float: an object in free flight starts to fall upwards;
- constancy / recolour: an object changes colour behind the occluder.
Frames run at 10 per second, bounce's rate. Each pair is identical until `diverge_frame`.
"""

from __future__ import annotations

import colorsys

import numpy as np

from .physics_suite import Pair, SuiteError

GENERATOR = "alt-voe/1"
CATEGORIES = ("permanence", "continuity", "solidity", "gravity", "constancy")
VARIANT = {
    "permanence": "vanish",
    "continuity": "teleport",
    "solidity": "wall",
    "gravity": "float",
    "constancy": "recolor",
}
FRAMES, DT, CANVAS, SIZE = 24, 0.1, 96, 64
FLOOR = 0.88  # the floor line, in arena units (y grows downwards, as image rows)


def _hsv(h, s, v) -> tuple[int, int, int]:
    return tuple(int(255 * c) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


class _Look:
    """Everything drawn that is not an object: the same for both twins of a pair."""

    def __init__(self, rng):
        h = rng.uniform(0, 1)
        self.top, self.bottom = _hsv(h, 0.35, 0.85), _hsv(h + 0.1, 0.5, 0.45)
        self.floor = _hsv(h + 0.5, 0.6, 0.3)
        self.occluder = None  # (x0, x1) in arena units
        self.wall = None  # (x0, x1)
        self.stripes = _hsv(h + 0.25, 0.3, 0.95), _hsv(h + 0.25, 0.5, 0.6)

    def background(self):
        from PIL import Image

        rows = np.linspace(0, 1, CANVAS)[:, None]
        grad = (1 - rows) * np.array(self.top) + rows * np.array(self.bottom)
        img = np.repeat(grad[:, None, :], CANVAS, axis=1).astype(np.uint8)
        return Image.fromarray(img)


def _draw(look: _Look, objects: list[dict]) -> np.ndarray:
    """One frame: background, floor, wall, objects, then the occluder in front of them."""
    from PIL import Image, ImageDraw

    img = look.background()
    d = ImageDraw.Draw(img)
    px = lambda v: v * CANVAS  # noqa: E731
    d.line([(0, px(FLOOR)), (CANVAS, px(FLOOR))], fill=look.floor, width=2)
    if look.wall is not None:
        x0, x1 = look.wall
        d.rectangle([px(x0), 0, px(x1), px(FLOOR)], fill=(150, 70, 50))
        for y in np.arange(0, FLOOR, 0.06):  # mortar lines
            d.line([(px(x0), px(y)), (px(x1), px(y))], fill=(210, 190, 170), width=1)
    for o in objects:
        if not o["present"]:
            continue
        (x, y), r = o["pos"], o["radius"]
        box = [px(x - r), px(y - r), px(x + r), px(y + r)]
        (d.ellipse if o["shape"] == "disc" else d.rectangle)(box, fill=o["color"], outline=(20, 20, 20), width=2)
    if look.occluder is not None:
        x0, x1 = look.occluder
        for i, y in enumerate(np.arange(0, FLOOR, 0.08)):
            d.rectangle([px(x0), px(y), px(x1), px(y + 0.08)], fill=look.stripes[i % 2])
    return np.asarray(img.resize((SIZE, SIZE), Image.BILINEAR))


def _simulate(obj: dict, frames: int, gravity: float, wall=None, events=None) -> list[dict]:
    """States of one object per frame; events: {frame: callable(state) -> state} applied before
    that frame's step. Bounces off the floor and the arena's sides, and off the wall unless the
    state says it passes through walls."""
    events = events or {}
    state, out = dict(obj), []
    for t in range(frames):
        if t in events:
            state = events[t](dict(state))
        if t > 0:
            (x, y), (vx, vy), r = state["pos"], state["vel"], state["radius"]
            vy += (gravity - state.get("lift", 0.0)) * DT
            x, y = x + vx * DT, y + vy * DT
            if y + r > FLOOR:
                y, vy = FLOOR - r - (y + r - FLOOR), -0.8 * vy
            if x - r < 0 or x + r > 1:
                x, vx = np.clip(x, r, 1 - r), -vx
            if wall is not None and not state.get("ghost"):
                x0, x1 = wall
                if vx > 0 and x + r > x0 and x - r < x1:
                    x, vx = x0 - r - (x + r - x0), -vx
                elif vx < 0 and x - r < x1 and x + r > x0:
                    x, vx = x1 + r + (x1 - (x - r)), -vx
            state.update(pos=(float(x), float(y)), vel=(float(vx), float(vy)))
        out.append(dict(state))
    return out


def _object(rng, pos, vel) -> dict:
    return {
        "pos": tuple(pos),
        "vel": tuple(vel),
        "radius": float(rng.uniform(0.06, 0.1)),
        "shape": str(rng.choice(["disc", "square"])),
        "color": _hsv(rng.uniform(0, 1), 0.85, 0.95),
        "present": True,
    }


def _hidden(state, occluder) -> bool:
    (x, _), r = state["pos"], state["radius"]
    return occluder[0] <= x - r and x + r <= occluder[1]


def _scene(category: str, rng):
    """-> (look, gravity, wall, object, events of the impossible twin, event frame) or None."""
    look = _Look(rng)
    if category in ("permanence", "constancy"):
        centre = rng.uniform(0.4, 0.6)
        look.occluder = (centre - 0.13, centre + 0.13)
        direction = rng.choice([-1.0, 1.0])
        start = centre - direction * rng.uniform(0.28, 0.36)
        obj = _object(rng, (start, rng.uniform(0.35, 0.7)), (direction * rng.uniform(0.35, 0.55), 0.0))
        obj["radius"] = min(obj["radius"], 0.08)
        states = _simulate(obj, FRAMES, 0.0)
        hidden = [t for t, s in enumerate(states) if _hidden(s, look.occluder)]
        if not hidden or hidden[0] < 4:
            return None
        k = hidden[0]
        if category == "permanence":
            event = {k: lambda s: {**s, "present": False}}
        else:
            new = _hsv((colorsys.rgb_to_hsv(*[c / 255 for c in obj["color"]])[0] + rng.uniform(0.3, 0.7)), 0.85, 0.95)
            event = {k: lambda s: {**s, "color": new}}
        return look, 0.0, None, obj, event, k
    if category == "continuity":
        obj = _object(rng, rng.uniform([0.25, 0.25], [0.75, 0.5]), rng.uniform([-0.4, -0.2], [0.4, 0.2]))
        k = int(rng.integers(8, 13))
        there = rng.uniform([0.15, 0.15], [0.85, 0.7])
        return look, 0.0, None, obj, {k: lambda s: {**s, "pos": (float(there[0]), float(there[1]))}}, k
    if category == "solidity":
        wx = rng.uniform(0.55, 0.7)
        wall = (wx, wx + 0.08)
        look.wall = wall
        obj = _object(rng, (rng.uniform(0.12, 0.25), rng.uniform(0.3, 0.7)), (rng.uniform(0.5, 0.8), 0.0))
        return look, 0.0, wall, obj, {1: lambda s: {**s, "ghost": True}}, 1
    if category == "gravity":
        g = rng.uniform(0.6, 1.2)
        obj = _object(rng, rng.uniform([0.2, 0.15], [0.8, 0.3]), rng.uniform([-0.3, -0.5], [0.3, 0.0]))
        k = int(rng.integers(6, 10))
        return look, g, None, obj, {k: lambda s: {**s, "lift": 2.0 * g}}, k
    raise SuiteError(f"unknown category {category!r}; categories: {', '.join(CATEGORIES)}")


def _floor_contact(states, lo: int, hi: int) -> bool:
    return any(s["pos"][1] + s["radius"] > FLOOR - 0.01 for s in states[max(0, lo) : hi + 1])


def make_pair(category: str, seed: int) -> Pair:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        drawn = _scene(category, rng)
        if drawn is None:
            continue
        look, g, wall, obj, events, k = drawn
        possible = _simulate(obj, FRAMES, g, wall)
        impossible = _simulate(obj, FRAMES, g, wall, events)
        frames_p = np.stack([_draw(look, [s]) for s in possible])
        frames_i = np.stack([_draw(look, [s]) for s in impossible])
        differ = np.flatnonzero(np.any(frames_p != frames_i, axis=(1, 2, 3)))
        if not len(differ) or not 4 <= differ[0] <= FRAMES - 6:
            continue
        d = int(differ[0])
        if _floor_contact(possible, d - 2, d + 6):  # the possible twin meets nothing surprising of its own
            continue
        return Pair(category, VARIANT[category], seed, frames_p, frames_i, k, d)
    raise SuiteError(f"alt suite, {category}: no usable scene from seed {seed} in 200 draws")


def make_alt_suite(
    pairs_per_category: int = 100, seed: int = 150_000, categories=CATEGORIES, progress: bool = False
) -> list[Pair]:
    """Seeded: pair j of category c uses seed `seed + 1000 * c + j`."""
    from tqdm.auto import tqdm

    jobs = [(c, seed + 1000 * CATEGORIES.index(c) + j) for c in categories for j in range(pairs_per_category)]
    return [make_pair(c, s) for c, s in tqdm(jobs, desc="alt suite", disable=not progress)]
