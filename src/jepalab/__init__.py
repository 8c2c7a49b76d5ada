"""jepalab: JEPA world models that learn from pixels, imagine, plan and notice the impossible.

    import jepalab
    cfg = jepalab.preset("debug")
    store = jepalab.collect("two-room", episodes=24, steps=32, out="data/quick")
    model, result = jepalab.train_model(cfg, store.load_all(), out="runs/quick")
    model, cfg, meta = jepalab.load_model("runs/demo")     # a trained WorldModel
    z = model.encode(frames)                               # (B, 64, 64, 3) uint8 -> (B, D)

Heavy modules (torch) load on first use, so `import jepalab` and
`jepalab --help` stay fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "load_model": ("jepalab.training.checkpoint", "load_model"),
    "WorldModel": ("jepalab.models", "WorldModel"),
    "preset": ("jepalab.config", "preset"),
    "RunConfig": ("jepalab.config", "RunConfig"),
    "make_world": ("jepalab.worlds", "make"),
    "Agent": ("jepalab.planning.agent", "Agent"),
    "collect": ("jepalab.data.collect", "collect"),
    "EpisodeStore": ("jepalab.data.store", "EpisodeStore"),
    "train_model": ("jepalab.training.train", "train"),  # not `train`: that name is the module jepalab.training.train
}


def __dir__() -> list[str]:
    """The public API, lazy names included (they load on first use)."""
    return sorted(set(globals()) | set(_LAZY))


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'jepalab' has no attribute {name!r}")
