"""The WorldModel: the only surface planners and evaluations see.

    encode(pixels)                     (..., H, W, 3) uint8 -> z (..., D)
    encode({"pixels", "audio", ...})   the same, with the model's other senses (model.senses)
    encode_observations([obs, ...])    a batch of a world's observation dicts -> z (B, D)
    predict(z_hist, actions)           (B, T, D), (B, T, A) -> next latents (B, T, D)
    rollout(z_ctx, a_ctx, actions)     context + H future actions -> imagined z_1..z_H (B, H, D)

Actions here are model actions: `frameskip` environment actions concatenated.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..config import ModelConfig
from .encoder import Encoder
from .predictor import Predictor


class WorldModel(nn.Module):
    """Built from its config alone, with random weights. `video`: the VideoConfig of a frozen
    pretrained video encoder used as the frame encoder (model.video_encoder); reading that
    encoder's weights from its run is loading, and lives with the other loaders
    (checkpoint.build_world_model)."""

    def __init__(self, cfg: ModelConfig, video=None):
        super().__init__()
        if cfg.video_encoder and video is None:
            raise ValueError(f"model.video_encoder={cfg.video_encoder}: build this model with "
                             "checkpoint.build_world_model(cfg), which reads the encoder from its run")
        self.cfg = cfg
        self.video = video
        self.encoder = Encoder(cfg, video=video)
        self.predictor = Predictor(cfg)
        if cfg.freeze_encoder:
            self.encoder.requires_grad_(False)
        if self.predictor.appearance:
            # each surprise part's median error on training clips (evals/surprise.py calibrate_surprise,
            # run at every checkpoint save); NaN until then, and surprise is the plain mean squared error
            self.register_buffer("surprise_scale", torch.full((len(self.surprise_parts()),), float("nan")))

    # -- the Hub layout (models/pretrained.py) ---------------------------------------
    def save_pretrained(self, folder, run_config=None, card: str | None = None):
        """config.json + model.safetensors (+ README.md when `card` is given) in `folder`."""
        from .pretrained import save_pretrained
        return save_pretrained(self, folder, run_config, card)

    @classmethod
    def from_pretrained(cls, name, revision: str | None = None) -> "WorldModel":
        """A folder written by save_pretrained, or a Hub repo id ("owner/name", huggingface_hub)."""
        from .pretrained import from_pretrained
        return from_pretrained(cls, name, revision)

    def train(self, mode: bool = True) -> "WorldModel":
        super().train(mode)
        if self.cfg.freeze_encoder:  # a frozen encoder's BatchNorm must not drift with the batches either
            self.encoder.eval()
        return self

    def video_meta(self) -> dict | None:
        """What rebuilds the frozen video encoder without its source: a VideoConfig's fields (a
        `jepalab pretrain` encoder) or a transformers spec (models/hf_video.py)."""
        from dataclasses import asdict, is_dataclass
        return asdict(self.video) if is_dataclass(self.video) else self.video

    def fresh_copy(self) -> "WorldModel":
        """The same architecture with new random weights, keeping a frozen pretrained encoder: the
        'untrained' baseline of a model built on one is the frozen encoder with untrained parts."""
        fresh = WorldModel(self.cfg, video=self.video)
        if self.video is not None:
            fresh.encoder.backbone.video.load_state_dict(self.encoder.backbone.video.state_dict())
        return fresh

    def surprise_parts(self) -> dict[str, int]:
        """The latent's parts that surprise scores one by one, in order, and their dimensions: the
        appearance part (model.appearance) apart from the rest, else the whole latent."""
        K = self.predictor.appearance
        return {"motion": self.cfg.latent_dim - K, "appearance": K} if K else {"latent": self.cfg.latent_dim}

    @property
    def model_action_dim(self) -> int:
        return self.cfg.action_dim * self.cfg.frameskip

    def encode(self, obs) -> torch.Tensor:
        """Frames (..., H, W, 3) uint8 -> z (..., D); or an observation dict {"pixels", and the
        model's other senses: "proprio" (..., P), "audio" (..., M, S)} with the same leading dims."""
        pixels, senses = (obs["pixels"], {k: v for k, v in obs.items() if k != "pixels"}) if isinstance(obs, dict) \
            else (obs, {})
        lead = pixels.shape[:-3]
        senses = {k: v.reshape(-1, *v.shape[len(lead):]) for k, v in senses.items() if k in self.encoder.senses}
        z = self.encoder(pixels.reshape(-1, *pixels.shape[-3:]), **senses)
        return z.reshape(*lead, -1)

    def encode_observations(self, observations: list[dict], goal: bool = False) -> torch.Tensor:
        """A batch of a world's observations (dicts of numpy arrays, as env.reset/step return them)
        -> z (B, D). goal=True: the goals of those worlds' info dicts ("goal" image, "goal_proprio",
        "goal_depth")."""
        keys = {"pixels": "goal", "proprio": "goal_proprio", "depth": "goal_depth"} if goal else {}
        batch = {"pixels": torch.from_numpy(np.stack([o[keys.get("pixels", "pixels")] for o in observations]))}
        for sense in self.encoder.senses:
            key = keys.get(sense, sense)
            if any(key not in o for o in observations):
                raise ValueError(f"this model fuses {sense}, and the world's {'goal' if goal else 'observation'} "
                                 f"has no {key!r}")
            batch[sense] = torch.from_numpy(np.stack([np.asarray(o[key], np.float32) for o in observations]))
        return self.encode(batch)

    def predict(self, z_hist: torch.Tensor, actions: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        return self.predictor(z_hist, actions, memory)

    def rollout(self, z_ctx: torch.Tensor, a_ctx: torch.Tensor, actions: torch.Tensor,
                window: int | None = None, memory: torch.Tensor | None = None) -> torch.Tensor:
        """Imagine H steps ahead, feeding predictions back in.

        z_ctx (B, T0, D): observed latents, newest last; a_ctx (B, T0-1, A): the actions
        between them; actions (B, H, A): the future, starting from the newest latent.
        Returns (B, H, D). Only the last `window` (default: `history`) latents are kept
        as context; a window of 1 is the cheapest and enough for Markov worlds. memory (B, K):
        model.appearance's part at its most over frames seen before z_ctx (Predictor.forward); the
        context's own and the imagined frames are added to it as the rollout goes.
        """
        W = self.cfg.history if window is None else min(window, self.cfg.history)
        K = self.predictor.appearance
        if memory is not None and K:
            memory = torch.maximum(memory, z_ctx[..., -K:].amax(1))
        zs = list(z_ctx.unbind(1))
        acts = list(a_ctx.unbind(1))
        out = []
        for h in range(actions.shape[1]):
            acts.append(actions[:, h])
            z_win = torch.stack(zs[-W:], 1)
            a_win = torch.stack(acts[-W:], 1)
            nxt = self.predictor(z_win, a_win, memory)[:, -1]
            if memory is not None and K:
                memory = torch.maximum(memory, nxt[..., -K:])
            zs.append(nxt)
            out.append(nxt)
        return torch.stack(out, 1)
