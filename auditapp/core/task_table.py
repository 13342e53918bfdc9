"""Rows and columns of the Amounts & classes page's table (plain values; the grid formats nothing)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from auditapp.core.regression import REGRESSION_METRICS


def _names(audit: Any, grouping: Any) -> list[str]:
    if audit.task == "regression":
        return [*REGRESSION_METRICS, "standardized_mean_difference", "mae_ratio_to_best"]
    return ["accuracy", *(f"{m}:{c}" for c in grouping.classes for m in ("class_rate", "tpr", "fpr", "precision"))]


def _fmt(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.4g}"


def table_rows(audit: Any, grouping: Any) -> list[dict[str, Any]]:
    """One dict per group: ``group``, ``n`` and per metric ``value [low, high]`` as text."""
    rows = []
    for label, row in grouping.groups.iterrows():
        out = {"group": str(label) + (" (reference)" if row["is_reference"] else ""), "n": int(row["count"])}
        for name in _names(audit, grouping):
            low, high = row.get(f"{name}_low"), row.get(f"{name}_high")
            ci = f" [{_fmt(float(low))}, {_fmt(float(high))}]" if low is not None and math.isfinite(float(low)) else ""
            out[name] = _fmt(float(row[name])) + ci
        rows.append(out)
    return rows


def table_columns(audit: Any, grouping: Any) -> list[dict[str, Any]]:
    columns = [{"headerName": "Group", "field": "group", "pinned": "left"}, {"headerName": "n", "field": "n"}]
    return columns + [{"headerName": name.replace("_", " "), "field": name} for name in _names(audit, grouping)]


_MITIGATION_MEASURES = {"mae": "MAE", "rmse": "RMSE", "mae_gap": "MAE gap (max − min)", "max_abs_smd": "largest |SMD|"}
_MULTICLASS_MEASURES = {"accuracy": "Accuracy", "max_class_rate_gap": "largest class-rate gap (no interval)",
                        "min_impact_ratio": "lowest impact ratio (no interval)"}


def _measures(task: str) -> dict[str, str]:
    return _MULTICLASS_MEASURES if task == "multiclass" else _MITIGATION_MEASURES


def mitigation_rows(table: pd.DataFrame, names: dict[str, str], *, task: str = "regression",
                    errors: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One dict per mitigation candidate: each measure as ``value [low, high]`` text (the value alone where no
    interval is given); a candidate that did not train shows why."""
    rows = []
    for candidate, row in table.iterrows():
        out = {"candidate": names.get(candidate, candidate)}
        for key in _measures(task):
            low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
            ci = f" [{_fmt(float(low))}, {_fmt(float(high))}]" if low is not None else ""
            out[key] = _fmt(float(row[key])) + ci
        rows.append(out)
    for candidate, reason in (errors or {}).items():
        first = next(iter(_measures(task)))
        rows.append({"candidate": names.get(candidate, candidate), first: f"did not train: {reason}"})
    return rows


def mitigation_columns(task: str = "regression") -> list[dict[str, Any]]:
    return [{"headerName": "Candidate", "field": "candidate", "pinned": "left", "minWidth": 320}] + [
        {"headerName": label, "field": key} for key, label in _measures(task).items()]
