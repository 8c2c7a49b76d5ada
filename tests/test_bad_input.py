"""Bad settings and damaged stores get a clear error naming the setting or the file, never a
traceback or a silent exit 0 (issue 25, items 11-13)."""

import json
import shutil

import h5py
import numpy as np
import pytest

from jepalab.cli.main import main
from jepalab.data.store import DataError, EpisodeStore
from jepalab.training import checkpoint
from jepalab.training.checkpoint import CheckpointError


@pytest.mark.parametrize(
    "argv, words",
    [
        (["collect", "--episodes", "-5", "--out", "OUT"], "--episodes: -5: must be 1 or more"),
        (["collect", "--steps", "0", "--out", "OUT"], "--steps: 0: must be 1 or more"),
        (["surprise", "--checkpoint", "x", "--fps", "0", "a.mp4"], "--fps: 0: must be a finite number above 0"),
        (["surprise", "--checkpoint", "x", "--fps", "-5", "a.mp4"], "must be a finite number above 0"),
        (["surprise", "--checkpoint", "x", "--fps", "nan", "a.mp4"], "must be a finite number above 0"),
        (["surprise", "--checkpoint", "x", "--fps", "inf", "a.mp4"], "must be a finite number above 0"),
        (["train", "--world", "two-room", "--out", "FILE"], "is a file; give a folder"),
        (["serve", "--checkpoint", "x", "--max-frames", "0"], "--max-frames: 0: must be 1 or more"),
    ],
)
def test_impossible_arguments_are_refused_by_name(argv, words, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    argv = [str(tmp_path / "out") if a == "OUT" else str(tmp_path / "file") if a == "FILE" else a for a in argv]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2 and words in capsys.readouterr().err


@pytest.mark.parametrize(
    "setting, words",
    [
        ("train.checkpoint_every=0", "train.checkpoint_every must be >= 1"),
        ("train.steps=-5", "train.steps must be >= 1, got -5"),
        ("train.log_every=0", "train.log_every must be >= 1"),
        ("train.lr=nan", "train.lr must be a finite number above 0"),
        ("train.batch_size=100000000", "train.batch_size=100000000: one batch"),
    ],
)
def test_impossible_settings_are_refused_before_training(debug_store, tmp_path, capsys, setting, words):
    rc = main(
        [
            "train",
            "--data",
            str(debug_store.root),
            "--preset",
            "debug",
            "--out",
            str(tmp_path / "run"),
            "--quiet",
            "--set",
            setting,
        ]
    )
    assert rc == 2 and words in capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoints").exists()


def copy_store(debug_store, tmp_path, episodes=3) -> EpisodeStore:
    root = tmp_path / "store"
    (root / "episodes").mkdir(parents=True)
    shutil.copy(debug_store.index_path, root / "dataset.json")
    for p in debug_store.episode_paths()[:episodes]:
        shutil.copy(p, root / "episodes" / p.name)
    return EpisodeStore(root)


@pytest.mark.parametrize(
    "index, words",
    [
        ("[1, 2]", "must hold a JSON object, holds a list"),
        ('{"format": "jepalab-episodes", "schema_version": "3"}', "schema_version must be an integer, got '3'"),
        ('{"format": "jepalab-episodes", "schema_version": 99}', "schema version 99 is not supported"),
    ],
)
def test_a_malformed_dataset_json_is_named(debug_store, tmp_path, index, words):
    store = copy_store(debug_store, tmp_path)
    store.index_path.write_text(index)
    with pytest.raises(DataError, match="dataset.json: " + words.replace("(", r"\(")):
        store.load_all()


def test_stray_files_and_mixed_episodes_in_one_store_are_named(debug_store, tmp_path):
    store = copy_store(debug_store, tmp_path)
    stray = store.episode_dir / "ep_abc.h5"
    shutil.copy(store.episode_paths()[0], stray)
    with pytest.raises(DataError, match="ep_abc.h5: not an episode file name"):
        store.load_all()
    stray.unlink()
    odd = store.episode_paths()[2]
    with h5py.File(odd, "a") as f:  # one episode with 3 action dims among 2-dim ones
        actions = f["actions"][()]
        del f["actions"]
        f["actions"] = np.concatenate([actions, actions[:, :1]], 1)
    with pytest.raises(DataError, match=rf"{odd.name}: action dim \(3,\) differs from \(2,\)"):
        store.load_all()


@pytest.mark.parametrize("how", ["external", "link"])
def test_episode_data_kept_in_other_files_is_refused(debug_store, tmp_path, how):
    store = copy_store(debug_store, tmp_path)
    victim, outside = store.episode_paths()[0], tmp_path / "outside.bin"
    with h5py.File(victim, "a") as f:
        actions = f["actions"][()]
        del f["actions"]
        if how == "external":  # the bytes of the dataset live in a raw file anywhere on the machine
            outside.write_bytes(actions.astype(np.float32).tobytes())
            f.create_dataset(
                "actions", shape=actions.shape, dtype=np.float32, external=[(str(outside), 0, actions.nbytes)]
            )
        else:
            with h5py.File(tmp_path / "other.h5", "w") as g:
                g["actions"] = actions
            f["actions"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "actions")
    with pytest.raises(DataError, match=rf"{victim.name}: field 'actions' (keeps its data in other files|is a link)"):
        store.load_all()


def test_a_checkpoint_meta_with_wrong_types_is_named(debug_store, tmp_path):
    assert (
        main(
            [
                "train",
                "--data",
                str(debug_store.root),
                "--preset",
                "debug",
                "--out",
                str(tmp_path / "run"),
                "--quiet",
                "--set",
                "train.steps=2",
                "--set",
                "train.checkpoint_every=2",
            ]
        )
        == 0
    )
    meta_path = checkpoint.resolve(tmp_path / "run") / "meta.json"
    meta = json.loads(meta_path.read_text())
    for key, value, words in [
        ("step", "2", "step is str, expected int"),
        ("config", [], "config is list"),
        ("sha256", "abc", "sha256 is str"),
    ]:
        meta_path.write_text(json.dumps({**meta, key: value}))
        with pytest.raises(CheckpointError, match="meta.json: corrupt: its sha256 differs"):
            checkpoint.load_model(tmp_path / "run")
        checkpoint.seal(meta_path.parent)  # consistent with its record: the fields' own checks name it
        with pytest.raises(CheckpointError, match=f"meta.json: malformed: {words}"):
            checkpoint.load_model(tmp_path / "run")
    # every config value by the rules of --set: types, ranges, sizes that would not fit in memory
    for key, value, words in [
        ("model.latent_dim", 32.5, "model.latent_dim: expected int, got 32.5"),
        ("plan.horizon", 10**18, "plan.horizon must be in 1..10000"),
        ("model.width", 10**18, "model.width must be in 1..4096"),
        ("model.frameskip", 2.5, "model.frameskip: expected int"),
        ("model.dropout", float("nan"), "model.dropout must be in"),
        ("data.world", 7, "data.world: expected str, got 7"),
    ]:
        section, name = key.split(".")
        bad = json.loads(json.dumps(meta))
        bad["config"][section][name] = value
        meta_path.write_text(json.dumps(bad, allow_nan=True))
        checkpoint.seal(meta_path.parent)
        with pytest.raises(CheckpointError, match=words.replace("(", r"\(").replace(".", r"\.")):
            checkpoint.load_model(tmp_path / "run")
    meta_path.write_text(json.dumps(meta))
    (meta_path.parent / "integrity.json").unlink()  # the record removed: refused, unless trusted explicitly
    with pytest.raises(CheckpointError, match="carries no integrity record.*--trust-unverified"):
        checkpoint.load_model(tmp_path / "run")
    assert (
        main(
            [
                "plan",
                "--checkpoint",
                str(tmp_path / "run"),
                "--episodes",
                "1",
                "--quiet",
                "--no-baselines",
                "--set",
                "plan.max_steps=2",
            ]
        )
        == 2
    )
    checkpoint.trust_unverified()
    try:
        checkpoint.load_model(tmp_path / "run")
    finally:
        checkpoint.trust_unverified(False)


def test_a_second_training_into_the_same_folder_is_refused(debug_store, tmp_path, capsys):
    run = tmp_path / "run"
    with checkpoint.run_lock(run):  # as if another process were training into it
        rc = main(["train", "--data", str(debug_store.root), "--preset", "debug", "--out", str(run), "--quiet"])
        assert rc == 2 and "another jepalab run (pid" in capsys.readouterr().err
    assert not (run / "metrics.jsonl").exists()
    # the lock goes with its holder: the folder is free again
    assert (
        main(
            [
                "train",
                "--data",
                str(debug_store.root),
                "--preset",
                "debug",
                "--out",
                str(run),
                "--quiet",
                "--set",
                "train.steps=2",
            ]
        )
        == 0
    )


def test_every_json_jepalab_writes_is_strict():
    from jepalab.data import jsonout

    doc = {"nan": float("nan"), "inf": np.float32("inf"), "ok": [1.5, np.int64(2)], "arr": np.array([0.5, np.nan])}
    text = jsonout.dumps(doc)
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in strict JSON")) == {
        "nan": None,
        "inf": None,
        "ok": [1.5, 2],
        "arr": [0.5, None],
    }
