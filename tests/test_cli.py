import json
import subprocess
import sys

import numpy as np
import pytest

from jepalab.cli.main import main
from jepalab.cli.parser import EXAMPLES


def test_demo_end_to_end_on_debug_preset(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--preset", "debug", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "success_rate",
        "random_success_rate",
        "untrained_success_rate",
        "seconds_per_step",
        "train_seconds",
        "episodes",
    ):
        assert key in summary and np.isfinite(summary[key])
    for name in (
        "config.json",
        "metrics.jsonl",
        "training.png",
        "trajectories.png",
        "eval.json",
        "checkpoints/latest.json",
    ):
        assert (out / name).is_file(), name
    assert (out / "training.png").read_bytes()[:4] == b"\x89PNG"
    printed = capsys.readouterr().out
    assert "random actions" in printed and "untrained model + CEM" in printed
    # the same command again without --resume is refused before it collects or reads any data
    for argv in (["demo", "--preset", "debug"], ["train", "--data", str(tmp_path / "no-such-data")]):
        assert main(argv + ["--out", str(out), "--quiet"]) == 2
        assert "already holds a training run (checkpoint at step" in capsys.readouterr().err


def test_step_by_step_commands(tmp_path, capsys):
    data, run = tmp_path / "data", tmp_path / "run"
    assert (
        main(["collect", "--world", "two-room", "--episodes", "6", "--steps", "24", "--out", str(data), "--quiet"]) == 0
    )
    assert (
        main(
            ["train", "--data", str(data), "--preset", "debug", "--out", str(run), "--quiet", "--set", "train.steps=6"]
        )
        == 0
    )
    assert main(["plan", "--checkpoint", str(run), "--episodes", "3", "--quiet", "--planner", "mppi"]) == 0
    summary = json.loads((run / "plan" / "summary.json").read_text())
    assert summary["episodes"] == 3 and summary["planner"] == "mppi" and summary["checkpoint_step"] == 6
    assert "position_probe_r2" not in summary  # trained on outside data: nothing to fit the probe on
    run2 = tmp_path / "run2"
    assert (
        main(
            [
                "train",
                "--world",
                "two-room",
                "--preset",
                "debug",
                "--out",
                str(run2),
                "--quiet",
                "--set",
                "train.steps=2",
                "--set",
                "data.episodes=3",
            ]
        )
        == 0
    )
    assert main(["plan", "--checkpoint", str(run2), "--episodes", "2", "--quiet", "--no-baselines"]) == 0
    assert "position_probe_r2" in json.loads((run2 / "plan" / "summary.json").read_text())


@pytest.mark.slow
def test_every_command_has_help_with_an_example():
    for name in EXAMPLES:
        out = subprocess.run([sys.executable, "-m", "jepalab", name, "--help"], capture_output=True, text=True)
        assert out.returncode == 0 and "example:" in out.stdout and f"jepalab {name}" in out.stdout
        options = [line for line in out.stdout.splitlines() if line.strip().startswith("--")]
        assert all(len(line.split()) > 1 for line in options)  # every option is described


def test_help_does_not_import_torch():
    # the command's own entry point (run: main, then the exit), as `jepalab --help` and `jepalab config` run it
    for argv in (["--help"], ["train", "--help"], ["config", "--preset", "debug"]):
        code = (
            f"import sys; sys.argv = ['jepalab', *{argv!r}]; from jepalab.cli.main import run\n"
            "try: run()\nexcept SystemExit as e: assert not e.code, e.code\n"
            "assert 'torch' not in sys.modules, 'torch imported'"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, (argv, done.stderr[-1000:])


def test_version_and_the_robot_side_client_import_no_torch():
    import jepalab

    done = subprocess.run([sys.executable, "-m", "jepalab", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"jepalab {jepalab.__version__}"
    code = (
        "import sys, numpy as np; from jepalab.serving.client import Client, encode_image\n"
        "encode_image(np.zeros((8, 8, 3), np.uint8)); assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "{tmp}/nope", "--preset", "debug", "--out", "{tmp}/r"], "no such data folder"),
        (["plan", "--checkpoint", "{tmp}/nope"], "no such checkpoint"),
        (
            ["train", "--data", "{tmp}", "--preset", "debug", "--out", "{tmp}/r", "--set", "train.stepz=3"],
            "cannot set 'train.stepz=3'",
        ),
        (
            ["train", "--data", "{tmp}", "--preset", "debug", "--out", "{tmp}/r", "--set", "train.steps=many"],
            "train.steps: expected int",
        ),
    ],
)
def test_bad_input_gives_a_clear_error(tmp_path, capsys, argv, message):
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_wrong_image_size_and_nan_actions_are_named(tmp_path, capsys):
    from jepalab.data.store import Episode, EpisodeStore

    store = EpisodeStore.create(tmp_path / "small", {"world": "my-small-room"})  # a user's store: says no size
    rng = np.random.default_rng(0)
    for i in range(3):
        store.append(
            Episode(
                rng.integers(0, 255, (33, 32, 32, 3), dtype=np.uint8),
                rng.uniform(-1, 1, (32, 2)).astype(np.float32),
                np.zeros((33, 2), np.float32),
            ),
            i,
        )
    assert main(["train", "--data", str(store.root), "--preset", "debug", "--out", str(tmp_path / "r")]) == 2
    assert "frames are 32x32, the model takes 64x64" in capsys.readouterr().err
    import h5py

    with h5py.File(store.episode_paths()[0], "r+") as f:
        f["actions"][5, 0] = np.nan
    assert main(["train", "--data", str(store.root), "--preset", "debug", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    # changed after it was written: its checksum names the field (a store's own NaN check: tests/data)
    assert "ep_000000.h5: content changed since it was written" in err and "'actions' differ" in err


def test_corrupt_checkpoint_is_a_clear_error(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--world",
                "two-room",
                "--preset",
                "debug",
                "--out",
                str(run),
                "--quiet",
                "--set",
                "train.steps=2",
                "--set",
                "data.episodes=3",
            ]
        )
        == 0
    )
    weights = next((run / "checkpoints").glob("step_*/model.safetensors"))
    weights.write_bytes(b"garbage")
    assert main(["plan", "--checkpoint", str(run), "--episodes", "2", "--quiet"]) == 2
    assert "model.safetensors: corrupt" in capsys.readouterr().err


def test_custom_action_size_is_taken_from_the_data(tmp_path):
    from jepalab.data.store import Episode, EpisodeStore
    from jepalab.training.checkpoint import load_model

    store = EpisodeStore.create(tmp_path / "arm", {"world": "my-arm", "action_dim": 3, "image_size": 64})
    rng = np.random.default_rng(0)
    for i in range(4):
        store.append(
            Episode(
                rng.integers(0, 255, (25, 64, 64, 3), dtype=np.uint8),
                rng.uniform(-1, 1, (24, 3)).astype(np.float32),
                np.zeros((25, 2), np.float32),
            ),
            i,
        )
    assert (
        main(
            [
                "train",
                "--data",
                str(store.root),
                "--preset",
                "debug",
                "--out",
                str(tmp_path / "r"),
                "--quiet",
                "--set",
                "train.steps=2",
            ]
        )
        == 0
    )
    _, cfg, _ = load_model(tmp_path / "r")
    assert cfg.model.action_dim == 3 and cfg.data.world == "my-arm"


def test_a_run_on_a_store_records_how_the_store_was_collected(tmp_path):
    """config.json of a --data run describes the store, not the preset's collection defaults: bench's
    held-out check reads those seeds, so a store collected on the evaluation seeds is refused."""
    from jepalab.bench.suites.common import BenchOptions
    from jepalab.bench.suites.control import ControlSuite
    from jepalab.config import preset
    from jepalab.data.collect import collect
    from jepalab.training.checkpoint import load_model

    cfg = preset("debug")  # collects 24 episodes of 32 steps from seed 0; plans from seed 1000
    store = collect("two-room", 5, 12, tmp_path / "data", seed=cfg.plan.seed, progress=False)
    out = tmp_path / "r"
    assert main(["train", "--data", str(store.root), "--preset", "debug", "--out", str(out), "--quiet",
                 "--set", "train.steps=2"]) == 0  # fmt: skip
    model, run_cfg, _ = load_model(out)
    d = run_cfg.data
    assert (d.episodes, d.steps_per_episode, d.seed, d.policy) == (5, 12, cfg.plan.seed, "random")
    with pytest.raises(ValueError, match="overlap the training episodes' seeds 1000..1004"):
        ControlSuite(model, run_cfg, BenchOptions())


def test_train_takes_the_proprio_size_of_a_sensed_model_from_the_data(debug_store, tmp_path):
    out = tmp_path / "sensed"
    assert (
        main(
            [
                "train",
                "--data",
                str(debug_store.root),
                "--preset",
                "debug",
                "--out",
                str(out),
                "--quiet",
                "--set",
                "model.variant=senses",
                "--set",
                "model.senses=proprio",
                "--set",
                "train.steps=2",
            ]
        )
        == 0
    )
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["senses"] == "proprio" and cfg["model"]["proprio_dim"] == 2  # two-room: x, y


def test_optional_parts_name_their_extra_before_making_any_output(tmp_path, monkeypatch, capsys, debug_store):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in ("onnx", "pyarrow") else real(name, *a)
    )
    out = tmp_path / "exported"
    assert main(["export", "--checkpoint", str(tmp_path / "whatever"), "--format", "onnx", "--out", str(out)]) == 2
    assert "pip install 'jepalab[export]'" in capsys.readouterr().err and not out.exists()
    assert main(["export-data", "--store", str(debug_store.root), "--lerobot", str(tmp_path / "lr")]) == 2
    assert "pip install 'jepalab[lerobot]'" in capsys.readouterr().err and not (tmp_path / "lr").exists()
    assert main(["import", "--lerobot", str(tmp_path / "x"), "--out", str(tmp_path / "imp")]) == 2
    assert "pip install 'jepalab[lerobot]'" in capsys.readouterr().err and not (tmp_path / "imp").exists()


def test_settings_that_do_not_apply_are_refused_and_a_failed_run_leaves_no_folder(tmp_path, capsys, debug_store):
    run = tmp_path / "run"
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
                "data.episodes=5",
            ]
        )
        == 2
    )
    assert "data.episodes: collection settings" in capsys.readouterr().err and not run.exists()
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
                "model.image_size=32",
            ]
        )
        == 2
    )  # fails in training: the frames are 64 px
    assert "frames are 64x64" in capsys.readouterr().err
    assert not run.exists()  # no lock or half-made folder behind it
