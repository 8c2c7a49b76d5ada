import numpy as np
import pytest
import torch

from jepalab.config import override, preset
from jepalab.occlusion import BAR_COLOUR, paint_occluders


def square_clip(batch: int = 8, frames: int = 5, size: int = 64) -> torch.Tensor:
    """A 4-px yellow square moving right on a dark background."""
    clip = torch.full((batch, frames, size, size, 3), 30, dtype=torch.uint8)
    for t in range(frames):
        clip[:, t, 30:34, 10 + 3 * t:14 + 3 * t] = torch.tensor([240, 210, 60], dtype=torch.uint8)
    return clip


def test_bars_hide_the_object_in_one_or_two_context_frames_and_touch_nothing_else():
    clip = square_clip(batch=64)
    painted, where = paint_occluders(clip, rate=1.0, history=4, generator=torch.Generator().manual_seed(0))
    assert not where[:, 0].any() and not where[:, 4:].any()  # never the first frame, never a target-only frame
    assert set(where.sum(1).tolist()) <= {1, 2} and where.any(1).all()
    changed = (painted != clip).flatten(2).any(-1)
    assert torch.equal(changed, where)  # untouched outside the painted frames
    bar = torch.tensor(BAR_COLOUR, dtype=torch.uint8)
    for b, t in where.nonzero().tolist():
        first = where[b].nonzero()[0, 0].item()
        # the frame the bar was placed on shows no yellow left: the object is hidden
        if t == first:
            assert not (painted[b, t] == torch.tensor([240, 210, 60], dtype=torch.uint8)).all(-1).any()
        # a bar is a full-width or full-height band of one colour
        grey = (painted[b, t] == bar).all(-1)
        assert grey.all(0).any() or grey.all(1).any()


def test_rate_sets_the_share_of_windows_and_plain_frames_stay_clean():
    clip = square_clip(batch=400)
    _, where = paint_occluders(clip, rate=0.3, history=4, generator=torch.Generator().manual_seed(1))
    assert 0.22 < where.any(1).float().mean() < 0.38
    plain = torch.full((16, 5, 64, 64, 3), 30, dtype=torch.uint8)  # nothing to hide
    painted, where = paint_occluders(plain, rate=1.0, history=4)
    assert not where.any() and torch.equal(painted, plain)
    same, where = paint_occluders(clip, rate=0.0, history=4)
    assert same is clip and not where.any()


def test_the_trainer_feeds_painted_context_and_keeps_clean_targets(debug_store, tmp_path):
    from jepalab.train import Trainer
    cfg = override(preset("debug"), ["objective.occlude=1.0", "model.history=4", "objective.rollout_steps=1"])
    trainer = Trainer(cfg.validate(), debug_store.load_all(), tmp_path / "run", progress=False)
    frames, actions = trainer.sampler.sample(16)
    trainer.model.eval()
    torch.manual_seed(0)
    z, context = trainer._encode(frames)
    torch.manual_seed(0)
    painted, where = paint_occluders(frames, 1.0, 4)
    with torch.no_grad():
        assert torch.allclose(z, trainer.model.encode(frames), atol=1e-4)  # targets: the clean frames
        assert torch.allclose(context, trainer.model.encode(painted)[:, :4], atol=1e-4)
    assert where.any()
    loss, info = trainer.losses(frames, actions)
    assert np.isfinite(info["pred_loss"])
    with pytest.raises(ValueError, match="occlude"):
        override(preset("debug"), ["objective.occlude=1.5"]).validate()
