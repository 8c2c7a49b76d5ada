"""The metrics log of a training run: metrics.jsonl, the source of truth (resume truncates it, plots
and the bench read it), and with train.logger=tensorboard the same records as TensorBoard scalars
beside it (RUN/tensorboard/; `tensorboard --logdir RUN`). TensorBoard is an optional extra:
pip install 'jepalab[tensorboard]'.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..config import CHOICES, differences, preset
from ..data import jsonout

LOGGERS = CHOICES["train.logger"]


class MetricsLog:
    def __init__(self, path, active: bool = True, logger: str = "jsonl"):
        if logger not in LOGGERS:
            raise ValueError(f"train.logger must be one of {', '.join(LOGGERS)}, got {logger!r}")
        self.path, self.active, self.logger = Path(path), active, logger
        self.file = self.board = None

    def __enter__(self) -> MetricsLog:
        if not self.active:
            return self
        self.file = open(self.path, "a")
        if self.logger == "tensorboard":
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.file.close()
                raise ValueError(
                    "train.logger=tensorboard needs the tensorboard package: "
                    "pip install 'jepalab[tensorboard]' (metrics.jsonl is written either way)"
                ) from None
            self.board = SummaryWriter(str(self.path.parent / "tensorboard"))
        return self

    def write(self, record: dict) -> None:
        """One record (a dict with "step"), written and flushed at once: a run killed a moment
        later keeps it."""
        if self.file is None:
            return
        self.file.write(jsonout.dumps(record) + "\n")
        self.file.flush()
        if self.board is not None:
            for key, value in record.items():
                if (
                    key != "step"
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and math.isfinite(value)
                ):
                    self.board.add_scalar(key, value, record["step"])
            self.board.flush()

    def __exit__(self, *exc) -> bool:
        if self.file is not None:
            self.file.close()
        if self.board is not None:
            self.board.close()
        return False


def settings_line(cfg, preset_name: str, out) -> str:
    """The settings that differ from the preset, not the whole config (that is in OUT/config.json)."""
    changes = differences(preset(preset_name), cfg)
    return (
        f"preset {preset_name}"
        + (f", changed: {'; '.join(changes)}" if changes else ", unchanged")
        + f" (every setting goes to {Path(out) / 'config.json'} as training starts)"
    )
