"""An episode store written as a LeRobot v3.0 dataset, as LeRobot's own writer (LeRobotDataset.create /
save_episode / finalize) leaves one: info.json with robot_type, splits, file-size limits and each
video's `info` block; every feature with `names`; float32 columns as fixed-size lists; tasks.parquet
indexed by the task string; meta/stats.json and the per-episode stats columns; int fps. Checked by
loading an export with LeRobot's LeRobotDataset (benchmarks/lerobot_roundtrip.py, in a venv that
has lerobot). Reading (v2.x and v3.x): data/lerobot.py.

    jepalab export-data --store data/two-room --lerobot datasets/two-room [--video-codec libx264rgb --crf 0]
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .lerobot import CAMERA, GOAL_IMAGE, GOAL_STATE, _pyarrow
from .store import DataError, EpisodeStore
from .video import write_video

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
CODECS = {  # --video-codec -> (ffmpeg encoder, container, pix_fmt, LeRobot's name): lossless or not
    "libx264": ("libx264", ".mp4", "yuv420p", "h264"),
    "libx264rgb": ("libx264rgb", ".mp4", "rgb24", "h264"),  # with crf 0: lossless RGB, still an mp4
    "ffv1": ("ffv1", ".mkv", "bgr0", "ffv1"),  # lossless; LeRobot decodes it through ffmpeg
}


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
    out = {
        "min": np.min([p["min"] for p in parts], 0),
        "max": np.max([p["max"] for p in parts], 0),
        "mean": mean,
        "std": np.sqrt(var),
        "count": np.array([int(n.sum())]),
    }
    for key in parts[0]:
        if key.startswith("q"):
            out[key] = sum(wi * p[key] for wi, p in zip(w, parts))
    return out


def _listed(stats: dict) -> dict:
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def _tasks_table(pa, tasks: list[str]):
    """meta/tasks.parquet as LeRobot's writer leaves it (a pandas frame indexed by the task string, so that
    `tasks.loc[task].task_index` and `tasks.iloc[i].name` work), written without pandas."""
    table = pa.table(
        {"task_index": pa.array(range(len(tasks)), pa.int64()), "__index_level_0__": pa.array(tasks, pa.large_string())}
    )
    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "str",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": None,
                "field_name": "__index_level_0__",
                "pandas_type": "object",
                "numpy_type": "str",
                "metadata": None,
            },
        ],
        "attributes": {},
        "creator": {"library": "jepalab"},
    }
    return table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)})


def proprio_names(world: str, dim: int) -> list[str]:
    """What each number of the proprio vector is, where jepalab knows the world."""
    known = {
        "two-room": ["x", "y"],
        "push": ["pusher_x", "pusher_y", "block_x", "block_y", "block_cos", "block_sin"],
        "push-t": ["pusher_x", "pusher_y", "block_x", "block_y", "block_cos", "block_sin"],
    }
    names = known.get(world)
    return names if names is not None and len(names) == dim else [f"state_{i}" for i in range(dim)]


def export_store(
    store_path,
    out,
    fps: float | None = None,
    video_codec: str = "libx264",
    crf: int | None = None,
    robot_type: str | None = None,
) -> tuple[Path, dict]:
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
    rows: dict[str, list] = {
        k: []
        for k in (
            "observation.state",
            "action",
            "next.reward",
            "next.done",
            GOAL_STATE,
            "timestamp",
            "frame_index",
            "episode_index",
            "index",
            "task_index",
        )
    }
    episode_rows, videos, index, seconds = [], {c: [] for c in cameras}, 0, 0.0
    for e, ep in enumerate(episodes):
        n = len(ep.pixels)
        frames = np.asarray(ep.pixels)
        cols = {
            "observation.state": np.asarray(ep.proprio, np.float32),
            "action": np.concatenate([ep.actions, np.zeros((1, A), np.float32)]).astype(np.float32),
            "next.done": np.arange(n) == n - 1,
            "timestamp": (np.arange(n) / fps).astype(np.float32),
            "frame_index": np.arange(n),
            "episode_index": np.full(n, e),
            "index": np.arange(index, index + n),
            "task_index": np.full(n, task_index[ep.task or world]),
        }
        if has["rewards"]:
            cols["next.reward"] = np.concatenate([ep.rewards, [0.0]]).astype(np.float32)
        if has["goal_proprio"]:
            cols[GOAL_STATE] = np.repeat(np.asarray(ep.goal_proprio, np.float32)[None], n, 0)
        for k, v in cols.items():
            rows[k].append(v)
        row = {
            "episode_index": e,
            "tasks": [ep.task or world],
            "length": n,
            "data/chunk_index": 0,
            "data/file_index": 0,
            "dataset_from_index": index,
            "dataset_to_index": index + n,
        }
        videos[CAMERA].append(frames)
        if has["goal_pixels"]:
            videos[GOAL_IMAGE].append(np.repeat(np.asarray(ep.goal_pixels)[None], n, 0))
        for c in cameras:
            row.update(
                {
                    f"videos/{c}/chunk_index": 0,
                    f"videos/{c}/file_index": 0,
                    f"videos/{c}/from_timestamp": seconds,
                    f"videos/{c}/to_timestamp": seconds + n / fps,
                }
            )
        per = {k: _stats(v if v.ndim > 1 else v[:, None]) for k, v in cols.items()}
        per[CAMERA] = _image_stats(frames)
        if has["goal_pixels"]:
            per[GOAL_IMAGE] = _image_stats(videos[GOAL_IMAGE][-1])
        row.update({f"stats/{k}/{s}": np.asarray(v).tolist() for k, st in per.items() for s, v in st.items()})
        row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0})
        episode_rows.append((row, per))
        index, seconds = index + n, seconds + n / fps
    out.mkdir(parents=True, exist_ok=True)
    features = {
        CAMERA: {
            "dtype": "video",
            "shape": list(episodes[0].pixels.shape[1:]),
            "names": ["height", "width", "channels"],
        },
        "observation.state": {"dtype": "float32", "shape": [P], "names": proprio_names(world, P)},
        "action": {"dtype": "float32", "shape": [A], "names": [f"action_{i}" for i in range(A)]},
    }
    if has["rewards"]:
        features["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    features["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    if has["goal_proprio"]:
        features[GOAL_STATE] = {"dtype": "float32", "shape": [P], "names": proprio_names(world, P)}
    if has["goal_pixels"]:
        features[GOAL_IMAGE] = {
            "dtype": "video",
            "shape": list(episodes[0].goal_pixels.shape),
            "names": ["height", "width", "channels"],
        }
    for name, dtype in (
        ("timestamp", "float32"),
        ("frame_index", "int64"),
        ("episode_index", "int64"),
        ("index", "int64"),
        ("task_index", "int64"),
    ):
        features[name] = {"dtype": dtype, "shape": [1], "names": None}
    table = {}
    for k, parts in rows.items():
        if k not in features:
            continue
        v = np.concatenate(parts)
        if v.ndim == 2:  # a vector per frame: a fixed-size list of float32, as LeRobot writes it
            table[k] = pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1), pa.float32()), v.shape[1])
        else:
            table[k] = pa.array(
                v, {"float32": pa.float32(), "bool": pa.bool_(), "int64": pa.int64()}[features[k]["dtype"]]
            )
    (out / "data" / "chunk-000").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(table), out / data_rel.format(chunk_index=0, file_index=0))
    for c in cameras:
        frames = np.concatenate(videos[c])
        h, w = frames.shape[1:3]
        write_video(
            out / video_rel.format(video_key=c, chunk_index=0, file_index=0),
            frames,
            fps,
            encoder,
            crf=crf,
            pix_fmt=pix_fmt,
        )
        features[c]["info"] = {
            "video.height": h,
            "video.width": w,
            "video.codec": codec_name,
            "video.pix_fmt": pix_fmt,
            "video.is_depth_map": False,
            "video.fps": fps,
            "video.channels": 3,
            "has_audio": False,
        }
    (out / "meta" / "episodes" / "chunk-000").mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pylist([r for r, _ in episode_rows]), out / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    )
    pq.write_table(_tasks_table(pa, tasks), out / "meta" / "tasks.parquet")
    stats = {k: _listed(_merge([per[k] for _, per in episode_rows])) for k in episode_rows[0][1]}
    (out / "meta" / "stats.json").write_text(json.dumps(stats, indent=2))
    info = {
        "codebase_version": "v3.0",
        "robot_type": robot_type or world,
        "total_episodes": len(episodes),
        "total_frames": index,
        "total_tasks": len(tasks),
        "chunks_size": 1000,
        "data_files_size_in_mb": 100,
        "video_files_size_in_mb": 200,
        "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": data_rel,
        "video_path": video_rel,
        "features": features,
    }
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=2))
    report = {
        "frames": f"{CAMERA} ({codec_name}{', lossless' if crf == 0 or video_codec == 'ffv1' else ''})",
        "actions": "action (the last frame's: zeros)",
        "proprio": "observation.state",
        "rewards": "next.reward" if has["rewards"] else "none in the store",
        "episode ends": "next.done",
        "tasks": f"{len(tasks)} task string(s)",
        "goals": ", ".join([k for k, h in ((GOAL_STATE, has["goal_proprio"]), (GOAL_IMAGE, has["goal_pixels"])) if h])
        or "none in the store",
        "fps": fps,
    }
    for name in ("state", "audio", "depth"):
        if any(getattr(ep, name) is not None for ep in episodes):
            report[name] = "not exported (LeRobot has no field for it)"
    return out, report
