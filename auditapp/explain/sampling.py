"""Stratified row samples for SHAP, and bootstrap means that account for the stratification.

SHAP is the slow part of an explanation, so only a sample of rows is explained: at most
``rows_per_group`` rows from every intersectional group (cell) of the sensitive features. Each
sampled row stands for ``cell size / sampled rows`` rows of its cell, so means over a group or over
the whole dataset are weighted by cell and stay unbiased. The bootstrap resamples rows within each
cell, which is how the sample was drawn, and tells how much the sample could move each number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError


@dataclass(frozen=True)
class StratifiedSample:
    """Which rows were sampled, from which cell, and how many rows each cell has in full.

    ``positions`` index rows of the full frame (sorted); ``cells`` is the cell code of each sampled
    row; ``cell_sizes`` the full-data size of every cell and ``cell_labels`` its sensitive values.
    """

    positions: np.ndarray
    cells: np.ndarray
    cell_sizes: np.ndarray
    cell_labels: pd.DataFrame
    rows_per_group: int
    seed: int

    @property
    def n_rows(self) -> int:
        return int(self.positions.size)

    @property
    def cell_counts(self) -> np.ndarray:
        """Sampled rows per cell."""
        return np.bincount(self.cells, minlength=self.cell_sizes.size)


def stratified_sample(sensitive_features: pd.DataFrame, *, rows_per_group: int = 1000,
                      seed: int = 0) -> StratifiedSample:
    """Sample at most ``rows_per_group`` rows from each intersectional group, without replacement.

    Parameters
    ----------
    sensitive_features : DataFrame
        One column per sensitive feature, one row per dataset row (values compared as strings).
    rows_per_group : int, default 1000
        Cap per intersectional group; smaller groups are taken whole.
    seed : int, default 0
        Seed for ``np.random.default_rng``.

    Returns
    -------
    StratifiedSample

    Raises
    ------
    AuditInputError
        If ``rows_per_group`` is below 10 or there are no rows.
    """
    if isinstance(rows_per_group, bool) or int(rows_per_group) < 10:
        raise AuditInputError(
            f"The number of rows to explain per group must be at least 10, got {rows_per_group}. "
            "Use 1000 (the default) or more for stable importances."
        )
    if len(sensitive_features) == 0:
        raise AuditInputError("The dataset has no rows to explain.")
    rows_per_group = int(rows_per_group)
    text = sensitive_features.astype(str)
    codes, uniques = pd.MultiIndex.from_frame(text).factorize(sort=True)
    labels = pd.DataFrame(list(uniques), columns=list(text.columns))
    sizes = np.bincount(codes, minlength=len(labels))
    rng = np.random.default_rng(seed)
    # A random key per row, ranked within its cell: the lowest keys of each cell are its sample.
    order = np.lexsort((rng.random(codes.size), codes))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank = np.empty(codes.size, dtype=np.int64)
    rank[order] = np.arange(codes.size) - np.repeat(starts, sizes)
    positions = np.flatnonzero(rank < rows_per_group)
    return StratifiedSample(positions=positions, cells=codes[positions].astype(np.int64),
                            cell_sizes=sizes, cell_labels=labels, rows_per_group=rows_per_group,
                            seed=int(seed))


def group_weights(sample: StratifiedSample, members: np.ndarray) -> np.ndarray:
    """Weights over cells for the population mean of a group made of the cells ``members`` (bool).

    Returns an array over cells summing to 1 (cells outside the group get 0).
    """
    sizes = np.where(members, sample.cell_sizes, 0).astype(np.float64)
    sizes[sample.cell_counts == 0] = 0.0
    total = sizes.sum()
    return sizes / total if total > 0 else sizes


def cell_means(sample: StratifiedSample, values: np.ndarray, *, n_boot: int,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell means of ``values`` (rows × k) and their bootstrap replicates.

    Returns ``(means, replicates)`` of shapes ``(cells, k)`` and ``(n_boot, cells, k)``; rows are
    resampled with replacement within each cell.
    """
    values = np.asarray(values, dtype=np.float64)
    n_cells, k = sample.cell_sizes.size, values.shape[1]
    means = np.zeros((n_cells, k))
    replicates = np.zeros((n_boot, n_cells, k))
    rng = np.random.default_rng(seed)
    for cell in range(n_cells):
        rows = np.flatnonzero(sample.cells == cell)
        if rows.size == 0:
            continue
        block = values[rows]
        means[cell] = block.mean(axis=0)
        if n_boot:
            draws = rng.multinomial(rows.size, np.full(rows.size, 1.0 / rows.size), size=n_boot)
            replicates[:, cell] = draws @ block / rows.size
    return means, replicates


def interval(replicates: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the first axis (NaN when there are no replicates)."""
    if replicates.shape[0] == 0:
        nan = np.full(replicates.shape[1:], np.nan)
        return nan, nan.copy()
    alpha = (1.0 - confidence) / 2.0
    return (np.quantile(replicates, alpha, axis=0), np.quantile(replicates, 1.0 - alpha, axis=0))
