"""`jepalab bench --verify` and `--compare`: do results still describe their checkpoint and data,
and figures of several results folders side by side (never two checkpoints in one column)."""

from __future__ import annotations

from pathlib import Path

from .manifest import checkpoint_fingerprint, training_data_fingerprint
from .run import load_results
from .stats import format_stat


def _suite_config(manifest: dict):
    from ..config import PretrainConfig, RunConfig

    cls = PretrainConfig if manifest["checkpoint"].get("kind") == "video" else RunConfig
    return cls.from_dict(manifest["config"], where="manifest.json")


def verify(folder, progress: bool = False) -> list[tuple[str, bool, str]]:
    """Re-hash the checkpoint, the training data and every suite's data. -> [(what, ok, detail)]."""
    from .suites import SUITE_CLASSES, BenchOptions

    _, manifest = load_results(folder)
    checks = []
    ck = manifest["checkpoint"]
    try:
        now = checkpoint_fingerprint(ck["path"])
        changed = sorted(
            set(now["files"]) ^ set(ck["files"])
            | {f for f in now["files"] if ck["files"].get(f) not in (None, now["files"][f])}
        )
        checks.append(
            (
                "checkpoint " + ck["path"],
                now["sha256"] == ck["sha256"],
                "sha256 matches" if now["sha256"] == ck["sha256"] else f"changed files: {', '.join(changed)}",
            )
        )
    except ValueError as e:  # gone or unreadable
        checks.append(("checkpoint " + ck["path"], False, str(e)))
    if manifest.get("training_data"):
        now = training_data_fingerprint(ck["path"])
        ok = now is not None and now["sha256"] == manifest["training_data"]["sha256"]
        checks.append(
            ("training data " + manifest["training_data"]["path"], ok, "sha256 matches" if ok else "changed or gone")
        )
    try:
        cfg = _suite_config(manifest)
    except (KeyError, TypeError, ValueError) as e:
        return checks + [("suite data", False, f"manifest config unreadable: {e}")]
    o = manifest.get("options", {})
    options = BenchOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in o.items()})
    for name, rec in manifest["suites"].items():
        suite = SUITE_CLASSES[name](None, cfg, options, progress=progress)
        for s, old in enumerate(rec["fingerprints"]):
            new = suite.fingerprint(s)
            ok = new["sha256"] == old["sha256"]
            checks.append(
                (
                    f"{name} data, seed {s} ({suite.seed(s)})",
                    ok,
                    "regenerated, sha256 matches" if ok else "the generator now makes other data",
                )
            )
    return checks


def _columns(specs: list[str]) -> list[tuple[str, dict, str]]:
    """Each spec is a results folder, or several joined by '+' to fill one column together (they must
    measure the same checkpoint). -> [(label, merged suites, checkpoint sha256)]."""
    cols = []
    for spec in specs:
        folders = [f for f in spec.split("+") if f]
        merged: dict = {}
        shas = {}
        for f in folders:
            results, manifest = load_results(f)
            shas[f] = manifest["checkpoint"]["sha256"]
            merged.update(results["suites"])
        if len(set(shas.values())) > 1:
            detail = ", ".join(f"{f}: {h[:12]}" for f, h in shas.items())
            raise ValueError(f"refusing to put figures of different checkpoints in one column ({detail})")
        label = " + ".join(Path(f).name for f in folders)
        cols.append((label, merged, next(iter(shas.values()))))
    return cols


def compare(specs: list[str]) -> str:
    """A markdown table: one row per (suite, model, metric), one column per results spec."""
    cols = _columns(specs)
    rows: dict = {}
    for j, (_, suites, _) in enumerate(cols):
        for suite, res in suites.items():
            for model, metrics in res["models"].items():
                for metric, stat in metrics.items():
                    rows.setdefault((suite, model, metric), [""] * len(cols))[j] = format_stat(stat)
    head = ["suite", "model", "metric"] + [f"{label} ({sha[:8]})" for label, _, sha in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join([*key, *vals]) + " |" for key, vals in rows.items()]
    return "\n".join(lines)


def verified(folder, progress: bool = False) -> list[str]:
    """`jepalab bench --verify`: one line per check; a ValueError naming the folder when any fails."""
    checks = verify(folder, progress)
    lines = [f"{'ok  ' if ok else 'FAIL'} {what}: {detail}" for what, ok, detail in checks]
    if not all(ok for _, ok, _ in checks):
        raise ValueError("\n".join(lines) + f"\n{folder}: the results no longer describe their checkpoint or data")
    return lines + [f"{folder}: verified"]
