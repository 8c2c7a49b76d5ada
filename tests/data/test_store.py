import json

import numpy as np
import pytest

from jepalab.data.collect import collect
from jepalab.data.store import DataError, Episode, EpisodeStore


def episode(T=5, A=2):
    rng = np.random.default_rng(0)
    return Episode(rng.integers(0, 255, (T + 1, 64, 64, 3), dtype=np.uint8),
                   rng.normal(size=(T, A)).astype(np.float32), rng.normal(size=(T + 1, 2)).astype(np.float32))


def full_episode(T=5):
    rng = np.random.default_rng(1)
    ep = episode(T)
    ep.rewards = rng.normal(size=T).astype(np.float32)
    ep.state = rng.normal(size=(T + 1, 7)).astype(np.float32)
    ep.goal_proprio = rng.normal(size=2).astype(np.float32)
    ep.goal_pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    ep.audio = rng.uniform(0, 5, (T + 1, 16, 8)).astype(np.float32)
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
    cases = [("rewards", np.zeros(4, np.float32), r"field 'rewards' must be \(5,\) float, got \(4,\)"),
             ("state", np.zeros((5, 3), np.float32), r"field 'state' must be \(6, '\*'\) float"),
             ("goal_proprio", np.array([0, np.inf], np.float32), r"field 'goal_proprio' holds NaN or inf \(first at index 1\)"),
             ("goal_pixels", np.zeros((64, 64, 3), np.float32), r"field 'goal_pixels' must be \(64, 64, 3\) uint8"),
             ("rewards", np.array([0, 0, np.nan, 0, 0], np.float32), r"field 'rewards' holds NaN or inf \(first at step 2\)")]
    for field, value, message in cases:
        ep = full_episode()
        setattr(ep, field, value)
        with pytest.raises(DataError, match="episode 3: " + message):
            store.append(ep, 3)


def test_schema_1_stores_are_read_and_newer_ones_refused(tmp_path):
    store = EpisodeStore.create(tmp_path / "s", {"world": "x"})
    ep = episode()
    np.savez(store.episode_dir / "ep_000000.npz", pixels=ep.pixels, actions=ep.actions, proprio=ep.proprio)
    meta = json.loads(store.index_path.read_text())
    store.index_path.write_text(json.dumps({**meta, "schema_version": 1}))  # as jepalab 0.1 wrote it
    back = store.load_all()[0]
    assert np.array_equal(back.pixels, ep.pixels) and back.rewards is None
    store.index_path.write_text(json.dumps({**meta, "schema_version": 3}))
    with pytest.raises(DataError, match="schema version 3 is not supported .*upgrade jepalab"):
        store.load_all()


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
    np.savez(store.episode_dir / "ep_000000.npz", **{k: v for k, v in vars(bad).items() if v is not None})
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
