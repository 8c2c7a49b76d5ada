"""A checkpoint folder's files, read and checked before anything of them is used: the integrity
record (the sha256 of every file, and of that list), meta.json (format, version, step, config) and
the safetensors weights (a recorded sha256 checked before anything is read; nothing is unpickled).
Each error names the file. Writing checkpoints, and building models from them, is
training/checkpoint.py's; this module only reads, so every layer that loads one can use it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .safe_read import read_json, regular_file, sha256_file, sha256_json

FORMAT = "jepalab-checkpoint"
FORMAT_VERSION = 1
INTEGRITY, INTEGRITY_FORMAT = "integrity.json", "jepalab-integrity"
STEP_FOLDER = re.compile(r"step_([0-9]+)")  # a run's checkpoint folders: step_0000500
_trust = {"unverified": False}


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or belongs to another model."""


def read_tensors(path: Path, sha256: str | None = None, recorded_in: str = "its metadata") -> dict:
    """The tensors of a safetensors file; `sha256`: the hash recorded when it was written, checked
    first (None: unchecked)."""
    from safetensors.torch import load_file

    path = regular_file(path, CheckpointError)
    if sha256 is not None and sha256_file(path) != sha256:
        raise CheckpointError(
            f"{path}: corrupt: its sha256 differs from the one recorded in {recorded_in} when it "
            "was saved (a damaged copy or a changed file)"
        )
    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises its own error types for truncated or garbled files
        raise CheckpointError(f"{path}: corrupt or not a safetensors file ({e})") from None


def trust_unverified(on: bool = True) -> None:
    """Load checkpoints that carry no integrity record (written before jepalab recorded one) instead
    of refusing them; what they hold cannot be checked. The CLI's --trust-unverified."""
    _trust["unverified"] = on


def resolve(path: str | os.PathLike) -> Path:
    """A run folder, a checkpoints folder or one checkpoint folder -> the checkpoint folder."""
    p = Path(path)
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint or run folder")
    for candidate in (p / "checkpoints" / "latest.json", p / "latest.json"):
        if candidate.exists():
            pointer = read_json(candidate, CheckpointError, "latest-checkpoint pointer", max_bytes=1 << 16)
            name = pointer.get("name") if isinstance(pointer, dict) else None
            if name is None:
                raise CheckpointError(f"{candidate}: unreadable pointer to the latest checkpoint")
            target = candidate.parent / str(name)
            if (
                not isinstance(name, str)
                or Path(name).name != name
                or name in (".", "..")
                or target.resolve().parent != candidate.parent.resolve()
            ):
                raise CheckpointError(
                    f"{candidate}: names {name!r}, which is not a checkpoint folder beside it; "
                    "a run folder's pointer may not lead outside it"
                )
            step = pointer.get("step")
            named = STEP_FOLDER.fullmatch(name)
            if step is not None and (type(step) is not int or not named or int(named.group(1)) != step):
                raise CheckpointError(
                    f"{candidate}: says step {step!r} and names the folder {name!r}; a checkpoint's pointer, "
                    "folder and metadata name one step (a hand-edited or swapped checkpoint)"
                )
            return target
    if (p / "meta.json").is_file():
        return p
    raise CheckpointError(f"{p}: holds no jepalab checkpoint (no meta.json, no checkpoints/latest.json)")


def integrity(ckpt: Path) -> dict | None:
    """{file name: sha256} every file of the checkpoint must match, from its integrity record (itself
    checked against its own hash); None for a checkpoint without one that the caller trusts."""
    path = ckpt / INTEGRITY
    if not path.exists():
        if _trust["unverified"]:
            return None
        raise CheckpointError(
            f"{ckpt}: carries no integrity record ({INTEGRITY}), so neither its config nor its "
            "weights can be checked (written before jepalab recorded one, or the record was "
            "removed); if you know where it comes from, load it with --trust-unverified"
        )
    rec = read_json(path, CheckpointError, "integrity record", max_bytes=1 << 20)
    files = rec.get("files") if isinstance(rec, dict) else None
    if (
        not isinstance(rec, dict)
        or rec.get("format") != INTEGRITY_FORMAT
        or not isinstance(files, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    ):
        raise CheckpointError(f"{path}: not a jepalab integrity record")
    if rec.get("sha256") != sha256_json(files):
        raise CheckpointError(f"{path}: corrupt: the record does not match its own sha256")
    missing = [name for name in ("meta.json", "model.safetensors") if name not in files]
    if missing:
        raise CheckpointError(f"{path}: lists no hash for {missing}")
    return files


def verified(ckpt: Path, name: str, files: dict | None) -> Path:
    """ckpt/name, a regular file whose sha256 is the one its integrity record lists."""
    path = regular_file(ckpt / name, CheckpointError)
    if files is not None and sha256_file(path) != files.get(name):
        raise CheckpointError(
            f"{path}: corrupt: its sha256 differs from the one recorded in {INTEGRITY} when it "
            "was saved (a damaged copy or a changed file)"
        )
    return path


def read_meta(ckpt: Path) -> dict:
    files = integrity(ckpt)
    path = verified(ckpt, "meta.json", files)
    meta = read_json(path, CheckpointError, "checkpoint metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(
            f"{path}: not a jepalab checkpoint (format {meta.get('format') if isinstance(meta, dict) else None!r})"
        )
    types = {"format_version": int, "step": int, "config": dict, "kind": str, "sha256": dict}
    wrong = [
        f"{k} is {type(meta[k]).__name__}, expected {t.__name__}"
        for k, t in types.items()
        if k in meta and not (isinstance(meta[k], t) and not isinstance(meta[k], bool))
    ]
    if wrong or "step" not in meta or "config" not in meta:
        raise CheckpointError(f"{path}: malformed: " + "; ".join(wrong or ["'step' and 'config' are required"]))
    named = STEP_FOLDER.fullmatch(ckpt.name)
    if named and int(named.group(1)) != meta["step"]:
        raise CheckpointError(
            f"{path}: says step {meta['step']}, in the folder {ckpt.name}; a checkpoint's folder and "
            "metadata name one step (a checkpoint copied over another's folder)"
        )
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer jepalab (format {meta['format_version']}); upgrade jepalab")
    return meta


def checked_tensors(path: Path) -> dict:
    """A checkpoint's tensor file, checked against the sha256 its integrity record lists; without one
    (--trust-unverified), against the sha256 meta.json recorded for it, where it did (what loading
    checked before integrity records existed: trusting waives the missing hashes, never a present one)."""
    files = integrity(path.parent)
    if files is not None:
        return read_tensors(path, files.get(path.name, "(none recorded)"), INTEGRITY)
    meta = read_json(regular_file(path.parent / "meta.json", CheckpointError), CheckpointError, "checkpoint metadata")
    recorded = meta.get("sha256") if isinstance(meta, dict) else None
    want = recorded.get(path.name) if isinstance(recorded, dict) else None
    return read_tensors(path, want if isinstance(want, str) else None, str(path.parent / "meta.json"))


def config_of(ckpt: Path, meta: dict, cls):
    """The checkpoint's config as `cls`, or a CheckpointError naming the file."""
    try:
        return cls.from_dict(meta["config"], where=str(ckpt / "meta.json"))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{ckpt / 'meta.json'}: bad config ({e})") from None
