"""gymnasium environments as jepalab worlds: MuJoCo Reacher and Pusher, gymnasium-robotics PointMaze."""

import json

import numpy as np
import pytest

from jepalab.data.collect import collect
from jepalab.data.store import DataError
from jepalab.worlds import make

pytest.importorskip("mujoco")  # installed by `make install`; a bare checkout without it skips

ENVS = ["Reacher-v5", "Pusher-v5", "PointMaze_UMaze-v3"]


@pytest.mark.parametrize("env_id", ENVS)
def test_adapter_steps_renders_and_shows_its_goal(env_id):
    env = make(f"gymnasium:{env_id}", image_size=48, max_steps=10)
    try:
        obs, info = env.reset(seed=0)
        assert obs["pixels"].shape == (48, 48, 3) and obs["pixels"].dtype == np.uint8
        assert obs["proprio"].dtype == np.float32 and obs["proprio"].shape == env.observation_space["proprio"].shape
        assert info["goal"].shape == (48, 48, 3) and info["goal_proprio"].shape == obs["proprio"].shape
        assert not np.array_equal(info["goal"], obs["pixels"])  # the goal pose shows
        before = env.env.unwrapped.data.qpos.copy()
        env.reset(seed=0)  # rendering the goal left the simulator where it was
        assert np.allclose(env.env.unwrapped.data.qpos, before)
        truncated = False
        for _ in range(10):
            obs, reward, _, truncated, info = env.step(np.ones(env.action_space.shape, np.float32))
            assert np.isfinite(reward) and isinstance(info["is_success"], bool) and np.isfinite(info["state"]).all()
        assert truncated  # max_steps is the env's time limit
        if env_id != "PointMaze_UMaze-v3":  # the task's own distance, and success read from it
            assert info["is_success"] == (info["distance"] < {"Reacher-v5": 0.02, "Pusher-v5": 0.05}[env_id])
        with pytest.raises(ValueError, match="finite"):
            env.step(np.full(env.action_space.shape, np.nan))
    finally:
        env.close()


def test_actions_in_unit_box_map_onto_the_env_bounds():
    env = make("gymnasium:Pusher-v5", image_size=32)  # bounds +-2
    try:
        assert env.action_space.low.min() == -1 and np.allclose(env._env_action(np.ones(7)), 2.0)
        assert np.allclose(env._env_action(-np.ones(7)), -2.0) and np.allclose(env._env_action(np.zeros(7)), 0.0)
    finally:
        env.close()


def test_reacher_goal_image_puts_the_fingertip_on_the_target():
    import mujoco

    from jepalab.worlds.gym_tasks import _reacher_distance, _reacher_goal

    env = make("gymnasium:Reacher-v5")
    try:
        for seed in range(5):
            env.reset(seed=seed)
            u = env.env.unwrapped
            _reacher_goal(u)
            mujoco.mj_forward(u.model, u.data)
            assert _reacher_distance(u) < 1e-6
    finally:
        env.close()


def test_collect_gymnasium_keeps_rewards_state_goal_and_resumes(tmp_path):
    store = collect("gymnasium:Reacher-v5", 3, 8, tmp_path / "r", seed=0, progress=False, image_size=32)
    ep = store.load_all()[1]
    assert ep.pixels.shape == (9, 32, 32, 3) and ep.actions.shape == (8, 2) and ep.rewards.shape == (8,)
    assert ep.state.shape == (9, 8) and ep.goal_proprio.shape == (10,) and ep.goal_pixels.shape == (32, 32, 3)
    assert store.meta()["world"] == "gymnasium:Reacher-v5" and store.meta()["proprio_dim"] == 10
    store.episode_paths()[1].unlink()  # killed before episode 1 landed
    again = collect("gymnasium:Reacher-v5", 3, 8, tmp_path / "r", seed=0, progress=False, image_size=32)
    assert np.array_equal(again.load_all()[1].pixels, ep.pixels)  # resumed: the same episode again


def test_collect_replays_an_actions_file_and_refuses_a_bad_one(tmp_path):
    actions = np.random.default_rng(0).uniform(-1, 1, (2, 6, 2)).astype(np.float32)
    np.save(tmp_path / "a.npy", actions)
    ep = collect(
        "gymnasium:Reacher-v5", 2, 6, tmp_path / "r", progress=False, policy=str(tmp_path / "a.npy"), image_size=32
    ).load_all()[1]
    assert np.array_equal(ep.actions, actions[1])
    np.save(tmp_path / "short.npy", actions[:, :3])
    with pytest.raises(DataError, match=r"short.npy: actions must be \(>= 2, >= 6, 2\).*got \(2, 3, 2\)"):
        collect("gymnasium:Reacher-v5", 2, 6, tmp_path / "r2", progress=False, policy=str(tmp_path / "short.npy"))
    actions[0, 1, 0] = np.nan
    np.save(tmp_path / "nan.npy", actions)
    with pytest.raises(DataError, match="NaN or inf"):
        collect("gymnasium:Reacher-v5", 2, 6, tmp_path / "r3", progress=False, policy=str(tmp_path / "nan.npy"))


def test_unknown_env_is_a_clear_error():
    with pytest.raises(ValueError, match="gymnasium has no environment 'NoSuchEnv-v0'"):
        make("gymnasium:NoSuchEnv-v0")


def test_an_env_that_ends_early_ends_its_episode(tmp_path):
    # the pendulum falls within a few dozen random steps; stepping on would be undefined
    eps = collect("gymnasium:InvertedPendulum-v5", 3, 200, tmp_path / "c", progress=False, image_size=32).load_all()
    assert all(1 <= len(e) < 200 for e in eps) and eps[0].actions.shape[1] == 1
    assert all(len(e.pixels) == len(e) + 1 == len(e.rewards) + 1 for e in eps)


def test_discrete_actions_take_one_score_per_choice():
    env = make("gymnasium:CartPole-v1", image_size=32)  # built without rendering (pygame is not needed here)
    try:
        assert env.action_space.shape == (2,) and env._env_action(np.array([0.1, 0.9])) == 1
        assert env._env_action(np.array([0.5, -0.5])) == 0
    finally:
        env.close()


def test_plan_command_on_a_gymnasium_world_with_image_and_state_goals(tmp_path, capsys):
    from jepalab.cli.main import main

    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--world",
                "gymnasium:Reacher-v5",
                "--preset",
                "debug",
                "--out",
                str(run),
                "--quiet",
                "--set",
                "data.episodes=6",
                "--set",
                "data.steps_per_episode=12",
                "--set",
                "model.image_size=32",
                "--set",
                "train.steps=2",
                "--set",
                "model.frameskip=2",
                "--set",
                "model.history=2",
            ]
        )
        == 0
    )
    for goal in ("image", "state"):
        out = tmp_path / f"plan-{goal}"
        assert (
            main(
                [
                    "plan",
                    "--checkpoint",
                    str(run),
                    "--episodes",
                    "2",
                    "--goal",
                    goal,
                    "--quiet",
                    "--set",
                    "plan.max_steps=4",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        summary = json.loads((out / "summary.json").read_text())
        assert summary["world"] == "gymnasium:Reacher-v5" and "random_success_rate" in summary
    assert summary["goal"] == "state (proprio columns [0, 1, 2, 3])"  # Reacher's arm pose
    assert (run / "state_probe.safetensors").is_file()


def test_depth_maps_are_a_spatial_sense_collected_stored_and_fused(tmp_path):
    import torch

    from jepalab.config import ModelConfig
    from jepalab.models import build

    env = make("gymnasium:Reacher-v5", image_size=32, depth_size=8)
    obs, info = env.reset(seed=0)
    d = obs["depth"]
    assert d.shape == (8, 8) and d.dtype == np.float32 and np.isfinite(d).all()
    assert abs(d.max() - 0.62) < 0.01  # metres: the floor, seen from the top-down camera 0.62 m above it
    assert d.min() < d.max() - 0.002  # the arm stands off the floor, nearer the camera
    assert info["goal_depth"].shape == (8, 8) and not np.array_equal(info["goal_depth"], d)  # the arm posed elsewhere
    env.close()
    store = collect("gymnasium:Reacher-v5", 2, 5, tmp_path / "r", seed=0, progress=False, image_size=32, depth_size=8)
    ep = store.load_all()[0]
    assert ep.depth.shape == (6, 8, 8) and ep.goal_depth.shape == (8, 8) and store.meta()["depth_size"] == 8
    model = build(
        ModelConfig(image_size=32, variant="senses", senses="proprio,depth", proprio_dim=10, depth_size=8)
    ).eval()
    z = model.encode(
        {
            "pixels": torch.from_numpy(ep.pixels),
            "proprio": torch.from_numpy(ep.proprio),
            "depth": torch.from_numpy(ep.depth),
        }
    )
    assert z.shape == (6, 128)
    zg = model.encode_observations(
        [{"goal": ep.goal_pixels, "goal_proprio": ep.goal_proprio, "goal_depth": ep.goal_depth}], goal=True
    )
    assert zg.shape == (1, 128)
    with pytest.raises(ValueError, match="depth maps come from MuJoCo envs"):
        collect("two-room", 1, 5, tmp_path / "t", progress=False, depth_size=8)


def test_a_maze_leaves_no_temp_file_behind(tmp_path, monkeypatch):
    """gymnasium-robotics writes each maze's MJCF beside the temp dir and never deletes it."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    env = make("gymnasium:PointMaze_UMaze-v3", image_size=32, max_steps=3)
    try:
        env.reset(seed=0)
        env.step(np.zeros(env.action_space.shape, np.float32))  # still runs without the file
    finally:
        env.close()
    assert not list(tmp_path.rglob("*.xml"))
