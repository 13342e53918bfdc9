"""Rates from confusion counts, normal-distribution helpers and the Benjamini–Hochberg adjustment.

Everything works on count arrays whose last axis is ``(TN, FP, FN, TP)``, so the same code computes a
point estimate ``(G, 4)`` or a stack ``(..., G, 4)``. A rate whose denominator is zero is undefined and
returned as NaN (fairlearn, through scikit-learn, returns 0 there). Intervals and tests are in
``auditapp.core.intervals``.
"""

from __future__ import annotations

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
    "average_odds_difference": "Average odds difference (mean of the TPR and FPR gaps)",
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


_NORMAL = NormalDist()
normal_cdf = np.vectorize(_NORMAL.cdf, otypes=[float])
normal_quantile = np.vectorize(lambda p: _NORMAL.inv_cdf(min(max(p, 1e-300), 1 - 1e-16)), otypes=[float])


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
