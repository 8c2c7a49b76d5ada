"""Cached features of a frozen encoder front (training/feature_cache.py, train.cache_latents)."""

import numpy as np
import pytest
import torch

from jepalab.config import override, preset
from jepalab.models import WorldModel
from jepalab.training.feature_cache import CacheMismatch, build, cache_key, load, open_cache, save
from jepalab.training.train import Trainer


def frozen_model(seed=0):
    torch.manual_seed(seed)
    return WorldModel(override(preset("debug"), ["model.freeze_encoder=true"]).model).eval()


def test_cached_features_are_the_encoders_output_for_the_same_frames(debug_store):
    episodes = debug_store.load_all()[:3]
    model = frozen_model()
    assert model.encoder.frozen_front == "all"
    features = build(model.encoder, episodes, progress=False)
    for ep, f in zip(episodes, features):
        with torch.no_grad():
            z = model.encode(torch.from_numpy(ep.pixels))
        assert f.shape == (len(ep.pixels), model.cfg.latent_dim) and torch.equal(torch.from_numpy(f), z)
        assert torch.equal(model.encode({"features": torch.from_numpy(f)}), z)  # the rest of a frozen encoder: none


def test_a_pretrained_video_front_is_cached_before_its_trained_readout(tmp_path):
    from jepalab.training.checkpoint import build_world_model
    from jepalab.training.pretrain import pretrain

    pretrain(preset("video-debug"), tmp_path / "video", progress=False)
    cfg = override(preset("debug"), ["model.image_size=32", f"model.video_encoder={tmp_path / 'video'}"])
    model = build_world_model(cfg.model).eval()
    assert model.encoder.frozen_front == "backbone"
    frames = torch.randint(0, 256, (5, 32, 32, 3), dtype=torch.uint8)
    f = model.encoder.frozen_features(frames)
    with torch.no_grad():
        assert torch.allclose(model.encoder.from_features(f), model.encode(frames), atol=1e-5)
    assert WorldModel(preset("debug").model).encoder.frozen_front is None  # a learning encoder has no front


def test_a_cache_is_refused_for_another_encoder_or_other_frames_and_then_rebuilt(debug_store, tmp_path, capsys):
    episodes = debug_store.load_all()[:3]
    model = frozen_model(0)
    features = open_cache(model.encoder, episodes, tmp_path / "c", "cpu", progress=False)
    assert all(np.array_equal(a, b) for a, b in zip(features, load(tmp_path / "c", cache_key(model.encoder, episodes))))
    other = frozen_model(1)  # other weights
    with pytest.raises(CacheMismatch, match="another encoder"):
        load(tmp_path / "c", cache_key(other.encoder, episodes))
    rebuilt = open_cache(other.encoder, episodes, tmp_path / "c", "cpu", progress=False)
    assert "building it again" in capsys.readouterr().out
    assert not np.array_equal(rebuilt[0], features[0])
    changed = debug_store.load_all()[:3]
    changed[1].pixels = changed[1].pixels.copy()
    changed[1].pixels[4, 10, 10, 0] ^= 1  # one value of one frame
    with pytest.raises(CacheMismatch, match="other frames"):
        load(tmp_path / "c", cache_key(other.encoder, changed))
    save(tmp_path / "d", cache_key(other.encoder, episodes), rebuilt[:2])  # a cache missing an episode
    with pytest.raises(CacheMismatch, match="every frame"):
        load(tmp_path / "d", cache_key(other.encoder, episodes))


def test_training_from_the_cache_learns_what_training_from_frames_learns(debug_store, tmp_path):
    cfg = override(
        preset("debug"),
        [
            "model.freeze_encoder=true",
            "train.steps=12",
            "train.precision=fp32",
            "train.threads=2",
            "train.checkpoint_every=6",
        ],
    )
    episodes = debug_store.load_all()
    runs = {}
    for mode in ("off", "on"):
        trainer = Trainer(override(cfg, [f"train.cache_latents={mode}"]), episodes, tmp_path / mode, progress=False)
        trainer.run()
        runs[mode] = trainer
    assert runs["on"].sampler.features and not runs["off"].sampler.features
    assert (tmp_path / "on" / "feature_cache" / "key.json").is_file()
    a, b = runs["off"].model.state_dict(), runs["on"].model.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    resumed = Trainer(
        override(cfg, ["train.cache_latents=on", "train.steps=18"]), episodes, tmp_path / "on", progress=False
    )
    assert resumed.resume()
    resumed.run()  # the saved cache is loaded again: the frozen front and the frames are the same
    with pytest.raises(ValueError, match="learns end to end"):
        Trainer(override(preset("debug"), ["train.cache_latents=on"]), episodes, tmp_path / "x", progress=False)
