"""Several senses in one latent: frames + proprio + audio (model.senses), and bounce's impact sounds."""

import numpy as np
import pytest
import torch

from jepalab.config import ModelConfig, override, preset
from jepalab.models import build
from jepalab.worlds.bounce_sound import frame_features, impact_sound


def test_fusion_shapes_and_missing_senses():
    torch.manual_seed(0)
    model = build(
        ModelConfig(
            width=8,
            latent_dim=32,
            pred_dim=32,
            pred_depth=1,
            pred_heads=2,
            history=2,
            variant="senses",
            senses="proprio,audio",
            proprio_dim=3,
        )
    ).eval()
    obs = {
        "pixels": torch.randint(0, 255, (2, 5, 64, 64, 3), dtype=torch.uint8),
        "proprio": torch.randn(2, 5, 3),
        "audio": torch.rand(2, 5, 16, 8),
    }
    z = model.encode(obs)
    assert z.shape == (2, 5, 32)
    louder = model.encode({**obs, "audio": obs["audio"] + 3})
    assert (louder - z).abs().max() > 1e-3  # what is heard reaches the latent
    with pytest.raises(ValueError, match="this model fuses audio"):
        model.encode({k: v for k, v in obs.items() if k != "audio"})
    with pytest.raises(ValueError, match=r"proprio: expected shape \(\.\.\., 3\)"):
        model.encode({**obs, "proprio": torch.randn(2, 5, 4)})
    batch = model.encode_observations(
        [{"pixels": np.zeros((64, 64, 3), np.uint8), "proprio": np.ones(3), "audio": np.zeros((16, 8))}] * 3
    )
    assert batch.shape == (3, 32)
    with pytest.raises(ValueError, match="the world's goal has no 'goal_proprio'"):
        model.encode_observations([{"goal": np.zeros((64, 64, 3), np.uint8)}], goal=True)


def test_bounce_sounds_follow_its_collisions():
    from jepalab.data.collect import BARRIER_PROB, FAMILY_PROB, passive_episode
    from jepalab.worlds.bounce import sample_mixed_scene, simulate

    for seed in range(6):
        audio = passive_episode(20, seed).audio
        hit = simulate(sample_mixed_scene(np.random.default_rng(seed), 21, FAMILY_PROB, BARRIER_PROB)).collisions > 0
        heard = audio.max((1, 2)) > 1.0
        assert audio.shape == (21, 16, 8) and audio[0].max() == 0 and hit.any()
        assert heard[hit].all()  # every collision is heard in its frame ...
        assert not heard[~(hit | np.roll(hit, 1))].any()  # ... and nothing else (a ring may last into the next)


@pytest.fixture(scope="module")
def hearing_model(tmp_path_factory):
    """A small bounce world model that hears (about two minutes on 2 cores)."""
    from jepalab.data.collect import collect
    from jepalab.training.train import Trainer

    store = collect("bounce", 160, 16, tmp_path_factory.mktemp("d") / "bounce", progress=False)
    cfg = override(
        preset("bounce"),
        [
            "model.senses=audio",
            "model.variant=senses",
            "model.width=16",
            "model.latent_dim=64",
            "model.pred_dim=64",
            "model.pred_depth=2",
            "model.history=3",
            "train.steps=400",
            "train.batch_size=32",
            "train.log_every=100",
            "train.checkpoint_every=400",
            "data.steps_per_episode=16",
        ],
    )
    torch.manual_seed(0)
    trainer = Trainer(cfg, store.load_all(), tmp_path_factory.mktemp("run"), progress=False)
    trainer.run()
    return trainer.model.eval()


@pytest.mark.slow
def test_surprise_answers_a_sound_with_no_visible_collision(hearing_model):
    from jepalab.evals.surprise import world_model_curve
    from jepalab.worlds.bounce import FPS, free_flight_scene, simulate

    rng = np.random.default_rng(7)
    gaps = []
    for _ in range(300):
        clip = simulate(free_flight_scene(rng, 16, gravity=0.0))
        if clip.collisions.any():
            continue  # only clips where nothing visible makes a sound
        if len(gaps) == 8:
            break
        quiet = frame_features(impact_sound(clip.collisions, FPS), FPS)
        knock = np.zeros(16, int)
        knock[9] = 1  # a knock at frame 9 with nothing visible happening
        heard = frame_features(impact_sound(knock, FPS), FPS)
        s_quiet = world_model_curve(hearing_model, clip.frames, senses={"audio": quiet})
        s_heard = world_model_curve(hearing_model, clip.frames, senses={"audio": heard})
        assert np.allclose(s_quiet[:9], s_heard[:9], equal_nan=True)  # the same clip until the sound
        gaps.append(s_heard[9] / s_quiet[9])  # the knock begins between frames 8 and 9
    # measured on one training run: 1.4x to 3.2x (median ~2); a summed-in sense gave 1.01-1.1x
    assert len(gaps) == 8 and min(gaps) > 1.05 and np.median(gaps) > 1.5, gaps
