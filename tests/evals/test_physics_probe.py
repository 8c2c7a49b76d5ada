import numpy as np

from jepalab.config import override, preset
from jepalab.evals.physics_probe import (bounce_clips, fit_attentive, fit_linear, pixel_tokens, step_tokens,
                                         targets_per_step)


def test_probes_read_real_signal_and_not_noise():
    cfg = override(preset("video-debug"), ["video.frames=8"]).video
    train_video, train_clips = bounce_clips(96, cfg.frames, cfg.size, seed=123, max_objects=1)
    test_video, test_clips = bounce_clips(32, cfg.frames, cfg.size, seed=456, max_objects=1)
    tr, te = step_tokens(pixel_tokens(train_video, cfg), cfg), step_tokens(pixel_tokens(test_video, cfg), cfg)
    y_tr, y_te = targets_per_step(train_clips, cfg, "positions"), targets_per_step(test_clips, cfg, "positions")
    assert tr.shape[:2] == (96 * 4, 16) and y_tr.shape == (96 * 4, 2)
    attentive = fit_attentive(tr, y_tr, te, y_te, steps=300)
    shuffled = fit_attentive(tr, np.random.default_rng(0).permutation(y_tr), te, y_te, steps=300)
    assert attentive > 0.8 and shuffled < 0.1, (attentive, shuffled)
    assert fit_linear(tr, y_tr, te, y_te) > 0.2
