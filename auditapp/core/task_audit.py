"""One regression or multiclass audit end to end: the task, the checked inputs, the metrics and the record.

The binary audit (:mod:`auditapp.core.audit`) is untouched; this module runs when the task is ``regression`` or
``multiclass`` (said with ``--task`` or detected by :func:`auditapp.core.tasks.detect_task`).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.defaults import N_BOOT
from auditapp.core.errors import AuditInputError
from auditapp.core.multiclass import MulticlassResult, compute_multiclass_audit
from auditapp.core.regression import (
    REGRESSION_METRICS,
    RESIDUAL_QUANTILES,
    RegressionResult,
    compute_regression_audit,
)
from auditapp.core.spec import AuditSpec, sensitive_frame
from auditapp.core.tasks import TaskChoice, check_classes, detect_task, numeric_target

__all__ = ["TaskAudit", "run_task_audit", "task_record", "INTERVAL_METHODS"]

INTERVAL_METHODS = {
    "regression": {"group": "bootstrap over rows within groups, expanded percentile (row multinomial up to 2,000 "
                            "rows, Poisson over 1,000 random blocks above)",
                   "residual_quantiles": "order statistics (distribution-free)",
                   "disparities": "same bootstrap replicates (group and reference resampled independently)"},
    "multiclass": {"group": "Wilson with exact ends (from counts)",
                   "difference": "Miettinen-Nurminen score", "ratio": "Miettinen-Nurminen score"},
}


@dataclass(frozen=True, eq=False)
class TaskAudit:
    """A regression or multiclass audit: the result, and the rows it came from (for figures)."""

    spec: AuditSpec
    choice: TaskChoice
    result: RegressionResult | MulticlassResult
    source: str
    y_true: np.ndarray
    y_pred: np.ndarray
    sensitive_features: pd.DataFrame
    notices: tuple[str, ...] = ()

    @property
    def task(self) -> str:
        return self.choice.task


def run_task_audit(frame: pd.DataFrame, spec: AuditSpec, model: Any = None, *, task: str = "auto",
                   n_boot: int = N_BOOT, choice: TaskChoice | None = None) -> TaskAudit:
    """Run a regression or multiclass audit of ``frame``.

    ``choice``: the task already decided (by ``detect_task`` on the same frame and model), else ``task`` is
    resolved here.

    Raises
    ------
    AuditInputError
        When the task resolves to ``binary`` (use :func:`auditapp.core.audit.run_audit`), a column is missing,
        the target or predictions do not fit the task, or the prediction source does not fit it.
    """
    for role, column in (("target", spec.target), ("prediction", spec.prediction), *(
            ("sensitive", s) for s in spec.sensitive)):
        if column is not None and column not in frame.columns:
            raise AuditInputError(f"The {role} column '{column}' is not in the dataset. Its columns are: "
                                  f"{', '.join(map(str, list(frame.columns)[:30]))}.")
    choice = choice or detect_task(frame[spec.target], model=model, requested=task)
    if choice.task == "binary":
        raise AuditInputError("This is a binary audit (two outcomes); run it with run_audit.")
    if spec.score is not None:
        raise AuditInputError(
            f"--score (a score with a threshold) is for binary audits; a {choice.task} audit takes the model's "
            "output as --prediction (or --model).")
    if (spec.prediction is None) == (model is None):
        raise AuditInputError("Give the predictions as a column (--prediction) or a model (--model), one of them.")
    sensitive = sensitive_frame(frame, spec)
    notices: list[str] = [f"Task: {choice.task} ({choice.reason})."]
    result: RegressionResult | MulticlassResult
    if choice.task == "regression":
        y_true = numeric_target(frame[spec.target])
        if model is not None:
            y_pred = np.asarray(model.predict(frame), dtype=np.float64)
        else:
            y_pred = numeric_target(frame[spec.prediction], what="prediction column")
        result = compute_regression_audit(y_true, y_pred, sensitive, reference=spec.reference,
                                          min_group_size=spec.min_group_size, n_boot=n_boot,
                                          confidence=spec.confidence, seed=spec.seed)
    else:
        truth = frame[spec.target]
        if model is not None:
            pred = pd.Series(model.predict(frame), name=f"predictions of {model.name}")
            classes = check_classes(truth, pred, tuple(model.classes))
        else:
            pred = frame[spec.prediction]
            classes = check_classes(truth, pred)
            unknown = sorted({str(v) for v in pd.unique(pred)} - {str(v) for v in pd.unique(truth)})
            if unknown:
                notices.append(f"The predictions hold classes that never occur in '{spec.target}': "
                               f"{', '.join(unknown[:10])}; their true positive rates are undefined.")
        y_true, y_pred = truth.astype(str).to_numpy(), pred.astype(str).to_numpy()
        result = compute_multiclass_audit(y_true, y_pred, sensitive, classes=classes, reference=spec.reference,
                                          min_group_size=spec.min_group_size, confidence=spec.confidence)
    return TaskAudit(spec, choice, result, "model" if model is not None else "prediction", y_true, y_pred,
                     sensitive, tuple(notices) + result.notices)


def _clean(value: Any) -> Any:
    from auditapp.reporting.record import clean

    return clean(value)


def _estimate(row: pd.Series, name: str) -> dict[str, Any]:
    return {"value": _clean(row[name]), "ci": [_clean(row[f"{name}_low"]), _clean(row[f"{name}_high"])]}


def _attributes(grouping: Any, label: str) -> dict[str, str]:
    row = grouping.groups.loc[label]
    return {f: str(row[f]) for f in grouping.features}


def task_record(audit: TaskAudit, *, dataset: dict[str, Any], model: dict[str, Any] | None,
                timestamp: str | None = None) -> dict[str, Any]:
    """The JSON-ready record (schema ``auditapp.audit/2`` with ``task``; see the README for the keys)."""
    from auditapp.reporting.record import SCHEMA, library_versions

    result: Any = audit.result  # a RegressionResult or a MulticlassResult: the branches follow audit.task
    regression = audit.task == "regression"
    if regression:
        names = (*REGRESSION_METRICS, *RESIDUAL_QUANTILES, "mae_ratio_to_best")
    else:
        from auditapp.core.multiclass import class_metric_names

        names = tuple(class_metric_names(result.classes))
    groups, disparities, criteria = [], [], []
    for grouping in result.groupings:
        reference = _attributes(grouping, grouping.reference)
        for label, row in grouping.groups.iterrows():
            entry: dict[str, Any] = {"attributes": _attributes(grouping, label), "count": int(row["count"]),
                     "flags": list(row["flags"]), "is_reference": bool(row["is_reference"]),
                     "metrics": {m: _estimate(row, m) for m in names}}
            if not regression:
                entry["metrics"].update({k: {"value": _clean(row[k]), "ci": [None, None]} for k in row.index
                                         if k.startswith(("impact_ratio:", "macro_"))})
                entry["confusion"] = {"classes": list(result.classes),
                                      "counts": grouping.confusion[label].to_numpy().tolist()}
            groups.append(entry)
            if regression and not row["is_reference"]:
                disparities.append({"attributes": entry["attributes"], "reference": reference,
                                    "metric": "standardized_mean_difference",
                                    "value": _estimate(row, "standardized_mean_difference"),
                                    "convention": "Cohen's d of predictions, pooled SD (n-1)"})
                disparities.append({"attributes": entry["attributes"], "reference": reference,
                                    "metric": "ks_distance", "value": {"value": _clean(row["ks_distance"]),
                                                                      "ci": [None, None]},
                                    "p_value": _clean(row["ks_p_value"])})
        for _, row in grouping.disparities.iterrows():
            disparities.append({"attributes": _attributes(grouping, row["group"]), "reference": reference,
                                "metric": row["metric"], "difference": _estimate(row, "difference"),
                                "ratio": _estimate(row, "ratio")})
        for name, row in grouping.criteria.iterrows():
            ci = [_clean(row["low"]), _clean(row["high"])] if "low" in row.index else [None, None]
            criteria.append({"features": list(grouping.features), "criterion": name, "value": _clean(row["value"]),
                             "ci": ci})
    settings = {"prediction_source": audit.source, "task_reason": audit.choice.reason,
                "confidence": result.confidence, "seed": audit.spec.seed, "min_group_size": result.min_group_size,
                "rows": result.n_rows, "interval_methods": INTERVAL_METHODS[audit.task]}
    if regression:
        settings["n_boot"] = result.n_boot
    else:
        settings["classes"] = list(result.classes)
    return {"schema": SCHEMA, "task": audit.task,
            "timestamp": timestamp or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "dataset": dataset, "model": model, "spec": audit.spec.to_dict(), "settings": settings,
            "groups": groups, "disparities": disparities, "criteria": criteria, "notices": list(audit.notices),
            "versions": library_versions()}
