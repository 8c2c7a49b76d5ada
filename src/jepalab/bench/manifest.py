"""What a bench result describes: hashes of the checkpoint and data, the config, the software and
the machine. `verify` re-hashes them and says whether the results still describe them.

A checkpoint's hash is the sha256 of a listing of its files' sha256 (model weights, trainer state,
meta.json), so one changed byte anywhere changes it. Generated suites are fingerprinted by the hash
of what the generator produced for the recorded seeds, so a generator that changed is caught too.
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from pathlib import Path

import torch

from ..training.checkpoint import resolve, sha256_file, versions


def sha256_arrays(*arrays) -> str:
    """Hash of array contents, shapes and dtypes (what a generator produced)."""
    h = hashlib.sha256()
    for a in arrays:
        a = a.numpy() if isinstance(a, torch.Tensor) else a
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def checkpoint_fingerprint(path) -> dict:
    ckpt = resolve(path)
    files = {p.name: sha256_file(p) for p in sorted(ckpt.iterdir()) if p.is_file()}
    listing = "".join(f"{name}:{digest}\n" for name, digest in files.items())
    return {"path": str(ckpt), "files": files, "sha256": hashlib.sha256(listing.encode()).hexdigest()}


def training_data_fingerprint(checkpoint) -> dict | None:
    """The run folder's episode store (a run made with --world or by demo keeps one): the hash of
    its index and of every episode file. None when the run folder holds no data."""
    from ..data.store import EpisodeStore

    run = Path(checkpoint)
    for _ in range(3):  # checkpoint folder -> checkpoints/ -> run folder
        index = EpisodeStore(run / "data").index_path
        if index.is_file():
            files = EpisodeStore(run / "data").episode_paths()
            h = hashlib.sha256(sha256_file(index).encode())
            for f in files:
                h.update(f"{f.name}:{sha256_file(f)}".encode())
            return {"path": str(run / "data"), "episodes": len(files), "sha256": h.hexdigest()}
        run = run.parent
    return None


def git_state() -> dict:
    """The commit of the jepalab source tree, when it is a git checkout (else None)."""
    src = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], cwd=src, capture_output=True, text=True, timeout=10
        )
        return {"commit": commit.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def hardware() -> dict:
    from ..runtime import cpu_name

    cpu = cpu_name()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "platform": platform.platform(),
    }


def software(world: str = "") -> dict:
    """Versions of what produced the figures; for a gymnasium env, gymnasium's and the version of the
    package that provides it (`gymnasium:package:Id`), whose envs change between releases."""
    out = {**versions(), "git": git_state()}
    if world.startswith("gymnasium:"):
        from importlib import metadata

        out["gymnasium"] = metadata.version("gymnasium")
        module = world[len("gymnasium:") :].partition(":")[0] if world.count(":") >= 2 else ""
        if module:
            top = module.split(".")[0]
            dists = metadata.packages_distributions().get(top, [top])
            try:
                out[dists[0]] = metadata.version(dists[0])
            except metadata.PackageNotFoundError:
                out[top] = "unknown (not installed as a distribution)"
    return out
