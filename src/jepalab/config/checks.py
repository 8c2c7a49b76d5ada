"""The rules every config is checked by: the values an enumerated setting may take (CHOICES), the
ranges of numeric ones (RANGES), the checks train and pretrain share, and a value's type as read
from a file. One place: validation reads them here, and the tables the code dispatches on
(models.build.VARIANTS, planning.PLANNERS, training.objectives.REGULARIZERS) are checked against
CHOICES by tests/test_layout.py; the other choices are dispatched where they are read.
"""

from __future__ import annotations

# The values a setting may take, in one place: validation reads them here (the dispatch tables that
# must match: see the module docstring).
CHOICES = {
    "data.variety": ("none", "picture", "wide", "wide-rate"),
    "model.encoder": ("cnn", "vit"),
    "model.variant": ("base", "senses", "appearance", "spatial"),
    "objective.regularizer": ("sigreg", "vicreg"),
    "objective.reg_over": ("frames", "changes"),
    "plan.planner": ("cem", "mppi"),
    "plan.success": ("anchors", "strict"),
    "plan.precision": ("fp32", "bf16", "auto"),
    "train.precision": ("auto", "fp32", "bf16"),
    "train.parallel": ("ddp", "fsdp"),
    "train.prefetch": ("auto", "on", "off"),
    "train.stream": ("auto", "on", "off"),
    "train.cache_latents": ("auto", "on", "off"),
    "train.logger": ("jsonl", "tensorboard"),
    "video.target": ("ema", "sigreg"),
    "video.reg_over": ("tokens", "clips"),
}


def _fits(value, kind: str) -> bool:
    """Whether a value read from a file has a field's declared type (an int is a float; a bool is
    neither an int nor a float)."""
    if isinstance(value, bool):
        return kind == "bool"
    return {
        "int": isinstance(value, int),
        "float": isinstance(value, (int, float)),
        "str": isinstance(value, str),
        "bool": False,
    }.get(kind, False)


# Upper bounds beyond which a setting is a mistake (or a damaged file), not a choice: a horizon of
# 10^18 would try to allocate exabytes. Checked for every config, from --set or from a file.
RANGES = {
    "data.episodes": (1, 10**7),
    "data.steps_per_episode": (1, 10**7),
    "data.seed": (0, 2**62),
    "model.image_size": (16, 2048),
    "model.action_dim": (1, 4096),
    "model.frameskip": (1, 1000),
    "model.width": (1, 4096),
    "model.patch": (1, 2048),
    "model.vit_depth": (1, 64),
    "model.vit_heads": (0, 256),
    "model.latent_dim": (1, 65536),
    "model.pred_dim": (1, 16384),
    "model.pred_depth": (1, 64),
    "model.pred_heads": (1, 256),
    "model.history": (1, 64),
    "model.proprio_dim": (0, 65536),
    "model.audio_mels": (1, 1024),
    "model.audio_steps": (1, 1024),
    "model.depth_size": (1, 1024),
    "model.dropout": (0.0, 0.99),
    "objective.weight": (0.0, 1e6),
    "objective.projections": (1, 65536),
    "objective.frames_weight": (0.0, 1e6),
    "objective.rollout_steps": (1, 64),
    "objective.rollout_weight": (0.0, 1e6),
    "objective.rollout_context": (1, 64),
    "train.steps": (1, 10**9),
    "train.batch_size": (2, 10**12),
    "train.lr": (1e-12, 10.0),
    "train.weight_decay": (0.0, 10.0),
    "train.warmup_steps": (0, 10**9),
    "train.grad_clip": (0.0, 1e6),
    "train.log_every": (1, 10**9),
    "train.probe_minutes": (0.0, 1e6),
    "train.checkpoint_every": (1, 10**9),
    "train.keep_checkpoints": (1, 10**6),
    "train.seed": (0, 2**62),
    "train.threads": (0, 4096),
    "plan.horizon": (1, 10000),
    "plan.samples": (1, 10**6),
    "plan.iterations": (1, 1000),
    "plan.elites": (1, 10**6),
    "plan.stage_weight": (0.0, 1e6),
    "plan.temperature": (1e-9, 1e6),
    "plan.init_std": (1e-9, 1e6),
    "plan.min_std": (0.0, 1e6),
    "plan.context": (1, 64),
    "plan.replan_every": (1, 10000),
    "plan.episodes": (1, 10**6),
    "plan.max_steps": (1, 10**7),
    "plan.seed": (0, 2**62),
}


def range_checks(cfg) -> list[tuple[bool, str]]:
    import math

    checks = []
    for key, (lo, hi) in RANGES.items():
        section, name = key.split(".")
        if hasattr(cfg, section) and hasattr(getattr(cfg, section), name):
            v = getattr(getattr(cfg, section), name)
            # an int is compared as an int: 10**400 has no float (math.isfinite would overflow)
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            ok = number and (isinstance(v, int) or math.isfinite(v)) and lo <= v <= hi
            shown = f"an integer of {len(str(abs(v)))} digits" if isinstance(v, int) and abs(v) > 10**30 else repr(v)
            checks.append((ok, f"{key} must be in {lo}..{hi}, got {shown}"))
    return checks


def _columns_ok(columns: str, dim: int) -> bool:
    cols = [c.strip() for c in columns.split(",") if c.strip()]
    if not cols:
        return True
    if not all(c.isdigit() for c in cols):
        return False
    idx = [int(c) for c in cols]
    return len(set(idx)) == len(idx) and (dim == 0 or max(idx) < dim)


def choice_checks(cfg) -> list[tuple[bool, str]]:
    checks = []
    for key, options in CHOICES.items():
        section, name = key.split(".")
        if hasattr(cfg, section):
            value = getattr(getattr(cfg, section), name)
            checks.append((value in options, f"{key} must be one of {' | '.join(options)}, got {value!r}"))
    return checks


def train_checks(train) -> list[tuple[bool, str]]:
    """The checks of the train section, shared by `train` and `pretrain`."""
    import math

    return [
        (train.steps >= 1, f"train.steps must be >= 1, got {train.steps}"),
        (train.batch_size >= 2, "train.batch_size must be >= 2 (the anti-collapse term needs a batch)"),
        (train.log_every >= 1, f"train.log_every must be >= 1, got {train.log_every}"),
        (
            train.checkpoint_every >= 1,
            f"train.checkpoint_every must be >= 1 (steps between checkpoints), got {train.checkpoint_every}",
        ),
        (train.keep_checkpoints >= 1, f"train.keep_checkpoints must be >= 1, got {train.keep_checkpoints}"),
        (train.warmup_steps >= 0, f"train.warmup_steps must be >= 0, got {train.warmup_steps}"),
        (math.isfinite(train.lr) and train.lr > 0, f"train.lr must be a finite number above 0, got {train.lr}"),
        (
            math.isfinite(train.grad_clip) and train.grad_clip >= 0,
            f"train.grad_clip must be finite and >= 0, got {train.grad_clip}",
        ),
        (math.isfinite(train.weight_decay) and train.weight_decay >= 0, "train.weight_decay must be finite and >= 0"),
        (train.threads >= 0, f"train.threads must be >= 0 (0: all cores), got {train.threads}"),
    ]


def run_checks(cfg) -> list[tuple[bool, str]]:
    """Every rule a RunConfig must satisfy across its sections, as (ok, message) pairs."""
    m, p, t, o = cfg.model, cfg.plan, cfg.train, cfg.objective
    return (
        [
            (m.image_size % 16 == 0, f"model.image_size must be a multiple of 16, got {m.image_size}"),
            (m.encoder != "vit" or m.image_size % m.patch == 0, "model.image_size must be a multiple of model.patch"),
            (m.pred_dim % m.pred_heads == 0, "model.pred_dim must be divisible by model.pred_heads"),
            (
                m.encoder != "vit" or m.vit_heads == 0 or 4 * m.width % m.vit_heads == 0,
                f"model.vit_heads must divide the ViT's token width 4 x model.width = {4 * m.width}",
            ),
            (
                m.variant != "spatial" or (m.encoder == "cnn" and not m.video_encoder),
                "model.variant=spatial takes the cnn encoder with frames only (no video_encoder)",
            ),
            (
                m.variant != "appearance" or not m.video_encoder,
                "model.variant=appearance takes the frames alone as one latent vector each (no video_encoder)",
            ),
            (
                bool(m.sense_list) == (m.variant == "senses"),
                f"model.senses ({m.senses!r}) goes with model.variant=senses (now {m.variant!r}): set both, or "
                "neither" + (" (the preset's variant is " + m.variant + ")" if m.variant != "base" else ""),
            ),
            (
                m.variant != "spatial" or m.latent_dim % m.cells == 0,
                f"model.variant=spatial: latent_dim ({m.latent_dim}) must be a multiple of the {m.cells} cells",
            ),
            (
                set(m.sense_list) <= {"proprio", "audio", "depth"},
                f"model.senses may hold proprio, audio and depth, got {m.senses!r}",
            ),
            (
                "proprio" not in m.sense_list or m.proprio_dim >= 1,
                "model.senses includes proprio: set model.proprio_dim (training from a store sets it)",
            ),
            (
                _columns_ok(m.proprio_columns, m.proprio_dim),
                f"model.proprio_columns must be distinct indices below model.proprio_dim ({m.proprio_dim}), "
                f"comma-separated, got {m.proprio_columns!r}",
            ),
            (min(m.frameskip, m.history, m.latent_dim, m.action_dim) >= 1, "model sizes must be >= 1"),
            (0 < p.elites <= p.samples, "plan.elites must be in 1..plan.samples"),
            (1 <= p.replan_every <= p.horizon, "plan.replan_every must be in 1..plan.horizon"),
            (1 <= p.context <= m.history, "plan.context must be in 1..model.history"),
            (
                t.device in ("auto", "cpu") or t.device.startswith("cuda"),
                f"train.device must be auto, cpu or cuda[:N], got {t.device!r}",
            ),
            (o.rollout_steps >= 1, "objective.rollout_steps must be >= 1"),
            (
                1 <= o.rollout_context <= m.history,
                f"objective.rollout_context must be 1..model.history ({m.history}), got {o.rollout_context}",
            ),
            (
                cfg.data.steps_per_episode >= o.window_steps(m.history) * m.frameskip + 1,
                "data.steps_per_episode is too short for max(model.history, objective.rollout_context - 1 + "
                "objective.rollout_steps) * model.frameskip",
            ),
            (cfg.data.episodes >= 1, f"data.episodes must be >= 1, got {cfg.data.episodes}"),
            (
                p.horizon >= 1 and p.samples >= 1 and p.iterations >= 1 and p.episodes >= 1 and p.max_steps >= 1,
                "plan.horizon, samples, iterations, episodes and max_steps must be >= 1",
            ),
        ]
        + train_checks(t)
        + choice_checks(cfg)
        + range_checks(cfg)
    )
