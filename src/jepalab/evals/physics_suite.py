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

from ..worlds.bounce import PALETTE, Clip, Event, ObjectSpec, SceneSpec, simulate, with_events

GENERATOR = "bounce-voe/1"  # bump when the scenes a seed produces change
CATEGORIES = ("permanence", "continuity", "solidity", "gravity", "constancy")
VARIANTS = {"permanence": ("vanish", "appear"), "continuity": ("teleport",), "solidity": ("barrier", "object"),
            "gravity": ("freeze", "reverse", "float"), "constancy": ("recolor", "reshape")}
FRAMES, FPS = 24, 10.0
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


# ---------------------------------------------------------------- scene builders
def _crossing(rng, frames: int, hidden_at: float) -> tuple[SceneSpec, int]:
    """One object crossing a vertical occluder band, fully behind it around frame `hidden_at` and for
    one to three frames only: a model must remember what went behind for as long as it stays hidden,
    and the suite asks that of no more than a few frames of memory. Mirrored at random.
    -> (scene, index of the crossing object)."""
    size = float(rng.uniform(0.05, 0.075))
    step = float(rng.uniform(0.04, 0.065))  # arena units per frame
    w = 2 * size + float(rng.uniform(0.02, 2.5 * step))
    centre = float(rng.uniform(0.45, 0.6))
    start = max(size + 0.03, centre - step * hidden_at)
    y, vy = float(rng.uniform(0.25, 0.75)), float(rng.uniform(-0.08, 0.08))
    flip = rng.random() < 0.5
    mirror = (lambda x: 1 - x) if flip else (lambda x: x)
    speed = step * FPS
    crossing = ObjectSpec(shape=str(rng.choice(["ball", "box"])), size=size, color=PALETTE[int(rng.integers(len(PALETTE)))],
                          position=(mirror(start), y), velocity=(-speed if flip else speed, vy))
    x0, x1 = centre - w / 2, centre + w / 2
    occluder = (mirror(x1), 0.0, mirror(x0), 1.0) if flip else (x0, 0.0, x1, 1.0)
    return SceneSpec([crossing], occluder=occluder, frames=frames), 0


def _free_flight(rng, frames: int, gravity: float) -> SceneSpec:
    size = float(rng.uniform(0.05, 0.08))
    pos = rng.uniform(0.3, 0.7, 2)
    speed, heading = rng.uniform(0.25, 0.6), rng.uniform(0, 2 * np.pi)
    vel = (speed * np.cos(heading), speed * np.sin(heading) - (0.5 * gravity if gravity else 0.0))
    obj = ObjectSpec(shape=str(rng.choice(["ball", "box"])), size=size, color=PALETTE[int(rng.integers(len(PALETTE)))],
                     position=tuple(pos), velocity=vel, angle=float(rng.uniform(0, np.pi / 2)))
    return SceneSpec([obj], gravity=gravity, frames=frames)


def _collision_course(rng, frames: int, barrier: bool) -> SceneSpec:
    """An object heading for the barrier, or two objects heading for each other; mirrored at random."""
    size = float(rng.uniform(0.05, 0.075))
    y = float(rng.uniform(0.3, 0.7))
    hit_at = float(rng.uniform(7, 11)) / FPS
    colors = rng.permutation(len(PALETTE))
    if barrier:
        bx = float(rng.uniform(0.5, 0.6))
        start = float(rng.uniform(0.08, 0.16))
        speed = (bx - size - start) / hit_at
        objs = [ObjectSpec("ball" if rng.random() < 0.5 else "box", size, PALETTE[colors[0]], (start, y), (speed, 0.0))]
        scene = SceneSpec(objs, barrier=(bx, 0.15, bx + 0.06, 0.85), frames=frames)
    else:
        meet = float(rng.uniform(0.4, 0.6))
        a, b = float(rng.uniform(0.08, 0.16)), float(rng.uniform(0.84, 0.92))
        objs = [ObjectSpec("ball", size, PALETTE[colors[0]], (a, y), ((meet - size - a) / hit_at, 0.0)),
                ObjectSpec("ball", size, PALETTE[colors[1]], (b, y + float(rng.uniform(-0.3, 0.3)) * size),
                           ((meet + size - b) / hit_at, 0.0))]
        scene = SceneSpec(objs, frames=frames)
    if rng.random() < 0.5:  # mirror left-right
        for o in scene.objects:
            o.position, o.velocity = (1 - o.position[0], o.position[1]), (-o.velocity[0], o.velocity[1])
        if scene.barrier:
            x0, y0, x1, y1 = scene.barrier
            scene.barrier = (1 - x1, y0, 1 - x0, y1)
    return scene


def _quiet(clip: Clip, lo: int, hi: int) -> bool:
    """No collision in frames lo..hi."""
    return not clip.collisions[max(0, lo):hi + 1].any()


# ---------------------------------------------------------------- one pair per variant
def _pair(category: str, variant: str, rng, frames: int) -> tuple[SceneSpec, list[Event]] | None:
    """A possible scene and the events that break it, or None when this draw is not usable."""
    if category in ("permanence", "constancy"):
        scene, i = _crossing(rng, frames, hidden_at=float(rng.uniform(6, 10)))
        if variant == "appear":  # the twin: nothing comes out; the impossible clip: something does
            o = scene.objects[i]
            centre = (scene.occluder[0] + scene.occluder[2]) / 2
            o.position, o.present = (centre, o.position[1]), False
            return scene, [Event(int(rng.integers(4, 9)), "appear", i)]
        clip = simulate(scene)
        hidden = np.flatnonzero(clip.visible[:, i] == 0)
        out_again = np.flatnonzero(clip.visible[:, i] > 0.5)
        hidden = hidden[(hidden >= 4)]
        if not len(hidden) or not (out_again > hidden[0]).any() or out_again[out_again > hidden[0]][0] > frames - 5:
            return None
        k = int(hidden[0])  # applied before frame k is drawn, where the object is already out of sight
        if variant == "vanish":
            return scene, [Event(k, "vanish", i)]
        if variant == "recolor":
            new = [c for c in PALETTE if tuple(c) != tuple(scene.objects[i].color)]
            return scene, [Event(k, "recolor", i, color=new[int(rng.integers(len(new)))])]
        return scene, [Event(k, "reshape", i)]
    if category == "continuity":
        scene = _free_flight(rng, frames, gravity=float(rng.choice([0.0, 1.0])))
        clip = simulate(scene)
        k = int(rng.integers(8, 13))
        if not _quiet(clip, k - 2, k + 2):
            return None
        here = clip.positions[k - 1, 0]
        for _ in range(20):
            there = rng.uniform(0.15, 0.85, 2)
            if np.linalg.norm(there - here) > 0.35:
                return scene, [Event(k, "teleport", 0, position=tuple(float(v) for v in there))]
        return None
    if category == "solidity":
        scene = _collision_course(rng, frames, barrier=variant == "barrier")
        clip = simulate(scene)
        hits = np.flatnonzero(clip.collisions)
        if not len(hits) or not 5 <= hits[0] <= frames - 8:
            return None
        return scene, [Event(1, "ghost", 0)]  # from the start: identical pixels until the contact
    if category == "gravity":
        scene = _free_flight(rng, frames, gravity=float(rng.uniform(0.8, 1.5)))
        clip = simulate(scene)
        k = int(rng.integers(7, 12))
        if not _quiet(clip, k - 2, k + 4) or np.linalg.norm(clip.velocities[k, 0]) < 0.2:
            return None
        return scene, [Event(k, variant, 0)]
    raise SuiteError(f"unknown category {category!r}; categories: {', '.join(CATEGORIES)}")


def make_pair(category: str, variant: str, seed: int, frames: int = FRAMES) -> Pair:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        drawn = _pair(category, variant, rng, frames)
        if drawn is None:
            continue
        scene, events = drawn
        twin = simulate(scene)
        possible, impossible = twin.frames, simulate(with_events(scene, events)).frames
        differs = np.flatnonzero((possible != impossible).reshape(frames, -1).any(1))
        # the difference must show, and leave a few frames of context before it and of aftermath
        if not len(differs) or not 4 <= differs[0] <= frames - 4:
            continue
        d = int(differs[0])
        # while the pair is compared, the possible twin meets nothing surprising of its own (a bounce
        # on the floor), bar solidity's expected bounce at the divergence itself
        quiet_from = d + 2 if category == "solidity" else d - 1
        if _quiet(twin, quiet_from, d + QUIET_AFTER):
            return Pair(category, variant, seed, possible, impossible, events[0].frame, d)
    raise SuiteError(f"{category}/{variant}: no usable scene from seed {seed} in 200 draws")


def make_suite(pairs_per_category: int = 100, seed: int = 50_000, categories=CATEGORIES,
               frames: int = FRAMES, progress: bool = False) -> list[Pair]:
    """Seeded: pair j of category c uses seed `seed + 1000 * c + j` and variant j mod (its variants)."""
    from tqdm.auto import tqdm
    jobs = [(c, VARIANTS[c][j % len(VARIANTS[c])], seed + 1000 * CATEGORIES.index(c) + j)
            for c in categories for j in range(pairs_per_category)]
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
        rows.append({"category": p.category, "variant": p.variant, "seed": p.seed, **names,
                     "event_frame": p.event_frame, "diverge_frame": p.diverge_frame, "frames": len(p.possible)})
    index = {"generator": GENERATOR, "fps": fps, "seed": seed, "categories": sorted({p.category for p in pairs}),
             "pairs": rows}
    (out / "index.json").write_text(json.dumps(index, indent=1))
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
        raise SuiteError(f"{path}: suite generator {index.get('generator')!r}, this jepalab reads {GENERATOR!r}; "
                         "regenerate it with `jepalab physics --make-suite`")
    pairs = []
    for r in rows:
        clips = {k: np.stack(list(iter_frames(path.parent / r[k], fps=None, size=64))) for k in ("possible", "impossible")}
        pairs.append(Pair(r["category"], r["variant"], r["seed"], clips["possible"], clips["impossible"],
                          r["event_frame"], r["diverge_frame"]))
    return pairs
