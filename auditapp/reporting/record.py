"""The machine-readable audit record (what ``auditapp audit --json`` writes)."""

from __future__ import annotations

import datetime as _dt
import math
import platform
from importlib import metadata
from typing import Any

from auditapp.core.audit import Audit
from auditapp.core.gaps import INTERVAL_METHODS
from auditapp.core.intervals import MIN_DENOMINATOR
from auditapp.core.rates import METRICS, PROPORTIONS

# Schema 2 (issue 13): intervals from counts (``settings.interval_methods``), score tests, the average
# odds difference among the disparities, p-values of the criteria, ``verdicts[].rows_needed``.
# Schema 1 records (bootstrap intervals) are still read by ``auditapp verify``.
SCHEMA = "auditapp.audit/2"
READABLE_SCHEMAS = ("auditapp.audit/1", SCHEMA)
_CELLS = ("tn", "fp", "fn", "tp")
_VERSIONED = ("auditapp", "numpy", "pandas", "scikit-learn", "scipy", "fairlearn", "shap", "skops",
              "onnxruntime", "plotly")


def library_versions() -> dict[str, str | None]:
    """Installed versions of the libraries that can change a result."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def clean(value: Any) -> Any:
    """Python scalars for JSON: NaN and infinities become None, numpy scalars become Python ones."""
    if hasattr(value, "item") and not isinstance(value, (list, tuple, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _estimate(value: object, low: object, high: object) -> dict[str, Any]:
    return {"value": clean(value), "ci": [clean(low), clean(high)]}


def audit_record(audit: Audit, *, dataset: dict[str, Any], model: dict[str, Any] | None = None,
                 timestamp: str | None = None) -> dict[str, Any]:
    """The JSON-ready record of an audit.

    ``dataset`` is ``{"sha256", "rows", "columns", "name"}``; ``model`` is ``{"sha256", "format"}``
    or None for predictions given as a column.
    """
    result = audit.result
    groups, disparities, criteria = [], [], []
    for grouping in result.groupings:
        auc = audit.auc.get(grouping.features)
        for label, row in grouping.groups.iterrows():
            metrics = {m: _estimate(row[m], row[f"{m}_low"], row[f"{m}_high"]) for m in METRICS}
            for m, (_, cells) in PROPORTIONS.items():
                names = _CELLS if cells is None else [_CELLS[c] for c in cells]
                metrics[m]["denominator"] = int(sum(int(row[c]) for c in names))
            if auc is not None and label in auc.index:
                a = auc.loc[label]
                metrics["roc_auc"] = _estimate(a["roc_auc"], a["roc_auc_low"], a["roc_auc_high"])
            groups.append({
                "attributes": grouping.attributes(label), "count": int(row["count"]),
                "confusion": {k: int(row[k]) for k in ("tn", "fp", "fn", "tp")},
                "flags": list(row["flags"]), "is_reference": bool(row["is_reference"]),
                "metrics": metrics,
            })
        reference = grouping.attributes(grouping.reference)
        for _, row in grouping.disparities.iterrows():
            disparities.append({
                "attributes": grouping.attributes(row["group"]), "reference": reference,
                "metric": row["metric"],
                "difference": _estimate(row["difference"], row["difference_low"], row["difference_high"]),
                "ratio": _estimate(row["ratio"], row["ratio_low"], row["ratio_high"]),
                "p_value": clean(row["p_value"]), "q_value": clean(row["q_value"]),
                "test": row["test"] or None,
            })
        for name, row in grouping.criteria.iterrows():
            criteria.append({"features": list(grouping.features), "criterion": name,
                             **_estimate(row["value"], row["low"], row["high"]),
                             "p_value": clean(row["p_value"]), "method": row["method"] or None})
    settings = {"prediction_source": audit.data.source, "threshold": clean(audit.data.threshold),
                "decision_rule": audit.data.decision_rule,
                "confidence": result.confidence, "n_boot": result.n_boot, "seed": result.seed,
                "min_group_size": result.min_group_size, "rows": result.n_rows,
                "min_denominator": MIN_DENOMINATOR, "interval_methods": dict(INTERVAL_METHODS)}
    if audit.engine is not None:  # an audit from an engine's counts (records of in-memory audits keep their shape)
        settings["engine"] = audit.engine
        settings["score_histograms"] = audit.score_grid.describe() if audit.score_grid is not None else None
    return {
        "schema": SCHEMA,
        "timestamp": timestamp or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "dataset": dataset,
        "model": model,
        "spec": audit.spec.to_dict(),
        "settings": settings,
        "groups": groups,
        "disparities": disparities,
        "criteria": criteria,
        "notices": list(audit.notices),
        "versions": library_versions(),
    }
