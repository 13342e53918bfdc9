"""Score-based views: per-group rates at any threshold, ROC curves and AUC, calibration tables.

``ThresholdIndex`` sorts each group's scores once, split by true label; after that the confusion counts
at any threshold are two ``searchsorted`` calls per group, so a slider move costs microseconds even on
a million rows. A row is predicted favourable when ``score >= threshold``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import GROUP_SEPARATOR
from auditapp.core.rates import normal_quantile, rates_from_counts


class ScoreIndex(Protocol):
    """What the threshold explorer asks of a grouping's scores: from the rows (:class:`ThresholdIndex`) or
    from an engine's score histograms (``auditapp.engines.histograms.HistogramIndex``)."""

    @property
    def labels(self) -> tuple[str, ...]: ...

    def counts_at(self, threshold: float | np.ndarray) -> np.ndarray: ...

    def rates_at(self, threshold: float) -> pd.DataFrame: ...

    def curves(self, thresholds: np.ndarray) -> pd.DataFrame: ...

    def with_both_outcomes(self) -> int: ...


@dataclass(frozen=True)
class ThresholdIndex:
    """Each group's scores, sorted, split by true label."""

    labels: tuple[str, ...]
    positives: tuple[np.ndarray, ...]
    negatives: tuple[np.ndarray, ...]

    def counts_at(self, threshold: float | np.ndarray) -> np.ndarray:
        """Confusion counts ``(G, 4)`` (TN, FP, FN, TP) at one threshold, or ``(T, G, 4)`` at several."""
        t = np.atleast_1d(np.asarray(threshold, dtype=np.float64))
        out = np.empty((t.size, len(self.labels), 4), dtype=np.int64)
        for g, (pos, neg) in enumerate(zip(self.positives, self.negatives, strict=True)):
            tp = pos.size - np.searchsorted(pos, t, side="left")
            fp = neg.size - np.searchsorted(neg, t, side="left")
            out[:, g, 0], out[:, g, 1] = neg.size - fp, fp
            out[:, g, 2], out[:, g, 3] = pos.size - tp, tp
        return out[0] if np.ndim(threshold) == 0 else out

    def rates_at(self, threshold: float) -> pd.DataFrame:
        """Every metric per group at one threshold (index: group label)."""
        counts = self.counts_at(float(threshold))
        table = pd.DataFrame(rates_from_counts(counts), index=pd.Index(self.labels, name="group"))
        table.insert(0, "count", counts.sum(axis=1))
        return table

    def curves(self, thresholds: np.ndarray) -> pd.DataFrame:
        """Tidy table of selection rate, TPR and FPR per group over a grid of thresholds."""
        counts = self.counts_at(np.asarray(thresholds, dtype=np.float64))
        rates = rates_from_counts(counts)
        frames = []
        for g, label in enumerate(self.labels):
            frames.append(pd.DataFrame({
                "threshold": thresholds, "group": label,
                "selection_rate": rates["selection_rate"][:, g],
                "true_positive_rate": rates["true_positive_rate"][:, g],
                "false_positive_rate": rates["false_positive_rate"][:, g],
            }))
        return pd.concat(frames, ignore_index=True)

    def with_both_outcomes(self) -> int:
        """How many groups have both true labels (and so a ROC curve)."""
        return sum(1 for pos, neg in zip(self.positives, self.negatives, strict=True) if pos.size and neg.size)


def group_labels(sensitive_features: pd.DataFrame) -> np.ndarray:
    """The intersection label of each row (values joined as in ``metrics``)."""
    frame = pd.DataFrame(sensitive_features).astype(str)
    labels = frame.iloc[:, 0].to_numpy(dtype=object)
    for name in frame.columns[1:]:
        labels = labels + GROUP_SEPARATOR + frame[name].to_numpy(dtype=object)
    result: np.ndarray = labels
    return result


def build_threshold_index(y_true: ArrayLike, y_score: ArrayLike, groups: ArrayLike, *, order: np.ndarray | None = None) -> ThresholdIndex:
    """Sort each group's scores once (one global sort, then a stable sort by group and label).

    ``order`` (``np.argsort(y_score, kind="stable")``) can be passed when several groupings share it.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_score = np.asarray(y_score, dtype=np.float64)
    if np.isnan(y_score).any():
        raise AuditInputError("The scores contain missing values; every row needs a score.")
    codes, uniques = pd.factorize(pd.Series(np.asarray(groups, dtype=object)).astype(str), sort=True)
    if order is None:
        order = np.argsort(y_score, kind="stable")
    key = (codes * 2 + y_true)[order]
    by_key = np.argsort(key, kind="stable")
    regroup = order[by_key]
    bounds = np.searchsorted(key[by_key], np.arange(2 * len(uniques) + 1), side="left")
    sorted_scores = y_score[regroup]
    positives, negatives = [], []
    for g in range(len(uniques)):
        negatives.append(sorted_scores[bounds[2 * g]:bounds[2 * g + 1]])
        positives.append(sorted_scores[bounds[2 * g + 1]:bounds[2 * g + 2]])
    return ThresholdIndex(tuple(map(str, uniques)), tuple(positives), tuple(negatives))


def roc_auc(index: ThresholdIndex, *, confidence: float = 0.95) -> pd.DataFrame:
    """ROC AUC per group (ties count one half) with a Hanley–McNeil normal interval.

    NaN when a group lacks positives or negatives. An index built from score histograms
    (``engines.histograms.HistogramIndex``) computes it from its bins.
    """
    if hasattr(index, "histograms"):
        table: pd.DataFrame = getattr(index, "roc_auc")(confidence=confidence)  # noqa: B009
        return table
    z = float(normal_quantile(0.5 + confidence / 2))
    rows = []
    for label, pos, neg in zip(index.labels, index.positives, index.negatives, strict=True):
        n_pos, n_neg = pos.size, neg.size
        if n_pos == 0 or n_neg == 0:
            rows.append((label, np.nan, np.nan, np.nan))
            continue
        below = np.searchsorted(neg, pos, side="left").sum(dtype=np.float64)
        ties = (np.searchsorted(neg, pos, side="right") - np.searchsorted(neg, pos, side="left")).sum()
        auc = (below + 0.5 * ties) / (n_pos * n_neg)
        q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
        var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
        half = z * np.sqrt(max(var, 0.0))
        rows.append((label, auc, max(0.0, auc - half), min(1.0, auc + half)))
    return pd.DataFrame(rows, columns=["group", "roc_auc", "roc_auc_low", "roc_auc_high"]).set_index("group")


def roc_curves(index: ScoreIndex, *, max_points: int = 200) -> pd.DataFrame:
    """Tidy ROC points (fpr, tpr, threshold) per group, at most ``max_points`` per group."""
    if not isinstance(index, ThresholdIndex):  # an engine's histogram index draws its own
        curves: pd.DataFrame = getattr(index, "roc_curves")(max_points=max_points)  # noqa: B009
        return curves
    frames = []
    for label, pos, neg in zip(index.labels, index.positives, index.negatives, strict=True):
        if pos.size == 0 or neg.size == 0:
            continue
        cuts = np.unique(np.concatenate([pos, neg]))
        if cuts.size > max_points:
            cuts = np.quantile(cuts, np.linspace(0, 1, max_points))
        cuts = np.concatenate([cuts, [np.inf]])
        tpr = (pos.size - np.searchsorted(pos, cuts, side="left")) / pos.size
        fpr = (neg.size - np.searchsorted(neg, cuts, side="left")) / neg.size
        frames.append(pd.DataFrame({"group": label, "threshold": cuts, "fpr": fpr, "tpr": tpr}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["group", "threshold", "fpr", "tpr"])


def calibration_table(y_true: ArrayLike, y_score: ArrayLike, groups: ArrayLike, *, n_bins: int = 10, confidence: float = 0.95) -> pd.DataFrame:
    """Mean score vs observed favourable rate per group and equal-width score bin, with Wilson CIs."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_score = np.asarray(y_score, dtype=np.float64)
    low, high = float(np.min(y_score)), float(np.max(y_score))
    edges = np.linspace(min(low, 0.0), max(high, 1.0), n_bins + 1)
    bins = np.clip(np.searchsorted(edges, y_score, side="right") - 1, 0, n_bins - 1)
    codes, uniques = pd.factorize(pd.Series(np.asarray(groups, dtype=object)).astype(str), sort=True)
    key = codes * n_bins + bins
    size = len(uniques) * n_bins
    count = np.bincount(key, minlength=size)
    cells = np.flatnonzero(count)
    table = pd.DataFrame({
        "group": np.asarray(uniques, dtype=object)[cells // n_bins], "bin": cells % n_bins,
        "count": count[cells],
        "mean_score": np.bincount(key, weights=y_score, minlength=size)[cells] / count[cells],
        "observed_rate": np.bincount(key, weights=y_true, minlength=size)[cells] / count[cells],
    })
    z = float(normal_quantile(0.5 + confidence / 2))
    n, p = table["count"].to_numpy(float), table["observed_rate"].to_numpy(float)
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    table["observed_low"], table["observed_high"] = centre - half, centre + half
    table["bin_low"], table["bin_high"] = edges[table["bin"]], edges[table["bin"] + 1]
    return table
