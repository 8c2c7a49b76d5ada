import numpy as np
import pytest

from jepalab.worlds import make
from jepalab.worlds.two_room import TwoRoomLayout, blocked, sample_free, step_positions


def rollout(seed, n=50):
    env = make("two-room")
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    frames, pos = [obs["pixels"]], [obs["proprio"]]
    for _ in range(n):
        obs, *_ = env.step(rng.uniform(-1, 1, 2))
        frames.append(obs["pixels"])
        pos.append(obs["proprio"])
    return np.stack(frames), np.stack(pos), info


def test_deterministic_under_seed():
    f1, p1, i1 = rollout(3)
    f2, p2, i2 = rollout(3)
    assert np.array_equal(f1, f2) and np.array_equal(p1, p2)
    assert np.array_equal(i1["goal"], i2["goal"])
    f3, _, _ = rollout(4)
    assert not np.array_equal(f1, f3)


def test_gymnasium_api_and_spaces():
    env = make("two-room")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["pixels"].shape == (64, 64, 3) and obs["pixels"].dtype == np.uint8
    assert info["goal"].shape == (64, 64, 3)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert env.observation_space.contains(obs)
    assert isinstance(terminated, bool) and isinstance(truncated, bool) and reward <= 0
    assert np.array_equal(env.render(), obs["pixels"])


def test_goal_is_in_the_other_room_by_default():
    env = make("two-room")
    L = env.unwrapped.layout
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        assert (obs["proprio"][0] < L.wall_x) != (info["goal_proprio"][0] < L.wall_x)


def test_walls_block_and_the_door_lets_through():
    L = TwoRoomLayout()
    rng = np.random.default_rng(0)
    pos = np.stack([sample_free(rng, L) for _ in range(500)])
    for _ in range(200):
        pos = step_positions(pos, rng.uniform(-1, 1, pos.shape), L)
        assert not blocked(pos, L).any()
    # pushing right from the left room below the door stops at the wall ...
    p = np.array([[0.3, 0.15]])
    for _ in range(20):
        p = step_positions(p, np.array([[1.0, 0.0]]), L)
    assert p[0, 0] < L.wall_x
    # ... and through the door it crosses
    p = np.array([[0.3, L.door_y]])
    for _ in range(20):
        p = step_positions(p, np.array([[1.0, 0.0]]), L)
    assert p[0, 0] > L.wall_x


def test_success_terminates_and_time_limit_truncates():
    env = make("two-room", max_steps=5)
    env.reset(seed=0, options={"start": (0.2, 0.5), "goal": (0.25, 0.5)})
    _, _, terminated, truncated, info = env.step(np.array([1.0, 0.0]))
    assert terminated and info["is_success"]
    env.reset(seed=0, options={"start": (0.2, 0.2), "goal": (0.8, 0.8)})
    for _ in range(5):
        _, _, terminated, truncated, _ = env.step(np.zeros(2))
    assert truncated and not terminated


def test_bad_inputs_are_refused():
    env = make("two-room")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0.0]))
    with pytest.raises(ValueError, match="inside a wall"):
        env.reset(options={"start": (0.5, 0.1)})
    with pytest.raises(ValueError, match="unknown world"):
        make("three-room")


def test_agent_is_visible_where_it_is():
    env = make("two-room")
    obs, _ = env.reset(options={"start": (0.25, 0.75), "goal": (0.75, 0.25)})
    red = (obs["pixels"][..., 0] > 150) & (obs["pixels"][..., 1] < 120)
    rows, cols = np.nonzero(red)
    assert abs(cols.mean() / 64 - 0.25) < 0.03 and abs(rows.mean() / 64 - 0.75) < 0.03
