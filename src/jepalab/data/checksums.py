"""Checksums of an episode store: no changed episode is ever used without saying so.

    STORE/checksums/dataset.json.sha256     {"sha256": ...}: the index, as it was made
    STORE/checksums/ep_000012.h5.sha256     {"sha256": the file's, "size": bytes, "fields": {name: the
                                            array's sha256 (dtype, shape and values)}, "shapes": {name: shape}}
    STORE/checksums/verified.json           {file name: [size, mtime_ns]}: files found intact since they
                                            last changed (used only for stores larger than memory, below)

Each record is written when its file is (EpisodeStore.create, EpisodeStore.append) and checked when a
store is opened for training or inspection (EpisodeStore.load_all). A file whose bytes differ from its
record is read field by field against the fields' own hashes, so that the error names the field that
changed (a flipped bit in an HDF5 chunk index reads back as zeros: the values differ, not only the
bytes). That error path reads within a budget: declared shapes are compared with the recorded ones
before any data is read, and a field is hashed a slab at a time.

Every file is hashed at every open (1,000 two-room episodes: 0.05 s against 2.4 s of loading), except
in a streamed store larger than a quarter of the RAM, where hashing would read it all from disk at
each open: there a file unchanged in size and mtime since it was found intact is not hashed again, and
what it holds is checked another way (EpisodeStore.load_all): every field read into memory against
its recorded hash, every chunk of every field present in the HDF5 index (a zeroed index entry
otherwise reads as zeros) and each chunk against its fletcher32 sum as it is read.

Stores written before checksums existed load with a one-line warning and the command that adds them
(`jepalab inspect STORE --add-checksums`, `add_checksums`); a store whose episodes carry records but
whose index record is gone is refused (removing one file would otherwise switch every check off).
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


SLAB_BYTES = 64 << 20  # what the error path holds of one field at a time


def _hasher(dtype: np.dtype, shape: tuple):
    return hashlib.sha256(f"{np.dtype(dtype).str}:{tuple(int(n) for n in shape)}".encode())


def _update(h, a: np.ndarray) -> None:
    if a.size:  # an empty field adds no bytes (memoryview cannot cast a view with a zero in its shape)
        h.update(memoryview(np.ascontiguousarray(a).reshape(-1)).cast("B"))


def array_sha256(arr) -> str:
    """The sha256 of an array's dtype, shape and values (any shape, empty ones included)."""
    a = np.asarray(arr)
    h = _hasher(a.dtype, a.shape)
    _update(h, a)
    return h.hexdigest()


def dataset_sha256(ds) -> str:
    """array_sha256 of an HDF5 dataset, read a slab of rows at a time (never more than SLAB_BYTES of
    it in memory, whatever shape it declares)."""
    h = _hasher(ds.dtype, ds.shape)
    if not ds.shape:
        _update(h, np.asarray(ds[()]))
        return h.hexdigest()
    row = ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=object))
    step = max(1, SLAB_BYTES // max(row, 1))
    for i in range(0, ds.shape[0], step):
        _update(h, ds[i : i + step])
    return h.hexdigest()


def field_hashes(ep) -> dict[str, str]:
    """The sha256 of each array field of an Episode (held in memory, not streamed)."""
    return {k: array_sha256(v) for k, v in vars(ep).items() if isinstance(v, np.ndarray)}


def field_shapes(ep) -> dict[str, list]:
    return {k: list(v.shape) for k, v in vars(ep).items() if isinstance(v, np.ndarray)}


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
        {
            "sha256": sha256_file(written),
            "size": written.stat().st_size,
            "fields": field_hashes(ep),
            "shapes": field_shapes(ep),
        },
    )


def record_index(root: Path) -> None:
    _write_atomic(record_path(root, "dataset.json"), {"sha256": sha256_file(root / "dataset.json")})


def has_checksums(root: Path) -> bool:
    return record_path(root, "dataset.json").is_file()


def check_index(root: Path, error) -> None:
    """dataset.json against its record (a store without checksums: nothing to check; a store whose
    episodes have records and whose index has none: refused)."""
    rec = record_path(root, "dataset.json")
    if not rec.exists():
        orphans = sorted((root / FOLDER).glob("ep_*.sha256")) if (root / FOLDER).is_dir() else []
        if orphans:
            raise error(
                f"{rec}: missing, while its episodes carry checksums ({orphans[0]}, ...); a store is "
                "checked whole or not at all, so the index's record may not be removed on its own "
                "(restore it from the store's source, or collect the store again)"
            )
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


def verify(root: Path, paths: list[Path], error, load, skip_unchanged: bool = False) -> set[Path]:
    """Every episode file in `paths` against its record; `load(path)` reads one (to name a changed
    field). skip_unchanged (streamed stores): files unchanged since they were last found intact (same
    size and modification time) are not hashed again; -> those files, whose content the caller then
    checks with check_fields."""
    skipped: set[Path] = set()
    if not has_checksums(root):
        if str(root) not in _warned:
            _warned.add(str(root))
            print(
                f"warning: {root} was written before episodes carried checksums, so a damaged episode cannot be "
                f"told from a good one; add them with: jepalab inspect {root} --add-checksums",
                file=sys.stderr,
            )
        return skipped
    seen, changed = _verified(root), False
    for path in paths:
        st = regular_file(path, error).stat()  # a pipe, a device or a dangling link is named, not opened
        if skip_unchanged and seen.get(path.name) == [st.st_size, st.st_mtime_ns]:
            skipped.add(path)
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
        if seen.get(path.name) != [st.st_size, st.st_mtime_ns]:
            seen[path.name] = [st.st_size, st.st_mtime_ns]
            changed = True
    if changed:
        try:
            _write_atomic(root / FOLDER / VERIFIED, seen)
        except OSError:  # a read-only store: checked each time it is opened, nothing lost but time
            pass
    return skipped


def check_fields(root: Path, path: Path, ep, error) -> None:
    """The fields of `ep` held in memory against their recorded hashes (a file whose hash was not
    checked this time, see verify)."""
    rec = read_json(record_path(root, path.name), error, "checksum")
    then = rec.get("fields") if isinstance(rec, dict) else None
    if not isinstance(then, dict):
        raise error(f"{record_path(root, path.name)}: not a checksum record")
    wrong = sorted(k for k, v in field_hashes(ep).items() if then.get(k) != v)
    if wrong:
        raise error(
            f"{path}: content changed although its size and modification time did not: field(s) "
            f"{', '.join(repr(f) for f in wrong)} differ from what was written ({record_path(root, path.name)})"
        )


def _h5_field_hashes(path: Path, rec: dict) -> tuple[dict, list[str]]:
    """-> (field sha256s, fields whose declared shape differs from the recorded one), the shapes
    compared before any data is read and each field hashed a slab at a time."""
    import h5py

    shapes, now, reshaped = rec.get("shapes") or {}, {}, []
    with h5py.File(path, "r") as f:
        for name, ds in f.items():
            if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "uifb":
                now[name] = "(not an array of numbers)"
            elif name in shapes and list(ds.shape) != shapes[name]:
                reshaped.append(f"{name!r} declares shape {tuple(ds.shape)}, written as {tuple(shapes[name])}")
                now[name] = "(reshaped)"
            else:
                try:
                    now[name] = dataset_sha256(ds)
                except OSError as e:  # a chunk failing its fletcher32 sum or its decompression
                    reshaped.append(f"field {name!r} does not read back as written ({e})")
    return now, reshaped


def _what_changed(path: Path, rec: dict, load) -> str:
    head = (
        f"{path}: content changed since it was written (its sha256 differs from "
        f"{record_path(path.parent.parent, path.name)})"
    )
    try:
        if path.suffix == ".h5":
            now, reshaped = _h5_field_hashes(path, rec)
        else:  # .npz (schema 1, 2): small, read whole; load() limits what it declares
            now, reshaped = field_hashes(load(path)), []
    except Exception as e:  # noqa: BLE001 - the file does not even read: that is the news
        return f"{head}; it does not read either: {e}"
    if reshaped:
        return f"{head}: {'; '.join(reshaped)}"
    then = rec.get("fields") or {}
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
