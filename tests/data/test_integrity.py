"""No corrupted episode is ever used silently (data/checksums.py, data/safe_read.py)."""

import json
import os
import shutil

import h5py
import numpy as np
import pytest

from jepalab.data.checksums import add_checksums
from jepalab.data.collect import collect
from jepalab.data.store import DataError, EpisodeStore


@pytest.fixture
def store(tmp_path):
    return collect("two-room", 3, 12, tmp_path / "s", progress=False)


def data_offset(path, field):
    with h5py.File(path, "r") as f:
        ds = f[field]
        return ds.id.get_chunk_info(0).byte_offset if ds.chunks else ds.id.get_offset()


def flip(path, offset, bit=6):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([b ^ (1 << bit)]))


def test_a_flipped_bit_in_an_episode_names_the_file_and_the_field(store):
    good = [ep.actions.copy() for ep in store.load_all()]
    path = store.episode_paths()[1]
    flip(path, data_offset(path, "rewards"))  # an uncompressed field
    with pytest.raises(DataError, match=r"ep_000001.h5: content changed since it was written .*'rewards'"):
        store.load_all()
    shutil.copy(store.root / "checksums" / "ep_000000.h5.sha256", store.root / "x")  # (left over, harmless)
    path.unlink()
    collect("two-room", 3, 12, store.root, progress=False)  # the collection writes it again
    assert all(np.array_equal(a, b.actions) for a, b in zip(good, store.load_all()))


def test_damage_hdf5_reads_back_as_other_values_is_caught(store):
    """A flipped bit in a chunk index can make a chunk read back as zeros without any read error."""
    path = store.episode_paths()[0]
    with open(path, "r+b") as f:  # a byte somewhere in the file's metadata, before the first data chunk
        f.seek(data_offset(path, "actions") // 2)
        b = f.read(1)[0]
        f.seek(-1, 1)
        f.write(bytes([b ^ 0xFF]))
    with pytest.raises(DataError, match="ep_000000.h5: content changed since it was written"):
        store.load_all()


def test_dataset_json_is_checked_against_its_record_and_its_episodes(store):
    meta = json.loads(store.index_path.read_text())
    store.index_path.write_text(json.dumps({**meta, "world": "push"}))
    with pytest.raises(DataError, match=r"dataset.json: changed since the store was made"):
        store.load_all()
    shutil.rmtree(store.root / "checksums")  # an old store: the index is still checked against its episodes
    store.index_path.write_text(json.dumps({**meta, "action_dim": 3}))
    with pytest.raises(DataError, match=r"dataset.json: does not describe its episodes: 'action_dim' is 3"):
        store.load_all()
    for field, value, message in (
        ("steps_per_episode", "12", "must be an integer"),
        ("image_size", 10**12, "must be in 8..1e9"),
        ("seed", True, "must be an integer"),
        ("world", "\x00", "must be a printable"),
    ):
        store.index_path.write_text(json.dumps({**meta, field: value}))
        with pytest.raises(DataError, match=f"dataset.json: '{field}' {message}"):
            store.meta()
    store.index_path.write_text("[" * 100_000)
    with pytest.raises(DataError, match="dataset.json: nested 100000 levels deep"):
        store.meta()


def test_an_old_store_loads_with_a_warning_and_gains_checksums(store, capsys):
    shutil.rmtree(store.root / "checksums")
    store.load_all()
    assert f"jepalab inspect {store.root} --add-checksums" in capsys.readouterr().err
    assert add_checksums(store, progress=False) == 3
    store.load_all()
    assert "warning" not in capsys.readouterr().err
    flip(store.episode_paths()[2], data_offset(store.episode_paths()[2], "rewards"))
    with pytest.raises(DataError, match="ep_000002.h5: content changed"):
        store.load_all()


def test_unchanged_files_are_not_hashed_again(store, monkeypatch):
    import jepalab.data.checksums as checksums

    store.load_all()
    calls = []
    real = checksums.sha256_file
    monkeypatch.setattr(checksums, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    store.load_all()
    assert [p.name for p in calls] == ["dataset.json"]  # the index (small) is hashed; episodes were verified
    os.utime(store.episode_paths()[0])  # touched: checked again (and found intact)
    store.load_all()
    assert store.episode_paths()[0] in calls


def test_only_regular_files_are_opened_and_float64_is_cast_at_the_boundary(store, tmp_path):
    path = store.episode_paths()[0]
    path.unlink()
    os.mkfifo(path)  # reading a named pipe would block until someone writes to it
    with pytest.raises(DataError, match="ep_000000.h5: is a named pipe, not a regular file"):
        store.load_all()
    path.unlink()
    ep = store.load(store.episode_paths()[1])
    ep.actions = ep.actions.astype(np.float64)
    other = EpisodeStore.create(tmp_path / "o", store.meta())
    other.append(ep, 0)
    back = other.load_all()[0]
    assert back.actions.dtype == np.float32 and np.allclose(back.actions, ep.actions)
