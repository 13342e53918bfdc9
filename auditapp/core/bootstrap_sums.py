"""Bootstrap replicates of per-group column sums, and percentile intervals that hold up in small groups.

Every regression metric (mean outcome, mean prediction, mean error, MAE, RMSE, R², the SD behind the
standardized mean difference) is a function of a group's row count and a few column sums, so a replicate
only needs those sums. Rows are resampled with replacement *within* each group (the group sizes are
fixed, as in a stratified design):

- a group of at most ``ROW_LIMIT`` rows: each replicate is an exact multinomial draw over its rows;
- a larger group: its rows are dealt at random into ``BLOCKS`` blocks and each replicate weighs every
  block by an independent Poisson(1) count (the Poisson bootstrap, over blocks). The replicate sums have
  the same mean and, to first order, the same variance as a row bootstrap (each block is a random subset of
  the rows; the statistics are ratios of sums, so the varying total weight cancels);
  ``bench/coverage_regression.py`` checks the coverage of both regimes. This keeps 1,000 replicates of a
  1,000,000-row group at about 25 ms.

Intervals are **expanded percentile** intervals (Hesterberg 2015): the percentile levels are widened as
for a t interval, ``α'/2 = Φ(−√(n/(n−1))·t_{1−α/2, n−1})``, which corrects the percentile bootstrap's
known under-coverage for small n and leaves large groups unchanged. A group below ``MIN_ROWS`` rows gets
no interval (too few to estimate), as for rates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

__all__ = ["ROW_LIMIT", "BLOCKS", "MIN_ROWS", "replicate_sums", "expanded_levels", "percentile_interval"]

ROW_LIMIT = 2_000
BLOCKS = 1_000
MIN_ROWS = 10


def replicate_sums(columns: Sequence[np.ndarray], codes: np.ndarray, n_groups: int, *, n_boot: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Replicate counts ``(B, G)`` and column sums ``(B, G, m)`` of ``columns`` (m arrays of n rows) per group.

    ``codes`` gives each row's group in ``0..n_groups-1``.
    """
    n_cols = len(columns)
    sizes = np.bincount(codes, minlength=n_groups)
    counts = np.zeros((n_boot, n_groups))
    sums = np.zeros((n_boot, n_groups, n_cols))
    large = sizes > ROW_LIMIT
    if large.any():  # every large group's blocks in one pass over the rows
        key = codes * BLOCKS + rng.integers(0, BLOCKS, size=codes.size)
        length = n_groups * BLOCKS
        block_n = np.bincount(key, minlength=length).reshape(n_groups, BLOCKS).astype(np.float64)
        block_sums = np.stack([np.bincount(key, weights=column, minlength=length)
                               for column in columns], axis=-1).reshape(n_groups, BLOCKS, n_cols)
    small = np.flatnonzero(~large & (sizes > 0))
    if small.size:
        order = np.argsort(codes, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(sizes)])
    for g in range(n_groups):
        if large[g]:
            weights = rng.poisson(1.0, size=(n_boot, BLOCKS)).astype(np.float64)
            counts[:, g] = weights @ block_n[g]
            sums[:, g, :] = weights @ block_sums[g]
        elif sizes[g] > 0:
            picked = order[bounds[g]:bounds[g + 1]]
            rows = np.column_stack([column[picked] for column in columns])
            weights = rng.multinomial(sizes[g], np.full(sizes[g], 1.0 / sizes[g]), size=n_boot).astype(np.float64)
            counts[:, g] = sizes[g]
            sums[:, g, :] = weights @ rows
    return counts, sums


def expanded_levels(n: ArrayLike, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile levels (fractions) of the expanded percentile interval for size ``n``."""
    n = np.asarray(n, dtype=np.float64)
    alpha = 1.0 - float(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.maximum(n - 1.0, 1.0)
        t = special.stdtrit(df, 1.0 - alpha / 2.0)
        half = special.ndtr(-np.sqrt(n / df) * t)
    half = np.where(n >= 2, half, np.nan)
    return half, 1.0 - half


def percentile_interval(replicates: np.ndarray, n: ArrayLike, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Expanded percentile interval of ``replicates`` ``(B, ...)``, per trailing element; ``n`` broadcasts
    to the trailing shape (the size that sets the expansion). NaN where ``n < MIN_ROWS`` or where a
    replicate is undefined."""
    reps = np.asarray(replicates, dtype=np.float64)
    shape = reps.shape[1:]
    flat = reps.reshape(reps.shape[0], -1)
    sizes = np.broadcast_to(np.asarray(n, dtype=np.float64), shape).ravel()
    lo_level, hi_level = expanded_levels(sizes, confidence)
    low, high = np.full(flat.shape[1], np.nan), np.full(flat.shape[1], np.nan)
    ok = (sizes >= MIN_ROWS) & np.all(np.isfinite(flat), axis=0)
    for j in np.flatnonzero(ok):
        low[j], high[j] = np.quantile(flat[:, j], [lo_level[j], hi_level[j]])
    return low.reshape(shape), high.reshape(shape)
