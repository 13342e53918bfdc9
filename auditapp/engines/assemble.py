"""An :class:`~auditapp.core.audit.Audit` from an engine's counts table and score histograms.

The metrics come from ``metrics.compute_audit_from_counts`` (the same code ``run_audit`` runs after
counting rows); ROC AUC, the threshold explorer and calibration from the histograms, exact at the bin
edges (the resolution is kept as ``Audit.score_grid``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.audit import Audit
from auditapp.core.metrics import GROUP_SEPARATOR, compute_audit_from_counts
from auditapp.core.spec import AuditData, AuditSpec
from auditapp.core.workload import SERVER_REMEDY, WorkLimits, measure_work
from auditapp.engines.base import Aggregates
from auditapp.engines.histograms import HistogramIndex, calibration_from_histograms


def audit_from_aggregates(aggregates: Aggregates, spec: AuditSpec, *, limits: WorkLimits | None = None,
                          remedy: str = SERVER_REMEDY) -> Audit:
    """The audit of ``spec`` from what an engine computed (no rows are kept).

    Raises
    ------
    WorkLimitError
        If the audit asks for more work than ``limits`` allow.
    AuditInputError
        For a named reference group that does not occur.
    """
    cells = aggregates.cells
    features = list(aggregates.features)
    if limits is not None:
        measure_work(cells[features], scored=False, limits=limits, remedy=remedy, rows=aggregates.n_rows)
    result = compute_audit_from_counts(
        cells, features, reference=spec.reference, min_group_size=spec.min_group_size, n_boot=spec.n_boot,
        confidence=spec.confidence, seed=spec.seed)
    data = AuditData.counted(threshold=aggregates.threshold, source=aggregates.source, notices=aggregates.notices,
                             decision_rule=aggregates.decision_rule)
    auc: dict[tuple[str, ...], Any] = {}
    calibration: dict[str, pd.DataFrame] = {}
    indexes: dict[tuple[str, ...], Any] = {}
    histograms = aggregates.histograms
    if histograms is not None:
        for grouping in result.groupings:
            labels, member = _members(cells, grouping.features)
            index = HistogramIndex(labels, histograms.grouped(member, len(labels)))
            indexes[grouping.features] = index
            auc[grouping.features] = index.roc_auc(confidence=spec.confidence)
            if len(grouping.features) == 1:
                calibration[grouping.features[0]] = calibration_from_histograms(
                    labels, index.histograms, confidence=spec.confidence)
    return Audit(spec=spec, data=data, result=result, auc=auc, calibration=calibration, indexes=indexes,
                 engine=aggregates.engine, score_grid=histograms.grid if histograms is not None else None)


def _members(cells: pd.DataFrame, features: tuple[str, ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """Each grouping label (sorted, joined as the metrics join them) and the group of every cell row."""
    text = cells[list(features)].astype(str)
    joined = text.iloc[:, 0].to_numpy(dtype=object)
    for name in features[1:]:
        joined = joined + GROUP_SEPARATOR + text[name].to_numpy(dtype=object)
    codes, uniques = pd.factorize(pd.Series(joined, dtype=object), sort=True)
    return tuple(map(str, uniques)), codes.astype(np.int64)
