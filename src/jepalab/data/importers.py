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

LeRobot datasets (format v2.x, as on disk after a download: meta/info.json, per-episode parquet files
and mp4 files): `action` becomes actions, `observation.state` proprio, one camera's video the frames.
Parquet needs pyarrow (`pip install pyarrow`).

Every problem names the file and what is wrong; an import that stops part-way resumes (episodes
already in the store are skipped).
"""
from __future__ import annotations

import json
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
    if not np.isfinite(table).all():
        row = int(np.argwhere(~np.isfinite(table))[0][0])
        raise DataError(f"{path}: holds NaN or inf (first in row {row})")
    return table.astype(np.float32)


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
        raise DataError(f"{where}: {len(actions)} actions for {n} frames of {video.name} (expected {n - 1} or {n}; "
                        "check --fps against the rate the actions were logged at)")
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


def import_videos(folder, out, fps: float | None = None, image_size: int = 64, progress: bool = True,
                  passive: bool = False) -> EpisodeStore:
    """Videos with an actions file beside each (clip.mp4 + clip.npy|csv [+ clip.state.npy|csv]).
    passive: videos with no actions (a camera watching the world, not acting on it) get one zero action
    per step, as the built-in passive world bounce does; the world model then learns what follows
    from the frames alone (train it with e.g. --preset bounce) and `jepalab surprise` scores them."""
    videos = find_videos(folder)
    if not videos:
        raise DataError(f"{folder}: no video files")
    missing = [] if passive else [v.name for v in videos if _beside(v, "") is None]
    if missing:
        raise DataError(f"{folder}: no actions file (.npy or .csv with the video's name) for {', '.join(missing[:5])}"
                        + (" ..." if len(missing) > 5 else "")
                        + "; videos without actions: pass --passive (zero actions, as in the passive world bounce) "
                          f"or pretrain a video model on them (jepalab pretrain --videos {folder})")
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

    meta = {"world": f"imported:{Path(folder).name}", "source": "videos" if passive else "videos + actions",
            "fps": fps, "image_size": image_size, "action_dim": int(first.shape[1]),
            "proprio_dim": int(read_table(state).shape[1]) if state else 1, "steps_per_episode": None,
            "policy": "none (passive videos: zero actions)" if passive else "recorded"}
    return _import([(str(v), loader(v)) for v in videos], out, meta, progress)


# ---------------------------------------------------------------- LeRobot
def _lerobot_info(root: Path) -> dict:
    path = root / "meta" / "info.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{root}: not a LeRobot dataset (no meta/info.json)") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    version = str(info.get("codebase_version", "?"))
    if not version.startswith("v2"):
        raise DataError(f"{path}: LeRobot format {version}; jepalab reads v2.x (per-episode parquet and mp4 files)")
    for key in ("data_path", "video_path", "features", "total_episodes", "fps"):
        if key not in info:
            raise DataError(f"{path}: missing key {key!r}")
    return info


def import_lerobot(root, out, camera: str | None = None, image_size: int = 64, progress: bool = True) -> EpisodeStore:
    root = Path(root)
    info = _lerobot_info(root)
    features = info["features"]
    cameras = sorted(k for k, f in features.items() if f.get("dtype") == "video")
    if not cameras:
        raise DataError(f"{root}: the dataset has no video features (images stored in parquet are not read)")
    camera = camera or cameras[0]
    if camera not in cameras:
        raise DataError(f"{root}: no camera {camera!r}; cameras: {', '.join(cameras)}")
    if "action" not in features:
        raise DataError(f"{root}/meta/info.json: no 'action' feature")
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading LeRobot parquet files needs pyarrow: pip install pyarrow") from None
    chunk = int(info.get("chunks_size", 1000))

    def loader(e: int):
        def load() -> Episode:
            fmt = {"episode_chunk": e // chunk, "episode_index": e, "video_key": camera}
            data, video = root / info["data_path"].format(**fmt), root / info["video_path"].format(**fmt)
            if not data.is_file():
                raise DataError(f"{data}: missing (episode {e})")
            try:
                table = pq.read_table(data)
            except Exception as err:  # pyarrow raises several types for damaged files
                raise DataError(f"{data}: unreadable parquet ({type(err).__name__}: {err})") from None
            columns = {}
            for key in ("action", "observation.state"):
                if key in table.column_names:
                    columns[key] = np.asarray(table.column(key).to_pylist(), np.float32).reshape(table.num_rows, -1)
            if "action" not in columns:
                raise DataError(f"{data}: no 'action' column (columns: {', '.join(table.column_names)})")
            for key, arr in columns.items():
                if not np.isfinite(arr).all():
                    raise DataError(f"{data}: column {key!r} holds NaN or inf (first in row {int(np.argwhere(~np.isfinite(arr))[0][0])})")
            frames = np.stack(list(iter_frames(video, None, image_size)))
            if len(frames) != table.num_rows:
                raise DataError(f"{video}: {len(frames)} frames for {table.num_rows} rows of {data.name}")
            # LeRobot logs the action taken at each frame: the last one leads past the episode
            return Episode(frames, columns["action"][:-1], columns.get("observation.state",
                                                                         np.zeros((len(frames), 1), np.float32)))
        return load

    n = int(info["total_episodes"])
    action_dim = int(np.prod(features["action"].get("shape", [0])))
    state = features.get("observation.state")
    meta = {"world": f"lerobot:{root.name}", "source": f"LeRobot {info.get('codebase_version')}, camera {camera}",
            "fps": info["fps"], "image_size": image_size, "action_dim": action_dim,
            "proprio_dim": int(np.prod(state.get("shape", [1]))) if state else 1, "steps_per_episode": None,
            "policy": "recorded"}
    return _import([(f"{root} episode {e}", loader(e)) for e in range(n)], out, meta, progress)


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
