"""`jepalab bench`: one checkpoint, every suite that applies to it, several seeds, one folder.

    results/NAME/results.json    per suite, model and metric: per-seed values, mean, 95 % CI
    results/NAME/manifest.json   what was measured: hashes, config, data fingerprints, software, machine, times
    results/NAME/report.md|html  tables and plots (the HTML is self-contained), the command to reproduce
    results/NAME/parts/          one JSON per (suite, seed): a rerun skips the finished ones
    results/NAME/plots/          the PNGs the reports show

Each (suite, seed) part records the checkpoint hash and the suite's options it was computed with; a
rerun recomputes a part only when they differ, so an interrupted bench resumes where it stopped and a
folder never mixes figures of two checkpoints.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from ..data.store import write_json_atomic
from .manifest import checkpoint_fingerprint, hardware, software, training_data_fingerprint
from .stats import bootstrap_mean_of_groups, seed_stats, wilson
from .suites import SUITE_CLASSES, SUITES, BenchOptions, applicable

RESULTS_FORMAT = "jepalab-bench/1"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def choose_suites(
    kind: str, cfg, requested: list[str] | None, where: str, exclude: tuple = ()
) -> tuple[list[str], dict]:
    """-> (suites to run, {suite: why it does not apply}); a requested suite that does not apply is an error.
    `exclude`: suites left out of the default choice (another control protocol than the one asked for)."""
    reasons = applicable(kind, cfg)
    for s in exclude:
        reasons[s] = reasons.get(s) or "another control protocol was asked for (--protocol)"
    for s in requested or []:
        if s not in SUITES:
            raise ValueError(f"unknown suite {s!r}; suites: {', '.join(SUITES)}")
        if reasons[s]:
            raise ValueError(f"{where}: suite {s!r} does not apply: {reasons[s]}")
    chosen = requested or [s for s in SUITES if reasons[s] is None]
    return chosen, {s: r for s, r in reasons.items() if r and s not in chosen}


def bench(
    checkpoint,
    out,
    suites: list[str] | None = None,
    seeds: int = 3,
    options: BenchOptions | None = None,
    sets: list[str] = (),
    command: str = "",
    progress: bool = True,
    protocol: str = "both",
) -> dict:
    """Run the suites on `checkpoint` into `out`; `sets` are plan.* overrides for the control suite;
    `protocol`: the control protocols run by default (random, dataset or both, bench/suites PROTOCOLS)."""
    from .suites import PROTOCOLS

    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    bad = [s for s in sets if not s.startswith("plan.")]
    if bad:
        raise ValueError(f"bench only takes plan.* settings, got {bad}")
    exclude = [x for p, names in PROTOCOLS.items() if p != "both" for x in names if x not in PROTOCOLS[protocol]]
    from ..config import override
    from ..training.checkpoint import load_any
    from .report import write_reports

    if seeds < 1:
        raise ValueError("--seeds must be >= 1")
    options = options or BenchOptions()
    out = Path(out)
    tic, started = time.perf_counter(), _now()
    fp = checkpoint_fingerprint(checkpoint)
    model, cfg, meta = load_any(checkpoint)
    kind = meta.get("kind", "world")
    if sets:
        cfg = override(cfg, list(sets))
    chosen, skipped = choose_suites(kind, cfg, suites, fp["path"], exclude)
    old = _read_json(out / "manifest.json") if (out / "manifest.json").is_file() else None
    if old and old.get("checkpoint", {}).get("sha256") != fp["sha256"]:
        raise ValueError(
            f"{out}: holds results of another checkpoint ({old['checkpoint'].get('path')}, sha256 "
            f"{old['checkpoint'].get('sha256', '')[:12]}); use another --out folder"
        )
    (out / "parts").mkdir(parents=True, exist_ok=True)
    (out / "plots").mkdir(exist_ok=True)
    manifest = {
        "format": RESULTS_FORMAT,
        "command": command,
        "checkpoint": {**fp, "step": meta.get("step"), "kind": kind},
        "config": cfg.to_dict(),
        "training_data": training_data_fingerprint(checkpoint),
        "software": software(getattr(getattr(cfg, "data", None), "world", "")),
        "hardware": hardware(),
        "seeds": seeds,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(options).items()},
        "suites": {},
        "skipped_suites": skipped,
        "started": started,
    }
    results = {
        "format": RESULTS_FORMAT,
        "checkpoint": {k: v for k, v in manifest["checkpoint"].items() if k != "files"},
        "seeds": seeds,
        "suites": {},
        "skipped_suites": skipped,
    }
    bar = tqdm(total=len(chosen) * seeds, desc="bench", unit="part", disable=not progress)
    for name in chosen:
        suite = SUITE_CLASSES[name](model, cfg, options, progress=progress)
        key = {"checkpoint_sha256": fp["sha256"], "suite": name, "options": suite.options()}
        parts = []
        for s in range(seeds):
            bar.set_postfix_str(f"{name} seed {s}")
            path = out / "parts" / f"{name}_seed{s}.json"
            part = _read_json(path) if path.is_file() else None
            if not part or part.get("key") != key:
                t0, t_start = time.perf_counter(), _now()
                metrics, extra = suite.run(s, out / "plots" if s == 0 else None)
                fingerprint = extra.pop("fingerprint", None) or suite.fingerprint(s)
                part = {
                    "key": key,
                    "seed_index": s,
                    "data_seed": suite.seed(s),
                    "metrics": metrics,
                    "extra": extra,
                    "fingerprint": fingerprint,
                    "started": t_start,
                    "ended": _now(),
                    "seconds": time.perf_counter() - t0,
                }
                write_json_atomic(path, part)
            parts.append(part)
            bar.update(1)
        manifest["suites"][name] = {
            "options": key["options"],
            "data_seeds": [p["data_seed"] for p in parts],
            "fingerprints": [p["fingerprint"] for p in parts],
            "started": min(p["started"] for p in parts),
            "ended": max(p["ended"] for p in parts),
            "wall_seconds": sum(p["seconds"] for p in parts),
        }
        results["suites"][name] = aggregate(parts)
    bar.close()
    manifest.update(ended=_now(), wall_seconds=time.perf_counter() - tic)
    write_json_atomic(out / "results.json", results)
    write_json_atomic(out / "manifest.json", manifest)
    write_reports(results, manifest, out)
    return results


def aggregate(parts: list[dict]) -> dict:
    """Per model and metric: the seeds' values -> seed_stats, and where the suite recorded its
    episodes or pairs, the interval of all seeds pooled ("pooled"); the first model is the one
    measured, the others are its baselines."""
    models = list(parts[0]["metrics"])
    table = {
        m: {k: seed_stats([p["metrics"][m].get(k, float("nan")) for p in parts]) for k in parts[0]["metrics"][m]}
        for m in models
    }
    for m in models:
        for k, stat in table[m].items():
            pooled = _pooled(parts, m, k)
            if pooled:
                stat["pooled"] = pooled
    extra = {k: v for k, v in parts[0].get("extra", {}).items() if k not in ("episodes", "pair_wins")}
    return {"models": table, "baselines": models[1:], "data_seeds": [p["data_seed"] for p in parts], "extra": extra}


def _pooled(parts: list[dict], model: str, metric: str) -> dict | None:
    """Success over every seed's episodes (Wilson), or accuracy over every seed's pairs (bootstrap)."""
    extras = [p.get("extra", {}) for p in parts]
    if metric.endswith("success_rate") and all(model in e.get("episodes", {}) for e in extras):
        trials = [e["episodes"][model] for e in extras]
        wins = sum(round(p["metrics"][model][metric] * n) for p, n in zip(parts, trials))
        return {
            "method": "Wilson over episodes, seeds pooled",
            "unit": "episodes",
            "n": sum(trials),
            "successes": wins,
            "ci95": wilson(wins, sum(trials)),
        }
    if (
        metric.endswith("pairwise_accuracy")
        and "/" not in metric
        and all(model in e.get("pair_wins", {}) for e in extras)
    ):
        wins = [e["pair_wins"][model] for e in extras]
        categories = sorted({c for w in wins for c in w})
        if metric != "pairwise_accuracy":
            categories = [c for c in categories if metric == f"{c} pairwise_accuracy"]
        groups = [[x for w in wins for x in w.get(c, [])] for c in categories]
        return {
            "method": "bootstrap over pairs (within categories), seeds pooled",
            "unit": "pairs",
            "n": sum(len(g) for g in groups),
            "ci95": bootstrap_mean_of_groups(groups),
        }
    return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: corrupt JSON ({e})") from None


def load_results(folder) -> tuple[dict, dict]:
    """-> (results, manifest) of a bench folder, with errors that name the file."""
    folder = Path(folder)
    for name in ("results.json", "manifest.json"):
        if not (folder / name).is_file():
            raise ValueError(f"{folder}: not a bench results folder (no {name}; make one with `jepalab bench`)")
    results, manifest = _read_json(folder / "results.json"), _read_json(folder / "manifest.json")
    for path, doc in ((folder / "results.json", results), (folder / "manifest.json", manifest)):
        if doc.get("format") != RESULTS_FORMAT:
            raise ValueError(f"{path}: format {doc.get('format')!r}, this jepalab reads {RESULTS_FORMAT!r}")
    return results, manifest
