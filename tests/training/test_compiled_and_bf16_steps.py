"""The speed options change speed, not results: a compiled training step and a bf16 one give the loss
of the eager fp32 step on the same batch and weights; the planner's compiled and bf16 rollouts imagine
what its eager fp32 rollout does; and a compile that fails falls back to eager with a warning."""

import functools

import pytest
import torch

from jepalab.config import override, preset
from jepalab.runtime import autocast, compiled


@functools.cache
def _compile_works() -> str | None:
    """None where torch.compile runs here, else why not (a skip reason)."""
    try:
        torch.compile(lambda x: x * 2 + 1)(torch.ones(3))
        return None
    except Exception as e:  # no C++ compiler, unsupported Python, ...
        return f"torch.compile is unavailable here: {type(e).__name__}: {str(e)[:120]}"


def _first_loss(debug_store, tmp_path, name: str, sets: list[str]) -> float:
    from jepalab.training.train import Trainer

    cfg = override(preset("debug"), ["train.steps=1", "train.seed=3", *sets]).validate()
    trainer = Trainer(cfg, debug_store.load_all(), tmp_path / name, progress=False)
    torch.manual_seed(0)
    batch = trainer.next_batch()
    trainer.model.train()
    with autocast(trainer.precision, "cpu"):
        loss, _ = trainer.loss(*batch)
    return float(loss.detach())


@pytest.mark.slow
def test_a_compiled_training_step_gives_the_eager_loss(debug_store, tmp_path):
    if _compile_works():
        pytest.skip(_compile_works())
    import torch._inductor.config as inductor

    eager = _first_loss(debug_store, tmp_path, "eager", ["train.precision=fp32"])
    # SIGReg draws random projections; inductor has its own generator unless told to use eager's
    with inductor.patch(fallback_random=True):
        with_compile = _first_loss(debug_store, tmp_path, "compiled", ["train.precision=fp32", "train.compile=true"])
    assert with_compile == pytest.approx(eager, rel=1e-4)


def test_a_bf16_training_step_agrees_with_fp32(debug_store, tmp_path):
    fp32 = _first_loss(debug_store, tmp_path, "fp32", ["train.precision=fp32"])
    bf16 = _first_loss(debug_store, tmp_path, "bf16", ["train.precision=bf16"])
    # bf16 keeps 8 bits of mantissa: about 3 significant digits per operation
    assert bf16 == pytest.approx(fp32, rel=0.05) and bf16 != fp32


def _imagined(model, sets: list[str]) -> torch.Tensor:
    from jepalab.planning import make_planner

    plan_cfg = override(preset("debug"), sets).plan
    planner = make_planner(plan_cfg, action_dim=2, seed=0)
    g = torch.Generator().manual_seed(0)
    D, H = model.cfg.latent_dim, model.cfg.history
    z_ctx, a_ctx = torch.randn(3, H, D, generator=g), torch.zeros(3, H - 1, model.model_action_dim)
    candidates = torch.rand(3, 8, plan_cfg.horizon, 2, generator=g) * 2 - 1
    return planner.imagine(model, z_ctx, a_ctx, candidates)


@pytest.mark.slow
def test_the_planners_compiled_and_bf16_rollouts_imagine_what_the_eager_one_does():
    from jepalab.models.build import build

    torch.manual_seed(0)
    model = build(preset("debug").validate().model).eval()
    eager = _imagined(model, [])
    assert eager.dtype == torch.float32
    bf16 = _imagined(model, ["plan.precision=bf16"])
    assert bf16.dtype == torch.float32  # costs are ranked at full precision
    assert (bf16 - eager).abs().max() < 0.05 * eager.abs().max() and not torch.equal(bf16, eager)
    if _compile_works():
        pytest.skip(_compile_works())
    assert torch.allclose(_imagined(model, ["plan.compile=true"]), eager, atol=1e-4, rtol=1e-4)


def test_a_compile_that_fails_falls_back_to_eager_with_a_warning():
    def failing_backend(graph_module, example_inputs):
        raise RuntimeError("this backend cannot lower anything")

    double = compiled(lambda x: x * 2, "a doubling", backend=failing_backend)
    with pytest.warns(UserWarning, match="torch.compile of a doubling failed"):
        assert torch.equal(double(torch.ones(2)), torch.full((2,), 2.0))
    assert double.fn is double.eager and torch.equal(double(torch.ones(1)), torch.full((1,), 2.0))
    with pytest.warns(UserWarning, match="running eager"):
        unknown = compiled(lambda x: x + 1, "an increment", backend="no-such-backend")
    assert torch.equal(unknown(torch.zeros(1)), torch.ones(1))
