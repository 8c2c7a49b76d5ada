"""The violation-of-expectation suite: matched pairs of `bounce` clips, identical until a scripted
event makes one of them physically impossible.

    from jepalab.evals.physics_suite import make_suite, write_suite, read_suite
    pairs = make_suite(pairs_per_category=100, seed=50_000)
    write_suite(pairs, "suite/")          # ordinary video files + index.json, for any tool
    pairs = read_suite("suite/")

Categories (as IntPhys, GRASP and InfLevel test them), each a few variants in turn:
- permanence: an object vanishes behind the occluder (its twin comes out again), or comes out from
  behind it although nothing went in (its twin stays empty);
- continuity: an object in plain view jumps to another place;
- solidity: an object passes through the barrier or through another object (its twin bounces off);
- gravity: an object in free flight stops in mid-air, reverses without touching anything, or falls
  upwards;
- constancy: an object changes colour or shape while it is behind the occluder.

The possible clip is the scene as simulated; the impossible one is the same scene with one scripted
event (`worlds.bounce.Event`), so both are pixel-identical before it. `diverge_frame` is the first
frame where they differ: an event behind the occluder only shows when the object comes out, and a
surprise cannot come earlier. Scenes are built so the event is meaningful (hidden when it must be,
in free flight when it must be, a bounce that really happens) and redrawn until it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import jsonout
from ..worlds.bounce import (
    FPS,
    PALETTE,
    Clip,
    Event,
    SceneSpec,
    collision_scene,
    crossing_scene,
    draw_frames,
    free_flight_scene,
    render,
    simulate,
    with_events,
)

GENERATOR = "bounce-voe/1"  # bump when the scenes a seed produces change
CATEGORIES = ("permanence", "continuity", "solidity", "gravity", "constancy")
VARIANTS = {
    "permanence": ("vanish", "appear"),
    "continuity": ("teleport",),
    "solidity": ("barrier", "object"),
    "gravity": ("freeze", "reverse", "float"),
    "constancy": ("recolor", "reshape"),
}
FRAMES = 24
QUIET_AFTER = 8  # frames after the divergence in which the possible twin has no collision


@dataclass
class Pair:
    category: str
    variant: str
    seed: int
    possible: np.ndarray  # (T, H, W, 3) uint8
    impossible: np.ndarray
    event_frame: int  # the frame the scripted event is applied at
    diverge_frame: int  # the first frame where the two clips differ


class SuiteError(ValueError):
    pass


def _quiet(clip: Clip, lo: int, hi: int) -> bool:
    """No collision in frames lo..hi."""
    return not clip.collisions[max(0, lo) : hi + 1].any()


# ---------------------------------------------------------------- one pair per variant
def _pair(category: str, variant: str, rng, frames: int) -> tuple[SceneSpec, list[Event], Clip | None] | None:
    """A possible scene, the events that break it and the scene's clip as simulated undrawn (None
    where it was not simulated), or None when this draw is not usable."""
    if category in ("permanence", "constancy"):
        scene, i = crossing_scene(rng, frames, hidden_at=float(rng.uniform(6, 10)))
        if variant == "appear":  # the twin: nothing comes out; the impossible clip: something does
            o = scene.objects[i]
            centre = (scene.occluder[0] + scene.occluder[2]) / 2
            o.position, o.present = (centre, o.position[1]), False
            return scene, [Event(int(rng.integers(4, 9)), "appear", i)], None
        clip = simulate(scene, draw=False)
        hidden = np.flatnonzero(clip.visible[:, i] == 0)
        out_again = np.flatnonzero(clip.visible[:, i] > 0.5)
        hidden = hidden[(hidden >= 4)]
        if not len(hidden) or not (out_again > hidden[0]).any() or out_again[out_again > hidden[0]][0] > frames - 5:
            return None
        k = int(hidden[0])  # applied before frame k is drawn, where the object is already out of sight
        if variant == "vanish":
            return scene, [Event(k, "vanish", i)], clip
        if variant == "recolor":
            new = [c for c in PALETTE if tuple(c) != tuple(scene.objects[i].color)]
            return scene, [Event(k, "recolor", i, color=new[int(rng.integers(len(new)))])], clip
        return scene, [Event(k, "reshape", i)], clip
    if category == "continuity":
        scene = free_flight_scene(rng, frames, gravity=float(rng.choice([0.0, 1.0])))
        clip = simulate(scene, draw=False)
        k = int(rng.integers(8, 13))
        if not _quiet(clip, k - 2, k + 2):
            return None
        here = clip.positions[k - 1, 0]
        for _ in range(20):
            there = rng.uniform(0.15, 0.85, 2)
            if np.linalg.norm(there - here) > 0.35:
                return scene, [Event(k, "teleport", 0, position=tuple(float(v) for v in there))], clip
        return None
    if category == "solidity":
        scene = collision_scene(rng, frames, barrier=variant == "barrier")
        clip = simulate(scene, draw=False)
        hits = np.flatnonzero(clip.collisions)
        if not len(hits) or not 5 <= hits[0] <= frames - 8:
            return None
        return scene, [Event(1, "ghost", 0)], clip  # from the start: identical pixels until the contact
    if category == "gravity":
        scene = free_flight_scene(rng, frames, gravity=float(rng.uniform(0.8, 1.5)))
        clip = simulate(scene, draw=False)
        k = int(rng.integers(7, 12))
        if not _quiet(clip, k - 2, k + 4) or np.linalg.norm(clip.velocities[k, 0]) < 0.2:
            return None
        return scene, [Event(k, variant, 0)], clip
    raise SuiteError(f"unknown category {category!r}; categories: {', '.join(CATEGORIES)}")


def _first_difference(a: Clip, b: Clip) -> int | None:
    """The first frame whose pixels differ, drawing only frames whose looks differ (equal looks draw
    equal pixels); None if the clips look the same throughout."""
    for t, (la, lb) in enumerate(zip(a.looks, b.looks)):
        if la != lb and not np.array_equal(render(a.spec, la)[0], render(b.spec, lb)[0]):
            return t
    return None


def make_pair(category: str, variant: str, seed: int, frames: int = FRAMES) -> Pair:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        drawn = _pair(category, variant, rng, frames)
        if drawn is None:
            continue
        scene, events, twin = drawn
        # drawn only if kept: most draws that get this far fail the quiet test below
        twin = twin if twin is not None else simulate(scene, draw=False)
        broken = simulate(with_events(scene, events), draw=False)
        d = _first_difference(twin, broken)
        # the difference must show, and leave a few frames of context before it and of aftermath
        if d is None or not 4 <= d <= frames - 4:
            continue
        # while the pair is compared, the possible twin meets nothing surprising of its own (a bounce
        # on the floor), bar solidity's expected bounce at the divergence itself
        quiet_from = d + 2 if category == "solidity" else d - 1
        if _quiet(twin, quiet_from, d + QUIET_AFTER):
            return Pair(category, variant, seed, draw_frames(twin), draw_frames(broken), events[0].frame, d)
    raise SuiteError(f"{category}/{variant}: no usable scene from seed {seed} in 200 draws")


def make_suite(
    pairs_per_category: int = 100,
    seed: int = 50_000,
    categories=CATEGORIES,
    frames: int = FRAMES,
    progress: bool = False,
) -> list[Pair]:
    """Seeded: pair j of category c uses seed `seed + 1000 * c + j` and variant j mod (its variants)."""
    from tqdm.auto import tqdm

    jobs = [
        (c, VARIANTS[c][j % len(VARIANTS[c])], seed + 1000 * CATEGORIES.index(c) + j)
        for c in categories
        for j in range(pairs_per_category)
    ]
    return [make_pair(c, v, s, frames) for c, v, s in tqdm(jobs, desc="suite", disable=not progress)]


# ---------------------------------------------------------------- on disk
def write_suite(pairs: list[Pair], out, fps: float = FPS, seed: int | None = None) -> Path:
    """Lossless video files (FFV1 .mkv, exact pixels) and index.json; -> the index path."""
    from ..data.video import write_video

    out = Path(out)
    rows = []
    for j, p in enumerate(pairs):
        names = {}
        for kind in ("possible", "impossible"):
            rel = f"{p.category}/{j:04d}_{p.variant}_{kind}.mkv"
            write_video(out / rel, getattr(p, kind), fps=fps)
            names[kind] = rel
        rows.append(
            {
                "category": p.category,
                "variant": p.variant,
                "seed": p.seed,
                **names,
                "event_frame": p.event_frame,
                "diverge_frame": p.diverge_frame,
                "frames": len(p.possible),
            }
        )
    index = {
        "generator": GENERATOR,
        "fps": fps,
        "seed": seed,
        "categories": sorted({p.category for p in pairs}),
        "pairs": rows,
    }
    (out / "index.json").write_text(jsonout.dumps(index, indent=1))
    return out / "index.json"


def read_suite(folder) -> list[Pair]:
    from ..data.video import iter_frames

    folder = Path(folder)
    path = folder / "index.json" if folder.is_dir() else folder
    try:
        index = json.loads(path.read_text())
        rows = index["pairs"]
    except FileNotFoundError:
        raise SuiteError(f"{path}: no suite index (write one with `jepalab physics --make-suite DIR`)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise SuiteError(f"{path}: not a suite index ({type(e).__name__}: {e})") from None
    if index.get("generator") != GENERATOR:
        raise SuiteError(
            f"{path}: suite generator {index.get('generator')!r}, this jepalab reads {GENERATOR!r}; "
            "regenerate it with `jepalab physics --make-suite`"
        )
    pairs = []
    for r in rows:
        clips = {
            k: np.stack(list(iter_frames(path.parent / r[k], fps=None, size=64))) for k in ("possible", "impossible")
        }
        pairs.append(
            Pair(
                r["category"],
                r["variant"],
                r["seed"],
                clips["possible"],
                clips["impossible"],
                r["event_frame"],
                r["diverge_frame"],
            )
        )
    return pairs
