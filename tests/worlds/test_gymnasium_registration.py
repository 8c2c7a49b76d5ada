"""The built-in worlds are gymnasium environments in good standing: registered under jepalab/,
passing gymnasium's own env_checker, and the same worlds `--world NAME` uses."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import jepalab
from jepalab.worlds import GYM_IDS, make


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(GYM_IDS))
def test_every_builtin_world_is_registered_and_passes_check_env(name):
    env = gym.make(GYM_IDS[name])
    check_env(env.unwrapped, skip_render_check=False)
    obs, info = env.reset(seed=1)
    assert obs["pixels"].shape == (64, 64, 3) and info["goal"].dtype == np.uint8
    same = make(name)  # what --world NAME builds: the same world, frame for frame
    obs2, _ = same.reset(seed=1)
    assert np.array_equal(obs["pixels"], obs2["pixels"])
    # the info of one step is the caller's: the next step leaves it alone
    kept = info["goal"].copy()
    _, _, _, _, info2 = env.step(env.action_space.sample())
    info2["goal"][:] = 0
    assert np.array_equal(info["goal"], kept)


def test_module_prefixed_ids_register_on_the_fly_and_make_world_takes_bounce():
    env = gym.make("jepalab.worlds:jepalab/Push-v0", max_steps=5)
    env.reset(seed=0)
    assert env.unwrapped.max_steps == 5
    bounce = jepalab.make_world("bounce", max_steps=4)
    obs, _ = bounce.reset(seed=0)
    frames = [obs["pixels"]] + [bounce.step(np.zeros(1, np.float32))[0]["pixels"] for _ in range(4)]
    assert bounce.step(np.zeros(1, np.float32))[3]  # truncated after max_steps
    assert any(not np.array_equal(frames[0], f) for f in frames[1:])  # things move by themselves
