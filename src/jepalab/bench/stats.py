"""Per-seed figures -> mean and a 95 % confidence interval (Student's t over the seeds)."""
from __future__ import annotations

import math

# two-sided 95 % quantiles of Student's t, by degrees of freedom (no scipy needed)
_T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042]


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


def format_stat(s: dict, digits: int = 3) -> str:
    if not math.isfinite(s["mean"]):
        return "n/a"
    if s["ci95"] is None:
        return f"{s['mean']:.{digits}f}"
    return f"{s['mean']:.{digits}f} ± {(s['ci95'][1] - s['ci95'][0]) / 2:.{digits}f}"
