"""One episode file: the Episode it holds, how it is written (HDF5) and read back (HDF5 or .npz),
and the limits a file must keep before anything of it is read. The store around these files, its
index and its checksums are data/store.py's.

Limits (checked on the shapes a file declares, before a byte of data is read; a 20 KB file may
declare 17 x 8192 x 8192 x 3 pixels of zeros): frames at most MAX_FRAME_SIDE pixels a side, and the
fields read into memory at most memory_budget() bytes (a quarter of the RAM; streamed frames are read a
window at a time and do not count). Every chunk of every chunked field must be in the HDF5 index: a
zeroed index entry reads back as zeros, not as an error.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "jepalab-episodes"
SCHEMA_VERSION = 3
REQUIRED = ("pixels", "actions", "proprio")
OPTIONAL = ("rewards", "state", "goal_proprio", "goal_pixels", "audio", "depth", "goal_depth")
CHUNK_FRAMES = 8  # frames per compressed chunk: a training window reads one or two chunks
PER_STEP = ("pixels", "actions", "proprio", "state", "audio", "depth")  # a row per step: chunked along time
MAX_FRAME_SIDE = 4096  # pixels: a store holds frames a model trains on (64-256 px); 4K video is 3840 x 2160


class DataError(ValueError):
    """A dataset on disk is missing, malformed or inconsistent."""


@dataclass
class Episode:
    pixels: np.ndarray  # (T+1, H, W, 3) uint8 (or StreamedFrames, read from disk on demand)
    actions: np.ndarray  # (T, A) float32
    proprio: np.ndarray  # (T+1, P) float32
    rewards: np.ndarray | None = None  # (T,) float32: the reward after each action
    state: np.ndarray | None = None  # (T+1, S) float32: true simulator state (e.g. MuJoCo qpos, qvel)
    goal_proprio: np.ndarray | None = None  # (P,) float32: the episode's goal, as proprio
    goal_pixels: np.ndarray | None = None  # (H, W, 3) uint8: an image of the goal reached
    audio: np.ndarray | None = None  # (T+1, MELS, STEPS) float32: log-mel window heard up to each frame
    depth: np.ndarray | None = None  # (T+1, h, w) float32: distance from the camera, metres (spatial channel)
    goal_depth: np.ndarray | None = None  # (h, w) float32: the depth map of the goal reached
    task: str | None = None  # what the episode is doing, in words (LeRobot's task strings; an HDF5 attribute)

    def __len__(self) -> int:
        return len(self.actions)


class _OpenFiles:
    """A bounded cache of HDF5 files open for reading, shared by every StreamedFrames: a store of
    10,000 episodes is streamed without 10,000 open files. Used from the prefetch thread and the
    main thread, hence the lock."""

    def __init__(self, size: int = 128):
        self.size, self.files, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, path: Path):
        import h5py

        with self.lock:
            f = self.files.pop(path, None)
            if f is None:
                f = h5py.File(path, "r")
                while len(self.files) >= self.size:
                    self.files.popitem(last=False)[1].close()
            self.files[path] = f
            return f


_open_files = _OpenFiles()


class StreamedFrames:
    """An episode's frames left on disk: indexing reads only the chunks it needs. Has the shape,
    dtype and ndim of the array it stands for; np.asarray() reads it all."""

    def __init__(self, path: Path, shape: tuple, dtype):
        self.path, self.shape, self.dtype, self.ndim = path, tuple(shape), np.dtype(dtype), len(shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index):
        try:
            return _open_files.get(self.path)["pixels"][index]
        except (OSError, KeyError) as e:  # damage since the store was opened: a chunk failing its checksum
            raise DataError(f"{self.path}: field 'pixels' does not read back as written at {index} ({e})") from None

    def __array__(self, dtype=None, copy=None):
        frames = self[:]
        return frames if dtype is None else frames.astype(dtype)


def write_h5(path: Path, ep: Episode) -> None:
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["format"], f.attrs["schema_version"] = FORMAT, SCHEMA_VERSION
        if ep.task is not None:
            f.attrs["task"] = str(ep.task)
        for name in REQUIRED + OPTIONAL:
            arr = getattr(ep, name)
            if arr is None:
                continue
            arr = np.asarray(arr)
            # fletcher32: HDF5 checks every chunk it reads against its own checksum, so damage that appears
            # after a store was opened (streamed frames) is refused too
            if name in PER_STEP and arr.ndim >= 2 and len(arr) > 1:  # chunked along time
                chunks = (min(CHUNK_FRAMES, len(arr)),) + arr.shape[1:]
                f.create_dataset(name, data=arr, chunks=chunks, compression="gzip", compression_opts=4, fletcher32=True)
            elif arr.ndim >= 1 and arr.size:
                f.create_dataset(name, data=arr, fletcher32=True)
            else:
                f.create_dataset(name, data=arr)


def _check_declared(path: Path, name: str, shape: tuple, itemsize: int, held: int | None, budget: int) -> int:
    """-> the episode's bytes in memory with this field (`held` those before it; None: the field is
    streamed), refused past the limits (module docstring) before anything of it is read."""
    if name in ("pixels", "goal_pixels", "depth", "goal_depth"):
        sides = shape[-3:-1] if name.endswith("pixels") else shape[-2:]
        if any(n > MAX_FRAME_SIDE for n in sides):
            raise DataError(
                f"{path}: field '{name}' declares frames of {' x '.join(map(str, sides))} pixels, more than "
                f"{MAX_FRAME_SIDE} a side (import video at the size a model trains on: --size)"
            )
    if held is None:
        return 0
    held += itemsize * math.prod(shape)  # Python ints: no overflow, whatever the file declares
    if held > budget:
        raise DataError(
            f"{path}: field '{name}' declares shape {tuple(shape)}, which takes the episode past {budget:,} "
            "bytes in memory (a quarter of this machine's RAM); stream its frames (train.stream=on) or split it"
        )
    return held


def _all_chunks_indexed(path: Path, name: str, ds) -> None:
    """A chunked field's index must list every chunk: an entry lost to damage reads back as the fill
    value (zeros) with no error, and fletcher32 only checks the chunks that are there."""
    chunks, shape = ds.chunks, ds.shape
    if chunks is None or 0 in shape:
        return
    want = math.prod(-(-n // c) for n, c in zip(shape, chunks))
    try:
        have = ds.id.get_num_chunks()
    except Exception as e:  # noqa: BLE001 - an index that does not read is damage too
        raise DataError(f"{path}: field '{name}': its chunk index does not read ({e})") from None
    if have != want:
        raise DataError(
            f"{path}: field '{name}': {have} of its {want} chunks are in the file's index (damaged; the "
            "missing ones would read as zeros)"
        )


def read_npz(path: Path) -> Episode:
    """A schema 1 or 2 episode (.npz, never unpickled), its declared sizes checked before it is read."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        declared = sum(i.file_size for i in z.infolist())
    if declared > memory_budget():  # uncompressed sizes, as the zip's directory states them
        raise DataError(
            f"{path}: declares {declared:,} bytes uncompressed, more than an episode may hold in memory here "
            f"({memory_budget():,} bytes)"
        )
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in REQUIRED if k not in f.files]
        if missing:
            raise DataError(f"{path}: missing field(s) {missing}")
        return Episode(**{k: f[k] for k in REQUIRED + OPTIONAL if k in f.files})


def read_h5(path: Path, stream: bool, hashed: bool = False) -> Episode:
    """hashed: the file's bytes were just found to be the ones recorded when it was written, which
    proves its chunk index whole (the index check is skipped: 0.24 s per 1,000 episodes)."""
    import h5py

    budget = memory_budget()
    with h5py.File(path, "r") as f:
        names = set(f.keys())  # once: each `k in f` is an HDF5 lookup (0.2 s per 1,000 episodes)
        missing = [k for k in REQUIRED if k not in names]
        if missing:
            raise DataError(f"{path}: missing field(s) {missing}")
        fields, held = {}, 0
        for k in REQUIRED + OPTIONAL:
            if k not in names:
                continue
            if not isinstance(f.get(k, getlink=True), h5py.HardLink):
                raise DataError(f"{path}: field '{k}' is a link to another file; an episode holds its own data")
            ds = f[k]
            if not isinstance(ds, h5py.Dataset) or ds.dtype.kind not in "uif":
                raise DataError(f"{path}: field '{k}' is not an array of numbers")
            streamed = stream and k == "pixels"
            if streamed:
                _check_declared(path, k, ds.shape, ds.dtype.itemsize, None, budget)
            else:
                held = _check_declared(path, k, ds.shape, ds.dtype.itemsize, held, budget)
            if ds.external or ds.is_virtual:  # HDF5 can keep a dataset's bytes in any file on the machine
                raise DataError(
                    f"{path}: field '{k}' keeps its data in other files (HDF5 external or virtual "
                    "storage); an episode holds its own data"
                )
            if not hashed:
                _all_chunks_indexed(path, k, ds)
            try:
                fields[k] = StreamedFrames(path, ds.shape, ds.dtype) if streamed else ds[()]
            except OSError as e:  # a chunk failing its fletcher32 checksum, or its decompression
                raise DataError(f"{path}: field '{k}' does not read back as written ({e})") from None
        task = f.attrs.get("task") if "task" in f.attrs else None
    if task is not None and not (isinstance(task, str) and len(task) <= 10_000):
        raise DataError(f"{path}: attribute 'task' must be a string of at most 10,000 characters")
    return Episode(**fields, task=task)


def memory_budget() -> int:
    """Bytes of frames held in memory before data.stream=auto streams them: a quarter of the RAM."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):  # not every platform reports it
        return 4 << 30
