"""What a user sees while a run goes: the settings that differ from the preset, a settings file,
training curves as a picture at the end, TensorBoard when asked, baselines named as such."""

import json

import pytest

from jepalab.cli.main import main


def test_settings_from_a_file_with_set_on_top_and_only_the_changes_printed(debug_store, tmp_path, capsys):
    settings = tmp_path / "settings.toml"
    settings.write_text("[train]\nsteps = 4\nlog_every = 2\ncheckpoint_every = 4\n\n[objective]\nweight = 2.0\n")
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
                "--config",
                str(settings),
                "--set",
                "train.log_every=1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "preset debug, changed: " in out and "train.steps: 30 -> 4" in out and "train.log_every: 5 -> 1" in out
    assert "model." not in out.split("changed: ")[1].split("\n")[0]  # unchanged settings are not listed
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["steps"] == 4 and config["train"]["log_every"] == 1 and config["objective"]["weight"] == 2.0
    assert (run / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "training curves:" in out
    (tmp_path / "bad.json").write_text('{"train": {"steps": [1, 2]}}')
    assert (
        main(
            [
                "train",
                "--data",
                str(debug_store.root),
                "--preset",
                "debug",
                "--out",
                str(tmp_path / "r2"),
                "--config",
                str(tmp_path / "bad.json"),
            ]
        )
        == 2
    )
    assert "train.steps: expected a number, string or true/false" in capsys.readouterr().err


def test_tensorboard_logger_writes_event_files_beside_metrics_jsonl(debug_store, tmp_path):
    pytest.importorskip("tensorboard")
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
                "train.steps=4",
                "--set",
                "train.log_every=2",
                "--set",
                "train.logger=tensorboard",
            ]
        )
        == 0
    )
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2
    events = list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 100


def test_the_untrained_baseline_says_so_in_its_progress_bar(capsys):
    from jepalab.config import preset
    from jepalab.evals.control import run_control
    from jepalab.models import WorldModel

    cfg = preset("debug")
    run_control(
        "two-room",
        cfg.plan,
        WorldModel(cfg.model).eval(),
        "planner",
        episodes=1,
        progress=True,
        label="untrained planner (baseline)",
    )
    assert "control [untrained planner (baseline)]" in capsys.readouterr().err
