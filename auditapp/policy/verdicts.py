"""Verdicts of a policy on an audit: pass, fail, inconclusive or not evaluable, per criterion and group.

A checked number (a rate, a difference or a ratio) passes when its point estimate and its whole
confidence interval lie within the criterion's bounds, fails when the interval lies entirely outside
them, and is inconclusive otherwise: the interval crosses a bound, so the data cannot tell. Groups
smaller than the criterion's ``min_group_size``, numbers that are undefined (a rate whose denominator
is zero) and rates with too few people in their denominator to estimate are not evaluable.

The intervals are the audit's own: a group's rate and its comparison with the reference are read from
``AuditResult``; "each group against the highest group" and "the spread over the groups large enough
to evaluate" use the same methods (``auditapp.core.spreads``) on the groups the criterion keeps, which gives
the audit's summary interval whenever it keeps the same groups. A required criterion that could not be
evaluated anywhere makes the overall verdict inconclusive, and so does a policy with no evaluated
required check: the gate never passes on nothing. Every inconclusive verdict says how many rows per
group would likely settle it (``auditapp.core.power``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from auditapp.core.gaps import balanced_accuracy_interval, balanced_part
from auditapp.core.intervals import MIN_DENOMINATOR, z_value
from auditapp.core.metrics import AuditResult, GroupingResult
from auditapp.core.power import rows_needed
from auditapp.core.rates import PROPORTIONS, numerator_denominator
from auditapp.core.spreads import (
    PAIRWISE_MAX_GROUPS,
    spread_of_proportions,
    spread_per_group,
    versus_highest,
)
from auditapp.policy.criteria import Criterion, Policy

VERDICTS = ("pass", "fail", "inconclusive", "not_evaluable")
CELLS = ("tn", "fp", "fn", "tp")
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Index = int | np.integer[Any]  # a group's position (NumPy's own integers included)


_SEVERITY = {"fail": 3, "inconclusive": 2, "pass": 1, "not_evaluable": 0}


@dataclass(frozen=True)
class Verdict:
    """The verdict of one criterion on one group (or, for scope "spread", on one grouping).

    ``value``/``low``/``high`` is the checked number and its interval. ``group`` is the group
    checked (for "spread", the group with the lowest rate) and ``compared_with`` the group it is
    compared with (the reference, the highest group, or for "spread" the highest group); the
    metric's value for each, with intervals, is in ``group_value...`` and ``other_value...``.
    ``count`` is the group's rows (for "spread", the rows of every group evaluated).
    ``rows_needed`` (inconclusive verdicts only) is about how many rows per group would settle it
    (80% power at the observed rates; None when the estimate sits on the bound).
    """

    criterion: Criterion
    features: tuple[str, ...]
    group: str | None
    compared_with: str | None
    verdict: str
    value: float
    low: float
    high: float
    group_value: float
    group_low: float
    group_high: float
    other_value: float
    other_low: float
    other_high: float
    count: int
    reason: str
    rows_needed: int | None = None

    @property
    def grouping(self) -> str:
        return " × ".join(self.features)

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (NaN becomes None)."""
        def num(x: float | None) -> float | None:
            return None if x is None or np.isnan(x) else float(x)
        return {
            "criterion": self.criterion.name, "required": self.criterion.required,
            "features": list(self.features), "group": self.group, "compared_with": self.compared_with,
            "verdict": self.verdict, "value": num(self.value), "ci": [num(self.low), num(self.high)],
            "group_value": num(self.group_value), "other_value": num(self.other_value),
            "count": int(self.count), "reason": self.reason, "rows_needed": self.rows_needed,
        }


@dataclass(frozen=True)
class PolicyEvaluation:
    """Every verdict of a policy on an audit, and the overall verdict.

    Overall: "fail" if a required criterion fails anywhere; else "inconclusive" if one is
    inconclusive, if a required criterion could not be evaluated for any group (``unevaluated``
    names them), or if no required check was evaluated at all; else "pass". Single groups that are not
    evaluable do not change the overall verdict, and ``not_evaluable`` counts them so that findings
    can say so.
    """

    policy: Policy
    verdicts: tuple[Verdict, ...]
    overall: str
    confidence: float
    unevaluated: tuple[str, ...] = ()

    @property
    def not_evaluable(self) -> int:
        return sum(v.verdict == "not_evaluable" for v in self.verdicts)

    def criterion_verdict(self, name: str) -> str:
        """The worst verdict of one criterion (not evaluable only when nothing was evaluable)."""
        found = [v.verdict for v in self.verdicts if v.criterion.name == name]
        return max(found, key=_SEVERITY.__getitem__) if found else "not_evaluable"

    def table(self) -> pd.DataFrame:
        """One row per verdict."""
        rows = [{"criterion": v.criterion.name, "required": v.criterion.required,
                 "grouping": v.grouping, "group": v.group, "compared_with": v.compared_with,
                 "verdict": v.verdict, "value": v.value, "low": v.low, "high": v.high,
                 "count": v.count, "reason": v.reason} for v in self.verdicts]
        return pd.DataFrame(rows, columns=["criterion", "required", "grouping", "group",
                                           "compared_with", "verdict", "value", "low", "high",
                                           "count", "reason"])

    def summary(self) -> pd.DataFrame:
        """Per criterion: required, bound, the worst verdict and how many of each verdict."""
        rows = []
        for c in self.policy.criteria:
            found = [v.verdict for v in self.verdicts if v.criterion.name == c.name]
            rows.append({"criterion": c.name, "required": c.required, "bound": c.bound_text,
                         "verdict": self.criterion_verdict(c.name),
                         **{k: found.count(k) for k in VERDICTS}})
        return pd.DataFrame(rows).set_index("criterion")

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (stored in the audit record)."""
        return {"policy": self.policy.to_dict(), "overall": self.overall,
                "criteria": {c.name: self.criterion_verdict(c.name) for c in self.policy.criteria},
                "unevaluated_required": list(self.unevaluated),
                "verdicts": [v.to_dict() for v in self.verdicts]}


def classify(value: float, low: float, high: float, *, at_least: float | None,
             at_most: float | None) -> str:
    """Pass, fail or inconclusive for a number and its interval against bounds.

    Without an interval (NaN ``low``/``high``, e.g. no bootstrap) the point estimate decides.
    """
    def inside(x: float) -> bool:
        return (at_least is None or x >= at_least) and (at_most is None or x <= at_most)

    if np.isnan(value):
        return "not_evaluable"
    if np.isnan(low) or np.isnan(high):
        return "pass" if inside(value) else "fail"
    if inside(value) and inside(low) and inside(high):
        return "pass"
    entirely_outside = (at_least is not None and high < at_least) or (at_most is not None and low > at_most)
    if entirely_outside and not inside(value):
        return "fail"
    return "inconclusive"


def evaluate_policy(result: AuditResult, policy: Policy) -> PolicyEvaluation:
    """Check every criterion of ``policy`` on every grouping of ``result`` it applies to.

    Parameters
    ----------
    result : AuditResult
        From ``compute_audit`` (or ``run_audit(...).result``).
    policy : Policy
        The criteria (see ``auditapp.policy.criteria``).

    Returns
    -------
    PolicyEvaluation
        One ``Verdict`` per criterion and group (per grouping for scope "spread"), and the overall
        verdict.
    """
    verdicts: list[Verdict] = []
    for grouping in result.groupings:
        for criterion in policy.criteria:
            if _applies(criterion, grouping):
                verdicts.extend(_evaluate(criterion, grouping, result.confidence))
    required = [v.verdict for v in verdicts if v.criterion.required]
    unevaluated = tuple(c.name for c in policy.criteria if c.required and not any(
        v.criterion.name == c.name and v.verdict != "not_evaluable" for v in verdicts))
    if "fail" in required:
        overall = "fail"
    elif "inconclusive" in required or unevaluated or not any(v != "not_evaluable" for v in required):
        overall = "inconclusive"
    else:
        overall = "pass"
    return PolicyEvaluation(policy, tuple(verdicts), overall, result.confidence, unevaluated)


def _applies(criterion: Criterion, grouping: GroupingResult) -> bool:
    single = len(grouping.features) == 1
    return criterion.groupings == "all" or (criterion.groupings == "single") == single


def _counts(groups: pd.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    cells = groups[list(CELLS)].to_numpy(dtype=np.int64)
    if metric in PROPORTIONS:
        return numerator_denominator(cells, metric)
    positives, negatives = cells[:, 2] + cells[:, 3], cells[:, 0] + cells[:, 1]
    return np.full(len(cells), -1), np.minimum(positives, negatives)


def _evaluate(c: Criterion, grouping: GroupingResult, confidence: float) -> list[Verdict]:
    groups = grouping.groups
    labels = [str(x) for x in groups.index]
    counts = groups["count"].to_numpy(dtype=np.int64)
    point = groups[c.metric].to_numpy(dtype=np.float64)
    low_col = groups[f"{c.metric}_low"].to_numpy(dtype=np.float64)
    high_col = groups[f"{c.metric}_high"].to_numpy(dtype=np.float64)
    num, den = _counts(groups, c.metric)
    big = counts >= c.min_group_size
    estimable = ~np.isnan(point) & ~np.isnan(low_col)
    usable = big & estimable
    nan = float("nan")
    alpha = 1 - confidence

    def row(g: Index, other: Index | None, verdict: str, value: float, low: float, high: float, reason: str,
            count: int | None = None, needed: int | None = None) -> Verdict:
        o = (nan, nan, nan) if other is None else (point[other], low_col[other], high_col[other])
        return Verdict(c, grouping.features, labels[g], None if other is None else labels[other], verdict,
                       float(value), float(low), float(high), float(point[g]), float(low_col[g]),
                       float(high_col[g]), float(o[0]), float(o[1]), float(o[2]),
                       int(counts[g] if count is None else count), reason, needed)

    def decided(g: Index, other: Index | None, value: float, low: float, high: float, *, level_alpha: float,
                count: int | None = None, measure: str | None = None) -> Verdict:
        verdict = classify(value, low, high, at_least=c.at_least, at_most=c.at_most)
        needed = None
        if verdict == "inconclusive":
            needed = _rows_needed(c, measure or c.measure, value, low, high, g, other, point, num, den,
                                  counts, level_alpha)
        return row(g, other, verdict, value, low, high, c.bound_text, count=count, needed=needed)

    out = [row(g, None, "not_evaluable", nan, nan, nan,
               f"{int(counts[g])} rows, fewer than the criterion's minimum of {c.min_group_size}")
           for g in np.flatnonzero(~big)]
    out += [row(g, None, "not_evaluable", nan, nan, nan, f"{c.metric} is undefined for this group")
            for g in np.flatnonzero(big & np.isnan(point))]
    out += [row(g, None, "not_evaluable", nan, nan, nan,
                f"only {int(den[g])} in the denominator of {c.metric}, fewer than the {MIN_DENOMINATOR} "
                "needed to estimate it (too few to estimate)")
            for g in np.flatnonzero(big & ~np.isnan(point) & np.isnan(low_col))]
    if c.scope == "group":
        for g in np.flatnonzero(usable):
            out.append(decided(g, None, point[g], low_col[g], high_col[g], level_alpha=alpha))
        return out
    if c.scope == "spread":
        return out + _spread(c, usable, point, num, den, counts, groups, confidence, decided)
    if c.scope == "reference":
        other = int(np.flatnonzero(groups["is_reference"].to_numpy(dtype=bool))[0])
        table = grouping.disparities[grouping.disparities["metric"] == c.metric].set_index("group")
        for g in np.flatnonzero(usable):
            if g == other:
                continue
            if not usable[other]:
                out.append(row(g, other, "not_evaluable", nan, nan, nan,
                               f"the reference group {labels[other]} cannot be evaluated "
                               f"({int(counts[other])} rows, {c.metric} "
                               f"{'too few to estimate' if big[other] else 'too few rows'})"))
                continue
            found = table.loc[labels[g]]
            value, low, high = (float(found[f"{c.measure}{s}"]) for s in ("", "_low", "_high"))
            out.append(decided(g, other, value, low, high, level_alpha=alpha))
        return out
    index = np.flatnonzero(usable)
    if index.size < 2:
        return out
    highest = int(index[np.argmax(point[index])])
    values, lows, highs = _versus_highest(c, groups, index, num, den, confidence)
    level = alpha / (index.size - 1) if index.size <= PAIRWISE_MAX_GROUPS else 1 - confidence ** (1 / index.size)
    for i, g in enumerate(index):
        if g == highest:
            continue
        out.append(decided(g, highest, float(values[i]), float(lows[i]), float(highs[i]), level_alpha=level))
    return out


def _versus_highest(c: Criterion, groups: pd.DataFrame, index: Ints, num: Ints, den: Ints,
                    confidence: float) -> tuple[Floats, Floats, Floats]:
    if c.metric in PROPORTIONS:
        return versus_highest(num[index], den[index], confidence, measure=c.measure)
    # Balanced accuracy: per-group MOVER intervals, simultaneous over the groups (Šidák).
    cells = groups[list(CELLS)].to_numpy(dtype=np.int64)[index]
    z = float(z_value(confidence ** (1 / index.size)))
    lo, hi = balanced_accuracy_interval(cells, z)
    point = groups[c.metric].to_numpy(dtype=np.float64)[index]
    with np.errstate(invalid="ignore", divide="ignore"):
        if c.measure == "ratio":
            return point / point.max(), lo / hi.max(), np.minimum(1.0, hi / lo.max())
        return point - point.max(), lo - hi.max(), np.minimum(0.0, hi - lo.max())


def _spread(c: Criterion, usable: npt.NDArray[np.bool_], point: Floats, num: Ints, den: Ints, counts: Ints,
            groups: pd.DataFrame, confidence: float, decided: Callable[..., Verdict]) -> list[Verdict]:
    index = np.flatnonzero(usable)
    if index.size < 2:
        return []
    lowest = int(index[np.argmin(point[index])])
    highest = int(index[np.argmax(point[index])])
    if c.metric in PROPORTIONS:
        est = spread_of_proportions([(num[index], den[index])], confidence)
    else:
        cells = groups[list(CELLS)].to_numpy(dtype=np.int64)[index]
        est = spread_per_group([balanced_part(cells)], confidence)
    if c.measure == "difference":
        value, low, high = point[highest] - point[lowest], est.difference_low, est.difference_high
    else:
        value = point[lowest] / point[highest] if point[highest] > 0 else float("nan")
        low, high = est.ratio_low, est.ratio_high
    level = (1 - confidence) / max(est.pairs, 1) if est.method == "pairwise" \
        else 1 - confidence ** (1 / max(est.pairs, 1))
    return [decided(lowest, highest, float(value), low, high, level_alpha=level,
                    count=int(counts[index].sum()))]


def _rows_needed(c: Criterion, measure: str, value: float, low: float, high: float, g: Index, other: Index | None,
                 point: Floats, num: Ints, den: Ints, counts: Ints, alpha: float) -> int | None:
    """Rows per group for 80% power against the bound the interval crosses."""
    bounds = [b for b in (c.at_least, c.at_most) if b is not None and low <= b <= high]
    if not bounds:
        bounds = [b for b in (c.at_least, c.at_most) if b is not None]
    bound = min(bounds, key=lambda b: abs(b - value))
    members = [g] if other is None else [g, other]
    shares = [den[m] / counts[m] for m in members if counts[m] > 0 and den[m] > 0]
    if not shares:
        return None
    p2 = None if other is None else float(point[other])
    return rows_needed(measure=measure, value=float(value), bound=float(bound), p1=float(point[g]), p2=p2,
                       share=float(min(shares)), alpha=float(alpha))
