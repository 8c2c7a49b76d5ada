"""Scripted pushers of the push worlds (worlds/push.py): the place expert, which gets behind the
block and pushes it through its centre to the target's place (it hardly turns the block: the
`noisy-expert` data), and the pose expert, which also turns it to the target's angle by pushing the
end of its widest bar off-centre (the `pose-expert` data, where goals need a turn).

Each takes a PushEnv and returns an action in [-1, 1]^2 (a step of up to MAX_STEP).
"""

from __future__ import annotations

import numpy as np

from .push_geometry import MAX_STEP, PUSHER_RADIUS

TURN_ENTER, TURN_LEAVE = np.deg2rad(12), np.deg2rad(4)  # start turning past 12 degrees, stop inside 4


def extent(env, direction: np.ndarray) -> float:
    """How far the posed block reaches from its centre along `direction` (its support function)."""
    _, angle = env.block_pose
    c, s = np.cos(angle), np.sin(angle)
    corners = np.array([(x, y) for x0, y0, x1, y1 in env.parts for x in (x0, x1) for y in (y0, y1)])
    world = corners @ np.array([[c, s], [-s, c]])
    return float((world @ direction).max())


def _around(env, rel: np.ndarray, gap: float) -> np.ndarray:
    """A step on a circle that keeps clear of the block, the short way round (`gap`: the angle to go)."""
    r = np.linalg.norm(rel)
    clear = max(extent(env, np.array([np.cos(t), np.sin(t)])) for t in np.linspace(0, 2 * np.pi, 8, False))
    clear += PUSHER_RADIUS + 0.02
    radial = rel / max(r, 1e-6)
    tangent = np.array([-radial[1], radial[0]]) * np.sign(gap)
    return (tangent + 2.0 * (clear - r) / clear * radial) * MAX_STEP


def _travel(env, dest: np.ndarray) -> np.ndarray:
    """A step towards `dest` beside the block: straight when it lies on the pusher's side, else around."""
    pos, _ = env.block_pose
    me = env.pusher_pos
    rel, want = me - pos, dest - pos
    gap = float(np.arctan2(want[1], want[0]) - np.arctan2(rel[1], rel[0]))
    gap = (gap + np.pi) % (2 * np.pi) - np.pi
    return dest - me if abs(gap) < 0.5 else _around(env, rel, gap)


def place_action(env) -> np.ndarray:
    """Round the block to the point behind it (seen from the target), then push through its
    centre towards the target, steering back onto the line when the block turns away from it."""
    pos, _ = env.block_pose
    to_target = env.target_pos - pos
    dist = np.linalg.norm(to_target)
    if dist < 0.01:
        return np.zeros(2, np.float32)
    direction = to_target / dist
    me = env.pusher_pos
    behind = pos - direction * (extent(env, -direction) + PUSHER_RADIUS + 0.01)
    rel = me - pos
    side = np.array([-direction[1], direction[0]])
    across = float(rel @ side)
    if float(rel @ direction) < -0.5 * extent(env, -direction) and abs(across) < 0.04:
        # in place: push through the centre, correcting sideways drift
        step = direction * min(dist + 0.02, MAX_STEP) - 0.5 * across * side
    else:
        gap = float(np.arctan2(-direction[1], -direction[0]) - np.arctan2(rel[1], rel[0]))
        gap = (gap + np.pi) % (2 * np.pi) - np.pi
        step = behind - me if abs(gap) < 0.5 else _around(env, rel, gap)
    return np.clip(step / MAX_STEP, -1, 1).astype(np.float32)


def angle_to_go(env) -> float:
    """The target's angle less the block's, wrapped, counted modulo the block's symmetry."""
    _, angle = env.block_pose
    period = 2 * np.pi / env.symmetry
    return float((env.target_angle - angle + period / 2) % period - period / 2)


def pose_reached(env) -> bool:
    """The block on the target's place and angle (within half the strict test's tolerances)."""
    pos, _ = env.block_pose
    return bool(np.linalg.norm(pos - env.target_pos) < 0.025 and abs(angle_to_go(env)) < TURN_ENTER / 2)


def pose_action(env) -> np.ndarray:
    """Turn the block to the target's angle, then push it to the target's place (and turn again
    when the pushing has turned it away). A turn pushes the bottom edge of the widest bar near one
    end, across the bar: the force's moment about the centre turns the block the way that end goes."""
    err = angle_to_go(env)
    if pose_reached(env):
        return np.zeros(2, np.float32)
    turning = getattr(env, "_pose_turning", False)
    turning = abs(err) > (TURN_LEAVE if turning else TURN_ENTER)
    env._pose_turning = turning
    if not turning:
        return place_action(env)
    pos, angle = env.block_pose
    c, s = np.cos(angle), np.sin(angle)
    to_world = np.array([[c, -s], [s, c]])
    x_end = 0.8 * max(x1 for _, _, x1, _ in env.parts) * np.sign(err)  # + : counter-clockwise
    bottom = min(y0 for _, y0, _, _ in env.parts)
    contact = pos + to_world @ np.array([x_end, bottom - PUSHER_RADIUS - 0.005])
    push = to_world @ np.array([0.0, 1.0])  # across the bar, into it
    rel = env.pusher_pos - contact
    along, across = float(rel @ push), rel - float(rel @ push) * push
    if -0.04 < along < 0.02 and np.linalg.norm(across) < 0.015:
        step = push * min(MAX_STEP, 0.5 * abs(err) + 0.01) - 0.5 * across
    else:
        step = _travel(env, contact - 0.03 * push)
    return np.clip(step / MAX_STEP, -1, 1).astype(np.float32)
