"""Named presets: settings only. What each was measured to do lives in docs/measurements.md (and the
README's table), never here.

    preset("two-room")      # the demo's world model; also debug, bounce, reacher, push, push-t,
                            # video-small, video-base, video-debug
"""

from __future__ import annotations

from .run import RunConfig
from .sections import DataConfig, ModelConfig, ObjectiveConfig, PlanConfig, TrainConfig
from .video import PretrainConfig, VideoConfig


def _debug() -> RunConfig:
    """Shrinks every size so that the real entry points run in seconds in a test."""
    c = RunConfig()
    c.data = DataConfig(episodes=24, steps_per_episode=32)
    c.model = ModelConfig(width=8, latent_dim=32, pred_dim=32, pred_depth=1, pred_heads=2, history=2, frameskip=2)
    c.objective = ObjectiveConfig(rollout_steps=3)
    c.train = TrainConfig(steps=30, batch_size=16, warmup_steps=5, log_every=5, checkpoint_every=10)
    c.plan = PlanConfig(horizon=3, samples=32, iterations=2, elites=4, episodes=4, max_steps=20)
    return c


def _video_debug() -> PretrainConfig:
    c = PretrainConfig()
    c.video = VideoConfig(frames=4, size=32, dim=32, depth=1, heads=2, pred_dim=32, pred_depth=1)
    c.train = TrainConfig(steps=20, batch_size=8, lr=1e-3, warmup_steps=5, log_every=5, checkpoint_every=10)
    return c


def _video_base() -> PretrainConfig:
    """ViT-S-like widths over 16-frame clips and V-JEPA's full masks (8 short-range + 2 long-range blocks),
    for a GPU and natural video (about 5x the compute of video-small per clip)."""
    c = PretrainConfig()
    c.video = VideoConfig(frames=16, dim=192, depth=6, heads=3, pred_dim=96, pred_depth=4, long_blocks=2)
    return c


def _bounce() -> RunConfig:
    """An action-free world model of `bounce` (LeWorldModel-style: one latent per frame), the model
    the intuitive-physics suite is scored with: passive clips carry a single zero action."""
    c = RunConfig()
    c.data = DataConfig(world="bounce", episodes=1000, steps_per_episode=24)
    # an appearance part the predictor remembers through occlusions (what it bought: docs/measurements.md,
    # "Presets")
    c.model = ModelConfig(action_dim=1, frameskip=1, history=4, variant="appearance")
    # the latent must carry what moves: SIGReg spreads each frame's departure from its sequence's mean
    # (plain SIGReg let the scene dominate and the predictor copy its input), plus a term over whole
    # frames; the rollout loss starts from one frame, which cannot know a velocity
    c.objective = ObjectiveConfig(reg_over="changes", frames_weight=0.5, rollout_steps=1)
    c.train = TrainConfig(steps=3000)
    return c


def _reacher() -> RunConfig:
    """MuJoCo Reacher (gymnasium Reacher-v5, top-down 64x64 frames): a two-joint arm driven by torques,
    so one frame holds no velocity (history 3); goals are images of the arm on the target, with the
    observation vector there. The 10 proprio numbers are fused as a sense: from frames alone the
    latent hardly read the 1-2 pixel target (docs/measurements.md, "Presets")."""
    c = RunConfig()
    c.data = DataConfig(world="gymnasium:Reacher-v5", episodes=400, steps_per_episode=50)
    c.model = ModelConfig(frameskip=2, history=3, variant="senses", senses="proprio", proprio_dim=10)
    c.objective = ObjectiveConfig(rollout_steps=3)
    c.train = TrainConfig(steps=2000)
    c.plan = PlanConfig(horizon=8, context=3, max_steps=50, episodes=50, seed=100_000)
    return c


def _push() -> RunConfig:
    """The built-in `push` world (a box to a target pose): the block keeps sliding a little after a
    push (history 2), and data comes from the noisy scripted expert, which touches the block far more
    often than random actions do."""
    c = RunConfig()
    c.data = DataConfig(world="push", episodes=400, steps_per_episode=60, policy="noisy-expert")
    c.model = ModelConfig(frameskip=2, history=2)
    c.train = TrainConfig(steps=2000)
    c.plan = PlanConfig(horizon=8, context=2, max_steps=80, episodes=50, seed=100_000)
    return c


def _push_t() -> RunConfig:
    """Push-T on the anchors' terms (benchmarks/push_t.py): the T, expert data, action blocks of 5
    distinct environment actions per model step, history 1 (LeWorldModel's), CEM over a horizon of 5
    blocks (the 25 steps to a dataset-protocol goal). SIGReg at weight 10: at weight 1 the latent
    held the pusher and hardly the block (docs/measurements.md, "Presets")."""
    c = RunConfig()
    c.data = DataConfig(world="push-t", episodes=1000, steps_per_episode=100, policy="noisy-expert")
    c.model = ModelConfig(frameskip=5, history=1)
    c.objective = ObjectiveConfig(rollout_steps=3, weight=10.0)
    c.train = TrainConfig(steps=2400, checkpoint_every=200)
    c.plan = PlanConfig(
        horizon=5,
        samples=256,
        iterations=5,
        elites=25,
        action_blocks=True,
        max_steps=100,
        episodes=50,
        seed=100_000,
        replan_every=1,
    )
    return c


PRESETS = {
    "two-room": RunConfig,
    "debug": _debug,
    "bounce": _bounce,
    "reacher": _reacher,
    "push": _push,
    "push-t": _push_t,
}
VIDEO_PRESETS = {"video-small": PretrainConfig, "video-base": _video_base, "video-debug": _video_debug}


def preset(name: str):
    """A run preset (two-room, debug) or a video pretraining preset (video-small, video-debug)."""
    table = {**PRESETS, **VIDEO_PRESETS}
    if name not in table:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(table)}")
    return table[name]().validate()
