"""Predictions next to the data: one batch of rows through the model, reduced to grouped raw counts.

DuckDB streams Arrow record batches through this in the auditing process; Spark runs it on its
executors inside ``mapInPandas``. Either way the model is called with ``spec._model_predictions``, the
function ``spec.prepare`` uses for a whole table (one tie rule, the same favourable class, the same
sandboxed process for a model file), and only the grouped counts leave the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auditapp.engines.plan import Plan

PREFIX = "__auditapp_"
RAW_KEYS = ("t", "d", "b")


def alias(name: str) -> str:
    """The column name an engine gives a computed column (never one of the data's own names)."""
    return PREFIX + name


def sensitive_aliases(plan: Plan) -> list[str]:
    return [alias(f"s{i}") for i in range(len(plan.spec.sensitive))]


def group_raw(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows grouped by ``keys`` (missing values kept as a group): ``n`` rows and ``ssum`` of ``x``."""
    grouped = frame.groupby(keys, dropna=False, sort=False, observed=True)
    out = grouped.size().rename("n").to_frame()
    out["ssum"] = grouped["x"].sum() if "x" in frame.columns else 0.0
    return out.reset_index()


def model_batch(frame: pd.DataFrame, plan: Plan, model: Any) -> pd.DataFrame:
    """One batch (the model's features and the aliased sensitive and target columns) reduced to grouped
    raw counts: ``s0 .. s{F-1}, t, d, b, n, ssum`` (``b`` is -1 when the model gives no scores)."""
    from auditapp.core.spec import _model_predictions

    y_pred, scores, _ = _model_predictions(frame, plan.spec, model)
    names = [f"s{i}" for i in range(len(plan.spec.sensitive))]
    raw = pd.DataFrame({n: frame[alias(n)].to_numpy() for n in names})
    raw["t"] = frame[alias("t")].to_numpy()
    raw["d"] = np.asarray(y_pred, dtype=np.int64)
    if scores is None:
        raw["b"], raw["x"] = np.int64(-1), 0.0
    else:
        assert plan.grid is not None, "a plan for scores has their grid"  # (a bug, never the user's input)
        raw["b"], raw["x"] = plan.grid.assign(scores), np.asarray(scores, dtype=np.float64)
    return group_raw(raw, [*names, *RAW_KEYS])


def combine(parts: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Grouped counts of several batches added up."""
    if not parts:
        return pd.DataFrame(columns=[*keys, "n", "ssum"])
    frame = pd.concat(parts, ignore_index=True)
    grouped = frame.groupby(keys, dropna=False, sort=False, observed=True)
    return grouped.agg(n=("n", "sum"), ssum=("ssum", "sum")).reset_index()
