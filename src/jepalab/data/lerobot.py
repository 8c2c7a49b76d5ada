"""LeRobot datasets in and out: v2.x and v3.0 read, v3.0 written.

    jepalab import --lerobot ~/datasets/pusht --out data/pusht [--camera observation.image]
    jepalab export-data --store data/two-room --lerobot datasets/two-room [--fps 10]

v2.x (2024-25): one parquet file and one mp4 per episode, paths from meta/info.json's templates.
v3.0 (LeRobot's format since 2025): many episodes per parquet file and per mp4; meta/episodes/
holds one row per episode with its data file (`data/chunk_index`, `data/file_index`), its frames'
rows in that file (`episode_index`) and, per camera, its video file and where in it the episode
starts (`videos/KEY/from_timestamp`).

Both map `action` to actions, `observation.state` to proprio and one camera's video to frames.
LeRobot logs an action with every frame, the last of which leads past the episode: it is dropped
on import, and written as zeros on export. Parquet needs pyarrow (`pip install 'jepalab[lerobot]'`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .store import DataError, Episode, EpisodeStore
from .video import iter_frames, write_video

CAMERA = "observation.image"  # the camera key an exported store's frames get


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading and writing LeRobot parquet files needs pyarrow: pip install pyarrow") from None
    return pa, pq


def read_info(root: Path) -> dict:
    path = root / "meta" / "info.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{root}: not a LeRobot dataset (no meta/info.json)") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(info, dict):
        raise DataError(f"{path}: must hold a JSON object")
    version = str(info.get("codebase_version", "?"))
    if not version.startswith(("v2", "v3")):
        raise DataError(f"{path}: LeRobot format {version}; jepalab reads v2.x and v3.x")
    for key in ("data_path", "video_path", "features", "total_episodes", "fps"):
        if key not in info:
            raise DataError(f"{path}: missing key {key!r}")
    return info


def _columns(table, where: Path) -> dict[str, np.ndarray]:
    columns = {}
    for key in ("action", "observation.state"):
        if key in table.column_names:
            columns[key] = np.asarray(table.column(key).to_pylist(), np.float32).reshape(table.num_rows, -1)
    if "action" not in columns:
        raise DataError(f"{where}: no 'action' column (columns: {', '.join(table.column_names)})")
    for key, arr in columns.items():
        if not np.isfinite(arr).all():
            raise DataError(f"{where}: column {key!r} holds NaN or inf (first in row "
                            f"{int(np.argwhere(~np.isfinite(arr))[0][0])})")
    return columns


def _episode(columns: dict, frames: np.ndarray, data: Path, video: Path) -> Episode:
    if len(frames) != len(columns["action"]):
        raise DataError(f"{video}: {len(frames)} frames for {len(columns['action'])} rows of {data.name}")
    state = columns.get("observation.state", np.zeros((len(frames), 1), np.float32))
    return Episode(frames, columns["action"][:-1], state)


def _read_parquet(pq, path: Path):
    if not path.is_file():
        raise DataError(f"{path}: missing")
    try:
        return pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for damaged files
        raise DataError(f"{path}: unreadable parquet ({type(e).__name__}: {e})") from None


def episode_loaders(root, camera: str | None, image_size: int):
    """-> (info, camera, [(name, () -> Episode)]) for a v2.x or v3.x dataset on disk."""
    root = Path(root)
    info = read_info(root)
    features = info["features"]
    cameras = sorted(k for k, f in features.items() if isinstance(f, dict) and f.get("dtype") == "video")
    if not cameras:
        raise DataError(f"{root}: the dataset has no video features (images stored in parquet are not read)")
    camera = camera or cameras[0]
    if camera not in cameras:
        raise DataError(f"{root}: no camera {camera!r}; cameras: {', '.join(cameras)}")
    if "action" not in features:
        raise DataError(f"{root}/meta/info.json: no 'action' feature")
    _, pq = _pyarrow()
    if str(info["codebase_version"]).startswith("v2"):
        chunk = int(info.get("chunks_size", 1000))

        def v2(e: int):
            def load() -> Episode:
                fmt = {"episode_chunk": e // chunk, "episode_index": e, "video_key": camera}
                data, video = root / info["data_path"].format(**fmt), root / info["video_path"].format(**fmt)
                columns = _columns(_read_parquet(pq, data), data)
                return _episode(columns, np.stack(list(iter_frames(video, None, image_size))), data, video)
            return load
        return info, camera, [(f"{root} episode {e}", v2(e)) for e in range(int(info["total_episodes"]))]
    rows = _v3_episode_rows(pq, root)
    cache: dict = {}

    def v3(row: dict):
        def load() -> Episode:
            e = int(row["episode_index"])
            data = root / info["data_path"].format(chunk_index=int(row["data/chunk_index"]),
                                                   file_index=int(row["data/file_index"]))
            if data not in cache:
                cache.clear()  # one data file and one video file in memory at a time
                cache[data] = _read_parquet(pq, data)
            table = cache[data]
            mask = np.asarray(table.column("episode_index").to_pylist()) == e
            columns = {k: v[mask] for k, v in _columns(table, data).items()}
            key = f"videos/{camera}"
            video = root / info["video_path"].format(video_key=camera, chunk_index=int(row[f"{key}/chunk_index"]),
                                                     file_index=int(row[f"{key}/file_index"]))
            if video not in cache:
                cache[video] = np.stack(list(iter_frames(video, None, image_size)))
            first = int(round(float(row[f"{key}/from_timestamp"]) * float(info["fps"])))
            return _episode(columns, cache[video][first:first + int(mask.sum())], data, video)
        return load
    return info, camera, [(f"{root} episode {int(r['episode_index'])}", v3(r)) for r in rows]


def _v3_episode_rows(pq, root: Path) -> list[dict]:
    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not files:
        raise DataError(f"{root}/meta/episodes: no episode metadata (chunk-*/file-*.parquet), which v3 needs")
    rows = [r for f in files for r in _read_parquet(pq, f).to_pylist()]
    need = ("episode_index", "data/chunk_index", "data/file_index")
    missing = [k for k in need if k not in rows[0]]
    if missing:
        raise DataError(f"{files[0]}: missing columns {missing}")
    return sorted(rows, key=lambda r: int(r["episode_index"]))


def export_store(store_path, out, fps: float = 10.0) -> Path:
    """An episode store written as a LeRobot v3.0 dataset: one parquet file of every frame's row,
    one mp4 of every episode's frames back to back, the per-episode metadata that locates them."""
    pa, pq = _pyarrow()
    store, out = EpisodeStore(store_path), Path(out)
    meta, episodes = store.meta(), store.load_all()
    if (out / "meta" / "info.json").exists():
        raise DataError(f"{out}: already holds a LeRobot dataset; give another folder")
    data_rel = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    video_rel = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    columns = {"action": [], "observation.state": [], "timestamp": [], "frame_index": [], "episode_index": [],
               "index": [], "task_index": []}
    episode_rows, frames, index = [], [], 0
    for e, ep in enumerate(episodes):
        n = len(ep.pixels)
        actions = np.concatenate([ep.actions, np.zeros((1, ep.actions.shape[1]), np.float32)])
        columns["action"] += actions.astype(np.float32).tolist()
        columns["observation.state"] += np.asarray(ep.proprio, np.float32).tolist()
        columns["timestamp"] += [i / fps for i in range(n)]
        columns["frame_index"] += list(range(n))
        columns["episode_index"] += [e] * n
        columns["index"] += list(range(index, index + n))
        columns["task_index"] += [0] * n
        episode_rows.append({"episode_index": e, "length": n, "tasks": [str(meta.get("world", "task"))],
                             "data/chunk_index": 0, "data/file_index": 0, "dataset_from_index": index,
                             "dataset_to_index": index + n, f"videos/{CAMERA}/chunk_index": 0,
                             f"videos/{CAMERA}/file_index": 0, f"videos/{CAMERA}/from_timestamp": len(frames) / fps,
                             f"videos/{CAMERA}/to_timestamp": (len(frames) + n) / fps})
        frames += list(np.asarray(ep.pixels))
        index += n
    (out / "data" / "chunk-000").mkdir(parents=True)
    pq.write_table(pa.table(columns), out / data_rel.format(chunk_index=0, file_index=0))
    write_video(out / video_rel.format(video_key=CAMERA, chunk_index=0, file_index=0), np.stack(frames), fps)
    (out / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(episode_rows), out / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    pq.write_table(
        pa.table({"task_index": [0], "task": [str(meta.get("world", "task"))]}), out / "meta" / "tasks.parquet"
    )
    size = list(episodes[0].pixels.shape[1:])
    info = {"codebase_version": "v3.0", "fps": fps, "total_episodes": len(episodes), "total_frames": index,
            "total_tasks": 1, "chunks_size": 1000, "data_path": data_rel, "video_path": video_rel,
            "features": {CAMERA: {"dtype": "video", "shape": size, "names": ["height", "width", "channels"]},
                         "observation.state": {"dtype": "float32", "shape": [episodes[0].proprio.shape[1]]},
                         "action": {"dtype": "float32", "shape": [episodes[0].actions.shape[1]]},
                         "timestamp": {"dtype": "float32", "shape": [1]},
                         "frame_index": {"dtype": "int64", "shape": [1]},
                         "episode_index": {"dtype": "int64", "shape": [1]},
                         "index": {"dtype": "int64", "shape": [1]}, "task_index": {"dtype": "int64", "shape": [1]}}}
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=2))
    return out
