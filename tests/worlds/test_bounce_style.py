"""bounce drawn and filmed many ways (data.variety=wide, worlds/bounce_style.py)."""

import numpy as np
import pytest

from jepalab.data.collect import collect, passive_episode
from jepalab.worlds.bounce import occluder_mask, sample_scene, simulate
from jepalab.worlds.bounce_style import compress, sample_style, styled_scene


def test_every_clip_gets_its_own_look_and_the_same_seed_the_same_clip():
    a, again, b = passive_episode(12, 7, "wide"), passive_episode(12, 7, "wide"), passive_episode(12, 8, "wide")
    assert a.pixels.shape == (13, 64, 64, 3) and a.pixels.dtype == np.uint8
    assert np.array_equal(a.pixels, again.pixels)
    plain = passive_episode(12, 7)
    assert np.abs(a.pixels.astype(int) - plain.pixels).mean() > 20  # not bounce's look
    assert np.abs(a.pixels.mean((0, 1, 2)) - b.pixels.mean((0, 1, 2))).max() > 5  # nor one shared look
    styles = [sample_style(np.random.default_rng([s, 1])) for s in range(40)]
    assert len({s.background for s in styles}) == 4 and len({s.size for s in styles}) > 20
    assert min(s.fps for s in styles) < 10 < max(s.fps for s in styles)


def test_a_styled_occluder_still_hides_what_is_behind_it():
    rng = np.random.default_rng(3)
    spec = sample_scene(rng, frames=6, occluder_prob=1.0)
    styled = styled_scene(spec, sample_style(np.random.default_rng(4)))
    clip = simulate(styled)
    occ = occluder_mask(spec)
    for axis in (0, 1):  # two pixels in from its edges: resizing the source blends the edge itself
        for shift in (-2, -1, 1, 2):
            occ = occ & np.roll(occ, shift, axis)
    assert occ.sum() > 50
    assert np.ptp(clip.frames[:, occ].reshape(6, -1, 3), axis=0).max() <= 2  # objects never drawn over it
    assert clip.visible.shape == (6, len(spec.objects))


def test_compression_keeps_every_frame_and_costs_detail():
    frames = passive_episode(12, 1).pixels
    coded = compress(frames, 60_000, 10.0)
    assert coded.shape == frames.shape
    err = np.abs(coded.astype(int) - frames).mean()
    assert 0 < err < 15


def test_a_store_holds_one_variety(tmp_path):
    collect("bounce", 2, 6, tmp_path / "d", progress=False, variety="wide")
    with pytest.raises(ValueError, match="variety 'wide', not 'none'"):
        collect("bounce", 3, 6, tmp_path / "d", progress=False)
    with pytest.raises(ValueError, match="none, picture, wide or wide-rate"):
        collect("bounce", 2, 6, tmp_path / "bad", progress=False, variety="narrow")
    assert not (tmp_path / "bad").exists()  # refused before a store was made for it
    with pytest.raises(ValueError, match="bounce's"):
        collect("two-room", 2, 6, tmp_path / "t", progress=False, variety="wide")


@pytest.mark.parametrize("variety", ["picture", "wide", "wide-rate"])
def test_a_store_of_every_variety_opens_again(tmp_path, variety):
    from jepalab.data.store import EpisodeStore

    collect("bounce", 2, 6, tmp_path / "d", progress=False, variety=variety)
    store = EpisodeStore(tmp_path / "d")  # the reader checks dataset.json's fields, variety among them
    assert store.meta()["variety"] == variety and len(store.load_all()) == 2


def test_picture_variety_keeps_bounces_pace_and_gravity():
    from jepalab.worlds.bounce import FPS, sample_mixed_scene
    from jepalab.worlds.bounce_style import picture_only

    spec = sample_mixed_scene(np.random.default_rng(5), 13, 0.5, 0.3)
    style = picture_only(sample_style(np.random.default_rng([5, 1])))
    a, b = simulate(spec, draw=False), simulate(styled_scene(spec, style), draw=False)
    assert style.fps == FPS and np.allclose(a.positions, b.positions)  # the same motion, drawn another way
    pic, plain = passive_episode(12, 5, "picture"), passive_episode(12, 5)
    assert np.abs(pic.pixels.astype(int) - plain.pixels).mean() > 20
    with pytest.raises(ValueError, match="none, picture, wide or wide-rate"):
        passive_episode(12, 5, "narrow")


def test_wide_rate_tells_the_model_each_clips_frame_interval():
    from jepalab.worlds.bounce import FPS
    from jepalab.worlds.bounce_style import sample_style

    for seed in (3, 4):
        told, hidden = passive_episode(24, seed, "wide-rate"), passive_episode(24, seed, "wide")
        fps = sample_style(np.random.default_rng([seed, 1])).fps
        assert np.array_equal(told.pixels, hidden.pixels)  # the same clip; only the action differs
        assert np.allclose(told.actions, FPS / fps - 1) and not hidden.actions.any()
