"""A trained model leaves jepalab three ways: the Hub layout with a model card, torch.export
programs, and ONNX; each loads back and gives what the model in jepalab gives."""

import json

import numpy as np
import pytest
import torch

from jepalab import WorldModel
from jepalab.cli.main import main
from jepalab.export import example_inputs, programs
from jepalab.training.checkpoint import CheckpointError, load_model


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    assert main(["train", "--world", "two-room", "--preset", "debug", "--out", str(out), "--quiet"]) == 0
    return out


def test_hub_folder_round_trip_with_a_model_card_from_the_bench(run, tmp_path):
    results = tmp_path / "results"
    assert (
        main(
            [
                "bench",
                "--checkpoint",
                str(run),
                "--out",
                str(results),
                "--suites",
                "control",
                "--seeds",
                "1",
                "--episodes",
                "2",
                "--quiet",
            ]
        )
        == 0
    )
    hub = tmp_path / "hub"
    assert (
        main(["export", "--checkpoint", str(run), "--format", "hub", "--out", str(hub), "--results", str(results)]) == 0
    )
    assert sorted(p.name for p in hub.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    card = (hub / "README.md").read_text()
    assert (
        card.startswith("---\nlibrary_name: jepalab") and "## Results" in card and "| control | success_rate |" in card
    )
    assert json.loads((results / "manifest.json").read_text())["checkpoint"]["sha256"] in card
    model, cfg, _ = load_model(run)
    loaded = WorldModel.from_pretrained(hub)
    assert loaded.run_config == cfg
    frames = torch.randint(0, 256, (3, 64, 64, 3), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(model.encode(frames), loaded.encode(frames))
    # the same checks as a checkpoint: a changed byte, and a folder that is no model
    data = bytearray((hub / "model.safetensors").read_bytes())
    data[-3] ^= 1
    (hub / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 differs from the one recorded in config.json"):
        WorldModel.from_pretrained(hub)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        WorldModel.from_pretrained(tmp_path / "nowhere")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["torch-export", "onnx"])
def test_exported_programs_match_the_eager_model(run, tmp_path, fmt):
    if fmt == "onnx":
        pytest.importorskip("onnxscript")
        ort = pytest.importorskip("onnxruntime")
    assert main(["export", "--checkpoint", str(run), "--format", fmt, "--out", str(tmp_path / fmt)]) == 0
    model, _, _ = load_model(run)
    inputs, eager = example_inputs(model, batch=5), programs(model)  # another batch size than exported with
    info = json.loads((tmp_path / fmt / "export.json").read_text())
    for name, file in info["files"].items():
        with torch.no_grad():
            want = eager[name](*inputs[name]).numpy()
        if fmt == "torch-export":
            got = torch.export.load(tmp_path / fmt / file).module()(*inputs[name]).detach().numpy()
        else:
            session = ort.InferenceSession(str(tmp_path / fmt / file))
            got = session.run(None, {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs[name])})[0]
        assert got.shape == want.shape and np.abs(got - want).max() < 1e-4, (name, np.abs(got - want).max())


def test_the_hugging_face_habits(tmp_path):
    """push_to_hub through the Hub API (a stand-in that records the upload, shaped as HfApi's calls),
    from_pretrained on a device, files with the user's permissions, dir(jepalab) lists the API."""
    import os
    import stat

    import jepalab
    from jepalab.config import preset
    from jepalab.models import WorldModel

    model = WorldModel(preset("debug").model).eval()

    class Api:  # HfApi's create_repo / upload_folder, their calls checked against the real signatures
        def __init__(self):
            self.calls = []

        def create_repo(self, repo_id, *, private=None, exist_ok=False):
            real(HfApi.create_repo, repo_id, private=private, exist_ok=exist_ok)
            self.calls.append(("create_repo", repo_id, private, exist_ok))

        def upload_folder(self, *, repo_id, folder_path, commit_message=None):
            real(HfApi.upload_folder, repo_id=repo_id, folder_path=folder_path, commit_message=commit_message)
            self.calls.append(("upload_folder", repo_id, sorted(os.listdir(folder_path))))
            import shutil

            shutil.copytree(folder_path, tmp_path / "hub" / repo_id)
            return type("CommitInfo", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/abc"})()

    import inspect

    HfApi = pytest.importorskip("huggingface_hub").HfApi
    real = lambda fn, *a, **kw: inspect.signature(fn).bind(None, *a, **kw)  # noqa: E731 - raises on a wrong call
    api = Api()
    url = model.push_to_hub("me/two-room", run_config=preset("debug"), api=api)
    assert url.endswith("/commit/abc") and api.calls[0] == ("create_repo", "me/two-room", False, True)
    assert api.calls[1] == ("upload_folder", "me/two-room", ["config.json", "model.safetensors"])
    back = WorldModel.from_pretrained(tmp_path / "hub" / "me" / "two-room", device="cpu")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), back.state_dict().values()))
    assert WorldModel.from_pretrained(tmp_path / "hub" / "me" / "two-room", map_location="cpu").run_config == preset(
        "debug"
    )
    old = os.umask(0o022)
    try:
        model.save_pretrained(tmp_path / "shared")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "shared" / "model.safetensors").st_mode) == 0o644  # not safetensors' 0600
    assert {"preset", "WorldModel", "Agent", "load_model", "train_model"} <= set(dir(jepalab))
