"""The WorldModel (encoder, predictor) and its variants, each in a module of its own; `build(cfg)` makes
the one model.variant names (models/build.py)."""

from .build import build
from .world_model import WorldModel

__all__ = ["WorldModel", "build"]
