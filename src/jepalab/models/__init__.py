"""The WorldModel (encoder, predictor) and its variants; importing the package registers them all,
so that WorldModel(cfg) builds whichever one a config turns on."""
from . import appearance, senses, spatial  # noqa: F401  (registers the variants)
from .world_model import WorldModel

__all__ = ["WorldModel"]
