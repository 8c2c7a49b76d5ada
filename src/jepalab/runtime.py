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


def run_threads(threads: int = 0) -> int:
    """Set and return the CPU thread count a training run keeps from its first step to its last:
    `threads` when it names one (train.threads), else the count torch has now, which is one per core
    unless the user said otherwise (OMP_NUM_THREADS, or torch.set_num_threads before training).
    Fixed because a step's float sums split across threads: another count sums in another order, and
    two runs, or a run and its resume, then end on different weights (docs/reliability.md)."""
    import torch

    threads = threads or torch.get_num_threads()
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return threads


class ThreadGovernor:
    """Opt-in (train.threads_follow_load): sizes torch's CPU thread pool to the cores other processes
    leave free, at most `most`, re-checked as training goes (`check()` at log steps). It trades
    exactness for speed under load: the thread count then changes the order of float sums, so two
    runs, or a run and its resume, no longer end on the same weights.

    OpenMP's threads spin while they wait for each other: alone that is the fastest way to run, but
    beside a busy process a spinning thread waits on a peer the OS has descheduled, and each step
    costs 2.1-2.7x; sleeping waits (OMP_WAIT_POLICY=passive) halve that loss but cost 16-18 % alone
    (docs/measurements.md). One thread per core nobody else uses gives both: alone all cores spin;
    beside a busy process one core is left to it. The cores others use are read from /proc/stat
    (every CPU's busy time over the window, less this process's own from /proc/self/stat), over
    the CPUs this process may run on. Where /proc is missing, nothing changes."""

    def __init__(self, most: int):
        import os

        self.cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.most = most
        self.others = 0.0  # cores other processes kept busy over the last window
        self.changes = 0
        self._last = self._sample()

    def _sample(self):
        import os

        try:
            busy = total = 0
            with open("/proc/stat") as f:
                for line in f:
                    name, *fields = line.split()
                    if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in self.cores:
                        continue
                    ticks = [int(v) for v in fields[:8]]
                    total += sum(ticks)
                    busy += sum(ticks) - ticks[3] - ticks[4]  # less idle and iowait
            with open("/proc/self/stat") as f:
                own = sum(int(v) for v in f.read().rsplit(")", 1)[1].split()[11:13])  # utime, stime
            return busy, total, own, os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, AttributeError):
            return None

    def measure(self) -> float:
        """Cores other processes kept busy since the last call (0 where /proc does not say)."""
        now = self._sample() if self._last is not None else None
        if now is None:
            return self.others
        busy, total, own = (a - b for a, b in zip(now[:3], self._last[:3]))
        self._last = now
        if total > 0:
            window_cores = total / len(self.cores)  # ticks per core over the window
            self.others = max(0.0, (busy - own) / window_cores)
        return self.others

    def check(self) -> int:
        """Re-size the pool to the free cores (at least one) and return the thread count."""
        import torch

        if self._last is None:
            return torch.get_num_threads()
        # a core counts as taken once another process keeps it more than a quarter busy
        threads = max(1, min(self.most, len(self.cores) - int(self.measure() + 0.75)))
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
            self.changes += 1
        return threads


def cpu_name() -> str:
    """The CPU's model name (/proc/cpuinfo), else what the platform says."""
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown"


def bf16_supported(device) -> bool:
    """Whether `device` computes bf16 natively: a CUDA GPU that says so, or a CPU with AVX512-BF16
    or AMX (elsewhere bf16 is emulated and slower than fp32)."""
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(getattr(torch.cpu, name, lambda: False)() for name in checks)
    return False


def resolve_precision(precision: str, device) -> str:
    """train.precision as it runs on `device`: auto -> bf16 where the device computes it natively
    (its loss matches fp32's within the noise between seeds: docs/measurements.md), else fp32."""
    if precision != "auto":
        return precision
    return "bf16" if bf16_supported(device) else "fp32"


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


class compiled:
    """`fn` through torch.compile, falling back to `fn` itself, with one warning naming `what`, when
    compiling fails (no C++ compiler, an op inductor cannot lower, an old torch): a speed option never
    ends a run. `compile_seconds`: the first call's time, where the compile cost is paid."""

    def __init__(self, fn, what: str, **options):
        import torch

        self.eager, self.what, self.compile_seconds = fn, what, None
        try:
            self.fn = torch.compile(fn, **options)
        except Exception as e:  # torch.compile itself refuses (e.g. an unsupported Python)
            self._fall_back(e)

    def _fall_back(self, error: Exception) -> None:
        import warnings

        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        warnings.warn(
            f"torch.compile of {self.what} failed ({type(error).__name__}: {first_line}); running eager", stacklevel=3
        )
        self.fn = self.eager

    def __call__(self, *args, **kwargs):
        if self.compile_seconds is not None or self.fn is self.eager:
            return self.fn(*args, **kwargs)
        import time

        tic = time.perf_counter()
        try:
            out = self.fn(*args, **kwargs)
        except Exception as e:  # inductor fails at the first call, where it compiles
            self._fall_back(e)
            out = self.fn(*args, **kwargs)
        self.compile_seconds = time.perf_counter() - tic
        return out


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
