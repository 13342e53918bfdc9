"""Per-group intervals, gaps against the reference, spreads, named criteria and the family of tests.

Everything is computed from one grouping's confusion counts ``(G, 4)`` (TN, FP, FN, TP); the
methods are those of ``auditapp.core.intervals`` and ``auditapp.core.spreads`` and are named in
``INTERVAL_METHODS`` (the audit record stores it as ``settings.interval_methods``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from auditapp.core.intervals import (
    MIN_DENOMINATOR,
    diff_interval,
    mover_p_value,
    mover_ratio,
    mover_wilson,
    proportion_interval,
    ratio_interval,
    score_test,
    z_value,
)
from auditapp.core.rates import FN, FP, METRICS, PROPORTIONS, TN, TP, numerator_denominator
from auditapp.core.spreads import spread_per_group, spreads_of_proportions

AVERAGE_ODDS = "average_odds_difference"
# Complementary metrics test the same hypothesis (TPR = 1 − FNR, ...): one test each in the family.
SAME_TEST = {"false_negative_rate": "true_positive_rate", "true_negative_rate": "false_positive_rate",
             "false_discovery_rate": "precision", "false_omission_rate": "negative_predictive_value"}
CRITERIA: dict[str, tuple[str, ...]] = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equal_opportunity_difference": ("true_positive_rate",),
    "equalized_odds_difference": ("true_positive_rate", "false_positive_rate"),
    "predictive_parity_difference": ("precision",),
    "accuracy_equality_difference": ("accuracy",),
}
INTERVAL_METHODS: dict[str, str] = {
    "group_rate": f"Wilson score interval; the bound next to 0 or 1 events (at most 5 events or non-events) "
                  f"is the exact Clopper-Pearson bound; no interval (too few to estimate) when the "
                  f"denominator is below {MIN_DENOMINATOR}",
    "balanced_accuracy": "MOVER (Newcombe) from the Wilson intervals of the true positive and true negative "
                         "rates",
    "difference": "Miettinen-Nurminen score interval for p_group - p_reference",
    "ratio": "Miettinen-Nurminen (Koopman-type) score interval for p_group / p_reference; 0 events in the "
             "group give a lower bound of 0, 0 events in the reference an upper bound of infinity (null)",
    "test": "Miettinen-Nurminen score test of equal rates (the interval's own statistic at 0, so a difference "
            "interval excludes 0 exactly when p < 1 - confidence)",
    AVERAGE_ODDS: "mean of the TPR and FPR differences against the reference (as AIF360); MOVER interval from "
                  "Wilson limits, tested by inverting that interval",
    "balanced_accuracy_gap": "difference: MOVER from the four Wilson intervals, tested by inverting it; ratio: "
                             "MOVER-R (Donner-Zou) from the two groups' intervals",
    "spread": "max-min and min/max across groups: simultaneous Miettinen-Nurminen intervals for every pair "
              "of groups (Bonferroni over the pairs; lower end the largest lower bound of |p_i - p_j|, upper "
              "end the largest |bound|), tested by the Bonferroni-adjusted smallest pairwise p-value; above "
              "40 groups, per-group Wilson intervals simultaneous by Sidak; coverage at least the confidence "
              "level for any true rates, conservative when many pairs are compared",
    "vs_highest": "each group against the highest group: Bonferroni over the group's pairs, same intervals",
    "q_value": "Benjamini-Hochberg over the distinct tests of the audit (complementary metrics such as "
               "TPR/FNR count once; balanced accuracy and the average odds difference add one test each per "
               "group; spread tests are not in the family)",
    "roc_auc": "Hanley-McNeil normal interval",
}
NAN = float("nan")


def group_intervals(counts: np.ndarray, confidence: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every metric's interval per group, from counts ``(G, 4)``."""
    z = float(z_value(confidence))
    out = {}
    for metric in METRICS:
        if metric in PROPORTIONS:
            num, den = numerator_denominator(counts, metric)
            out[metric] = proportion_interval(num, den, z)
    out["balanced_accuracy"] = balanced_accuracy_interval(counts, z)
    return out


def balanced_accuracy_interval(counts: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """MOVER for (TPR + TNR) / 2; the one recall's interval when the group has one true class."""
    pos, neg = counts[:, FN] + counts[:, TP], counts[:, TN] + counts[:, FP]
    _, low, high = mover_wilson([(counts[:, TP], pos), (counts[:, TN], neg)], [0.5, 0.5], z)
    tpr_lo, tpr_hi = proportion_interval(counts[:, TP], pos, z)
    tnr_lo, tnr_hi = proportion_interval(counts[:, TN], neg, z)
    low = np.where(neg == 0, tpr_lo, np.where(pos == 0, tnr_lo, low))
    high = np.where(neg == 0, tpr_hi, np.where(pos == 0, tnr_hi, high))
    return low, high


def balanced_part(counts: np.ndarray) -> Callable[[float], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Balanced accuracy per group (both classes estimable) as ``z -> (estimate, low, high)``."""
    pos, neg = counts[:, FN] + counts[:, TP], counts[:, TN] + counts[:, FP]
    keep = (pos >= MIN_DENOMINATOR) & (neg >= MIN_DENOMINATOR)
    pairs = [(counts[keep, TP], pos[keep]), (counts[keep, TN], neg[keep])]

    def at(z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return mover_wilson(pairs, [0.5, 0.5], z)
    return at


def disparities(labels: Sequence[str], counts: np.ndarray, point: dict[str, np.ndarray], ref: int, confidence: float,
                group_bounds: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> pd.DataFrame:
    """Each group against the reference: difference and ratio with intervals, and the score test.

    Balanced accuracy, not a single proportion, gets MOVER intervals (its difference tested by
    inverting that interval); the average odds difference is added as one more row per group.
    """
    z = float(z_value(confidence))
    group_bounds = group_bounds or group_intervals(counts, confidence)
    others = np.array([g for g in range(len(labels)) if g != ref], dtype=np.int64)
    proportions = [m for m in METRICS if m in PROPORTIONS]
    stacked = [numerator_denominator(counts, m) for m in proportions]
    a = np.concatenate([num[others] for num, _ in stacked])
    b = np.concatenate([den[others] for _, den in stacked])
    c = np.concatenate([np.full(others.size, num[ref]) for num, _ in stacked])
    d = np.concatenate([np.full(others.size, den[ref]) for _, den in stacked])
    d_lo, d_hi = diff_interval(a, b, c, d, z)
    r_lo, r_hi = ratio_interval(a, b, c, d, z)
    ok = (b >= MIN_DENOMINATOR) & (d >= MIN_DENOMINATOR)
    p = np.where(ok, score_test(a, b, c, d), np.nan)
    rows = []
    for metric in METRICS:
        value = point[metric]
        diff, ratio = value - value[ref], _safe_ratio(value, value[ref])
        if metric in PROPORTIONS:
            at = proportions.index(metric) * others.size
            part = slice(at, at + others.size)
            cells = (d_lo[part], d_hi[part], r_lo[part], r_hi[part], p[part])
            test = np.where(ok[part], "score", "")
        else:
            cells, test = _balanced_gaps(counts, ref, others, z, group_bounds)
        for i, g in enumerate(others):
            rows.append((labels[g], labels[ref], metric, value[g], value[ref], diff[g], cells[0][i],
                         cells[1][i], ratio[g], cells[2][i], cells[3][i], cells[4][i], test[i] or ""))
    rows += _average_odds(labels, counts, point, ref, others, z)
    columns = ["group", "reference", "metric", "value", "reference_value", "difference", "difference_low",
               "difference_high", "ratio", "ratio_low", "ratio_high", "p_value", "test"]
    out = pd.DataFrame(rows, columns=columns)
    out["q_value"] = np.nan
    return out


def _balanced_gaps(counts: np.ndarray, ref: int, others: np.ndarray, z: float,
                   group_bounds: dict[str, tuple[np.ndarray, np.ndarray]]
                   ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    pos, neg = counts[:, FN] + counts[:, TP], counts[:, TN] + counts[:, FP]

    def rep(v: np.ndarray) -> np.ndarray:
        return np.full(others.size, v[ref])
    parts = [(counts[others, TP], pos[others]), (counts[others, TN], neg[others]),
             (rep(counts[:, TP]), rep(pos)), (rep(counts[:, TN]), rep(neg))]
    weights = [0.5, 0.5, -0.5, -0.5]
    _, d_lo, d_hi = mover_wilson(parts, weights, z)
    p = mover_p_value(parts, weights) if others.size else np.array([])
    value = (counts[:, TP] / np.maximum(pos, 1) + counts[:, TN] / np.maximum(neg, 1)) / 2
    low, high = group_bounds["balanced_accuracy"]
    r_lo, r_hi = mover_ratio(value[others], low[others], high[others], rep(value), rep(low), rep(high))
    ok = ~np.isnan(d_lo)
    p = np.where(ok, p, np.nan)
    return (d_lo, d_hi, r_lo, r_hi, p), np.where(ok, "mover", "")


def _average_odds(labels: Sequence[str], counts: np.ndarray, point: dict[str, np.ndarray], ref: int,
                  others: np.ndarray, z: float) -> list[tuple[Any, ...]]:
    tpr, fpr = point["true_positive_rate"], point["false_positive_rate"]
    pos, neg = counts[:, FN] + counts[:, TP], counts[:, TN] + counts[:, FP]
    mean = (tpr + fpr) / 2
    parts = [(counts[others, TP], pos[others]), (np.full(others.size, counts[ref, TP]), np.full(others.size, pos[ref])),
             (counts[others, FP], neg[others]), (np.full(others.size, counts[ref, FP]), np.full(others.size, neg[ref]))]
    weights = [0.5, -0.5, 0.5, -0.5]
    value, low, high = mover_wilson(parts, weights, z)
    p = mover_p_value(parts, weights) if others.size else np.array([])
    ok = ~np.isnan(low)
    rows = []
    for i, g in enumerate(others):
        estimate = float(mean[g] - mean[ref])
        rows.append((labels[g], labels[ref], AVERAGE_ODDS, mean[g], mean[ref], estimate,
                     low[i] if ok[i] else NAN, high[i] if ok[i] else NAN, NAN, NAN, NAN,
                     p[i] if ok[i] else NAN, "mover" if ok[i] else ""))
    return rows


def _safe_ratio(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    out = np.full(a.shape, np.nan)
    np.divide(a, b, out=out, where=(b > 0) & ~np.isnan(a))
    return out


def point_spread(values: np.ndarray) -> tuple[float, float]:
    """max−min and min÷max over the defined groups (as fairlearn computes them)."""
    values = np.asarray(values, dtype=float)
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return NAN, NAN
    high, low = defined.max(), defined.min()
    return float(high - low), float(low / high) if high > 0 else NAN


def spreads(counts: np.ndarray, point: dict[str, np.ndarray], confidence: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``summary`` and ``criteria`` tables of one grouping (every pairwise interval solved in one batch).

    ``summary``: per metric, max−min and min÷max across groups with simultaneous intervals and the test
    of no gap. ``criteria``: the named fairness criteria (fairlearn's point values) likewise.
    """
    proportions = [m for m in METRICS if m in PROPORTIONS]
    requests = [[numerator_denominator(counts, m)] for m in proportions]
    requests += [[numerator_denominator(counts, m) for m in metrics] for metrics in CRITERIA.values()]
    found = spreads_of_proportions(requests, confidence)
    by_metric = dict(zip(proportions, found, strict=False))
    by_metric["balanced_accuracy"] = spread_per_group([balanced_part(counts)], confidence)
    rows = {}
    for metric in METRICS:
        diff, ratio = point_spread(point[metric])
        est = by_metric[metric]
        rows[metric] = {"max_min_difference": diff, "max_min_difference_low": est.difference_low,
                        "max_min_difference_high": est.difference_high, "min_max_ratio": ratio,
                        "min_max_ratio_low": est.ratio_low, "min_max_ratio_high": est.ratio_high,
                        "p_value": est.p_value, "groups_estimated": est.groups, "method": est.method}
    named = {}
    for (name, metrics), est in zip(CRITERIA.items(), found[len(proportions):], strict=True):
        if name == "demographic_parity_ratio":
            value, low, high = point_spread(point["selection_rate"])[1], est.ratio_low, est.ratio_high
        else:
            value = max(point_spread(point[m])[0] for m in metrics)
            low, high = est.difference_low, est.difference_high
        named[name] = {"value": value, "low": low, "high": high, "p_value": est.p_value,
                       "metrics": ",".join(metrics), "groups_estimated": est.groups, "method": est.method}
    return pd.DataFrame.from_dict(rows, orient="index"), pd.DataFrame.from_dict(named, orient="index")


def adjust_q_values(tables: list[pd.DataFrame]) -> None:
    """Benjamini–Hochberg over the distinct tests of every table (in place).

    A complementary metric's row (FNR for TPR, ...) repeats its partner's test, so it is counted once
    and given the partner's q-value.
    """
    from auditapp.core.rates import benjamini_hochberg

    keys: dict[Any, int] = {}
    p_values: list[float] = []
    for t, table in enumerate(tables):
        canonical = table["metric"].map(lambda m: SAME_TEST.get(m, m))
        for group, metric, p in zip(table["group"], canonical, table["p_value"], strict=True):
            key = (t, group, metric)
            if key not in keys and not np.isnan(p):
                keys[key] = len(p_values)
                p_values.append(p)
    q = benjamini_hochberg(np.asarray(p_values, dtype=float))
    for t, table in enumerate(tables):
        canonical = table["metric"].map(lambda m: SAME_TEST.get(m, m))
        table["q_value"] = [q[keys[(t, g, m)]] if (t, g, m) in keys else np.nan
                            for g, m in zip(table["group"], canonical, strict=True)]


def distinct_tests(tables: list[pd.DataFrame]) -> int:
    """How many tests the Benjamini–Hochberg family counts."""
    return sum(int(t.assign(m=t["metric"].map(lambda m: SAME_TEST.get(m, m)))
                   .dropna(subset=["p_value"]).drop_duplicates(["group", "m"]).shape[0]) for t in tables)


__all__ = ["AVERAGE_ODDS", "CRITERIA", "INTERVAL_METHODS", "adjust_q_values", "disparities",
           "group_intervals", "spreads"]
