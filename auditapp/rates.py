"""Rates from confusion counts, the percentile bootstrap, and two-proportion tests.

Everything works on count arrays whose last axis is ``(TN, FP, FN, TP)``, so the same code computes a
point estimate ``(G, 4)`` and a stack of bootstrap replicates ``(B, G, 4)``. A rate whose denominator is
zero is undefined and returned as NaN (fairlearn, through scikit-learn, returns 0 there).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

TN, FP, FN, TP = 0, 1, 2, 3

# metric name -> (numerator cells, denominator cells); a denominator of None means all rows.
PROPORTIONS: dict[str, tuple[tuple[int, ...], tuple[int, ...] | None]] = {
    "base_rate": ((FN, TP), None),
    "selection_rate": ((FP, TP), None),
    "accuracy": ((TN, TP), None),
    "true_positive_rate": ((TP,), (FN, TP)),
    "false_negative_rate": ((FN,), (FN, TP)),
    "false_positive_rate": ((FP,), (TN, FP)),
    "true_negative_rate": ((TN,), (TN, FP)),
    "precision": ((TP,), (FP, TP)),
    "negative_predictive_value": ((TN,), (TN, FN)),
    "false_discovery_rate": ((FP,), (FP, TP)),
    "false_omission_rate": ((FN,), (TN, FN)),
}
METRICS: tuple[str, ...] = (
    "selection_rate", "base_rate", "accuracy", "balanced_accuracy",
    "true_positive_rate", "false_positive_rate", "true_negative_rate", "false_negative_rate",
    "precision", "negative_predictive_value", "false_discovery_rate", "false_omission_rate",
)
LABELS: dict[str, str] = {
    "selection_rate": "Selection rate",
    "base_rate": "Base rate (share with the favourable label)",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "true_positive_rate": "True positive rate",
    "false_positive_rate": "False positive rate",
    "true_negative_rate": "True negative rate",
    "false_negative_rate": "False negative rate",
    "precision": "Precision",
    "negative_predictive_value": "Negative predictive value",
    "false_discovery_rate": "False discovery rate",
    "false_omission_rate": "False omission rate",
    "roc_auc": "ROC AUC",
}


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def numerator_denominator(counts: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer numerator and denominator of a proportion metric."""
    num_cells, den_cells = PROPORTIONS[metric]
    num = counts[..., list(num_cells)].sum(axis=-1)
    den = counts.sum(axis=-1) if den_cells is None else counts[..., list(den_cells)].sum(axis=-1)
    return num, den


def rates_from_counts(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric in ``METRICS`` from counts ``(..., 4)`` ordered TN, FP, FN, TP.

    Balanced accuracy is the mean of the defined recalls (TPR, TNR), as scikit-learn computes it when a
    group has only one true class.
    """
    counts = np.asarray(counts)
    out = {}
    for name in PROPORTIONS:
        num, den = numerator_denominator(counts, name)
        out[name] = _ratio(num, den)
    tpr, tnr = out["true_positive_rate"], out["true_negative_rate"]
    defined = (~np.isnan(tpr)).astype(np.float64) + (~np.isnan(tnr))
    total = np.nan_to_num(tpr) + np.nan_to_num(tnr)
    out["balanced_accuracy"] = _ratio(total, defined)
    return {name: out[name] for name in METRICS}


def percentile_interval(replicates: np.ndarray, confidence: float, *,
                        estimate: np.ndarray | float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap interval over axis 0, ignoring NaN replicates (NaN when every replicate is NaN).

    Without ``estimate``: the percentile interval. With ``estimate`` (the point value, one per column):
    Efron's bias-corrected percentile interval, which moves the percentiles by how far the replicates
    sit off the estimate. That matters for statistics such as max−min across groups, whose plug-in
    value is biased upwards (the noisiest group sets the maximum), so a plain percentile interval can
    lie almost entirely above the estimate. For nearly unbiased rates both intervals agree.
    Order statistics are interpolated linearly, as ``numpy.nanquantile`` does, but vectorised.
    """
    reps = np.asarray(replicates, dtype=np.float64)
    if reps.shape[0] == 0:
        shape = reps.shape[1:]
        return np.full(shape, np.nan), np.full(shape, np.nan)
    ordered = np.sort(reps, axis=0)
    valid = np.sum(~np.isnan(reps), axis=0)
    alpha = (1.0 - confidence) / 2.0
    low_q, high_q = np.full(valid.shape, alpha), np.full(valid.shape, 1.0 - alpha)
    if estimate is not None:
        est = np.broadcast_to(np.asarray(estimate, dtype=np.float64), valid.shape)
        with np.errstate(invalid="ignore"):
            below = np.sum(reps < est, axis=0) + 0.5 * np.sum(reps == est, axis=0)
        share = np.clip(below / np.maximum(valid, 1), 0.5 / np.maximum(valid, 1), 1 - 0.5 / np.maximum(valid, 1))
        z0 = np.where(np.isnan(est) | (valid == 0), 0.0, normal_quantile(share))
        z = float(normal_quantile(1.0 - alpha))
        low_q, high_q = normal_cdf(2 * z0 - z), normal_cdf(2 * z0 + z)

    def at(q: np.ndarray) -> np.ndarray:
        position = q * np.maximum(valid - 1, 0)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, np.maximum(valid - 1, 0))
        frac = position - low
        a = np.take_along_axis(ordered, low[None, ...], axis=0)[0]
        b = np.take_along_axis(ordered, high[None, ...], axis=0)[0]
        value = a + (b - a) * frac
        return np.where(valid > 0, value, np.nan)

    return at(low_q), at(high_q)


_NORMAL = NormalDist()
normal_cdf = np.vectorize(_NORMAL.cdf, otypes=[float])
normal_quantile = np.vectorize(lambda p: _NORMAL.inv_cdf(min(max(p, 1e-300), 1 - 1e-16)), otypes=[float])


def two_proportion_p_values(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values for H0: p1 == p2, and the test used ("z" or "fisher").

    The pooled z-test is used when every expected cell count is at least 5; otherwise Fisher's exact
    test (two-sided, summing the tables no more likely than the observed one). NaN where a
    denominator is zero.
    """
    x1, n1, x2, n2 = (np.atleast_1d(np.asarray(v, dtype=np.int64)) for v in (x1, n1, x2, n2))
    p_values = np.full(x1.shape, np.nan)
    method = np.full(x1.shape, "", dtype=object)
    for i in range(x1.size):
        if n1[i] == 0 or n2[i] == 0:
            continue
        successes, total = x1[i] + x2[i], n1[i] + n2[i]
        expected = np.array([n1[i], n2[i]]) * np.array([[successes], [total - successes]]) / total
        if expected.min() >= 5:
            p_values[i], method[i] = _z_test(x1[i], n1[i], x2[i], n2[i]), "z"
        else:
            p_values[i], method[i] = _fisher_exact(x1[i], n1[i], x2[i], n2[i]), "fisher"
    return p_values, method


def _z_test(x1: int, n1: int, x2: int, n2: int) -> float:
    pooled = (x1 + x2) / (n1 + n2)
    if pooled in (0.0, 1.0):
        return 1.0
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = abs(x1 / n1 - x2 / n2) / se
    return float(min(1.0, math.erfc(z / math.sqrt(2.0))))


def _fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    gammaln = np.vectorize(math.lgamma, otypes=[float])
    successes = x1 + x2
    support = np.arange(max(0, successes - n2), min(n1, successes) + 1)

    def log_pmf(k: np.ndarray) -> np.ndarray:
        def log_choose(n, r):
            return gammaln(n + 1) - gammaln(r + 1) - gammaln(n - r + 1)
        return log_choose(n1, k) + log_choose(n2, successes - k) - log_choose(n1 + n2, successes)

    log_p = log_pmf(support)
    observed = log_pmf(np.array([x1]))[0]
    mask = log_p <= observed + 1e-7
    return float(min(1.0, np.exp(log_p[mask]).sum()))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaN inputs stay NaN and are not counted."""
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return q
    order = valid[np.argsort(p[valid], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    return q
