"""A transformers V-JEPA 2 encoder as the frozen frame encoder, offline: a tiny randomly initialised
VJEPA2Config saved to a folder stands in for a downloaded model."""

import shutil

import pytest
import torch

from jepalab.cli.main import main
from jepalab.training.checkpoint import load_model


def test_a_transformers_vjepa2_encoder_trains_frozen_and_travels_with_the_checkpoint(
    vjepa2_folder, debug_store, tmp_path
):
    import transformers

    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(debug_store.root),
                "--preset",
                "debug",
                "--out",
                str(run),
                "--quiet",
                "--set",
                f"model.video_encoder=hf:{vjepa2_folder}",
                "--set",
                "train.steps=6",
                "--set",
                "train.checkpoint_every=6",
            ]
        )
        == 0
    )
    original = transformers.VJEPA2Model.from_pretrained(vjepa2_folder).encoder.state_dict()
    moved = tmp_path / "elsewhere"
    shutil.move(str(vjepa2_folder), moved)  # the checkpoint must not need the folder any more
    model, cfg, meta = load_model(run)
    assert meta["video_encoder"]["kind"] == "hf-vjepa2"
    frozen = model.encoder.backbone.video.state_dict()
    assert all(torch.equal(frozen[k], original[k]) for k in original)  # untouched by training
    frames = torch.randint(0, 256, (2, 64, 64, 3), dtype=torch.uint8)
    with torch.no_grad():
        z = model.encode(frames)
    assert z.shape == (2, cfg.model.latent_dim) and torch.isfinite(z).all()
    shutil.move(str(moved), vjepa2_folder)


def test_a_missing_hf_encoder_is_a_clear_error(debug_store, tmp_path, capsys):
    pytest.importorskip("transformers")
    rc = main(
        [
            "train",
            "--data",
            str(debug_store.root),
            "--preset",
            "debug",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--set",
            f"model.video_encoder=hf:{tmp_path / 'nope'}",
        ]
    )
    assert rc == 2 and "cannot load a V-JEPA 2 model from it" in capsys.readouterr().err
