"""The contracts page (jepalab/contracts.py) holds for the parts that exist: every built-in world is
an Env, the world model a WorldModel, every planner a Planner, every bench suite a BenchSuite; and a
planner's parts can be replaced one at a time."""

import torch

from jepalab import contracts
from jepalab.bench.suites import SUITE_CLASSES, SUITES
from jepalab.config import preset
from jepalab.models import build
from jepalab.planning import PLANNERS, make_planner
from jepalab.worlds import WORLDS, make


def test_the_parts_that_exist_keep_their_contracts():
    for name in WORLDS:
        assert isinstance(make(name).unwrapped, contracts.Env), name
    cfg = preset("debug")
    model = build(cfg.model)
    assert isinstance(model, contracts.WorldModel)
    for name in PLANNERS:
        assert isinstance(make_planner(cfg.plan.__class__(**{**vars(cfg.plan), "planner": name}), 2), contracts.Planner)
    assert set(SUITE_CLASSES) == set(SUITES)
    for name, cls in SUITE_CLASSES.items():
        assert cls.name == name
        assert all(callable(getattr(cls, m, None)) for m in ("seed", "options", "fingerprint", "run")), name


def test_a_planner_takes_another_sampler_and_another_cost():
    cfg = preset("debug")
    model = build(cfg.model).eval()
    plan_cfg = cfg.plan.__class__(**{**vars(cfg.plan), "samples": 16, "iterations": 2})
    z = model.encode({"pixels": torch.zeros(1, 64, 64, 3, dtype=torch.uint8)})
    z_ctx, a_ctx = (
        z[:, None].expand(1, cfg.model.history, -1),
        torch.zeros(1, cfg.model.history - 1, 2 * cfg.model.frameskip),
    )
    seen = []

    def only_the_mean(mean, std, iteration, samples, generator):
        seen.append(iteration)
        return mean[:, None].expand(-1, samples, -1, -1).clone()

    def constant(imagined, goal):
        return torch.zeros(imagined.shape[:2])

    planner = make_planner(plan_cfg, 2)
    planner.sample, planner.cost = only_the_mean, constant
    result = planner.plan(model, z_ctx, a_ctx, z)
    assert seen == [0, 1] and torch.equal(result.actions, torch.zeros_like(result.actions))
    assert torch.equal(result.cost, torch.zeros(1))
