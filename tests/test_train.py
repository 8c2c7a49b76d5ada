import json
import os

import numpy as np
import pytest
import torch

from jepalab.config import override, preset
from jepalab.evals.probe import position_probe
from jepalab.models import WorldModel
from jepalab.training.train import split_episodes


def test_training_lowers_prediction_loss_and_does_not_collapse(learned):
    lines = [json.loads(line) for line in (learned["run"] / "metrics.jsonl").read_text().splitlines()]
    first, last = lines[0], lines[-1]
    assert last["step"] == learned["cfg"].train.steps
    assert last["val_pred_loss"] < first["val_pred_loss"]
    assert last["latent_std"] > 0.1 and last["effective_rank"] > 2.0  # spread, not a point or a line
    for line in lines:
        assert all(np.isfinite(v) for v in line.values())


def test_trained_latent_encodes_position_better_than_untrained(learned):
    train_eps, test_eps = split_episodes(learned["episodes"], 0.2)
    _, r2_trained = position_probe(learned["model"], train_eps, test_eps, max_frames=1500)
    torch.manual_seed(0)
    _, r2_untrained = position_probe(WorldModel(learned["cfg"].model), train_eps, test_eps, max_frames=1500)
    assert r2_trained > 0.8 and r2_trained > r2_untrained + 0.1, (r2_trained, r2_untrained)


def test_vicreg_objective_trains_too(debug_store, tmp_path):
    from jepalab.training.train import train

    cfg = override(preset("debug"), ["objective.regularizer=vicreg", "objective.weight=1.0", "train.steps=40"])
    _, result = train(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    assert np.isfinite(result["loss"]) and result["effective_rank"] > 1.5


def test_bf16_autocast_training_runs_and_keeps_fp32_weights(debug_store, tmp_path):
    from jepalab.training.train import train

    cfg = override(preset("debug"), ["train.precision=bf16", "train.steps=10"])
    model, result = train(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    assert np.isfinite(result["loss"]) and all(p.dtype == torch.float32 for p in model.parameters())


def test_a_frozen_encoder_stays_as_initialised_while_the_predictor_trains(debug_store, tmp_path):
    from jepalab.training.train import Trainer, train

    cfg = override(preset("debug"), ["train.steps=3", "model.freeze_encoder=true"]).validate()
    start = Trainer(cfg, debug_store.load_all(), tmp_path / "start", progress=False)
    initial = {k: v.clone() for k, v in start.model.state_dict().items()}
    start.recalibrate_batchnorm(frozen=True)  # what training does before its first step
    before = start.model.state_dict()
    stats = [k for k in before if "running_" in k]
    assert stats and any(not torch.equal(initial[k], before[k]) for k in stats)  # measured on the data
    model, result = train(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    after = model.state_dict()
    enc = [k for k in before if k.startswith("encoder.")]
    assert enc and all(torch.equal(before[k], after[k]) for k in enc)  # weights and BatchNorm statistics
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("predictor."))
    assert result["latent_std"] > 0.3  # unit-scale batch statistics, not the untouched (0, 1) defaults


def test_the_rollout_loss_imagines_from_rollout_context_observed_frames(debug_store, tmp_path):
    from jepalab.training.objectives import prediction_loss
    from jepalab.training.train import Trainer

    cfg = override(preset("debug"), ["objective.rollout_context=2", "objective.rollout_steps=3"])
    trainer = Trainer(cfg.validate(), debug_store.load_all(), tmp_path / "run", progress=False)
    frames, actions = trainer.sampler.sample(4)
    assert frames.shape[1] == 2 - 1 + 3 + 1  # longer than history + 1: the window fits the rollout
    trainer.model.eval()  # BatchNorm on running statistics: the same latents in both computations
    torch.manual_seed(0)
    _, info = trainer.losses(frames, actions)
    with torch.no_grad():
        z = trainer.model.encode(frames)
        want = prediction_loss(trainer.model.rollout(z[:, :2], actions[:, :1], actions[:, 1:4]), z[:, 2:5])
    assert abs(info["rollout_loss"] - want.item()) < 1e-5
    for bad in ("objective.rollout_context=0", "objective.rollout_context=3"):  # history is 2
        with pytest.raises(ValueError, match="rollout_context"):
            override(preset("debug"), [bad]).validate()


def test_recalibrating_batchnorm_leaves_a_frozen_encoders_statistics_alone(debug_store, tmp_path):
    from jepalab.training.train import Trainer

    cfg = override(preset("debug"), ["model.freeze_encoder=true"]).validate()
    trainer = Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    norms = [m for m in trainer.model.encoder.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    for m in norms:
        m.running_mean.fill_(0.3)  # as a frozen encoder that came with statistics of its own
    trainer.recalibrate_batchnorm(batches=2)
    assert norms and all(torch.all(m.running_mean == 0.3) for m in norms)


@pytest.mark.slow
def test_a_spatial_model_trains_and_its_checkpoint_reloads(debug_store, tmp_path):
    from jepalab.training.checkpoint import load_model
    from jepalab.training.train import train

    cfg = override(preset("debug"), ["model.variant=spatial", "train.steps=60", "train.checkpoint_every=60"])
    model, result = train(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["val_pred_loss"] < lines[0]["val_pred_loss"] and result["effective_rank"] > 2.0
    loaded, loaded_cfg, _ = load_model(tmp_path / "run")
    assert loaded_cfg.model.variant == "spatial" and loaded.cfg.cells == 16
    frames = torch.from_numpy(debug_store.load_all()[0].pixels[:2])
    with torch.no_grad():
        model.eval()
        z = model.encode(frames)[None]
        assert torch.allclose(
            loaded.predict(loaded.encode(frames)[None], torch.zeros(1, 2, loaded.model_action_dim)),
            model.predict(z, torch.zeros(1, 2, model.model_action_dim)),
            atol=1e-5,
        )


def test_the_thread_pool_leaves_a_core_to_a_busy_neighbour_and_takes_it_back(monkeypatch):
    """runtime.ThreadGovernor (train.threads_follow_load): one thread per core other processes leave free,
    re-checked each call."""
    from jepalab.runtime import ThreadGovernor

    gov = ThreadGovernor(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    if gov._last is None or len(gov.cores) < 2:
        pytest.skip("needs /proc/stat and at least two cores")
    n = len(gov.cores)
    readings = iter(
        [
            (0, 0, 0, 100),  # (busy ticks over our cores, total ticks, our own ticks, Hz)
            (100 * n, 100 * n, 100 * (n - 1), 100),  # others kept one core busy
            (200 * n, 200 * n, 100 * (n - 1) + 100 * n, 100),
        ]
    )  # only we were busy
    monkeypatch.setattr(gov, "_sample", lambda: next(readings))
    gov._last = gov._sample()
    try:
        assert gov.check() == n - 1 and torch.get_num_threads() == n - 1 and gov.others == pytest.approx(1.0)
        assert gov.check() == n and torch.get_num_threads() == n
    finally:
        torch.set_num_threads(2)


def test_what_the_latent_holds_is_probed_during_training_without_changing_the_weights(debug_store, tmp_path):
    """train.probe_minutes: probe/<variable> lines in metrics.jsonl and a panel of training.png, and a
    probed run ends on the weights of one that is not (the probe draws on no shared random stream)."""
    from jepalab.evals.variables import LatentWatch
    from jepalab.plots import plot_training
    from jepalab.training.loop import latest_metrics
    from jepalab.training.train import train

    episodes = debug_store.load_all()
    weights = {}
    for name, minutes in (("probed", 1e-9), ("plain", 0)):
        cfg = override(preset("debug"), ["train.steps=20", "train.log_every=10", f"train.probe_minutes={minutes}"])
        model, _ = train(cfg, episodes, tmp_path / name, progress=False, watch=LatentWatch)
        weights[name] = model.state_dict()
    assert all(torch.equal(v, weights["plain"][k]) for k, v in weights["probed"].items())
    probed = [m for m in latest_metrics(tmp_path / "probed") if "probe/x" in m]
    assert [m["step"] for m in probed] == [10, 20]
    assert {"probe/x", "probe/y", "probe/x velocity", "probe/y velocity"} <= set(probed[0])
    assert not any("probe/x" in m for m in latest_metrics(tmp_path / "plain"))
    assert plot_training(latest_metrics(tmp_path / "probed"), tmp_path / "training.png").is_file()
