"""Checksums of an episode store: no changed episode is ever used without saying so.

    STORE/checksums/dataset.json.sha256     {"sha256": ...}: the index, as it was made
    STORE/checksums/ep_000012.h5.sha256     {"sha256": the file's, "size": bytes, "fields": {name: the
                                            array's sha256 (dtype, shape and values)}}
    STORE/checksums/verified.json           {file name: [size, mtime_ns]}: files found intact since they
                                            last changed (the fast path: an unchanged file is not hashed again)

Each record is written when its file is (EpisodeStore.create, EpisodeStore.append) and checked when a
store is opened for training or inspection (EpisodeStore.load_all). A file whose bytes differ from its
record is read field by field against the fields' own hashes, so that the error names the field that
changed (a flipped bit in an HDF5 chunk index reads back as zeros: the values differ, not only the
bytes). Stores written before checksums existed load with a one-line warning and the command that adds
them (`jepalab inspect STORE --add-checksums`, `add_checksums`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

from .safe_read import read_json, regular_file, sha256_file

FOLDER, VERIFIED = "checksums", "verified.json"
_warned: set[str] = set()


def array_sha256(arr) -> str:
    a = np.ascontiguousarray(np.asarray(arr))
    h = hashlib.sha256(f"{a.dtype.str}:{a.shape}".encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def field_hashes(ep) -> dict[str, str]:
    """The sha256 of each array field of an Episode (held in memory, not streamed)."""
    return {k: array_sha256(v) for k, v in vars(ep).items() if isinstance(v, np.ndarray)}


def record_path(root: Path, name: str) -> Path:
    return root / FOLDER / f"{name}.sha256"


def _write_atomic(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, sort_keys=True))
    os.replace(tmp, path)


def record_episode(root: Path, written: Path, final_name: str, ep) -> None:
    """Record the checksum of an episode file just written to `written` (before its rename to `final_name`)."""
    _write_atomic(
        record_path(root, final_name),
        {"sha256": sha256_file(written), "size": written.stat().st_size, "fields": field_hashes(ep)},
    )


def record_index(root: Path) -> None:
    _write_atomic(record_path(root, "dataset.json"), {"sha256": sha256_file(root / "dataset.json")})


def has_checksums(root: Path) -> bool:
    return record_path(root, "dataset.json").is_file()


def check_index(root: Path, error) -> None:
    """dataset.json against its record (a store without checksums: nothing to check)."""
    rec = record_path(root, "dataset.json")
    if not rec.is_file():
        return
    got = read_json(rec, error, "checksum")
    if not isinstance(got, dict) or got.get("sha256") != sha256_file(root / "dataset.json"):
        raise error(
            f"{root / 'dataset.json'}: changed since the store was made (its sha256 differs from "
            f"{rec}); a store's index describes its episodes and is never rewritten"
        )


def _verified(root: Path) -> dict:
    path = root / FOLDER / VERIFIED
    try:
        got = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        got = {}
    return got if isinstance(got, dict) else {}


def verify(root: Path, paths: list[Path], error, load) -> None:
    """Every episode file in `paths` against its record; `load(path)` reads one (to name a changed
    field). Files unchanged since they were last found intact (same size and modification time) are
    not hashed again."""
    if not has_checksums(root):
        if str(root) not in _warned:
            _warned.add(str(root))
            print(
                f"warning: {root} was written before episodes carried checksums, so a damaged episode cannot be "
                f"told from a good one; add them with: jepalab inspect {root} --add-checksums",
                file=sys.stderr,
            )
        return
    seen, changed = _verified(root), False
    for path in paths:
        st = regular_file(path, error).stat()  # a pipe, a device or a dangling link is named, not opened
        if seen.get(path.name) == [st.st_size, st.st_mtime_ns]:
            continue
        rec_path = record_path(root, path.name)
        if not rec_path.is_file():
            raise error(
                f"{path}: has no checksum in {root / FOLDER} (every episode of this store should); an "
                "episode added by hand, or one whose record was removed"
            )
        rec = read_json(rec_path, error, "checksum")
        if not isinstance(rec, dict) or not isinstance(rec.get("sha256"), str):
            raise error(f"{rec_path}: not a checksum record")
        if st.st_size != rec.get("size") or sha256_file(path) != rec["sha256"]:
            raise error(_what_changed(path, rec, load))
        seen[path.name] = [st.st_size, st.st_mtime_ns]
        changed = True
    if changed:
        try:
            _write_atomic(root / FOLDER / VERIFIED, seen)
        except OSError:  # a read-only store: checked each time it is opened, nothing lost but time
            pass


def _what_changed(path: Path, rec: dict, load) -> str:
    head = (
        f"{path}: content changed since it was written (its sha256 differs from "
        f"{record_path(path.parent.parent, path.name)})"
    )
    try:
        ep = load(path)
    except Exception as e:  # noqa: BLE001 - the file does not even read: that is the news
        return f"{head}; it does not read either: {e}"
    now, then = field_hashes(ep), rec.get("fields") or {}
    fields = sorted(k for k in set(now) | set(then) if now.get(k) != then.get(k))
    if fields:
        return f"{head}: field(s) {', '.join(repr(f) for f in fields)} differ from what was written"
    return f"{head}: every field reads as written, the change is in the file's structure"


def add_checksums(store, progress: bool = True) -> int:
    """Record checksums for a store written before they existed (each episode is read and checked
    first, so only episodes that load are vouched for); -> the number of episodes recorded."""
    from tqdm.auto import tqdm

    root = store.root
    store.meta()
    paths = store.episode_paths()
    n = 0
    for path in tqdm(paths, desc="checksums", unit="ep", disable=not progress):
        if record_path(root, path.name).is_file():
            continue
        ep = store.load(path, check=False)
        record_episode(root, path, path.name, ep)
        n += 1
    if not has_checksums(root):
        record_index(root)
    return n
