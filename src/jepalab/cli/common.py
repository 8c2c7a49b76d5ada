"""What the command handlers share: the config a command builds from its preset and settings, what it says
of them, and the training curves it draws at the end."""

from __future__ import annotations


def _build_config(args):
    from ..config import override, preset

    return override(preset(args.preset), args.sets)


def announce(cfg, preset_name: str, out) -> None:
    from ..training.logs import settings_line

    print(settings_line(cfg, preset_name, out))


def plot_run(out) -> None:
    """RUN/training.png from RUN/metrics.jsonl, at the end of `pretrain` (`train_run` draws its own)."""
    from ..training.loop import draw_curves

    path = draw_curves(out)
    if path:
        print(f"training curves: {path}")
