"""Surprise as the V-JEPA intuitive-physics paper scores it (evals/window_surprise.py), on jepalab's
models and on a transformers V-JEPA 2, offline: a tiny randomly initialised VJEPA2Config saved to a
folder stands in for a downloaded checkpoint."""

import json

import numpy as np
import pytest
import torch

from jepalab.cli.main import main
from jepalab.config import override, preset
from jepalab.data.video import write_video
from jepalab.evals.intuitive_physics import score_pairs
from jepalab.evals.physics_suite import Pair
from jepalab.evals.surprise import SurpriseError, surprise_curve
from jepalab.evals.window_surprise import Windows, video_score, window_losses, windows_curve
from jepalab.models.build import build


def _cut_video(frames: int, cut: int, size: int, seed: int = 0) -> np.ndarray:
    """A still picture that becomes another at frame `cut`."""
    rng = np.random.default_rng(seed)
    a, b = (rng.integers(0, 255, (1, size, size, 3), dtype=np.uint8) for _ in range(2))
    return np.concatenate([np.repeat(a, cut, 0), np.repeat(b, frames - cut, 0)])


@pytest.fixture(scope="module")
def vjepa2(vjepa2_folder, tmp_path_factory):
    """The tiny V-JEPA 2, and a copy of it without the predictor's weights (as an encoder-only export)."""
    import transformers
    from safetensors.torch import save_file

    model = transformers.VJEPA2Model.from_pretrained(vjepa2_folder)
    encoder_only = tmp_path_factory.mktemp("vjepa2") / "encoder-only"
    model.config.save_pretrained(encoder_only)
    weights = {k: v.contiguous() for k, v in model.state_dict().items() if k.startswith("encoder.")}
    save_file(weights, encoder_only / "model.safetensors", metadata={"format": "pt"})
    return vjepa2_folder, encoder_only


def test_the_paper_windows_cover_the_frames_after_their_context(vjepa2):
    from jepalab.models.hf_video import load_vjepa2_predictor

    model = load_vjepa2_predictor(str(vjepa2[0]))
    video = _cut_video(28, cut=20, size=32)
    starts, losses, context = window_losses(model, video, Windows(context=4, window=16, stride=2))
    assert starts == [0, 2, 4, 6, 8, 10, 12] and context == 4 and losses.shape == (7,)
    # windows 0, 2 and 4 end before the cut: the same clip, the same loss; every later one predicts it
    assert losses[0] == losses[1] == losses[2]
    assert all(abs(x - losses[0]) > 1e-6 for x in losses[3:])
    curve = windows_curve(model, video, Windows(context=4, window=16, stride=2))
    assert np.isfinite(curve[[4, 6, 8, 10, 12, 14, 16]]).all() and np.isnan(curve).sum() == 28 - 7
    again = windows_curve(load_vjepa2_predictor(str(vjepa2[0])), video, Windows(context=4, window=16, stride=2))
    assert np.array_equal(curve, again, equal_nan=True)  # a deterministic score
    assert video_score(curve, "max") == losses.max() and video_score(curve, "mean") == pytest.approx(losses.mean())
    with pytest.raises(ValueError, match="multiples of the model's tubelet"):
        window_losses(model, video, Windows(context=3, window=16))


def test_a_vjepa2_checkpoint_without_its_predictor_is_refused(vjepa2):
    from jepalab.models.hf_video import load_vjepa2_predictor

    with pytest.raises(ValueError, match="no predictor weights"):
        load_vjepa2_predictor(str(vjepa2[1]))
    with pytest.raises(FileNotFoundError, match="cannot load a V-JEPA 2 model"):
        load_vjepa2_predictor(str(vjepa2[1].parent / "nothing-here"))


def test_surprise_command_scores_videos_with_a_transformers_vjepa2(vjepa2, tmp_path, capsys):
    video = write_video(tmp_path / "cut.mkv", _cut_video(24, cut=16, size=48))
    out = tmp_path / "s.json"
    args = ["surprise", "--model", f"hf:{vjepa2[0]}", str(video), "--json", str(out), "--plots", str(tmp_path)]
    assert main([*args, "--context", "6", "--reduce", "mean"]) == 0
    row = json.loads(out.read_text())["videos"][0]
    report = json.loads(out.read_text())
    assert report["model"] == f"hf:{vjepa2[0]}" and report["scoring"]["windows"]["reduce"] == "mean"
    assert row["frames"] == 24 and np.isfinite(row["score"]) and "score (mean over windows)" in capsys.readouterr().out
    assert (tmp_path / "cut.surprise.png").exists()
    with pytest.raises(SystemExit):  # --checkpoint and --model exclude each other
        main(["surprise", "--model", f"hf:{vjepa2[0]}", "--checkpoint", str(tmp_path), str(video)])


def test_a_world_model_scores_windows_of_imagined_frames():
    torch.manual_seed(0)
    model = build(override(preset("debug"), ["model.history=2"]).validate().model).eval()
    size = model.cfg.image_size
    video = _cut_video(24, cut=18, size=size)
    w = Windows(context=2, window=8, stride=2)
    starts, losses, context = window_losses(model, video, w)
    assert starts == list(range(0, 17, 2)) and context == 2
    # windows that end before the cut see one picture throughout: one loss; those predicting the cut differ
    before = [i for i, s in enumerate(starts) if s + 8 <= 18]
    after = [i for i, s in enumerate(starts) if s + 2 < 18 < s + 8]
    scale = losses[before].mean()
    assert np.ptp(losses[before]) < 1e-5 * scale and (abs(losses[after] - scale) > 1e-3 * scale).all()
    with pytest.raises(SurpriseError, match="this model's history"):
        window_losses(model, video, Windows(context=3, window=8))
    with pytest.raises(SurpriseError, match="reduce must be"):
        Windows(reduce="median")
    assert np.isfinite(surprise_curve(model, video, windows=w)).sum() == len(starts)


def test_pairs_judged_on_whole_clips_use_the_reduction():
    still = np.zeros((10, 8, 8, 3), np.uint8)
    pair = Pair("continuity", "teleport", 0, still, still, event_frame=5, diverge_frame=5)
    nan = np.nan
    possible = np.array([nan, 1.0, nan, 1.0, nan, 1.0, nan, 9.0, nan, nan])  # max 9, mean 3
    impossible = np.array([nan, 1.0, nan, 2.0, nan, 5.0, nan, 5.0, nan, nan])  # max 5, mean 3.25
    by_max = score_pairs([(possible, impossible)], [pair], reduce="max")
    by_mean = score_pairs([(possible, impossible)], [pair], reduce="mean")
    assert by_max["overall"]["pairwise_accuracy"] == 0.0 and by_mean["overall"]["pairwise_accuracy"] == 1.0
    assert by_mean["categories"]["continuity"]["auroc"] == 1.0  # the clip-level figure is the same mean
