"""Encoder, predictor and the WorldModel that joins them."""
from .world_model import WorldModel

__all__ = ["WorldModel"]
