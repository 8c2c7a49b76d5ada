"""The dataset protocol (evals/dataset_goals.py): recorded starts and goals, exact resets, baselines."""

import numpy as np
import pytest
import torch

from jepalab.config import PlanConfig, override, preset
from jepalab.evals.control import run_control
from jepalab.evals.dataset_goals import dataset_starts, expert_states, reset_to_starts
from jepalab.worlds import make

WORLDS = ["push-t", "push", "two-room", "gymnasium:Reacher-v5"]


@pytest.mark.parametrize("world", WORLDS)
def test_a_recorded_state_renders_pixel_identically_and_replays_the_same_step(world):
    env = make(world, max_steps=200, image_size=64)
    obs, _ = env.reset(seed=3)
    u = env.unwrapped
    for _ in range(7):
        obs, *_ = env.step(u.expert_action())
    state, pixels, proprio = u.get_state(), obs["pixels"].copy(), obs["proprio"].copy()
    a = np.array([0.7, -0.4], np.float32)
    after, *_ = env.step(a)
    other = make(world, max_steps=200, image_size=64)
    other.reset(seed=99)
    again, _ = other.unwrapped.set_state(state)
    assert np.array_equal(again["pixels"], pixels) and np.allclose(again["proprio"], proprio, atol=1e-5)
    assert np.allclose(other.unwrapped.get_state(), state, atol=1e-9)
    replay, *_ = other.step(a)
    assert np.allclose(replay["proprio"], after["proprio"], atol=1e-3)  # the same next step
    other.unwrapped.set_state(state)
    ok, dist = other.unwrapped.state_success(state)
    assert ok and dist < 1e-6 and np.allclose(other.unwrapped.get_state(), state)  # the test leaves the state alone
    with pytest.raises(ValueError, match="state"):
        other.unwrapped.set_state(np.zeros(3))


def test_starts_come_from_the_held_out_seeds_with_the_goal_offset_steps_on():
    starts = dataset_starts("push-t", 4, seed=700_000, offset=10, trajectory_steps=30)
    env = make("push-t", max_steps=100, goal_mode="anywhere")
    for g in starts:
        states = expert_states(env, g.seed, 30)
        assert np.array_equal(states[g.t], g.start) and np.array_equal(states[g.t + 10], g.goal)
    assert [g.seed for g in starts] == [700_000 + i for i in range(4)]
    assert dataset_starts("push-t", 4, 700_000, 10, 30)[2].t == starts[2].t  # the same seed, the same episode
    with pytest.raises(ValueError, match="offset"):
        dataset_starts("push-t", 1, 0, offset=40, trajectory_steps=30)
    # a world without a scripted expert is recorded with the collection's policy; one without a state is refused
    from jepalab.evals.dataset_goals import trajectory_policy

    assert trajectory_policy(make("push-t")) == "noisy-expert"
    assert trajectory_policy(make("gymnasium:Pusher-v5")).startswith("held-random")
    with pytest.raises(ValueError, match="reports no state"):
        dataset_starts("gymnasium:fakeworlds:fakeworlds/NoGoal-v1", 1, 0, offset=5, trajectory_steps=10)


def test_episodes_start_at_the_recorded_state_and_succeed_only_at_the_goal_state():
    starts = dataset_starts("push-t", 3, seed=710_000, offset=25)
    envs, obs, infos = reset_to_starts("push-t", starts, max_steps=50)
    for env, _o, info, g in zip(envs, obs, infos, starts):
        assert np.allclose(env.unwrapped.get_state(), g.start)
        ok, dist = env.unwrapped.state_success(g.goal)
        assert info["is_success"] == ok and info["distance"] == dist
        shown, _ = make("push-t").unwrapped.set_state(g.goal)
        assert np.array_equal(info["goal"], shown["pixels"])  # the goal image is the goal state's observation
    # the expert's own recorded actions are not stored; but putting the block on the goal pose succeeds,
    # by the anchors' test (the default) only with the pusher where the goal has it too
    env = envs[0]
    u = env.unwrapped
    g = starts[0].goal.copy()
    u.set_state(np.concatenate([starts[0].start[:2], g[2:]]))
    _, _, terminated, _, info = env.step(np.zeros(2, np.float32))
    assert not info["is_success"] and info["success_tests"] == {"anchors": False, "strict": True}
    u.set_state(g)
    _, _, terminated, _, info = env.step(np.zeros(2, np.float32))
    assert info["is_success"] and terminated and info["success_tests"] == {"anchors": True, "strict": True}


def test_noop_and_random_baselines_run_on_the_same_episodes():
    starts = dataset_starts("two-room", 6, seed=720_000, offset=10, trajectory_steps=40)
    cfg = PlanConfig(max_steps=20)
    noop = run_control("two-room", cfg, None, "noop", starts=starts, progress=False)
    rnd = run_control("two-room", cfg, None, "random", starts=starts, progress=False)
    assert len(noop.success) == len(rnd.success) == 6
    assert all(len(p) == 21 or s for p, s in zip(noop.paths, noop.success))
    assert np.allclose([p[0] for p in noop.paths], [p[0] for p in rnd.paths])  # the same starts
    assert all(np.allclose(p[0], p[-1]) for p in noop.paths)  # zero actions: the agent stays put
    with pytest.raises(ValueError, match="policy"):
        run_control("two-room", cfg, None, "dance", starts=starts, progress=False)


def test_action_blocks_reach_the_model_as_planned(monkeypatch):
    """With plan.action_blocks the planner searches frameskip x action_dim numbers per model step, and
    the environment steps through them in order; the model's action history is the same block."""
    from jepalab.models import WorldModel
    from jepalab.planning import make_planner
    from jepalab.planning.base import imagine

    cfg = preset("debug")
    model = WorldModel(cfg.model).eval()
    k, A = cfg.model.frameskip, cfg.model.action_dim
    plan_cfg = override(cfg, ["plan.action_blocks=true"]).plan
    planner = make_planner(plan_cfg, k * A, seed=0)
    z = torch.randn(3, 1, cfg.model.latent_dim)
    with torch.no_grad():
        plan = planner.plan(model, z, torch.zeros(3, 0, k * A), torch.randn(3, cfg.model.latent_dim))
        assert plan.actions.shape == (3, plan_cfg.horizon, k * A)
        # a block whose k actions are equal imagines what the held action does
        held = torch.rand(3, 1, plan_cfg.horizon, A) * 2 - 1
        blocks = held.repeat(1, 1, 1, k)
        assert torch.allclose(
            imagine(model, z, torch.zeros(3, 0, k * A), held), imagine(model, z, torch.zeros(3, 0, k * A), blocks)
        )
    # executed in the world, a block is k distinct environment steps in order, and the model's action
    # history holds the same block
    from jepalab.planning import Plan

    calls = []

    class Fixed:
        def plan(self, model, z_ctx, a_ctx, z_goal, init=None):
            calls.append(a_ctx.clone())
            B, H = z_ctx.shape[0], plan_cfg.horizon
            acts = torch.linspace(-0.9, 0.9, H * k * A).reshape(1, H, k * A).repeat(B, 1, 1)
            return Plan(acts, torch.zeros(B), torch.zeros(B, H, cfg.model.latent_dim))

    seen = []
    import jepalab.evals.control as control

    real_reset = control.reset_envs

    def spied(*args, **kw):
        envs, obs, infos = real_reset(*args, **kw)
        for e in envs:
            inner = e.step
            e.step = lambda a, inner=inner: (seen.append(np.asarray(a).copy()), inner(a))[1]
        return envs, obs, infos

    monkeypatch.setattr(control, "reset_envs", spied)
    import jepalab.planning.agent as agent

    monkeypatch.setattr(agent, "make_planner", lambda c, dim, seed=0: Fixed())
    cfg2 = override(
        cfg,
        ["plan.action_blocks=true", f"plan.max_steps={2 * k}", "plan.episodes=1", "model.history=2", "plan.context=2"],
    )
    run_control("two-room", cfg2.plan, WorldModel(cfg2.model).eval(), "planner", progress=False)
    first = torch.linspace(-0.9, 0.9, plan_cfg.horizon * k * A)[: k * A]
    assert len(seen) == 2 * k and np.allclose(np.concatenate(seen[:k]), first.numpy())
    assert torch.allclose(calls[1][0, -1], first)  # what the model is told it did


def test_the_agent_keeps_its_context_and_warm_start_between_calls():
    import jepalab
    from jepalab.worlds import make

    cfg = override(preset("debug"), ["model.history=2", "plan.context=2", "plan.replan_every=1"])
    model = jepalab.WorldModel(cfg.model)
    env = make("two-room")
    obs, info = env.reset(seed=5)
    agent = jepalab.Agent(model, cfg.plan, action_dim=2)
    agent.reset(goals=[info])
    first = agent.act([obs])
    assert first.shape == (1, cfg.model.frameskip, 2) and np.abs(first).max() <= 1
    for a in first[0]:
        obs, *_ = env.step(a)
    agent.act([obs])
    assert len(agent.z_hist) == 2 and len(agent.a_hist) == 2 and agent.plan_calls == 2
    assert torch.allclose(agent.a_hist[0][0], torch.from_numpy(first[0]).reshape(-1))
    with pytest.raises(ValueError, match="observations"):
        agent.act([obs, obs])


@pytest.mark.slow
def test_a_tiny_model_trained_on_push_beats_random_actions_on_short_offset_goals(tmp_path):
    """About a minute on 2 cores: a small model trained on noisy-expert push data plans the block
    closer to its pose 10 expert steps ahead (dataset protocol) than random actions and zero actions get."""
    from jepalab.data.collect import collect
    from jepalab.training.train import train

    cfg = override(
        preset("debug"),
        [
            "data.world=push",
            "data.episodes=150",
            "data.steps_per_episode=40",
            "data.policy=noisy-expert",
            "model.frameskip=5",
            "model.history=1",
            "model.width=16",
            "model.latent_dim=64",
            "model.pred_dim=64",
            "objective.rollout_steps=2",
            "objective.weight=10",
            "train.steps=300",
            "train.batch_size=32",
            "train.checkpoint_every=300",
            "plan.context=1",
            "plan.action_blocks=true",
            "plan.horizon=2",
            "plan.samples=64",
            "plan.iterations=3",
            "plan.elites=8",
            "plan.max_steps=20",
            "plan.success=strict",
        ],
    )
    store = collect(
        "push", cfg.data.episodes, cfg.data.steps_per_episode, tmp_path / "data", policy="noisy-expert", progress=False
    )
    model, _ = train(cfg, store.load_all(), tmp_path / "run", progress=False)
    starts = dataset_starts("push", 30, seed=730_000, offset=10, trajectory_steps=40)
    runs = {
        p: run_control("push", cfg.plan, model if p == "planner" else None, p, starts=starts, progress=False)
        for p in ("planner", "random", "noop")
    }
    # the block's final distance to its pose in the goal state; success (0.05 and 15 degrees) is too
    # rare at this size to tell apart from the baselines on 30 episodes
    dist = {p: float(np.mean(r.final_distance)) for p, r in runs.items()}
    assert dist["planner"] < min(dist["random"], dist["noop"]) - 0.01, dist


def test_pose_expert_goals_need_more_turning_than_the_place_experts():
    """Issue 46: the dataset protocol's goals from the pose expert turn the T on purpose (--dataset-expert
    pose); the place expert's, the anchors' protocol, stay the default."""
    from jepalab.evals.dataset_goals import dataset_starts

    turns = {}
    for expert in ("place", "pose"):
        starts = dataset_starts("push-t", 16, 700_000, 25, 100, expert=expert)
        turns[expert] = np.median([abs(np.angle(np.exp(1j * (g.goal[4] - g.start[4])))) for g in starts])
    assert turns["pose"] > 1.3 * turns["place"], turns
    with pytest.raises(ValueError, match="expert must be one of place, pose"):
        dataset_starts("push-t", 1, 700_000, expert="stack")
