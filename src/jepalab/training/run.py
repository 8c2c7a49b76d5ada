"""`jepalab train` as one library call: refuse to start afresh over a run, collect the world when one
is named, build the config the data decides, say what differs from the preset, train, draw the curves
(RUN/training.png).

    from jepalab.training.run import train_run
    model, result = train_run("two-room", ["train.steps=500"], "runs/two-room", world="two-room")
"""

from __future__ import annotations

from pathlib import Path

from .checkpoint import refuse_fresh_start
from .logs import settings_line
from .loop import draw_curves
from .parallel import distributed
from .train import run_config, train, training_data


def collection_settings(sets: list[str]) -> list[str]:
    """The data.* settings that only collecting uses (data.world names the store's world too)."""
    return sorted({s.partition("=")[0] for s in sets if s.startswith("data.") and not s.startswith("data.world=")})


def train_run(
    preset_name: str,
    sets: list[str],
    out: str | Path,
    data: str | Path | None = None,
    world: str | None = None,
    resume: bool = False,
    progress: bool = True,
    watch=None,
):
    """Train on the store `data`, or on `world` collected into OUT/data first; -> (model, result).
    Under torchrun every rank trains and rank 0 collects and reports."""
    if not resume:  # before collecting or loading data, not minutes later
        refuse_fresh_start(out)
    collection = collection_settings(sets)
    if data and collection:  # they would be ignored: the store is what it is
        raise ValueError(
            f"{', '.join(collection)}: collection settings, and --data trains on the store as it was "
            "collected; collect with them first (jepalab collect), or train with --world"
        )
    sets = list(sets) + ([f"data.world={world}"] if world else [])
    cfg = run_config(preset_name, sets)
    store = training_data(cfg, out, data=data, world=world, progress=progress)
    # the data decides the shapes it holds and describes how it was collected: no flag needed
    cfg = run_config(preset_name, sets, {**store.meta(), "episodes": len(store)})
    if distributed()[0] == 0:
        print(settings_line(cfg, preset_name, out))
        print(f"training on {len(store)} episodes from {store.root}")
    episodes = store.load_all(stream=cfg.train.stream)
    model, result = train(cfg, episodes, out, resume=resume, progress=progress, watch=watch)
    if distributed()[0] == 0:
        curves = draw_curves(out)
        if curves:
            print(f"training curves: {curves}")
    return model, result
