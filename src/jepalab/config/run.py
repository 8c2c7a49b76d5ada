"""The config of a training run as a whole: its sections together (RunConfig), read from and written to
a dict (Sections: a saved config.json, a checkpoint's meta.json), validated by config/checks.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from .checks import _fits, run_checks
from .sections import DataConfig, ModelConfig, ObjectiveConfig, PlanConfig, TrainConfig


class Sections:
    """to_dict / from_dict for a dataclass whose fields are dataclasses (the config sections)."""

    def validate(self):
        return self

    def _require(self, checks: list[tuple[bool, str]]):
        """Raise one ValueError listing every failed (ok, message) check; else return self."""
        errors = [msg for ok, msg in checks if not ok]
        if errors:
            raise ValueError("invalid config:\n  " + "\n  ".join(errors))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "config"):
        """A config from its dict (a saved config.json or a checkpoint's meta.json), each value checked
        against its field's type as --set parses it, then validated as every config is."""
        if not isinstance(d, dict):
            raise ValueError(f"{where}: a config is an object of sections, got {type(d).__name__}")
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{where}: unknown section(s) {sorted(unknown)}")
        defaults = cls()
        kwargs = {}
        for f in fields(cls):
            sub_cls = type(getattr(defaults, f.name))
            sub = d.get(f.name, {})
            if not isinstance(sub, dict):
                raise ValueError(f"{where}: section {f.name!r} must be an object, got {type(sub).__name__}")
            if hasattr(sub_cls, "upgraded"):  # keys an older jepalab wrote, as today's
                sub = sub_cls.upgraded(sub)
            extra = set(sub) - {g.name for g in fields(sub_cls)}
            if extra:
                raise ValueError(f"{where}: unknown key(s) {sorted(f'{f.name}.{k}' for k in extra)}")
            for g in fields(sub_cls):
                if g.name in sub and not _fits(sub[g.name], g.type):
                    raise ValueError(f"{where}: {f.name}.{g.name}: expected {g.type}, got {sub[g.name]!r}")
            kwargs[f.name] = sub_cls(**sub)
        return cls(**kwargs).validate()


@dataclass
class RunConfig(Sections):
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)

    def validate(self) -> RunConfig:
        return self._require(run_checks(self))
