"""`jepalab import` and `jepalab inspect`: users' recordings into an episode store."""

import json

import numpy as np
import pytest

from jepalab.cli.main import main
from jepalab.data.importers import import_lerobot, import_videos
from jepalab.data.store import DataError, EpisodeStore
from jepalab.data.video import write_video


def clip(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (n, 32, 32, 3), dtype=np.uint8)


def recordings(folder, lengths=(6, 8)):
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, n in enumerate(lengths):
        frames, actions = clip(n, i), np.random.default_rng(10 + i).uniform(-1, 1, (n - 1, 3)).astype(np.float32)
        write_video(folder / f"take{i}.mkv", frames)  # lossless: pixels compare exactly
        out.append((frames, actions))
    # one actions file as CSV with a header, one as .npy; one state file
    np.savetxt(folder / "take0.csv", out[0][1], delimiter=",", header="ax,ay,az", comments="", fmt="%.9g")
    np.save(folder / "take1.npy", out[1][1])
    np.save(folder / "take1.state.npy", np.arange(2 * lengths[1], dtype=np.float32).reshape(lengths[1], 2))
    return out


def test_videos_with_actions_files_become_episodes(tmp_path):
    want = recordings(tmp_path / "rec", lengths=(6, 6))
    (tmp_path / "rec" / "take1.state.npy").unlink()  # state for every video or for none
    store = import_videos(tmp_path / "rec", tmp_path / "data", image_size=32, progress=False)
    eps = store.load_all()
    assert [len(e) for e in eps] == [5, 5] and store.meta()["action_dim"] == 3
    for ep, (frames, actions) in zip(eps, want):
        assert np.array_equal(ep.pixels, frames) and np.allclose(ep.actions, actions, atol=1e-6)
        assert ep.proprio.shape == (6, 1) and not ep.proprio.any()


def test_import_errors_name_the_file_and_the_problem(tmp_path):
    recordings(tmp_path / "rec")
    rec = tmp_path / "rec"
    # state rows for one video but not the other: dims differ
    with pytest.raises(DataError, match=r"\(action, state\) columns \(3, 2\), earlier episodes have \(3, 1\)"):
        import_videos(rec, tmp_path / "a", image_size=32, progress=False)
    (rec / "take1.state.npy").unlink()
    np.save(rec / "take1.npy", np.zeros((3, 3), np.float32))
    with pytest.raises(DataError, match=r"take1.npy: 3 actions for 8 frames of take1.mkv \(expected 7 or 8"):
        import_videos(rec, tmp_path / "b", image_size=32, progress=False)
    (rec / "take0.csv").write_text("ax,ay,az\n0,0,0\n1,nan,0\n")
    with pytest.raises(
        DataError, match=r"take0.csv: holds NaN, inf or a value beyond float32's range \(first in row 1\)"
    ):
        import_videos(rec, tmp_path / "c", image_size=32, progress=False)
    (rec / "take0.csv").unlink()
    with pytest.raises(DataError, match="no actions file .* for take0.mkv"):
        import_videos(rec, tmp_path / "d", image_size=32, progress=False)


def test_videos_without_actions_import_as_a_passive_world(tmp_path, capsys):
    want = recordings(tmp_path / "rec", lengths=(6, 8))
    for name in ("take0.csv", "take1.npy", "take1.state.npy"):
        (tmp_path / "rec" / name).unlink()
    with pytest.raises(DataError, match="no actions file .* pass --passive"):
        import_videos(tmp_path / "rec", tmp_path / "a", image_size=32, progress=False)
    store = import_videos(tmp_path / "rec", tmp_path / "data", image_size=32, progress=False, passive=True)
    eps = store.load_all()
    assert store.meta()["action_dim"] == 1 and [len(e) for e in eps] == [5, 7]
    for ep, (frames, _) in zip(eps, want):
        assert np.array_equal(ep.pixels, frames) and ep.actions.shape == (len(frames) - 1, 1) and not ep.actions.any()
    assert main(["inspect", str(tmp_path / "data")]) == 0
    assert "never change" not in capsys.readouterr().out  # zero actions are what a passive store holds
    assert main(["import", "--lerobot", str(tmp_path), "--out", str(tmp_path / "b"), "--passive"]) == 2
    assert "--passive is for --videos" in capsys.readouterr().err


def test_interrupted_import_resumes(tmp_path):
    recordings(tmp_path / "rec", lengths=(6, 6))
    (tmp_path / "rec" / "take1.state.npy").unlink()
    store = import_videos(tmp_path / "rec", tmp_path / "data", image_size=32, progress=False)
    first = store.episode_paths()[0].stat().st_mtime_ns
    store.episode_paths()[1].unlink()
    again = import_videos(tmp_path / "rec", tmp_path / "data", image_size=32, progress=False)
    assert len(again) == 2 and again.episode_paths()[0].stat().st_mtime_ns == first  # not rewritten


def lerobot_dataset(root, episodes=2, n=6):
    import pyarrow as pa
    import pyarrow.parquet as pq

    info = {
        "codebase_version": "v2.1",
        "fps": 10,
        "total_episodes": episodes,
        "chunks_size": 1000,
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        "features": {
            "observation.images.top": {"dtype": "video", "shape": [32, 32, 3]},
            "observation.state": {"dtype": "float32", "shape": [4]},
            "action": {"dtype": "float32", "shape": [2]},
        },
    }
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps(info))
    rows = []
    for e in range(episodes):
        rng = np.random.default_rng(e)
        actions, state = rng.normal(size=(n, 2)).astype(np.float32), rng.normal(size=(n, 4)).astype(np.float32)
        table = pa.table(
            {
                "action": [list(a) for a in actions],
                "observation.state": [list(s) for s in state],
                "frame_index": list(range(n)),
                "episode_index": [e] * n,
            }
        )
        (root / "data" / "chunk-000").mkdir(parents=True, exist_ok=True)
        pq.write_table(table, root / "data" / "chunk-000" / f"episode_{e:06d}.parquet")
        write_video(root / "videos" / "chunk-000" / "observation.images.top" / f"episode_{e:06d}.mp4", clip(n, e))
        rows.append((actions, state))
    return rows


def test_lerobot_dataset_on_disk(tmp_path):
    pytest.importorskip("pyarrow")
    want = lerobot_dataset(tmp_path / "ds")
    store = import_lerobot(tmp_path / "ds", tmp_path / "data", image_size=32, progress=False)
    eps = store.load_all()
    assert len(eps) == 2 and store.meta()["action_dim"] == 2 and store.meta()["proprio_dim"] == 4
    for ep, (actions, state) in zip(eps, want):
        assert ep.pixels.shape == (6, 32, 32, 3) and np.array_equal(ep.actions, actions[:-1])
        assert np.array_equal(ep.proprio, state)
    with pytest.raises(DataError, match="no camera 'wrist'; cameras: observation.images.top"):
        import_lerobot(tmp_path / "ds", tmp_path / "x", camera="wrist", progress=False)
    info = json.loads((tmp_path / "ds" / "meta" / "info.json").read_text())
    (tmp_path / "ds" / "meta" / "info.json").write_text(json.dumps({**info, "codebase_version": "v1.6"}))
    with pytest.raises(DataError, match="LeRobot format v1.6; jepalab reads v2.x and v3.x"):
        import_lerobot(tmp_path / "ds", tmp_path / "y", progress=False)


def flat_clip(n, episode):
    """Frames of one colour each, a different one per frame and episode: a lossy codec keeps them,
    so a frame read from the wrong place in a shared video shows."""
    shade = (40 * episode + 12 * np.arange(n)) % 250
    return np.broadcast_to(shade[:, None, None, None], (n, 32, 32, 3)).astype(np.uint8)


def lerobot_v3_dataset(root, lengths=(5, 7, 4)):
    """LeRobot v3.0 as LeRobot writes it: every episode's rows in one parquet file, every episode's
    frames back to back in one mp4 per camera, meta/episodes locating each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fps = 10
    info = {
        "codebase_version": "v3.0",
        "fps": fps,
        "total_episodes": len(lengths),
        "chunks_size": 1000,
        "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet",
        "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
        "features": {
            "observation.images.top": {"dtype": "video", "shape": [32, 32, 3]},
            "observation.state": {"dtype": "float32", "shape": [3]},
            "action": {"dtype": "float32", "shape": [2]},
        },
    }
    (root / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps(info))
    rows, episodes, frames, want = {"action": [], "observation.state": [], "episode_index": []}, [], [], []
    for e, n in enumerate(lengths):
        rng = np.random.default_rng(10 + e)
        actions, state = rng.normal(size=(n, 2)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32)
        rows["action"] += actions.tolist()
        rows["observation.state"] += state.tolist()
        rows["episode_index"] += [e] * n
        episodes.append(
            {
                "episode_index": e,
                "length": n,
                "data/chunk_index": 0,
                "data/file_index": 0,
                "videos/observation.images.top/chunk_index": 0,
                "videos/observation.images.top/file_index": 0,
                "videos/observation.images.top/from_timestamp": len(frames) / fps,
            }
        )
        frames += list(flat_clip(n, e))
        want.append((actions, state))
    (root / "data" / "chunk-000").mkdir(parents=True)
    pq.write_table(pa.table(rows), root / "data" / "chunk-000" / "file-000.parquet")
    pq.write_table(pa.Table.from_pylist(episodes), root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    write_video(root / "videos" / "observation.images.top" / "chunk-000" / "file-000.mp4", np.stack(frames), fps)
    return want


def test_lerobot_v3_dataset_on_disk_and_a_store_written_as_one(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    want = lerobot_v3_dataset(tmp_path / "ds")
    store = import_lerobot(tmp_path / "ds", tmp_path / "data", image_size=32, progress=False)
    eps = store.load_all()
    assert [len(e) for e in eps] == [4, 6, 3] and store.meta()["source"].startswith("LeRobot v3.0")
    for e, (ep, (actions, state)) in enumerate(zip(eps, want)):
        assert np.array_equal(ep.actions, actions[:-1]) and np.array_equal(ep.proprio, state)
        # each episode's frames are its own stretch of the shared video (frames differ per episode)
        assert np.abs(ep.pixels.astype(int) - flat_clip(len(state), e).astype(int)).mean() < 3
    # and back out: a store written as v3.0 reads back with the same actions, state and frames
    assert main(["export-data", "--store", str(tmp_path / "data"), "--lerobot", str(tmp_path / "out")]) == 0
    assert "LeRobot v3.0 dataset" in capsys.readouterr().out
    again = import_lerobot(tmp_path / "out", tmp_path / "data2", image_size=32, progress=False).load_all()
    for a, b in zip(eps, again):
        assert np.array_equal(a.actions, b.actions) and np.array_equal(a.proprio, b.proprio)
        assert np.abs(a.pixels.astype(int) - b.pixels.astype(int)).mean() < 3  # mp4 is lossy
    assert main(["export-data", "--store", str(tmp_path / "data"), "--lerobot", str(tmp_path / "out")]) == 2


def test_inspect_prints_a_summary_and_writes_a_contact_sheet(tmp_path, capsys, debug_store):
    assert (
        main(
            [
                "inspect",
                str(debug_store.root),
                "--sheet",
                str(tmp_path / "sheet.png"),
                "--json",
                str(tmp_path / "s.json"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "24 episodes of two-room" in out and "actions (2 dims)" in out
    assert (tmp_path / "sheet.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["episodes"] == 24 and len(summary["actions"]) == 2
    from PIL import Image

    assert Image.open(tmp_path / "sheet.png").size[0] > 8 * 64  # 8 frames across


def test_inspect_names_a_damaged_episode(tmp_path, capsys):
    import shutil

    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    shutil.rmtree(store.root / "checksums")  # as written before checksums: the reading error is what shows
    (store.episode_dir / "ep_000000.h5").write_bytes(b"junk")
    assert main(["inspect", str(store.root)]) == 2
    assert "ep_000000.h5: unreadable episode file" in capsys.readouterr().err


def test_lerobot_reads_our_export_with_its_own_code(tmp_path):
    """LeRobot's LeRobotDataset on jepalab's lossless export, run with the Python of a venv that has lerobot
    (JEPALAB_LEROBOT_PYTHON; lerobot brings its own torch). benchmarks/lerobot_roundtrip.py checks every
    built-in world, both codecs and the round trip."""
    import os
    import subprocess
    from pathlib import Path

    python = os.environ.get("JEPALAB_LEROBOT_PYTHON")
    if not python:
        pytest.skip(
            "lerobot is not installed here (it needs its own venv and torch): set JEPALAB_LEROBOT_PYTHON to "
            "that venv's python to run this check"
        )
    from jepalab.data.collect import collect
    from jepalab.data.lerobot_export import export_store

    store = collect("two-room", 2, 12, tmp_path / "store", progress=False)
    eps = store.load_all()
    np.save(tmp_path / "frame.npy", eps[0].pixels[3])
    export_store(store.root, tmp_path / "lossless", video_codec="libx264rgb", crf=0)
    check = f"""
import json, numpy as np
from lerobot.datasets.lerobot_dataset import LeRobotDataset
ds = LeRobotDataset("local/x", root={str(tmp_path / "lossless")!r}, video_backend="pyav")
item = ds[3]
frame = (item["observation.image"].permute(1, 2, 0) * 255).round().numpy()
print(json.dumps({{"frames": len(ds), "task": item["task"], "action": item["action"].tolist(),
                  "frame_error": float(np.abs(frame - np.load({str(tmp_path / "frame.npy")!r})).max())}}))
"""
    done = subprocess.run(
        [python, "-c", check],
        capture_output=True,
        text=True,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
        cwd=Path(python).parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["frames"] == sum(len(e.pixels) for e in eps) and got["task"] == "two-room"
    assert got["action"] == eps[0].actions[3].tolist() and got["frame_error"] == 0
