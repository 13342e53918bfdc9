"""The contract every aggregation engine keeps: a data source and a spec in, the counts table and the
score histograms out.

An audit needs far less than the rows: every group metric, gap, test and interval is computed from the
confusion counts per intersection of the sensitive features (``metrics.compute_audit_from_counts``), and
the threshold explorer, ROC and calibration from each intersection's score histogram split by outcome
(``engines.histograms``). An engine computes those two tables where the data lives (in memory with
pandas, out of core with DuckDB, across a cluster with Spark); the rest of the audit is the same code.

Every engine applies the spec with the same rules as ``spec.prepare`` (the favourable value, the
prediction column's values, missing sensitive values as ``(missing)``, bins, the ≥ threshold rule), so
the same data give the same counts, whichever engine reads them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from auditapp.core.spec import AuditSpec
from auditapp.engines.histograms import ScoreHistograms

CELLS = ("tn", "fp", "fn", "tp")
ENGINES = ("pandas", "duckdb", "spark")
# progress(fraction done in [0, 1], what is happening)
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Aggregates:
    """What an engine returns: the counts table, and the score histograms when there are scores.

    ``cells`` has one row per observed intersection, sorted by the group labels: a column per sensitive
    feature (its label, as ``spec.sensitive_frame`` gives it) and the counts ``tn, fp, fn, tp``.
    ``histograms`` (or None without scores) are aligned with the rows of ``cells``. ``source``,
    ``threshold``, ``decision_rule`` and ``notices`` are those of ``spec.prepare``.
    """

    features: tuple[str, ...]
    cells: pd.DataFrame
    histograms: ScoreHistograms | None
    source: str
    threshold: float | None
    decision_rule: str
    engine: str
    notices: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return int(self.cells[list(CELLS)].to_numpy().sum())


@dataclass(frozen=True)
class StratifiedSample:
    """Rows drawn by an engine, stratified by intersection × outcome, and what that means for intervals.

    ``strata`` has per stratum (the sensitive features' labels and ``outcome``) the rows in the data
    (``rows``) and in the sample (``sampled``).
    """

    frame: pd.DataFrame
    strata: pd.DataFrame
    total_rows: int
    seed: int
    engine: str

    @property
    def size(self) -> int:
        return int(len(self.frame))

    def statement(self) -> str:
        """What the sample is and how much wider its intervals are than those on every row."""
        rows, sampled = self.strata["rows"].to_numpy(float), self.strata["sampled"].to_numpy(float)
        full = sampled >= rows
        widen = np.sqrt(rows[~full] / np.maximum(sampled[~full], 1)) if (~full).any() else np.array([1.0])
        low, high = float(widen.min()), float(widen.max())
        factor = f"{low:.1f}×" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}–{high:.1f}×"
        return (f"Explanations and mitigations use a sample of {self.size:,} of {self.total_rows:,} rows drawn "
                f"by the {self.engine} engine (seed {self.seed}), stratified by group × outcome: every stratum "
                f"keeps its share of the rows, and at least {MIN_PER_STRATUM} rows (all of a smaller one); "
                f"{int(full.sum())} of {len(full)} strata are complete. Numbers computed on the sample have "
                f"intervals about {factor} wider than the same numbers "
                "on every row (the square root of rows ÷ sampled rows of each stratum); the audit's own "
                "group metrics and intervals use every row.")


MIN_PER_STRATUM = 50


def allocate(rows: np.ndarray, size: int) -> np.ndarray:
    """Rows to draw per stratum: each its share of ``size`` (largest remainders), at least
    ``MIN_PER_STRATUM`` (or all of a smaller stratum), never more than it has."""
    rows = np.asarray(rows, dtype=np.int64)
    total = int(rows.sum())
    if total <= size:
        return rows.copy()
    exact = rows * (size / total)
    take = np.floor(exact).astype(np.int64)
    left = size - int(take.sum())
    if left > 0:
        order = np.argsort(-(exact - take), kind="stable")[:left]
        take[order] += 1
    return np.asarray(np.minimum(np.maximum(take, np.minimum(rows, MIN_PER_STRATUM)), rows), dtype=np.int64)


class Engine(Protocol):
    """An aggregation engine over one data source."""

    name: str

    def columns(self) -> list[str]:
        """The source's column names."""

    def count_rows(self) -> int:
        """The source's rows."""

    def aggregate(self, spec: AuditSpec, model: Any = None, *, bins: int,
                  progress: Progress | None = None) -> Aggregates:
        """The counts table and score histograms of ``spec`` (and ``model``) on the whole source."""

    def sample(self, spec: AuditSpec, *, size: int, seed: int, columns: list[str] | None = None) -> StratifiedSample:
        """At most about ``size`` rows, stratified by intersection × outcome (see :func:`allocate`)."""

    def preview(self, *, size: int, seed: int) -> pd.DataFrame:
        """About ``size`` rows drawn uniformly (seeded), to choose columns and values from."""

    def close(self) -> None:
        """Release what the engine holds (connections, sessions it started)."""
