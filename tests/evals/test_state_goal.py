"""Goals given as states: a linear state probe turns numbers into a planning cost."""

import numpy as np
import pytest
import torch

from jepalab.cli.main import main
from jepalab.config import override
from jepalab.evals.control import run_control
from jepalab.evals.probe import StateProbe
from jepalab.planning import StateGoal, goal_cost


def test_state_goal_cost_is_the_distance_of_the_read_state():
    weight, bias = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), torch.tensor([0.5, 0.0])
    goal = StateGoal(weight, bias, torch.tensor([[0.5, 0.0], [1.5, 2.0]]))
    imagined = torch.zeros(2, 3, 1, 3)  # (B, N, H, D)
    imagined[1, 2, 0] = torch.tensor([1.0, 1.0, 7.0])  # reads (1.5, 2.0): exactly episode 1's target
    cost = goal_cost(imagined, goal)
    assert cost.shape == (2, 3) and torch.allclose(cost[0], torch.zeros(3))
    assert cost[1, 2] == 0 and torch.allclose(cost[1, :2], torch.tensor([5.0, 5.0]))
    assert torch.equal(goal[[1]].target, goal.target[[1]])


@pytest.mark.slow
def test_state_probe_fits_saves_and_refuses_what_it_cannot_read(learned, tmp_path):
    probe = StateProbe.fit(learned["model"], learned["episodes"][:60], None, step=400)
    assert probe.columns == [0, 1] and probe.r2 > 0.6 and probe.r2 > probe.r2_untrained + 0.2
    probe.save(tmp_path / "p.safetensors")
    back = StateProbe.load(tmp_path / "p.safetensors", latent_dim=64)
    z = np.random.default_rng(0).normal(size=(5, 64))
    assert np.allclose(back.read(z), probe.read(z)) and back.columns == [0, 1] and back.step == 400
    with pytest.raises(ValueError, match="reads a 64-dim latent, the model's has 32"):
        StateProbe.load(tmp_path / "p.safetensors", latent_dim=32)
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.safetensors: unreadable state probe"):
        StateProbe.load(tmp_path / "junk.safetensors")
    with pytest.raises(ValueError, match="outside the data's 2 proprio columns"):
        StateProbe.fit(learned["model"], learned["episodes"][:10], [2], step=0)


@pytest.mark.slow
def test_planning_to_goals_given_as_states_beats_random_actions(learned):
    cfg = override(
        learned["cfg"],
        [
            "plan.horizon=5",
            "plan.samples=64",
            "plan.iterations=3",
            "plan.elites=8",
            "plan.episodes=24",
            "plan.max_steps=60",
        ],
    ).plan
    probe = StateProbe.fit(learned["model"], learned["episodes"], None, step=400)
    easier = {"goal_mode": "anywhere"}
    planned = run_control(
        "two-room", cfg, learned["model"], "planner", progress=False, world_kwargs=easier, state_probe=probe
    )
    random = run_control("two-room", cfg, None, "random", progress=False, world_kwargs=easier)
    assert planned.success_rate >= random.success_rate + 0.25, (planned.success_rate, random.success_rate)


@pytest.mark.slow
def test_plan_command_with_goals_as_states_fits_and_reuses_the_probe(learned, tmp_path, capsys):
    args = [
        "plan",
        "--checkpoint",
        str(learned["run"]),
        "--goal",
        "state",
        "--episodes",
        "2",
        "--no-baselines",
        "--quiet",
        "--set",
        "plan.max_steps=8",
        "--out",
        str(tmp_path / "plan"),
    ]
    assert main(args) == 2  # the run folder keeps no episodes: the error says what to give
    assert "no episodes to fit a state probe on" in capsys.readouterr().err
    data = str(learned["run"].parent / "data")
    assert main(args + ["--data", data]) == 0
    out = capsys.readouterr().out
    assert "goals as state (proprio columns [0, 1])" in out and "held-out R²" in out
    saved = learned["run"] / "state_probe.safetensors"
    stamp = saved.stat().st_mtime_ns
    assert main(args + ["--data", data]) == 0 and saved.stat().st_mtime_ns == stamp  # reused, not refit


def test_a_store_of_another_world_is_refused_before_anything_is_written(learned, tmp_path, capsys):
    """Issue 51: planning a two-room model with --goal state --data <a push store> wrote a 6-column
    probe into the run folder and exited with an IndexError; the right store then failed the same
    way, the broken probe reused. Now: refused by name, nothing written, the right store works."""
    from jepalab.data.collect import collect

    push = collect("push", 3, 10, tmp_path / "push", progress=False)
    saved = learned["run"] / "state_probe.safetensors"
    saved.unlink(missing_ok=True)
    args = ["plan", "--checkpoint", str(learned["run"]), "--goal", "state", "--episodes", "1", "--no-baselines"]
    args += ["--quiet", "--set", "plan.max_steps=4", "--out", str(tmp_path / "plan")]
    assert main([*args, "--data", str(push.root)]) == 2
    err = capsys.readouterr().err
    assert "holds episodes of 'push'" in err and "a model of 'two-room'" in err and "Traceback" not in err
    assert not saved.exists()
    assert main([*args, "--data", str(learned["run"].parent / "data")]) == 0
    assert saved.exists()
    stamp = saved.stat().st_mtime_ns  # the other order: a good probe saved, then the wrong store
    assert main([*args, "--data", str(push.root)]) == 2
    assert "holds episodes of 'push'" in capsys.readouterr().err and saved.stat().st_mtime_ns == stamp
