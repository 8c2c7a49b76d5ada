"""Configuration: one dataclass per stage, named presets, validated on build.

    from jepalab.config import preset, override
    cfg = override(preset("two-room"), ["train.steps=2000", "plan.samples=512"])

sections.py (a world model's run: DataConfig ... PlanConfig), run.py (RunConfig, the sections
together, read from and written to dicts), video.py (video
pretraining's), checks.py (CHOICES, RANGES and the checks every config passes), presets.py (named
settings), text.py (--set, --config files, differences, help lines, config.json). Overrides are parsed
by the field's type, never evaluated, so a config file cannot run code.
"""

from .checks import CHOICES, RANGES, choice_checks, range_checks, train_checks
from .presets import PRESETS, VIDEO_PRESETS, preset
from .run import RunConfig, Sections
from .sections import DataConfig, ModelConfig, ObjectiveConfig, PlanConfig, TrainConfig, opt
from .text import differences, dumps, file_assignments, help_lines, override
from .video import PretrainConfig, SourceConfig, VideoConfig

__all__ = [
    "CHOICES",
    "RANGES",
    "PRESETS",
    "VIDEO_PRESETS",
    "DataConfig",
    "ModelConfig",
    "ObjectiveConfig",
    "PlanConfig",
    "PretrainConfig",
    "RunConfig",
    "Sections",
    "SourceConfig",
    "TrainConfig",
    "VideoConfig",
    "choice_checks",
    "differences",
    "dumps",
    "file_assignments",
    "help_lines",
    "opt",
    "override",
    "preset",
    "range_checks",
    "train_checks",
]
