"""The built-in `push` world: contact physics, rendering, goals, success, the scripted expert."""
import numpy as np
import pytest

from jepalab.worlds import make
from jepalab.worlds.push import POS_TOL, angle_error


def test_the_pusher_moves_the_block_only_by_contact():
    env = make("push")
    env.reset(seed=0, options={"pusher": (0.2, 0.5), "block": (0.5, 0.5), "block_angle": 0.0})
    for _ in range(4):  # towards the block, not yet touching it (it starts 0.3 away, 0.1 = radii)
        _, _, _, _, info = env.step(np.array([1.0, 0.0]))
    assert np.allclose(env.block_pose[0], (0.5, 0.5), atol=1e-6)
    for _ in range(10):
        env.step(np.array([1.0, 0.0]))
    pos, angle = env.block_pose
    assert pos[0] > 0.6 and abs(pos[1] - 0.5) < 0.02 and abs(angle) < 0.1  # pushed straight along x
    for _ in range(10):  # let go: friction stops it
        env.step(np.zeros(2))
    before = env.block_pose[0]
    env.step(np.zeros(2))
    assert np.linalg.norm(env.block_pose[0] - before) < 1e-3


def test_the_block_never_leaves_the_arena():
    env = make("push")
    env.reset(seed=1, options={"pusher": (0.5, 0.5), "block": (0.75, 0.5), "block_angle": 0.3})
    for _ in range(60):  # ram it into the right wall
        obs, *_ = env.step(np.array([1.0, 0.05]))
        pos, _ = env.block_pose
        assert np.all((pos > 0) & (pos < 1)), pos
    assert obs["pixels"].shape == (64, 64, 3) and obs["pixels"].dtype == np.uint8


def test_goal_image_success_and_symmetry():
    env = make("push")
    obs, info = env.reset(seed=2)
    assert info["goal"].shape == (64, 64, 3) and not np.array_equal(info["goal"], obs["pixels"])
    assert info["goal_proprio"].shape == obs["proprio"].shape == (6,) and not info["is_success"]
    target = env.target_pos
    obs, info = env.reset(seed=3, options={"block": tuple(target), "block_angle": 0.0, "target": tuple(target),
                                            "target_angle": np.pi / 2 + 0.05, "pusher": (0.1, 0.1)})
    assert info["is_success"]  # a square turned by a quarter looks the same
    tee = make("push", block="T")
    _, info = tee.reset(seed=3, options={"block": (0.5, 0.5), "block_angle": 0.0, "target": (0.5, 0.5),
                                          "target_angle": np.pi / 2, "pusher": (0.1, 0.1)})
    assert not info["is_success"] and abs(angle_error(0.1, 2 * np.pi - 0.1) - 0.2) < 1e-9
    with pytest.raises(ValueError, match="finite"):
        env.step(np.array([np.nan, 0.0]))


def test_the_scripted_expert_beats_random_actions():
    env = make("push", max_steps=100)
    rng = np.random.default_rng(0)
    expert = random = 0
    for seed in range(10):
        env.reset(seed=seed)
        for _ in range(100):
            _, _, done, _, info = env.step(env.expert_action())
            if done:
                break
        expert += info["distance"] < POS_TOL
        env.reset(seed=seed)
        for _ in range(100):
            _, _, done, _, info = env.step(rng.uniform(-1, 1, 2))
            if done:
                break
        random += info["distance"] < POS_TOL
    assert expert >= random + 3, (expert, random)


def test_noisy_expert_collection_moves_the_block(tmp_path):
    from jepalab.data.collect import collect
    from jepalab.data.store import DataError
    eps = collect("push", 6, 40, tmp_path / "p", policy="noisy-expert", progress=False).load_all()
    moved = [np.linalg.norm(e.proprio[-1, 2:4] - e.proprio[0, 2:4]) for e in eps]
    assert np.mean(np.array(moved) > 0.05) >= 0.5 and eps[0].goal_pixels.shape == (64, 64, 3)
    with pytest.raises(DataError, match="no scripted expert"):
        collect("gymnasium:Pusher-v5", 2, 10, tmp_path / "t", policy="noisy-expert", progress=False)


@pytest.mark.parametrize("world", ["push", "two-room"])
def test_the_map_for_trajectory_plots_exists_before_any_reset(world):
    env = make(world)  # as `jepalab bench` makes one to draw the control paths on
    img = env.unwrapped.render_background()
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8


def test_the_target_can_be_left_out_of_the_frames_and_stays_in_the_goal():
    from jepalab.worlds.push import PushEnv, TARGET
    env = PushEnv(show_target=False)
    obs, info = env.reset(seed=4)
    assert not (obs["pixels"] == TARGET).all(-1).any()  # no target drawn
    shown = make("push")
    obs2, info2 = shown.reset(seed=4)
    assert (obs2["pixels"] == TARGET).all(-1).sum() > 10 and np.array_equal(info["goal_proprio"], info2["goal_proprio"])
