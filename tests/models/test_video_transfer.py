"""A video-pretrained encoder, frozen, as the frame encoder of an action-conditioned world model."""

import shutil

import pytest
import torch

from jepalab.config import override, preset
from jepalab.training.checkpoint import CheckpointError, load_model, load_video_model
from jepalab.training.pretrain import pretrain
from jepalab.training.train import train


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("video") / "run"
    pretrain(override(preset("video-debug"), ["train.steps=10"]), run, progress=False)
    return run


def test_world_model_trains_on_a_frozen_video_encoder_and_loads_without_it(video_run, debug_store, tmp_path):
    pretrained, _, _ = load_video_model(video_run)
    cfg = override(preset("debug"), [f"model.video_encoder={video_run}", "train.steps=10"])
    model, result = train(cfg, debug_store.load_all(), tmp_path / "wm", progress=False)
    frozen = model.encoder.backbone.video.state_dict()
    for name, tensor in pretrained.feature_encoder.state_dict().items():
        assert torch.equal(frozen[name], tensor), f"{name} moved: the video encoder must stay frozen"
    assert result["step"] == 10 and torch.isfinite(torch.tensor(result["loss"]))
    # the checkpoint carries the encoder: it loads after the video run is gone, and encodes identically
    shutil.rmtree(video_run.parent / "moved", ignore_errors=True)
    video_run.rename(video_run.parent / "moved")
    try:
        loaded, _, _ = load_model(tmp_path / "wm")
    finally:
        (video_run.parent / "moved").rename(video_run)
    frames = debug_store.load_all()[0].pixels[:4]
    with torch.no_grad():
        assert torch.allclose(loaded.encode(torch.from_numpy(frames)), model.eval().encode(torch.from_numpy(frames)))


def test_each_loader_refuses_the_other_kind(video_run, learned):
    with pytest.raises(CheckpointError, match="video checkpoint, not an action-conditioned"):
        load_model(video_run)
    with pytest.raises(CheckpointError, match="not a video-pretrained checkpoint"):
        load_video_model(learned["run"])
