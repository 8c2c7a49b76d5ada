"""The passive path: bounce clips as episodes with zero actions -> an action-free world model ->
surprise on a video file."""

import json

import numpy as np
import torch

from jepalab.cli.main import main
from jepalab.data.video import write_video
from jepalab.evals.physics_suite import make_pair

TINY = [
    "data.episodes=8",
    "data.steps_per_episode=12",
    "train.steps=12",
    "train.batch_size=8",
    "train.warmup_steps=2",
    "train.log_every=4",
    "train.checkpoint_every=12",
    "model.width=8",
    "model.latent_dim=32",
    "model.pred_dim=32",
    "model.pred_depth=1",
    "model.pred_heads=2",
]


def test_train_on_bounce_then_score_a_teleport(tmp_path, capsys):
    run = tmp_path / "run"
    sets = [x for s in TINY + ["objective.reg_over=changes"] for x in ("--set", s)]
    assert main(["train", "--world", "bounce", "--preset", "bounce", "--out", str(run), "--quiet", *sets]) == 0
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(m["loss"]) for m in metrics) and metrics[-1]["latent_std"] > 0.01
    # the preset's appearance part: every save calibrates each part's surprise scale on training clips
    from jepalab.training.checkpoint import load_any

    model = load_any(run)[0]
    assert (
        model.cfg.variant == "appearance"
        and torch.isfinite(model.surprise_scale).all()
        and (model.surprise_scale > 0).all()
    )
    pair = make_pair("continuity", "teleport", seed=1)
    video = write_video(tmp_path / "teleport.mkv", pair.impossible)
    out = tmp_path / "s.json"
    assert (
        main(
            [
                "surprise",
                "--checkpoint",
                str(run),
                str(video),
                "--horizon",
                "2",
                "--json",
                str(out),
                "--plots",
                str(tmp_path / "plots"),
            ]
        )
        == 0
    )
    (row,) = json.loads(out.read_text())["videos"]
    history = 4  # the bounce preset's
    # horizon 2: the first frame after the history and the last one are not predicted from both leads
    # (not predicted: null in the strict JSON)
    assert row["frames"] == 24 and row["surprise"][: history + 1] == [None] * (history + 1)
    assert row["surprise"][-1] is None
    assert np.isfinite(row["surprise"][history + 1 : -1]).all()
