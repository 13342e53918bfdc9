"""A randomised candidate reported as its expectation, with the spread of single draws beside it.

ThresholdOptimizer and ExponentiatedGradient decide at random: row ``i`` is favourable with probability
``p_i`` (ThresholdOptimizer: ``p0·[s > t0] + p1·[s > t1]`` per group, its mixing probabilities;
ExponentiatedGradient: the weighted vote of its models, fairlearn's ``_pmf_predict``). One draw of those
decisions is one number among many (ExponentiatedGradient's equalized-odds gap moved from 0.05 to 0.18
between draw seeds), so the reported numbers are expectations, in closed form:

- the expected confusion counts of a group are sums of ``p_i`` (favourable) and ``1 − p_i``
  (unfavourable) over its rows with each true label; rates whose denominator does not depend on the
  decisions (selection rate, accuracy, TPR, FPR, their complements) are exact expectations; precision
  and the other rates over predicted labels are ratios of expected counts;
- a criterion (e.g. the largest gap in selection rate) is the criterion of those expected rates: the
  gap the randomised classifier has on average over draws of each group's rate, which is what
  fairlearn's constraints bound.

Beside each number :func:`draw_spread` states the 5th and 95th percentiles over seeded single draws,
which is how far one realisation (e.g. an exported model's decisions on these rows) can land from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from auditapp.core.rates import FN, FP, TN, TP, rates_from_counts

DRAWS = 200
# The audit's spread criteria (``auditapp.core.metrics.CRITERIA``) whose expectation is computed here: the
# largest gap across groups in these rates (the ratio: smallest ÷ largest selection rate). A criterion the
# audit adds that is not listed keeps the audit's value of the rounded decisions.
SPREADS: dict[str, tuple[str, ...]] = {
    "demographic_parity_difference": ("selection_rate",),
    "demographic_parity_ratio": ("selection_rate",),
    "equal_opportunity_difference": ("true_positive_rate",),
    "equalized_odds_difference": ("true_positive_rate", "false_positive_rate"),
    "predictive_parity_difference": ("precision",),
    "accuracy_equality_difference": ("accuracy",),
}
CHUNK = 4_000_000
QUANTILES = (0.05, 0.95)


@dataclass(frozen=True)
class DrawSpread:
    """Percentiles (``quantiles``) over ``draws`` seeded single draws of a randomised candidate's decisions.

    ``accuracy``, ``balanced_accuracy`` and each of ``criteria`` are ``(low, high)`` pairs.
    """

    draws: int
    seed: int
    quantiles: tuple[float, float]
    accuracy: tuple[float, float]
    balanced_accuracy: tuple[float, float]
    criteria: Mapping[str, tuple[float, float]]


@dataclass(frozen=True)
class Expectation:
    """Exact expected accuracy, balanced accuracy and criteria (on the given grouping) of a randomised rule."""

    accuracy: float
    balanced_accuracy: float
    criteria: Mapping[str, float]


def expected_counts(y_true: Any, probabilities: Any, codes: Any, n_groups: int) -> np.ndarray:
    """Expected confusion counts ``(n_groups, 4)`` ordered TN, FP, FN, TP (floats)."""
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.int64)
    out = np.zeros((n_groups, 4))
    positive = y == 1
    out[:, TN] = np.bincount(codes[~positive], weights=1.0 - p[~positive], minlength=n_groups)
    out[:, FP] = np.bincount(codes[~positive], weights=p[~positive], minlength=n_groups)
    out[:, FN] = np.bincount(codes[positive], weights=1.0 - p[positive], minlength=n_groups)
    out[:, TP] = np.bincount(codes[positive], weights=p[positive], minlength=n_groups)
    return out


def _spread(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max − min and min ÷ max over the last axis, ignoring undefined (NaN) groups, as the audit does."""
    defined = ~np.isnan(values)
    some = defined.any(axis=-1)
    high = np.where(some, np.max(np.where(defined, values, -np.inf), axis=-1), np.nan)
    low = np.where(some, np.min(np.where(defined, values, np.inf), axis=-1), np.nan)
    ratio = np.full(np.shape(high), np.nan)
    np.divide(low, high, out=ratio, where=some & (high > 0))
    return high - low, ratio


def criterion_values(name: str, counts: np.ndarray) -> np.ndarray:
    """A criterion of ``SPREADS`` from counts ``(..., groups, 4)`` (one value per leading index)."""
    rates = rates_from_counts(counts)
    if name == "demographic_parity_ratio":
        return _spread(rates["selection_rate"])[1]
    gaps = [_spread(rates[metric])[0] for metric in SPREADS[name]]
    return np.maximum.reduce(gaps) if len(gaps) > 1 else gaps[0]


def _overall(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    total = rates_from_counts(counts.sum(axis=-2))
    return total["accuracy"], total["balanced_accuracy"]


def expectation(y_true: Any, probabilities: Any, codes: Any, n_groups: int) -> Expectation:
    """Exact expectations of a randomised rule on these rows (``codes``: each row's group, 0..n_groups−1)."""
    counts = expected_counts(y_true, probabilities, codes, n_groups)
    accuracy, balanced = _overall(counts)
    return Expectation(float(accuracy), float(balanced),
                       {name: float(criterion_values(name, counts)) for name in SPREADS})


def draw_spread(y_true: Any, probabilities: Any, codes: Any, n_groups: int, *, draws: int = DRAWS, seed: int = 0,
                quantiles: tuple[float, float] = QUANTILES) -> DrawSpread:
    """Percentiles of accuracy, balanced accuracy and every criterion over seeded single draws.

    Only rows whose probability is strictly between 0 and 1 are drawn; the others are fixed.
    """
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.int64)
    cell = codes * 2 + y
    fixed = np.zeros((n_groups * 2, 2))
    sure = (p <= 0.0) | (p >= 1.0)
    np.add.at(fixed, (cell[sure], (p[sure] >= 1.0).astype(np.int64)), 1.0)
    random_rows = np.flatnonzero(~sure)
    order = random_rows[np.argsort(cell[random_rows], kind="stable")]
    favourable = np.zeros((draws, n_groups * 2))
    if order.size:
        rng = np.random.default_rng(seed)
        cells, starts = np.unique(cell[order], return_index=True)
        step = max(1, CHUNK // order.size)  # draws per chunk, so a chunk holds about CHUNK numbers
        for first in range(0, draws, step):
            last = min(draws, first + step)
            decided = (rng.random((last - first, order.size)) < p[order]).astype(np.float64)
            favourable[first:last, cells] = np.add.reduceat(decided, starts, axis=1)
    sizes = np.bincount(cell[order], minlength=n_groups * 2).astype(np.float64)
    positive_cells = favourable + fixed[:, 1]  # favourable decisions per (group, label) cell
    negative_cells = sizes + fixed[:, 0] - favourable
    counts = np.zeros((draws, n_groups, 4))
    counts[..., TN] = negative_cells[:, 0::2]
    counts[..., FP] = positive_cells[:, 0::2]
    counts[..., FN] = negative_cells[:, 1::2]
    counts[..., TP] = positive_cells[:, 1::2]
    accuracy, balanced = _overall(counts)

    def band(values: Any) -> tuple[float, float]:
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)]
        if values.size == 0:
            return (float("nan"), float("nan"))
        low, high = np.quantile(values, quantiles)
        return (float(low), float(high))

    return DrawSpread(int(draws), int(seed), (float(quantiles[0]), float(quantiles[1])), band(accuracy), band(balanced),
                      {name: band(criterion_values(name, counts)) for name in SPREADS})


def rounded_decisions(y_true: Any, probabilities: Any, codes: Any) -> np.ndarray:
    """0/1 decisions whose counts are the expected counts rounded to whole rows, per group × label.

    In each cell (group, true label) the ``round(Σ p)`` rows with the highest probability are
    favourable, so every per-group count is within half a row of its expectation. The audit of a
    randomised candidate (per-group tables, intervals, tests) is computed on these decisions.
    """
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    cell = np.asarray(codes, dtype=np.int64) * 2 + y
    order = np.lexsort((-p, cell))  # by cell, then highest probability first
    sorted_cells = cell[order]
    cells, starts, sizes = np.unique(sorted_cells, return_index=True, return_counts=True)
    wanted = np.floor(np.bincount(cell, weights=p, minlength=int(cell.max()) + 1 if cell.size else 0)[cells] + 0.5)
    rank = np.arange(order.size) - np.repeat(starts, sizes)
    out = np.zeros(p.size, dtype=np.int8)
    out[order] = (rank < np.repeat(wanted, sizes)).astype(np.int8)
    return out
