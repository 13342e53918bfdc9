"""Score histograms per group split by outcome, and the score views computed from them.

An engine that cannot keep every row's score keeps, per intersection and true label, how many scores
fall in each of ``bins`` equal-width bins (and their sum, for calibration). The bins are fixed by a
formula every engine evaluates the same way in IEEE doubles:

    edge_k = lo + k * width,  width = (hi - lo) / bins,  k = 0 .. bins

with ``lo = min(smallest score, 0)`` and ``hi = max(largest score, 1)`` (the calibration table's
range). A score ``s`` goes to the bin ``k`` with ``edge_k <= s < edge_(k+1)``; bin ``bins`` holds the
scores at or above ``edge_bins``. So the number of scores ``>= edge_k`` is a sum of whole bins: the
threshold explorer, the ROC curve and the calibration bins are **exact at the bin edges**. Between edges
a threshold is applied at the nearest edge (the resolution is ``width``); the ROC AUC counts two scores in
the same bin as a tie (one half), i.e. it is the exact AUC of the scores rounded down to the bin edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.defaults import DEFAULT_BINS
from auditapp.core.errors import AuditInputError
from auditapp.core.rates import normal_quantile, rates_from_counts

MAX_BINS = 1_000_000
CALIBRATION_BINS = 10


def check_bins(bins: int) -> int:
    """The number of score bins, checked: a multiple of 10 between 10 and 1,000,000."""
    bins = int(bins)
    if not CALIBRATION_BINS <= bins <= MAX_BINS or bins % CALIBRATION_BINS:
        raise AuditInputError(
            f"The score histograms need a number of bins that is a multiple of 10 between 10 and "
            f"{MAX_BINS:,} (so the 10 calibration bins are whole bins), got {bins:,}. The default is "
            f"{DEFAULT_BINS:,}.")
    return bins


@dataclass(frozen=True)
class BinGrid:
    """The bin edges ``lo + k * width`` for ``k = 0 .. bins`` (see the module docstring)."""

    lo: float
    hi: float
    bins: int

    @classmethod
    def for_scores(cls, low: float, high: float, bins: int = DEFAULT_BINS) -> BinGrid:
        """The grid for scores from ``low`` to ``high`` (the range always covers [0, 1])."""
        if not (np.isfinite(low) and np.isfinite(high)):
            raise AuditInputError(
                f"The scores run from {low:g} to {high:g}; every score must be a finite number. Remove or "
                "fix the infinite scores.")
        return cls(lo=float(min(low, 0.0)), hi=float(max(high, 1.0)), bins=check_bins(bins))

    @property
    def width(self) -> float:
        return (self.hi - self.lo) / self.bins

    @property
    def edges(self) -> np.ndarray:
        return self.lo + np.arange(self.bins + 1, dtype=np.float64) * self.width

    def assign(self, scores: np.ndarray) -> np.ndarray:
        """Each score's bin (0 .. ``bins``), consistent with :attr:`edges` to the last bit."""
        scores = np.asarray(scores, dtype=np.float64)
        lo, width, top = self.lo, self.width, float(self.bins)
        k = np.clip(np.floor((scores - lo) / width), 0.0, top)
        k = np.where((k > 0) & (scores < lo + k * width), k - 1.0, k)
        k = np.where((k < top) & (scores >= lo + (k + 1.0) * width), k + 1.0, k)
        return k.astype(np.int64)

    def nearest_edge(self, threshold: float) -> int:
        """The index of the edge nearest to ``threshold`` (clipped to the grid)."""
        k = int(round((float(threshold) - self.lo) / self.width))
        return min(max(k, 0), self.bins)

    def describe(self) -> dict[str, Any]:
        """The resolution, for the audit record and the screen."""
        return {"bins": self.bins, "range": [self.lo, self.hi], "bin_width": self.width,
                "exact_at": "the bin edges lo + k * bin_width (k = 0 .. bins)",
                "between_edges": "a threshold is applied at the nearest edge; the ROC AUC counts two scores "
                                 "in the same bin as a tie"}

    def sentence(self) -> str:
        """One sentence stating the resolution (shown next to the score views)."""
        return (f"Scores are kept as histograms of {self.bins:,} bins per group and outcome: thresholds, ROC "
                f"and calibration are exact at multiples of {self.width:.6g} from {self.lo:g}; a threshold in "
                "between is applied at the nearest bin edge.")


@dataclass(frozen=True)
class ScoreHistograms:
    """Per intersection (rows of the counts table) and true label (0, 1): counts and score sums per bin.

    ``counts`` and ``sums`` have shape ``(K, 2, bins + 1)``.
    """

    grid: BinGrid
    counts: np.ndarray
    sums: np.ndarray

    def grouped(self, member: np.ndarray, n_groups: int) -> ScoreHistograms:
        """The histograms of coarser groups: row ``i`` is added to group ``member[i]``."""
        counts = np.zeros((n_groups, *self.counts.shape[1:]), dtype=np.int64)
        sums = np.zeros((n_groups, *self.sums.shape[1:]), dtype=np.float64)
        np.add.at(counts, member, self.counts)
        np.add.at(sums, member, self.sums)
        return ScoreHistograms(self.grid, counts, sums)


def histograms_from_rows(cell: np.ndarray, n_cells: int, y_true: np.ndarray, y_score: np.ndarray,
                         grid: BinGrid) -> ScoreHistograms:
    """Histograms of row scores, for the intersection codes ``cell`` (0 .. n_cells-1)."""
    size = grid.bins + 1
    key = (np.asarray(cell, dtype=np.int64) * 2 + np.asarray(y_true, dtype=np.int64)) * size + grid.assign(y_score)
    total = n_cells * 2 * size
    counts = np.bincount(key, minlength=total).reshape(n_cells, 2, size)
    sums = np.bincount(key, weights=np.asarray(y_score, dtype=np.float64), minlength=total).reshape(n_cells, 2, size)
    return ScoreHistograms(grid, counts.astype(np.int64), sums)


@dataclass(frozen=True)
class HistogramIndex:
    """The threshold explorer's index for one grouping, from score histograms (exact at the bin edges)."""

    labels: tuple[str, ...]
    histograms: ScoreHistograms

    @property
    def grid(self) -> BinGrid:
        return self.histograms.grid

    def _at_or_above(self) -> np.ndarray:
        """Scores at or above each edge, per group and label: ``(G, 2, bins + 1)``."""
        return np.cumsum(self.histograms.counts[:, :, ::-1], axis=2)[:, :, ::-1]

    def counts_at(self, threshold: float | np.ndarray) -> np.ndarray:
        """Confusion counts ``(G, 4)`` (TN, FP, FN, TP) at the edge nearest each threshold (or ``(T, G, 4)``)."""
        t = np.atleast_1d(np.asarray(threshold, dtype=np.float64))
        above = self._at_or_above()
        totals = self.histograms.counts.sum(axis=2)
        out = np.empty((t.size, len(self.labels), 4), dtype=np.int64)
        for i, value in enumerate(t):
            k = self.grid.nearest_edge(value)
            fp, tp = above[:, 0, k], above[:, 1, k]
            out[i, :, 0], out[i, :, 1] = totals[:, 0] - fp, fp
            out[i, :, 2], out[i, :, 3] = totals[:, 1] - tp, tp
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
        frames = [pd.DataFrame({
            "threshold": thresholds, "group": label,
            "selection_rate": rates["selection_rate"][:, g],
            "true_positive_rate": rates["true_positive_rate"][:, g],
            "false_positive_rate": rates["false_positive_rate"][:, g],
        }) for g, label in enumerate(self.labels)]
        return pd.concat(frames, ignore_index=True)

    def with_both_outcomes(self) -> int:
        """How many groups have both true labels (and so a ROC curve)."""
        totals = self.histograms.counts.sum(axis=2)
        return int(((totals[:, 0] > 0) & (totals[:, 1] > 0)).sum())

    def roc_auc(self, *, confidence: float = 0.95) -> pd.DataFrame:
        """ROC AUC per group from the histograms (same-bin pairs count one half), Hanley–McNeil interval."""
        z = float(normal_quantile(0.5 + confidence / 2))
        rows = []
        for g, label in enumerate(self.labels):
            neg, pos = self.histograms.counts[g, 0].astype(np.float64), self.histograms.counts[g, 1].astype(np.float64)
            n_pos, n_neg = pos.sum(), neg.sum()
            if n_pos == 0 or n_neg == 0:
                rows.append((label, np.nan, np.nan, np.nan))
                continue
            below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
            auc = float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))
            q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
            var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (n_pos * n_neg)
            half = z * np.sqrt(max(var, 0.0))
            rows.append((label, auc, max(0.0, auc - half), min(1.0, auc + half)))
        return pd.DataFrame(rows, columns=["group", "roc_auc", "roc_auc_low", "roc_auc_high"]).set_index("group")

    def roc_curves(self, *, max_points: int = 200) -> pd.DataFrame:
        """Tidy ROC points (fpr, tpr, threshold) per group at occupied bin edges, at most ``max_points``."""
        edges, above = self.grid.edges, self._at_or_above()
        frames = []
        for g, label in enumerate(self.labels):
            counts = self.histograms.counts[g]
            n_neg, n_pos = counts[0].sum(), counts[1].sum()
            if n_pos == 0 or n_neg == 0:
                continue
            cuts = np.flatnonzero(counts.sum(axis=0))
            if cuts.size > max_points:
                cuts = np.unique(cuts[np.round(np.linspace(0, cuts.size - 1, max_points)).astype(int)])
            frames.append(pd.DataFrame({
                "group": label, "threshold": np.concatenate([edges[cuts], [np.inf]]),
                "fpr": np.concatenate([above[g, 0, cuts] / n_neg, [0.0]]),
                "tpr": np.concatenate([above[g, 1, cuts] / n_pos, [0.0]])}))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["group", "threshold", "fpr", "tpr"])


def calibration_from_histograms(labels: Sequence[str], histograms: ScoreHistograms, *, n_bins: int = CALIBRATION_BINS,
                                confidence: float = 0.95) -> pd.DataFrame:
    """The calibration table (as ``scores.calibration_table``) from histograms: each calibration bin is
    ``bins / n_bins`` whole histogram bins (the top bin, scores at the last edge, joins the last one)."""
    grid = histograms.grid
    per = grid.bins // n_bins
    calib = np.minimum(np.arange(grid.bins + 1) // per, n_bins - 1)
    counts = np.zeros((len(labels), 2, n_bins), dtype=np.int64)
    sums = np.zeros((len(labels), n_bins))
    for b in range(n_bins):
        part = calib == b
        counts[:, :, b] = histograms.counts[:, :, part].sum(axis=2)
        sums[:, b] = histograms.sums[:, :, part].sum(axis=(1, 2))
    total = counts.sum(axis=1)
    group_idx, bin_idx = np.nonzero(total)
    n = total[group_idx, bin_idx]
    edges = grid.lo + np.arange(0, grid.bins + 1, per, dtype=np.float64) * grid.width
    table = pd.DataFrame({
        "group": np.asarray(labels, dtype=object)[group_idx], "bin": bin_idx, "count": n,
        "mean_score": sums[group_idx, bin_idx] / n,
        "observed_rate": counts[group_idx, 1, bin_idx] / n,
    })
    z = float(normal_quantile(0.5 + confidence / 2))
    nf, p = table["count"].to_numpy(float), table["observed_rate"].to_numpy(float)
    centre = (p + z**2 / (2 * nf)) / (1 + z**2 / nf)
    half = z * np.sqrt(p * (1 - p) / nf + z**2 / (4 * nf**2)) / (1 + z**2 / nf)
    table["observed_low"], table["observed_high"] = centre - half, centre + half
    table["bin_low"], table["bin_high"] = edges[table["bin"]], edges[table["bin"] + 1]
    return table
