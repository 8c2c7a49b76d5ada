"""model.senses: other senses fused into the latent beside the frames.

Each sense gets a part of the latent of its own: a small MLP (with BatchNorm, as the projector) onto
`latent_dim // 8` dimensions, and the frame's projector fills the rest. One latent then holds what
is seen, felt (proprio) and heard (audio), and the predictor, which attends over all of it,
forecasts each sense from all of them (a collision it sees coming predicts a sound). A part of its
own, held at unit variance over the batch by a BatchNorm, is what keeps a sense in the latent: those
dimensions only a sense reaches, so they can only vary by carrying it. Added into the frame's
features instead, a sound the predictor cannot forecast is cheapest to ignore (the measurement:
docs/measurements.md, "Figures behind code comments"). A depth map (metres from the camera, a
spatial channel of MuJoCo envs) is small (model.depth_size, 16 x 16) and enters the same way,
flattened. Proprio enters through symlog (sign(x) log(1 + |x|)): joint velocities of 80 and
positions of 0.1 share one range without statistics from the data.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..config import ModelConfig
from .backbones import make_backbone
from .encoder import FEATURES, Encoder, make_projector
from .world_model import WorldModel


def sense_mlp(n_in: int, out: int, hidden: int = 128) -> nn.Sequential:
    # the last BatchNorm holds the part at unit variance over the batch: it cannot fade to a constant
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(n_in, hidden),
        nn.BatchNorm1d(hidden),
        nn.GELU(),
        nn.Linear(hidden, out),
        nn.BatchNorm1d(out, affine=False),
    )


class SensesEncoder(Encoder):
    def __init__(self, cfg: ModelConfig, video=None):
        sense_shapes = {
            "proprio": (cfg.proprio_dim,),
            "audio": (cfg.audio_mels, cfg.audio_steps),
            "depth": (cfg.depth_size, cfg.depth_size),
        }
        given = {**sense_shapes, "proprio": (len(cfg.proprio_index),)}
        dims = cfg.part_dims()
        # built in this order: the senses' MLPs, the backbone, the projector (Encoder's `parts`)
        embed = nn.ModuleDict({s: sense_mlp(int(np.prod(given[s])), dims[s]) for s in cfg.sense_list})
        backbone = make_backbone(cfg, FEATURES, video)
        super().__init__(cfg, parts={"embed": embed, "backbone": backbone, "projector": make_projector(dims["frames"])})
        self.senses = cfg.sense_list
        self.sense_shapes = sense_shapes
        self.proprio_index = cfg.proprio_index  # the columns given to the model (model.proprio_columns)

    def forward(self, pixels: torch.Tensor, **senses: torch.Tensor) -> torch.Tensor:
        """pixels (B, H, W, 3) uint8 [, proprio (B, P), audio (B, M, S), depth (B, d, d)] -> z (B, D)."""
        parts = [super().forward(pixels)]
        for name in self.senses:
            value = senses.get(name)
            want = self.sense_shapes[name]
            if value is None:
                raise ValueError(
                    f"this model fuses {name}: give it beside the frames, shape (..., {', '.join(map(str, want))})"
                )
            if tuple(value.shape[1:]) != want:
                raise ValueError(f"{name}: expected shape (..., {', '.join(map(str, want))}), got {tuple(value.shape)}")
            value = value.float()
            if name == "proprio":
                if len(self.proprio_index) != want[0]:
                    value = value[:, self.proprio_index]
                value = value.sign() * value.abs().log1p()
            parts.append(self.embed[name](value))
        return torch.cat(parts, -1)

    def encode(self, obs) -> torch.Tensor:
        """An observation dict {"pixels" (..., H, W, 3), and the model's senses: "proprio" (..., P),
        "audio" (..., M, S), "depth" (..., d, d)} with the same leading dims -> z (..., D)."""
        pixels, senses = (
            (obs["pixels"], {k: v for k, v in obs.items() if k != "pixels"}) if isinstance(obs, dict) else (obs, {})
        )
        lead = pixels.shape[:-3]
        senses = {k: v.reshape(-1, *v.shape[len(lead) :]) for k, v in senses.items() if k in self.senses}
        return self(pixels.reshape(-1, *pixels.shape[-3:]), **senses).reshape(*lead, -1)

    def observation_batch(self, observations: list[dict], goal: bool = False) -> dict:
        """As Encoder's, with each sense beside the frames; goal=True: "goal_proprio", "goal_depth"."""
        keys = {"pixels": "goal", "proprio": "goal_proprio", "depth": "goal_depth"} if goal else {}
        batch = {"pixels": super().observation_batch(observations, goal)}
        for sense in self.senses:
            key = keys.get(sense, sense)
            if any(key not in o for o in observations):
                raise ValueError(
                    f"this model fuses {sense}, and the world's {'goal' if goal else 'observation'} has no {key!r}"
                )
            batch[sense] = torch.from_numpy(np.stack([np.asarray(o[key], np.float32) for o in observations]))
        return batch


class SensesWorldModel(WorldModel):
    """A world model whose latent holds its other senses beside the frames (model.variant=senses)."""

    variant = "senses"

    def make_encoder(self, cfg: ModelConfig, video=None) -> Encoder:
        return SensesEncoder(cfg, video)
