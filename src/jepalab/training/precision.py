"""train.precision=auto on a CPU: bf16 only where it learns as fp32 does, and this model's own training
step is measured to pay.

Learning as fp32 does is a property of the CPU family's bf16 kernels, measured by
benchmarks/precision_parity.py (the two-room preset, 800 steps, validation prediction loss, fp32 and
bf16 paired by seed) and recorded in PARITY, passing where bf16's loss is on average within 5 % of
fp32's: on an AMD EPYC (AVX512-BF16, no AMX) +2.8 % (+9.8, +0.9, -0.4 % on 3 seeds); on an Intel
Xeon with AMX +12.2 % (+12.6, +11.8 % on 2 seeds, every seed the same way). auto keeps fp32 on a
family whose parity failed or was never measured, and says so.

A CPU with bf16 units (AVX512-BF16, AMX) does not make bf16 faster for every model: on an AMD EPYC
the two-room step ran 1.36x as fast in bf16, and whether it pays elsewhere depends on the model's
shapes, the CPU family and the oneDNN kernels it gets (docs/measurements.md). So the first run of a
model's shapes on a machine times a few forward/backward passes of its first batch in both
precisions, alternately, and keeps bf16 only where it is at least GAIN times as fast. The choice is
cached per machine (CPU model, torch version, thread count, the model's config and batch shapes) in
$JEPALAB_CACHE or ~/.cache/jepalab/precision.json, so that later runs of the same command choose
the same, and a run records it in every checkpoint, so that --resume keeps it.

The timing leaves the run untouched: the batch is the one the first step trains on, the passes run
under a forked random state (dropout), the BatchNorm statistics are put back and the gradients
dropped; no optimizer step is taken.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import torch

from ..runtime import autocast, bf16_supported, cpu_name

GAIN = 1.10  # bf16 is chosen where its step takes at most 1/GAIN of fp32's
# benchmarks/precision_parity.py per CPU family (docs/measurements.md): -> (bf16 may be chosen, what it found)
PARITY = {
    "avx512-bf16": (True, "bf16's validation loss 2.8 % above fp32's after 800 steps (AMD EPYC, mean of 3 seeds)"),
    "amx": (False, "bf16's validation loss 11.8-12.6 % above fp32's after 800 steps (Intel Xeon with AMX, 2 seeds)"),
}


def cpu_family() -> str:
    """The CPU's bf16 kernels, as PARITY names them: "amx", "avx512-bf16" (without AMX) or "none"."""
    if getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)():
        return "amx"
    return "avx512-bf16" if getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)() else "none"


ROUNDS = 3  # timed passes per precision, alternated, after one untimed pass each


def cache_path() -> Path:
    root = os.environ.get("JEPALAB_CACHE")
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jepalab"
    return Path(root) / "precision.json"


def cache_key(signature: dict) -> str:
    """This machine, this torch, this thread count and the step's shapes (`signature`)."""
    what = {"cpu": cpu_name(), "torch": torch.__version__, "threads": torch.get_num_threads(), **signature}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _read_cache() -> dict:
    try:
        text = cache_path().read_text()
        data = json.loads(text) if len(text) < 1_000_000 else {}
    except (OSError, ValueError):  # none yet, unreadable or garbled: measured again
        return {}
    return data if isinstance(data, dict) else {}


def cached(key: str) -> dict | None:
    record = _read_cache().get(key)
    return record if isinstance(record, dict) and record.get("precision") in ("fp32", "bf16") else None


def remember(key: str, record: dict) -> None:
    """Add `record` to the cache, atomically; a cache that cannot be written is skipped (the choice is
    measured again next time)."""
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {**_read_cache(), key: record}
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass


def time_step(step, model: torch.nn.Module, precisions=("fp32", "bf16"), rounds: int = ROUNDS) -> dict:
    """Median seconds of `step()` (a forward and backward pass) under each precision's autocast, timed
    alternately after one untimed pass each; the model's buffers, gradients and the random state are as
    they were before."""
    device = next(model.parameters()).device.type
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    times = {p: [] for p in precisions}
    with torch.random.fork_rng(devices=[]):
        for r in range(rounds + 1):
            for p in precisions:
                tic = time.perf_counter()
                with autocast(p, device):
                    loss = step()
                loss.backward()
                if r:  # the first round builds each precision's kernels
                    times[p].append(time.perf_counter() - tic)
                model.zero_grad(set_to_none=True)
    with torch.no_grad():
        for k, v in model.named_buffers():
            v.copy_(buffers[k])
    return {p: sorted(t)[len(t) // 2] for p, t in times.items()}


def choose(step, model: torch.nn.Module, signature: dict, measure: bool = True) -> dict:
    """train.precision=auto on this CPU -> {"precision", "why", and the timings where measured}.
    `measure=False` (many processes, a compiled step): the cached choice, else fp32."""
    if not bf16_supported(torch.device("cpu")):
        return {"precision": "fp32", "why": "this CPU has no bf16 units"}
    family = cpu_family()
    learns_alike, found = PARITY.get(family, (False, "no precision parity measured for its bf16 kernels"))
    if not learns_alike:  # faster is no use at a worse loss: train.precision=bf16 still asks for it
        return {"precision": "fp32", "why": f"bf16 on this CPU ({family}): {found}"}
    key = cache_key(signature)
    record = cached(key)
    if record is not None:
        return {**record, "why": record.get("why", "") + f" (cached in {cache_path()})"}
    if not measure:
        return {"precision": "fp32", "why": "no measured choice for this model on this CPU yet"}
    seconds = time_step(step, model)
    speedup = seconds["fp32"] / seconds["bf16"]
    precision = "bf16" if speedup >= GAIN else "fp32"
    record = {
        "precision": precision,
        "fp32_step_s": seconds["fp32"],
        "bf16_step_s": seconds["bf16"],
        "why": f"a bf16 step ran {speedup:.2f}x as fast as fp32 on {cpu_name()} (bf16 wants >= {GAIN:.2f}x)",
    }
    remember(key, record)
    return {**record, "why": record["why"] + ", measured now"}
