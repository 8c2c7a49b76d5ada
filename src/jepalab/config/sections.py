"""The sections of a world model's run, one dataclass per stage (RunConfig, config/run.py, holds them).

Every field carries a one-line help text (shown by `jepalab ... --help`, `jepalab config` and in the
saved config.json); RunConfig.validate() checks every setting (config/checks.py) whenever a config
is built, from a preset, --set, a file or a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def opt(default, help: str, **kw):
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class DataConfig:
    world: str = opt("two-room", "built-in world to collect from")
    episodes: int = opt(1000, "episodes to collect")
    steps_per_episode: int = opt(64, "environment steps per collected episode")
    seed: int = opt(0, "episode i is collected with seed + i")
    policy: str = opt(
        "random",
        "collection policy: random (held random exploration) | noisy-expert (worlds with a scripted expert: push) "
        "| near-block (push worlds: random pokes at the block, which turn it) | pose-expert (push worlds: "
        "a scripted expert that turns the block to the target's angle, then pushes it to its place)",
    )
    variety: str = opt(
        "none",
        "bounce only: none (its own look) | wide (every clip drawn and filmed another way: "
        "backgrounds, colours, occluder and wall looks, 48-96 px sources, sensor noise, "
        "video compression, 8-20 fps, gravity; worlds/bounce_style.py) | picture (the same "
        "at bounce's own 10 fps and gravity) | wide-rate (wide, each clip's frame interval "
        "given to the model as its action: 10/fps - 1, zero at bounce's own rate)",
    )


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
    vit_heads: int = opt(
        0,
        "vit: attention heads (0: one per 32 channels of the token width); ViT-tiny's 3 heads of 64 run "
        "faster in bf16 on a CPU (docs/measurements.md, LeWorldModel side by side)",
    )
    latent_dim: int = opt(128, "size of the latent vector z")
    pred_dim: int = opt(128, "predictor token width")
    pred_depth: int = opt(3, "predictor transformer blocks")
    pred_heads: int = opt(4, "predictor attention heads")
    history: int = opt(
        1,
        "latents of context the causal predictor sees (two-room is Markov: 1 is enough; "
        "worlds with momentum need more)",
    )
    dropout: float = opt(0.1, "predictor dropout (LeWorldModel found 0.1 important for stability)")
    variant: str = opt(
        "base",
        "which world model (models/build.py): base (each frame one latent vector) | senses "
        "(model.senses fused into the latent beside the frames, models/senses.py) | appearance "
        "(a latent part of its own, latent_dim // 8, for which local patterns show anywhere "
        "in the frame; the predictor forecasts it from the most of each pattern seen, so what "
        "went behind an occluder is expected back as it was, models/appearance.py) | spatial "
        "(cnn: one latent token per cell of the last feature map, 4 x 4 at 64 px, as DINO-WM "
        "keeps patch features; z is a flat vector of latent_dim = cells x token size and the "
        "predictor attends over cells and time, models/spatial.py)",
    )
    senses: str = opt(
        "",
        "variant=senses: the senses fused into the latent beside the frames, comma-separated: "
        "proprio (the state vector), audio (log-mel windows, worlds/bounce_sound.py), depth (a "
        "MuJoCo depth map, a spatial channel)",
    )
    proprio_dim: int = opt(0, "size of the proprio vector when senses include proprio (set from the data)")
    proprio_columns: str = opt(
        "",
        "proprio: the columns of the proprio vector the model is given, comma-separated "
        "(empty: all). The agent's own state only: push-t's proprio also holds the block's "
        "pose, which the model must see, not be told (0,1: the pusher's place)",
    )
    audio_mels: int = opt(16, "audio: mel bands per window")
    audio_steps: int = opt(8, "audio: spectra per window (one window per frame)")
    freeze_encoder: bool = opt(
        False,
        "keep the encoder at its initial random weights (BatchNorm statistics measured "
        "once on the data before the first step) and train only the predictor: a "
        "fixed latent that keeps what the inputs hold",
    )
    depth_size: int = opt(16, "depth: side of the depth map fused as a sense (MuJoCo envs; collected at this size)")

    @property
    def cells(self) -> int:
        """Latent tokens per frame: the CNN's last feature map's cells for the spatial variant, else 1."""
        return (self.image_size // 16) ** 2 if self.variant == "spatial" else 1

    # what configs written before model.variant said instead (three flags, one of them a sense list)
    RENAMED = {"appearance": "appearance", "spatial": "spatial"}

    @classmethod
    def upgraded(cls, d: dict) -> dict:
        """A model section as an older jepalab wrote it -> today's keys: model.appearance=true is
        model.variant=appearance, model.spatial=true is model.variant=spatial, and senses without a
        variant are model.variant=senses."""
        d = dict(d)
        flags = [name for name in cls.RENAMED if d.pop(name, False) is True]
        if "variant" not in d:
            d["variant"] = flags[0] if flags else ("senses" if str(d.get("senses", "")).strip() else "base")
        return d

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
        (model.senses), and "appearance" last (variant=appearance)."""
        own = {
            s: max(1, self.latent_dim // 8)
            for s in self.sense_list + (["appearance"] if self.variant == "appearance" else [])
        }
        return {"frames": self.latent_dim - sum(own.values()), **own}


@dataclass
class ObjectiveConfig:
    regularizer: str = opt("sigreg", "anti-collapse term: sigreg | vicreg")
    weight: float = opt(1.0, "weight of the anti-collapse term (raise it if the logged latent_std heads to 0)")
    projections: int = opt(256, "sigreg: random 1-D projections per step")
    reg_over: str = opt(
        "frames",
        "what the anti-collapse term spreads: frames (every encoded frame of the batch) | "
        "changes (each frame minus its sequence's mean: what moves, not what tells scenes "
        "apart; for passive worlds where the scene dominates the latent)",
    )
    frames_weight: float = opt(
        0.0,
        "with reg_over=changes: weight of a second anti-collapse term over whole frames "
        "(keeps what never changes within a clip, e.g. colour, in the latent)",
    )
    rollout_steps: int = opt(
        3,
        "also predict this many steps ahead from the first rollout_context latents, feeding "
        "predictions back in as planning does (1: next-step prediction only)",
    )
    rollout_weight: float = opt(1.0, "weight of the multi-step rollout loss")
    rollout_context: int = opt(
        1,
        "observed frames the rollout starts from (1..model.history): 1 imagines from one "
        "frame, as a planner with context 1; more asks the predictor to carry what it saw "
        "through steps it only imagines (an object hidden for a while)",
    )

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
    threads: int = opt(
        0,
        "torch CPU threads, fixed for the whole run and kept on --resume (0: the count torch has: one "
        "per core, or OMP_NUM_THREADS / torch.set_num_threads when set); config.json records the count",
    )
    threads_follow_load: bool = opt(
        False,
        "re-size the thread pool at log steps to the cores other processes leave free (at most "
        "train.threads): faster beside a busy process, but the float sums change order with the "
        "count, so two runs, or a run and its resume, no longer end on the same weights",
    )
    probe_minutes: float = opt(
        5.0,
        "every this many minutes of training, probe what the latent holds of each state variable "
        "(held-out R², linear; velocities from two latents): probe/<variable> lines in metrics.jsonl and a "
        "panel of training.png, taken outside the training time and the random streams (0: never)",
    )
    precision: str = opt(
        "auto",
        "auto | fp32 | bf16: bf16 autocast of the forward pass (weights, optimizer state "
        "and the anti-collapse term stay fp32); auto: bf16 on GPUs that compute it, and on a CPU "
        "whose bf16 kernels passed the precision parity benchmark (AVX512-BF16 without AMX; not AMX) "
        "only where the model's own step is measured to run >= 1.1x as fast (cached per machine, "
        "kept on --resume), else fp32",
    )
    device: str = opt("auto", "auto (a CUDA GPU when there is one, else the CPU) | cpu | cuda | cuda:N")
    compile: bool = opt(False, "torch.compile the training step (pays a compile time up front; for long GPU runs)")
    prefetch: str = opt(
        "auto",
        "draw the next batch on a background thread, pinned, while a step runs: auto (on with "
        "a GPU) | on | off; the batches are the same either way",
    )
    stream: str = opt(
        "auto",
        "read frames from the store a batch at a time instead of holding them in memory: auto "
        "(when they exceed a quarter of the RAM) | on | off; the batches are the same either way",
    )
    cache_latents: str = opt(
        "auto",
        "a frozen encoder front (model.freeze_encoder, model.video_encoder) computed once "
        "per frame into RUN/feature_cache and trained from there: auto (whenever the "
        "model has one) | on | off (run it at every step)",
    )
    parallel: str = opt(
        "ddp",
        "under torchrun: ddp (a full model per rank) | fsdp (FSDP2: parameters, gradients "
        "and optimizer state sharded across ranks, for models that do not fit one device)",
    )
    logger: str = opt(
        "jsonl",
        "jsonl: metrics.jsonl only | tensorboard: also TensorBoard scalars in RUN/tensorboard "
        "(pip install 'jepalab[tensorboard]')",
    )


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
    success: str = opt(
        "anchors",
        "push worlds: the success test reported (both are recorded): anchors (the Push-T "
        "test of stable-worldmodel and DINO-WM: pusher and block positions within 20/512 "
        "of the goal's together, angle within 20 degrees) | strict (the block alone "
        "within 0.05 and 15 degrees)",
    )
    precision: str = opt(
        "fp32",
        "fp32 | bf16 | auto: the imagined rollouts in bf16 autocast (costs compared in fp32); "
        "auto: bf16 where the device computes it natively",
    )
    compile: bool = opt(False, "torch.compile the batched rollout (the first plan pays the compile time)")
    episodes: int = opt(50, "evaluation episodes, fixed seeds")
    max_steps: int = opt(100, "environment steps allowed per evaluation episode")
    seed: int = opt(1000, "evaluation episode i uses seed + i (collection seeds start at data.seed)")
