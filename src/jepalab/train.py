"""The training loop: one loop for every objective.

    jepalab train --data data/two-room --preset two-room --out runs/two-room

Each step: sample windows -> encode every frame (context and targets share the
encoder; no stop-gradient, as in LeWorldModel) -> predict next latents with
teacher forcing -> prediction loss + weight * anti-collapse term -> backward ->
clip -> AdamW step. Metrics (losses, latent std, effective rank, throughput) go
to metrics.jsonl; checkpoints are written atomically every
`train.checkpoint_every` steps and resume exactly with `resume=True`.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import jsonout
from . import checkpoint
from .config import RunConfig, dumps
from .data.sequences import Prefetcher, SequenceSampler
from .data.store import Episode
from .models import WorldModel
from .models.part_errors import calibrate_surprise
from .models.encoder import sense_dims
from .objectives import jepa_loss, latent_stats, make_regularizer, prediction_loss
from .parallel import (distributed, full_optimizer_state, full_state, gather_rows, grad_norm_value, is_sharded,
                       local_statistics, open_metrics, training_step_module)
from .runtime import autocast, resolve_device, step_interrupts, to_device, tune_allocator


# Settings a resumed run may change: the step budget (to train longer) and bookkeeping.
RESUMABLE_CHANGES = {"train.steps", "train.log_every", "train.checkpoint_every", "train.keep_checkpoints",
                     "train.threads", "train.device", "train.compile", "train.parallel", "train.prefetch",
                     "train.stream", "train.logger"}


def lr_at(step: int, cfg) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


def apply_gradients(loss: torch.Tensor, optimizer: torch.optim.Optimizer, params, step: int, t) -> float | None:
    """backward -> refuse a non-finite loss -> clip (train.grad_clip) -> optimizer step; -> grad norm."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss became {loss.item()} at step {step}; lower train.lr")
    norm = grad_norm_value(torch.nn.utils.clip_grad_norm_(params, t.grad_clip)) if t.grad_clip > 0 else None
    optimizer.step()
    return norm


def split_episodes(episodes: list[Episode], val_fraction: float = 0.05) -> tuple[list[Episode], list[Episode]]:
    """Hold out the last few episodes to measure prediction on data the model never trained on."""
    n_val = max(1, int(len(episodes) * val_fraction)) if len(episodes) >= 4 else 0
    return episodes[: len(episodes) - n_val], episodes[len(episodes) - n_val:]


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
        raise ValueError(f"train.batch_size={batch}: one batch of {frames} frames of {size}x{size} needs at least "
                         f"{need / 2**30:.1f} GiB for its first activations, this machine has {free / 2**30:.1f} GiB "
                         "available; lower train.batch_size")


class Trainer:
    def __init__(self, cfg: RunConfig, episodes: list[Episode], out: str | Path, progress: bool = True):
        self.cfg, self.out = cfg, Path(out)
        t = cfg.train
        # under torchrun: train.batch_size is the global batch, each rank computes its slice, DDP
        # averages the gradients; only rank 0 logs, validates, checkpoints and shows progress
        self.rank, self.world = distributed()
        if t.batch_size % self.world:
            raise ValueError(
                f"train.batch_size ({t.batch_size}) must be divisible by the number of processes ({self.world})"
            )
        self.progress = progress and self.rank == 0
        tune_allocator()
        if t.threads:
            torch.set_num_threads(t.threads)
        torch.manual_seed(t.seed)
        m = cfg.model
        train_eps, val_eps = split_episodes(episodes)
        self.train_episodes = train_eps
        steps = cfg.objective.window_steps(m.history)
        check_batch_fits(t.batch_size // self.world, steps + 1, m.image_size, m.width)
        self.sampler = SequenceSampler(train_eps, steps, m.frameskip, m.image_size, m.action_dim, seed=t.seed,
                                       senses=m.sense_list)
        self.val_sampler = (SequenceSampler(val_eps, steps, m.frameskip, m.image_size, m.action_dim, seed=t.seed + 1,
                                            senses=m.sense_list) if val_eps else None)
        self.device = resolve_device(t.device)
        self.model = checkpoint.build_world_model(m).to(self.device)
        self.objective = training_step_module(self.model, self.losses, self.device, t.compile, t.parallel)
        self.sharded = is_sharded(self.model)  # FSDP: every forward and every save is a collective
        prefetch = t.prefetch == "on" or (t.prefetch == "auto" and self.device.type == "cuda")
        self.batches = (Prefetcher(self.sampler, t.batch_size, (self.rank, self.world), pin=self.device.type == "cuda")
                        if prefetch else None)
        self.params = [p for p in self.model.parameters() if p.requires_grad]  # a frozen video encoder stays out
        self.optimizer = torch.optim.AdamW(self.params, lr=t.lr, weight_decay=t.weight_decay)
        self.regularizer = make_regularizer(cfg.objective.regularizer, cfg.objective.projections)
        self.step = 0
        self.train_seconds = 0.0
        self.warned_collapse = False

    # -- state -------------------------------------------------------------------
    def resume(self) -> bool:
        """Load the newest checkpoint of this run folder; False when there is none."""
        root = self.out / "checkpoints"
        if not (root / "latest.json").exists():
            return False
        ckpt = checkpoint.resolve(root)
        meta = checkpoint.read_meta(ckpt)
        # a key the saved config lacks (written before the key existed) has its default there
        saved, now = type(self.cfg).from_dict(meta.get("config", {}), str(ckpt)).to_dict(), self.cfg.to_dict()
        keys = [f"{s}.{k}" for s in now for k in now[s] if saved.get(s, {}).get(k) != now[s][k]]
        clash = [k for k in keys if k not in RESUMABLE_CHANGES and not k.startswith("plan.")]
        if clash:
            raise checkpoint.CheckpointError(f"{ckpt}: cannot resume, the config differs in {clash}")
        checkpoint.load_weights(self.model, ckpt / "model.safetensors")
        checkpoint.load_trainer_state(ckpt, self.model, self.optimizer, meta)
        self.sampler.rng.bit_generator.state = meta["sampler_rng"]
        self.step, self.train_seconds = meta["step"], meta.get("train_seconds", 0.0)
        if self.rank == 0:
            truncate_metrics(self.out, self.step)
        return True

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
        norms = [m for m in self.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                 and (m.training or frozen)]
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

    def save(self, recalibrate: bool = True) -> Path | None:
        """Every rank recalibrates (its BatchNorm statistics are the global batch's) and, sharded,
        helps gather the full tensors; rank 0 writes."""
        if recalibrate:
            self.recalibrate_batchnorm()
        if self.cfg.model.appearance and not self.sharded:
            self._calibrate_surprise(self.model)
        weights, optim = full_state(self.model), full_optimizer_state(self.model, self.optimizer)
        if self.rank != 0:
            return None
        if self.cfg.model.appearance and self.sharded:
            # a sharded model runs only through its forward: calibrate a plain copy of the gathered
            # weights (built under a forked RNG, so that saving leaves the training's draws alone)
            with torch.random.fork_rng(devices=[]):
                plain = WorldModel(self.cfg.model)
            plain.load_state_dict(weights)
            weights["surprise_scale"] = self._calibrate_surprise(plain).clone()
        return checkpoint.save(self.out / "checkpoints", self.step, weights, self.cfg, optim,
                               extra={"sampler_rng": self.batches.rng_state() if self.batches else
                                      self.sampler.rng.bit_generator.state,
                                      "video_encoder": self.model.video_meta(),
                                      "train_seconds": self.train_seconds},
                               keep=self.cfg.train.keep_checkpoints)

    def _calibrate_surprise(self, model: WorldModel) -> torch.Tensor:
        """What `jepalab surprise` divides each latent part's error by: its median on the training clips."""
        skip = self.cfg.model.frameskip
        scale = calibrate_surprise(model, (np.asarray(ep.pixels[::skip]) for ep in self.train_episodes))
        model.train()
        return scale

    def _warn_if_collapsing(self, m: dict) -> None:
        if (
            m["latent_std"] < 0.05
            and not self.warned_collapse
            and not self.cfg.model.freeze_encoder
            and self.step > self.cfg.train.warmup_steps
        ):
            self.warned_collapse = True
            tqdm.write(f"warning: the latent is collapsing (per-dimension std {m['latent_std']:.4f} at step "
                       f"{self.step}); raise objective.weight (now {self.cfg.objective.weight}) or lower "
                       "objective.rollout_weight")

    # -- one step ----------------------------------------------------------------
    def losses(self, obs, actions: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """obs: frames (B, T+1, H, W, 3), or with other senses a dict of them (SequenceSampler.sample)."""
        m = self.cfg.model
        return jepa_loss(self.model, obs, actions, self.cfg.objective, m.history, self.regularizer, gather=gather_rows,
                         appearance_dims=sense_dims(m).get("appearance", 0))

    def train_step(self) -> dict:
        t = self.cfg.train
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(self.step, t)
        batch = self.batches.next() if self.batches else self.sampler.sample(t.batch_size, (self.rank, self.world))
        obs, actions = to_device(self.device, *batch)
        self.model.train()
        with autocast(t.precision, self.device.type):
            loss, info = self.objective(obs, actions)
        norm = apply_gradients(loss, self.optimizer, self.params, self.step, t)
        if norm is not None:
            info["grad_norm"] = norm
        self.step += 1
        return info

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
        return prediction_loss(self.model.predict(z[:, :W], actions[:, :W]), z[:, 1:W + 1]).item()

    # -- the loop ----------------------------------------------------------------
    def fit(self, until: int | None = None) -> dict:
        """Train to `train.steps` (or stop early at step `until`, keeping the schedule of the full run)."""
        t = self.cfg.train
        stop = t.steps if until is None else min(until, t.steps)
        main = self.rank == 0
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(dumps(self.cfg))
        if self.cfg.model.freeze_encoder and self.step == 0:
            self.recalibrate_batchnorm(frozen=True)
        bar = tqdm(total=t.steps, initial=self.step, desc="train", unit="step", disable=not self.progress)
        # a resumed run with no steps left still reports where it stands
        window_start, window_steps = time.perf_counter(), 0
        last = last_metrics(self.out, self.step) if main else {}
        # a single process stops on Ctrl-C or SIGTERM at the next step boundary only, so that what it
        # saves resumes exactly (runtime.step_interrupts)
        interrupts = step_interrupts(self.world)
        try:
            with open_metrics(self.out / "metrics.jsonl", main, t.logger) as metrics, interrupts:
                while self.step < stop:
                    tic = time.perf_counter()
                    info = self.train_step()
                    self.train_seconds += time.perf_counter() - tic
                    window_steps += 1
                    logging = self.step % t.log_every == 0 or self.step == t.steps
                    # sharded, every rank joins the forward passes of validation; rank 0 records it
                    val = self.validate() if logging and (main or self.sharded) else None
                    if main and logging:
                        elapsed = time.perf_counter() - window_start
                        last = {"step": self.step, "lr": lr_at(self.step - 1, t),
                                **{k: v for k, v in info.items() if k != "z"},
                                **latent_stats(info["z"].reshape(-1, info["z"].shape[-1])),
                                "val_pred_loss": val,
                                "samples_per_s": window_steps * t.batch_size / elapsed,
                                "train_seconds": self.train_seconds}
                        metrics.write(last)
                        self._warn_if_collapsing(last)
                        bar.set_postfix(loss=f"{last['loss']:.4f}", pred=f"{last['pred_loss']:.4f}",
                                        rank=f"{last['effective_rank']:.1f}", sps=f"{last['samples_per_s']:.0f}")
                        window_start, window_steps = time.perf_counter(), 0
                    saved = self.step % t.checkpoint_every == 0 or self.step == t.steps
                    if saved:
                        self.save()
                    bar.update(1)
                    if interrupts.requested:
                        if main and not saved:  # a step boundary: --resume continues exactly from here
                            self.save(recalibrate=True)
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            if interrupts.forced or self.world > 1:
                tqdm.write("interrupted mid-step: not saved; --resume continues from the last checkpoint")
            raise
        finally:
            bar.close()
            if self.batches is not None:
                self.batches.pause()  # nothing in flight between fit() calls: the sampler's state is exact
        return {**last, "step": self.step, "train_seconds": self.train_seconds}


def train(cfg: RunConfig, episodes: list[Episode], out: str | Path, resume: bool = False,
          progress: bool = True) -> tuple[WorldModel, dict]:
    with checkpoint.run_lock(out):
        if not resume:
            checkpoint.refuse_fresh_start(out)
        trainer = Trainer(cfg, episodes, out, progress)
        if resume and trainer.resume() and trainer.rank == 0:
            print(f"resumed {out} at step {trainer.step}")
        result = trainer.fit()
    return trainer.model.cpu().eval(), result  # planning and evaluation run on the CPU


def latest_metrics(run: Path) -> list[dict]:
    """The records of RUN/metrics.jsonl (none if it is missing). A line cut short by a run killed
    mid-write is skipped, so that the run still resumes and plots."""
    path = Path(run) / "metrics.jsonl"
    records = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


def truncate_metrics(run: Path, step: int) -> None:
    """Drop the records after `step`: a run resumed from that checkpoint logs those steps again."""
    path = Path(run) / "metrics.jsonl"
    if path.exists():
        path.write_text("".join(jsonout.dumps(m) + "\n" for m in latest_metrics(run) if m.get("step", 0) <= step))


def last_metrics(run: Path, step: int) -> dict:
    """The newest record at or before `step`, or {}."""
    return next((m for m in reversed(latest_metrics(run)) if m.get("step", 0) <= step), {}) if step else {}

