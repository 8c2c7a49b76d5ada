"""Users' own recordings into an episode store.

    jepalab import --videos recordings/ --out data/mine [--fps 10] [--image-size 64]
    jepalab import --lerobot path/to/dataset --out data/robot [--camera observation.images.top]
    jepalab import --store data/old --out data/new      # any older store, rewritten in the current format

Videos with actions: every video file in the folder (searched recursively) is one episode; beside
`clip.mp4` lie its actions, `clip.npy` or `clip.csv`, one row per step between two frames (T rows for
T+1 frames; T+1 rows are accepted and the last dropped, as recorders often log an action with every
frame), and optionally its proprioception, `clip.state.npy` or `clip.state.csv`, one row per frame
(without it, proprio is a single zero). CSV files are plain numbers, comma-separated, with or without
a header row. Frames are sampled at --fps (default: every frame) and centre-cropped to a square.

LeRobot datasets (v2.x and v3.0, as on disk after a download; data/lerobot.py): `action` becomes
actions, `observation.state` proprio, one camera's video the frames. Parquet needs pyarrow.

Every problem names the file and what is wrong; an import that stops part-way resumes (episodes
already in the store are skipped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .store import DataError, Episode, EpisodeStore
from .video import find_videos, iter_frames


def read_table(path: Path) -> np.ndarray:
    """A .npy array or a CSV of numbers (one optional header row) -> (rows, columns) float32."""
    if path.suffix == ".npy":
        try:
            table = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a readable .npy array ({e})") from None
    else:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        if lines and not _numeric(lines[0]):
            lines = lines[1:]  # a header
        try:
            table = np.array([[float(x) for x in line.split(",")] for line in lines])
        except ValueError as e:
            raise DataError(f"{path}: not a CSV of numbers ({e})") from None
        if len({len(line.split(",")) for line in lines}) > 1:
            raise DataError(f"{path}: rows have different numbers of columns")
    if not np.issubdtype(table.dtype, np.number):
        raise DataError(f"{path}: holds {table.dtype}, not numbers")
    table = table.reshape(len(table), -1) if table.ndim == 1 else table
    if table.ndim != 2:
        raise DataError(f"{path}: must be a table (rows, columns), got shape {table.shape}")
    with np.errstate(over="ignore"):  # checked as it will be used: 1e300 is inf as float32
        table = table.astype(np.float32)
    if not np.isfinite(table).all():
        row = int(np.argwhere(~np.isfinite(table))[0][0])
        raise DataError(f"{path}: holds NaN, inf or a value beyond float32's range (first in row {row})")
    return table


def _numeric(line: str) -> bool:
    try:
        [float(x) for x in line.split(",")]
        return True
    except ValueError:
        return False


def _beside(video: Path, suffix: str) -> Path | None:
    for ext in (".npy", ".csv"):
        p = video.with_name(video.stem + suffix + ext)
        if p.is_file():
            return p
    return None


def _align(frames: np.ndarray, actions: np.ndarray, proprio: np.ndarray | None, video: Path, where: Path) -> Episode:
    n = len(frames)
    if len(actions) == n:
        actions = actions[:-1]
    if len(actions) != n - 1:
        raise DataError(
            f"{where}: {len(actions)} actions for {n} frames of {video.name} (expected {n - 1} or {n}; "
            "check --fps against the rate the actions were logged at)"
        )
    if proprio is None:
        proprio = np.zeros((n, 1), np.float32)
    elif len(proprio) != n:
        raise DataError(f"{where}: {len(proprio)} state rows for {n} frames of {video.name}")
    if n < 2:
        raise DataError(f"{video}: {n} frame(s); an episode needs at least 2")
    return Episode(frames, actions, proprio)


def _import(jobs: list, out, meta: dict, progress: bool) -> EpisodeStore:
    """jobs: [(name, () -> Episode) or None for a gap]; writes episode i from jobs[i], skipping those on disk."""
    store = EpisodeStore.create(out, meta)
    done = store.indices()
    dims = None
    for i, job in enumerate(tqdm(jobs, desc="import", unit="ep", disable=not progress)):
        if i in done or job is None:
            continue
        name, load = job
        ep = load()
        shape = (ep.actions.shape[1], ep.proprio.shape[1])
        if dims is None:
            dims = shape
            if meta.get("action_dim") not in (None, shape[0]):
                raise DataError(f"{name}: {shape[0]} action columns, the store holds {meta['action_dim']}")
        elif shape != dims:
            raise DataError(f"{name}: (action, state) columns {shape}, earlier episodes have {dims}")
        store.append(ep, i)
    return store


def import_videos(
    folder, out, fps: float | None = None, image_size: int = 64, progress: bool = True, passive: bool = False
) -> EpisodeStore:
    """Videos with an actions file beside each (clip.mp4 + clip.npy|csv [+ clip.state.npy|csv]).
    passive: videos with no actions (a camera watching the world, not acting on it) get one zero action
    per step, as the built-in passive world bounce does; the world model then learns what follows
    from the frames alone (train it with e.g. --preset bounce) and `jepalab surprise` scores them."""
    videos = find_videos(folder)
    if not videos:
        raise DataError(f"{folder}: no video files")
    missing = [] if passive else [v.name for v in videos if _beside(v, "") is None]
    if missing:
        raise DataError(
            f"{folder}: no actions file (.npy or .csv with the video's name) for {', '.join(missing[:5])}"
            + (" ..." if len(missing) > 5 else "")
            + "; videos without actions: pass --passive (zero actions, as in the passive world bounce) "
            f"or pretrain a video model on them (jepalab pretrain --videos {folder})"
        )
    first = np.zeros((1, 1), np.float32) if passive else read_table(_beside(videos[0], ""))
    state = _beside(videos[0], ".state")

    def loader(video: Path):
        def load() -> Episode:
            frames = np.stack(list(iter_frames(video, fps, image_size)))
            actions_path, state_path = _beside(video, ""), _beside(video, ".state")
            proprio = read_table(state_path) if state_path else None
            if passive:  # an actions file beside the video is not read
                return _align(frames, np.zeros((len(frames) - 1, 1), np.float32), proprio, video, video)
            return _align(frames, read_table(actions_path), proprio, video, actions_path)

        return load

    meta = {
        "world": f"imported:{Path(folder).name}",
        "source": "videos" if passive else "videos + actions",
        "fps": fps,
        "image_size": image_size,
        "action_dim": int(first.shape[1]),
        "proprio_dim": int(read_table(state).shape[1]) if state else 1,
        "steps_per_episode": None,
        "policy": "none (passive videos: zero actions)" if passive else "recorded",
    }
    return _import([(str(v), loader(v)) for v in videos], out, meta, progress)


# ---------------------------------------------------------------- LeRobot
def import_lerobot(
    root, out, camera: str | None = None, image_size: int = 64, progress: bool = True, report: dict | None = None
) -> EpisodeStore:
    """A LeRobot dataset (v2.x or v3.x) on disk, or a Hub id whose download is on this machine, into a
    store (data/lerobot.py reads both). `report` (a dict) is filled with what became of each field."""
    from .lerobot import GOAL_IMAGE, GOAL_STATE, episode_loaders, find_dataset

    root = find_dataset(root)
    report = {} if report is None else report
    info, camera, jobs = episode_loaders(root, camera, image_size, report)
    features = info["features"]
    state = features.get("observation.state")
    meta = {
        "world": f"lerobot:{Path(root).name}",
        "source": f"LeRobot {info.get('codebase_version')}, camera {camera}",
        "fps": info["fps"],
        "image_size": image_size,
        "action_dim": int(np.prod(features["action"].get("shape", [0]))),
        "proprio_dim": int(np.prod(state.get("shape", [1]))) if state else 1,
        "steps_per_episode": None,
        "policy": "recorded",
    }
    store = _import(jobs, out, meta, progress)
    others = sorted(
        k
        for k, f in features.items()
        if isinstance(f, dict) and f.get("dtype") in ("video", "image") and k not in (camera, GOAL_IMAGE)
    )
    report.update(
        {
            "frames": f"{camera}" + (f" (not imported: {', '.join(others)}; --camera picks one)" if others else ""),
            "actions": "action",
            "proprio": "observation.state" if state else "none (a zero)",
            "rewards": "next.reward" if "next.reward" in features else "none in the dataset",
            "tasks": "each episode's first task string",
            "fps": info["fps"],
            "goals": ", ".join(k for k in (GOAL_STATE, GOAL_IMAGE) if k in features) or "none in the dataset",
        }
    )
    if report.get("done flags inside an episode"):
        report["done flags inside an episode"] = (
            f"{report['done flags inside an episode']} dropped (a store's episode ends where its frames do)"
        )
    dropped = sorted(
        k
        for k in features
        if k
        not in (
            *others,
            camera,
            GOAL_IMAGE,
            GOAL_STATE,
            "action",
            "observation.state",
            "next.reward",
            "next.done",
            "timestamp",
            "frame_index",
            "episode_index",
            "index",
            "task_index",
        )
    )
    if dropped:
        report["not imported"] = ", ".join(dropped)
    return store


def import_store(src, out, progress: bool = True) -> EpisodeStore:
    """An episode store of any readable schema version rewritten in the current one (HDF5), e.g. to
    stream a store made by an older jepalab. Every field is copied bit for bit."""
    old = EpisodeStore(src)
    meta = {k: v for k, v in old.meta().items() if k not in ("format", "schema_version")}
    if Path(out).resolve() == old.root.resolve():
        raise DataError(f"{out}: write the rewritten store to another folder than {src}")
    paths = {int(p.stem.split("_")[1]): p for p in old.episode_paths()}
    if not paths:
        raise DataError(f"{old.root}: the store holds no episodes")
    # numbering kept: episode i of a collected store is seed + i
    jobs = [(str(paths[i]), lambda p=paths[i]: old.load(p)) if i in paths else None for i in range(max(paths) + 1)]
    return _import(jobs, out, meta, progress)
