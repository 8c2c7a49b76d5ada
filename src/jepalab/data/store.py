"""Episode store: a folder of per-episode HDF5 files plus a `dataset.json` index.

    data/x/dataset.json             format, schema version, world, shapes
    data/x/episodes/ep_000000.h5    one HDF5 file per episode, one dataset per field:
        pixels (T+1,H,W,3) uint8    chunked 8 frames at a time, gzip level 4 (any HDF5 reader opens it)
        actions (T,A) float32, proprio (T+1,P) float32
        and where the source has them: rewards (T,), state (T+1,S) (the true simulator state),
        goal_proprio (P,), goal_pixels (H,W,3) uint8, audio (T+1,M,S) log-mel windows (worlds/bounce_sound.py),
        depth (T+1,h,w) float32 metres from the camera (a spatial channel), goal_depth (h,w)
        file attributes: format, schema_version

Schema versions: 1 had pixels, actions and proprio in a compressed .npz per episode; 2 added the
optional fields (still .npz); 3 (now) is HDF5. All three are read; a store is appended to in the
format it was made with. `jepalab import --store OLD --out NEW` rewrites one in the current format.

Why one file per episode: each is written to a temporary name and renamed into place, so a
collection killed at any moment leaves a readable store of the completed episodes (one HDF5 file
being written when its writer dies can be left unreadable), appending never rewrites what is there,
and many processes read the same store. Why HDF5 and chunks: frames can be read a window at a
time without decompressing the episode, so a store larger than memory is *streamed* during
training (train.stream, SequenceSampler): only the frames of each batch are read.

Nothing is unpickled: .npz files are read with allow_pickle=False and HDF5 holds plain arrays.
Every problem found on reading names the file and the field. Integrity: every file's sha256 (and each
field's) is recorded as it is written and checked when the store is opened (data/checksums.py), HDF5
checks each chunk it reads (fletcher32), dataset.json is checked against itself and its episodes, only
regular files are opened, and float fields are cast to float32 here, at the boundary.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from .checksums import check_fields, check_index, has_checksums, record_episode, record_index, verify
from .episode_files import (  # noqa: F401 - DataError, Episode, StreamedFrames: imported from here too
    FORMAT,
    OPTIONAL,
    REQUIRED,
    SCHEMA_VERSION,
    DataError,
    Episode,
    StreamedFrames,
    memory_budget,
    read_h5,
    read_npz,
    write_h5,
)
from .index import check_episodes_meta, check_meta
from .jsonout import dumps as strict_json
from .safe_read import read_json, regular_file

_EPISODE_NAME = re.compile(r"ep_[0-9]{6,}")
READS = (1, 2, 3)  # schema versions this jepalab reads
SUFFIX = {1: ".npz", 2: ".npz", 3: ".h5"}  # episode files of each schema version


def write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(strict_json(obj, indent=2))
    os.replace(tmp, path)


class EpisodeStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.index_path = self.root / "dataset.json"
        self.episode_dir = self.root / "episodes"

    # -- writing ---------------------------------------------------------------
    @classmethod
    def create(cls, root, meta: dict) -> EpisodeStore:
        """Open a store for writing; an existing store must describe the same data (resume), and is
        appended to in the schema version it was made with."""
        store = cls(root)
        store.episode_dir.mkdir(parents=True, exist_ok=True)
        if store.index_path.exists():
            old = store.meta()
            clash = {k: (old.get(k), v) for k, v in meta.items() if old.get(k) != v}
            if clash:
                raise DataError(
                    f"{store.index_path}: existing store was made with other settings {clash}; use another --out folder"
                )
        else:
            write_json_atomic(store.index_path, {"format": FORMAT, "schema_version": SCHEMA_VERSION, **meta})
            record_index(store.root)
        return store

    def append(self, ep: Episode, index: int) -> Path:
        ep = as_float32(ep)  # checked and written as it will be used: 1e300 as float64 is inf as float32
        self.validate(ep, f"episode {index}")
        suffix = SUFFIX[self.meta()["schema_version"]]
        path = self.episode_dir / f"ep_{index:06d}{suffix}"
        tmp = self.episode_dir / f".ep_{index:06d}.tmp{suffix}"
        if suffix == ".h5":
            write_h5(tmp, ep)
        else:
            np.savez_compressed(tmp, **{k: getattr(ep, k) for k in REQUIRED + OPTIONAL if getattr(ep, k) is not None})
        if has_checksums(self.root):  # recorded before the file takes its name: no episode is ever without one
            record_episode(self.root, tmp, path.name, ep)
        os.replace(tmp, path)
        return path

    # -- reading ---------------------------------------------------------------
    def meta(self) -> dict:
        if not self.root.is_dir():
            raise DataError(f"{self.root}: no such data folder (make one with `jepalab collect`)")
        if not self.index_path.exists():
            raise DataError(f"{self.root}: not a jepalab episode store (no dataset.json)")
        meta = read_json(self.index_path, DataError, "dataset.json", max_bytes=1 << 20)
        if not isinstance(meta, dict):
            raise DataError(f"{self.index_path}: must hold a JSON object, holds a {type(meta).__name__}")
        if meta.get("format") != FORMAT:
            raise DataError(f"{self.index_path}: format is {meta.get('format')!r}, expected {FORMAT!r}")
        version = meta.get("schema_version")
        if type(version) is not int:
            raise DataError(f"{self.index_path}: schema_version must be an integer, got {version!r}")
        if version not in READS:
            raise DataError(
                f"{self.index_path}: schema version {version} is not supported "
                f"(this jepalab reads versions {', '.join(map(str, READS))}; "
                f"{'upgrade jepalab' if version > SCHEMA_VERSION else 'collect it again'})"
            )
        check_index(self.root, DataError)
        check_meta(meta, self.index_path, DataError)
        return meta

    def episode_paths(self) -> list[Path]:
        paths = sorted(p for p in self.episode_dir.glob("ep_*") if p.suffix in (".npz", ".h5"))
        stray = [p for p in paths if not _EPISODE_NAME.fullmatch(p.stem)]
        if stray:
            raise DataError(
                f"{stray[0]}: not an episode file name (ep_NNNNNN{stray[0].suffix}, numbered from 0); "
                "move it out of the store's episodes/ folder"
            )
        return paths

    def indices(self) -> set[int]:
        """Episode numbers already in the store (a resumed collection or import skips them)."""
        return {int(p.stem.split("_")[1]) for p in self.episode_paths()}

    def __len__(self) -> int:
        return len(self.episode_paths())

    def load(
        self, path: Path, stream: bool = False, check: bool = True, unhashed: bool = False, hashed: bool = False
    ) -> Episode:
        """One episode; stream=True leaves an HDF5 episode's frames on disk (StreamedFrames). Float
        fields come as float32 (a float64 field is cast here, not deep in training, and checked after
        the cast). hashed: the file's sha256 was just found as recorded (checksums.verify); unhashed:
        a recorded file whose sha256 was not checked this time, so the fields read into memory are
        checked against their recorded hashes instead."""
        regular_file(path, DataError)  # a named pipe in its place would block the reader forever
        try:
            ep = read_h5(path, stream, hashed) if path.suffix == ".h5" else read_npz(path)
        except DataError:
            raise
        except Exception as e:  # zip/npy/HDF5 errors come in many types; all mean the file is unreadable
            raise DataError(f"{path}: unreadable episode file ({type(e).__name__}: {e})") from None
        if unhashed:
            check_fields(self.root, path, ep, DataError)
        ep = as_float32(ep)
        if check:
            self.validate(ep, str(path))
        return ep

    def load_all(self, limit: int | None = None, stream: str | bool = False) -> list[Episode]:
        """Every episode (the first `limit`). stream: True/"on" leaves frames on disk, read a window
        at a time during training; "auto" does so when they would take more than memory_budget()."""
        meta = self.meta()
        paths = self.episode_paths()[:limit]
        if not paths:
            raise DataError(f"{self.root}: the store holds no episodes")
        # before anything opens one (a named pipe would block its reader forever)
        on_disk = sum(regular_file(path, DataError).stat().st_size for path in paths)
        budget = memory_budget()
        streamed = self._stream(stream, meta, paths, budget)  # once: "auto" opens every file to size the store
        # hashing reads every byte: cheap for a store the page cache holds (1,000 episodes: 0.05 s), minutes
        # from disk for one larger than memory, which is then checked by content instead (checksums.py)
        skip = streamed and on_disk > budget
        unhashed = verify(self.root, paths, DataError, lambda p: self.load(p, check=False), skip_unchanged=skip)
        recorded = has_checksums(self.root)
        episodes = [
            self.load(p, streamed, unhashed=p in unhashed, hashed=recorded and p not in unhashed) for p in paths
        ]
        check_episodes_meta(meta, self.index_path, paths, episodes, DataError)
        first = episodes[0]
        for path, ep in zip(paths[1:], episodes[1:]):
            for name, a, b in (
                ("frame size", first.pixels.shape[1:], ep.pixels.shape[1:]),
                ("action dim", first.actions.shape[1:], ep.actions.shape[1:]),
                ("proprio dim", first.proprio.shape[1:], ep.proprio.shape[1:]),
            ):
                if a != b:
                    raise DataError(
                        f"{path}: {name} {b} differs from {a} of {paths[0].name}; one store holds one "
                        "kind of episode (split it, or import with the same --size)"
                    )
        return episodes

    def _stream(self, stream: str | bool, meta: dict, paths: list[Path], budget: int) -> bool:
        if stream in (False, "off"):
            return False
        if SUFFIX[meta["schema_version"]] != ".h5":
            if stream == "auto":
                return False
            raise DataError(
                f"{self.root}: a schema {meta['schema_version']} store (.npz episodes) cannot be "
                f"streamed; rewrite it with `jepalab import --store {self.root} --out NEW`"
            )
        if stream == "auto":
            import h5py

            total = 0
            for path in paths:
                try:
                    with h5py.File(path, "r") as f:
                        total += f["pixels"].size
                except Exception:  # a damaged file: load() names it and the problem
                    pass
            return total > budget
        return True

    @staticmethod
    def validate(ep: Episode, where: str) -> None:
        p, a, s = ep.pixels, ep.actions, ep.proprio
        if p.dtype != np.uint8 or p.ndim != 4 or p.shape[-1] != 3:
            raise DataError(f"{where}: field 'pixels' must be (T+1, H, W, 3) uint8, got {p.shape} {p.dtype}")
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.floating):
            raise DataError(f"{where}: field 'actions' must be (T, A) float, got {a.shape} {a.dtype}")
        if s.ndim != 2 or not np.issubdtype(s.dtype, np.floating):
            raise DataError(f"{where}: field 'proprio' must be (T+1, P) float, got {s.shape} {s.dtype}")
        if len(p) != len(a) + 1 or len(s) != len(p):
            raise DataError(
                f"{where}: lengths disagree: pixels {len(p)}, actions {len(a)}, proprio {len(s)} (expected T+1, T, T+1)"
            )
        T = len(a)
        depth_map = ep.depth.shape[1:] if ep.depth is not None and ep.depth.ndim == 3 else (None, None)
        shapes = {
            "rewards": (T,),
            "state": (T + 1, None),
            "goal_proprio": (s.shape[1],),
            "goal_pixels": p.shape[1:],
            "audio": (T + 1, None, None),
            "depth": (T + 1, None, None),
            "goal_depth": depth_map,
        }
        for name, want in shapes.items():
            arr = getattr(ep, name)
            if arr is None:
                continue
            ok = arr.ndim == len(want) and all(w is None or w == n for w, n in zip(want, arr.shape))
            kind_ok = arr.dtype == np.uint8 if name == "goal_pixels" else np.issubdtype(arr.dtype, np.floating)
            if not (ok and kind_ok):
                shown = tuple("*" if w is None else w for w in want)
                raise DataError(
                    f"{where}: field '{name}' must be {shown} "
                    f"{'uint8' if name == 'goal_pixels' else 'float'}, got {arr.shape} {arr.dtype}"
                )
        for name in ("actions", "proprio", "rewards", "state", "goal_proprio", "audio", "depth", "goal_depth"):
            arr = getattr(ep, name)
            if arr is not None and not np.all(np.isfinite(arr)):
                bad = int(np.argwhere(~np.isfinite(arr))[0][0])
                raise DataError(
                    f"{where}: field '{name}' holds NaN, inf or a value beyond float32's range (first at "
                    f"{'index' if name.startswith('goal_') else 'step'} {bad})"
                )


def as_float32(ep: Episode) -> Episode:
    """`ep` with every float field as float32, the type training uses (a copy where one is cast)."""
    cast = {}
    for name in REQUIRED + OPTIONAL:
        arr = getattr(ep, name)
        if isinstance(arr, np.ndarray) and arr.dtype.kind == "f" and arr.dtype != np.float32:
            with np.errstate(over="ignore"):  # past float32's range becomes inf, which validate names
                cast[name] = arr.astype(np.float32)
    return replace(ep, **cast) if cast else ep
