"""Settings as text: --set assignments (parsed by each field's type, never evaluated), --config files
(JSON or TOML), what differs from a preset, the help lines, config.json.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields


def _parse(value: str, kind: type, key: str):
    if kind is bool:
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{key}: expected true/false, got {value!r}")
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{key}: expected {kind.__name__}, got {value!r}") from None


# settings an older jepalab took, and what they are now (model.variant replaced three flags)
RENAMED = {"model.appearance": ("model.variant", "appearance"), "model.spatial": ("model.variant", "spatial")}


def override(cfg, assignments: list[str], validate: bool = True):
    """Apply 'section.key=value' strings, each parsed by the field's declared type; then validate the
    whole config (validate=False: a caller that completes it first, e.g. with sizes from the data)."""
    types = {"int": int, "float": float, "str": str, "bool": bool}
    for item in assignments:
        key, sep, value = item.partition("=")
        if key in RENAMED:
            new_key, new_value = RENAMED[key]
            raise ValueError(
                f"cannot set {item!r}: {key} is now {new_key}={new_value} (or {new_key}=base to turn it off)"
            )
        section, _, name = key.partition(".")
        sub = getattr(cfg, section, None)
        if not sep or sub is None or not dataclasses.is_dataclass(sub) or name not in {f.name for f in fields(sub)}:
            raise ValueError(
                f"cannot set {item!r}: expected section.key=value with a known key "
                f"(sections: {', '.join(f.name for f in fields(cfg))})"
            )
        kind = types[next(f.type for f in fields(sub) if f.name == name)]
        setattr(sub, name, _parse(value, kind, key))
    return cfg.validate() if validate else cfg


def file_assignments(path) -> list[str]:
    """'section.key=value' strings from a JSON or TOML file of settings: sections of keys
    ({"train": {"steps": 500}}, [train] steps = 500) or dotted keys ({"train.steps": 500}). The
    values are data, parsed by each field's type like --set; nothing in the file is evaluated."""
    from pathlib import Path

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ValueError(f"{path}: cannot read the settings file ({e.strerror or e})") from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            doc = tomllib.loads(text)
        else:
            doc = json.loads(text)
    except ImportError:
        raise ValueError(f"{path}: TOML needs Python 3.11 or newer (tomllib); use a .json file") from None
    except ValueError as e:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise ValueError(f"{path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'JSON'} ({e})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: must hold an object of settings, got {type(doc).__name__}")
    out = []
    for key, value in doc.items():
        items = [(f"{key}.{k}", v) for k, v in value.items()] if isinstance(value, dict) else [(key, value)]
        for name, v in items:
            if isinstance(v, (dict, list)):
                raise ValueError(f"{path}: {name}: expected a number, string or true/false, got {type(v).__name__}")
            out.append(f"{name}={str(v).lower() if isinstance(v, bool) else v}")
    return out


def differences(base, cfg) -> list[str]:
    """'section.key: base -> value' for every setting of `cfg` that differs from `base`."""
    out = []
    for sec in fields(cfg):
        a, b = getattr(base, sec.name), getattr(cfg, sec.name)
        out += [
            f"{sec.name}.{f.name}: {getattr(a, f.name)!r} -> {getattr(b, f.name)!r}"
            for f in fields(b)
            if getattr(a, f.name) != getattr(b, f.name)
        ]
    return out


def help_lines(cfg) -> list[str]:
    """'section.key (default): help' for every field, for --help texts."""
    out = []
    for sec in fields(cfg):
        sub = getattr(cfg, sec.name)
        for f in fields(sub):
            out.append(f"{sec.name}.{f.name}={getattr(sub, f.name)}  {f.metadata.get('help', '')}")
    return out


def dumps(cfg) -> str:
    return json.dumps(cfg.to_dict(), indent=2)
