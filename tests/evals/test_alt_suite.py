"""The violation-of-expectation suite drawn another way: its own kinematics and drawing, pairs that
are identical until the event, every category; and scale-aware surprise."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from jepalab.cli.main import main
from jepalab.evals import alt_suite
from jepalab.evals.surprise import running_normalised


def test_pairs_are_twins_until_the_event_in_every_category():
    pairs = alt_suite.make_alt_suite(pairs_per_category=3, seed=150_000)
    assert sorted({p.category for p in pairs}) == sorted(alt_suite.CATEGORIES) and len(pairs) == 15
    for p in pairs:
        d = p.diverge_frame
        assert p.possible.shape == p.impossible.shape == (alt_suite.FRAMES, 64, 64, 3)
        assert np.array_equal(p.possible[:d], p.impossible[:d]) and not np.array_equal(p.possible[d], p.impossible[d])
        assert p.event_frame <= d
    again = alt_suite.make_pair("solidity", pairs[6].seed)
    assert np.array_equal(again.impossible, pairs[6].impossible)  # seeded


def test_it_shares_no_code_with_the_renderer_models_train_on():
    tree = ast.parse(Path(alt_suite.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not any("bounce" in m or "worlds" in m for m in imported), imported


def test_running_normalisation_is_scale_free_and_causal():
    base = np.array([np.nan, 1.0, 1.2, 0.8, 1.0, 5.0, 1.0])
    a, b = running_normalised(base), running_normalised(base * 10)  # a new domain: every frame 10x
    assert np.allclose(a, b, equal_nan=True) and np.isnan(a[:4]).all() and a[5] == pytest.approx(5.0)
    later = running_normalised(np.concatenate([base, [50.0]]))
    assert np.allclose(later[:7], a, equal_nan=True)  # a later event does not change earlier values


def test_physics_command_scores_the_alt_style(tmp_path):
    run = tmp_path / "video"
    assert main(["pretrain", "--world", "bounce", "--preset", "video-debug", "--out", str(run), "--quiet"]) == 0
    assert (
        main(
            [
                "physics",
                "--checkpoint",
                str(run),
                "--suite-style",
                "alt",
                "--pairs",
                "1",
                "--pixel-steps",
                "3",
                "--normalise",
                "running",
                "--out",
                str(tmp_path / "p"),
                "--quiet",
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "p" / "physics.json").read_text())
    assert report["suite"]["generator"] == alt_suite.GENERATOR and report["normalise"] == "running"
    assert set(report["results"]["trained"]["categories"]) == set(alt_suite.CATEGORIES)
