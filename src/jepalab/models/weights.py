"""Weights read from a file (data/checkpoint_files.read_tensors: safetensors only, its sha256 checked
first) checked against a model: every tensor finite and every name and shape the model's own.

Shared by the training checkpoints (training/checkpoint.py) and the Hub layout (models/pretrained.py); it
imports neither, so both can use it.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..data.checkpoint_files import CheckpointError, read_tensors  # noqa: F401  (re-exported)
from ..data.safe_read import regular_file, sha256_file  # noqa: F401  (re-exported)


def check_weights(model: torch.nn.Module, tensors: dict, path: Path, diverged_hint: str = "") -> None:
    """Refuse non-finite tensors and names or shapes that are not the model's, naming the file."""
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(
            f"{path}: non-finite weights (NaN or inf) in {bad[:5]}{' ...' if len(bad) > 5 else ''}"
            + (f"; {diverged_hint}" if diverged_hint else "")
        )
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    wrong = [
        f"{k}: file {tuple(tensors[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in tensors and tensors[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        lines = (
            ([f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}"] if missing else [])
            + ([f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}"] if unexpected else [])
            + wrong[:5]
        )
        raise CheckpointError(f"{path}: does not match this model's architecture:\n  " + "\n  ".join(lines))
