"""Many processes under torchrun: the process group, and what makes N ranks train as one.

    torchrun --nproc_per_node=2 -m jepalab train --data data/two-room --out runs/ddp

Each rank computes its slice of the global batch (`train.batch_size`); DistributedDataParallel
averages the gradients. Two parts of the loss look at the whole batch, not one sample at a time —
the encoder's BatchNorm and the anti-collapse term — so on N ranks they are computed on the global
batch too (`GlobalBatchNorm`, `gather_rows`), with gradients flowing back to every rank. Two
processes then train as one process with the same global batch would (tested), and a run can
resume on another number of processes.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


def distributed() -> tuple[int, int]:
    """-> (rank, world size). Under torchrun (WORLD_SIZE > 1) the process group is set up on first
    call: gloo on CPU, NCCL when CUDA is available. A plain run is rank 0 of 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


_local_only = False


def active() -> bool:
    return not _local_only and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class local_statistics:
    """Within it, batch statistics are this rank's own: for work one rank does alone (validation),
    where a collective would wait forever for the others."""

    def __enter__(self):
        global _local_only
        self.saved, _local_only = _local_only, True

    def __exit__(self, *exc):
        global _local_only
        _local_only = self.saved
        return False


def barrier() -> None:
    if active():
        dist.barrier()


def gather_rows(x: torch.Tensor) -> torch.Tensor:
    """Every rank's rows, concatenated in rank order; gradients reach each rank's own rows."""
    if not active():
        return x
    from torch.distributed.nn.functional import all_gather
    return torch.cat(all_gather(x.contiguous()), 0)


class GlobalBatchNorm(_BatchNorm):
    """BatchNorm with the statistics of the global batch across ranks in training mode (what
    SyncBatchNorm does on GPUs; this one also runs on CPU with gloo). Same parameters and buffers as
    the layer it replaces, so checkpoints do not change."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and active()):
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce
        dims = [0] + list(range(2, x.dim()))
        xf = x.float()
        sums = all_reduce(torch.stack([xf.sum(dims), (xf * xf).sum(dims)]))  # (2, C), summed over ranks
        count = torch.tensor([x.numel() // x.shape[1]], dtype=torch.float64)
        dist.all_reduce(count)
        n = float(count.item())
        mean = sums[0] / n
        var = (sums[1] / n - mean * mean).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / max(n - 1, 1))
        shape = [1, -1] + [1] * (x.dim() - 2)
        y = (xf - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y.to(x.dtype)


def use_global_batchnorm(module: nn.Module) -> nn.Module:
    """Swap every BatchNorm layer of `module` for a GlobalBatchNorm that shares its parameters and
    buffers (in place)."""
    for child in module.children():
        if isinstance(child, _BatchNorm) and not isinstance(child, GlobalBatchNorm):
            child.__class__ = GlobalBatchNorm  # same state; only forward changes
        else:
            use_global_batchnorm(child)
    return module


class LossModule(nn.Module):
    """A loss function as a module's forward, so DistributedDataParallel can wrap it: the models'
    encode/predict/loss are methods, and DDP synchronises the gradients of what runs in forward."""

    def __init__(self, model: nn.Module, loss_fn):
        super().__init__()
        self.model, self._loss_fn = model, loss_fn

    def forward(self, *batch):
        return self._loss_fn(*batch)


def training_step_module(model: nn.Module, loss_fn, device: torch.device, compile: bool = False) -> nn.Module:
    """What a training loop calls for its loss: `loss_fn` as a module, under torchrun wrapped in DDP
    (every rank starts from rank 0's weights; BatchNorm layers see the global batch), compiled when
    asked."""
    step = LossModule(model, loss_fn)
    if active():
        from torch.nn.parallel import DistributedDataParallel
        use_global_batchnorm(model)
        step = DistributedDataParallel(step, device_ids=[device] if device.type == "cuda" else None)
    if compile:
        step = torch.compile(step)
    return step


class NullWriter:
    """A metrics file for ranks other than 0: writes nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


def open_metrics(path, main: bool):
    """metrics.jsonl opened for appending on rank 0, a NullWriter elsewhere."""
    return open(path, "a") if main else NullWriter()
