import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from jepalab.config import override, preset
from jepalab.training import checkpoint
from jepalab.training.checkpoint import CheckpointError, load_model
from jepalab.training.train import Trainer


def params(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.slow
@pytest.mark.parametrize("prefetch", ["off", "on"])
def test_resume_is_exact(debug_store, tmp_path, prefetch):
    cfg = override(preset("debug"), ["train.steps=20", "train.checkpoint_every=10", f"train.prefetch={prefetch}"])
    episodes = debug_store.load_all()
    straight = Trainer(cfg, episodes, tmp_path / "a", progress=False)
    straight.run()
    if prefetch == "on":  # a background draw gives the very batches a plain run draws
        plain = Trainer(override(cfg, ["train.prefetch=off"]), episodes, tmp_path / "p", progress=False)
        plain.run()
        a, b = params(straight.model), params(plain.model)
        assert all(torch.equal(a[k], b[k]) for k in a)
    first = Trainer(cfg, episodes, tmp_path / "b", progress=False)
    first.run(until=13)  # stop part way, as if killed at step 13: the step-10 checkpoint is the last one
    resumed = Trainer(cfg, episodes, tmp_path / "b", progress=False)
    assert resumed.resume() and resumed.step == 10
    resumed.run()
    a, b = params(straight.model), params(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))  # no duplicated metric lines after resuming


@pytest.mark.slow
@pytest.mark.parametrize("where", ["batch drawn", "optimizer stepped", "validating", "saving", "twice"])
def test_ctrl_c_anywhere_in_a_step_then_resume_gives_the_uninterrupted_weights(
    debug_store, tmp_path, monkeypatch, where
):
    import jepalab.training.loop as loop_module

    cfg = override(preset("debug"), ["train.steps=20", "train.checkpoint_every=10", "train.log_every=3"])
    episodes = debug_store.load_all()
    straight = Trainer(cfg, episodes, tmp_path / "a", progress=False)
    straight.run()
    run = Trainer(cfg, episodes, tmp_path / "b", progress=False)
    at = 10 if where == "saving" else 12  # the step that ends as Ctrl-C is pressed (validation: steps 3, 6, 9, 12)
    in_step = where in ("batch drawn", "optimizer stepped", "twice")  # before the counter moves to `at`

    def ctrl_c_during(fn, times=1):
        def wrapped(*args, **kwargs):
            result = fn(*args, **kwargs)
            if run.step == (at - 1 if in_step else at):
                for _ in range(times):
                    os.kill(os.getpid(), signal.SIGINT)  # Python runs the handler before the next line
            return result

        return wrapped

    if where in ("batch drawn", "twice"):
        run.objective = ctrl_c_during(run.objective, times=2 if where == "twice" else 1)
    elif where == "optimizer stepped":
        monkeypatch.setattr(loop_module, "apply_gradients", ctrl_c_during(loop_module.apply_gradients))
    elif where == "validating":
        run.validate = ctrl_c_during(run.validate)
    else:
        monkeypatch.setattr(loop_module.checkpoint, "save", ctrl_c_during(loop_module.checkpoint.save))
    with pytest.raises(KeyboardInterrupt):
        run.run()
    monkeypatch.undo()
    resumed = Trainer(cfg, episodes, tmp_path / "b", progress=False)
    assert resumed.resume()
    # a first Ctrl-C waits for the step to end and saves it; a second one stops at once, unsaved
    assert resumed.step == (10 if where == "twice" else at)
    resumed.run()
    a, b = params(straight.model), params(resumed.model)
    assert all(torch.equal(a[k], b[k]) for k in a), where
    steps = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))


def _train_command(store, out, *sets):
    cmd = [sys.executable, "-m", "jepalab", "train", "--data", str(store), "--preset", "debug", "--out", str(out)]
    return cmd + ["--quiet", "--set", "train.steps=12", "--set", "train.checkpoint_every=4", *sets]


def _weights_sha(run) -> str:
    import hashlib

    latest = json.loads((run / "checkpoints" / "latest.json").read_text())["name"]
    return hashlib.sha256((run / "checkpoints" / latest / "model.safetensors").read_bytes()).hexdigest()


@pytest.mark.slow
def test_the_same_command_gives_the_same_weights_beside_a_busy_process_and_after_a_kill(debug_store, tmp_path):
    """Reproducible by default: the thread count is chosen once (runtime.run_threads), whatever else runs,
    and a resumed run takes up the checkpoint's count even where torch would start with another."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    alone = subprocess.run(_train_command(debug_store.root, tmp_path / "alone"), env=env, capture_output=True)
    assert alone.returncode == 0, alone.stderr[-2000:]
    # a busy neighbour: a thread count that followed the load dropped to one thread beside it
    busy = subprocess.Popen([sys.executable, "-c", "import os\nos.nice(19)\nwhile True: pass"])
    try:
        beside = subprocess.run(_train_command(debug_store.root, tmp_path / "beside"), env=env, capture_output=True)
    finally:
        busy.kill()
        busy.wait()
    assert beside.returncode == 0, beside.stderr[-2000:]
    threads = json.loads((tmp_path / "alone" / "config.json").read_text())["train"]["threads"]
    assert threads == json.loads((tmp_path / "beside" / "config.json").read_text())["train"]["threads"] >= 1
    assert _weights_sha(tmp_path / "beside") == _weights_sha(tmp_path / "alone")
    # killed after its first checkpoint, then resumed where torch would start with one thread
    run = tmp_path / "killed"
    proc = subprocess.Popen(_train_command(debug_store.root, run), env=env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (run / "checkpoints" / "latest.json").exists() and time.time() < deadline:
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = load_model(run)[2]["step"]  # whatever is on disk is usable: no chance to clean up was given
    assert 4 <= killed_at < 12
    # another architecture cannot continue this run ...
    other = _train_command(debug_store.root, run, "--set", "model.latent_dim=48", "--resume")
    refused = subprocess.run(other, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "cannot resume, the config differs in ['model.latent_dim']" in refused.stderr
    # ... the same command with --resume picks up where it stopped, where torch would start with one thread
    one = {**env, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(_train_command(debug_store.root, run, "--resume"), env=one, capture_output=True, text=True)
    assert done.returncode == 0 and f"resumed {run} at step" in done.stdout, done.stderr[-2000:]
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 12
    assert json.loads((run / "config.json").read_text())["train"]["threads"] == threads
    assert _weights_sha(run) == _weights_sha(tmp_path / "alone")
    if threads > 1:  # what the resume avoided: one thread sums in another order and ends elsewhere
        other = subprocess.run(_train_command(debug_store.root, tmp_path / "one"), env=one, capture_output=True)
        assert (
            other.returncode == 0
            and json.loads((tmp_path / "one" / "config.json").read_text())["train"]["threads"] == 1
        )
        assert _weights_sha(tmp_path / "one") != _weights_sha(tmp_path / "alone")


def test_the_thread_count_the_caller_set_is_kept_and_recorded(debug_store, tmp_path):
    """torch.set_num_threads (or OMP_NUM_THREADS) before training is respected, not overridden; an explicit
    train.threads wins; the run's config records the count it runs on."""
    cfg = override(preset("debug"), ["train.steps=1"])
    try:
        torch.set_num_threads(1)
        trainer = Trainer(cfg, debug_store.load_all(), tmp_path / "a", progress=False)
        assert trainer.cfg.train.threads == 1 and torch.get_num_threads() == 1
        assert cfg.train.threads == 0  # the caller's config is left as it was
        trainer = Trainer(override(cfg, ["train.threads=2"]), debug_store.load_all(), tmp_path / "b", progress=False)
        assert trainer.cfg.train.threads == 2 and torch.get_num_threads() == 2
        trainer.run()
        assert json.loads((tmp_path / "b" / "config.json").read_text())["train"]["threads"] == 2
    finally:
        torch.set_num_threads(2)


def test_a_fresh_run_into_a_used_folder_is_refused_and_the_old_run_is_kept(debug_store, tmp_path):
    from jepalab.training.pretrain import pretrain
    from jepalab.training.train import train

    cfg = override(preset("debug"), ["train.steps=4", "train.checkpoint_every=2", "train.log_every=2"])
    train(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    before = (
        (tmp_path / "run" / "metrics.jsonl").read_text(),
        (tmp_path / "run" / "checkpoints" / "latest.json").read_text(),
    )
    with pytest.raises(CheckpointError, match=r"run: already holds a training run \(checkpoint at step 4\).*--resume"):
        train(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match="--resume"):
        pretrain(override(preset("video-debug"), ["train.steps=2"]), tmp_path / "run", progress=False)
    assert (
        (tmp_path / "run" / "metrics.jsonl").read_text(),
        (tmp_path / "run" / "checkpoints" / "latest.json").read_text(),
    ) == before
    _, result = train(cfg, debug_store.load_all(), tmp_path / "run", resume=True, progress=False)
    assert result["step"] == 4  # --resume on a finished run reports it again


def test_torn_metrics_line_and_finished_run_resume(debug_store, tmp_path):
    cfg = override(preset("debug"), ["train.steps=10", "train.checkpoint_every=5", "train.log_every=5"])
    Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False).run(until=7)
    with open(tmp_path / "run" / "metrics.jsonl", "a") as f:
        f.write('{"step": 6, "loss": 0.')  # killed in the middle of writing a record
    resumed = Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    assert resumed.resume() and resumed.step == 5
    result = resumed.run()
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [5, 10] and result["step"] == 10
    # resumed once more with nothing left to do, it still reports the last logged figures
    again = Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False)
    assert again.resume() and again.step == 10
    assert again.run()["pred_loss"] == json.loads(lines[-1])["pred_loss"]


def test_corrupt_and_foreign_checkpoints_are_refused(debug_store, tmp_path):
    cfg = override(preset("debug"), ["train.steps=2", "train.checkpoint_every=2"])
    Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False).run()
    ckpt = checkpoint.resolve(tmp_path / "run")
    model, loaded_cfg, meta = load_model(tmp_path / "run")
    # the config as given, with the thread count the run chose recorded (runtime.run_threads)
    assert meta["step"] == 2 and loaded_cfg == override(cfg, [f"train.threads={torch.get_num_threads()}"])
    with pytest.raises(CheckpointError, match="model config differs"):
        other = preset("debug").model
        other.latent_dim = 48
        load_model(tmp_path / "run", expect=other)
    weights = ckpt / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model.safetensors: corrupt"):
        load_model(tmp_path / "run")
    weights.write_bytes(data)
    meta_path = ckpt / "meta.json"
    m = json.loads(meta_path.read_text())
    m["config"]["model"]["latent_dim"] = 48  # weights from one architecture, config of another
    meta_path.write_text(json.dumps(m))
    with pytest.raises(CheckpointError, match="meta.json: corrupt: its sha256 differs"):  # the record sees it
        load_model(tmp_path / "run")
    checkpoint.seal(ckpt)  # resealed, as a consistent checkpoint of another model would be: its weights refuse it
    with pytest.raises(CheckpointError, match="does not match this model's architecture"):
        load_model(tmp_path / "run")
    meta_path.write_text("{ not json")
    checkpoint.seal(ckpt)
    with pytest.raises(CheckpointError, match="meta.json: not valid checkpoint metadata"):
        load_model(tmp_path / "run")
    meta_path.write_text(json.dumps({"format": "someone-else"}))
    checkpoint.seal(ckpt)
    with pytest.raises(CheckpointError, match="not a jepalab checkpoint"):
        load_model(tmp_path / "run")
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_model(tmp_path / "missing")


def test_flipped_bytes_nan_weights_and_pointers_outside_the_run_are_refused(debug_store, tmp_path):
    from safetensors.torch import load_file, save_file

    cfg = override(preset("debug"), ["train.steps=2", "train.checkpoint_every=2"])
    Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False).run()
    ckpt = checkpoint.resolve(tmp_path / "run")
    weights = ckpt / "model.safetensors"
    data = bytearray(weights.read_bytes())
    original = bytes(data)
    data[-7] ^= 0x10  # one bit of one weight: the file still parses
    weights.write_bytes(bytes(data))
    load_file(str(weights))
    with pytest.raises(CheckpointError, match=r"model.safetensors: corrupt: its sha256 differs"):
        load_model(tmp_path / "run")
    # NaN weights whose recorded hash matches (a run that diverged) are refused all the same
    weights.write_bytes(original)
    tensors = load_file(str(weights))
    name = next(k for k, v in tensors.items() if v.is_floating_point() and v.numel() > 1)
    tensors[name][0] = float("nan")
    save_file(tensors, str(weights))
    checkpoint.seal(ckpt)
    with pytest.raises(CheckpointError, match=rf"non-finite weights \(NaN or inf\) in \['{name}'\]"):
        load_model(tmp_path / "run")
    # latest.json may only name a folder beside it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("../../elsewhere", str(elsewhere), "..", ["step_0000002"]):
        (tmp_path / "run" / "checkpoints" / "latest.json").write_text(json.dumps({"name": name, "step": 2}))
        with pytest.raises(CheckpointError, match="not a checkpoint folder beside it"):
            load_model(tmp_path / "run")


def test_checkpoints_hold_no_pickles(debug_store, tmp_path):
    cfg = override(preset("debug"), ["train.steps=2", "train.checkpoint_every=2"])
    Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False).run()
    ckpt = checkpoint.resolve(tmp_path / "run")
    assert sorted(os.listdir(ckpt)) == ["integrity.json", "meta.json", "model.safetensors", "trainer.safetensors"]
    json.loads((ckpt / "meta.json").read_text())


def test_a_checkpoint_is_one_unit_pointer_folder_and_meta_name_one_step(debug_store, tmp_path, capsys):
    """A pointer naming another step, or a complete checkpoint copied over another's folder (its own
    integrity record valid), is refused by load_model, plan and train --resume, naming the file."""
    from jepalab.cli import main

    run = tmp_path / "run"
    cfg = override(preset("debug"), ["train.steps=30", "train.checkpoint_every=10"])
    Trainer(cfg, debug_store.load_all(), run, progress=False).run()
    root = run / "checkpoints"
    pointer = json.loads((root / "latest.json").read_text())
    assert pointer == {"name": "step_0000030", "step": 30}
    (root / "latest.json").write_text(json.dumps({"name": "step_0000020", "step": 30}))
    with pytest.raises(CheckpointError, match=r"latest.json: says step 30 and names the folder 'step_0000020'"):
        load_model(run)
    (root / "latest.json").write_text(json.dumps(pointer))
    shutil.rmtree(root / "step_0000030")
    shutil.copytree(root / "step_0000020", root / "step_0000030")  # whole, with its own valid record
    with pytest.raises(CheckpointError, match=r"step_0000030/meta.json: says step 20, in the folder step_0000030"):
        load_model(run)
    argv = ["train", "--data", str(debug_store.root), "--preset", "debug", "--out", str(run), "--resume"]
    assert main([*argv, "--set", "train.steps=40", "--set", "train.checkpoint_every=10"]) == 2
    assert "meta.json: says step 20, in the folder step_0000030" in capsys.readouterr().err
    renamed = tmp_path / "best"  # a checkpoint folder a user named: its name says no step
    shutil.copytree(root / "step_0000020", renamed)
    assert load_model(renamed)[2]["step"] == 20


def test_trust_unverified_waives_missing_hashes_never_present_ones(debug_store, tmp_path):
    cfg = override(preset("debug"), ["train.steps=2", "train.checkpoint_every=2"])
    Trainer(cfg, debug_store.load_all(), tmp_path / "run", progress=False).run()
    ckpt = checkpoint.resolve(tmp_path / "run")
    (ckpt / "integrity.json").unlink()
    data = bytearray((ckpt / "model.safetensors").read_bytes())
    data[-7] ^= 0x10  # meta.json still records the weights' sha256
    (ckpt / "model.safetensors").write_bytes(bytes(data))
    checkpoint.trust_unverified()
    try:
        with pytest.raises(CheckpointError, match=r"model.safetensors: corrupt: its sha256 differs .*meta.json"):
            load_model(tmp_path / "run")
        meta = json.loads((ckpt / "meta.json").read_text())
        del meta["sha256"]  # an old checkpoint that recorded none: trusted as asked
        (ckpt / "meta.json").write_text(json.dumps(meta))
        load_model(tmp_path / "run")
    finally:
        checkpoint.trust_unverified(False)
