"""The training loop that `train`, `pretrain` and the pixel-predictor baseline share.

The loop owns what every training run does the same way: the steps, the LR schedule (linear
warm-up, cosine decay), the gradient clip, the metrics log and progress bar, atomic checkpoints and
exact resume, and Ctrl-C / SIGTERM handled at a step boundary. A subclass brings its model and what
differs: how a batch is drawn (`next_batch`) and scored (`loss`), what happens after each optimizer
step (`after_step`, e.g. an EMA target), what a checkpoint carries beside the weights
(`checkpoint_extra`, `restore`), and hooks run at each save (`before_save` on every process,
`complete_weights` on the writing one).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..config import dumps
from ..data import jsonout
from ..runtime import ThreadGovernor, autocast, run_threads, step_interrupts
from . import checkpoint
from .objectives import latent_stats
from .parallel import distributed, full_optimizer_state, full_state, grad_norm_value, open_metrics


def lr_at(step: int, cfg) -> float:
    """Linear warm-up, then cosine decay to 10% of the peak."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, progress))))


def apply_gradients(loss: torch.Tensor, optimizer: torch.optim.Optimizer, params, train_cfg) -> torch.Tensor | None:
    """backward -> clip (train.grad_clip) -> optimizer step; -> the gradient norm before clipping, as a
    tensor: nothing here waits for the device (the loop reads numbers at log steps)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    clip = train_cfg.grad_clip
    norm = torch.nn.utils.clip_grad_norm_(params, clip) if clip > 0 else None
    optimizer.step()
    return norm


def as_numbers(info: dict) -> dict:
    """A step's logged parts (tensors, kept on the device until a log step) as Python floats."""
    return {k: grad_norm_value(v) if torch.is_tensor(v) and v.numel() == 1 else v for k, v in info.items()}


def processes(train_cfg) -> tuple[int, int]:
    """(rank, number of processes) under torchrun, (0, 1) alone; train.batch_size must split evenly."""
    rank, world = distributed()
    if train_cfg.batch_size % world:
        raise ValueError(
            f"train.batch_size ({train_cfg.batch_size}) must be divisible by the number of processes ({world})"
        )
    return rank, world


class TrainingLoop:
    """Train `model` by the TrainConfig `train_cfg`, logging and checkpointing into `out` (None: neither).
    Under torchrun every rank runs the loop; rank 0 alone logs, shows progress and writes."""

    desc = "train"  # the progress bar's label
    rate = "samples_per_s"  # the throughput's name in the metrics

    def __init__(
        self,
        cfg,
        model: torch.nn.Module,
        train_cfg,
        out: str | Path | None,
        device: torch.device,
        progress: bool = True,
        rank: int = 0,
        world: int = 1,
    ):
        # the thread count is fixed for the run (runtime.run_threads) and written where the run's config
        # goes (config.json, every checkpoint), so that --resume takes it up again (resume())
        self.threads_asked = train_cfg.threads
        threads = run_threads(train_cfg.threads)
        if getattr(cfg, "train", None) is train_cfg:
            cfg = copy.deepcopy(cfg)
            cfg.train.threads, train_cfg = threads, cfg.train
        else:
            train_cfg = dataclasses.replace(train_cfg, threads=threads)
        self.cfg, self.model, self.train_cfg, self.device = cfg, model, train_cfg, device
        self.out = None if out is None else Path(out)
        self.rank, self.world = rank, world
        self.writes = rank == 0 and self.out is not None
        self.progress = progress and rank == 0
        self.params = [p for p in model.parameters() if p.requires_grad]  # a frozen encoder stays out
        self.optimizer = torch.optim.AdamW(self.params, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
        self.step, self.train_seconds = 0, 0.0
        self.first_step = 0  # where this process began (a resume: the checkpoint's step)
        # the first step whose loss was not finite (-1: none), kept on the device and read at log steps
        # and saves, so that a step never waits for the device to say so
        self.first_nonfinite = torch.tensor(-1, device=device)
        follow = train_cfg.threads_follow_load and device.type == "cpu"
        self.governor = ThreadGovernor(threads) if follow else None
        # fixed threads beside a busy process: said once, with the ways out (docs/measurements.md)
        self.load_watch = ThreadGovernor(threads) if device.type == "cpu" and not follow and threads > 1 else None

    # -- what a subclass brings ----------------------------------------------------
    def next_batch(self) -> tuple:
        raise NotImplementedError

    def loss(self, *batch) -> tuple[torch.Tensor, dict]:
        """The batch's loss and its logged parts ("z": latents for collapse statistics)."""
        raise NotImplementedError

    def lr(self, step: int) -> float:
        return lr_at(step, self.train_cfg)

    def start(self) -> None:
        """Before the first step of each `run`."""

    def after_step(self) -> None:
        """After each optimizer step, before the step counter moves."""

    def record(self, info: dict) -> dict | None:
        """What a logging step adds to its metrics record; called on every rank (a sharded model
        runs forward passes on all of them), used on rank 0."""
        return {}

    def logged(self, record: dict) -> None:
        """Rank 0, after a record is written (e.g. a warning it calls for)."""

    def postfix(self, record: dict) -> dict:
        return {"loss": f"{record['loss']:.4f}"}

    def before_save(self) -> None:
        """Every rank, before the weights are gathered (e.g. precise BatchNorm statistics)."""

    def complete_weights(self, weights: dict) -> None:
        """Rank 0, on the gathered weights before they are written."""

    def checkpoint_extra(self) -> dict:
        """What meta.json carries beside the step and the config."""
        return {}

    def check_resumable(self, ckpt: Path, meta: dict) -> None:
        """Refuse a checkpoint this run cannot continue (a CheckpointError naming it)."""

    def restore(self, meta: dict) -> None:
        """Restore what checkpoint_extra saved (e.g. the sampler's random state)."""

    def finish(self) -> None:
        """After each `run`, however it ends."""

    # -- state -----------------------------------------------------------------------
    def resume(self) -> bool:
        """Load the newest checkpoint of this run folder; False when there is none."""
        root = self.out / "checkpoints"
        if not (root / "latest.json").exists():
            return False
        ckpt = checkpoint.resolve(root)
        meta = checkpoint.read_meta(ckpt)
        self.check_resumable(ckpt, meta)
        self.resume_threads(meta)
        if self.train_cfg.precision == "auto" and meta.get("precision") in ("fp32", "bf16"):
            self._precision = meta["precision"]  # as the run chose it: the resumed steps compute as the first
        checkpoint.load_weights(self.model, ckpt / "model.safetensors")
        checkpoint.load_trainer_state(ckpt, self.model, self.optimizer, meta)
        self.restore(meta)
        self.step, self.train_seconds = meta["step"], meta.get("train_seconds", 0.0)
        self.first_step = self.step
        if self.rank == 0:
            truncate_metrics(self.out, self.step)
        return True

    def resume_threads(self, meta: dict) -> None:
        """Take up the thread count the checkpoint was trained on, unless train.threads names another:
        on the same count the resumed run ends on the uninterrupted run's weights."""
        saved = meta.get("config", {}).get("train", {}).get("threads", 0)
        if self.threads_asked or not isinstance(saved, int) or saved < 1 or saved == self.train_cfg.threads:
            return
        self.train_cfg.threads = run_threads(saved)
        if self.governor is not None:
            self.governor.most = saved

    def warn_if_cores_are_taken(self) -> None:
        """Once, early: another process keeps a core busy, so this run's spinning threads wait on peers
        the OS has descheduled (each step up to 8x slower here; docs/measurements.md)."""
        others, self.load_watch = self.load_watch.measure(), None
        if others >= 0.75 and self.progress:
            tqdm.write(
                f"note: other processes keep {others:.1f} cores busy; with {self.train_cfg.threads} threads "
                "each step can run several times slower. Exact and faster beside them: OMP_WAIT_POLICY=passive "
                "(set before starting) or --set train.threads=1; fastest, but no longer bit-exact: "
                "--set train.threads_follow_load=true"
            )

    def check_finite(self) -> None:
        """Refuse a run whose loss stopped being finite, before it logs or saves anything after that."""
        bad = int(self.first_nonfinite)
        if bad >= 0 and bad == self.first_step:  # before any update of this process: not a step size
            first = "of this run" if bad == 0 else "after resuming"
            raise FloatingPointError(
                f"loss is non-finite (NaN or inf) at step {bad}, the first step {first}, "
                "before any update: the batch or the weights hold values the model cannot compute with "
                "(`jepalab inspect DATA` checks a store); a lower train.lr cannot help"
            )
        if bad >= 0:
            raise FloatingPointError(
                f"loss became non-finite (NaN or inf) at step {bad}; lower train.lr. "
                f"--resume continues from the last checkpoint, before it"
            )

    def save(self) -> Path | None:
        """Every rank runs the hooks and, sharded, helps gather the full tensors; rank 0 writes."""
        self.check_finite()
        self.before_save()
        weights, optim = full_state(self.model), full_optimizer_state(self.model, self.optimizer)
        if self.rank != 0:
            return None
        self.complete_weights(weights)
        return checkpoint.save(
            self.out / "checkpoints",
            self.step,
            weights,
            self.cfg,
            optim,
            extra={**self.checkpoint_extra(), "train_seconds": self.train_seconds, "precision": self.precision},
            keep=self.train_cfg.keep_checkpoints,
        )

    # -- the loop --------------------------------------------------------------------
    def train_step(self) -> tuple[torch.Tensor, dict]:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr(self.step)
        batch = self.next_batch()
        self.model.train()
        if not hasattr(self, "_precision"):
            self.choose_precision(batch)
        with autocast(self.precision, self.device.type):
            loss, info = self.loss(*batch)
        loss_now = loss.detach()
        self.first_nonfinite = torch.where(
            (self.first_nonfinite < 0) & ~torch.isfinite(loss_now), self.step, self.first_nonfinite
        )
        norm = apply_gradients(loss, self.optimizer, self.params, self.train_cfg)
        if norm is not None:
            info["grad_norm"] = norm
        self.after_step()
        self.step += 1
        return loss_now, info

    @property
    def precision(self) -> str:
        """train.precision as this run applies it; auto is decided at the first step (choose_precision)
        or taken from the checkpoint a run resumes."""
        if not hasattr(self, "_precision"):
            self.choose_precision(None)
        return self._precision

    def choose_precision(self, batch) -> None:
        """auto: bf16 on a GPU that computes it; on a CPU, where this model's own step on `batch` is
        measured to pay (training/precision.py; without a batch, or with several processes or a
        compiled step: the cached choice, else fp32)."""
        from ..runtime import resolve_precision
        from .precision import choose

        self.precision_note = None
        if self.train_cfg.precision != "auto" or self.device.type != "cpu":
            self._precision = resolve_precision(self.train_cfg.precision, self.device)
            return
        to_dict = getattr(self.cfg, "to_dict", None)
        sections = {k: v for k, v in to_dict().items() if k not in ("train", "plan", "data")} if to_dict else {}
        shapes = [list(t.shape) for t in _tensors(batch)] if batch is not None else None
        signature = {"loop": type(self).__name__, "config": sections, "batch": shapes}
        measure = batch is not None and self.world == 1 and not self.train_cfg.compile
        self.precision_note = choose(lambda: self.loss(*batch)[0], self.model, signature, measure)
        self._precision = self.precision_note["precision"]
        if self.progress:
            tqdm.write(f"train.precision=auto: {self._precision} ({self.precision_note['why']})")

    def compile_info(self) -> dict:
        """With train.compile: the seconds the first step spent compiling (inside train_seconds), so
        a run's log says what compiling cost and when it paid off."""
        seconds = getattr(getattr(self, "objective", None), "compile_seconds", None)
        return {} if seconds is None else {"compile_seconds": seconds}

    def run(self, until: int | None = None) -> dict:
        """Train to `train.steps` (or stop early at step `until`, keeping the schedule of the full run)."""
        t = self.train_cfg
        stop = t.steps if until is None else min(until, t.steps)
        self.start()
        if self.writes:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(dumps(self.cfg))
        bar = tqdm(total=t.steps, initial=self.step, desc=self.desc, unit="step", disable=not self.progress)
        window_start, window_steps = time.perf_counter(), 0
        watch_at = self.step + 3  # the load beside this run, measured over its start and first steps
        last = last_metrics(self.out, self.step) if self.writes else {}  # a run with no steps left still reports
        # a single process stops on Ctrl-C or SIGTERM at the next step boundary only, so that what it
        # saves resumes exactly (runtime.step_interrupts)
        interrupts = step_interrupts(self.world)
        try:
            with open_metrics(Path(self.out or ".") / "metrics.jsonl", self.writes, t.logger) as metrics, interrupts:
                while self.step < stop:
                    tic = time.perf_counter()
                    loss, info = self.train_step()
                    self.train_seconds += time.perf_counter() - tic
                    window_steps += 1
                    if self.governor is not None and self.step == 2:  # soon after the start, then at log steps
                        self.governor.check()
                    if self.load_watch is not None and self.step == watch_at:
                        self.warn_if_cores_are_taken()
                    if self.step % t.log_every == 0 or self.step == t.steps:
                        self.check_finite()
                        extra = self.record(info)
                        if self.governor is not None:
                            info["threads"] = self.governor.check()
                        if self.writes:
                            z = info.pop("z", None)
                            info = as_numbers(info)
                            last = {
                                "step": self.step,
                                "lr": self.lr(self.step - 1),
                                "loss": float(loss),
                                **info,
                                **(latent_stats(z.reshape(-1, z.shape[-1])) if z is not None else {}),
                                **extra,
                                self.rate: window_steps * t.batch_size / (time.perf_counter() - window_start),
                                "train_seconds": self.train_seconds,
                                **self.compile_info(),
                            }
                            metrics.write(last)
                            self.logged(last)
                            bar.set_postfix(self.postfix(last))
                        window_start, window_steps = time.perf_counter(), 0
                    saved = self.out is not None and (self.step % t.checkpoint_every == 0 or self.step == t.steps)
                    if saved:
                        self.save()
                    bar.update(1)
                    if interrupts.requested:
                        if self.writes and not saved:  # a step boundary: --resume continues exactly from here
                            self.save()
                        raise KeyboardInterrupt
        except KeyboardInterrupt:
            if interrupts.forced or self.world > 1:
                tqdm.write("interrupted mid-step: not saved; --resume continues from the last checkpoint")
            raise
        finally:
            bar.close()
            self.finish()
        return {**last, "step": self.step, "train_seconds": self.train_seconds}


def _tensors(batch):
    """The tensors of a batch (a tuple of tensors, or of dicts of them), in order."""
    for x in batch:
        if isinstance(x, dict):
            yield from (x[k] for k in sorted(x))
        elif torch.is_tensor(x):
            yield x


def draw_curves(run) -> Path | None:
    """RUN/training.png from RUN/metrics.jsonl (None when there is nothing to draw), at the end of
    `train` and `pretrain`."""
    from ..plots import plot_training

    metrics = latest_metrics(run)
    return plot_training(metrics, Path(run) / "training.png") if metrics else None


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
