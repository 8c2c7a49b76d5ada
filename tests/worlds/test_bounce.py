import numpy as np
import pytest

from jepalab.worlds.bounce import Event, ObjectSpec, SceneSpec, draw_frames, sample_scene, simulate, with_events

RED = (230, 80, 60)


def one_ball(**kw) -> SceneSpec:
    ball = ObjectSpec("ball", 0.08, RED, kw.pop("position", (0.3, 0.5)), kw.pop("velocity", (0.4, 0.0)))
    return SceneSpec([ball], **kw)


def red_centroid(frame):
    mask = np.abs(frame.astype(int) - np.array(RED)).sum(-1) < 60
    rows, cols = np.nonzero(mask)
    return np.array([cols.mean(), rows.mean()]) / 64 if len(rows) else None


def test_deterministic_and_ground_truth_matches_pixels():
    spec = sample_scene(np.random.default_rng(7))
    a, b = simulate(spec), simulate(spec)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.positions, b.positions)
    clip = simulate(one_ball())
    assert clip.frames.shape == (16, 64, 64, 3) and clip.frames.dtype == np.uint8
    for t in range(16):
        assert np.linalg.norm(red_centroid(clip.frames[t]) - clip.positions[t, 0]) < 0.02


def test_drawing_later_gives_the_same_frames_and_equal_looks_draw_equal_pixels():
    """The suite generator simulates without drawing and draws only the pairs it keeps."""
    from jepalab.evals.physics_suite import _first_difference

    rng = np.random.default_rng(3)
    for _ in range(4):
        spec = sample_scene(rng, frames=12)
        spec = with_events(spec, [Event(5, "recolor", 0, color=(250, 150, 60)), Event(7, "reverse", 0)])
        drawn, later = simulate(spec), simulate(spec, draw=False)
        assert not later.frames.any() and np.array_equal(drawn.visible, later.visible)
        assert np.array_equal(draw_frames(later), drawn.frames)
    plain = simulate(one_ball(frames=12), draw=False)
    stopped = simulate(with_events(one_ball(frames=12), [Event(6, "freeze", 0)]), draw=False)
    differs = np.flatnonzero((draw_frames(plain) != draw_frames(stopped)).reshape(12, -1).any(1))
    assert _first_difference(plain, stopped) == differs[0] >= 6
    assert _first_difference(plain, simulate(one_ball(frames=12), draw=False)) is None


def test_gravity_accelerates_downwards_and_walls_bounce():
    fall = simulate(one_ball(velocity=(0.0, 0.0), gravity=1.0))
    vy = fall.velocities[:, 0, 1]
    assert vy[3] > vy[1] > 0  # y grows downwards, like image rows
    wall = simulate(one_ball(velocity=(1.0, 0.0), frames=20))
    assert wall.velocities[:, 0, 0].min() < 0 and wall.collisions.sum() >= 1
    assert wall.positions[:, 0, 0].max() < 1.0


def test_occluder_hides_what_is_behind_it():
    clip = simulate(one_ball(position=(0.5, 0.5), velocity=(0.0, 0.0), occluder=(0.3, 0.0, 0.7, 1.0)))
    assert clip.visible[0, 0] == 0.0 and red_centroid(clip.frames[0]) is None
    clip = simulate(one_ball(position=(0.15, 0.5), velocity=(0.0, 0.0), occluder=(0.5, 0.0, 0.7, 1.0)))
    assert clip.visible[0, 0] == pytest.approx(1.0)


def test_scripted_events_change_only_what_follows_them():
    base = one_ball(frames=12)
    plain = simulate(base)
    cases = {
        "vanish": Event(6, "vanish"),
        "teleport": Event(6, "teleport", position=(0.8, 0.2)),
        "freeze": Event(6, "freeze"),
        "reverse": Event(6, "reverse"),
        "recolor": Event(6, "recolor", color=(70, 170, 240)),
    }
    for kind, ev in cases.items():
        clip = simulate(with_events(base, [ev]))
        assert np.array_equal(clip.frames[:6], plain.frames[:6]), kind  # a matched pair until the event
        assert not np.array_equal(clip.frames[6:], plain.frames[6:]), kind
    assert not simulate(with_events(base, [cases["vanish"]])).present[6:, 0].any()
    assert np.allclose(simulate(with_events(base, [cases["freeze"]])).velocities[7:, 0], 0.0)
    late = SceneSpec([ObjectSpec(present=False, velocity=(0.0, 0.0))], events=[Event(4, "appear")], frames=8)
    clip = simulate(late)
    assert not clip.present[:4, 0].any() and clip.present[4:, 0].all()


def test_collisions_between_objects_are_recorded():
    a = ObjectSpec("ball", 0.08, RED, (0.3, 0.5), (0.6, 0.0))
    b = ObjectSpec("box", 0.08, (70, 170, 240), (0.7, 0.5), (-0.6, 0.0))
    clip = simulate(SceneSpec([a, b], frames=5))  # they meet at ~0.2 s (frame 2), the walls are further away
    assert clip.collisions[1:4].sum() >= 1
    assert clip.velocities[4, 0, 0] < 0 < clip.velocities[4, 1, 0]  # they bounced apart
    gap = np.linalg.norm(clip.positions[:, 0] - clip.positions[:, 1], axis=1)
    assert gap.min() > 0.14  # never passed through each other


def test_bad_scenes_are_refused():
    with pytest.raises(ValueError, match="shape must be 'ball' or 'box'"):
        simulate(SceneSpec([ObjectSpec(shape="cone")]))
    with pytest.raises(ValueError, match="no object 3"):
        simulate(with_events(one_ball(), [Event(2, "vanish", target=3)]))
    with pytest.raises(ValueError, match="unknown event kind"):
        simulate(with_events(one_ball(), [Event(2, "explode")]))


def test_barriers_are_optional_solid_and_leave_other_scenes_unchanged():
    from jepalab.worlds.bounce import sample_scene, simulate

    plain = [sample_scene(np.random.default_rng(s)) for s in range(5)]
    again = [sample_scene(np.random.default_rng(s), barrier_prob=0.0) for s in range(5)]
    assert plain == again  # no random number is spent on barriers unless asked
    walled = [sample_scene(np.random.default_rng(s), barrier_prob=1.0, frames=20) for s in range(20)]
    for spec in walled:
        x0, y0, x1, y1 = spec.barrier
        clip = simulate(spec)
        inside = (
            (clip.positions[..., 0] > x0)
            & (clip.positions[..., 0] < x1)
            & (clip.positions[..., 1] > y0)
            & (clip.positions[..., 1] < y1)
        )
        assert not inside.any()  # nothing starts in it or passes through it


def test_mixed_training_scenes_hold_the_suite_families_and_nothing_impossible():
    from jepalab.worlds.bounce import sample_mixed_scene

    rng = np.random.default_rng(5)
    scenes = [sample_mixed_scene(rng, 25, family_prob=1.0) for _ in range(40)]
    assert all(not s.events for s in scenes)  # possible clips only
    crossings = [s for s in scenes if s.occluder is not None and len(s.objects) == 1]
    barriers = [s for s in scenes if s.barrier is not None]
    meetings = [s for s in scenes if len(s.objects) == 2]
    assert crossings and barriers and meetings
    a = sample_mixed_scene(np.random.default_rng(9), 25, family_prob=0.5)
    b = sample_mixed_scene(np.random.default_rng(9), 25, family_prob=0.5)
    assert np.array_equal(simulate(a).frames, simulate(b).frames)  # seeded
    clip = simulate(crossings[0])
    assert (clip.visible[:, 0] == 0).any() and clip.visible[-1, 0] > 0  # goes behind, comes out again
