"""One audit, end to end: check the spec against the data, compute metrics, add score-based views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.metrics import AuditResult, compute_audit
from auditapp.core.scores import (
    ScoreIndex,
    build_threshold_index,
    calibration_table,
    group_labels,
    roc_auc,
)
from auditapp.core.spec import AuditData, AuditSpec, prepare
from auditapp.core.workload import SERVER_REMEDY, WorkLimits, measure_work


@dataclass(frozen=True)
class Audit:
    """The result of ``run_audit``: the spec, the metrics, and (with scores) AUC and calibration.

    ``auc`` maps each grouping's features to a table indexed by group; ``calibration`` maps each
    single sensitive feature to its calibration table.

    ``engine`` is None for an audit of rows in memory (``run_audit``); an audit computed from an
    engine's counts table (``engines.audit_from_aggregates``) names the engine, keeps no rows (the
    arrays of ``data`` are None) and has ``score_grid``, the resolution of its score histograms.
    """

    spec: AuditSpec
    data: AuditData
    result: AuditResult
    auc: Mapping[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    calibration: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    indexes: Mapping[tuple[str, ...], ScoreIndex] = field(default_factory=dict)
    engine: str | None = None
    score_grid: Any = None

    @property
    def has_scores(self) -> bool:
        """Whether the audit has scores (rows' scores, or score histograms)."""
        return self.data.y_score is not None or self.score_grid is not None

    def threshold_index(self, features: tuple[str, ...]) -> ScoreIndex:
        """Each group's sorted scores for one grouping (built once, with the audit)."""
        for key, index in self.indexes.items():
            if set(key) == set(features):
                return index
        raise KeyError(f"No scores sorted for {features}; have {list(self.indexes)}")

    def calibration_for(self, features: tuple[str, ...]) -> pd.DataFrame:
        """Calibration per group of one grouping (a single feature's table is kept from the audit)."""
        if self.data.y_score is None:
            raise KeyError("This audit has no scores, so no calibration.")
        if len(features) == 1 and features[0] in self.calibration:
            return self.calibration[features[0]]
        labels = group_labels(self.data.sensitive_features[list(features)])
        return calibration_table(self.data.y_true, self.data.y_score, labels, confidence=self.spec.confidence)

    @property
    def notices(self) -> tuple[str, ...]:
        return self.data.notices + self.result.notices

    def describe(self, *, scenario: str | None = None) -> str:
        """One sentence saying what was audited and how."""
        spec, data = self.spec, self.data
        if data.source == "model":
            source = "the scenario's model" if scenario else "the uploaded model"
            if data.threshold is not None:
                source += f" (favourable when its score ≥ {data.threshold:g})"
            elif self.has_scores and not data.decision_rule.startswith("the model's own"):
                source += " (favourable when its probability ≥ 0.5, ties included)"
        elif data.source == "score":
            source = f"the score column '{spec.score}' (favourable when ≥ {data.threshold:g})"
        else:
            source = f"the prediction column '{spec.prediction}'"
        prefix = f"Built-in {scenario} scenario. " if scenario else ""
        return (f"{prefix}{self.result.n_rows:,} rows; outcome '{spec.target}' (favourable: {spec.favorable}); "
                f"predictions from {source}; {self.result.confidence:.0%} confidence intervals computed "
                "from counts (Wilson per group, Miettinen–Nurminen for gaps).")


def run_audit(frame: pd.DataFrame, spec: AuditSpec, model: Any = None, *, limits: WorkLimits | None = None,
              remedy: str = SERVER_REMEDY) -> Audit:
    """Audit ``frame`` as ``spec`` says, predicting with ``model`` when one is given.

    ``limits`` (a shared server's caps on intersections and, with scores, rows × groupings) refuse an
    audit that asks for more, before any metric is computed; ``remedy`` ends that message.

    Raises
    ------
    AuditInputError
        For any setting that does not fit the data (see ``spec.prepare``).
    WorkLimitError
        If the audit asks for more work than ``limits`` allow (see ``auditapp.core.workload``).
    """
    data = prepare(frame, spec, model)
    if limits is not None:
        measure_work(data.sensitive_features, scored=data.y_score is not None, limits=limits, remedy=remedy)
    result = compute_audit(
        data.y_true, data.y_pred, data.sensitive_features, reference=spec.reference,
        min_group_size=spec.min_group_size, n_boot=spec.n_boot, confidence=spec.confidence, seed=spec.seed,
    )
    auc: dict[tuple[str, ...], pd.DataFrame] = {}
    calibration: dict[str, pd.DataFrame] = {}
    indexes: dict[tuple[str, ...], ScoreIndex] = {}
    if data.y_score is not None:
        order = np.argsort(data.y_score, kind="stable")
        for grouping in result.groupings:
            labels = group_labels(data.sensitive_features[list(grouping.features)])
            index = build_threshold_index(data.y_true, data.y_score, labels, order=order)
            indexes[grouping.features] = index
            auc[grouping.features] = roc_auc(index, confidence=spec.confidence)
        for name in spec.sensitive:
            calibration[name] = calibration_table(
                data.y_true, data.y_score, data.sensitive_features[name], confidence=spec.confidence)
    return Audit(spec=spec, data=data, result=result, auc=auc, calibration=calibration, indexes=indexes)

