"""Process-level speed settings that make a CPU run measurably faster.

glibc hands large freed blocks (every activation of a training step is one)
straight back to the OS, so the next step page-faults them in again, and a
2-core machine spends much of its time in the kernel. Raising the mmap and trim
thresholds keeps those pages in the process (figures: docs/measurements.md,
"Figures behind code comments"). No effect elsewhere than Linux with glibc.
"""
from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_done = False


def tune_allocator() -> bool:
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL("libc.so.6")
        _done = bool(libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 1 << 31))
    except (OSError, AttributeError):  # musl or another libc: keep its defaults
        _done = False
    return _done


def autocast(precision: str, device: str = "cpu"):
    """The forward pass's numeric context: bf16 autocast, or nothing (fp32). Weights, gradients and
    optimizer state stay fp32; the anti-collapse terms are computed outside autocast (see fp32())."""
    import contextlib

    import torch
    if precision == "bf16":
        return torch.autocast(device_type=device, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def fp32(device: str = "cpu"):
    """Leave autocast for a computation that needs full precision (SIGReg's characteristic function
    of 1-D projections loses its small differences in bf16)."""
    import torch
    return torch.autocast(device, enabled=False)



def resolve_device(name: str):
    """'auto' -> the local rank's CUDA GPU when there is one, else the CPU; 'cuda' under torchrun ->
    this rank's GPU (LOCAL_RANK)."""
    import os

    import torch
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("train.device=cuda but no CUDA GPU is visible (torch.cuda.is_available() is False)")
        name = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    device = torch.device(name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def to_device(device, *tensors):
    """CPU batches (tensors, or dicts of them) -> `device`; to a GPU through pinned memory, without
    waiting for the copy."""
    if device.type == "cpu":
        return list(tensors)

    def move(x):
        if isinstance(x, dict):
            return {k: move(v) for k, v in x.items()}
        return (x if x.is_pinned() else x.pin_memory()).to(device, non_blocking=True)  # prefetched: pinned already
    return [move(x) for x in tensors]


class deferred_interrupts:
    """Ctrl-C (SIGINT) and SIGTERM set a flag instead of raising wherever the code happens to be; the
    loop checks `requested` at a step boundary and stops there. An interrupt raised mid-step (after
    the batch was drawn or the optimizer stepped, before the step counter moved) would save a state
    that resumes to other weights. A second signal raises at once (`forced`), for a user who insists.
    Signals can only be caught on the main thread; elsewhere this does nothing."""

    def __init__(self):
        self.requested = self.forced = False
        self._previous = {}

    def _handle(self, signum, frame):
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        import signal
        import threading
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        import signal
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


class _Immediate(deferred_interrupts):
    """Signals as Python handles them by default: ranks of a process group would each stop at
    another step and hang the others in a collective, so they stop at once and do not save."""

    def __enter__(self):
        return self


def step_interrupts(world: int) -> deferred_interrupts:
    """The interrupt handling of a training loop (train and pretrain share it): deferred to the next
    step boundary for a single process, immediate for a group of processes."""
    return deferred_interrupts() if world == 1 else _Immediate()
