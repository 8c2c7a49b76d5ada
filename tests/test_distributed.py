"""torchrun on CPU (gloo): two processes train as one with the same global batch."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

from jepalab.config import override, preset
from jepalab.training.train import Trainer

# dropout off: its masks are drawn per rank, like any other split of a batch would draw them
# fp32 and fixed threads: the checks compare float sums across process counts, which bf16's rounding
# and a thread count that follows the machine's load would blur
STEPS = [
    "train.steps=8",
    "train.checkpoint_every=4",
    "train.log_every=4",
    "train.batch_size=16",
    "model.dropout=0",
    "train.precision=fp32",
    "train.threads=1",
]

SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from safetensors.torch import save_file
    from jepalab.config import override, preset
    from jepalab.data.store import EpisodeStore
    from jepalab.training.parallel import leave
    from jepalab.training.train import Trainer
    data, out, resume, *sets = sys.argv[1:]
    torch.set_num_threads(1)
    trainer = Trainer(override(preset("debug"), sets), EpisodeStore(data).load_all(), out, progress=False)
    if resume == "1":
        assert trainer.resume()
    trainer.run()
    # weights, not BN statistics; a sharded (FSDP) run's parameters are this rank's shards
    state = {k: getattr(v, "to_local", lambda: v)().detach().contiguous() for k, v in trainer.model.named_parameters()}
    save_file(state, f"{out}/rank{trainer.rank}.safetensors")
    leave(0)
""")

# should a worker still abort, faulthandler prints where each of its threads was
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}


def torchrun(tmp_path, data, out, nproc, sets, resume=False):
    script = tmp_path / "train_rank.py"
    script.write_text(SCRIPT)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={nproc}",
        str(script),
        str(data),
        str(out),
        "1" if resume else "0",
        *sets,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=ENV)
    assert done.returncode == 0, done.stdout[-500:] + done.stderr[-3000:]
    return [load_file(str(out / f"rank{r}.safetensors")) for r in range(nproc)]


def distance(a, b):
    return sum(((a[k].float() - b[k].float()) ** 2).sum() for k in a).sqrt().item()


@pytest.mark.slow
def test_two_processes_match_one_with_the_same_global_batch(debug_store, tmp_path):
    ranks = torchrun(tmp_path, debug_store.root, tmp_path / "ddp", 2, STEPS)
    assert distance(ranks[0], ranks[1]) == 0.0  # the ranks never drift apart
    torch.set_num_threads(1)
    cfg = override(preset("debug"), STEPS)
    single = Trainer(cfg, debug_store.load_all(), tmp_path / "single", progress=False)
    start = {k: v.detach().clone() for k, v in single.model.named_parameters()}
    single.run()
    one = dict(single.model.named_parameters())
    moved = distance(one, start)
    # the same batches, BatchNorm and SIGReg over the global batch: what differs is the order of
    # float sums (measured 2.4 % of the distance travelled; 51 % with per-rank batch statistics)
    assert distance(ranks[0], one) < 0.05 * moved, (distance(ranks[0], one), moved)
    assert (tmp_path / "ddp" / "metrics.jsonl").read_text().count("\n") == 2  # rank 0 alone logs


@pytest.mark.slow
def test_fsdp_matches_one_process_and_its_checkpoint_loads_anywhere(debug_store, tmp_path):
    from jepalab.training.checkpoint import load_model

    sets = STEPS + ["train.parallel=fsdp"]
    ranks = torchrun(tmp_path, debug_store.root, tmp_path / "fsdp", 2, sets)
    torch.set_num_threads(1)
    single = Trainer(override(preset("debug"), STEPS), debug_store.load_all(), tmp_path / "single", progress=False)
    start = {k: v.detach().clone() for k, v in single.model.named_parameters()}
    single.run()
    one = dict(single.model.named_parameters())
    model, _, meta = load_model(tmp_path / "fsdp")  # full tensors, loaded by a plain process
    sharded = dict(model.named_parameters())
    # each rank held half of every tensor (dim 0 split across 2 ranks)
    assert all(len(ranks[0][k]) == (len(v) + 1) // 2 for k, v in sharded.items()), "not sharded"
    print("fsdp vs one process:", distance(sharded, one) / distance(one, start))
    assert meta["step"] == 8 and distance(sharded, one) < 0.05 * distance(one, start), (distance(sharded, one),)
    # the optimizer state went through the gather too: a single process resumes the sharded run
    half = [s.replace("train.steps=8", "train.steps=4") for s in sets]
    torchrun(tmp_path, debug_store.root, tmp_path / "resume", 2, half)
    resumed = Trainer(override(preset("debug"), STEPS), debug_store.load_all(), tmp_path / "resume", progress=False)
    assert resumed.resume() and resumed.step == 4
    assert len(resumed.optimizer.state) == len(resumed.params)  # every moment restored
    resumed.run()
    assert distance(dict(resumed.model.named_parameters()), one) < 0.05 * distance(one, start)


@pytest.mark.slow
def test_resume_with_another_number_of_processes(debug_store, tmp_path):
    half = [s.replace("train.steps=8", "train.steps=4") for s in STEPS]
    torchrun(tmp_path, debug_store.root, tmp_path / "run", 2, half)
    one = torchrun(tmp_path, debug_store.root, tmp_path / "run", 1, STEPS, resume=True)[0]
    ckpts = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step_*"))
    assert ckpts == ["step_0000004", "step_0000008"] and all(torch.isfinite(v.float()).all() for v in one.values())


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["ddp", "fsdp"])
def test_pretrain_under_torchrun(tmp_path, mode):
    from jepalab.training.checkpoint import load_video_model

    args = [
        "pretrain",
        "--world",
        "bounce",
        "--preset",
        "video-debug",
        "--out",
        str(tmp_path / "v"),
        "--quiet",
        "--set",
        f"train.parallel={mode}",
    ]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "jepalab", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV)
    assert done.returncode == 0, done.stdout[-500:] + done.stderr[-3000:]
    assert done.stdout.count("done: step 20") == 1  # rank 0 alone reports
    model, _, meta = load_video_model(tmp_path / "v")
    assert meta["step"] == 20 and all(torch.isfinite(p).all() for p in model.parameters())
    # the EMA target (a copy of the encoder at step 0, updated on the shards) trails the trained encoder
    target, online = dict(model.target_encoder.named_parameters()), dict(model.encoder.named_parameters())
    assert 0 < sum((target[k] - online[k]).abs().sum() for k in online)
    if mode == "fsdp":  # one plain process resumes the sharded run, optimizer state included
        more = [sys.executable, "-m", "jepalab", *args[:-2], "--set", "train.steps=24", "--resume"]
        done = subprocess.run(more, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and "resumed" in done.stdout and "done: step 24" in done.stdout, done.stderr[-3000:]


def test_leave_without_a_process_group_is_a_plain_exit():
    from jepalab.training.parallel import leave

    with pytest.raises(SystemExit) as ended:
        leave(3)
    assert ended.value.code == 3


@pytest.mark.slow
def test_an_fsdp_run_saves_the_surprise_scales_a_plain_process_would(debug_store, tmp_path):
    """model.variant=appearance: a sharded model runs only through its forward, so rank 0 calibrates a plain
    copy of the gathered weights; the scales must be those of the saved weights on the training clips."""
    import numpy as np

    from jepalab.evals.surprise import calibrate_surprise
    from jepalab.training.checkpoint import load_model
    from jepalab.training.train import split_episodes

    sets = [s.replace("train.steps=8", "train.steps=4") for s in STEPS] + [
        "model.variant=appearance",
        "train.parallel=fsdp",
    ]
    torchrun(tmp_path, debug_store.root, tmp_path / "fsdp", 2, sets)
    model, cfg, _ = load_model(tmp_path / "fsdp")
    saved = model.surprise_scale.clone()
    assert torch.isfinite(saved).all() and (saved > 0).all()
    train_eps = split_episodes(debug_store.load_all())[0]
    torch.set_num_threads(1)  # as rank 0 calibrated: the same float sums in the same order
    again = calibrate_surprise(model, (np.asarray(ep.pixels[:: cfg.model.frameskip]) for ep in train_eps))
    assert torch.equal(saved, again), (saved, again)
