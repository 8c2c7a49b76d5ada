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


def unindex(path, field):
    """Bit rot in an HDF5 chunk index: the B-tree node that lists `field`'s chunks says it lists none
    (its 'entries used' zeroed), so the chunks read back as the fill value, zeros, with no error."""
    with h5py.File(path, "r") as f:
        ds = f[field]
        chunk, ndim = ds.id.get_chunk_info(0).byte_offset, ds.ndim
    data = bytearray(path.read_bytes())
    at = data.find(b"TREE")
    while at >= 0:  # v1 B-tree node: signature, type, level, entries used, siblings, then key and child
        child = 24 + 8 + 8 * (ndim + 1)
        if data[at + 4] == 1 and int.from_bytes(data[at + child : at + child + 8], "little") == chunk:
            data[at + 6 : at + 8] = b"\0\0"
            path.write_bytes(bytes(data))
            return
        at = data.find(b"TREE", at + 1)
    raise AssertionError(f"no chunk index node for {field} in {path}")


def larger_than_memory(monkeypatch):
    """As if the store were larger than a quarter of the RAM (where a streamed open skips hashing)."""
    import jepalab.data.store

    monkeypatch.setattr(jepalab.data.store, "memory_budget", lambda: 0)


def test_bit_rot_under_an_unchanged_mtime_is_found_in_memory_and_streamed(store, monkeypatch):
    import jepalab.data.checksums as checksums

    store.load_all(stream=True)
    calls = []
    real = checksums.sha256_file
    monkeypatch.setattr(checksums, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    store.load_all(stream=True)
    assert len(calls) == 1 + 3  # a store that fits in memory: every file, every time (0.05 s for 1,000)
    larger_than_memory(monkeypatch)
    store.load_all(stream=True)  # records the files found intact
    calls.clear()
    store.load_all(stream=True)
    assert [p.name for p in calls] == ["dataset.json"]  # streamed and larger: intact files are not hashed again
    store.load_all()
    assert len(calls) == 2 + 3  # in memory: every file, every time
    path = store.episode_paths()[1]
    st = path.stat()
    unindex(path, "goal_proprio")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    with h5py.File(path, "r") as f:
        assert not f["goal_proprio"][()].any()  # what the reader would have used: zeros
    with pytest.raises(DataError, match=r"ep_000001.h5: content changed .*field\(s\) 'goal_proprio' differ"):
        store.load_all()
    with pytest.raises(DataError, match=r"ep_000001.h5: field 'goal_proprio': 0 of its 1 chunks are in the"):
        store.load_all(stream=True)


def test_an_edit_that_keeps_size_mtime_and_hdf5_sums_is_found_by_its_fields(store, monkeypatch):
    larger_than_memory(monkeypatch)
    store.load_all(stream=True)
    path = store.episode_paths()[2]
    st = path.stat()
    with h5py.File(path, "r+") as f:  # HDF5 recomputes the chunk's fletcher32: only the record knows
        f["rewards"][3] = f["rewards"][3] + 1
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size
    with pytest.raises(DataError, match=r"ep_000002.h5: content changed although its size and .* 'rewards'"):
        store.load_all(stream=True)


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


def test_the_error_path_hashes_empty_fields_and_reads_no_declared_giant(store, tmp_path):
    import resource

    from jepalab.data.checksums import array_sha256
    from jepalab.data.store import Episode

    assert array_sha256(np.zeros((0, 2), np.float32)) != array_sha256(np.zeros((0, 3), np.float32))
    one = store.load(store.episode_paths()[0])
    empty = EpisodeStore.create(tmp_path / "e", store.meta())
    empty.append(Episode(one.pixels[:1], one.actions[:0], one.proprio[:1]), 0)  # no steps: actions (0, 2)
    path = empty.episode_paths()[0]
    with h5py.File(path, "r+") as f:
        f["proprio"][0] = f["proprio"][0] + 1
    with pytest.raises(DataError, match=r"ep_000000.h5: content changed .*field\(s\) 'proprio' differ"):
        empty.load_all()
    # 17 x 8192 x 8192 x 3 pixels declared (3.4 GB) in a file of kilobytes: named before a byte is read
    giant = store.episode_paths()[1]
    with h5py.File(giant, "r+") as f:
        del f["pixels"]
        f.create_dataset("pixels", (17, 8192, 8192, 3), np.uint8, chunks=(1, 256, 256, 3), compression="gzip")
    assert giant.stat().st_size < 1 << 20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(DataError, match=r"ep_000001.h5: content changed .*'pixels' declares shape \(17, 8192"):
        store.load_all()
    shutil.rmtree(store.root / "checksums")  # without checksums: the reader's own limits
    with pytest.raises(DataError, match=r"ep_000001.h5: field 'pixels' declares frames of 8192 x 8192 pixels"):
        store.load_all()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing near 3.4 GB


def test_a_store_without_checksums_keeps_every_check_that_needs_no_hash(store, tmp_path, capsys):
    import signal

    meta = json.loads(store.index_path.read_text())
    (store.root / "checksums" / "dataset.json.sha256").unlink()  # one record gone: not a downgrade
    with pytest.raises(DataError, match=r"dataset.json.sha256: missing, while its episodes carry checksums"):
        store.load_all()
    shutil.rmtree(store.root / "checksums")
    for world, words in (
        ("../../../../etc/passwd", "'world' must be a name, not a path"),
        ("gymnasium:../x", "'world' must be a name, not a path"),
        (None, "'world' is missing"),
    ):
        doc = {k: v for k, v in meta.items() if k != "world"} | ({"world": world} if world else {})
        store.index_path.write_text(json.dumps(doc))
        with pytest.raises(DataError, match="dataset.json: " + words):
            store.load_all()
    store.index_path.write_text(json.dumps({k: v for k, v in meta.items() if k != "action_dim"}))
    with pytest.raises(DataError, match=r"'action_dim' missing \(a store of the built-in world 'two-room' says"):
        store.load_all()
    store.index_path.write_text(json.dumps(meta))
    path = store.episode_paths()[0]
    path.unlink()
    os.mkfifo(path)  # opened by stream="auto" before any check, it blocked forever
    old = signal.signal(signal.SIGALRM, lambda *a: pytest.fail("hung on a named pipe"))
    signal.alarm(10)
    try:
        with pytest.raises(DataError, match="ep_000000.h5: is a named pipe, not a regular file"):
            store.load_all(stream="auto")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_values_are_checked_as_the_float32_they_become(store, tmp_path):
    ep = store.load(store.episode_paths()[0])
    ep.actions = ep.actions.astype(np.float64)
    ep.actions[4, 1] = 1e300  # finite as float64, inf as float32
    other = EpisodeStore.create(tmp_path / "o", store.meta())
    with pytest.raises(DataError, match=r"episode 0: field 'actions' holds NaN, inf or a value beyond float32's ra"):
        other.append(ep, 0)
    path = store.episode_paths()[1]
    with h5py.File(path, "r+") as f:  # written by another tool, into a store without checksums
        actions = f["actions"][()].astype(np.float64)
        actions[2, 0] = -1e300
        del f["actions"]
        f["actions"] = actions
    shutil.rmtree(store.root / "checksums")
    with pytest.raises(DataError, match=r"ep_000001.h5: field 'actions' holds NaN, inf .*\(first at step 2\)"):
        store.load_all()


def test_integers_are_bounded_before_any_float_conversion():
    from jepalab.config import override, preset

    with pytest.raises(ValueError, match="model.latent_dim must be in 1..65536, got an integer of 401 digits"):
        override(preset("debug"), ["model.latent_dim=1" + "0" * 400]).validate()
