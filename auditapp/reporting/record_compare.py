"""Compare an audit record with its recomputation: every difference, as a line a reviewer can read.

Shared by ``auditapp verify`` and ``auditapp verify-compliance``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["MAX_SHOWN", "TOLERANCE", "compare_records"]

TOLERANCE = 1e-9
MAX_SHOWN = 50
_SKIPPED = ("timestamp", "versions", "signature")  # a signature is checked on its own (verify_compliance)
_INFORMATIONAL = ("name",)  # file names may change without the content changing


def _label(item: Any, index: int) -> str:
    if not isinstance(item, dict):
        return str(index)
    parts = []
    for key in ("attributes", "features", "criterion", "metric", "group", "class", "category"):
        value = item.get(key)
        if isinstance(value, dict):
            parts.append(" & ".join(f"{k}={v}" for k, v in value.items()))
        elif isinstance(value, list):
            parts.append(" × ".join(map(str, value)))
        elif value is not None:
            parts.append(str(value))
    return ", ".join(parts) or str(index)


def compare_records(expected: Any, actual: Any, path: str = "", *,
                    tolerance: float = TOLERANCE) -> list[str]:
    """Every difference between two records, as ``"path: record X, recomputed Y"`` lines.

    Integers (counts) must match exactly; other numbers to within ``tolerance``.
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in dict.fromkeys([*expected, *actual]):
            if not path and key in _SKIPPED:
                continue
            if key in _INFORMATIONAL and path in ("dataset", "model"):
                continue
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{where}: in the record but not recomputed")
            elif key not in expected:
                out.append(f"{where}: recomputed but not in the record")
            else:
                out.extend(compare_records(expected[key], actual[key], where, tolerance=tolerance))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: the record has {len(expected)} entries, the recomputation {len(actual)}"]
        out = []
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            out.extend(compare_records(a, b, f"{path}[{_label(a, i)}]", tolerance=tolerance))
        return out
    if _same(expected, actual, tolerance):
        return []
    return [f"{path}: record {expected!r}, recomputed {actual!r}"]


def _same(a: Any, b: Any, tolerance: float) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, numbers) and isinstance(b, numbers)):
        return a == b and type(a) is type(b)
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=tolerance)
