"""Audit a candidate's decisions on the shared test rows: accuracy, balanced accuracy and criteria with intervals.

A deterministic candidate is audited on its decisions. A randomised one (a probability per row) is
reported as its expectation (:mod:`auditapp.mitigation.expectation`): its per-group table, intervals and
tests come from the audit of the expected decisions rounded to whole rows per group × label (every count
within half a row of its expectation); its accuracy, balanced accuracy and criteria are the exact
expectations, each with the audit's interval moved by the rounding difference; and the spread of single
draws is stated beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import AuditResult, compute_audit
from auditapp.mitigation.expectation import DrawSpread, draw_spread, expectation, rounded_decisions


@dataclass(frozen=True)
class Estimate:
    """A number with its confidence interval (NaN when undefined)."""

    value: float
    low: float
    high: float

    @property
    def ci(self) -> tuple[float, float]:
        return (self.low, self.high)


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` returns; ``draws`` is None for deterministic candidates."""

    audit: AuditResult
    accuracy: Estimate
    balanced_accuracy: Estimate
    criteria: dict[str, Estimate]
    draws: DrawSpread | None = None


def _estimate(frame: pd.DataFrame, row: Any, prefix: str) -> Estimate:
    return Estimate(float(frame.loc[row, prefix]), float(frame.loc[row, f"{prefix}_low"]),
                    float(frame.loc[row, f"{prefix}_high"]))


def _audited(ctx: Any, y_pred: np.ndarray) -> Evaluation:
    options = {"min_group_size": ctx.min_group_size, "n_boot": ctx.n_boot, "confidence": ctx.confidence,
               "seed": ctx.seed}
    audit = compute_audit(ctx.y_test, y_pred, ctx.sensitive_test, reference=ctx.reference, **options)
    overall = compute_audit(ctx.y_test, y_pred, pd.DataFrame({"all": np.full(len(y_pred), "all")}),
                            intersections=False, **options).groupings[0].groups
    criteria = audit.grouping(*ctx.sensitive).criteria
    named = {name: Estimate(float(r["value"]), float(r["low"]), float(r["high"])) for name, r in criteria.iterrows()}
    return Evaluation(audit, _estimate(overall, "all", "accuracy"), _estimate(overall, "all", "balanced_accuracy"),
                      named)


def _exact(estimate: Estimate, value: float) -> Estimate:
    """The exact expectation, with the audit's interval of the rounded decisions moved by the rounding
    difference (``value − estimate.value``, at most half a row per group × label) and kept in [0, 1]."""
    if not math.isfinite(value) or not math.isfinite(estimate.value):
        return Estimate(value, float("nan"), float("nan"))
    shift = value - estimate.value
    low, high = estimate.low + shift, estimate.high + shift
    return Estimate(value, min(max(low, 0.0), value), max(min(high, 1.0), value))


def evaluate(ctx: Any, y_pred: np.ndarray, probabilities: np.ndarray | None = None) -> Evaluation:
    """Audit a candidate on ``ctx``'s test rows (see the module docstring for randomised candidates).

    Parameters
    ----------
    ctx : MitigationContext
    y_pred : array of 0/1
        The candidate's decisions on the test rows.
    probabilities : array of float, optional
        For a randomised candidate, each row's probability of the favourable decision.

    Raises
    ------
    AuditInputError
        If a candidate predicted another number of rows than the test part has.
    """
    if len(y_pred) != len(ctx.y_test):
        raise AuditInputError(f"A candidate predicted {len(y_pred)} rows, but the test part has {len(ctx.y_test)}.")
    if probabilities is None:
        return _audited(ctx, y_pred)
    p = np.asarray(probabilities, dtype=np.float64)
    codes, groups = pd.factorize(pd.Series(np.asarray(ctx.groups_test).astype(str)), sort=True)
    codes = np.asarray(codes, dtype=np.int64)
    audited = _audited(ctx, rounded_decisions(ctx.y_test, p, codes))
    exact = expectation(ctx.y_test, p, codes, len(groups))
    criteria = {name: _exact(estimate, exact.criteria[name]) if name in exact.criteria else estimate
                for name, estimate in audited.criteria.items()}
    draws = draw_spread(ctx.y_test, p, codes, len(groups), seed=ctx.seed)
    return replace(audited, accuracy=_exact(audited.accuracy, exact.accuracy),
                   balanced_accuracy=_exact(audited.balanced_accuracy, exact.balanced_accuracy),
                   criteria=criteria, draws=draws)
