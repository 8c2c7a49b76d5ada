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

Writing: data/lerobot_export.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .store import DataError, Episode
from .video import iter_frames

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
            with np.errstate(over="ignore"):  # checked as used: past float32's range is inf, named below
                columns[key] = np.asarray(table.column(key).to_pylist(), np.float32).reshape(table.num_rows, -1)
    if "action" not in columns:
        raise DataError(f"{where}: no 'action' column (columns: {', '.join(table.column_names)})")
    for key, arr in columns.items():
        if not np.isfinite(arr).all():
            row = int(np.argwhere(~np.isfinite(arr))[0][0])
            raise DataError(
                f"{where}: column {key!r} holds NaN, inf or a value beyond float32's range (first in row {row})"
            )
    return columns


def _episode(
    columns: dict,
    frames: np.ndarray,
    data: Path,
    video: Path,
    task: str | None = None,
    goal_frames: np.ndarray | None = None,
    report: dict | None = None,
) -> Episode:
    if len(frames) != len(columns["action"]):
        raise DataError(f"{video}: {len(frames)} frames for {len(columns['action'])} rows of {data.name}")
    state = columns.get("observation.state", np.zeros((len(frames), 1), np.float32))
    rewards = columns["next.reward"][:-1, 0] if "next.reward" in columns else None  # the last row leads past the end
    done = columns.get("next.done")
    if done is not None and report is not None and done[:-1].any():  # a store's episode ends where it ends
        report["done flags inside an episode"] = report.get("done flags inside an episode", 0) + int(done[:-1].sum())
    goal = columns.get("observation.goal_state")
    return Episode(
        frames,
        columns["action"][:-1],
        state,
        rewards=rewards,
        task=task,
        goal_proprio=None if goal is None else goal[0],
        goal_pixels=None if goal_frames is None else goal_frames[0],
    )


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
    cameras = sorted(
        k for k, f in features.items() if isinstance(f, dict) and f.get("dtype") == "video" and k != GOAL_IMAGE
    )
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
                return _episode(
                    columns,
                    np.stack(list(iter_frames(video, None, image_size))),
                    data,
                    video,
                    tasks.get(e),
                    report=report,
                )

            return load

        return info, camera, [(f"{root} episode {e}", v2(e)) for e in range(int(info["total_episodes"]))]
    rows = _v3_episode_rows(pq, root)
    cache: dict = {}

    def v3(row: dict):
        def load() -> Episode:
            e = int(row["episode_index"])
            data = root / info["data_path"].format(
                chunk_index=int(row["data/chunk_index"]), file_index=int(row["data/file_index"])
            )
            if data not in cache:
                cache.clear()  # one data file and one video file in memory at a time
                cache[data] = _read_parquet(pq, data)
            table = cache[data]
            mask = np.asarray(table.column("episode_index").to_pylist()) == e
            columns = {k: v[mask] for k, v in _columns(table, data).items()}
            n = int(mask.sum())

            def frames_of(key_camera: str):
                key = f"videos/{key_camera}"
                video = root / info["video_path"].format(
                    video_key=key_camera,
                    chunk_index=int(row[f"{key}/chunk_index"]),
                    file_index=int(row[f"{key}/file_index"]),
                )
                if video not in cache:
                    cache[video] = np.stack(list(iter_frames(video, None, image_size)))
                first = int(round(float(row[f"{key}/from_timestamp"]) * float(info["fps"])))
                return cache[video][first : first + n], video

            frames, video = frames_of(camera)
            goal = (
                frames_of(GOAL_IMAGE)[0]
                if GOAL_IMAGE in features and f"videos/{GOAL_IMAGE}/file_index" in row
                else None
            )
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
    home = Path(
        os.environ.get(
            "HF_LEROBOT_HOME", Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "lerobot"
        )
    )
    if (home / str(name) / "meta" / "info.json").is_file():
        return home / str(name)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(name), repo_type="dataset", local_files_only=True))
    except Exception:  # not installed, or not in the cache: both mean it is not here
        raise DataError(
            f"{name}: not a folder, and no download of the Hub dataset {name!r} is on this machine "
            f"(looked in {home} and huggingface_hub's cache); fetch it with `huggingface-cli download "
            f"--repo-type dataset {name}` or give its folder"
        ) from None


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


GOAL_STATE, GOAL_IMAGE = "observation.goal_state", "observation.goal_image"  # goals, as an export writes them
