"""Verdicts of a policy on an audit: pass, fail, inconclusive or not evaluable, per criterion and group.

A checked number (a rate, a difference or a ratio) passes when its point estimate and its whole
confidence interval lie within the criterion's bounds, fails when the interval lies entirely outside
them, and is inconclusive otherwise: the interval crosses a bound, so the data cannot tell. Groups
smaller than the criterion's ``min_group_size``, and numbers that are undefined (a rate whose
denominator is zero), are not evaluable.

The intervals come from the audit's own bootstrap. "Each group against the highest group" and
"spread over the groups large enough to evaluate" are not stored in ``AuditResult``, so
``replicate_counts`` redraws the audit's replicates: ``compute_audit`` draws every replicate as one
multinomial over the table of confusion counts per intersection of all sensitive features, and that
table is the ``tn, fp, fn, tp`` of the finest grouping, in the same row order. The same seed, size and
probabilities give the same draws, so every interval here is computed from exactly the replicates
behind the audit's own intervals (a test checks that they reproduce the stored ones).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditapp.metrics import AuditResult, GroupingResult
from auditapp.policy import Criterion, Policy
from auditapp.rates import percentile_interval, rates_from_counts

VERDICTS = ("pass", "fail", "inconclusive", "not_evaluable")
CELLS = ("tn", "fp", "fn", "tp")
_SEVERITY = {"fail": 3, "inconclusive": 2, "pass": 1, "not_evaluable": 0}


@dataclass(frozen=True)
class Verdict:
    """The verdict of one criterion on one group (or, for scope "spread", on one grouping).

    ``value``/``low``/``high`` is the checked number and its interval. ``group`` is the group
    checked (for "spread", the group with the lowest rate) and ``compared_with`` the group it is
    compared with (the reference, the highest group, or for "spread" the highest group); the
    metric's value for each, with intervals, is in ``group_value...`` and ``other_value...``.
    ``count`` is the group's rows (for "spread", the rows of every group evaluated).
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

    @property
    def grouping(self) -> str:
        return " × ".join(self.features)

    def to_dict(self) -> dict:
        """Plain, JSON-ready form (NaN becomes None)."""
        def num(x):
            return None if x is None or np.isnan(x) else float(x)
        return {
            "criterion": self.criterion.name, "required": self.criterion.required,
            "features": list(self.features), "group": self.group, "compared_with": self.compared_with,
            "verdict": self.verdict, "value": num(self.value), "ci": [num(self.low), num(self.high)],
            "group_value": num(self.group_value), "other_value": num(self.other_value),
            "count": int(self.count), "reason": self.reason,
        }


@dataclass(frozen=True)
class PolicyEvaluation:
    """Every verdict of a policy on an audit, and the overall verdict.

    Overall: "fail" if a required criterion fails anywhere; else "inconclusive" if one is
    inconclusive; else "pass". Groups that are not evaluable do not change the overall verdict, and
    ``not_evaluable`` counts them so that findings can say so.
    """

    policy: Policy
    verdicts: tuple[Verdict, ...]
    overall: str
    confidence: float

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

    def to_dict(self) -> dict:
        """Plain, JSON-ready form (stored in the audit record)."""
        return {"policy": self.policy.to_dict(), "overall": self.overall,
                "criteria": {c.name: self.criterion_verdict(c.name) for c in self.policy.criteria},
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


def replicate_counts(result: AuditResult) -> dict[tuple[str, ...], np.ndarray] | None:
    """Bootstrap replicate counts ``(n_boot, G, 4)`` per grouping, in each grouping's row order.

    These are the draws ``compute_audit`` made (see the module docstring). When the result has no
    grouping of all features together (computed with ``intersections=False``), each grouping is
    redrawn from its own counts: the same distribution, but not the same draws. None without a
    bootstrap.
    """
    if result.n_boot == 0:
        return None
    finest = max(result.groupings, key=lambda g: len(g.features))
    every = {f for g in result.groupings for f in g.features}
    out = {}
    if set(finest.features) == every:
        table = finest.groups[list(CELLS)].to_numpy(dtype=np.int64)
        reps = _draw(table, result.n_boot, result.seed)
        for grouping in result.groupings:
            labels = _labels(finest.groups, grouping.features)
            member = grouping.groups.index.get_indexer(labels)
            indicator = np.zeros((len(grouping.groups), len(labels)))
            indicator[member, np.arange(len(labels))] = 1.0
            out[grouping.features] = np.einsum("gk,bkc->bgc", indicator, reps)
        return out
    for grouping in result.groupings:
        table = grouping.groups[list(CELLS)].to_numpy(dtype=np.int64)
        out[grouping.features] = _draw(table, result.n_boot, result.seed).astype(np.float64)
    return out


def _draw(table: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    probabilities = (table / table.sum()).ravel()
    return rng.multinomial(int(table.sum()), probabilities, size=n_boot).reshape(n_boot, *table.shape)


def _labels(groups: pd.DataFrame, features: tuple[str, ...]) -> np.ndarray:
    from auditapp.metrics import GROUP_SEPARATOR

    labels = groups[features[0]].astype(str).to_numpy(dtype=object)
    for name in features[1:]:
        labels = labels + GROUP_SEPARATOR + groups[name].astype(str).to_numpy(dtype=object)
    return labels


def evaluate_policy(result: AuditResult, policy: Policy) -> PolicyEvaluation:
    """Check every criterion of ``policy`` on every grouping of ``result`` it applies to.

    Parameters
    ----------
    result : AuditResult
        From ``compute_audit`` (or ``run_audit(...).result``).
    policy : Policy
        The criteria (see ``auditapp.policy``).

    Returns
    -------
    PolicyEvaluation
        One ``Verdict`` per criterion and group (per grouping for scope "spread"), and the overall
        verdict.
    """
    reps = replicate_counts(result)
    verdicts: list[Verdict] = []
    for grouping in result.groupings:
        rep_rates = None if reps is None else rates_from_counts(reps[grouping.features])
        for criterion in policy.criteria:
            if _applies(criterion, grouping):
                verdicts.extend(_evaluate(criterion, grouping, rep_rates, result.confidence))
    required = [v.verdict for v in verdicts if v.criterion.required]
    overall = "fail" if "fail" in required else "inconclusive" if "inconclusive" in required else "pass"
    return PolicyEvaluation(policy, tuple(verdicts), overall, result.confidence)


def _applies(criterion: Criterion, grouping: GroupingResult) -> bool:
    single = len(grouping.features) == 1
    return criterion.groupings == "all" or (criterion.groupings == "single") == single


def _evaluate(c: Criterion, grouping: GroupingResult, rep_rates, confidence) -> list[Verdict]:
    groups = grouping.groups
    labels = [str(x) for x in groups.index]
    counts = groups["count"].to_numpy(dtype=np.int64)
    point = groups[c.metric].to_numpy(dtype=np.float64)
    low_col = groups[f"{c.metric}_low"].to_numpy(dtype=np.float64)
    high_col = groups[f"{c.metric}_high"].to_numpy(dtype=np.float64)
    reps = None if rep_rates is None else rep_rates[c.metric]
    big = counts >= c.min_group_size
    usable = big & ~np.isnan(point)
    nan = float("nan")

    def row(g, other, verdict, value, low, high, reason, count=None):
        o = (nan, nan, nan) if other is None else (point[other], low_col[other], high_col[other])
        return Verdict(c, grouping.features, None if g is None else labels[g],
                       None if other is None else labels[other], verdict, float(value), float(low),
                       float(high), point[g] if g is not None else nan,
                       low_col[g] if g is not None else nan, high_col[g] if g is not None else nan,
                       *map(float, o), int(counts[g] if count is None else count), reason)

    out = [row(g, None, "not_evaluable", nan, nan, nan,
               f"{int(counts[g])} rows, fewer than the criterion's minimum of {c.min_group_size}")
           for g in np.flatnonzero(~big)]
    undefined = [row(g, None, "not_evaluable", nan, nan, nan, f"{c.metric} is undefined for this group")
                 for g in np.flatnonzero(big & np.isnan(point))]
    out += undefined
    if c.scope == "group":
        for g in np.flatnonzero(usable):
            verdict = classify(point[g], low_col[g], high_col[g], at_least=c.at_least, at_most=c.at_most)
            out.append(row(g, None, verdict, point[g], low_col[g], high_col[g], c.bound_text))
        return out
    if c.scope == "spread":
        return out + _spread(c, usable, point, counts, reps, confidence, row)
    if c.scope == "reference":
        other = int(np.flatnonzero(groups["is_reference"].to_numpy(dtype=bool))[0])
        others_reps = None if reps is None else reps[:, other]
    else:
        if not usable.any():
            return out
        other = int(np.flatnonzero(usable)[np.argmax(point[usable])])
        others_reps = None if reps is None else _nan_extreme(reps[:, usable], np.fmax)
    for g in np.flatnonzero(usable):
        if g == other:
            continue
        if not usable[other]:
            out.append(row(g, other, "not_evaluable", nan, nan, nan,
                           f"the reference group {labels[other]} cannot be evaluated "
                           f"({int(counts[other])} rows, {c.metric} {'undefined' if big[other] else 'too few'})"))
            continue
        value = _measure(c.measure, point[g], point[other])
        low = high = nan
        if reps is not None:
            low, high = (float(x) for x in percentile_interval(
                _measure(c.measure, reps[:, g], others_reps), confidence, estimate=value))
        verdict = classify(value, low, high, at_least=c.at_least, at_most=c.at_most)
        out.append(row(g, other, verdict, value, low, high, c.bound_text))
    return out


def _spread(c: Criterion, usable, point, counts, reps, confidence, row) -> list[Verdict]:
    index = np.flatnonzero(usable)
    if index.size < 2:
        return []
    lowest = int(index[np.argmin(point[index])])
    highest = int(index[np.argmax(point[index])])
    value = _measure(c.measure, point[highest], point[lowest]) if c.measure == "difference" \
        else _measure("ratio", point[lowest], point[highest])
    low = high = float("nan")
    if reps is not None:
        top, bottom = _nan_extreme(reps[:, index], np.fmax), _nan_extreme(reps[:, index], np.fmin)
        spread = top - bottom if c.measure == "difference" else _measure("ratio", bottom, top)
        low, high = (float(x) for x in percentile_interval(spread, confidence, estimate=value))
    verdict = classify(float(value), low, high, at_least=c.at_least, at_most=c.at_most)
    return [row(lowest, highest, verdict, value, low, high, c.bound_text,
                count=int(counts[index].sum()))]


def _nan_extreme(values: np.ndarray, reduce) -> np.ndarray:
    """Row-wise max (``np.fmax``) or min (``np.fmin``) ignoring NaN; NaN where all are NaN."""
    return reduce.reduce(values, axis=1)


def _measure(measure: str, value, other):
    value = np.asarray(value, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if measure == "difference":
        return value - other
    out = np.full(np.broadcast(value, other).shape, np.nan)
    np.divide(value, other, out=out, where=(other > 0) & ~np.isnan(value))
    return out if out.ndim else float(out)
