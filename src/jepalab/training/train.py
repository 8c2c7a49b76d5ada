"""Training an action-conditioned world model: the JEPA loss (objectives.jepa_loss) on windows of
episodes, in the shared training loop (training/loop.py).

    jepalab train --data data/two-room --preset two-room --out runs/two-room

Each step: sample windows -> encode every frame (context and targets share the
encoder; no stop-gradient, as in LeWorldModel) -> predict next latents with
teacher forcing -> prediction loss + weight * anti-collapse term -> backward ->
clip -> AdamW step. Metrics (losses, latent std, effective rank, throughput) go
to metrics.jsonl; checkpoints are written atomically every
`train.checkpoint_every` steps and resume exactly with `resume=True`. At each save
the BatchNorm statistics are made exact and the model calibrates what it measures
on training clips (WorldModel.calibrate).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..config import RunConfig
from ..data.sequences import Prefetcher, SequenceSampler
from ..data.store import Episode
from ..models import WorldModel, build
from ..runtime import resolve_device, run_threads, to_device, tune_allocator
from . import checkpoint
from .loop import TrainingLoop, processes
from .objectives import jepa_loss, make_regularizer, prediction_loss
from .parallel import gather_rows, is_sharded, local_statistics, training_step_module

# Settings a resumed run may change: the step budget (to train longer) and bookkeeping.
RESUMABLE_CHANGES = {
    "train.steps",
    "train.log_every",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.threads",
    "train.threads_follow_load",
    "train.probe_minutes",
    "train.device",
    "train.compile",
    "train.parallel",
    "train.prefetch",
    "train.stream",
    "train.logger",
    "train.cache_latents",
    # how the store was collected: runs from before config.json described their --data store hold the
    # preset's collection settings here, and must still resume
    "data.episodes",
    "data.steps_per_episode",
    "data.seed",
    "data.policy",
    "data.variety",
}


def split_episodes(episodes: list[Episode], val_fraction: float = 0.05) -> tuple[list[Episode], list[Episode]]:
    """Hold out the last few episodes to measure prediction on data the model never trained on."""
    n_val = max(1, int(len(episodes) * val_fraction)) if len(episodes) >= 4 else 0
    return episodes[: len(episodes) - n_val], episodes[len(episodes) - n_val :]


def available_memory() -> int | None:
    """Bytes the OS can still hand out (Linux MemAvailable), or None where it does not say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_batch_fits(batch: int, frames: int, size: int, width: int) -> None:
    """Refuse a batch whose first activations alone cannot fit in memory, before allocating any: an
    absurd train.batch_size otherwise ends in the OOM killer or a MemoryError deep in the model."""
    need = batch * frames * size * size * (3 + width) * 4  # float frames + the first convolution's output
    free = available_memory()
    if free is not None and need > free:
        raise ValueError(
            f"train.batch_size={batch}: one batch of {frames} frames of {size}x{size} needs at least "
            f"{need / 2**30:.1f} GiB for its first activations, this machine has {free / 2**30:.1f} GiB "
            "available; lower train.batch_size"
        )


class Trainer(TrainingLoop):
    def __init__(self, cfg: RunConfig, episodes: list[Episode], out: str | Path, progress: bool = True):
        t = cfg.train
        # under torchrun: train.batch_size is the global batch, each rank computes its slice, DDP
        # averages the gradients; only rank 0 logs, validates, checkpoints and shows progress
        rank, world = processes(t)
        tune_allocator()
        run_threads(t.threads)  # before the first weight is drawn; the loop records the count
        torch.manual_seed(t.seed)
        m = cfg.model
        # the model first: its initial weights depend on the seed alone (the samplers draw from numpy)
        model = checkpoint.build_world_model(m)
        device = resolve_device(t.device)
        self.cfg, self.model = cfg, model.to(device)
        # wrapped (DDP, FSDP, torch.compile) before the loop makes the optimizer: FSDP replaces the parameters
        self.objective = training_step_module(self.model, self.losses, device, t.compile, t.parallel)
        self.regularizer = make_regularizer(cfg.objective.regularizer, cfg.objective.projections)
        super().__init__(cfg, self.model, t, out, device, progress, rank, world)
        self.sharded = is_sharded(self.model)  # FSDP: every forward and every save is a collective
        self.caches_features = self.feature_cache_applies()
        # then the data it learns from
        train_eps, val_eps = split_episodes(episodes)
        self.train_episodes, self.val_episodes = train_eps, val_eps
        steps = cfg.objective.window_steps(m.history)
        check_batch_fits(t.batch_size // world, steps + 1, m.image_size, m.width)
        self.sampler = SequenceSampler(
            train_eps, steps, m.frameskip, m.image_size, m.action_dim, seed=t.seed, senses=m.sense_list
        )
        self.val_sampler = (
            SequenceSampler(
                val_eps, steps, m.frameskip, m.image_size, m.action_dim, seed=t.seed + 1, senses=m.sense_list
            )
            if val_eps
            else None
        )
        prefetch = t.prefetch == "on" or (t.prefetch == "auto" and self.device.type == "cuda")
        self.batches = (
            Prefetcher(self.sampler, t.batch_size, (self.rank, self.world), pin=self.device.type == "cuda")
            if prefetch
            else None
        )
        self.warned_collapse = False
        # what the latent holds, probed every train.probe_minutes (a callable from an outer layer, e.g.
        # evals.variables.LatentWatch: trainer -> {"probe/<variable>": R²}); None: not probed
        self.watch, self.probed_at = None, 0.0

    def feature_cache_applies(self) -> bool:
        """train.cache_latents: whether this run trains from a frozen front's cached features."""
        mode, front = self.cfg.train.cache_latents, self.model.encoder.frozen_front
        from ..models.encoder import Encoder

        why_not = (
            "the encoder learns end to end: nothing of it is frozen"
            if front is None
            else "the model fuses more than frames (model.senses, appearance or spatial)"
            if type(self.model) is not WorldModel or type(self.model.encoder) is not Encoder
            else "its parameters are sharded across processes (train.parallel=fsdp)"
            if self.sharded
            else None
        )
        if mode == "on" and why_not:
            raise ValueError(f"train.cache_latents=on: {why_not}")
        return mode != "off" and why_not is None

    # -- the loss ----------------------------------------------------------------------
    def losses(self, obs, actions: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """obs: frames (B, T+1, H, W, 3), or with other senses a dict of them (SequenceSampler.sample)."""
        return jepa_loss(
            self.model, obs, actions, self.cfg.objective, self.cfg.model.history, self.regularizer, gather=gather_rows
        )

    def next_batch(self) -> tuple:
        t = self.cfg.train
        batch = self.batches.next() if self.batches else self.sampler.sample(t.batch_size, (self.rank, self.world))
        return to_device(self.device, *batch)

    def loss(self, obs, actions: torch.Tensor) -> tuple[torch.Tensor, dict]:
        return self.objective(obs, actions)  # the loss, through DDP / FSDP / torch.compile as configured

    # -- logging -----------------------------------------------------------------------
    def record(self, info: dict) -> dict:
        # sharded, every rank joins the forward passes of validation; rank 0 records it
        out = {"val_pred_loss": self.validate() if self.rank == 0 or self.sharded else None}
        every = 60 * self.cfg.train.probe_minutes
        last = self.step == self.cfg.train.steps and self.probed_at > 0  # a run that was probed ends probed
        if self.watch is not None and every > 0 and (self.train_seconds - self.probed_at >= every or last):
            self.probed_at = self.train_seconds
            if self.rank == 0 and not self.sharded:
                out.update(self.watch(self))
        return out

    def logged(self, record: dict) -> None:
        if (
            record["latent_std"] < 0.05
            and not self.warned_collapse
            and not self.cfg.model.freeze_encoder
            and self.step > self.cfg.train.warmup_steps
        ):
            self.warned_collapse = True
            tqdm.write(
                f"warning: the latent is collapsing (per-dimension std {record['latent_std']:.4f} at step "
                f"{self.step}); raise objective.weight (now {self.cfg.objective.weight}) or lower "
                "objective.rollout_weight"
            )

    def postfix(self, record: dict) -> dict:
        return {
            "loss": f"{record['loss']:.4f}",
            "pred": f"{record['pred_loss']:.4f}",
            "rank": f"{record['effective_rank']:.1f}",
            "sps": f"{record['samples_per_s']:.0f}",
        }

    @torch.no_grad()
    def validate(self, batch_size: int = 128) -> float:
        """Prediction loss on held-out episodes. BatchNorm uses the statistics of this large
        held-out batch (the running averages are only made exact at checkpoints)."""
        if self.val_sampler is None:
            return float("nan")
        state = self.val_sampler.rng.bit_generator.state
        obs, actions = to_device(self.device, *self.val_sampler.sample(batch_size))
        self.val_sampler.rng.bit_generator.state = state  # the same windows every time: comparable numbers
        self.model.eval()
        if not self.cfg.model.freeze_encoder:  # a frozen encoder keeps its own statistics
            self.model.encoder.projector.train()  # batch statistics, see the docstring
        W = self.cfg.model.history
        with local_statistics():  # rank 0 validates alone
            z = self.model.encode(obs)
        self.model.eval()
        return prediction_loss(self.model.predict(z[:, :W], actions[:, :W]), z[:, 1 : W + 1]).item()

    # -- checkpoints ---------------------------------------------------------------------
    def check_resumable(self, ckpt: Path, meta: dict) -> None:
        # a key the saved config lacks (written before the key existed) has its default there
        saved, now = type(self.cfg).from_dict(meta.get("config", {}), str(ckpt)).to_dict(), self.cfg.to_dict()
        keys = [f"{s}.{k}" for s in now for k in now[s] if saved.get(s, {}).get(k) != now[s][k]]
        clash = [k for k in keys if k not in RESUMABLE_CHANGES and not k.startswith("plan.")]
        if clash:
            raise checkpoint.CheckpointError(f"{ckpt}: cannot resume, the config differs in {clash}")

    def restore(self, meta: dict) -> None:
        self.sampler.rng.bit_generator.state = meta["sampler_rng"]

    def checkpoint_extra(self) -> dict:
        return {
            "sampler_rng": self.batches.rng_state() if self.batches else self.sampler.rng.bit_generator.state,
            "video_encoder": self.model.video_meta(),
        }

    def training_clips(self):
        """Each training episode's frames at the model's step, read one at a time."""
        return (np.asarray(ep.pixels[:: self.cfg.model.frameskip]) for ep in self.train_episodes)

    def before_save(self) -> None:
        """Every rank recalibrates (its BatchNorm statistics are the global batch's); the model
        calibrates what it measures on training clips (a sharded one: on rank 0, complete_weights)."""
        self.recalibrate_batchnorm()
        if not self.sharded:
            self.model.calibrate(self.training_clips())

    def complete_weights(self, weights: dict) -> None:
        if self.sharded and self.model.calibrated_at_save:
            # a sharded model runs only through its forward: calibrate a plain copy of the gathered
            # weights (built under a forked RNG, so that saving leaves the training's draws alone)
            with torch.random.fork_rng(devices=[]):
                plain = build(self.cfg.model, video=self.model.video)
            plain.load_state_dict(weights)
            weights.update(plain.calibrate(self.training_clips()))

    @torch.no_grad()
    def recalibrate_batchnorm(self, batches: int = 40, frozen: bool = False) -> None:
        """Recompute BatchNorm statistics on the current weights ("precise BN").

        Running averages lag behind weights that are still moving; planning runs in eval
        mode on those statistics, and a small lag in variance made eval-mode prediction error
        several times worse than with exact statistics (docs/measurements.md, "Figures
        behind code comments"). A cumulative average over
        `batches` fresh batches fixes that. Its own seeded generator leaves the training
        batch sequence untouched, so resuming stays exact.

        A frozen encoder stays in eval mode (WorldModel.train) and keeps its statistics; `frozen=True`
        measures them instead, once, before its first step: random weights with statistics of the data
        give a latent of unit scale.
        """
        self.model.train()
        norms = [
            m
            for m in self.model.modules()
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and (m.training or frozen)
        ]
        for m in norms:
            m.train()
        if not norms:
            return
        if self.batches is not None:
            self.batches.pause()  # the draw in flight is made again after, from the same state
        saved_rng = self.sampler.rng
        self.sampler.rng = np.random.default_rng([self.cfg.train.seed, self.step])
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        for _ in range(batches):
            self.model.encode(
                to_device(self.device, self.sampler.sample(self.cfg.train.batch_size, (self.rank, self.world))[0])[0]
            )
        for m, mom in zip(norms, momenta):
            m.momentum = mom
        self.model.train()  # a frozen encoder back to eval mode
        self.sampler.rng = saved_rng

    # -- the run ---------------------------------------------------------------------------
    def start(self) -> None:
        if self.cfg.model.freeze_encoder and self.step == 0:
            self.recalibrate_batchnorm(frozen=True)  # before a cache: the frozen front's output depends on them
        if self.caches_features and not self.sampler.features:
            from .feature_cache import open_cache

            if self.batches is not None:
                self.batches.pause()
            folder = self.out / "feature_cache" if self.out is not None and self.rank == 0 else None
            features = open_cache(
                self.model.encoder, self.train_episodes + self.val_episodes, folder, self.device, self.progress
            )
            self.sampler.use_features(features[: len(self.train_episodes)])
            if self.val_sampler is not None:
                self.val_sampler.use_features(features[len(self.train_episodes) :])

    def finish(self) -> None:
        if self.batches is not None:
            self.batches.pause()  # nothing in flight between runs: the sampler's state is exact


def run_config(preset_name: str, sets: list[str], meta: dict | None = None) -> RunConfig:
    """The config of a training run: a preset, `sets` ('section.key=value', --set's) over it, then what
    the data decides wherever no setting names it: its world, action size, frame size and, for a model
    that fuses them, its proprio and depth sizes (from a store's dataset.json, `meta`), and how it was
    collected (episodes, steps, seeds, policy, bounce's variety), so that config.json describes the
    store a model learned from: the held-out checks of `jepalab bench` read those seeds."""
    from ..config import override, preset
    from ..data.collect import collected_with

    cfg = override(preset(preset_name), list(sets), validate=False)
    named = {s.partition("=")[0] for s in sets}
    m = cfg.model
    fields = {
        "model.action_dim": "action_dim",
        "model.image_size": "image_size",
        **({"model.proprio_dim": "proprio_dim"} if "proprio" in m.sense_list else {}),
        **({"model.depth_size": "depth_size"} if "depth" in m.sense_list else {}),
    }
    said = {
        **{f"data.{k}": v for k, v in collected_with(meta or {}).items()},
        **{key: meta[field] for key, field in fields.items() if meta and meta.get(field) is not None},
    }
    from_data = [f"{key}={value}" for key, value in said.items() if key not in named]
    if "proprio" in m.sense_list and not m.proprio_dim and not from_data:
        from_data = ["model.proprio_dim=1"]  # a stand-in until a store says its size
    return override(cfg, from_data)


def training_data(
    cfg: RunConfig, out: str | Path, data: str | Path | None = None, world: str | None = None, progress: bool = True
):
    """The store a run trains on: `data` as it is, or `world` collected into OUT/data by data.* settings
    (under torchrun rank 0 collects and the others wait); -> EpisodeStore."""
    from ..data.collect import collect
    from ..data.store import EpisodeStore
    from .parallel import barrier, distributed

    if data is not None:
        return EpisodeStore(data)
    if distributed()[0] == 0:
        d, m = cfg.data, cfg.model
        collect(
            world,
            d.episodes,
            d.steps_per_episode,
            Path(out) / "data",
            seed=d.seed,
            progress=progress,
            policy=d.policy,
            image_size=m.image_size,
            depth_size=m.depth_size if "depth" in m.sense_list else 0,
            variety=d.variety,
        )
    barrier()
    return EpisodeStore(Path(out) / "data")


def train(
    cfg: RunConfig, episodes: list[Episode], out: str | Path, resume: bool = False, progress: bool = True, watch=None
) -> tuple[WorldModel, dict]:
    """watch: what probes the latent every train.probe_minutes (Trainer.watch), or None."""
    with checkpoint.run_lock(out):
        if not resume:
            checkpoint.refuse_fresh_start(out)
        trainer = Trainer(cfg, episodes, out, progress)
        trainer.watch = watch(trainer) if watch is not None else None
        if resume and trainer.resume() and trainer.rank == 0:
            print(f"resumed {out} at step {trainer.step}")
        result = trainer.run()
    return trainer.model.cpu().eval(), result  # planning and evaluation run on the CPU
