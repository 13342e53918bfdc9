"""What an out-of-core engine computes, and the checks of ``spec.prepare`` on column statistics.

An engine first reads a few statistics of the columns the spec names (one pass: missing values, the
range of the scores and of binned features, approximate distinct counts), checked here with the
messages ``spec.prepare`` gives; then quantile bin edges, exactly as ``numpy.nanquantile`` computes
them, from each binned feature's value counts; then one grouped pass (see ``engines.finish``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from auditapp.core.errors import AuditInputError
from auditapp.core.limits import max_groups
from auditapp.core.spec import DEFAULT_THRESHOLD, AuditSpec
from auditapp.engines.histograms import BinGrid

# Guards against grouping by a column with millions of values (the exact checks come after grouping).
MAX_TARGET_DISTINCT = 64


@dataclass(frozen=True)
class ColumnStats:
    """One pass over the source: counts of missing and unreadable values, ranges, distinct counts."""

    rows: int
    missing: dict[str, int] = field(default_factory=dict)        # NULL or NaN
    not_numeric: dict[str, int] = field(default_factory=dict)    # present but not a number
    example: dict[str, object] = field(default_factory=dict)     # a value that is not a number
    low: dict[str, float] = field(default_factory=dict)
    high: dict[str, float] = field(default_factory=dict)
    distinct: dict[str, int] = field(default_factory=dict)       # approximate


@dataclass(frozen=True)
class Plan:
    """What the grouped pass computes: binned features' edges, the score threshold and histogram grid."""

    spec: AuditSpec
    edges: dict[str, tuple[float, ...]]
    threshold: float | None
    grid: BinGrid | None
    source: str

    @property
    def numeric(self) -> list[str]:
        """Columns read as numbers: binned sensitive features and the score column."""
        return [*self.spec.bins, *([self.spec.score] if self.spec.score else [])]

    @property
    def scores(self) -> tuple[str, BinGrid, float]:
        """The score column, its histogram grid and the threshold, for the score passes.

        Raises
        ------
        AuditInputError
            When the plan has no score column (a pass over scores was asked of an audit without them).
        """
        if self.spec.score is None or self.grid is None or self.threshold is None:
            raise AuditInputError("This audit has no score column, so there are no scores to count.")
        return self.spec.score, self.grid, float(self.threshold)


def needed_stats(spec: AuditSpec) -> dict[str, list[str]]:
    """Which columns need which statistic."""
    numeric = [*spec.bins, *([spec.score] if spec.score else [])]
    plain = [n for n in spec.sensitive if n not in spec.bins]
    return {"missing": [spec.target, *([spec.prediction] if spec.prediction else []), *numeric],
            "numeric": numeric, "distinct": [spec.target, *plain]}


def check_stats(spec: AuditSpec, stats: ColumnStats, *, where: str) -> None:
    """Raise what ``spec.prepare`` raises for these statistics (``where`` names the source)."""
    if stats.rows == 0:
        raise AuditInputError(f"{where} has no rows to audit.")
    target_missing = stats.missing.get(spec.target, 0)
    if target_missing:
        raise AuditInputError(
            f"The target column '{spec.target}' has {target_missing:,} missing value(s) in {where}. Fill them "
            "or remove those rows before auditing.")
    if stats.distinct.get(spec.target, 0) > MAX_TARGET_DISTINCT:
        raise AuditInputError(
            f"The target column '{spec.target}' has about {stats.distinct[spec.target]:,} distinct values in "
            f"{where}; an audit needs two outcomes. Choose a binary target or map the favourable outcome to "
            "one value.")
    limit = max_groups()
    for name in spec.sensitive:
        if name not in spec.bins and stats.distinct.get(name, 0) > 2 * limit + 100:
            raise AuditInputError(
                f"The sensitive feature '{name}' has about {stats.distinct[name]:,} distinct values; at most "
                f"{limit:,} groups make sense (AUDITAPP_MAX_GROUPS). Bin it (e.g. --bins {name}=q4) or choose "
                "another column.")
    if spec.prediction and stats.missing.get(spec.prediction, 0):
        raise AuditInputError(
            f"The prediction column '{spec.prediction}' has {stats.missing[spec.prediction]:,} missing "
            "value(s). Every row needs a prediction.")
    for name in spec.bins:
        if stats.not_numeric.get(name, 0):
            raise AuditInputError(f"'{name}' has non-numeric values, so it cannot be binned. Remove its bins.")
    if spec.score:
        bad = stats.not_numeric.get(spec.score, 0)
        if bad:
            raise AuditInputError(
                f"The score column '{spec.score}' has {bad:,} value(s) that are not numbers "
                f"(e.g. {str(stats.example.get(spec.score))!r}). Choose a numeric score column.")
        if stats.missing.get(spec.score, 0):
            raise AuditInputError(
                f"The score column '{spec.score}' has {stats.missing[spec.score]:,} missing value(s). "
                "Every row needs a score.")
        low, high = stats.low[spec.score], stats.high[spec.score]
        if spec.threshold is None and (low < 0 or high > 1):
            raise AuditInputError(
                f"The scores in '{spec.score}' run from {low:g} to {high:g}, outside [0, 1], so the default "
                "threshold 0.5 means nothing. Give a threshold (--threshold) on the score's own scale.")


def check_edges(name: str, edges: tuple[float, ...], stats: ColumnStats) -> None:
    """``spec._binned``'s check: no value of ``name`` outside the bin edges."""
    low, high = stats.low.get(name), stats.high.get(name)
    if low is None or np.isnan(low):
        return
    outside = [v for v in (low, high) if v is not None and (v < edges[0] or v > edges[-1])]
    if outside:
        raise AuditInputError(
            f"Some value(s) of '{name}' lie outside the bin edges [{edges[0]:g}, {edges[-1]:g}] "
            f"(e.g. {float(outside[0]):g}). Widen the first or last edge so that no row is left out.")


def exact_quantiles(values: np.ndarray, counts: np.ndarray, quantiles: int, name: str) -> tuple[float, ...]:
    """The edges ``spec.resolved_edges`` computes (``np.nanquantile``, linear) from sorted distinct values
    and their counts, bit for bit: numpy's virtual index, neighbours and interpolation."""
    values = np.asarray(values, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    if n == 0:
        return ()
    q = np.linspace(0, 1, quantiles + 1)
    virtual = np.asanyarray(n * q + (1 + q * (1 - 1 - 1)) - 1)
    previous = np.floor(virtual)
    following = previous + 1
    above, below = virtual >= n - 1, virtual < 0
    previous[above], following[above] = n - 1, n - 1
    previous[below], following[below] = 0, 0
    gamma = np.asanyarray(virtual - np.where(above, -1.0, previous), dtype=np.float64)
    cumulative = np.cumsum(counts)

    def at(index: np.ndarray) -> np.ndarray:
        return values[np.searchsorted(cumulative, index.astype(np.int64), side="right")]

    a, b = at(previous), at(following)
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    edges = np.unique(out)
    if len(edges) < 2:
        raise AuditInputError(f"'{name}' has a single value, so it cannot be cut into quantiles.")
    return tuple(float(e) for e in edges)


def make_plan(spec: AuditSpec, stats: ColumnStats, edges: dict[str, tuple[float, ...]], *, bins: int,
              has_model: bool) -> Plan:
    """The plan of the grouped pass, once the statistics are checked and the edges known."""
    for name, cut in edges.items():
        check_edges(name, cut, stats)
    if spec.prediction is not None:
        return Plan(spec, edges, spec.threshold, None, "prediction")
    if spec.score is not None:
        threshold = DEFAULT_THRESHOLD if spec.threshold is None else float(spec.threshold)
        grid = BinGrid.for_scores(stats.low[spec.score], stats.high[spec.score], bins)
        return Plan(spec, edges, threshold, grid, "score")
    if not has_model:
        raise AuditInputError(
            "Say where the predictions come from: a prediction column, a score column, or a model file.")
    return Plan(spec, edges, spec.threshold, BinGrid.for_scores(0.0, 1.0, bins), "model")
