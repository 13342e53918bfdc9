"""Sentences about a candidate's randomness and warnings, shared by the Mitigation page, the CLI and the report.

Every number comes from the candidate's result: its expectation, the spread of single draws
(:class:`~auditapp.mitigation.expectation.DrawSpread`) and the warnings captured while it was fitted.
"""

from __future__ import annotations

import math
from typing import Any


def _pct(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.1f}%"


def _num(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3f}"


def draws_range(result: Any) -> str:
    """The chosen disparity's 5th–95th percentile over single draws (``"0.096–0.248"``), or ``""``."""
    if result.error or result.draws is None:
        return ""
    low, high = result.draws.criteria.get(result.disparity_metric, (math.nan, math.nan))
    return f"{_num(low)}–{_num(high)}"


def draws_sentence(result: Any) -> str:
    """What a randomised candidate's numbers are, and how far one draw of its decisions can land from them."""
    if result.error or result.draws is None:
        return ""
    draws = result.draws
    low_q, high_q = (int(round(100 * q)) for q in draws.quantiles)
    accuracy = draws.accuracy
    return (f"It decides at random, so its numbers are expectations over its random decisions. Single draws "
            f"({draws.draws:,}, seeded) land between the {low_q}th and {high_q}th percentiles of accuracy "
            f"{_pct(accuracy[0])}–{_pct(accuracy[1])} and disparity {draws_range(result)}: one realisation "
            "(such as the exported model's decisions on these rows) can be this far from the expectation.")


def warnings_text(result: Any) -> str:
    """The library warnings raised while the candidate was fitted, as one line (``""`` when none)."""
    return " | ".join(result.warnings)


def warnings_sentence(result: Any) -> str:
    """``"Warnings while fitting: …"`` or ``""``."""
    return f"Warnings while fitting: {warnings_text(result)}" if result.warnings else ""
