"""Features of a frozen encoder front, computed once per frame instead of at every step.

When a model's encoder has a frozen front (`Encoder.frozen_front`: model.freeze_encoder, where the
whole encoder is fixed, or a frozen pretrained video encoder before its trained readout), every
training step used to run that front on every frame of its batch, though its output never changes.
With train.cache_latents, each episode's frames go through it once, and training draws windows of
those features: it reads frames only while the encoder learns.

The cache lives in the run folder (RUN/feature_cache/: features.safetensors and key.json). Its key
is the sha256 of the front's weights and buffers and the sha256 of the frames it was computed from,
so a cache is used only for the very encoder and data it holds: a changed encoder or changed
frames make `load` refuse it (CacheMismatch says which), and training builds it again.

    from jepalab.training.feature_cache import cache_key, build, save, load
    key = cache_key(model.encoder, episodes)
    features = build(model.encoder, episodes)          # one (frames, F) array per episode
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

KEY_FILE, DATA_FILE = "key.json", "features.safetensors"


class CacheMismatch(ValueError):
    pass


def _sha256_tensors(tensors: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def frames_sha256(episodes) -> str:
    """The sha256 of every episode's frames, in order (a streamed episode is read once for it)."""
    h = hashlib.sha256()
    for ep in episodes:
        frames = np.ascontiguousarray(ep.pixels[:])
        h.update(f"{frames.shape}:{frames.dtype}".encode())
        h.update(memoryview(frames).cast("B"))
    return h.hexdigest()


def cache_key(encoder, episodes) -> dict:
    """What a cache must have been computed from to be used: the front's kind and weights, the frames."""
    front = encoder.frozen_front
    if front is None:
        raise ValueError("this encoder learns end to end: it has no frozen front to cache")
    return {
        "front": front,
        "encoder_sha256": _sha256_tensors(encoder.frozen_state()),
        "frames_sha256": frames_sha256(episodes),
        "episodes": len(episodes),
        "frames": int(sum(len(ep.pixels) for ep in episodes)),
    }


@torch.no_grad()
def build(
    encoder, episodes, device: torch.device | str = "cpu", batch: int = 256, progress: bool = True
) -> list[np.ndarray]:
    """Every frame of every episode through the frozen front, in fp32 and eval mode: one (frames, F)
    float32 array per episode."""
    was_training = encoder.training
    encoder.eval()
    out = []
    try:
        for ep in tqdm(episodes, desc="cache frozen features", unit="ep", disable=not progress):
            frames = np.asarray(ep.pixels[:])
            parts = [
                encoder.frozen_features(torch.from_numpy(frames[i : i + batch]).to(device)).float().cpu()
                for i in range(0, len(frames), batch)
            ]
            out.append(torch.cat(parts).numpy())
    finally:
        encoder.train(was_training)
    return out


def save(folder, key: dict, features: list[np.ndarray]) -> None:
    """Write the cache atomically enough for its purpose: the key last, so a cut write is never used."""
    from safetensors.numpy import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KEY_FILE).unlink(missing_ok=True)
    save_file({f"ep{i:06d}": np.ascontiguousarray(f) for i, f in enumerate(features)}, str(folder / DATA_FILE))
    from ..data.safe_read import as_user_file

    as_user_file(folder / DATA_FILE)
    (folder / KEY_FILE).write_text(json.dumps(key, indent=2))


def load(folder, key: dict) -> list[np.ndarray]:
    """The cached features for `key`; CacheMismatch (saying what differs) when there is no cache for
    exactly this encoder and these frames."""
    from safetensors.numpy import load_file

    folder = Path(folder)
    try:
        held = json.loads((folder / KEY_FILE).read_text())
    except (OSError, ValueError):
        raise CacheMismatch(f"{folder}: no complete cache") from None
    if not isinstance(held, dict):
        raise CacheMismatch(f"{folder / KEY_FILE}: not a cache key")
    if held.get("encoder_sha256") != key["encoder_sha256"] or held.get("front") != key["front"]:
        raise CacheMismatch(f"{folder}: computed by another encoder (its weights changed)")
    if held.get("frames_sha256") != key["frames_sha256"] or held.get("episodes") != key["episodes"]:
        raise CacheMismatch(f"{folder}: computed from other frames (the episodes changed)")
    try:
        tensors = load_file(str(folder / DATA_FILE))
    except Exception as e:  # noqa: BLE001 - any unreadable file is a cache to rebuild, said as such
        raise CacheMismatch(f"{folder / DATA_FILE}: unreadable ({e})") from None
    features = [tensors.get(f"ep{i:06d}") for i in range(key["episodes"])]
    if any(f is None for f in features) or sum(len(f) for f in features) != key["frames"]:
        raise CacheMismatch(f"{folder / DATA_FILE}: does not hold every frame of its key")
    return features


def open_cache(encoder, episodes, folder, device, progress: bool = True) -> list[np.ndarray]:
    """The features for `episodes`: loaded from `folder` when it holds them, else built (and saved
    there when there is a folder)."""
    key = cache_key(encoder, episodes)
    if folder is not None:
        try:
            return load(folder, key)
        except CacheMismatch as e:
            if (Path(folder) / KEY_FILE).exists():
                tqdm.write(f"feature cache not used: {e}; building it again")
    features = build(encoder, episodes, device, progress=progress)
    if folder is not None:
        save(folder, key, features)
    return features
