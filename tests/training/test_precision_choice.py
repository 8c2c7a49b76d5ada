"""train.precision=auto on a CPU: bf16 only where the model's own step is measured to pay
(training/precision.py), cached per machine, recorded and kept on resume, and the timing leaves the run
as it would have been."""

import json
import time

import pytest
import torch

from jepalab.config import override, preset
from jepalab.training import precision
from jepalab.training.train import Trainer


def _step_taking(fp32_s: float, bf16_s: float, model):
    def step():
        time.sleep(bf16_s if torch.is_autocast_enabled("cpu") else fp32_s)
        model.train()
        return model(torch.randn(8, 4)).sum()  # forward in train mode: moves BatchNorm's statistics

    return step


@pytest.mark.parametrize("fp32_s, bf16_s, chosen", [(0.02, 0.01, "bf16"), (0.02, 0.019, "fp32"), (0.01, 0.02, "fp32")])
def test_bf16_is_chosen_only_where_it_pays_and_the_choice_is_cached(monkeypatch, tmp_path, fp32_s, bf16_s, chosen):
    monkeypatch.setenv("JEPALAB_CACHE", str(tmp_path))
    monkeypatch.setattr(precision, "bf16_supported", lambda device: True)
    monkeypatch.setattr(precision, "cpu_family", lambda: "avx512-bf16")  # a family whose parity passed
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4), torch.nn.Dropout(0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    first = precision.choose(_step_taking(fp32_s, bf16_s, model), model, {"shape": 1})
    assert first["precision"] == chosen and "measured now" in first["why"]
    # the run is left as it was: weights, BatchNorm statistics, no gradients, the random state (dropout)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters()) and torch.equal(torch.get_rng_state(), rng)
    # the next run of these shapes on this machine takes the same choice without measuring
    again = precision.choose(lambda: pytest.fail("measured again"), model, {"shape": 1})
    assert again["precision"] == chosen and "cached" in again["why"]
    record = json.loads((tmp_path / "precision.json").read_text())
    assert [r["precision"] for r in record.values()] == [chosen]
    # other shapes are measured on their own; a CPU without bf16 units never measures
    other = precision.choose(_step_taking(0.01, 0.02, model), model, {"shape": 2})
    assert other["precision"] == "fp32" and len(json.loads((tmp_path / "precision.json").read_text())) == 2
    monkeypatch.setattr(precision, "bf16_supported", lambda device: False)
    assert precision.choose(lambda: pytest.fail("measured"), model, {"shape": 3})["precision"] == "fp32"


def test_bf16_is_never_chosen_on_a_cpu_family_whose_parity_failed_or_was_not_measured(monkeypatch, tmp_path):
    monkeypatch.setenv("JEPALAB_CACHE", str(tmp_path))
    monkeypatch.setattr(precision, "bf16_supported", lambda device: True)
    model = torch.nn.Linear(4, 4)
    for family, words in (("amx", "11.8-12.6 % above fp32's"), ("next-gen", "no precision parity measured")):
        monkeypatch.setattr(precision, "cpu_family", lambda family=family: family)
        got = precision.choose(lambda: pytest.fail("timed: parity decides first"), model, {})
        assert got["precision"] == "fp32" and words in got["why"]


def test_a_garbled_cache_is_measured_again(monkeypatch, tmp_path):
    monkeypatch.setenv("JEPALAB_CACHE", str(tmp_path))
    monkeypatch.setattr(precision, "bf16_supported", lambda device: True)
    monkeypatch.setattr(precision, "cpu_family", lambda: "avx512-bf16")
    (tmp_path / "precision.json").write_text("{not json")
    model = torch.nn.Linear(4, 4)
    assert precision.choose(_step_taking(0.02, 0.01, model), model, {})["precision"] == "bf16"
    assert len(json.loads((tmp_path / "precision.json").read_text())) == 1


@pytest.mark.slow
def test_auto_trains_the_weights_of_the_precision_it_chose_and_resume_keeps_it(debug_store, monkeypatch, tmp_path):
    monkeypatch.setenv("JEPALAB_CACHE", str(tmp_path / "cache"))
    sets = ["train.steps=6", "train.checkpoint_every=3"]
    episodes = debug_store.load_all()
    auto = Trainer(override(preset("debug"), sets), episodes, tmp_path / "auto", progress=False)
    auto.run()
    chosen = auto.precision
    assert chosen in ("fp32", "bf16") and auto.precision_note["precision"] == chosen
    named = Trainer(override(preset("debug"), [*sets, f"train.precision={chosen}"]), episodes, tmp_path / "n", False)
    named.run()
    a, b = auto.model.state_dict(), named.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # measuring the first step changed nothing of the run
    meta = json.loads((tmp_path / "auto" / "checkpoints" / "step_0000006" / "meta.json").read_text())
    assert meta["precision"] == chosen
    # a resumed run keeps the precision its checkpoint recorded, whatever auto would choose now
    other = "fp32" if chosen == "bf16" else "bf16"
    monkeypatch.setattr(precision, "choose", lambda *a, **k: {"precision": other, "why": "as first chosen"})
    Trainer(override(preset("debug"), sets), episodes, tmp_path / "resumed", progress=False).run(until=4)
    monkeypatch.setattr(precision, "choose", lambda *a, **k: {"precision": chosen, "why": "chosen now"})
    resumed = Trainer(override(preset("debug"), sets), episodes, tmp_path / "resumed", progress=False)
    assert resumed.resume() and resumed.step == 3 and resumed.precision == other
