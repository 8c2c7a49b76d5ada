"""A foundation video encoder from transformers, V-JEPA 2 (VJEPA2Model), as the frozen frame encoder
of a world model, as V-JEPA 2-AC builds on it: `--set model.video_encoder=hf:REPO_OR_FOLDER`.

Each frame goes in as a one-frame clip (the model repeats it over its tubelet, as V-JEPA 2 does for
images), resized to the model's crop size and normalised with ImageNet's statistics; its patch
tokens are averaged and a trained linear readout maps them to features. Only the readout learns.
A saved world model carries the encoder's config and weights, so it loads without the original
folder and without a network. Needs transformers (`pip install 'jepalab[hf]'`).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

KIND = "hf-vjepa2"
_MEAN, _STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def is_hf_spec(video) -> bool:
    return isinstance(video, dict) and video.get("kind") == KIND


def _transformers():
    try:
        from transformers import VJEPA2Config, VJEPA2Model
    except ImportError:
        raise ImportError(
            "model.video_encoder=hf:... needs transformers with V-JEPA 2: pip install 'jepalab[hf]'"
        ) from None
    return VJEPA2Config, VJEPA2Model


def load_pretrained_encoder(name: str) -> tuple[dict, dict]:
    """-> (spec to build the backbone from, the encoder's weights) of a local folder or a Hub id."""
    _, VJEPA2Model = _transformers()
    try:
        model = VJEPA2Model.from_pretrained(name)
    except Exception as e:  # a missing folder, no network, not a V-JEPA 2 checkpoint: all mean no encoder
        raise FileNotFoundError(
            f"model.video_encoder=hf:{name}: cannot load a V-JEPA 2 model from it "
            f"({type(e).__name__}: {str(e).splitlines()[0][:200]})"
        ) from None
    return {"kind": KIND, "source": name, "config": model.config.to_dict()}, model.encoder.state_dict()


class HFVideoBackbone(nn.Module):
    def __init__(self, spec: dict, out_dim: int):
        super().__init__()
        VJEPA2Config, VJEPA2Model = _transformers()
        config = VJEPA2Config.from_dict(spec["config"])
        self.size = config.crop_size
        self.video = VJEPA2Model(config).encoder.requires_grad_(False)
        self.readout = nn.Linear(config.hidden_size, out_dim)
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True):
        super().train(mode)
        self.video.eval()  # frozen: no dropout, whatever the caller's mode
        return self

    @torch.no_grad()
    def frozen_features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) float in [-1, 1] -> the frozen encoder's mean token (B, hidden): what training
        can cache (training/feature_cache.py)."""
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        x = ((x + 1) / 2 - self.mean) / self.std
        return self.video(pixel_values_videos=x[:, None]).last_hidden_state.mean(1)  # (B, N, hidden) -> (B, hidden)

    def from_features(self, features: torch.Tensor) -> torch.Tensor:
        return self.readout(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 3, H, W) float in [-1, 1] -> (B, out_dim)."""
        return self.from_features(self.frozen_features(x))
