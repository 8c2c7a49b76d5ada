"""Third-party gymnasium envs through `gymnasium:package:Id`, as the real packages shape them: the fakes
in tests/fakeworlds mirror stable-worldmodel 0.1.1's swm/TwoRoom-v1 and swm/PushT-v1 (tensor state
observations, pixels only from render(), a goal state without a goal image, success only as
`terminated`), and where stable-worldmodel itself is installed the real envs are checked too."""

import importlib.util
import sys

import numpy as np
import pytest

from jepalab.worlds import make

ROOMS = "gymnasium:fakeworlds:fakeworlds/Rooms-v1"
BLOCK = "gymnasium:fakeworlds:fakeworlds/Block-v1"
NOGOAL = "gymnasium:fakeworlds:fakeworlds/NoGoal-v1"


def test_a_package_is_imported_by_its_module_and_a_missing_one_is_named():
    sys.modules.pop("fakeworlds", None)
    make(ROOMS, image_size=32).close()
    with pytest.raises(Exception, match="cannot import 'no_such_package'"):
        make("gymnasium:no_such_package:Thing-v0")


def test_a_tensor_state_env_renders_its_goal_from_the_goal_state_and_succeeds_by_terminating():
    env = make(ROOMS, image_size=32, max_steps=80)
    obs, info = env.reset(seed=3)
    u = env.unwrapped
    assert obs["pixels"].shape == (32, 32, 3) and obs["pixels"].dtype == np.uint8  # from render()
    # the env's own proprioception (the agent's place), not the observation vector that also holds the target
    assert obs["proprio"].shape == (2,) and np.allclose(obs["proprio"], u.env.unwrapped.agent.numpy())
    assert info["goal"].shape == (32, 32, 3) and not np.array_equal(info["goal"], obs["pixels"])
    assert np.allclose(info["goal_proprio"], u.env.unwrapped.target.numpy()) and not info["is_success"]
    assert np.allclose(info["state"], obs["proprio"])  # rendering the goal put the agent back
    assert u.goal_support() is None and "termination" in u.success_rule
    obs, info = env.reset(seed=3)
    # the goal image is the agent drawn at the target, as the env draws its own target image
    inner = u.env.unwrapped
    inner._set_state(inner.target.numpy())
    assert np.array_equal(env.render(), info["goal"])
    obs, info = env.reset(seed=3)
    for _ in range(80):  # walk straight to the target through the door-less side if it is in the same room
        gap = info["goal_proprio"] - obs["proprio"]
        obs, _, terminated, truncated, info = env.step(np.clip(gap / 5.0, -1, 1))
        if terminated or truncated:
            break
    assert info["is_success"] == terminated and info["distance"] == pytest.approx(
        float(np.linalg.norm(obs["proprio"] - info["goal_proprio"])), abs=1e-4
    )


def test_an_env_with_a_goal_image_in_its_info_is_read_at_the_models_size():
    env = make(BLOCK, image_size=32)
    obs, info = env.reset(seed=0)
    assert obs["proprio"].shape == (4,) and info["goal"].shape == (32, 32, 3)
    assert info["goal_proprio"].shape == (4,) and info["state"].shape == (7,)
    assert env.unwrapped.goal_support() is None and not info["is_success"]


def test_an_env_that_shows_no_goal_is_refused_before_anything_is_collected(tmp_path):
    from jepalab.bench.suites import applicable
    from jepalab.config import override, preset

    env = make(NOGOAL, image_size=32)
    assert "shows no goal" in env.unwrapped.goal_support()
    reasons = applicable("world", override(preset("debug"), [f"data.world={NOGOAL}"]))
    assert "shows no goal" in reasons["control"] and reasons["control-dataset"] is not None
    reasons = applicable("world", override(preset("debug"), [f"data.world={ROOMS}"]))
    assert reasons["control"] is None and reasons["control-dataset"] is None


@pytest.mark.parametrize("world", [ROOMS, BLOCK])
def test_the_dataset_protocol_sets_recorded_states_and_the_env_judges_the_recorded_goal(world):
    from jepalab.evals.dataset_goals import RecordedGoal, dataset_starts, trajectory_policy

    starts = dataset_starts(world, 3, 700_000, offset=10, trajectory_steps=30, world_kwargs={"image_size": 32})
    env = make(world, image_size=32, max_steps=1000)
    assert "held-random" in trajectory_policy(env)  # no scripted expert: the collection's policy records them
    for s in starts:
        assert not np.array_equal(s.start, s.goal)
        wrapped = RecordedGoal(env, s, max_steps=20)
        obs, info = wrapped.reset()
        assert np.allclose(env.unwrapped.get_state(), s.start, atol=0.01 * np.abs(s.start).max())
        goal_image = info["goal"]
        env.unwrapped.set_state(s.goal)  # the recorded goal, set as the state: the env's own test says reached
        _, _, reached, _, info = wrapped.step(np.zeros(2, np.float32))
        assert np.array_equal(info["goal"], goal_image)
        if world == ROOMS:  # zero action: the agent stays on the goal
            assert reached and info["is_success"]


def test_a_third_party_env_collects_trains_and_plans_end_to_end(tmp_path):
    from jepalab.bench.suites import world_facts
    from jepalab.config import override, preset
    from jepalab.data.collect import collect
    from jepalab.evals.control import run_control
    from jepalab.training.train import train

    store = collect(ROOMS, 4, 12, tmp_path / "d", image_size=32, progress=False)
    ep = store.load_all()[0]
    assert ep.goal_pixels.shape == (32, 32, 3) and ep.proprio.shape[1] == 2 and ep.state.shape[1] == 2
    cfg = override(
        preset("debug"), [f"data.world={ROOMS}", "model.image_size=32", "train.steps=2", "data.steps_per_episode=12"]
    )
    model, _ = train(cfg, store.load_all(), tmp_path / "run", progress=False)
    result = run_control(ROOMS, cfg.plan, model.eval(), episodes=2, progress=False)
    assert result.success.shape == (2,) and np.isfinite(result.final_distance).all()
    assert "termination" in world_facts(ROOMS)["success"]


REAL = importlib.util.find_spec("stable_worldmodel") is not None


@pytest.mark.skipif(
    not REAL,
    reason="stable-worldmodel is not installed here (it brings its own torch: see "
    "benchmarks/swm_envs.py for the venv that has it)",
)
@pytest.mark.parametrize("env_id", ["swm/TwoRoom-v1", "swm/PushT-v1"])
def test_the_real_stable_worldmodel_envs_show_goals_and_success(env_id):
    env = make(f"gymnasium:stable_worldmodel:{env_id}", image_size=64, max_steps=10)
    obs, info = env.reset(seed=0)
    assert obs["pixels"].shape == (64, 64, 3) and info["goal"].shape == (64, 64, 3)
    assert "goal_proprio" in info and info["is_success"] in (False, True)
    assert env.unwrapped.goal_support() is None and env.unwrapped.protocol_support() is None


@pytest.mark.skipif(not REAL, reason="stable-worldmodel is not installed here")
@pytest.mark.parametrize("env_id", ["swm/TwoRoom-v1", "swm/PushT-v1"])
def test_the_real_envs_take_recorded_states_and_judge_recorded_goals(env_id):
    from jepalab.evals.dataset_goals import RecordedGoal, dataset_starts

    world = f"gymnasium:stable_worldmodel:{env_id}"
    starts = dataset_starts(world, 2, 700_000, offset=10, trajectory_steps=30, world_kwargs={"image_size": 64})
    env = make(world, image_size=64, max_steps=1000)
    inner = env.unwrapped.env.unwrapped
    if env_id == "swm/TwoRoom-v1":  # our goal image is the env's own target image (the agent drawn there)
        _, info = env.reset(seed=5)
        assert np.array_equal(info["goal"], env.unwrapped.resize(inner._target_img.numpy().transpose(1, 2, 0)))
    for s in starts:
        wrapped = RecordedGoal(env, s, max_steps=20)
        wrapped.reset()
        assert np.allclose(env.unwrapped.get_state(), s.start, atol=0.01 * np.abs(s.start).max())
        env.unwrapped.set_state(s.goal)
        _, _, reached, _, info = wrapped.step(np.zeros(2, np.float32))
        assert reached and info["is_success"]  # the env's own test, pointed at the recorded goal
