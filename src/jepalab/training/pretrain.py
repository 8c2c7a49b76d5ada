"""Self-supervised video pretraining (V-JEPA): predict masked space-time latents.

    jepalab pretrain --world bounce --preset video-small --out runs/v
    jepalab pretrain --videos my_videos/ --preset video-small --out runs/v

Each step: a batch of clips -> multi-block masks (masks.py) -> context tokens
through the encoder, target latents from the EMA encoder (or the encoder itself
with SIGReg) -> L1 between predicted and target latents -> AdamW step -> EMA
update. Metrics and checkpoints as in training/train.py; the checkpoint's meta says
`"kind": "video"`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..config import PretrainConfig
from ..data.clips import make_clip_source
from ..masks import future_masks, multiblock_masks
from ..models.video import VideoJEPA
from ..runtime import resolve_device, run_threads, to_device, tune_allocator
from . import checkpoint
from .loop import TrainingLoop, processes
from .parallel import full_state, is_sharded, reshard, training_step_module


def ema_momentum(step: int, cfg: PretrainConfig) -> float:
    v = cfg.video
    return v.ema_start + (v.ema_end - v.ema_start) * min(1.0, step / max(1, cfg.train.steps))


class Pretrainer(TrainingLoop):
    desc, rate = "pretrain", "clips_per_s"

    def __init__(self, cfg: PretrainConfig, out: str | Path, progress: bool = True):
        tune_allocator()
        t = cfg.train
        run_threads(t.threads)  # before the first weight is drawn; the loop records the count
        # under torchrun: train.batch_size clips per step in all, each rank draws its own from its own
        # stream; DDP averages the gradients; rank 0 alone logs and writes checkpoints
        rank, world = processes(t)
        device = resolve_device(t.device)
        torch.manual_seed(t.seed)
        model = VideoJEPA(cfg.video).to(device)
        # wrapped (DDP, FSDP, torch.compile) before the loop makes the optimizer: FSDP replaces the parameters
        self.objective = training_step_module(model, model.loss, device, t.compile, t.parallel)
        super().__init__(cfg, model, t, out, device, progress, rank, world)
        self.sharded = is_sharded(model)
        self.source = self.masks = None  # drawn from once the starting step is known (after resume)

    def start(self) -> None:
        if self.source is None:
            # a resumed stream continues with fresh clips; each rank has a stream of its own
            offset = self.step + 100_000_000 * self.rank
            self.source = make_clip_source(self.cfg.source, self.cfg.video, seed_offset=offset)
            self.masks = torch.Generator().manual_seed(self.train_cfg.seed + offset)

    def next_batch(self) -> tuple:
        v, local = self.cfg.video, self.train_cfg.batch_size // self.world
        grid = (v.frames // v.tubelet, v.size // v.patch, v.size // v.patch)
        video = self.source.batch(local)
        if float(torch.rand((), generator=self.masks)) < v.future_prob:
            ctx_idx, tgt_idx = future_masks(local, grid, v.context_steps)
        else:
            ctx_idx, tgt_idx = multiblock_masks(local, grid, v.mask_specs, self.masks)
        return to_device(self.device, video, ctx_idx, tgt_idx)

    def loss(self, video, ctx_idx, tgt_idx) -> tuple[torch.Tensor, dict]:
        return self.objective(video, ctx_idx, tgt_idx)

    def after_step(self) -> None:
        if self.sharded:
            reshard(self.model)  # the EMA works on the shards (the target encoder's forward left it gathered)
        self.model.update_target(ema_momentum(self.step, self.cfg))

    def record(self, info: dict) -> dict:
        return {"skipped_files": len(self.source.skipped)}

    def postfix(self, record: dict) -> dict:
        return {"loss": f"{record['loss']:.4f}", "std": f"{record['latent_std']:.3f}"}

    def check_resumable(self, ckpt: Path, meta: dict) -> None:
        if meta.get("kind") != "video" or meta["config"]["video"] != self.cfg.to_dict()["video"]:
            raise checkpoint.CheckpointError(f"{ckpt}: cannot resume, it is not this video model")

    def checkpoint_extra(self) -> dict:
        return {"kind": "video", "skipped_files": self.source.skipped}


def pretrain(
    cfg: PretrainConfig, out: str | Path, resume: bool = False, progress: bool = True
) -> tuple[VideoJEPA, dict]:
    with checkpoint.run_lock(out):
        if not resume:
            checkpoint.refuse_fresh_start(out)
        trainer = Pretrainer(cfg, out, progress)
        if resume and trainer.resume() and trainer.rank == 0:
            print(f"resumed {out} at step {trainer.step}")
        result = trainer.run()
    model = trainer.model
    if trainer.sharded:  # hand back an ordinary model (rank 0 holds its weights)
        weights, model = full_state(model), VideoJEPA(cfg.video)
        if weights:
            model.load_state_dict(weights)
    return model.cpu().eval(), {**result, "skipped_files": trainer.source.skipped}
