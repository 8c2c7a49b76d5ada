import json

import numpy as np
import pytest

from jepalab.evals.physics_suite import CATEGORIES, VARIANTS, SuiteError, make_pair, make_suite, read_suite, write_suite
from jepalab.worlds.bounce import Event, ObjectSpec, SceneSpec, simulate, with_events


@pytest.mark.parametrize("category,variant", [(c, v) for c in CATEGORIES for v in VARIANTS[c]])
def test_pairs_are_identical_before_the_event_and_differ_after(category, variant):
    for seed in range(3):
        p = make_pair(category, variant, seed=100 + seed)
        d = p.diverge_frame
        assert p.possible.shape == p.impossible.shape == (24, 64, 64, 3)
        assert np.array_equal(p.possible[:d], p.impossible[:d])
        assert not np.array_equal(p.possible[d], p.impossible[d])
        assert 4 <= d <= 20 and p.event_frame <= d


def test_suite_is_seeded_and_balanced_over_variants():
    a, b = make_suite(4, seed=7), make_suite(4, seed=7)
    assert [p.category for p in a] == [c for c in CATEGORIES for _ in range(4)]
    assert all(np.array_equal(x.impossible, y.impossible) for x, y in zip(a, b))
    gravity = [p.variant for p in a if p.category == "gravity"]
    assert gravity[:3] == list(VARIANTS["gravity"])
    assert not np.array_equal(make_suite(1, seed=8)[0].possible, a[0].possible)


def test_scripted_events_do_what_they_say():
    ball = ObjectSpec("ball", 0.06, (230, 80, 60), (0.2, 0.5), (0.8, 0.0))
    wall = SceneSpec([ball], barrier=(0.5, 0.1, 0.56, 0.9), frames=12)
    bounced, ghost = simulate(wall), simulate(with_events(wall, [Event(0, "ghost")]))
    assert bounced.positions[:, 0, 0].max() < 0.5 and ghost.positions[-1, 0, 0] > 0.56  # through the wall
    still = ObjectSpec("ball", 0.06, (230, 80, 60), (0.5, 0.5), (0.0, 0.0))
    falling = SceneSpec([still], gravity=1.0, frames=8)
    floating = simulate(with_events(falling, [Event(2, "float")]))
    assert simulate(falling).positions[-1, 0, 1] > 0.5 > floating.positions[-1, 0, 1]  # y grows downwards
    box = simulate(with_events(SceneSpec([still], frames=3), [Event(1, "reshape")]))
    assert box.frames[1].astype(int).sum() > box.frames[0].astype(int).sum()  # a box covers more than its ball
    with pytest.raises(ValueError, match="unknown event kind"):
        simulate(with_events(falling, [Event(1, "explode")]))


def test_written_suite_reads_back_pixel_exact_and_bad_indexes_are_refused(tmp_path):
    pairs = make_suite(1, seed=3, categories=("continuity", "constancy"))
    index = write_suite(pairs, tmp_path / "suite", seed=3)
    rows = json.loads(index.read_text())["pairs"]
    assert {r["category"] for r in rows} == {"continuity", "constancy"}
    assert all((tmp_path / "suite" / r["impossible"]).exists() for r in rows)
    back = read_suite(tmp_path / "suite")
    for p, q in zip(pairs, back):
        assert np.array_equal(p.possible, q.possible) and np.array_equal(p.impossible, q.impossible)
        assert (p.diverge_frame, p.variant) == (q.diverge_frame, q.variant)
    with pytest.raises(SuiteError, match="no suite index"):
        read_suite(tmp_path)
    index.write_text(json.dumps({"generator": "someone-else/9", "pairs": []}))
    with pytest.raises(SuiteError, match="generator"):
        read_suite(tmp_path / "suite")
    index.write_text("{not json")
    with pytest.raises(SuiteError, match="not a suite index"):
        read_suite(tmp_path / "suite")
