import numpy as np
import pytest
import torch

from jepalab.config import override, preset
from jepalab.evals.physics_probe import (
    AttentiveProbe,
    count_set,
    fit_attentive,
    fit_linear,
    one_object_set,
    pixel_tokens,
    r2,
    score,
    step_tokens,
)


@pytest.mark.slow
def test_probes_read_real_signal_and_not_noise():
    cfg = preset("video-small").video  # 64x64 frames, 8x8 patches, 4 steps per clip
    # no occluder: the instrument itself is under test, so every position is visible
    train, test = one_object_set(128, cfg, 123, occluder_prob=0.0), one_object_set(64, cfg, 456, occluder_prob=0.0)
    tr, te = step_tokens(pixel_tokens(train.video, cfg), cfg), step_tokens(pixel_tokens(test.video, cfg), cfg)
    y_tr, y_te = train.targets["position"], test.targets["position"]
    assert tr.shape[:2] == (128 * 4, 64) and y_tr.shape == (128 * 4, 2)
    attentive = r2(fit_attentive(tr, y_tr, te, steps=300), y_te)
    shuffled = r2(fit_attentive(tr, np.random.default_rng(0).permutation(y_tr), te, steps=300), y_te)
    assert attentive > 0.8 and shuffled < 0.1, (attentive, shuffled)
    assert r2(fit_linear(tr, y_tr, te), y_te) > 0.2


def test_count_targets_and_accuracy():
    cfg = override(preset("video-debug"), ["video.frames=8"]).video
    clips = count_set(16, cfg, seed=7)
    counts = clips.targets["count"]
    assert counts.shape == (16 * 4, 1) and set(np.unique(counts)) <= {1, 2, 3, 4} and len(np.unique(counts)) > 1
    assert score("count", counts + 0.3, counts) == 1.0 and score("count", counts + 0.7, counts) == 0.0


def test_attentive_probe_is_invariant_to_nothing_but_its_inputs():
    probe = AttentiveProbe(dim=5, out=2, tokens=16)
    x = torch.randn(3, 16, 5)
    assert probe(x).shape == (3, 2)
    # the grid coordinates are part of the probe: moving a token changes the answer
    moved = x.clone()
    moved[:, [0, 15]] = x[:, [15, 0]]
    assert not torch.allclose(probe(x), probe(moved))
