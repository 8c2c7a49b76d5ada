import json

import numpy as np
import pytest

from jepalab.data.collect import collect
from jepalab.data.store import DataError, Episode, EpisodeStore


def episode(T=5, A=2):
    rng = np.random.default_rng(0)
    return Episode(rng.integers(0, 255, (T + 1, 64, 64, 3), dtype=np.uint8),
                   rng.normal(size=(T, A)).astype(np.float32), rng.normal(size=(T + 1, 2)).astype(np.float32))


def test_round_trip_is_bit_exact(tmp_path):
    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    ep = episode()
    path = store.append(ep, 0)
    back = store.load(path)
    for k in ("pixels", "actions", "proprio"):
        assert np.array_equal(getattr(ep, k), getattr(back, k)) and getattr(ep, k).dtype == getattr(back, k).dtype


def test_collect_resumes_and_matches_a_straight_run(tmp_path):
    straight = collect("two-room", 6, 10, tmp_path / "a", seed=5, progress=False)
    partial = collect("two-room", 3, 10, tmp_path / "b", seed=5, progress=False)
    (partial.episode_dir / "ep_000001.npz").unlink()  # as if killed before that episode landed
    resumed = collect("two-room", 6, 10, tmp_path / "b", seed=5, progress=False)
    assert len(resumed) == 6
    for pa, pb in zip(straight.episode_paths(), resumed.episode_paths()):
        assert np.array_equal(straight.load(pa).pixels, resumed.load(pb).pixels)
    with pytest.raises(DataError, match="other settings"):
        collect("two-room", 6, 12, tmp_path / "b", seed=5, progress=False)


def test_bad_data_gets_errors_that_name_the_file_and_field(tmp_path):
    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    good = episode()
    np.savez(store.episode_dir / "ep_000000.npz", pixels=good.pixels, actions=good.actions)
    with pytest.raises(DataError, match=r"ep_000000.npz: missing field\(s\) \['proprio'\]"):
        store.load_all()
    bad = episode()
    bad.actions[2, 1] = np.nan
    np.savez(store.episode_dir / "ep_000000.npz", **vars(bad))
    with pytest.raises(DataError, match=r"ep_000000.npz: field 'actions' holds NaN or inf \(first at step 2\)"):
        store.load_all()
    short = episode()
    np.savez(store.episode_dir / "ep_000000.npz", pixels=short.pixels[:-2], actions=short.actions, proprio=short.proprio)
    with pytest.raises(DataError, match="lengths disagree"):
        store.load_all()
    (store.episode_dir / "ep_000000.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="ep_000000.npz: unreadable"):
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
