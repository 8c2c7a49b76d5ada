"""LeRobot datasets in and out: v2.x and v3.0 read, v3.0 written.

    jepalab import --lerobot ~/datasets/pusht --out data/pusht [--camera observation.image]
    jepalab export-data --store data/two-room --lerobot datasets/two-room [--fps 10]

v2.x (2024-25): one parquet file and one mp4 per episode, paths from meta/info.json's templates.
v3.0 (LeRobot's format since 2025): many episodes per parquet file and per mp4; meta/episodes/
holds one row per episode with its data file (`data/chunk_index`, `data/file_index`), its frames'
rows in that file (`episode_index`) and, per camera, its video file and where in it the episode
starts (`videos/KEY/from_timestamp`).

Both map `action` to actions, `observation.state` to proprio and one camera's video to frames;
`next.reward` to rewards, `next.done` to the episode's end, the episodes' task strings to each
episode's task, `observation.goal_state` / `observation.goal_image` to the goal, `fps` to the store's.
LeRobot logs an action with every frame, the last of which leads past the episode: it is dropped
on import, and written as zeros on export. What does not fit a store (other cameras, done flags
inside an episode) is named in the report import and export return. Parquet needs pyarrow
(`pip install 'jepalab[lerobot]'`).

The export is what LeRobot's own writer (LeRobotDataset.create / save_episode / finalize, v3.0)
produces: info.json with robot_type, splits, file-size limits and each video's `info` block; every
feature with `names`; float32 columns as fixed-size lists; tasks.parquet indexed by the task string;
meta/stats.json and the per-episode stats columns; int fps. Checked by loading an export with
LeRobot's LeRobotDataset (benchmarks/lerobot_roundtrip.py, in a venv that has lerobot).
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
    for key in ("action", "observation.state", "next.reward", "next.done", "observation.goal_state"):
        if key in table.column_names:
            columns[key] = np.asarray(table.column(key).to_pylist(), np.float32).reshape(table.num_rows, -1)
    if "action" not in columns:
        raise DataError(f"{where}: no 'action' column (columns: {', '.join(table.column_names)})")
    for key, arr in columns.items():
        if not np.isfinite(arr).all():
            raise DataError(f"{where}: column {key!r} holds NaN or inf (first in row "
                            f"{int(np.argwhere(~np.isfinite(arr))[0][0])})")
    return columns


def _episode(columns: dict, frames: np.ndarray, data: Path, video: Path, task: str | None = None,
             goal_frames: np.ndarray | None = None, report: dict | None = None) -> Episode:
    if len(frames) != len(columns["action"]):
        raise DataError(f"{video}: {len(frames)} frames for {len(columns['action'])} rows of {data.name}")
    state = columns.get("observation.state", np.zeros((len(frames), 1), np.float32))
    rewards = columns["next.reward"][:-1, 0] if "next.reward" in columns else None  # the last row leads past the end
    done = columns.get("next.done")
    if done is not None and report is not None and done[:-1].any():  # a store's episode ends where it ends
        report["done flags inside an episode"] = report.get("done flags inside an episode", 0) + int(done[:-1].sum())
    goal = columns.get("observation.goal_state")
    return Episode(frames, columns["action"][:-1], state, rewards=rewards, task=task,
                   goal_proprio=None if goal is None else goal[0],
                   goal_pixels=None if goal_frames is None else goal_frames[0])


def _read_parquet(pq, path: Path):
    if not path.is_file():
        raise DataError(f"{path}: missing")
    try:
        return pq.read_table(path)
    except Exception as e:  # pyarrow raises several types for damaged files
        raise DataError(f"{path}: unreadable parquet ({type(e).__name__}: {e})") from None


def episode_loaders(root, camera: str | None, image_size: int, report: dict | None = None):
    """-> (info, camera, [(name, () -> Episode)]) for a v2.x or v3.x dataset on disk; `report` gathers
    what the store cannot hold (done flags inside episodes)."""
    root = Path(root)
    info = read_info(root)
    features = info["features"]
    cameras = sorted(k for k, f in features.items() if isinstance(f, dict) and f.get("dtype") == "video"
                     and k != GOAL_IMAGE)
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

        tasks = _v2_tasks(root)

        def v2(e: int):
            def load() -> Episode:
                fmt = {"episode_chunk": e // chunk, "episode_index": e, "video_key": camera}
                data, video = root / info["data_path"].format(**fmt), root / info["video_path"].format(**fmt)
                columns = _columns(_read_parquet(pq, data), data)
                return _episode(columns, np.stack(list(iter_frames(video, None, image_size))), data, video,
                                tasks.get(e), report=report)
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
            n = int(mask.sum())

            def frames_of(key_camera: str):
                key = f"videos/{key_camera}"
                video = root / info["video_path"].format(video_key=key_camera,
                                                         chunk_index=int(row[f"{key}/chunk_index"]),
                                                         file_index=int(row[f"{key}/file_index"]))
                if video not in cache:
                    cache[video] = np.stack(list(iter_frames(video, None, image_size)))
                first = int(round(float(row[f"{key}/from_timestamp"]) * float(info["fps"])))
                return cache[video][first:first + n], video
            frames, video = frames_of(camera)
            goal = frames_of(GOAL_IMAGE)[0] if GOAL_IMAGE in features and f"videos/{GOAL_IMAGE}/file_index" in row \
                else None
            tasks = row.get("tasks")
            task = str(tasks[0]) if isinstance(tasks, (list, tuple)) and tasks else None
            return _episode(columns, frames, data, video, task, goal, report)
        return load
    return info, camera, [(f"{root} episode {int(r['episode_index'])}", v3(r)) for r in rows]


def _v2_tasks(root: Path) -> dict[int, str]:
    """Each v2 episode's first task string, from meta/episodes.jsonl ({} where there is none)."""
    path = root / "meta" / "episodes.jsonl"
    out = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                if row.get("tasks"):
                    out[int(row["episode_index"])] = str(row["tasks"][0])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
    return out


def find_dataset(name) -> Path:
    """A LeRobot dataset folder, or a Hub id ("lerobot/pusht") found where a download left it: LeRobot's
    own cache (HF_LEROBOT_HOME, ~/.cache/huggingface/lerobot) or huggingface_hub's. Nothing is
    downloaded: a dataset not on this machine is named with the command that fetches it."""
    import os
    path = Path(name)
    if path.is_dir() or path.exists() or str(name).count("/") != 1 or str(name).startswith((".", "/", "~")):
        return path
    home = Path(os.environ.get("HF_LEROBOT_HOME", Path(os.environ.get("HF_HOME", Path.home() / ".cache" /
                                                                     "huggingface")) / "lerobot"))
    if (home / str(name) / "meta" / "info.json").is_file():
        return home / str(name)
    try:
        from huggingface_hub import snapshot_download
        return Path(snapshot_download(str(name), repo_type="dataset", local_files_only=True))
    except Exception:  # not installed, or not in the cache: both mean it is not here
        raise DataError(f"{name}: not a folder, and no download of the Hub dataset {name!r} is on this machine "
                        f"(looked in {home} and huggingface_hub's cache); fetch it with `huggingface-cli download "
                        f"--repo-type dataset {name}` or give its folder") from None


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


QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
CODECS = {  # --video-codec -> (ffmpeg encoder, container, pix_fmt, LeRobot's name): lossless or not
    "libx264": ("libx264", ".mp4", "yuv420p", "h264"),
    "libx264rgb": ("libx264rgb", ".mp4", "rgb24", "h264"),  # with crf 0: lossless RGB, still an mp4
    "ffv1": ("ffv1", ".mkv", "bgr0", "ffv1"),  # lossless; LeRobot decodes it through ffmpeg
}
GOAL_STATE, GOAL_IMAGE = "observation.goal_state", "observation.goal_image"


def _stats(x: np.ndarray) -> dict:
    """LeRobot's per-feature statistics of rows x (N, ...): min, max, mean, std, count, quantiles."""
    x = np.asarray(x)
    f = x.astype(np.float64)
    out = {"min": x.min(0), "max": x.max(0), "mean": f.mean(0), "std": f.std(0), "count": np.array([len(x)])}
    for q in QUANTILES:
        out[f"q{round(q * 100):02d}"] = np.quantile(f, q, axis=0)
    return out


def _image_stats(frames: np.ndarray, most: int = 2000) -> dict:
    """Per-channel statistics of frames (N, H, W, 3) uint8 in [0, 1], shaped (3, 1, 1) as LeRobot's."""
    step = max(1, len(frames) // most)
    pixels = frames[::step].reshape(-1, 3).astype(np.float64) / 255.0
    stats = _stats(pixels)
    return {k: (v.reshape(3, 1, 1) if k != "count" else np.array([len(frames[::step])])) for k, v in stats.items()}


def _merge(parts: list[dict]) -> dict:
    """Episode statistics into the dataset's: exact min, max, mean and std; quantiles count-weighted."""
    n = np.array([p["count"][0] for p in parts], np.float64)
    w = n / n.sum()
    mean = sum(wi * p["mean"] for wi, p in zip(w, parts))
    var = sum(wi * (p["std"] ** 2 + (p["mean"] - mean) ** 2) for wi, p in zip(w, parts))
    out = {"min": np.min([p["min"] for p in parts], 0), "max": np.max([p["max"] for p in parts], 0), "mean": mean,
           "std": np.sqrt(var), "count": np.array([int(n.sum())])}
    for key in parts[0]:
        if key.startswith("q"):
            out[key] = sum(wi * p[key] for wi, p in zip(w, parts))
    return out


def _listed(stats: dict) -> dict:
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def _tasks_table(pa, tasks: list[str]):
    """meta/tasks.parquet as LeRobot's writer leaves it (a pandas frame indexed by the task string, so that
    `tasks.loc[task].task_index` and `tasks.iloc[i].name` work), written without pandas."""
    table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()),
                      "__index_level_0__": pa.array(tasks, pa.large_string())})
    pandas_meta = {"index_columns": ["__index_level_0__"],
                   "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode",
                                       "numpy_type": "str", "metadata": {"encoding": "UTF-8"}}],
                   "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                                "numpy_type": "int64", "metadata": None},
                               {"name": None, "field_name": "__index_level_0__", "pandas_type": "object",
                                "numpy_type": "str", "metadata": None}],
                   "attributes": {}, "creator": {"library": "jepalab"}}
    return table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)})


def proprio_names(world: str, dim: int) -> list[str]:
    """What each number of the proprio vector is, where jepalab knows the world."""
    known = {"two-room": ["x", "y"], "push": ["pusher_x", "pusher_y", "block_x", "block_y", "block_cos", "block_sin"],
             "push-t": ["pusher_x", "pusher_y", "block_x", "block_y", "block_cos", "block_sin"]}
    names = known.get(world)
    return names if names is not None and len(names) == dim else [f"state_{i}" for i in range(dim)]


def export_store(store_path, out, fps: float | None = None, video_codec: str = "libx264", crf: int | None = None,
                 robot_type: str | None = None) -> tuple[Path, dict]:
    """An episode store written as a LeRobot v3.0 dataset; -> (folder, {field: what became of it}).
    One parquet of every frame's row, one video per camera of every episode back to back, the
    per-episode metadata that locates them, their statistics. fps: the store's own when it records
    one (imports do), else 10 (the built-in worlds' rate)."""
    pa, pq = _pyarrow()
    if video_codec not in CODECS:
        raise DataError(f"--video-codec must be one of {', '.join(CODECS)}, got {video_codec!r}")
    encoder, suffix, pix_fmt, codec_name = CODECS[video_codec]
    store, out = EpisodeStore(store_path), Path(out)
    meta = store.meta()
    fps = float(fps if fps is not None else meta.get("fps") or 10.0)
    if fps != round(fps) or fps < 1:
        raise DataError(f"{out}: LeRobot records fps as a whole number; {fps:g} is not one (pass --fps)")
    fps = int(round(fps))
    if (out / "meta" / "info.json").exists():
        raise DataError(f"{out}: already holds a LeRobot dataset; give another folder")
    episodes = store.load_all()
    world = str(meta.get("world", "task"))
    has = {k: all(getattr(ep, k) is not None for ep in episodes) for k in ("rewards", "goal_proprio", "goal_pixels")}
    data_rel = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    video_rel = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}" + suffix
    cameras = [CAMERA] + ([GOAL_IMAGE] if has["goal_pixels"] else [])
    tasks = sorted({ep.task or world for ep in episodes})
    task_index = {t: i for i, t in enumerate(tasks)}
    P, A = episodes[0].proprio.shape[1], episodes[0].actions.shape[1]
    rows: dict[str, list] = {k: [] for k in ("observation.state", "action", "next.reward", "next.done", GOAL_STATE,
                                             "timestamp", "frame_index", "episode_index", "index", "task_index")}
    episode_rows, videos, index, seconds = [], {c: [] for c in cameras}, 0, 0.0
    for e, ep in enumerate(episodes):
        n = len(ep.pixels)
        frames = np.asarray(ep.pixels)
        cols = {"observation.state": np.asarray(ep.proprio, np.float32),
                "action": np.concatenate([ep.actions, np.zeros((1, A), np.float32)]).astype(np.float32),
                "next.done": np.arange(n) == n - 1, "timestamp": (np.arange(n) / fps).astype(np.float32),
                "frame_index": np.arange(n), "episode_index": np.full(n, e), "index": np.arange(index, index + n),
                "task_index": np.full(n, task_index[ep.task or world])}
        if has["rewards"]:
            cols["next.reward"] = np.concatenate([ep.rewards, [0.0]]).astype(np.float32)
        if has["goal_proprio"]:
            cols[GOAL_STATE] = np.repeat(np.asarray(ep.goal_proprio, np.float32)[None], n, 0)
        for k, v in cols.items():
            rows[k].append(v)
        row = {"episode_index": e, "tasks": [ep.task or world], "length": n, "data/chunk_index": 0,
               "data/file_index": 0, "dataset_from_index": index, "dataset_to_index": index + n}
        videos[CAMERA].append(frames)
        if has["goal_pixels"]:
            videos[GOAL_IMAGE].append(np.repeat(np.asarray(ep.goal_pixels)[None], n, 0))
        for c in cameras:
            row.update({f"videos/{c}/chunk_index": 0, f"videos/{c}/file_index": 0,
                        f"videos/{c}/from_timestamp": seconds, f"videos/{c}/to_timestamp": seconds + n / fps})
        per = {k: _stats(v if v.ndim > 1 else v[:, None]) for k, v in cols.items()}
        per[CAMERA] = _image_stats(frames)
        if has["goal_pixels"]:
            per[GOAL_IMAGE] = _image_stats(videos[GOAL_IMAGE][-1])
        row.update({f"stats/{k}/{s}": np.asarray(v).tolist() for k, st in per.items() for s, v in st.items()})
        row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0})
        episode_rows.append((row, per))
        index, seconds = index + n, seconds + n / fps
    out.mkdir(parents=True, exist_ok=True)
    features = {CAMERA: {"dtype": "video", "shape": list(episodes[0].pixels.shape[1:]),
                         "names": ["height", "width", "channels"]},
                "observation.state": {"dtype": "float32", "shape": [P], "names": proprio_names(world, P)},
                "action": {"dtype": "float32", "shape": [A], "names": [f"action_{i}" for i in range(A)]}}
    if has["rewards"]:
        features["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    features["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    if has["goal_proprio"]:
        features[GOAL_STATE] = {"dtype": "float32", "shape": [P], "names": proprio_names(world, P)}
    if has["goal_pixels"]:
        features[GOAL_IMAGE] = {"dtype": "video", "shape": list(episodes[0].goal_pixels.shape),
                                "names": ["height", "width", "channels"]}
    for name, dtype in (("timestamp", "float32"), ("frame_index", "int64"), ("episode_index", "int64"),
                        ("index", "int64"), ("task_index", "int64")):
        features[name] = {"dtype": dtype, "shape": [1], "names": None}
    table = {}
    for k, parts in rows.items():
        if k not in features:
            continue
        v = np.concatenate(parts)
        if v.ndim == 2:  # a vector per frame: a fixed-size list of float32, as LeRobot writes it
            table[k] = pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1), pa.float32()), v.shape[1])
        else:
            table[k] = pa.array(v, {"float32": pa.float32(), "bool": pa.bool_(), "int64": pa.int64()}[
                features[k]["dtype"]])
    (out / "data" / "chunk-000").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), out / data_rel.format(chunk_index=0, file_index=0))
    for c in cameras:
        frames = np.concatenate(videos[c])
        h, w = frames.shape[1:3]
        write_video(out / video_rel.format(video_key=c, chunk_index=0, file_index=0), frames, fps, encoder,
                    crf=crf, pix_fmt=pix_fmt)
        features[c]["info"] = {"video.height": h, "video.width": w, "video.codec": codec_name,
                               "video.pix_fmt": pix_fmt, "video.is_depth_map": False, "video.fps": fps,
                               "video.channels": 3, "has_audio": False}
    (out / "meta" / "episodes" / "chunk-000").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([r for r, _ in episode_rows]),
                   out / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    pq.write_table(_tasks_table(pa, tasks), out / "meta" / "tasks.parquet")
    stats = {k: _listed(_merge([per[k] for _, per in episode_rows])) for k in episode_rows[0][1]}
    (out / "meta" / "stats.json").write_text(json.dumps(stats, indent=2))
    info = {"codebase_version": "v3.0", "robot_type": robot_type or world, "total_episodes": len(episodes),
            "total_frames": index, "total_tasks": len(tasks), "chunks_size": 1000, "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 200, "fps": fps, "splits": {"train": f"0:{len(episodes)}"},
            "data_path": data_rel, "video_path": video_rel, "features": features}
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=2))
    report = {"frames": f"{CAMERA} ({codec_name}{', lossless' if crf == 0 or video_codec == 'ffv1' else ''})",
              "actions": "action (the last frame's: zeros)", "proprio": "observation.state",
              "rewards": "next.reward" if has["rewards"] else "none in the store",
              "episode ends": "next.done", "tasks": f"{len(tasks)} task string(s)",
              "goals": ", ".join([k for k, h in ((GOAL_STATE, has["goal_proprio"]), (GOAL_IMAGE, has["goal_pixels"]))
                                  if h]) or "none in the store",
              "fps": fps}
    for name in ("state", "audio", "depth"):
        if any(getattr(ep, name) is not None for ep in episodes):
            report[name] = "not exported (LeRobot has no field for it)"
    return out, report
