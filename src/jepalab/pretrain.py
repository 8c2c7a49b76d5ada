"""Self-supervised video pretraining (V-JEPA): predict masked space-time latents.

    jepalab pretrain --world bounce --preset video-small --out runs/v
    jepalab pretrain --videos my_videos/ --preset video-small --out runs/v

Each step: a batch of clips -> multi-block masks (masks.py) -> context tokens
through the encoder, target latents from the EMA encoder (or the encoder itself
with SIGReg) -> L1 between predicted and target latents -> AdamW step -> EMA
update. Metrics and checkpoints as in train.py; the checkpoint's meta says
`"kind": "video"`.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import checkpoint
from .config import PretrainConfig, dumps
from .data.clips import make_clip_source
from .masks import future_masks, multiblock_masks
from .models.video import VideoJEPA
from .objectives import latent_stats
from .parallel import (distributed, full_optimizer_state, full_state, is_sharded, open_metrics, reshard,
                       training_step_module)
from .runtime import autocast, resolve_device, step_interrupts, to_device, tune_allocator
from .train import apply_gradients, last_metrics, lr_at, truncate_metrics


def ema_momentum(step: int, cfg: PretrainConfig) -> float:
    v = cfg.video
    return v.ema_start + (v.ema_end - v.ema_start) * min(1.0, step / max(1, cfg.train.steps))


def pretrain(
    cfg: PretrainConfig, out: str | Path, resume: bool = False, progress: bool = True
) -> tuple[VideoJEPA, dict]:
    with checkpoint.run_lock(out):
        return _pretrain(cfg, out, resume, progress)


def _pretrain(cfg: PretrainConfig, out: str | Path, resume: bool, progress: bool) -> tuple[VideoJEPA, dict]:
    tune_allocator()
    t, v, out = cfg.train, cfg.video, Path(out)
    if not resume:
        checkpoint.refuse_fresh_start(out)
    if t.threads:
        torch.set_num_threads(t.threads)
    # under torchrun: train.batch_size clips per step in all, each rank draws its own from its own
    # stream; DDP averages the gradients; rank 0 alone logs and writes checkpoints
    rank, world = distributed()
    if t.batch_size % world:
        raise ValueError(f"train.batch_size ({t.batch_size}) must be divisible by the number of processes ({world})")
    progress = progress and rank == 0
    device = resolve_device(t.device)
    torch.manual_seed(t.seed)
    model = VideoJEPA(v).to(device)
    objective = training_step_module(model, model.loss, device, t.compile, t.parallel)
    sharded = is_sharded(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    step, seconds = 0, 0.0
    if resume and (out / "checkpoints" / "latest.json").exists():
        ckpt = checkpoint.resolve(out)
        meta = checkpoint.read_meta(ckpt)
        if meta.get("kind") != "video" or meta["config"]["video"] != cfg.to_dict()["video"]:
            raise checkpoint.CheckpointError(f"{ckpt}: cannot resume, it is not this video model")
        checkpoint.load_weights(model, ckpt / "model.safetensors")
        checkpoint.load_trainer_state(ckpt, model, optimizer, meta)
        step, seconds = meta["step"], meta.get("train_seconds", 0.0)
        if rank == 0:
            truncate_metrics(out, step)
            print(f"resumed {out} at step {step}")
    # a resumed stream continues with fresh clips; each rank has a stream of its own
    source = make_clip_source(cfg.source, v, seed_offset=step + 100_000_000 * rank)
    masks_gen = torch.Generator().manual_seed(t.seed + step + 100_000_000 * rank)
    grid = (v.frames // v.tubelet, v.size // v.patch, v.size // v.patch)
    local_batch = t.batch_size // world
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(dumps(cfg))

    def save():
        weights, optim = full_state(model), full_optimizer_state(model, optimizer)  # sharded: a collective
        if rank != 0:
            return None
        return checkpoint.save(out / "checkpoints", step, weights, cfg, optim, keep=t.keep_checkpoints,
                               extra={"kind": "video", "train_seconds": seconds, "skipped_files": source.skipped})

    last = last_metrics(out, step) if rank == 0 else {}  # a resumed run with no steps left still reports
    bar = tqdm(total=t.steps, initial=step, desc="pretrain", unit="step", disable=not progress)
    interrupts = step_interrupts(world)  # Ctrl-C / SIGTERM: finish the step, save it, stop
    with open_metrics(out / "metrics.jsonl", rank == 0, t.logger) as metrics, interrupts:
        while step < t.steps:
            tic = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, t)
            video = source.batch(local_batch)
            if float(torch.rand((), generator=masks_gen)) < v.future_prob:
                ctx_idx, tgt_idx = future_masks(local_batch, grid, v.context_steps)
            else:
                ctx_idx, tgt_idx = multiblock_masks(local_batch, grid, v.mask_specs, masks_gen)
            video, ctx_idx, tgt_idx = to_device(device, video, ctx_idx, tgt_idx)
            model.train()
            with autocast(t.precision, video.device.type):
                loss, info = objective(video, ctx_idx, tgt_idx)
            apply_gradients(loss, optimizer, params, step, t)
            if sharded:
                reshard(model)  # the EMA works on the shards (the target encoder's forward left it gathered)
            model.update_target(ema_momentum(step, cfg))
            step += 1
            seconds += time.perf_counter() - tic
            if rank == 0 and (step % t.log_every == 0 or step == t.steps):
                z = info.pop("z")
                last = {"step": step, "loss": loss.item(), **info, **latent_stats(z.reshape(-1, z.shape[-1])),
                        "clips_per_s": t.batch_size / (time.perf_counter() - tic), "train_seconds": seconds,
                        "skipped_files": len(source.skipped)}
                metrics.write(last)
                bar.set_postfix(loss=f"{last['loss']:.4f}", std=f"{last['latent_std']:.3f}")
            saved = step % t.checkpoint_every == 0 or step == t.steps
            if saved:
                save()
            bar.update(1)
            if interrupts.requested:
                if not saved:
                    save()
                bar.close()
                raise KeyboardInterrupt
    bar.close()
    if sharded:  # hand back an ordinary model (rank 0 holds its weights)
        weights, model = full_state(model), VideoJEPA(v)
        if weights:
            model.load_state_dict(weights)
    return model.cpu().eval(), {**last, "step": step, "train_seconds": seconds, "skipped_files": source.skipped}
