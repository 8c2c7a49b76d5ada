import json
import math

import numpy as np
import pytest
import torch

from jepalab.cli.main import main
from jepalab.config import VideoConfig, override, preset
from jepalab.data.video import write_video
from jepalab.evals.intuitive_physics import auroc, score_pairs
from jepalab.evals.physics_suite import Pair
from jepalab.evals.surprise import (
    PixelPredictor,
    SurpriseError,
    calibrate_surprise,
    summarize,
    surprise_curve,
    top_tokens,
    world_model_part_errors,
)
from jepalab.models.video import VideoJEPA
from jepalab.training.pretrain import pretrain


def small_video_model(**kw) -> VideoJEPA:
    torch.manual_seed(0)
    return VideoJEPA(VideoConfig(frames=8, size=32, dim=32, depth=1, heads=2, pred_dim=32, pred_depth=1, **kw)).eval()


def test_video_surprise_is_nan_before_the_context_and_flat_on_a_constant_video():
    model = small_video_model()
    still = np.broadcast_to(np.random.default_rng(0).integers(0, 255, (1, 32, 32, 3), dtype=np.uint8), (20, 32, 32, 3))
    curve = surprise_curve(model, still)
    assert curve.shape == (20,)
    # context: 2 tubelets of 2 frames; the last tubelet is beyond every 8-frame window's predicted step
    assert np.isnan(curve[:4]).all() and np.isfinite(curve[4:18]).all() and np.isnan(curve[18:]).all()
    assert np.nanstd(curve) < 1e-5 * np.nanmean(curve)
    moving = np.random.default_rng(1).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
    assert np.nanstd(surprise_curve(model, moving)) > 1e-3 * np.nanmean(curve)


def test_horizon_and_context_are_checked_and_short_videos_refused():
    model = small_video_model()
    video = np.zeros((12, 32, 32, 3), np.uint8)
    assert np.isnan(surprise_curve(model, video, context=1)[:2]).all()
    # 6 steps, windows of 4: only step 3 is predicted 1, 2 and 3 steps ahead, by the three windows
    far = surprise_curve(model, video, context=1, horizon=3)
    assert np.isfinite(far[6:8]).all() and np.isnan(np.delete(far, [6, 7])).all()
    with pytest.raises(SurpriseError, match="horizon"):
        surprise_curve(model, video, context=2, horizon=3)
    with pytest.raises(SurpriseError, match="at least 8"):
        surprise_curve(model, video[:5])
    with pytest.raises(SurpriseError, match="uint8"):
        surprise_curve(model, video.astype(np.float32))


def test_top_tokens_keeps_one_object_visible_over_the_background():
    errors = torch.full((1, 64), 0.1)
    errors[0, 5] = 2.0
    assert top_tokens(errors).item() == pytest.approx((2.0 + 7 * 0.1) / 8)


def test_world_model_surprise_uses_zero_actions_and_its_history(learned):
    model = learned["model"]
    frames = learned["episodes"][0].pixels[:12]
    curve = surprise_curve(model, frames)
    H = model.cfg.history
    assert np.isnan(curve[:H]).all() and np.isfinite(curve[H:]).all() and (curve[H:] >= 0).all()
    still = np.repeat(frames[:1], 10, axis=0)
    flat = surprise_curve(model, still, horizon=3)
    assert np.isnan(flat[:H]).all() and np.nanstd(flat) <= 1e-5 * max(np.nanmean(flat), 1e-12)
    # a shorter context: the first prediction comes after that many frames, from fewer frames
    short = surprise_curve(model, frames, context=1)
    assert np.isnan(short[:1]).all() and np.isfinite(short[1:]).all() and not np.allclose(short[H:], curve[H:])
    with pytest.raises(SurpriseError, match=f"context must be 1..{H}"):
        surprise_curve(model, frames, context=H + 1)


def test_calibrated_surprise_counts_each_part_in_its_own_units():
    """A model with an appearance part scores plain mean squared error until calibrated; then each
    part's error in units of its median on the calibration clips, summed over the parts."""
    from jepalab.models import build
    from jepalab.worlds.bounce import sample_scene, simulate

    torch.manual_seed(0)
    model = build(override(preset("debug"), ["model.variant=appearance"]).validate().model).eval()
    rng = np.random.default_rng(0)
    clips = [simulate(sample_scene(rng, frames=12)).frames for _ in range(4)]
    parts = model.surprise_parts()
    assert list(parts) == ["motion", "appearance"] and sum(parts.values()) == model.cfg.latent_dim
    ends, errors = world_model_part_errors(model, clips[0])
    H = model.cfg.history
    assert ends == list(range(H, 12)) and errors.shape == (12 - H, 1, 2) and (errors > 0).all()
    dims = np.array(list(parts.values()))
    assert torch.isnan(model.surprise_scale).all()
    assert np.allclose(surprise_curve(model, clips[0])[H:], errors[:, 0] @ dims / dims.sum())
    scale = calibrate_surprise(model, iter(clips), frames=20)
    rows = np.concatenate([world_model_part_errors(model, c)[1][:, 0] for c in clips])[:20]
    assert np.allclose(scale.numpy(), np.median(rows, 0), rtol=1e-5)
    assert np.allclose(surprise_curve(model, clips[0])[H:], (errors[:, 0] / scale.numpy()).sum(-1), rtol=1e-5)
    with pytest.raises(SurpriseError, match="frames a calibration needs"):
        calibrate_surprise(model, [clips[0][:H]])


def test_pixel_predictor_errors_are_per_frame():
    cfg = VideoConfig(frames=6, size=32, future_context=2)
    pixel = PixelPredictor(cfg)
    curve = pixel.curve(np.zeros((10, 32, 32, 3), np.uint8))
    assert np.isnan(curve[:4]).all() and np.allclose(curve[4:], curve[4])


def test_scores_count_wins_ties_and_localisation():
    assert auroc([2, 3], [1, 1]) == 1.0 and auroc([1], [1]) == 0.5 and auroc([0], [1, 2]) == 0.0
    flat = np.full(20, 1.0)

    def spike(at):
        c = flat.copy()
        c[at] = 5.0
        return c

    pairs = [Pair("continuity", "teleport", i, None, None, 6, 6) for i in range(3)] + [
        Pair("gravity", "freeze", 3, None, None, 6, 6)
    ]
    # a spike at the event: a win, localised; 7 frames after it: a win, not localised; a spike of the
    # possible twin long after the pair diverged (its own later bounce) does not count against it
    out = score_pairs([(flat, spike(6)), (flat, spike(13)), (spike(19), spike(7)), (flat, flat)], pairs)
    cont, grav = out["categories"]["continuity"], out["categories"]["gravity"]
    assert cont["pairwise_accuracy"] == 1.0 and cont["localised"] == pytest.approx(2 / 3)
    assert cont["auroc"] == pytest.approx(3 * (2 + 0.5) / 9)  # unpaired peaks over whole clips: 5 vs 1, 1, 5
    assert grav["pairwise_accuracy"] == 0.5  # a tie counts half
    assert out["overall"]["pairwise_accuracy"] == 0.75 and out["overall"]["pairs"] == 4


def test_summary_and_errors():
    row = summarize(np.array([np.nan, 1.0, 3.0, 2.0]))
    assert row["peak_frame"] == 2 and row["peak"] == 3.0 and math.isnan(row["surprise"][0])
    with pytest.raises(SurpriseError):
        summarize(np.full(3, np.nan))


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("surprise") / "run"
    pretrain(override(preset("video-debug"), ["train.steps=4", "video.future_prob=0.5"]), run, progress=False)
    return run


def test_surprise_command_writes_json_and_plots_and_refuses_non_videos(video_run, tmp_path, capsys):
    rng = np.random.default_rng(0)
    clip = write_video(tmp_path / "a.mp4", rng.integers(0, 255, (12, 48, 64, 3), dtype=np.uint8))
    out = tmp_path / "s.json"
    assert (
        main(
            [
                "surprise",
                "--checkpoint",
                str(video_run),
                str(clip),
                "--json",
                str(out),
                "--plots",
                str(tmp_path / "plots"),
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in strict JSON"))
    (row,) = doc["videos"]
    assert set(row) == {"path", "frames", "surprise", "peak_frame", "peak"}
    assert row["frames"] == 12 == len(row["surprise"]) and row["surprise"][0] is None  # no prediction: null
    assert row["peak"] == max(x for x in row["surprise"] if x is not None)
    assert (tmp_path / "plots" / "a.surprise.png").stat().st_size > 1000
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    assert main(["surprise", "--checkpoint", str(video_run), str(text)]) == 2
    assert "notes.txt" in capsys.readouterr().err


def test_physics_command_scores_every_category_beside_its_baselines(video_run, tmp_path, capsys):
    out = tmp_path / "phys"
    assert (
        main(
            [
                "physics",
                "--checkpoint",
                str(video_run),
                "--pairs",
                "2",
                "--pixel-steps",
                "5",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    report = json.loads((out / "physics.json").read_text())
    assert set(report["results"]) == {"trained", "untrained", "pixels"}
    for res in report["results"].values():
        assert set(res["categories"]) == {"permanence", "continuity", "solidity", "gravity", "constancy"}
        assert 0 <= res["overall"]["pairwise_accuracy"] <= 1 and res["overall"]["pairs"] == 10
    assert (out / "examples.png").exists() and "overall" in capsys.readouterr().out
    suite = tmp_path / "suite"
    assert main(["physics", "--make-suite", str(suite), "--pairs", "1", "--quiet"]) == 0
    assert (
        main(
            [
                "physics",
                "--checkpoint",
                str(video_run),
                "--suite",
                str(suite),
                "--pixel-steps",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads((out / "physics.json").read_text())["results"]["trained"]["overall"]["pairs"] == 5


@pytest.mark.slow
def test_physics_command_scores_an_action_conditioned_model_with_zero_actions(learned, tmp_path):
    out = tmp_path / "phys"
    assert (
        main(
            [
                "physics",
                "--checkpoint",
                str(learned["run"]),
                "--pairs",
                "1",
                "--pixel-steps",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    report = json.loads((out / "physics.json").read_text())
    assert report["kind"] == "world" and report["results"]["trained"]["overall"]["pairs"] == 5
    assert report["context"] is None and report["horizon"] == 1  # the model's history, one frame ahead
    # a shorter context and a longer horizon count the world model's frames; the baseline keeps its window
    assert (
        main(
            [
                "physics",
                "--checkpoint",
                str(learned["run"]),
                "--pairs",
                "1",
                "--pixel-steps",
                "2",
                "--context",
                "1",
                "--horizon",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    report = json.loads((out / "physics.json").read_text())
    assert (report["context"], report["horizon"]) == (1, 2) and report["results"]["pixels"]["overall"]["pairs"] == 5
