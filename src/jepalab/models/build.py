"""The one place a world model is built: model.variant names the class, from a literal table, and its
module is imported only when asked for (no registry that imports fill).

    from jepalab.models import build
    model = build(cfg.model)                  # a WorldModel, or the variant's subclass, random weights
"""

from __future__ import annotations

import importlib

# model.variant -> (module of jepalab.models, class); keys are config.CHOICES'
VARIANTS = {
    "base": ("world_model", "WorldModel"),
    "senses": ("senses", "SensesWorldModel"),
    "appearance": ("appearance", "AppearanceWorldModel"),
    "spatial": ("spatial", "SpatialWorldModel"),
}


def model_class(variant: str):
    if variant not in VARIANTS:
        raise ValueError(f"model.variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    module, name = VARIANTS[variant]
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


def build(cfg, video=None):
    """The world model `cfg` (a ModelConfig) describes, with random weights; `video`: a frozen video
    encoder's spec (model.video_encoder; training/checkpoint.build_world_model reads its weights)."""
    return model_class(cfg.variant)(cfg, video=video)
