"""Configuration: one dataclass per stage, named presets, validated on build.

    from jepalab.config import preset, override
    cfg = override(preset("two-room"), ["train.steps=2000", "plan.samples=512"])

Every field carries a one-line help text (shown by `jepalab ... --help` and
in the saved `config.json`). Overrides are parsed by the field's type — never
evaluated — so a config file cannot run code.

In this file, in order: the sections of a world model's run (DataConfig,
ModelConfig, ObjectiveConfig, TrainConfig, PlanConfig) and RunConfig with its
checks; CHOICES, the one list of every enumerated setting's values, and the
checks shared by train and pretrain; the debug preset; the video pretraining
sections (VideoConfig, SourceConfig, PretrainConfig); the other presets
(PRESETS, VIDEO_PRESETS, preset()); and the settings as text: override
(--set), file_assignments (--config FILE), differences, help_lines, dumps.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field, fields


def opt(default, help: str, **kw):
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class DataConfig:
    world: str = opt("two-room", "built-in world to collect from")
    episodes: int = opt(1000, "episodes to collect")
    steps_per_episode: int = opt(64, "environment steps per collected episode")
    seed: int = opt(0, "episode i is collected with seed + i")
    policy: str = opt("random", "collection policy: random (held random exploration) | noisy-expert (worlds with a "
                                "scripted expert: push)")
    variety: str = opt("none", "bounce only: none (its own look) | wide (every clip drawn and filmed another way: "
                               "backgrounds, colours, occluder and wall looks, 48-96 px sources, sensor noise, "
                               "video compression, 8-20 fps, gravity; worlds/bounce_style.py) | picture (the same "
                               "at bounce's own 10 fps and gravity)")


@dataclass
class ModelConfig:
    image_size: int = opt(64, "side of the square RGB frames the encoder takes")
    action_dim: int = opt(2, "environment action size")
    frameskip: int = opt(4, "environment steps per model step; the model's action is their concatenation")
    encoder: str = opt("cnn", "encoder backbone: cnn | vit")
    video_encoder: str = opt(
        "",
        "a `jepalab pretrain` run or checkpoint, or hf:REPO_OR_FOLDER of a transformers V-JEPA 2 model: its "
        "encoder, frozen, becomes the frame encoder (V-JEPA 2-AC style) and only a readout, the projector and "
        "the predictor train",
    )
    width: int = opt(32, "cnn: channels of the first layer; vit: token width is 4x this")
    patch: int = opt(8, "vit: patch side in pixels")
    vit_depth: int = opt(4, "vit: transformer blocks")
    latent_dim: int = opt(128, "size of the latent vector z")
    pred_dim: int = opt(128, "predictor token width")
    pred_depth: int = opt(3, "predictor transformer blocks")
    pred_heads: int = opt(4, "predictor attention heads")
    history: int = opt(1, "latents of context the causal predictor sees (two-room is Markov: 1 is enough; "
                          "worlds with momentum need more)")
    dropout: float = opt(0.1, "predictor dropout (LeWorldModel found 0.1 important for stability)")
    senses: str = opt("", "senses fused into the latent beside the frames, comma-separated, each optional: "
                          "proprio (the state vector), audio (log-mel windows, data/audio.py), depth (a "
                          "MuJoCo depth map, a spatial channel); empty: frames only")
    proprio_dim: int = opt(0, "size of the proprio vector when senses include proprio (set from the data)")
    proprio_columns: str = opt("", "proprio: the columns of the proprio vector the model is given, comma-separated "
                                   "(empty: all). The agent's own state only: push-t's proprio also holds the block's "
                                   "pose, which the model must see, not be told (0,1: the pusher's place)")
    audio_mels: int = opt(16, "audio: mel bands per window")
    audio_steps: int = opt(8, "audio: spectra per window (one window per frame)")
    freeze_encoder: bool = opt(False, "keep the encoder at its initial random weights (BatchNorm statistics measured "
                                      "once on the data before the first step) and train only the predictor: a "
                                      "fixed latent that keeps what the inputs hold")
    spatial: bool = opt(False, "cnn: one latent token per cell of the last feature map (4 x 4 at 64 px, as DINO-WM "
                               "keeps patch features) instead of one vector per frame; z is still a flat vector "
                               "of latent_dim = cells x token size, and the predictor attends over cells and time")
    depth_size: int = opt(16, "depth: side of the depth map fused as a sense (MuJoCo envs; collected at this size)")
    appearance: bool = opt(
        False,
        "a latent part of its own (latent_dim // 8) for which local patterns (colours, edges, "
        "corners) show anywhere in the frame, wherever they are; the predictor forecasts it "
        "from the most of each pattern seen over its context, so what went behind an "
        "occluder is expected back as it was (models/appearance.py)",
    )

    @property
    def cells(self) -> int:
        """Latent tokens per frame: the CNN's last feature map's cells when spatial, else 1."""
        return (self.image_size // 16) ** 2 if self.spatial else 1

    @property
    def sense_list(self) -> list[str]:
        return [s.strip() for s in self.senses.split(",") if s.strip()]

    @property
    def proprio_index(self) -> list[int]:
        """model.proprio_columns as indices (all of 0..proprio_dim-1 when empty)."""
        cols = [c.strip() for c in self.proprio_columns.split(",") if c.strip()]
        return [int(c) for c in cols] if cols else list(range(self.proprio_dim))

    def part_dims(self) -> dict[str, int]:
        """Latent dimensions of each part, in the latent's order: "frames", one per other sense
        (model.senses), and "appearance" last (model.appearance)."""
        own = {s: max(1, self.latent_dim // 8) for s in self.sense_list + (["appearance"] if self.appearance else [])}
        return {"frames": self.latent_dim - sum(own.values()), **own}


@dataclass
class ObjectiveConfig:
    regularizer: str = opt("sigreg", "anti-collapse term: sigreg | vicreg")
    weight: float = opt(1.0, "weight of the anti-collapse term (raise it if the logged latent_std heads to 0)")
    projections: int = opt(256, "sigreg: random 1-D projections per step")
    reg_over: str = opt("frames", "what the anti-collapse term spreads: frames (every encoded frame of the batch) | "
                                  "changes (each frame minus its sequence's mean: what moves, not what tells scenes "
                                  "apart; for passive worlds where the scene dominates the latent)")
    frames_weight: float = opt(0.0, "with reg_over=changes: weight of a second anti-collapse term over whole frames "
                                    "(keeps what never changes within a clip, e.g. colour, in the latent)")
    rollout_steps: int = opt(3, "also predict this many steps ahead from the first rollout_context latents, feeding "
                                "predictions back in as planning does (1: next-step prediction only)")
    rollout_weight: float = opt(1.0, "weight of the multi-step rollout loss")
    rollout_context: int = opt(1, "observed frames the rollout starts from (1..model.history): 1 imagines from one "
                                  "frame, as a planner with context 1; more asks the predictor to carry what it saw "
                                  "through steps it only imagines (an object hidden for a while)")

    def window_steps(self, history: int) -> int:
        """Model steps (transitions) per training window."""
        return max(history, self.rollout_context - 1 + self.rollout_steps)


@dataclass
class TrainConfig:
    steps: int = opt(800, "optimizer steps")
    batch_size: int = opt(64, "sequences per step")
    lr: float = opt(1e-3, "peak learning rate (AdamW)")
    weight_decay: float = opt(1e-4, "AdamW weight decay")
    warmup_steps: int = opt(100, "linear warm-up steps, then cosine decay to 10%")
    grad_clip: float = opt(1.0, "gradient norm clip (0 disables)")
    log_every: int = opt(25, "steps between metric lines in metrics.jsonl")
    checkpoint_every: int = opt(250, "steps between checkpoints")
    keep_checkpoints: int = opt(2, "most recent checkpoints kept on disk")
    seed: int = opt(0, "seed of weights, batches and dropout")
    threads: int = opt(0, "torch CPU threads (0: one per core other processes leave free, re-checked at log steps)")
    precision: str = opt("auto", "auto | fp32 | bf16: bf16 autocast of the forward pass (weights, optimizer state "
                                 "and the anti-collapse term stay fp32); auto: bf16 on GPUs and CPUs that compute it "
                                 "natively (AVX512-BF16, AMX), else fp32")
    device: str = opt("auto", "auto (a CUDA GPU when there is one, else the CPU) | cpu | cuda | cuda:N")
    compile: bool = opt(False, "torch.compile the training step (pays a compile time up front; for long GPU runs)")
    prefetch: str = opt("auto", "draw the next batch on a background thread, pinned, while a step runs: auto (on with "
                                "a GPU) | on | off; the batches are the same either way")
    stream: str = opt("auto", "read frames from the store a batch at a time instead of holding them in memory: auto "
                              "(when they exceed a quarter of the RAM) | on | off; the batches are the same either way")
    cache_latents: str = opt("auto", "a frozen encoder front (model.freeze_encoder, model.video_encoder) computed once "
                                     "per frame into RUN/feature_cache and trained from there: auto (whenever the "
                                     "model has one) | on | off (run it at every step)")
    parallel: str = opt("ddp", "under torchrun: ddp (a full model per rank) | fsdp (FSDP2: parameters, gradients "
                               "and optimizer state sharded across ranks, for models that do not fit one device)")
    logger: str = opt("jsonl", "jsonl: metrics.jsonl only | tensorboard: also TensorBoard scalars in RUN/tensorboard "
                               "(pip install 'jepalab[tensorboard]')")


@dataclass
class PlanConfig:
    planner: str = opt("cem", "planner: cem | mppi")
    horizon: int = opt(6, "model steps imagined per plan")
    samples: int = opt(128, "candidate action sequences per iteration")
    iterations: int = opt(3, "refinement iterations per plan")
    elites: int = opt(16, "cem: best candidates the distribution is refit to")
    stage_weight: float = opt(0.1, "weight of the intermediate states' distance to the goal (0: only the end counts)")
    temperature: float = opt(0.05, "mppi: softmax temperature on costs (relative to the cost spread)")
    init_std: float = opt(1.0, "initial std of the action distribution")
    min_std: float = opt(0.05, "floor of the action std")
    context: int = opt(1, "observed latents given to the predictor when imagining (<= model.history); 1 is fastest")
    replan_every: int = opt(1, "model steps executed before planning again (receding horizon)")
    action_blocks: bool = opt(
        False,
        "search frameskip distinct environment actions per model step (the anchors' action "
        "blocks) instead of one action held for frameskip steps",
    )
    success: str = opt("anchors", "push worlds: the success test reported (both are recorded): anchors (the Push-T "
                                  "test of stable-worldmodel and DINO-WM: pusher and block positions within 20/512 "
                                  "of the goal's together, angle within 20 degrees) | strict (the block alone "
                                  "within 0.05 and 15 degrees)")
    episodes: int = opt(50, "evaluation episodes, fixed seeds")
    max_steps: int = opt(100, "environment steps allowed per evaluation episode")
    seed: int = opt(1000, "evaluation episode i uses seed + i (collection seeds start at data.seed)")


class Sections:
    """to_dict / from_dict for a dataclass whose fields are dataclasses (the config sections)."""

    def validate(self):
        return self

    def _require(self, checks: list[tuple[bool, str]]):
        """Raise one ValueError listing every failed (ok, message) check; else return self."""
        errors = [msg for ok, msg in checks if not ok]
        if errors:
            raise ValueError("invalid config:\n  " + "\n  ".join(errors))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "config"):
        """A config from its dict (a saved config.json or a checkpoint's meta.json), each value checked
        against its field's type as --set parses it, then validated as every config is."""
        if not isinstance(d, dict):
            raise ValueError(f"{where}: a config is an object of sections, got {type(d).__name__}")
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{where}: unknown section(s) {sorted(unknown)}")
        defaults = cls()
        kwargs = {}
        for f in fields(cls):
            sub_cls = type(getattr(defaults, f.name))
            sub = d.get(f.name, {})
            if not isinstance(sub, dict):
                raise ValueError(f"{where}: section {f.name!r} must be an object, got {type(sub).__name__}")
            extra = set(sub) - {g.name for g in fields(sub_cls)}
            if extra:
                raise ValueError(f"{where}: unknown key(s) {sorted(f'{f.name}.{k}' for k in extra)}")
            for g in fields(sub_cls):
                if g.name in sub and not _fits(sub[g.name], g.type):
                    raise ValueError(f"{where}: {f.name}.{g.name}: expected {g.type}, got {sub[g.name]!r}")
            kwargs[f.name] = sub_cls(**sub)
        return cls(**kwargs).validate()


@dataclass
class RunConfig(Sections):
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)

    def validate(self) -> "RunConfig":
        m, p, t, o = self.model, self.plan, self.train, self.objective
        checks = [
            (m.image_size % 16 == 0, f"model.image_size must be a multiple of 16, got {m.image_size}"),
            (m.encoder != "vit" or m.image_size % m.patch == 0, "model.image_size must be a multiple of model.patch"),
            (m.pred_dim % m.pred_heads == 0, "model.pred_dim must be divisible by model.pred_heads"),
            (
                not m.spatial or (m.encoder == "cnn" and not m.video_encoder and not m.sense_list),
                "model.spatial takes the cnn encoder with frames only (no video_encoder, no senses)",
            ),
            (
                not (m.appearance and (m.spatial or m.sense_list or m.video_encoder)),
                "model.appearance takes the frames alone as one latent vector each (no model.spatial, senses or "
                "video_encoder); set model.appearance=false to use those (the bounce preset turns it on)",
            ),
            (
                not m.spatial or m.latent_dim % m.cells == 0,
                f"model.spatial: latent_dim ({m.latent_dim}) must be a multiple of the {m.cells} cells",
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
                self.data.steps_per_episode >= o.window_steps(m.history) * m.frameskip + 1,
                "data.steps_per_episode is too short for max(model.history, objective.rollout_context - 1 + "
                "objective.rollout_steps) * model.frameskip",
            ),
            (self.data.episodes >= 1, f"data.episodes must be >= 1, got {self.data.episodes}"),
            (
                p.horizon >= 1 and p.samples >= 1 and p.iterations >= 1 and p.episodes >= 1 and p.max_steps >= 1,
                "plan.horizon, samples, iterations, episodes and max_steps must be >= 1",
            ),
        ] + train_checks(t) + choice_checks(self) + range_checks(self)
        return self._require(checks)


# The values a setting may take, in one place: validation reads them here, and the code that
# dispatches on a setting (planning.PLANNERS, objectives.REGULARIZERS, parallel, logs) is checked
# against them by tests/test_layout.py.
CHOICES = {
    "data.variety": ("none", "picture", "wide"),
    "model.encoder": ("cnn", "vit"),
    "objective.regularizer": ("sigreg", "vicreg"),
    "objective.reg_over": ("frames", "changes"),
    "plan.planner": ("cem", "mppi"),
    "plan.success": ("anchors", "strict"),
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
    return {"int": isinstance(value, int), "float": isinstance(value, (int, float)),
            "str": isinstance(value, str), "bool": False}.get(kind, False)


# Upper bounds beyond which a setting is a mistake (or a damaged file), not a choice: a horizon of
# 10^18 would try to allocate exabytes. Checked for every config, from --set or from a file.
RANGES = {
    "data.episodes": (1, 10**7), "data.steps_per_episode": (1, 10**7), "data.seed": (0, 2**62),
    "model.image_size": (16, 2048), "model.action_dim": (1, 4096), "model.frameskip": (1, 1000),
    "model.width": (1, 4096), "model.patch": (1, 2048), "model.vit_depth": (1, 64), "model.latent_dim": (1, 65536),
    "model.pred_dim": (1, 16384), "model.pred_depth": (1, 64), "model.pred_heads": (1, 256), "model.history": (1, 64),
    "model.proprio_dim": (0, 65536), "model.audio_mels": (1, 1024), "model.audio_steps": (1, 1024),
    "model.depth_size": (1, 1024), "model.dropout": (0.0, 0.99),
    "objective.weight": (0.0, 1e6), "objective.projections": (1, 65536), "objective.frames_weight": (0.0, 1e6),
    "objective.rollout_steps": (1, 64), "objective.rollout_weight": (0.0, 1e6), "objective.rollout_context": (1, 64),
    "train.steps": (1, 10**9), "train.batch_size": (2, 10**12), "train.lr": (1e-12, 10.0),
    "train.weight_decay": (0.0, 10.0), "train.warmup_steps": (0, 10**9), "train.grad_clip": (0.0, 1e6),
    "train.log_every": (1, 10**9), "train.checkpoint_every": (1, 10**9), "train.keep_checkpoints": (1, 10**6),
    "train.seed": (0, 2**62), "train.threads": (0, 4096),
    "plan.horizon": (1, 10000), "plan.samples": (1, 10**6), "plan.iterations": (1, 1000), "plan.elites": (1, 10**6),
    "plan.stage_weight": (0.0, 1e6), "plan.temperature": (1e-9, 1e6), "plan.init_std": (1e-9, 1e6),
    "plan.min_std": (0.0, 1e6), "plan.context": (1, 64), "plan.replan_every": (1, 10000),
    "plan.episodes": (1, 10**6), "plan.max_steps": (1, 10**7), "plan.seed": (0, 2**62),
}


def range_checks(cfg) -> list[tuple[bool, str]]:
    import math
    checks = []
    for key, (lo, hi) in RANGES.items():
        section, name = key.split(".")
        if hasattr(cfg, section) and hasattr(getattr(cfg, section), name):
            v = getattr(getattr(cfg, section), name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi
            checks.append((ok, f"{key} must be in {lo}..{hi}, got {v!r}"))
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


def train_checks(t: TrainConfig) -> list[tuple[bool, str]]:
    """The checks of the train section, shared by `train` and `pretrain`."""
    import math
    return [
        (t.steps >= 1, f"train.steps must be >= 1, got {t.steps}"),
        (t.batch_size >= 2, "train.batch_size must be >= 2 (the anti-collapse term needs a batch)"),
        (t.log_every >= 1, f"train.log_every must be >= 1, got {t.log_every}"),
        (
            t.checkpoint_every >= 1,
            f"train.checkpoint_every must be >= 1 (steps between checkpoints), got {t.checkpoint_every}",
        ),
        (t.keep_checkpoints >= 1, f"train.keep_checkpoints must be >= 1, got {t.keep_checkpoints}"),
        (t.warmup_steps >= 0, f"train.warmup_steps must be >= 0, got {t.warmup_steps}"),
        (math.isfinite(t.lr) and t.lr > 0, f"train.lr must be a finite number above 0, got {t.lr}"),
        (
            math.isfinite(t.grad_clip) and t.grad_clip >= 0,
            f"train.grad_clip must be finite and >= 0, got {t.grad_clip}",
        ),
        (math.isfinite(t.weight_decay) and t.weight_decay >= 0, "train.weight_decay must be finite and >= 0"),
        (t.threads >= 0, f"train.threads must be >= 0 (0: all cores), got {t.threads}"),
    ]


def _debug() -> RunConfig:
    """Shrinks every size so that the real entry points run in seconds in a test."""
    c = RunConfig()
    c.data = DataConfig(episodes=24, steps_per_episode=32)
    c.model = ModelConfig(width=8, latent_dim=32, pred_dim=32, pred_depth=1, pred_heads=2, history=2, frameskip=2)
    c.objective = ObjectiveConfig(rollout_steps=3)
    c.train = TrainConfig(steps=30, batch_size=16, warmup_steps=5, log_every=5, checkpoint_every=10)
    c.plan = PlanConfig(horizon=3, samples=32, iterations=2, elites=4, episodes=4, max_steps=20)
    return c


@dataclass
class VideoConfig:
    frames: int = opt(8, "frames per clip")
    size: int = opt(64, "side of the square frames")
    tubelet: int = opt(2, "frames per space-time patch")
    patch: int = opt(8, "pixels per patch side")
    dim: int = opt(128, "encoder token width")
    depth: int = opt(4, "encoder transformer blocks")
    heads: int = opt(4, "encoder attention heads")
    pred_dim: int = opt(64, "predictor token width")
    pred_depth: int = opt(2, "predictor transformer blocks")
    target: str = opt("ema", "targets: ema (V-JEPA: EMA encoder, stop-gradient) | sigreg (LeJEPA: no EMA, SIGReg)")
    ema_start: float = opt(0.996, "EMA momentum at the start, rising linearly to ema_end")
    ema_end: float = opt(1.0, "EMA momentum at the end of training")
    reg_weight: float = opt(1.0, "sigreg target: weight of SIGReg on the encoder's tokens")
    reg_over: str = opt("tokens", "sigreg target: the samples SIGReg shapes: tokens (every token of the batch) | clips "
                                  "(each token position across the batch's clips, its batch mean removed: "
                                  "what varies between scenes, not between places)")
    projections: int = opt(256, "sigreg target: random 1-D projections per step")
    short_blocks: int = opt(8, "short-range target blocks per clip (15% of the frame each, whole clip in time)")
    long_blocks: int = opt(0, "long-range target blocks per clip (70% of the frame each). V-JEPA uses 8 and 2 on "
                              "natural video (video-base); in a sparse world they hide the few moving objects "
                              "from the context and pretraining learns to ignore them")
    future_prob: float = opt(0.25, "share of pretraining steps that forecast: predict every token of the later "
                                  "time steps from all tokens of the first ones (masks.future_masks)")
    future_context: int = opt(0, "time steps of context in forecasting steps (0: half the clip's steps)")
    recompute: bool = opt(False, "activation checkpointing: recompute each transformer block in the backward "
                                 "pass instead of storing its activations (less memory, ~1/3 more compute)")

    @property
    def grid(self) -> tuple[int, int, int]:
        """(time steps, rows, columns) of space-time tokens."""
        return self.frames // self.tubelet, self.size // self.patch, self.size // self.patch

    @property
    def mask_specs(self):
        from .masks import MaskSpec

        return tuple(
            MaskSpec(n, (scale, scale)) for n, scale in ((self.short_blocks, 0.15), (self.long_blocks, 0.7)) if n
        )

    @property
    def context_steps(self) -> int:
        """Time steps of context when forecasting (pretraining's future masks, surprise)."""
        return self.future_context or max(1, self.grid[0] // 2)

    @property
    def tokens(self) -> int:
        t, h, w = self.grid
        return t * h * w


@dataclass
class SourceConfig:
    world: str = opt("bounce", "built-in passive world to generate clips from (when no videos are given)")
    videos: str = opt("", "video files or folders, comma-separated (instead of a world)")
    store: str = opt("", "an episode store (a world's collected episodes) to cut clips from (instead of a world)")
    frame_step: int = opt(1, "store: environment steps between a clip's frames (the world model's frameskip)")
    fps: float = opt(10.0, "frames per second clips are sampled at from video files")
    seed: int = opt(0, "seed of generated scenes and of the clip order")


@dataclass
class PretrainConfig(Sections):
    video: VideoConfig = field(default_factory=VideoConfig)
    source: SourceConfig = field(default_factory=SourceConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=1500, batch_size=16, lr=5e-4,
                                                                   warmup_steps=50))

    def validate(self) -> "PretrainConfig":
        v = self.video
        checks = [
            (v.frames % v.tubelet == 0, f"video.frames ({v.frames}) must be a multiple of video.tubelet ({v.tubelet})"),
            (v.size % v.patch == 0, f"video.size ({v.size}) must be a multiple of video.patch ({v.patch})"),
            (v.dim % v.heads == 0, "video.dim must be divisible by video.heads"),
            (0.0 <= v.ema_start <= v.ema_end <= 1.0, "need 0 <= video.ema_start <= video.ema_end <= 1"),
            (v.short_blocks >= 0 and v.long_blocks >= 0 and v.short_blocks + v.long_blocks >= 1,
             "need video.short_blocks, video.long_blocks >= 0 and at least one block"),
            (0.0 <= v.future_prob <= 1.0, "video.future_prob must be in [0, 1]"),
            (0 <= v.future_context < v.frames // v.tubelet,
             f"video.future_context must be in 0..{v.frames // v.tubelet - 1} (0: half the time steps)"),
            (self.source.frame_step >= 1, f"source.frame_step must be >= 1, got {self.source.frame_step}"),
        ] + train_checks(self.train) + choice_checks(self)
        return self._require(checks)


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
    # an appearance part the predictor remembers through occlusions: constancy 0.49 -> 0.71 (recolour
    # 0.94, reshape still at chance), mean 0.852 -> 0.907 on the benchmark's suites (docs/measurements.md)
    c.model = ModelConfig(action_dim=1, frameskip=1, history=4, appearance=True)
    # the latent must carry what moves: SIGReg spreads each frame's departure from its sequence's mean
    # (plain SIGReg let the scene dominate and the predictor copy its input); the rollout loss starts
    # from one frame, which cannot know a velocity
    # (plus a term over whole frames, on the suite of seed 50,000: weight 0 -> 0.822 mean pairwise
    # accuracy, 0.1 -> 0.829, 0.5 -> 0.860 (gravity 0.81 -> 0.94), 1.0 -> 0.848)
    c.objective = ObjectiveConfig(reg_over="changes", frames_weight=0.5, rollout_steps=1)
    c.train = TrainConfig(steps=3000)
    return c


def _reacher() -> RunConfig:
    """MuJoCo Reacher (gymnasium Reacher-v5, top-down 64x64 frames): a two-joint arm driven by torques,
    so one frame holds no velocity (history 3); goals are images of the arm on the target, with the
    observation vector there. The 10 proprio numbers are fused as a sense: from frames alone the
    latent read the arm's pose at R² 0.61 and the 1-2 pixel target not at all (0.05); with them
    0.87 and 0.60, and planning went from 0.20 to 0.36 success (docs/measurements.md)."""
    c = RunConfig()
    c.data = DataConfig(world="gymnasium:Reacher-v5", episodes=400, steps_per_episode=50)
    c.model = ModelConfig(frameskip=2, history=3, senses="proprio", proprio_dim=10)
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
    held the pusher and hardly the block (docs/measurements.md)."""
    c = RunConfig()
    c.data = DataConfig(world="push-t", episodes=1000, steps_per_episode=100, policy="noisy-expert")
    c.model = ModelConfig(frameskip=5, history=1)
    c.objective = ObjectiveConfig(rollout_steps=3, weight=10.0)
    c.train = TrainConfig(steps=2400, checkpoint_every=200)
    c.plan = PlanConfig(horizon=5, samples=256, iterations=5, elites=25, action_blocks=True, max_steps=100,
                        episodes=50, seed=100_000, replan_every=1)
    return c


PRESETS = {"two-room": RunConfig, "debug": _debug, "bounce": _bounce, "reacher": _reacher, "push": _push,
           "push-t": _push_t}
VIDEO_PRESETS = {"video-small": PretrainConfig, "video-base": _video_base, "video-debug": _video_debug}


def preset(name: str):
    """A run preset (two-room, debug) or a video pretraining preset (video-small, video-debug)."""
    table = {**PRESETS, **VIDEO_PRESETS}
    if name not in table:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(table)}")
    return table[name]().validate()


def _parse(value: str, kind: type, key: str):
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key}: expected true/false, got {value!r}")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key}: expected {kind.__name__}, got {value!r}") from None


def override(cfg, assignments: list[str]):
    """Apply 'section.key=value' strings, each parsed by the field's declared type."""
    types = {"int": int, "float": float, "str": str, "bool": bool}
    for item in assignments:
        key, sep, value = item.partition("=")
        section, _, name = key.partition(".")
        sub = getattr(cfg, section, None)
        if not sep or sub is None or not dataclasses.is_dataclass(sub) or name not in {f.name for f in fields(sub)}:
            raise ValueError(f"cannot set {item!r}: expected section.key=value with a known key "
                             f"(sections: {', '.join(f.name for f in fields(cfg))})")
        kind = types[next(f.type for f in fields(sub) if f.name == name)]
        setattr(sub, name, _parse(value, kind, key))
    return cfg.validate()


def file_assignments(path) -> list[str]:
    """'section.key=value' strings from a JSON or TOML file of settings: sections of keys
    ({"train": {"steps": 500}}, [train] steps = 500) or dotted keys ({"train.steps": 500}). The
    values are data, parsed by each field's type like --set; nothing in the file is evaluated."""
    from pathlib import Path
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the settings file ({e.strerror or e})") from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib
            doc = tomllib.loads(text)
        else:
            doc = json.loads(text)
    except ImportError:
        raise ValueError(f"{path}: TOML needs Python 3.11 or newer (tomllib); use a .json file") from None
    except ValueError as e:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ValueError(f"{path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'} ({e})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: must hold an object of settings, got {type(doc).__name__}")
    out = []
    for key, value in doc.items():
        items = [(f"{key}.{k}", v) for k, v in value.items()] if isinstance(value, dict) else [(key, value)]
        for name, v in items:
            if isinstance(v, (dict, list)):
                raise ValueError(f"{path}: {name}: expected a number, string or true/false, got {type(v).__name__}")
            out.append(f"{name}={str(v).lower() if isinstance(v, bool) else v}")
    return out


def differences(base, cfg) -> list[str]:
    """'section.key: base -> value' for every setting of `cfg` that differs from `base`."""
    out = []
    for sec in fields(cfg):
        a, b = getattr(base, sec.name), getattr(cfg, sec.name)
        out += [f"{sec.name}.{f.name}: {getattr(a, f.name)!r} -> {getattr(b, f.name)!r}" for f in fields(b)
                if getattr(a, f.name) != getattr(b, f.name)]
    return out


def help_lines(cfg) -> list[str]:
    """'section.key (default): help' for every field, for --help texts."""
    out = []
    for sec in fields(cfg):
        sub = getattr(cfg, sec.name)
        for f in fields(sub):
            out.append(f"{sec.name}.{f.name}={getattr(sub, f.name)}  {f.metadata.get('help', '')}")
    return out


def dumps(cfg) -> str:
    return json.dumps(cfg.to_dict(), indent=2)
