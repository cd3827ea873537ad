"""Strict JSON for every file the package writes.

JSON has no NaN or infinities; Python's ``json`` writes them as the bare tokens ``NaN`` and
``Infinity`` unless told not to, which other parsers reject. :func:`dumps` writes them as ``null``
and turns numpy and torch scalars into Python numbers, so a ``result.json``, a certificate or a
benchmark table always parses.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["dumps", "finite"]


def finite(value: Any) -> Any:
    """``value`` with NaN/Inf floats replaced by None and numpy/torch scalars by Python numbers, recursively."""
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:  # numpy and torch scalars
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`finite` ``(value)``; never writes NaN or Infinity."""
    return json.dumps(finite(value), allow_nan=False, **kwargs)
