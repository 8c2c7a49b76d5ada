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

In three parts: the scenes (worlds/bounce_scene.py), the physics (worlds/bounce_physics.py), the
pictures (worlds/bounce_draw.py); this module is their one public face.
"""

from __future__ import annotations

from .bounce_draw import coverage, occluder_mask, pixel_grid, rect_mask, render
from .bounce_physics import draw_frames, simulate
from .bounce_scene import (
    BACKGROUND,
    BARRIER,
    BARRIER_PROB,
    EVENT_KINDS,
    FAMILY_PROB,
    FPS,
    OCCLUDER,
    PALETTE,
    PASSIVE_OBJECTS,
    SIZE,
    Clip,
    Event,
    Look,
    ObjectSpec,
    SceneSpec,
    collision_scene,
    crossing_scene,
    free_flight_scene,
    sample_mixed_scene,
    sample_scene,
    with_events,
)

__all__ = [
    "BACKGROUND",
    "BARRIER",
    "BARRIER_PROB",
    "Clip",
    "EVENT_KINDS",
    "Event",
    "FAMILY_PROB",
    "FPS",
    "Look",
    "OCCLUDER",
    "ObjectSpec",
    "PALETTE",
    "PASSIVE_OBJECTS",
    "SIZE",
    "SceneSpec",
    "collision_scene",
    "coverage",
    "crossing_scene",
    "draw_frames",
    "free_flight_scene",
    "occluder_mask",
    "pixel_grid",
    "rect_mask",
    "render",
    "sample_mixed_scene",
    "sample_scene",
    "simulate",
    "with_events",
]
