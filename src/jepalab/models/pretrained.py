"""The Hub layout: a world model as a folder of config.json + model.safetensors (+ README.md, its
model card), the convention of huggingface_hub's PyTorchModelHubMixin, so a model can be put on the
Hub, downloaded and loaded without a training run around it.

    model.save_pretrained("hub/two-room", run_config=cfg)          # jepalab export --format hub does this
    model = WorldModel.from_pretrained("hub/two-room")             # or "owner/name" on the Hub
    model = WorldModel.from_pretrained("owner/name", device="cuda")  # map_location= is taken too
    model.push_to_hub("owner/name", run_config=cfg)                # pip install 'jepalab[hub]'; HF_TOKEN
    model.run_config                                               # the RunConfig it was trained with, if saved

The weights are checked as a checkpoint's are (models/weights.py): sha256 recorded in config.json, every
tensor finite, every name and shape the model's own. Nothing is unpickled.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

FORMAT = "jepalab-world-model"
FORMAT_VERSION = 1
FILES = ("config.json", "model.safetensors", "README.md")


def save_pretrained(model, folder, run_config=None, card: str | None = None) -> Path:
    from safetensors.torch import save_file

    from .. import __version__
    from ..data import jsonout
    from .weights import sha256_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "model.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(weights))
    from ..data.safe_read import as_user_file

    as_user_file(weights)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_name": "jepalab",
        "jepalab": __version__,
        "model": asdict(model.cfg),
        "video_encoder": model.video_meta(),
        "run_config": run_config.to_dict() if run_config is not None else None,
        "sha256": {"model.safetensors": sha256_file(weights)},
    }
    (folder / "config.json").write_text(jsonout.dumps(config, indent=2))
    if card is not None:
        (folder / "README.md").write_text(card)
    return folder


def resolve_pretrained(name: str | os.PathLike, revision: str | None = None) -> Path:
    """A local folder, or a Hub repo id downloaded (config, weights, card only) into the local cache."""
    path = Path(name)
    if path.is_dir():
        return path
    if path.exists():
        raise FileNotFoundError(f"{path}: a model folder (config.json + model.safetensors) is expected, not a file")
    if str(name).count("/") != 1 or str(name).startswith((".", "/")):
        raise FileNotFoundError(f"{name}: no such folder (and not a Hub repo id like owner/name)")
    from ..extras import MissingExtra, require

    try:
        require("hub")
    except MissingExtra as e:
        raise FileNotFoundError(f"{name}: no such folder; a Hub repo id needs the Hub: {e}") from None
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(name), revision=revision, allow_patterns=list(FILES)))
    except Exception as e:  # offline, unknown repo, no access: all mean there is nothing to load
        raise FileNotFoundError(
            f"{name}: not a local folder, and the Hub download failed ({type(e).__name__}: {e})"
        ) from None


def video_from_meta(meta):
    """The inverse of WorldModel.video_meta: None, a VideoConfig, or a transformers spec."""
    from ..config import VideoConfig
    from .hf_video import is_hf_spec

    if not meta:
        return None
    return meta if is_hf_spec(meta) else VideoConfig(**meta)


def push_to_hub(
    model,
    repo_id: str,
    run_config=None,
    card: str | None = None,
    token: str | None = None,
    private: bool = False,
    commit_message: str = "Upload jepalab world model",
    api=None,
) -> str:
    """save_pretrained into a temporary folder and upload it to the Hub repo `repo_id` (created if it
    does not exist); -> the commit's URL. `api`: a huggingface_hub.HfApi (made from `token` when None)."""
    import tempfile

    if api is None:
        from ..extras import require

        require("hub")
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(model, tmp, run_config, card)
        info = api.upload_folder(folder_path=tmp, repo_id=repo_id, commit_message=commit_message)
    return str(getattr(info, "commit_url", info))


def from_pretrained(cls, name: str | os.PathLike, revision: str | None = None, device=None):
    from ..config import ModelConfig, RunConfig
    from .weights import CheckpointError, check_weights, read_tensors

    folder = resolve_pretrained(name, revision)
    config_path = folder / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{config_path}: missing") from None
    except ValueError as e:
        raise CheckpointError(f"{config_path}: not JSON ({e})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(
            f"{config_path}: not a jepalab world model (format "
            f"{config.get('format') if isinstance(config, dict) else None!r})"
        )
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{config_path}: written by a newer jepalab; upgrade jepalab")
    try:
        model_cfg = ModelConfig(**ModelConfig.upgraded(config["model"]))
        video = video_from_meta(config.get("video_encoder"))
        run_config = RunConfig.from_dict(config["run_config"], str(config_path)) if config.get("run_config") else None
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{config_path}: bad config ({e})") from None
    from .build import build, model_class

    if not issubclass(model_class(model_cfg.variant), cls):
        raise CheckpointError(f"{config_path}: a model of model.variant={model_cfg.variant!r}, not a {cls.__name__}")
    model = build(model_cfg, video=video)
    tensors = read_tensors(
        folder / "model.safetensors", (config.get("sha256") or {}).get("model.safetensors"), "config.json"
    )
    check_weights(model, tensors, folder / "model.safetensors")
    model.load_state_dict(tensors)
    model.run_config = run_config
    return model.eval() if device is None else model.to(device).eval()
