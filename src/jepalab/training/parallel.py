"""Many processes under torchrun: the process group, and what makes N ranks train as one.

    torchrun --nproc_per_node=2 -m jepalab train --data data/two-room --out runs/ddp

Each rank computes its slice of the global batch (`train.batch_size`); DistributedDataParallel
averages the gradients. Two parts of the loss look at the whole batch, not one sample at a time —
the encoder's BatchNorm and the anti-collapse term — so on N ranks they are computed on the global
batch too (`GlobalBatchNorm`, `gather_rows`), with gradients flowing back to every rank. Two
processes then train as one process with the same global batch would (tested), and a run can
resume on another number of processes.

`train.parallel=fsdp` shards parameters, gradients and optimizer state across the ranks instead
(FSDP2 `fully_shard`), for models that do not fit one device: each transformer block and each
top-level part of the model is a unit that is gathered for its forward and freed after. Checkpoints
hold full, unsharded tensors either way (gathered to rank 0), so a sharded run resumes under DDP,
in one process or on another number of ranks, and its checkpoints load anywhere.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..config import CHOICES


def distributed() -> tuple[int, int]:
    """-> (rank, world size). Under torchrun (WORLD_SIZE > 1) the process group is set up on first
    call: gloo on CPU, NCCL when CUDA is available. A plain run is rank 0 of 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        # left to interpreter teardown, gloo's threads can die mid-destruction and abort the process
        # ("terminate called without an active exception") after a run that succeeded
        atexit.register(_shut_down)
    return dist.get_rank(), dist.get_world_size()


def _shut_down() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def leave(code: int):
    """End the process with exit status `code`. A torchrun worker skips the interpreter's teardown:
    DDP and FSDP keep references to the process group, so its C++ side outlives
    destroy_process_group and is freed during teardown, where a native thread that still needs the
    GIL is killed and the process aborts ("terminate called without an active exception") after a
    run that succeeded - rare, but seen on CI in the FSDP test. Everything jepalab writes is closed
    by the time the command returns, so nothing is lost."""
    if not dist.is_initialized():
        sys.exit(code)
    _shut_down()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


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


PARALLEL_MODES = CHOICES["train.parallel"]


def training_step_module(
    model: nn.Module, loss_fn, device: torch.device, compile: bool = False, mode: str = "ddp"
) -> nn.Module:
    """What a training loop calls for its loss: `loss_fn` as a module; under torchrun, wrapped in DDP
    or, with mode "fsdp", the model sharded in place (`shard_model`). Either way every rank starts
    from rank 0's weights and BatchNorm layers see the global batch. Compiled when asked."""
    if mode not in PARALLEL_MODES:
        raise ValueError(f"train.parallel must be one of {PARALLEL_MODES}, got {mode!r}")
    step = LossModule(model, loss_fn)
    if active():
        use_global_batchnorm(model)
        if mode == "fsdp":
            shard_model(model, device)
        else:
            from torch.nn.parallel import DistributedDataParallel

            step = DistributedDataParallel(step, device_ids=[device] if device.type == "cuda" else None)
    if compile:
        step = CompiledStep(step)
    return step


class CompiledStep(nn.Module):
    """A training step module through torch.compile, run eagerly (with a warning) where compiling
    fails (runtime.compiled). A module still, so the loops treat it as the eager one."""

    def __init__(self, step: nn.Module):
        super().__init__()
        from ..runtime import compiled

        self.step = step
        self._run = compiled(step, "the training step")

    @property
    def compile_seconds(self):
        return self._run.compile_seconds

    def forward(self, *batch):
        return self._run(*batch)


# ---------------------------------------------------------------- FSDP2
def shard_model(model: nn.Module, device: torch.device) -> nn.Module:
    """Shard `model` across the ranks in place (FSDP2). Units: every item of a ModuleList (the
    transformer blocks), then every top-level child. The model's own methods (encode, predict,
    rollout, loss) call those children's forward, which is where FSDP gathers a unit's parameters,
    so the root holds none of its own (refused) and needs no forward of its own."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    own = [name for name, _ in model.named_parameters(recurse=False)]
    if own:
        raise ValueError(f"{type(model).__name__} has parameters of its own ({own}); FSDP shards its children only")
    with torch.no_grad():  # every rank cuts its shard from the same (rank 0's) tensors
        for t in itertools.chain(model.parameters(), model.buffers()):
            dist.broadcast(t.data, 0)
    mesh = init_device_mesh(device.type, (dist.get_world_size(),))
    for blocks in [m for m in model.modules() if isinstance(m, nn.ModuleList)]:
        for block in blocks:
            if any(True for _ in block.parameters()):
                fully_shard(block, mesh=mesh)
    for child in model.children():
        if any(True for _ in child.parameters()):
            fully_shard(child, mesh=mesh)
    return model


def reshard(model: nn.Module) -> None:
    """Free every gathered unit back to its shard. FSDP leaves a root unit gathered after a forward
    without backward (the EMA target encoder's, validation's), and tensors touched outside a forward
    (an EMA update, a state dict) must be the shards."""
    from torch.distributed.fsdp import FSDPModule

    for m in model.modules():
        if isinstance(m, FSDPModule):
            m.reshard()


def is_sharded(model: nn.Module) -> bool:
    from torch.distributed.tensor import DTensor

    return any(isinstance(p, DTensor) for p in model.parameters())


def _full_options():
    from torch.distributed.checkpoint.state_dict import StateDictOptions

    return StateDictOptions(full_state_dict=True, cpu_offload=True)


def full_state(model: nn.Module) -> dict:
    """The model's state dict as full CPU tensors. Sharded: a collective every rank must call; rank
    0 gets the tensors, the others an empty dict."""
    if not is_sharded(model):
        return {k: v.detach().cpu() for k, v in model.state_dict().items()}
    from torch.distributed.checkpoint.state_dict import get_model_state_dict

    reshard(model)
    return get_model_state_dict(model, options=_full_options())


def _trainable_names(model: nn.Module) -> list[str]:
    return [n for n, p in model.named_parameters() if p.requires_grad]


def full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's state dict in the unsharded layout (parameters numbered in the model's order
    of trainable parameters, as `optimizer.state_dict()` of an unsharded run has them), so that a
    checkpoint does not depend on how the run was parallelised. Sharded: a collective (see
    full_state); rank 0 gets the dict."""
    if not is_sharded(model):
        return optimizer.state_dict()
    from torch.distributed.checkpoint.state_dict import get_optimizer_state_dict

    reshard(model)
    osd = get_optimizer_state_dict(model, optimizer, options=_full_options())
    if not osd:
        return {}
    index = {n: i for i, n in enumerate(_trainable_names(model))}
    return {
        "state": {index[n]: v for n, v in osd["state"].items()},
        "param_groups": [{**g, "params": [index[n] for n in g["params"]]} for g in osd["param_groups"]],
    }


def load_full_state(model: nn.Module, tensors: dict) -> None:
    """Full (unsharded) tensors into a model that may be sharded: every rank passes the full dict
    and keeps its own shard."""
    if not is_sharded(model):
        model.load_state_dict(tensors)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict

    set_model_state_dict(model, tensors, options=StateDictOptions(full_state_dict=True))


def load_full_optimizer_state(model: nn.Module, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """An optimizer state in the unsharded layout (full_optimizer_state) into `optimizer` of `model`."""
    if not is_sharded(model):
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    names = _trainable_names(model)
    osd = {
        "state": {names[int(i)]: v for i, v in state["state"].items()},
        "param_groups": [{**g, "params": [names[int(i)] for i in g["params"]]} for g in state["param_groups"]],
    }
    set_optimizer_state_dict(model, optimizer, osd, options=StateDictOptions(full_state_dict=True))


def grad_norm_value(norm) -> float:
    """clip_grad_norm_'s result as a float (a DTensor over sharded gradients)."""
    from torch.distributed.tensor import DTensor

    return float(norm.full_tensor() if isinstance(norm, DTensor) else norm)


def open_metrics(path, main: bool, logger: str = "jsonl"):
    """The run's metrics log on rank 0 (logs.MetricsLog: metrics.jsonl, and TensorBoard with
    train.logger=tensorboard); other ranks log nothing."""
    from .logs import MetricsLog

    return MetricsLog(path, main, logger)
