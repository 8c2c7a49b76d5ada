"""The fuzz corpus: a seeded generator of corrupted copies of an episode store and a checkpoint (the
mutation kinds a fuzz run found: bit flips, truncation, zeroed ranges, appended garbage, JSON fields
deleted, retyped, huge or NaN, deep nesting, invalid UTF-8, swapped files, symbolic links, named
pipes, wrong HDF5 dtypes and shapes, integrity fields renamed; and from the second round: empty
fields, giant declared shapes, float64 values past float32's range, the index's record removed alone,
a pointer naming another step, an older checkpoint copied whole over the newest). Each copy is opened
the way inspect, train and plan open one (EpisodeStore.load_all, checkpoint.load_model, and the
optimizer state `--resume` reads), and must end in a named error (DataError / CheckpointError naming
a file of the copy) or give exactly the original's content: never a result from changed content,
never another exception, never a hang."""

import json
import os
import shutil
import signal

import h5py
import numpy as np
import pytest
import torch

from jepalab.config import override, preset
from jepalab.data.collect import collect
from jepalab.data.store import DataError, EpisodeStore
from jepalab.training import checkpoint
from jepalab.training.train import Trainer

CASES = 152  # 8 of each of the 19 kinds


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    root = tmp_path_factory.mktemp("pristine")
    store = collect("two-room", 3, 12, root / "store", progress=False)
    cfg = override(preset("debug"), ["train.steps=4", "train.checkpoint_every=2", "train.threads=2"])
    Trainer(cfg, store.load_all(), root / "run", progress=False).run()
    model, _, meta = checkpoint.load_model(root / "run")
    return root, [vars(ep) for ep in store.load_all()], model.state_dict(), meta["config"], trainer_state(root)


def trainer_state(root):
    """What `--resume` reads besides the weights: the optimizer's tensors and groups, torch's RNG."""
    ckpt = checkpoint.resolve(root / "run")
    meta = checkpoint.read_meta(ckpt)
    return checkpoint.checked_tensors(ckpt / "trainer.safetensors"), meta["optimizer_param_groups"]


def _flip(path, rng):
    data = bytearray(path.read_bytes())
    i = int(rng.integers(len(data)))
    data[i] ^= 1 << int(rng.integers(8))
    path.write_bytes(bytes(data))


def _json_edit(path, rng):
    doc = json.loads(path.read_text())
    key = sorted(doc)[int(rng.integers(len(doc)))]
    kind = int(rng.integers(5))
    if kind == 0:
        del doc[key]
    elif kind == 1:
        doc[key] = str(doc[key]) if not isinstance(doc[key], str) else 7
    elif kind == 2:
        doc[key] = 10**18
    elif kind == 3:
        doc[key] = float("nan")
    else:
        doc[key] = [doc[key]]
    path.write_text(json.dumps(doc, allow_nan=True))


def mutate(root, case: int) -> str:
    """Apply mutation number `case` to the copy in `root`; -> its description."""
    rng = np.random.default_rng(case)
    store, ckpt = root / "store", checkpoint.resolve(root / "run")
    episodes = sorted((store / "episodes").glob("ep_*.h5"))
    files = {
        "episode": episodes[int(rng.integers(len(episodes)))],
        "dataset.json": store / "dataset.json",
        "checksum": sorted((store / "checksums").glob("ep_*.sha256"))[0],
        "model.safetensors": ckpt / "model.safetensors",
        "trainer.safetensors": ckpt / "trainer.safetensors",
        "meta.json": ckpt / "meta.json",
        "integrity.json": ckpt / "integrity.json",
        "latest.json": ckpt.parent / "latest.json",
    }
    kinds = [
        "flip",
        "truncate",
        "zeros",
        "append",
        "json",
        "nest",
        "utf8",
        "swap",
        "symlink",
        "pipe",
        "hdf5",
        "rename-hash",
        "empty-field",
        "giant",
        "f64-huge",
        "index-record",
        "pointer-step",
        "older-checkpoint",
    ]
    kind = kinds[case % len(kinds)]
    name = list(files)[int(rng.integers(len(files)))]
    path = files[name]
    if kind == "flip":
        _flip(path, rng)
    elif kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: int(rng.integers(len(data)))])
    elif kind == "zeros":
        data = bytearray(path.read_bytes())
        i, n = int(rng.integers(len(data))), int(rng.integers(1, 64))
        data[i : i + n] = bytes(len(data[i : i + n]))
        path.write_bytes(bytes(data))
    elif kind == "append":
        with open(path, "ab") as f:
            f.write(rng.bytes(int(rng.integers(1, 100))))
    elif kind == "json":
        path = files[["dataset.json", "meta.json", "integrity.json", "latest.json", "checksum"][int(rng.integers(5))]]
        _json_edit(path, rng)
    elif kind == "nest":
        path = files[["dataset.json", "meta.json", "latest.json", "integrity.json"][int(rng.integers(4))]]
        path.write_text("[" * 100_000)
    elif kind == "utf8":
        path = files[["dataset.json", "meta.json"][int(rng.integers(2))]]
        path.write_bytes(path.read_bytes()[:20] + b"\xff\xfe" + path.read_bytes()[20:])
    elif kind == "swap":
        a, b = episodes[0], episodes[1 + int(rng.integers(len(episodes) - 1))]
        tmp = a.with_suffix(".swap")
        os.replace(a, tmp), os.replace(b, a), os.replace(tmp, b)
        path = a
    elif kind == "symlink":
        path.unlink()
        target = [episodes[-1] if path != episodes[-1] else episodes[0], "/dev/zero", root / "nowhere"][
            int(rng.integers(3))
        ]
        path.symlink_to(target)
    elif kind == "pipe":
        path.unlink()
        os.mkfifo(path)
    elif kind == "hdf5":
        path = files["episode"]
        with h5py.File(path, "r+") as f:
            field = ["actions", "proprio", "pixels", "rewards"][int(rng.integers(4))]
            data = f[field][()]
            del f[field]
            f[field] = data.astype(np.float64) if int(rng.integers(2)) or field == "pixels" else data[:-1]
    elif kind == "rename-hash":
        path = files["integrity.json"]
        doc = json.loads(path.read_text())
        key = ["sha256", "files", "format"][int(rng.integers(3))]
        doc[key[:-1] + chr(ord(key[-1]) ^ 1)] = doc.pop(key)  # two bits of one key
        path.write_text(json.dumps(doc))
    elif kind in ("empty-field", "giant", "f64-huge"):
        path = files["episode"]
        with h5py.File(path, "r+") as f:
            field = ["actions", "proprio", "rewards", "pixels"][int(rng.integers(4))]
            data = f[field][()]
            del f[field]
            if kind == "empty-field":
                f[field] = data[:0]
            elif kind == "giant":
                f.create_dataset(
                    field, (17, 8192, 8192, 3) if field == "pixels" else (1 << 40,), data.dtype, chunks=True
                )
            else:
                f[field] = np.full(data.shape, 1e300 if field != "pixels" else 255, np.float64)
    elif kind == "index-record":
        path = store / "checksums" / "dataset.json.sha256"
        path.unlink()
    elif kind == "pointer-step":
        path = files["latest.json"]
        doc = json.loads(path.read_text())
        doc["step"] = [2, 6, 0, "4"][int(rng.integers(4))]
        path.write_text(json.dumps(doc))
    elif kind == "older-checkpoint":
        older = sorted(p for p in ckpt.parent.glob("step_*") if p != ckpt)[0]
        shutil.rmtree(ckpt)
        shutil.copytree(older, ckpt)
        path = ckpt
    return f"{kind} {path.relative_to(root) if path.is_relative_to(root) else path}"


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout


@pytest.mark.parametrize("case", range(CASES))
def test_a_corrupted_copy_is_refused_by_name_or_read_unchanged(pristine, tmp_path, case):
    root, episodes, weights, config, (optim, groups) = pristine
    shutil.copytree(root / "store", tmp_path / "store")
    shutil.copytree(root / "run", tmp_path / "run")
    what = mutate(tmp_path, case)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    try:
        for read in ("store", "checkpoint"):
            try:
                if read == "store":
                    got = [vars(ep) for ep in EpisodeStore(tmp_path / "store").load_all()]
                    assert len(got) == len(episodes), what
                    for a, b in zip(got, episodes):
                        for k, v in b.items():
                            assert (v is None and a[k] is None) or np.array_equal(a[k], v), f"{what}: {k} changed"
                else:
                    model, _, meta = checkpoint.load_model(tmp_path / "run")
                    assert meta["config"] == config, f"{what}: config changed"
                    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items()), f"{what}: weights"
                    got, got_groups = trainer_state(tmp_path)
                    assert got_groups == groups and got.keys() == optim.keys(), f"{what}: optimizer groups"
                    assert all(torch.equal(v, optim[k]) for k, v in got.items()), f"{what}: optimizer state"
            except (DataError, checkpoint.CheckpointError) as e:
                assert str(tmp_path) in str(e) or "/dev/zero" in str(e), f"{what}: error names no file: {e}"
    except Timeout:
        pytest.fail(f"{what}: hung")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
