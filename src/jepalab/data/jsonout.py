"""Strict JSON out: every file and answer jepalab writes parses with any JSON parser.

Python's json writes NaN and Infinity as bare words, which JSON does not have (JavaScript,
jq and Go refuse them). Missing or non-finite numbers become null here instead.
"""

from __future__ import annotations

import json
import math

import numpy as np


def finite_or_none(obj):
    """obj with every non-finite float (Python or numpy) replaced by None, numpy scalars and arrays
    turned into Python values."""
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite_or_none(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def dumps(obj, **kwargs) -> str:
    return json.dumps(finite_or_none(obj), allow_nan=False, **kwargs)
