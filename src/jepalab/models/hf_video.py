"""V-JEPA 2 from transformers (VJEPA2Model). Its encoder as the frozen frame encoder
of a world model, as V-JEPA 2-AC builds on it: `--set model.video_encoder=hf:REPO_OR_FOLDER`.

Each frame goes in as a one-frame clip (the model repeats it over its tubelet, as V-JEPA 2 does for
images), resized to the model's crop size and normalised with ImageNet's statistics; its patch
tokens are averaged and a trained linear readout maps them to features. Only the readout learns.
A saved world model carries the encoder's config and weights, so it loads without the original
folder and without a network.

Its encoder and predictor together (VJEPA2Predictor) score surprise as the V-JEPA intuitive-physics
paper does: `jepalab surprise --model hf:REPO_OR_FOLDER`. Needs transformers (`pip install 'jepalab[hf]'`).
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


class VJEPA2Predictor(nn.Module):
    """V-JEPA 2's encoder and masked predictor from transformers, asked what the paper on intuitive
    physics asks (Garrido et al. 2025): given the first `context` frames of a window, the tokens of the
    rest. `jepalab surprise --model hf:REPO_OR_FOLDER` scores videos with it (evals/window_surprise.py).

    The context goes through the encoder alone (its tokens attend only to each other, as a context mask
    does in the paper's code; the RoPE positions follow the token order, so the first frames keep their
    places), the whole window goes through it for the targets, layer-normed as in training. One encoder
    does both: a published checkpoint carries one."""

    def __init__(self, model, source: str):
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.source = source
        self.size, self.tubelet = model.config.crop_size, model.config.tubelet_size
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 1, 3, 1, 1), persistent=False)

    def pixels(self, clips: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8 -> (B, T, 3, S, S) normalised as V-JEPA 2's video processor does."""
        x = clips.permute(0, 1, 4, 2, 3).float().div(255)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            B, T = x.shape[:2]
            x = F.interpolate(x.flatten(0, 1), size=(self.size, self.size), mode="bilinear", align_corners=False)
            x = x.view(B, T, 3, self.size, self.size)
        return (x - self.mean) / self.std

    @torch.no_grad()
    def window_losses(self, clips: torch.Tensor, context: int) -> torch.Tensor:
        """clips (B, T, H, W, 3) uint8 -> (B,): the mean absolute error over every token of frames
        context..T-1 and every feature, predicted from frames 0..context-1."""
        T = clips.shape[1]
        if context % self.tubelet or T % self.tubelet or not 0 < context < T:
            raise ValueError(
                f"{self.source}: context ({context}) and window ({T}) must be multiples of the model's "
                f"tubelet ({self.tubelet} frames), with the context shorter than the window"
            )
        x = self.pixels(clips)
        full = self.model.encoder(pixel_values_videos=x).last_hidden_state  # (B, N, D)
        target = F.layer_norm(full, full.shape[-1:])
        ctx = self.model.encoder(pixel_values_videos=x[:, :context]).last_hidden_state
        B, Nc, N = len(x), ctx.shape[1], full.shape[1]
        pred = self.model.predictor(
            encoder_hidden_states=ctx,
            context_mask=[torch.arange(Nc, device=x.device).expand(B, -1)],
            target_mask=[torch.arange(Nc, N, device=x.device).expand(B, -1)],
        ).last_hidden_state
        return (pred - target[:, Nc:]).abs().mean((1, 2))


def load_vjepa2_predictor(name: str) -> VJEPA2Predictor:
    """A V-JEPA 2 model (encoder and predictor) from a local folder or a Hub id. A checkpoint without
    the predictor's weights is refused: transformers would fill them at random, and every surprise
    would be noise."""
    _, VJEPA2Model = _transformers()
    try:
        model, info = VJEPA2Model.from_pretrained(name, output_loading_info=True)
    except Exception as e:  # a missing folder, no network, not a V-JEPA 2 checkpoint: all mean no model
        raise FileNotFoundError(
            f"hf:{name}: cannot load a V-JEPA 2 model from it ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
        ) from None
    missing = sorted(k for k in info.get("missing_keys", ()) if k.startswith("predictor."))
    if missing:
        raise ValueError(
            f"hf:{name}: the checkpoint has no predictor weights ({len(missing)} missing, e.g. {missing[0]}); "
            "surprise needs V-JEPA 2's predictor, not only its encoder"
        )
    return VJEPA2Predictor(model, name)
