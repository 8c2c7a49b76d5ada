"""Checkpoints: safetensors weights + a JSON of config, step and versions.

    runs/y/checkpoints/step_000500/model.safetensors    the WorldModel's weights
    runs/y/checkpoints/step_000500/trainer.safetensors  optimizer moments, torch RNG state
    runs/y/checkpoints/step_000500/meta.json            format, step, config, versions, sampler RNG
    runs/y/checkpoints/latest.json                      name of the newest complete checkpoint

A checkpoint is written into a temporary folder and renamed into place, and
`latest.json` is replaced atomically after it, so a run killed at any moment
leaves its previous checkpoint intact. Nothing is unpickled: weights come from
safetensors, everything else from JSON. Integrity: `integrity.json` lists the
sha256 of every file of the checkpoint (meta.json with its config and step, and
the tensor files) and the sha256 of that list itself; loading checks it before
anything else, so a flipped byte anywhere is refused, not loaded, and a
checkpoint without the record is refused unless the caller trusts it explicitly
(`--trust-unverified`, `trust_unverified()`: checkpoints written before the
record existed). Then the format tag, the config (by the rules of --set), every
tensor's shape and that every weight is finite, each error naming the file.
`latest.json` may only name a checkpoint folder beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from ..config import ModelConfig, RunConfig
from ..data import jsonout
from ..data.checkpoint_files import (  # noqa: F401  (reading checkpoints; re-exported)
    FORMAT,
    FORMAT_VERSION,
    INTEGRITY,
    INTEGRITY_FORMAT,
    CheckpointError,
    checked_tensors,
    config_of,
    integrity,
    read_meta,
    read_tensors,
    resolve,
    trust_unverified,
    verified,
)
from ..data.safe_read import as_user_file, read_json, sha256_file, sha256_json
from ..data.store import write_json_atomic
from ..models.weights import check_weights
from .parallel import load_full_optimizer_state, load_full_state


def versions() -> dict:
    import numpy

    from .. import __version__

    return {
        "jepalab": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


@contextlib.contextmanager
def run_lock(out: str | os.PathLike):
    """Hold RUN/.lock while a process trains into RUN: a second `train` or `pretrain` into the same
    folder would interleave checkpoints and duplicate metrics. The OS drops the lock when its holder
    dies, so a killed run never leaves a stale lock. Under torchrun rank 0 holds it for the group."""
    if int(os.environ.get("RANK", "0")) != 0:
        yield
        return
    try:
        import fcntl  # noqa: F401 - only whether there is one
    except ImportError:  # Windows: no advisory locks; nothing stops two runs there
        yield
        return
    made = not Path(out).exists()
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / ".lock"
    try:
        with _held(path, out):
            yield
    finally:
        # a run that failed before writing anything leaves no folder behind (only its lock was in it)
        if made and [p.name for p in Path(out).iterdir()] == [".lock"]:
            path.unlink(missing_ok=True)
            Path(out).rmdir()


@contextlib.contextmanager
def _held(path: Path, out):
    import fcntl

    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise CheckpointError(
                f"{out}: another jepalab run ({holder}) is training into this folder; wait for "
                "it, stop it, or give another --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def refuse_fresh_start(out: str | os.PathLike) -> None:
    """A fresh run into a folder that holds one would overwrite its checkpoints one by one and append
    its curves to the old metrics.jsonl: a re-typed command after a crash must not lose the work."""
    latest = Path(out) / "checkpoints" / "latest.json"
    if latest.is_file():
        try:
            step = f" at step {read_json(latest, CheckpointError, max_bytes=1 << 16)['step']}"
        except (CheckpointError, KeyError, TypeError):
            step = ""
        raise CheckpointError(
            f"{out}: already holds a training run (checkpoint{step}); pass --resume to "
            f"continue it, or give another --out (or delete this folder) to start afresh"
        )


def _flatten_optimizer(sd: dict) -> tuple[dict, list]:
    tensors = {f"optim.{idx}.{key}": val.detach().cpu() for idx, st in sd["state"].items() for key, val in st.items()}
    return tensors, sd["param_groups"]


def _unflatten_optimizer(tensors: dict, groups: list) -> dict:
    state: dict = {}
    for name, val in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = val
    return {"state": state, "param_groups": groups}


def save(
    ckpt_root: Path,
    step: int,
    model: torch.nn.Module | dict,
    cfg: RunConfig,
    optimizer: torch.optim.Optimizer | dict | None = None,
    extra: dict | None = None,
    keep: int = 2,
) -> Path:
    """`model`: a module or its full state dict; `optimizer`: an optimizer or its state dict (a
    sharded run passes the gathered dicts, parallel.full_state / full_optimizer_state)."""
    weights = model.state_dict() if isinstance(model, torch.nn.Module) else model
    ckpt_root.mkdir(parents=True, exist_ok=True)
    name = f"step_{step:07d}"
    final, tmp = ckpt_root / name, ckpt_root / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file({k: v.detach().cpu().contiguous() for k, v in weights.items()}, str(tmp / "model.safetensors"))
    as_user_file(tmp / "model.safetensors")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "step": step,
        "config": cfg.to_dict(),
        "versions": versions(),
        **(extra or {}),
    }
    if optimizer is not None:
        tensors, groups = _flatten_optimizer(
            optimizer.state_dict() if isinstance(optimizer, torch.optim.Optimizer) else optimizer
        )
        tensors["torch_rng"] = torch.get_rng_state()
        save_file(tensors, str(tmp / "trainer.safetensors"))
        as_user_file(tmp / "trainer.safetensors")
        meta["optimizer_param_groups"] = groups
    meta["sha256"] = {p.name: sha256_file(p) for p in sorted(tmp.glob("*.safetensors"))}
    (tmp / "meta.json").write_text(jsonout.dumps(meta, indent=2))
    seal(tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    write_json_atomic(ckpt_root / "latest.json", {"name": name, "step": step})
    old = sorted(p for p in ckpt_root.glob("step_*") if p.is_dir())[:-keep] if keep > 0 else []
    for p in old:
        shutil.rmtree(p, ignore_errors=True)
    return final


def seal(ckpt: Path) -> None:
    """Write the integrity record of a checkpoint folder: the sha256 of each of its files, and of that list."""
    files = {p.name: sha256_file(p) for p in sorted(Path(ckpt).iterdir()) if p.is_file() and p.name != INTEGRITY}
    (Path(ckpt) / INTEGRITY).write_text(
        json.dumps({"format": INTEGRITY_FORMAT, "files": files, "sha256": sha256_json(files)}, indent=2)
    )


def load_weights(model: torch.nn.Module, path: Path) -> None:
    """Copy weights into model, refusing missing, unexpected, mis-shaped or non-finite tensors."""
    tensors = checked_tensors(path)
    check_weights(
        model, tensors, path, "the run diverged before this checkpoint; resume from an earlier one or lower train.lr"
    )
    load_full_state(model, tensors)


def load_model(path: str | os.PathLike, expect: ModelConfig | None = None):
    """-> (WorldModel in eval mode, RunConfig, meta). `expect` refuses a different architecture."""
    from ..models import build

    ckpt = resolve(path)
    meta = read_meta(ckpt)
    if meta.get("kind", "world") != "world":
        raise CheckpointError(
            f"{ckpt}: a {meta['kind']} checkpoint, not an action-conditioned world model "
            "(load it with load_video_model, or use it as a frozen encoder: --set model.video_encoder=...)"
        )
    cfg = config_of(ckpt, meta, RunConfig)
    if expect is not None and expect != cfg.model:
        diff = {k: (v, getattr(expect, k)) for k, v in vars(cfg.model).items() if getattr(expect, k) != v}
        raise CheckpointError(f"{ckpt}: model config differs from the one expected (checkpoint vs expected): {diff}")
    from ..models.pretrained import video_from_meta

    try:  # built on a frozen video encoder, whose config and weights this checkpoint carries
        video = video_from_meta(meta.get("video_encoder"))
    except TypeError as e:
        raise CheckpointError(f"{ckpt / 'meta.json'}: bad video_encoder config ({e})") from None
    model = build(cfg.model, video=video)
    load_weights(model, ckpt / "model.safetensors")
    return model.eval(), cfg, meta


def build_world_model(cfg: ModelConfig, video=None):
    """A new WorldModel for `cfg` with random weights, except a frozen pretrained video encoder
    (model.video_encoder), whose config and weights are read from its run."""
    from ..models import build

    if cfg.video_encoder and not cfg.video_encoder.startswith("hf:") and video is None:  # a `jepalab pretrain` run
        pretrained, pretrain_cfg, _ = load_video_model(cfg.video_encoder)
        model = build(cfg, video=pretrain_cfg.video)
        model.encoder.backbone.video.load_state_dict(pretrained.feature_encoder.state_dict())
        return model
    if cfg.video_encoder.startswith("hf:") and video is None:  # a transformers V-JEPA 2 encoder
        from ..models.hf_video import load_pretrained_encoder

        spec, weights = load_pretrained_encoder(cfg.video_encoder[3:])
        model = build(cfg, video=spec)
        model.encoder.backbone.video.load_state_dict(weights)
        return model
    return build(cfg, video=video)


def load_video_model(path: str | os.PathLike):
    """-> (VideoJEPA in eval mode, PretrainConfig, meta) from a `jepalab pretrain` run or checkpoint."""
    from ..config import PretrainConfig
    from ..models.video import VideoJEPA

    ckpt = resolve(path)
    meta = read_meta(ckpt)
    if meta.get("kind") != "video":
        raise CheckpointError(
            f"{ckpt}: not a video-pretrained checkpoint (kind {meta.get('kind', 'world')!r}); "
            "make one with `jepalab pretrain`"
        )
    cfg = config_of(ckpt, meta, PretrainConfig)
    tensors = checked_tensors(ckpt / "model.safetensors")
    model = VideoJEPA(cfg.video)
    check_weights(model, tensors, ckpt / "model.safetensors")
    model.load_state_dict(tensors)  # a model just built, never sharded: no collective load
    return model.eval(), cfg, meta


def load_any(path: str | os.PathLike):
    """-> (model, config, meta) for either kind: a VideoJEPA from `jepalab pretrain`, a WorldModel
    from `jepalab train`; for commands that serve both (surprise, physics)."""
    kind = read_meta(resolve(path)).get("kind", "world")
    return load_video_model(path) if kind == "video" else load_model(path)


def load_trainer_state(ckpt: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, meta: dict) -> None:
    """The optimizer state (and torch's RNG) of a checkpoint, into `optimizer` of `model` (sharded or not)."""
    tensors = checked_tensors(ckpt / "trainer.safetensors")
    try:
        load_full_optimizer_state(model, optimizer, _unflatten_optimizer(tensors, meta["optimizer_param_groups"]))
    except (KeyError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{ckpt}: optimizer state does not fit this run ({e})") from None
    torch.set_rng_state(tensors["torch_rng"])
