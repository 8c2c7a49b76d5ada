"""Per-seed figures -> mean and a 95 % confidence interval (Student's t over the seeds), and the
intervals of what the seeds pooled: Wilson's for success over episodes, a bootstrap over pairs for
pairwise accuracies. With 3 seeds the t interval is wide and says how much seeds differ; the
pooled ones say how precisely the episodes or pairs measured the rate."""

from __future__ import annotations

import math

# two-sided 95 % quantiles of Student's t, by degrees of freedom (no scipy needed)
_T975 = [
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
]


def t_quantile(df: int) -> float:
    return _T975[df - 1] if df <= len(_T975) else 1.96


def seed_stats(values: list[float]) -> dict:
    """{"values", "mean", "std", "ci95": [lo, hi] | None, "n"}: the interval needs two seeds or more
    and ignores NaN seeds (a metric a seed could not measure)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    n = len(finite)
    mean = sum(finite) / n if n else float("nan")
    std = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1)) if n > 1 else float("nan")
    ci = (
        [mean - t_quantile(n - 1) * std / math.sqrt(n), mean + t_quantile(n - 1) * std / math.sqrt(n)]
        if n > 1
        else None
    )
    return {"values": values, "mean": mean, "std": std, "ci95": ci, "n": n, "method": "t over seeds"}


def wilson(successes: float, trials: int, z: float = 1.96) -> list[float] | None:
    """Wilson's score interval of a binomial proportion: right at 0 and 1, where mean ± t·sd says
    "0.00 ± 0.00" for a baseline that merely never succeeded in 25 tries."""
    if trials <= 0:
        return None
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def bootstrap_mean_of_groups(groups: list[list[float]], reps: int = 2000, seed: int = 0) -> list[float] | None:
    """95 % percentile interval of the mean over groups of each group's mean, resampling the items of
    every group with replacement (pairs within a category; the overall accuracy is the categories'
    mean, so each category keeps its size)."""
    import numpy as np

    groups = [np.asarray(g, np.float64) for g in groups if len(g)]
    if not groups:
        return None
    rng = np.random.default_rng(seed)
    draws = np.mean([g[rng.integers(0, len(g), (reps, len(g)))].mean(1) for g in groups], axis=0)
    return [float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))]


def format_stat(s: dict, digits: int = 3) -> str:
    if s.get("mean") is None or not math.isfinite(s["mean"]):
        return "n/a"
    text = f"{s['mean']:.{digits}f}"
    if s.get("ci95") is not None:
        text += f" ± {(s['ci95'][1] - s['ci95'][0]) / 2:.{digits}f}"
    pooled = s.get("pooled")
    if pooled and pooled.get("ci95"):
        lo, hi = pooled["ci95"]
        text += f" [{lo:.{min(digits, 2)}f}, {hi:.{min(digits, 2)}f}; {pooled['n']} {pooled['unit']}]"
    return text
