"""Numbers next to a bound, with enough digits to explain the verdict.

A lower interval end of 0.798 shown as "0.80" beside "at least 0.8" reads as a pass, yet the check is
inconclusive. Each number is shown with the measure's usual digits (ratios 2 decimals, rates and
differences 1 decimal in percent or points) and more, up to 4 extra, until it sits on the same side
of every bound as the exact number does. Bounds are shown exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

# measure -> (scale, usual decimals, sign shown, suffix)
_STYLE = {"rate": (100.0, 1, False, "%"), "difference": (100.0, 1, True, ""), "ratio": (1.0, 2, False, "")}
_EXTRA = 4


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _side(a: float, b: float) -> int:
    return (a > b) - (a < b)


def decisive_decimals(value: float, bounds: Iterable[float | None], *, scale: float = 1.0, decimals: int = 2) -> int:
    """The fewest decimals (at least ``decimals``) at which ``value * scale``, rounded, lies on the same
    side of each bound as ``value`` itself (equal only when it is equal)."""
    checked: list[float] = [b for b in bounds if b is not None]
    for digits in range(decimals, decimals + _EXTRA + 1):
        shown = round(value * scale, digits)
        if all(_side(shown, b * scale) == _side(value, b) for b in checked):
            return digits
    return decimals + _EXTRA


def formatter(measure: str, bounds: Iterable[float | None] = ()) -> Callable[[float], str]:
    """A function formatting numbers of ``measure`` ("rate", "difference", "ratio") next to ``bounds``.

    Rates read "79.96%", differences "+12.3" (percentage points, signed), ratios "0.798"; NaN or None
    reads "n/a".
    """
    scale, decimals, signed, suffix = _STYLE[measure]
    bounds = tuple(bounds)

    def fmt(value: float | None) -> str:
        if value is None or _missing(value):
            return "n/a"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        digits = decisive_decimals(float(value), bounds, scale=scale, decimals=decimals)
        return f"{value * scale:{'+' if signed else ''}.{digits}f}{suffix}"

    return fmt


def exact(value: float, measure: str) -> str:
    """A bound in the measure's unit, exactly as given (0.8 → "0.8", 0.8 as a rate → "80%")."""
    scale, _decimals, _signed, suffix = _STYLE[measure]
    return f"{value * scale:.10g}{suffix}"
