"""The WorldModel: the whole method, and the only surface planners and evaluations see.

    encode(frames)                     (..., H, W, 3) uint8 -> z (..., D)
    encode_observations([obs, ...])    a batch of a world's observation dicts -> z (B, D)
    predict(z_hist, actions)           (B, T, D), (B, T, A) -> next latents (B, T, D)
    rollout(z_ctx, a_ctx, actions)     context + H future actions -> imagined z_1..z_H (B, H, D)

The encoder (models/encoder.py) maps a frame to one latent vector; the predictor (models/predictor.py)
forecasts the next latent from the latents and actions so far; training/objectives.jepa_loss trains both;
planners search action sequences whose rollout ends nearest a goal's latent (planning/).

Actions here are model actions: `frameskip` environment actions concatenated.

Optional parts are variants built around this base, each in its own module: other senses in the
latent (models/senses.py), an appearance part remembered through occlusions (models/appearance.py),
one token per cell (models/spatial.py). `models.build(cfg)` builds the one model.variant names.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..config import ModelConfig
from .encoder import Encoder, as_frames
from .predictor import Predictor


class WorldModel(nn.Module):
    """The base world model, built from its config alone, with random weights. `video`: the spec of a
    frozen pretrained video encoder used as the frame encoder (model.video_encoder); reading that
    encoder's weights from its run is loading, and lives with the other loaders
    (training/checkpoint.build_world_model). A variant is a subclass that makes its own encoder and
    predictor (`make_encoder`, `make_predictor`); models.build(cfg) picks it by model.variant."""

    variant = "base"
    calibrated_at_save: tuple[str, ...] = ()  # buffers `calibrate` sets from training data

    def __init__(self, cfg: ModelConfig, video=None):
        if cfg.variant != self.variant:
            raise ValueError(
                f"a model of model.variant={cfg.variant!r} is not a {type(self).__name__}: build it with "
                "jepalab.models.build(cfg)"
            )
        super().__init__()
        self.cfg = cfg
        self.video = video
        self.encoder = self.make_encoder(cfg, video)
        self.predictor = self.make_predictor(cfg)
        if cfg.freeze_encoder:
            self.encoder.requires_grad_(False)

    def make_encoder(self, cfg: ModelConfig, video=None) -> Encoder:
        return Encoder(cfg, video)

    def make_predictor(self, cfg: ModelConfig) -> Predictor:
        return Predictor(cfg)

    # -- the Hub layout (models/pretrained.py) ---------------------------------------
    def save_pretrained(self, folder, run_config=None, card: str | None = None):
        """config.json + model.safetensors (+ README.md when `card` is given) in `folder`."""
        from .pretrained import save_pretrained

        return save_pretrained(self, folder, run_config, card)

    @classmethod
    def from_pretrained(cls, name, revision: str | None = None, device=None, map_location=None) -> WorldModel:
        """A folder written by save_pretrained, or a Hub repo id ("owner/name", huggingface_hub), on
        `device` (or `map_location`, torch.load's name for it; default the CPU)."""
        from .pretrained import from_pretrained

        return from_pretrained(cls, name, revision, device if device is not None else map_location)

    def push_to_hub(
        self,
        repo_id: str,
        run_config=None,
        card: str | None = None,
        token: str | None = None,
        private: bool = False,
        **kwargs,
    ) -> str:
        """Upload this model in the Hub layout to the repo `repo_id` (pip install 'jepalab[hub]')."""
        from .pretrained import push_to_hub

        return push_to_hub(self, repo_id, run_config, card, token, private, **kwargs)

    def train(self, mode: bool = True) -> WorldModel:
        super().train(mode)
        if self.cfg.freeze_encoder:  # a frozen encoder's BatchNorm must not drift with the batches either
            self.encoder.eval()
        return self

    def video_meta(self) -> dict | None:
        """What rebuilds the frozen video encoder without its source: a VideoConfig's fields (a
        `jepalab pretrain` encoder) or a transformers spec (models/hf_video.py); None without one."""
        from dataclasses import asdict, is_dataclass

        return asdict(self.video) if is_dataclass(self.video) else self.video

    def fresh_copy(self) -> WorldModel:
        """The same architecture with new random weights, keeping the weights no training changes (a
        frozen encoder): the 'untrained' baseline of a model built on a pretrained encoder is that
        encoder with untrained parts."""
        fresh = type(self)(self.cfg, video=self.video)
        frozen = {name for name, p in self.named_parameters() if not p.requires_grad}
        owners = {name.rpartition(".")[0] for name in frozen}  # their modules' buffers come along
        fresh.load_state_dict(
            {k: v for k, v in self.state_dict().items() if k in frozen or k.rpartition(".")[0] in owners}, strict=False
        )
        return fresh

    # -- what training and surprise ask of a model -------------------------------------
    def surprise_parts(self) -> dict[str, int]:
        """The latent's parts that surprise scores one by one, in order, and their dimensions."""
        return {"latent": self.cfg.latent_dim}

    def moving_part(self, z: torch.Tensor) -> torch.Tensor:
        """The part of the latent that follows what moves (training/objectives.py, reg_over=changes): all of it."""
        return z

    def calibrate(self, clips) -> dict[str, torch.Tensor]:
        """Set what depends on training data beyond the weights, at each checkpoint save, from
        `clips` (an iterable of training episodes' frames); -> those buffers. Nothing here."""
        return {}

    @property
    def model_action_dim(self) -> int:
        return self.cfg.action_dim * self.cfg.frameskip

    # -- the method ------------------------------------------------------------------
    def encode(self, obs) -> torch.Tensor:
        """Frames (..., H, W, 3) uint8 -> z (..., D); or an observation dict {"pixels", and the
        model's other senses} with the same leading dims. Frames may also be float 0-1, numpy, or
        channels first (..., 3, H, W): models/encoder.as_frames converts them or says why not."""
        if isinstance(obs, dict):
            if "pixels" in obs:
                obs = {k: as_frames(v) if k == "pixels" else torch.as_tensor(v) for k, v in obs.items()}
        else:
            obs = as_frames(obs)
        return self.encoder.encode(obs)

    def encode_observations(self, observations: list[dict], goal: bool = False) -> torch.Tensor:
        """A batch of a world's observations (dicts of numpy arrays, as env.reset/step return them)
        -> z (B, D). goal=True: the goals of those worlds' info dicts ("goal" image, ...)."""
        return self.encode(self.encoder.observation_batch(observations, goal))

    def predict(self, z_hist: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        if actions.shape[-1] != self.model_action_dim:
            c = self.cfg
            raise ValueError(
                f"actions have {actions.shape[-1]} numbers per model step; this model takes "
                f"{self.model_action_dim} (model.action_dim {c.action_dim} x model.frameskip "
                f"{c.frameskip}: a step's environment actions, concatenated)"
            )
        if z_hist.shape[-1] != self.cfg.latent_dim or actions.shape[:-1] != z_hist.shape[:-1]:
            raise ValueError(
                f"predict takes latents (B, T, {self.cfg.latent_dim}) and actions (B, T, "
                f"{self.model_action_dim}); got {tuple(z_hist.shape)} and {tuple(actions.shape)}"
            )
        return self.predictor(z_hist, actions)

    def window(self, window: int | None = None) -> int:
        return self.cfg.history if window is None else min(window, self.cfg.history)

    def rollout(
        self, z_ctx: torch.Tensor, a_ctx: torch.Tensor, actions: torch.Tensor, window: int | None = None, **carried
    ) -> torch.Tensor:
        """Imagine H steps ahead, feeding predictions back in.

        z_ctx (B, T0, D): observed latents, newest last; a_ctx (B, T0-1, A): the actions
        between them; actions (B, H, A): the future, starting from the newest latent.
        Returns (B, H, D). Only the last `window` (default: `history`) latents are kept
        as context; a window of 1 is the cheapest and enough for Markov worlds. `carried`: what a
        variant's predictor carries through the rollout beside the latents (`carry`).
        """
        W = self.window(window)
        zs, acts, out = list(z_ctx.unbind(1)), list(a_ctx.unbind(1)), []
        carried = self.carry(carried, z_ctx)
        for h in range(actions.shape[1]):
            acts.append(actions[:, h])
            nxt = self.predict(torch.stack(zs[-W:], 1), torch.stack(acts[-W:], 1), **carried)[:, -1]
            carried = self.carry(carried, nxt[:, None])
            zs.append(nxt)
            out.append(nxt)
        return torch.stack(out, 1)

    def carry(self, carried: dict, seen: torch.Tensor) -> dict:
        """What a rollout carries beside its latents, updated with latents `seen` (B, T, D): nothing here;
        the appearance variant carries each pattern's most seen so far."""
        return carried
