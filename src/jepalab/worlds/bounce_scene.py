"""bounce's scenes as plain descriptions: objects, walls, occluder, scripted events (`SceneSpec`, `Event`),
the scene families and their sampling. Simulated by worlds/bounce_physics.py, drawn by worlds/bounce_draw.py."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

SIZE = 64
BACKGROUND = np.array([30, 30, 40], np.float32)
OCCLUDER = np.array([150, 150, 150], np.float32)
BARRIER = np.array([200, 200, 200], np.float32)
PALETTE = [(230, 80, 60), (70, 170, 240), (240, 210, 60), (110, 220, 120), (220, 120, 230), (250, 150, 60)]
FPS = 10.0  # frames per second of clips and scene families
# the mix of scenes `collect --world bounce` and the gymnasium BounceEnv draw (sample_mixed_scene)
PASSIVE_OBJECTS = 4  # bounce's most objects: proprio holds each one's position (zeros when absent)
BARRIER_PROB = 0.3  # a world model that never met a wall inside the arena cannot expect a bounce off one
FAMILY_PROB = 0.5  # share of clips from bounce's scene families (see sample_mixed_scene)
EVENT_KINDS = ("vanish", "appear", "teleport", "freeze", "reverse", "recolor", "reshape", "float", "ghost")


@dataclass
class ObjectSpec:
    shape: str = "ball"
    """ball | box"""
    size: float = 0.07
    """radius of a ball, half side of a box (arena units)"""
    color: tuple = (230, 80, 60)
    position: tuple = (0.5, 0.5)
    velocity: tuple = (0.0, 0.0)
    """arena units per second"""
    angle: float = 0.0
    present: bool = True
    """False: absent until an 'appear' event"""


@dataclass
class Event:
    frame: int
    """applied just before this frame is rendered"""
    kind: str
    """vanish | appear | teleport | freeze | reverse | recolor | reshape (drawn as the other shape) |
    float (gravity acts upwards on it) | ghost (passes through the barrier and other objects)"""
    target: int = 0
    """index of the object"""
    position: tuple | None = None
    """teleport: where to"""
    color: tuple | None = None
    """recolor: the new colour"""


@dataclass
class SceneSpec:
    objects: list[ObjectSpec]
    gravity: float = 0.0
    """downward acceleration (arena units / s^2); 0 for a top-down table"""
    occluder: tuple | None = None
    """(x0, y0, x1, y1) of a rectangle drawn in front of the objects"""
    barrier: tuple | None = None
    """(x0, y0, x1, y1) of a solid static wall inside the arena, drawn behind the objects"""
    events: list[Event] = field(default_factory=list)
    frames: int = 16
    fps: float = FPS
    substeps: int = 8
    elasticity: float = 0.95
    style: object = None
    """a Style (worlds/bounce_style.py: another look, camera and pace; its painter(spec) draws the
    frames), or None: bounce's own look"""


@dataclass
class Clip:
    frames: np.ndarray  # (T, H, W, 3) uint8
    positions: np.ndarray  # (T, N, 2)
    velocities: np.ndarray  # (T, N, 2)
    present: np.ndarray  # (T, N) bool
    visible: np.ndarray  # (T, N) fraction of the object's pixels not hidden by the occluder (0 if absent)
    collisions: np.ndarray  # (T,) collisions that began between the previous frame and this one
    spec: SceneSpec
    looks: list = field(default_factory=list)  # (T,) Look: what each frame shows (draw_frames)


@dataclass(frozen=True)
class Look:
    """Everything a frame is drawn from, as exact values: two equal looks draw the same pixels, so a
    scene generator can tell where two clips part without drawing them (evals/physics_suite.py)."""

    poses: tuple  # (x, y, angle) per object
    present: tuple  # bool per object
    colors: tuple  # (r, g, b) per object
    drawn: tuple  # the shape each object is drawn as


# ---------------------------------------------------------------- scene sampling
def _inside(pos: np.ndarray, margin: float, rect: tuple | None) -> bool:
    if rect is None:
        return False
    x0, y0, x1, y1 = rect
    return x0 - margin < pos[0] < x1 + margin and y0 - margin < pos[1] < y1 + margin


def sample_scene(
    rng: np.random.Generator,
    frames: int = 16,
    max_objects: int = 4,
    occluder_prob: float = 0.5,
    gravity_prob: float = 0.5,
    barrier_prob: float = 0.0,
) -> SceneSpec:
    """A random scene: 1..max_objects non-overlapping objects with random velocities; with
    `barrier_prob`, a solid wall across part of the arena (at 0, the default, no random number is
    spent on it, so every seed gives the scene it gave before barriers existed)."""
    n = int(rng.integers(1, max_objects + 1))
    objects: list[ObjectSpec] = []
    colors = rng.permutation(len(PALETTE))
    barrier = None
    if barrier_prob and rng.random() < barrier_prob:
        at, lo, length = rng.uniform(0.3, 0.7), rng.uniform(0.05, 0.3), rng.uniform(0.4, 0.6)
        barrier = (at, lo, at + 0.06, lo + length) if rng.random() < 0.5 else (lo, at, lo + length, at + 0.06)
    while len(objects) < n:
        size = float(rng.uniform(0.05, 0.1))
        pos = rng.uniform(size + 0.03, 1 - size - 0.03, 2)
        if any(np.linalg.norm(pos - np.array(o.position)) < size + o.size + 0.02 for o in objects) or _inside(
            pos, size + 0.02, barrier
        ):
            continue
        speed, heading = rng.uniform(0.2, 0.8), rng.uniform(0, 2 * np.pi)
        objects.append(
            ObjectSpec(
                shape=str(rng.choice(["ball", "box"])),
                size=size,
                color=PALETTE[colors[len(objects)]],
                position=tuple(pos),
                velocity=(speed * np.cos(heading), speed * np.sin(heading)),
                angle=float(rng.uniform(0, np.pi / 2)),
            )
        )
    occluder = None
    if rng.random() < occluder_prob:
        x0, w = rng.uniform(0.15, 0.6), rng.uniform(0.15, 0.3)
        occluder = (x0, 0.0, x0 + w, 1.0) if rng.random() < 0.5 else (0.0, x0, 1.0, x0 + w)
    gravity = float(rng.uniform(0.5, 1.5)) if rng.random() < gravity_prob else 0.0
    return SceneSpec(objects, gravity=gravity, occluder=occluder, barrier=barrier, frames=frames)


# ------------------------------------------ scene families (the suite's scenes, and training clips like them)
def crossing_scene(rng, frames: int, hidden_at: float) -> tuple[SceneSpec, int]:
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
    crossing = ObjectSpec(
        shape=str(rng.choice(["ball", "box"])),
        size=size,
        color=PALETTE[int(rng.integers(len(PALETTE)))],
        position=(mirror(start), y),
        velocity=(-speed if flip else speed, vy),
    )
    x0, x1 = centre - w / 2, centre + w / 2
    occluder = (mirror(x1), 0.0, mirror(x0), 1.0) if flip else (x0, 0.0, x1, 1.0)
    return SceneSpec([crossing], occluder=occluder, frames=frames), 0


def free_flight_scene(rng, frames: int, gravity: float) -> SceneSpec:
    size = float(rng.uniform(0.05, 0.08))
    pos = rng.uniform(0.3, 0.7, 2)
    speed, heading = rng.uniform(0.25, 0.6), rng.uniform(0, 2 * np.pi)
    vel = (speed * np.cos(heading), speed * np.sin(heading) - (0.5 * gravity if gravity else 0.0))
    obj = ObjectSpec(
        shape=str(rng.choice(["ball", "box"])),
        size=size,
        color=PALETTE[int(rng.integers(len(PALETTE)))],
        position=tuple(pos),
        velocity=vel,
        angle=float(rng.uniform(0, np.pi / 2)),
    )
    return SceneSpec([obj], gravity=gravity, frames=frames)


def collision_scene(rng, frames: int, barrier: bool) -> SceneSpec:
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
        objs = [
            ObjectSpec("ball", size, PALETTE[colors[0]], (a, y), ((meet - size - a) / hit_at, 0.0)),
            ObjectSpec(
                "ball",
                size,
                PALETTE[colors[1]],
                (b, y + float(rng.uniform(-0.3, 0.3)) * size),
                ((meet + size - b) / hit_at, 0.0),
            ),
        ]
        scene = SceneSpec(objs, frames=frames)
    if rng.random() < 0.5:  # mirror left-right
        for o in scene.objects:
            o.position, o.velocity = (1 - o.position[0], o.position[1]), (-o.velocity[0], o.velocity[1])
        if scene.barrier:
            x0, y0, x1, y1 = scene.barrier
            scene.barrier = (1 - x1, y0, 1 - x0, y1)
    return scene


def sample_mixed_scene(
    rng: np.random.Generator, frames: int = 16, family_prob: float = 0.5, barrier_prob: float = 0.0
) -> SceneSpec:
    """Training scenes: with `family_prob`, a possible scene of one of the families above (an object
    crossing a narrow occluder, free flight, a run at the barrier or at another object), else
    `sample_scene`. The families are what random scenes rarely show long enough to learn: an object
    that goes behind something for a few frames comes out again, unchanged; a wall stops what runs
    into it. Like IntPhys's training set, these are possible clips only; the suite draws its own
    seeds."""
    if rng.random() >= family_prob:
        return sample_scene(rng, frames, barrier_prob=barrier_prob)
    family = int(rng.integers(4))
    if family == 0:
        return crossing_scene(rng, frames, hidden_at=float(rng.uniform(4, frames - 6)))[0]
    if family == 1:
        return free_flight_scene(rng, frames, gravity=float(rng.choice([0.0, rng.uniform(0.8, 1.5)])))
    return collision_scene(rng, frames, barrier=family == 2)


def with_events(spec: SceneSpec, events: list[Event]) -> SceneSpec:
    """A copy of the scene with extra scripted events (the original is untouched)."""
    return replace(spec, events=list(spec.events) + list(events))
