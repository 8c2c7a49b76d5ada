"""Episode store: a folder of per-episode `.npz` files plus a `dataset.json` index.

    data/x/dataset.json              format, schema version, world, shapes
    data/x/episodes/ep_000000.npz    pixels (T+1,H,W,3) uint8, actions (T,A) float32, proprio (T+1,P) float32,
                                     and where the source has them: rewards (T,), state (T+1,S) (the true
                                     simulator state), goal_proprio (P,), goal_pixels (H,W,3) uint8,
                                     audio (T+1,M,S) log-mel windows (data/audio.py)

Schema versions: 1 had the three required fields only; 2 (now) adds the optional ones. Both are read.

Each episode is written to a temporary file and renamed into place, so a
collection killed at any moment leaves a readable store of the completed
episodes. Files are read with `allow_pickle=False`: a store never runs code.
Every problem found on reading names the file and the field.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "jepalab-episodes"
SCHEMA_VERSION = 2
READS = (1, 2)  # schema versions this jepalab reads
REQUIRED = ("pixels", "actions", "proprio")
OPTIONAL = ("rewards", "state", "goal_proprio", "goal_pixels", "audio")


class DataError(ValueError):
    """A dataset on disk is missing, malformed or inconsistent."""


@dataclass
class Episode:
    pixels: np.ndarray  # (T+1, H, W, 3) uint8
    actions: np.ndarray  # (T, A) float32
    proprio: np.ndarray  # (T+1, P) float32
    rewards: np.ndarray | None = None  # (T,) float32: the reward after each action
    state: np.ndarray | None = None  # (T+1, S) float32: true simulator state (e.g. MuJoCo qpos, qvel)
    goal_proprio: np.ndarray | None = None  # (P,) float32: the episode's goal, as proprio
    goal_pixels: np.ndarray | None = None  # (H, W, 3) uint8: an image of the goal reached
    audio: np.ndarray | None = None  # (T+1, MELS, STEPS) float32: log-mel window heard up to each frame

    def __len__(self) -> int:
        return len(self.actions)


def write_json_atomic(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


class EpisodeStore:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.index_path = self.root / "dataset.json"
        self.episode_dir = self.root / "episodes"

    # -- writing ---------------------------------------------------------------
    @classmethod
    def create(cls, root, meta: dict) -> "EpisodeStore":
        """Open a store for writing; an existing store must describe the same data (resume)."""
        store = cls(root)
        store.episode_dir.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "schema_version": SCHEMA_VERSION, **meta}
        if store.index_path.exists():
            old = store.meta()
            clash = {k: (old.get(k), v) for k, v in meta.items() if old.get(k) != v}
            if clash:
                raise DataError(f"{store.index_path}: existing store was made with other settings {clash}; "
                                "use another --out folder")
        else:
            write_json_atomic(store.index_path, meta)
        return store

    def append(self, ep: Episode, index: int) -> Path:
        self.validate(ep, f"episode {index}")
        path = self.episode_dir / f"ep_{index:06d}.npz"
        tmp = self.episode_dir / f".ep_{index:06d}.tmp.npz"
        fields = {k: getattr(ep, k) for k in REQUIRED + OPTIONAL if getattr(ep, k) is not None}
        np.savez_compressed(tmp, **fields)
        os.replace(tmp, path)
        return path

    # -- reading ---------------------------------------------------------------
    def meta(self) -> dict:
        if not self.root.is_dir():
            raise DataError(f"{self.root}: no such data folder (make one with `jepalab collect`)")
        if not self.index_path.is_file():
            raise DataError(f"{self.root}: not a jepalab episode store (no dataset.json)")
        try:
            meta = json.loads(self.index_path.read_text())
        except json.JSONDecodeError as e:
            raise DataError(f"{self.index_path}: not valid JSON ({e})") from None
        if meta.get("format") != FORMAT:
            raise DataError(f"{self.index_path}: format is {meta.get('format')!r}, expected {FORMAT!r}")
        if meta.get("schema_version") not in READS:
            raise DataError(f"{self.index_path}: schema version {meta.get('schema_version')} is not supported "
                            f"(this jepalab reads versions {', '.join(map(str, READS))}; "
                            f"{'upgrade jepalab' if (meta.get('schema_version') or 0) > SCHEMA_VERSION else 'collect it again'})")
        return meta

    def episode_paths(self) -> list[Path]:
        return sorted(self.episode_dir.glob("ep_*.npz"))

    def __len__(self) -> int:
        return len(self.episode_paths())

    def load(self, path: Path) -> Episode:
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = [k for k in REQUIRED if k not in f.files]
                if missing:
                    raise DataError(f"{path}: missing field(s) {missing}")
                ep = Episode(**{k: f[k] for k in REQUIRED + OPTIONAL if k in f.files})
        except DataError:
            raise
        except Exception as e:  # zip/npy errors come in many types; all mean the file is unreadable
            raise DataError(f"{path}: unreadable episode file ({type(e).__name__}: {e})") from None
        self.validate(ep, str(path))
        return ep

    def load_all(self, limit: int | None = None) -> list[Episode]:
        self.meta()
        paths = self.episode_paths()[:limit]
        if not paths:
            raise DataError(f"{self.root}: the store holds no episodes")
        return [self.load(p) for p in paths]

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
            raise DataError(f"{where}: lengths disagree: pixels {len(p)}, actions {len(a)}, proprio {len(s)} "
                            "(expected T+1, T, T+1)")
        T = len(a)
        shapes = {"rewards": (T,), "state": (T + 1, None), "goal_proprio": (s.shape[1],), "goal_pixels": p.shape[1:],
                  "audio": (T + 1, None, None)}
        for name, want in shapes.items():
            arr = getattr(ep, name)
            if arr is None:
                continue
            ok = arr.ndim == len(want) and all(w is None or w == n for w, n in zip(want, arr.shape))
            kind_ok = arr.dtype == np.uint8 if name == "goal_pixels" else np.issubdtype(arr.dtype, np.floating)
            if not (ok and kind_ok):
                shown = tuple("*" if w is None else w for w in want)
                raise DataError(f"{where}: field '{name}' must be {shown} "
                                f"{'uint8' if name == 'goal_pixels' else 'float'}, got {arr.shape} {arr.dtype}")
        for name in ("actions", "proprio", "rewards", "state", "goal_proprio", "audio"):
            arr = getattr(ep, name)
            if arr is not None and not np.all(np.isfinite(arr)):
                bad = int(np.argwhere(~np.isfinite(arr))[0][0])
                raise DataError(f"{where}: field '{name}' holds NaN or inf (first at {'index' if name == 'goal_proprio' else 'step'} {bad})")
