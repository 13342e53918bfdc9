"""How many bytes a cached value holds in memory, roughly, to bound caches in bytes rather than in items."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import numpy as np
import pandas as pd

_MAX_DEPTH = 6
_MAX_ITEMS = 10_000  # a container with more items is sampled, and the sample scaled up


def estimated_bytes(value: Any) -> int:
    """Approximate bytes held by ``value``.

    DataFrames and Series count their data deeply (``memory_usage(deep=True)``: the text of strings
    included), NumPy arrays their buffer; dataclasses, objects, dicts, lists and tuples the sum of what
    they hold (a few levels deep, each object once).
    """
    return _size(value, set(), 0)


def _size(value: Any, seen: set[int], depth: int) -> int:
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True, index=True).sum())
    if isinstance(value, (pd.Series, pd.Index)):
        return int(value.memory_usage(deep=True))
    if isinstance(value, np.ndarray):
        base = int(value.nbytes)
        if value.dtype == object and value.size and depth < _MAX_DEPTH:
            flat = value.ravel()
            step = max(1, len(flat) // _MAX_ITEMS)
            base += sum(_size(v, seen, depth + 1) for v in flat[::step]) * step
        return base
    if isinstance(value, (str, bytes, bytearray, int, float, bool, complex)) or value is None:
        return sys.getsizeof(value)
    if depth >= _MAX_DEPTH:
        return sys.getsizeof(value)
    if isinstance(value, dict):
        items = list(value.items())
        step = max(1, len(items) // _MAX_ITEMS)
        return sys.getsizeof(value) + step * sum(_size(k, seen, depth + 1) + _size(v, seen, depth + 1)
                                                 for k, v in items[::step])
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
        step = max(1, len(items) // _MAX_ITEMS)
        return sys.getsizeof(value) + step * sum(_size(v, seen, depth + 1) for v in items[::step])
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sys.getsizeof(value) + sum(_size(getattr(value, f.name, None), seen, depth + 1)
                                          for f in dataclasses.fields(value))
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return sys.getsizeof(value) + _size(attributes, seen, depth + 1)
    return sys.getsizeof(value)
