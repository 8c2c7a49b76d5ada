"""bounce's physics: a scene simulated with pymunk (2-D rigid bodies, walls, gravity), its scripted events
applied at their frames, every frame's ground truth recorded (positions, velocities, presence,
visibility, collisions)."""

from __future__ import annotations

import numpy as np

from .bounce_draw import render
from .bounce_scene import EVENT_KINDS, SIZE, Clip, Event, Look, SceneSpec

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
    out = Clip(
        np.zeros((T, SIZE, SIZE, 3), np.uint8),
        np.zeros((T, N, 2), np.float32),
        np.zeros((T, N, 2), np.float32),
        np.zeros((T, N), bool),
        np.zeros((T, N), np.float32),
        np.zeros(T, np.int32),
        spec,
    )
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
        look = Look(
            tuple((*body.position, body.angle) for body in bodies),
            tuple(present),
            tuple(tuple(c.tolist()) for c in colors),
            tuple(drawn),
        )
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
