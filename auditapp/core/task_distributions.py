"""Per-group distributions of predictions and residuals (for box plots), and cutoff rates for regression.

The cutoff view is the regression analogue of the threshold explorer: "prediction above X" turns amounts
into a selection, and each group's share above X is a proportion with the rates' interval (Wilson with
exact ends). Predictions are sorted once per group, so a new cutoff costs one ``searchsorted`` per group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from auditapp.core.intervals import proportion_interval, z_value
from auditapp.core.task_groups import RowGrouping

__all__ = ["BOX_QUANTILES", "GroupDistributions", "group_distributions", "CutoffIndex", "cutoff_index"]

BOX_QUANTILES = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}


@dataclass(frozen=True)
class GroupDistributions:
    """``predictions`` and ``residuals``: indexed by group, columns ``count``, ``mean`` and ``BOX_QUANTILES``."""

    features: tuple[str, ...]
    predictions: pd.DataFrame
    residuals: pd.DataFrame


def _summaries(values: np.ndarray, slices: list[np.ndarray], labels: Sequence[str]) -> pd.DataFrame:
    rows = []
    for rows_g in slices:
        v = values[rows_g]
        rows.append([v.size, float(np.mean(v)) if v.size else np.nan,
                     *(np.quantile(v, list(BOX_QUANTILES.values())) if v.size else [np.nan] * len(BOX_QUANTILES))])
    return pd.DataFrame(rows, columns=["count", "mean", *BOX_QUANTILES], index=pd.Index(list(labels), name="group"))


def _slices(grouping: RowGrouping) -> list[np.ndarray]:
    order = np.argsort(grouping.codes, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(grouping.sizes)])
    return [order[bounds[g]:bounds[g + 1]] for g in range(len(grouping.labels))]


def group_distributions(y_true: ArrayLike, y_pred: ArrayLike, grouping: RowGrouping) -> GroupDistributions:
    """Quantiles of predictions and of residuals (prediction − outcome) per group of ``grouping``."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    slices = _slices(grouping)
    return GroupDistributions(grouping.features, _summaries(y_pred, slices, grouping.labels),
                              _summaries(y_pred - y_true, slices, grouping.labels))


@dataclass(frozen=True)
class CutoffIndex:
    """Each group's predictions, sorted, to answer "share of the group predicted above X" at any X."""

    features: tuple[str, ...]
    labels: tuple[str, ...]
    sorted_predictions: tuple[np.ndarray, ...]
    low: float
    high: float

    def rates(self, cutoff: float, *, confidence: float = 0.95) -> pd.DataFrame:
        """Per group: ``count``, ``above`` (predictions strictly above ``cutoff``), ``rate`` and its interval,
        and ``impact_ratio`` (rate ÷ the highest group's rate)."""
        n = np.array([s.size for s in self.sorted_predictions], dtype=np.float64)
        above = np.array([s.size - np.searchsorted(s, cutoff, side="right") for s in self.sorted_predictions],
                         dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, above / np.maximum(n, 1), np.nan)
            top = np.nanmax(rate) if np.any(rate > 0) else np.nan
            impact = rate / top
        low, high = proportion_interval(above, n, z_value(confidence))
        return pd.DataFrame({"count": n.astype(np.int64), "above": above.astype(np.int64), "rate": rate,
                             "rate_low": low, "rate_high": high, "impact_ratio": impact},
                            index=pd.Index(list(self.labels), name="group"))


def cutoff_index(y_pred: ArrayLike, grouping: RowGrouping) -> CutoffIndex:
    """Sort ``y_pred`` once per group of ``grouping``."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    parts = tuple(np.sort(y_pred[rows]) for rows in _slices(grouping))
    return CutoffIndex(grouping.features, grouping.labels, parts, float(np.min(y_pred)), float(np.max(y_pred)))
