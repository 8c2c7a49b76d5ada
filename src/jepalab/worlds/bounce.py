"""The built-in passive world `bounce`: 2-D rigid bodies simulated with pymunk.

    from jepalab.worlds.bounce import sample_scene, simulate
    clip = simulate(sample_scene(np.random.default_rng(0)))
    clip.frames      # (T, 64, 64, 3) uint8
    clip.positions   # (T, N, 2) ground truth, arena units, y grows downwards like image rows

One to four balls and boxes in a walled unit square, with gravity or without,
and optionally an occluder drawn in front of them. Every frame records each
object's position, velocity, whether it is present and how much of it is
visible, and the collisions that began since the last frame: the ground truth
for probes. A scene is a plain description (`SceneSpec`) and can carry scripted
`Event`s — an object vanishes, teleports, stops, floats up, passes through solid
things, changes colour or shape — applied at a given frame: the
violation-of-expectation suite (evals/physics_suite.py) is built from them.
"""
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


def sample_scene(rng: np.random.Generator, frames: int = 16, max_objects: int = 4,
                 occluder_prob: float = 0.5, gravity_prob: float = 0.5, barrier_prob: float = 0.0) -> SceneSpec:
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
        if any(np.linalg.norm(pos - np.array(o.position)) < size + o.size + 0.02 for o in objects) \
                or _inside(pos, size + 0.02, barrier):
            continue
        speed, heading = rng.uniform(0.2, 0.8), rng.uniform(0, 2 * np.pi)
        objects.append(ObjectSpec(shape=str(rng.choice(["ball", "box"])), size=size,
                                  color=PALETTE[colors[len(objects)]], position=tuple(pos),
                                  velocity=(speed * np.cos(heading), speed * np.sin(heading)),
                                  angle=float(rng.uniform(0, np.pi / 2))))
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
    obj = ObjectSpec(shape=str(rng.choice(["ball", "box"])), size=size, color=PALETTE[int(rng.integers(len(PALETTE)))],
                     position=tuple(pos), velocity=vel, angle=float(rng.uniform(0, np.pi / 2)))
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


def sample_mixed_scene(rng: np.random.Generator, frames: int = 16, family_prob: float = 0.5,
                       barrier_prob: float = 0.0) -> SceneSpec:
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


# ---------------------------------------------------------------- simulation
_ARENA, _SOLID = 0b01, 0b10  # collision categories: a ghost collides with the arena walls only


def _build(spec: SceneSpec):
    import pymunk
    space = pymunk.Space()
    space.gravity = (0.0, spec.gravity)
    walls = [((0, 0), (1, 0)), ((1, 0), (1, 1)), ((1, 1), (0, 1)), ((0, 1), (0, 0))]
    for a, b in walls:
        seg = pymunk.Segment(space.static_body, a, b, 0.01)
        seg.elasticity, seg.friction = 1.0, 0.2
        seg.filter = pymunk.ShapeFilter(categories=_ARENA)
        space.add(seg)
    if spec.barrier is not None:
        x0, y0, x1, y1 = spec.barrier
        wall = pymunk.Poly(space.static_body, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        wall.elasticity, wall.friction = 1.0, 0.2
        wall.filter = pymunk.ShapeFilter(categories=_SOLID)
        space.add(wall)
    bodies, shapes = [], []
    for i, o in enumerate(spec.objects):
        if o.shape == "ball":
            moment = pymunk.moment_for_circle(1.0, 0, o.size)
            body = pymunk.Body(1.0, moment)
            shape = pymunk.Circle(body, o.size)
        elif o.shape == "box":
            moment = pymunk.moment_for_box(1.0, (2 * o.size, 2 * o.size))
            body = pymunk.Body(1.0, moment)
            shape = pymunk.Poly.create_box(body, (2 * o.size, 2 * o.size))
        else:
            raise ValueError(f"object {i}: shape must be 'ball' or 'box', got {o.shape!r}")
        body.position, body.velocity, body.angle = o.position, o.velocity, o.angle
        shape.elasticity, shape.friction, shape.collision_type = spec.elasticity, 0.2, 1
        shape.filter = pymunk.ShapeFilter(categories=_SOLID)
        bodies.append(body)
        shapes.append(shape)
    return space, bodies, shapes


def simulate(spec: SceneSpec, draw: bool = True) -> Clip:
    """Run the scene and render every frame; deterministic for a given spec. draw=False leaves the
    frames black (`draw_frames` fills them in later) but records everything else, visibility
    included: about three times as fast, for the draws a scene generator may throw away."""
    space, bodies, shapes = _build(spec)
    N, T = len(spec.objects), spec.frames
    present = [o.present for o in spec.objects]
    for shape, here in zip(shapes, present):
        if here:
            space.add(shape.body, shape)
    colors = [np.array(o.color, np.float32) for o in spec.objects]
    drawn = [o.shape for o in spec.objects]
    frozen, floating = [False] * N, [False] * N
    dt = 1.0 / (spec.fps * spec.substeps)
    lift = 2.0 * max(spec.gravity, 1.0) * dt  # per substep: cancels gravity, then as much upwards
    hits = [0]
    space.on_collision(begin=lambda arbiter, space, data: hits.__setitem__(0, hits[0] + 1))
    out = Clip(np.zeros((T, SIZE, SIZE, 3), np.uint8), np.zeros((T, N, 2), np.float32),
               np.zeros((T, N, 2), np.float32), np.zeros((T, N), bool), np.zeros((T, N), np.float32),
               np.zeros(T, np.int32), spec)
    events = sorted(spec.events, key=lambda e: e.frame)
    painter = spec.style.painter(spec) if spec.style is not None and draw else None
    for t in range(T):
        if t > 0:
            for _ in range(spec.substeps):
                for i, body in enumerate(bodies):
                    if frozen[i]:
                        body.velocity, body.angular_velocity = (0.0, 0.0), 0.0
                    elif floating[i]:  # gravity turned upwards, for this object only
                        body.velocity = (body.velocity[0], body.velocity[1] - lift)
                space.step(dt)
        for ev in (e for e in events if e.frame == t):
            _apply(ev, space, bodies, shapes, present, colors, drawn, frozen, floating)
        out.collisions[t], hits[0] = hits[0], 0
        for i, body in enumerate(bodies):
            out.positions[t, i] = body.position
            out.velocities[t, i] = body.velocity
            out.present[t, i] = present[i]
        look = Look(tuple((*body.position, body.angle) for body in bodies), tuple(present),
                    tuple(tuple(c.tolist()) for c in colors), tuple(drawn))
        out.looks.append(look)
        frame, out.visible[t] = render(spec, look, draw and painter is None)
        if draw:
            out.frames[t] = frame if painter is None else painter(look)
    return out


def draw_frames(clip: Clip) -> np.ndarray:
    """Fill in (and return) the frames of a clip simulated with draw=False."""
    for t, look in enumerate(clip.looks):
        clip.frames[t] = render(clip.spec, look)[0]
    return clip.frames


def _apply(ev: Event, space, bodies, shapes, present, colors, drawn, frozen, floating) -> None:
    i = ev.target
    if not 0 <= i < len(bodies):
        raise ValueError(f"event {ev.kind} at frame {ev.frame}: no object {i}")
    body = bodies[i]
    if ev.kind == "vanish" and present[i]:
        space.remove(body, shapes[i])
        present[i] = False
    elif ev.kind == "appear" and not present[i]:
        space.add(body, shapes[i])
        present[i] = True
    elif ev.kind == "teleport":
        if ev.position is None:
            raise ValueError(f"teleport event at frame {ev.frame} needs a position")
        body.position = ev.position
        space.reindex_shapes_for_body(body)
    elif ev.kind == "freeze":
        frozen[i] = True
    elif ev.kind == "reverse":
        body.velocity = (-body.velocity[0], -body.velocity[1])
    elif ev.kind == "recolor":
        if ev.color is None:
            raise ValueError(f"recolor event at frame {ev.frame} needs a color")
        colors[i] = np.array(ev.color, np.float32)
    elif ev.kind == "reshape":
        drawn[i] = "box" if drawn[i] == "ball" else "ball"
    elif ev.kind == "float":
        floating[i] = True
    elif ev.kind == "ghost":
        import pymunk
        shapes[i].filter = pymunk.ShapeFilter(categories=_SOLID, mask=_ARENA)
    elif ev.kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {ev.kind!r}; kinds: {', '.join(EVENT_KINDS)}")


# ---------------------------------------------------------------- rendering
def pixel_grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) of a side x side picture's pixel centres in arena units; the row index is y."""
    c = (np.arange(side, dtype=np.float32) + 0.5) / side
    return np.meshgrid(c, c)


_GRID = pixel_grid(SIZE)  # bounce's own pictures


def coverage(kind: str, size: float, pose: tuple, grid: tuple = _GRID) -> np.ndarray:
    """Anti-aliased coverage (H, W) in [0, 1] of a ball of radius `size` or a box of half side `size`
    at pose (x, y, angle), on the pixel centres `grid` (pixel_grid; default: bounce's)."""
    X, Y = grid
    side = X.shape[0]
    x, y, angle = pose
    px, py = X - x, Y - y
    if kind == "ball":
        dist = np.sqrt(px * px + py * py) - size  # signed distance, arena units
    else:
        c, s = np.cos(angle), np.sin(angle)
        lx, ly = c * px + s * py, -s * px + c * py  # into the box frame
        qx, qy = np.abs(lx) - size, np.abs(ly) - size
        dist = np.sqrt(np.maximum(qx, 0) ** 2 + np.maximum(qy, 0) ** 2) + np.minimum(np.maximum(qx, qy), 0)
    return np.clip(0.5 - dist * side, 0.0, 1.0)


def rect_mask(rect: tuple | None, grid: tuple = _GRID) -> np.ndarray:
    """The pixels of `grid` (pixel_grid) inside rect (x0, y0, x1, y1); none for None."""
    X, Y = grid
    if rect is None:
        return np.zeros(X.shape, bool)
    x0, y0, x1, y1 = rect
    return (X >= x0) & (X <= x1) & (Y >= y0) & (Y <= y1)


def occluder_mask(spec: SceneSpec) -> np.ndarray:
    return rect_mask(spec.occluder)


def render(spec: SceneSpec, look: Look, draw: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
    """-> frame (H, W, 3) uint8 (None unless `draw`), visible fraction per object (N,)."""
    if draw:
        img = np.broadcast_to(BACKGROUND, (SIZE, SIZE, 3)).copy()
        img[rect_mask(spec.barrier)] = BARRIER
    occ = occluder_mask(spec)
    visible = np.zeros(len(look.poses), np.float32)
    for i, pose in enumerate(look.poses):
        if not look.present[i]:
            continue
        a = coverage(look.drawn[i], spec.objects[i].size, pose)
        total = a.sum()
        visible[i] = float(a[~occ].sum() / total) if total > 0 else 0.0
        if draw:
            img = img * (1 - a[..., None]) + np.array(look.colors[i], np.float32) * a[..., None]
    if not draw:
        return None, visible
    img[occ] = OCCLUDER
    return img.round().astype(np.uint8), visible


def with_events(spec: SceneSpec, events: list[Event]) -> SceneSpec:
    """A copy of the scene with extra scripted events (the original is untouched)."""
    return replace(spec, events=list(spec.events) + list(events))
