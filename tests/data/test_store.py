import json

import numpy as np
import pytest
import torch

from jepalab.data.collect import collect
from jepalab.data.store import SCHEMA_VERSION, DataError, Episode, EpisodeStore, StreamedFrames


def episode(T=5, A=2):
    rng = np.random.default_rng(0)
    return Episode(
        rng.integers(0, 255, (T + 1, 64, 64, 3), dtype=np.uint8),
        rng.normal(size=(T, A)).astype(np.float32),
        rng.normal(size=(T + 1, 2)).astype(np.float32),
    )


def full_episode(T=5):
    rng = np.random.default_rng(1)
    ep = episode(T)
    ep.rewards = rng.normal(size=T).astype(np.float32)
    ep.state = rng.normal(size=(T + 1, 7)).astype(np.float32)
    ep.goal_proprio = rng.normal(size=2).astype(np.float32)
    ep.goal_pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ep.audio = rng.uniform(0, 5, (T + 1, 16, 8)).astype(np.float32)
    ep.depth = rng.uniform(0.5, 1, (T + 1, 8, 8)).astype(np.float32)
    ep.goal_depth = rng.uniform(0.5, 1, (8, 8)).astype(np.float32)
    return ep


@pytest.mark.parametrize("make", [episode, full_episode])
def test_round_trip_is_bit_exact(tmp_path, make):
    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    ep = make()
    back = store.load(store.append(ep, 0))
    for k, v in vars(ep).items():
        if v is None:
            assert getattr(back, k) is None
        else:
            assert np.array_equal(v, getattr(back, k)) and v.dtype == getattr(back, k).dtype, k


def test_optional_fields_are_checked_and_errors_name_episode_and_field(tmp_path):
    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    cases = [
        ("rewards", np.zeros(4, np.float32), r"field 'rewards' must be \(5,\) float, got \(4,\)"),
        ("state", np.zeros((5, 3), np.float32), r"field 'state' must be \(6, '\*'\) float"),
        (
            "goal_proprio",
            np.array([0, np.inf], np.float32),
            r"field 'goal_proprio' holds NaN, inf or a value beyond float32's range \(first at index 1\)",
        ),
        ("goal_pixels", np.zeros((64, 64, 3), np.float32), r"field 'goal_pixels' must be \(64, 64, 3\) uint8"),
        (
            "rewards",
            np.array([0, 0, np.nan, 0, 0], np.float32),
            r"field 'rewards' holds NaN, inf or a value beyond float32's range \(first at step 2\)",
        ),
        ("goal_depth", np.zeros((4, 4), np.float32), r"field 'goal_depth' must be \(8, 8\) float"),
    ]
    for field, value, message in cases:
        ep = full_episode()
        setattr(ep, field, value)
        with pytest.raises(DataError, match="episode 3: " + message):
            store.append(ep, 3)


def test_older_npz_stores_are_read_appended_in_their_format_and_rewritten(tmp_path):
    from jepalab.data.importers import import_store

    store = unchecked_store(tmp_path / "s", {"world": "x", "action_dim": 2})
    ep = episode()
    np.savez(store.episode_dir / "ep_000000.npz", pixels=ep.pixels, actions=ep.actions, proprio=ep.proprio)
    meta = json.loads(store.index_path.read_text())
    store.index_path.write_text(json.dumps({**meta, "schema_version": 1}))  # as jepalab 0.1 wrote it
    back = store.load_all()[0]
    assert np.array_equal(back.pixels, ep.pixels) and back.rewards is None
    store.index_path.write_text(json.dumps({**meta, "schema_version": 2}))
    EpisodeStore.create(tmp_path / "s", {"world": "x", "action_dim": 2}).append(full_episode(), 1)  # resumed
    assert [p.name for p in store.episode_paths()] == ["ep_000000.npz", "ep_000001.npz"]
    with pytest.raises(DataError, match="cannot be streamed; rewrite it with `jepalab import --store"):
        store.load_all(stream="on")
    assert store.load_all(stream="auto")[0].pixels.__class__ is np.ndarray
    new = import_store(store.root, tmp_path / "new", progress=False)
    assert new.meta()["schema_version"] == SCHEMA_VERSION and new.meta()["action_dim"] == 2
    assert [p.name for p in new.episode_paths()] == ["ep_000000.h5", "ep_000001.h5"]
    for a, b in zip(store.load_all(), new.load_all()):
        for k, v in vars(a).items():
            assert (v is None and getattr(b, k) is None) or (
                np.array_equal(v, getattr(b, k)) and v.dtype == getattr(b, k).dtype
            )
    store.index_path.write_text(json.dumps({**meta, "schema_version": SCHEMA_VERSION + 1}))
    with pytest.raises(DataError, match=f"schema version {SCHEMA_VERSION + 1} is not supported .*upgrade jepalab"):
        store.load_all()


def test_episode_files_are_chunked_compressed_hdf5_any_reader_opens(tmp_path):
    import h5py

    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    path = store.append(full_episode(T=20), 0)
    with h5py.File(path, "r") as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION
        assert f["pixels"].chunks == (8, 64, 64, 3) and f["pixels"].compression == "gzip"
        assert set(f) == {
            "pixels",
            "actions",
            "proprio",
            "rewards",
            "state",
            "goal_proprio",
            "goal_pixels",
            "audio",
            "depth",
            "goal_depth",
        }
    assert not list(store.episode_dir.glob(".*"))  # no temporary file left behind


def test_streamed_episodes_give_the_same_batches_as_held_ones(tmp_path, monkeypatch):
    from jepalab.data import store as store_module
    from jepalab.data.sequences import SequenceSampler

    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    rng = np.random.default_rng(3)
    for i in range(4):
        T = int(rng.integers(9, 20))  # episodes of different lengths
        store.append(
            Episode(
                rng.integers(0, 255, (T + 1, 16, 16, 3), dtype=np.uint8),
                rng.normal(size=(T, 2)).astype(np.float32),
                np.zeros((T + 1, 1), np.float32),
            ),
            i,
        )
    held, streamed = store.load_all(), store.load_all(stream="on")
    assert isinstance(streamed[0].pixels, StreamedFrames) and np.array_equal(
        np.asarray(streamed[2].pixels), held[2].pixels
    )
    a = SequenceSampler(held, history=3, frameskip=2, image_size=16, action_dim=2, seed=7)
    b = SequenceSampler(streamed, history=3, frameskip=2, image_size=16, action_dim=2, seed=7)
    assert b.streamed and not a.streamed
    for _ in range(5):
        (pa, aa), (pb, ab) = a.sample(32), b.sample(32)
        assert torch.equal(pa, pb) and torch.equal(aa, ab)
    assert not isinstance(store.load_all(stream="auto")[0].pixels, StreamedFrames)  # fits in memory
    monkeypatch.setattr(store_module, "memory_budget", lambda: 1000)
    assert isinstance(store.load_all(stream="auto")[0].pixels, StreamedFrames)
    # "auto" sizes the store once, not once per episode (that opened N^2 files: minutes for 1,000)
    sized = []
    monkeypatch.setattr(store_module, "memory_budget", lambda: sized.append(1) or 1000)
    store.load_all(stream="auto")
    assert len(sized) == 1


def test_training_streams_a_store(tmp_path):
    from jepalab.config import override, preset
    from jepalab.training.train import train

    store = collect("two-room", 6, 20, tmp_path / "d", seed=0, progress=False)
    cfg = override(preset("debug"), ["train.steps=3", "train.stream=on", "train.prefetch=on"])
    _, result = train(cfg, store.load_all(stream=cfg.train.stream), tmp_path / "run", progress=False)
    assert result["step"] == 3 and np.isfinite(result["loss"])


def test_collect_resumes_and_matches_a_straight_run(tmp_path):
    straight = collect("two-room", 6, 10, tmp_path / "a", seed=5, progress=False)
    partial = collect("two-room", 3, 10, tmp_path / "b", seed=5, progress=False)
    partial.episode_paths()[1].unlink()  # as if killed before that episode landed
    resumed = collect("two-room", 6, 10, tmp_path / "b", seed=5, progress=False)
    assert len(resumed) == 6
    for pa, pb in zip(straight.episode_paths(), resumed.episode_paths()):
        assert np.array_equal(straight.load(pa).pixels, resumed.load(pb).pixels)
    with pytest.raises(DataError, match="other settings"):
        collect("two-room", 6, 12, tmp_path / "b", seed=5, progress=False)


def unchecked_store(root, meta):
    """A store as jepalab wrote them before checksums (none recorded): files written into it by hand
    are read, and their reading errors are what is tested."""
    import shutil

    store = EpisodeStore.create(root, meta)
    shutil.rmtree(store.root / "checksums")
    return store


def write_raw(path, **fields):
    import h5py

    with h5py.File(path, "w") as f:
        for k, v in fields.items():
            f[k] = v


def test_bad_data_gets_errors_that_name_the_file_and_field(tmp_path):
    store = unchecked_store(tmp_path / "s", {"world": "x"})
    path = store.episode_dir / "ep_000000.h5"
    good = episode()
    write_raw(path, pixels=good.pixels, actions=good.actions)
    with pytest.raises(DataError, match=r"ep_000000.h5: missing field\(s\) \['proprio'\]"):
        store.load_all()
    bad = episode()
    bad.actions[2, 1] = np.nan
    write_raw(path, **{k: v for k, v in vars(bad).items() if v is not None})
    with pytest.raises(
        DataError,
        match=r"ep_000000.h5: field 'actions' holds NaN, inf or a value beyond float32's range \(first at step 2\)",
    ):
        store.load_all()
    write_raw(path, pixels=good.pixels, actions=good.actions.astype(np.int64), proprio=good.proprio)
    with pytest.raises(DataError, match=r"ep_000000.h5: field 'actions' must be \(T, A\) float, got \(5, 2\) int64"):
        store.load_all()
    write_raw(path, pixels=good.pixels, actions=np.array([b"left"] * 5), proprio=good.proprio)
    with pytest.raises(DataError, match="ep_000000.h5: field 'actions' is not an array of numbers"):
        store.load_all()
    write_raw(path, pixels=good.pixels[:-2], actions=good.actions, proprio=good.proprio)
    with pytest.raises(DataError, match="lengths disagree"):
        store.load_all(stream="on")
    path.write_bytes(b"not an HDF5 file")
    with pytest.raises(DataError, match="ep_000000.h5: unreadable"):
        store.load_all()


def test_store_level_errors(tmp_path):
    with pytest.raises(DataError, match="no such data folder"):
        EpisodeStore(tmp_path / "nope").load_all()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="not a jepalab episode store"):
        EpisodeStore(tmp_path / "empty").load_all()
    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    with pytest.raises(DataError, match="holds no episodes"):
        store.load_all()
    meta = json.loads(store.index_path.read_text())
    meta["schema_version"] = 99
    store.index_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match="schema version 99 is not supported"):
        store.load_all()


def test_passive_bounce_episodes_carry_zero_actions_and_true_positions(tmp_path):
    from jepalab.data.collect import collect

    store = collect("bounce", 3, 10, tmp_path / "bounce", seed=5, progress=False)
    assert store.meta()["action_dim"] == 1 and len(store) == 3
    ep = store.load_all()[0]
    assert ep.pixels.shape == (11, 64, 64, 3) and ep.actions.shape == (10, 1) and not ep.actions.any()
    assert ep.proprio.shape == (11, 8) and 0 < ep.proprio[:, 0].max() < 1
    again = collect("bounce", 3, 10, tmp_path / "again", seed=5, progress=False).load_all()[0]
    assert np.array_equal(ep.pixels, again.pixels)
