import os
import tempfile

import numpy as np
import pytest
import torch

# train.precision=auto caches what it measured per machine (training/precision.py): the suite, and the
# commands it spawns, measure into a cache of their own instead of the user's
os.environ.setdefault("JEPALAB_CACHE", tempfile.mkdtemp(prefix="jepalab-test-cache-"))

from jepalab.config import override, preset
from jepalab.data.collect import collect


@pytest.fixture(autouse=True)
def _fixed_threads():
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def debug_store(tmp_path_factory):
    """A small two-room episode store shared by the tests that only read it."""
    cfg = preset("debug")
    return collect(
        "two-room", 24, cfg.data.steps_per_episode, tmp_path_factory.mktemp("data") / "two-room", seed=0, progress=False
    )


@pytest.fixture(scope="session")
def learned(tmp_path_factory):
    """A small model trained for a few hundred steps on two-room (about half a minute on 2 cores).

    Shared by the tests that check that training learned something and that planning with
    what it learned beats random actions.
    """
    from jepalab.training.train import train

    cfg = override(
        preset("debug"),
        [
            "data.episodes=120",
            "data.steps_per_episode=48",
            "train.steps=400",
            "train.batch_size=32",
            "train.checkpoint_every=400",
            "train.log_every=20",
            "model.width=16",
            "model.latent_dim=64",
            "model.pred_dim=64",
            "model.frameskip=4",
            "model.history=2",
        ],
    )
    root = tmp_path_factory.mktemp("learned")
    store = collect("two-room", cfg.data.episodes, cfg.data.steps_per_episode, root / "data", seed=0, progress=False)
    episodes = store.load_all()
    model, result = train(cfg, episodes, root / "run", progress=False)
    return {"model": model, "cfg": cfg, "episodes": episodes, "run": root / "run", "result": result}


@pytest.fixture(scope="session")
def vjepa2_folder(tmp_path_factory):
    """A tiny randomly initialised transformers V-JEPA 2 (encoder and predictor) saved to a folder: a
    stand-in for a downloaded checkpoint, offline."""
    transformers = pytest.importorskip("transformers")
    config = transformers.VJEPA2Config(
        crop_size=32,
        frames_per_clip=16,
        tubelet_size=2,
        patch_size=16,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        mlp_ratio=2,
        pred_hidden_size=16,
        pred_num_hidden_layers=1,
        pred_num_attention_heads=2,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("vjepa2") / "tiny-vjepa2"
    transformers.VJEPA2Model(config).save_pretrained(folder)
    return folder


def finite(x) -> bool:
    return bool(np.all(np.isfinite(np.asarray(x))))
