"""The in-memory engine: today's path (``spec.prepare`` on a pandas frame), reduced to the contract.

Every row is prepared exactly as ``audit.run_audit`` prepares it; the counts table and histograms are
then tabulated from the rows. This is the reference the out-of-core engines are tested against.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.spec import AuditSpec, prepare
from auditapp.engines.base import Aggregates, Progress, StratifiedSample, allocate
from auditapp.engines.finish import tabulate
from auditapp.engines.histograms import DEFAULT_BINS, BinGrid


class PandasEngine:
    """The contract over a DataFrame already in memory."""

    name = "pandas"

    def __init__(self, frame: pd.DataFrame, *, label: str = "the dataset"):
        self.frame = frame
        self.label = label

    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    def count_rows(self) -> int:
        return int(len(self.frame))

    def aggregate(self, spec: AuditSpec, model: Any = None, *, bins: int = DEFAULT_BINS,
                  progress: Progress | None = None) -> Aggregates:
        data = prepare(self.frame, spec, model)
        return aggregates_from_data(data, spec, bins=bins, engine=self.name)

    def sample(self, spec: AuditSpec, *, size: int, seed: int, columns: list[str] | None = None) -> StratifiedSample:
        from auditapp.core.spec import _labels, sensitive_frame

        labels = sensitive_frame(self.frame, spec)
        outcome = _labels(self.frame, spec)
        strata = labels.assign(outcome=outcome)
        keys = list(strata.columns)
        codes, uniques = pd.MultiIndex.from_frame(strata.astype(str)).factorize(sort=True)
        sizes = np.bincount(codes, minlength=len(uniques))
        take = allocate(sizes, size)
        rng = np.random.default_rng(seed)
        chosen = []
        for c in range(len(uniques)):
            members = np.flatnonzero(codes == c)
            chosen.append(np.sort(rng.choice(members, size=int(take[c]), replace=False)))
        rows = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
        frame = self.frame.iloc[rows] if columns is None else self.frame.iloc[rows][columns]
        table = pd.DataFrame(list(uniques), columns=keys).assign(rows=sizes, sampled=take)
        return StratifiedSample(frame.reset_index(drop=True), table, int(len(self.frame)), int(seed), self.name)

    def preview(self, *, size: int, seed: int) -> pd.DataFrame:
        if len(self.frame) <= size:
            return self.frame.reset_index(drop=True)
        return self.frame.sample(n=int(size), random_state=int(seed)).sort_index().reset_index(drop=True)

    def close(self) -> None:
        return None


def aggregates_from_data(data: Any, spec: AuditSpec, *, bins: int, engine: str) -> Aggregates:
    """The counts table and histograms of prepared rows (``spec.AuditData``)."""
    ones = np.ones(len(data.y_true), dtype=np.int64)
    grid = bin_of = sums = None
    if data.y_score is not None:
        grid = BinGrid.for_scores(float(np.min(data.y_score)), float(np.max(data.y_score)), bins)
        bin_of, sums = grid.assign(data.y_score), np.asarray(data.y_score, dtype=np.float64)
    cells, histograms = tabulate(data.sensitive_features, data.y_true, data.y_pred, ones, bins=bin_of,
                                 sums=sums, grid=grid)
    return Aggregates(features=spec.sensitive, cells=cells, histograms=histograms, source=data.source,
                      threshold=data.threshold, decision_rule=data.decision_rule, engine=engine,
                      notices=data.notices)
