"""Export a mitigated model (skops) with a CSV of its test predictions, and the JSON record of a comparison."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

SCHEMA = "auditapp.mitigate/1"
DECISION_RULE = (
    "Deterministic candidates: favourable when the model's probability of the favourable outcome is >= 0.5 "
    "(ties favourable), or the model's own prediction when it gives no probability. Randomised candidates "
    "(ExponentiatedGradient, ThresholdOptimizer): every number is the expectation over their random "
    "decisions (single_draws gives the 5th-95th percentile of single draws); their predictions decide each "
    "row by a seeded hash of a stable row key, never by row order."
)
FORMULA_SIGNS = ("=", "+", "-", "@")
FORMULA_STARTS = (*FORMULA_SIGNS, "\t", "\r")
_INVISIBLE = {"Cc", "Cf", "Zs", "Zl", "Zp"}  # controls, zero-width and other format characters, spaces


@dataclass(frozen=True)
class ExportResult:
    """The files written by :func:`export_candidate` and the model file's sha256."""

    model_path: Path
    predictions_path: Path
    manifest_path: Path
    model_sha256: str


def neutralise_cell(value: Any) -> Any:
    """Prefix ``'`` to text that a spreadsheet could run as a formula.

    That is text starting with tab or CR, or whose first visible character is ``= + - @`` once
    spaces, control and invisible format characters are skipped and Unicode compatibility forms are
    folded (NFKC): ``" =1+1"``, full-width ``"＝1+1"`` and small ``"﹦1+1"`` are caught like ``"=1+1"``.
    """
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    visible = unicodedata.normalize("NFKC", value).lstrip()
    while visible and unicodedata.category(visible[0]) in _INVISIBLE:
        visible = visible[1:].lstrip()
    if visible.startswith(FORMULA_SIGNS):
        return "'" + value
    return value


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells and column names cannot start a spreadsheet formula; numbers are kept."""
    out = frame.copy()
    for name in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[name].dtype) or pd.api.types.is_bool_dtype(out[name].dtype)):
            out[name] = out[name].map(lambda v: neutralise_cell(str(v)) if v is not None and v == v else v)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def predictions_table(comparison: Any, name: str) -> pd.DataFrame:
    """The test rows (row label, sensitive features, true label) with a candidate's prediction and score."""
    result = comparison.candidate(name)
    if result.y_pred is None:
        raise AuditInputError(f"The candidate '{name}' failed ({result.error}), so it has no predictions to export.")
    table = comparison.test_rows.copy()
    table["prediction"] = np.asarray(result.y_pred, dtype=np.int64)
    if result.y_score is not None:
        table["score"] = np.asarray(result.y_score, dtype=np.float64)
    return table


def export_candidate(comparison: Any, name: str, out_dir: Any) -> ExportResult:
    """Write ``<name>.skops``, ``<name>_test_predictions.csv`` and ``<name>_manifest.json`` into ``out_dir``.

    The model predicts 1 for the favourable outcome. Its input columns are its ``feature_names_in_``;
    for candidates that need the sensitive attribute at prediction time those include the
    sensitive columns. Text cells of the CSV are neutralised against spreadsheet formulas.

    Raises
    ------
    AuditInputError
        If the candidate failed or has no model that can be saved (the uploaded ONNX model or a
        predictions-only source), or ``out_dir`` is a file.
    """
    result = comparison.candidate(name)
    if result.model is None:
        raise AuditInputError(
            f"The candidate '{name}' has no scikit-learn model to save "
            f"({result.error or 'its predictions come from an ONNX model or a column'}). "
            "Export its test predictions instead, or choose a candidate trained here."
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AuditInputError(f"The export path {out} is a file, not a folder. Give a folder to write into.")
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / f"{name}.skops"
    sha, input_columns = _write_model(result.model, model_path)
    predictions_path = out / f"{name}_test_predictions.csv"
    neutralised(predictions_table(comparison, name)).to_csv(predictions_path, index=False)
    manifest_path = out / f"{name}_manifest.json"
    manifest = {
        "schema": SCHEMA, "candidate": name, "family": result.family, "learner": result.learner,
        "model_sha256": sha, "constraint": comparison.constraint,
        "input_columns": input_columns,
        "predicts": "1 = favourable outcome",
        "needs_sensitive_at_predict": result.needs_sensitive_at_predict,
        "sensitive_note": result.sensitive_note or None, "notes": list(result.notes),
        "decides": decision_text(result.model),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return ExportResult(model_path, predictions_path, manifest_path, sha)


def decision_text(model: Any) -> str:
    """How a saved model turns its inputs into a decision, for its manifest."""
    decides = getattr(model, "decides", None)  # a model trained in the sandbox says itself
    if isinstance(decides, str):
        return decides
    if not getattr(type(model), "decides_at_random", False):
        return "favourable when predict_proba's favourable column is >= 0.5 (auditapp's tie rule), else predict"
    key = f"the column '{model.row_key}'" if getattr(model, "row_key", None) else "the row's content (every input column)"
    bins = getattr(model, "bins", None)
    binned = f"; it bins {', '.join(bins)} itself with the audit's edges" if bins else ""
    return (f"at random: predict_proba gives each row's probability of the favourable decision, and predict "
            f"decides by a seeded hash (seed {model.random_state}) of {key}, never by row order{binned}")


def _spread(draws: Any, name: str) -> list[Any] | None:
    from auditapp.reporting.record import clean

    if draws is None:
        return None
    pair = draws.criteria.get(name) if name not in ("accuracy", "balanced_accuracy") else getattr(draws, name)
    return None if pair is None else [clean(pair[0]), clean(pair[1])]


def _draws(result: Any) -> dict[str, Any] | None:
    from auditapp.reporting.record import clean

    draws = result.draws
    if draws is None:
        return None
    return {"draws": draws.draws, "seed": draws.seed, "quantiles": [clean(q) for q in draws.quantiles],
            "accuracy": _spread(draws, "accuracy"), "balanced_accuracy": _spread(draws, "balanced_accuracy"),
            "disparity": _spread(draws, result.disparity_metric),
            "criteria": {name: _spread(draws, name) for name in draws.criteria}}


def _write_model(model: Any, path: Path) -> tuple[str, list[str]]:
    """Write the model as a skops file; return its sha256 and input columns.

    A model trained in the sandbox arrives as skops bytes (``ExportedModel``): they are written as they
    are, never loaded in this process.
    """
    from auditapp.inputs.models import save_skops
    from auditapp.inputs.sandboxed_model import ExportedModel

    if isinstance(model, ExportedModel):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(model.data)
        tmp.replace(path)
        return model.sha256, list(model.input_columns)
    return save_skops(model, path), [str(c) for c in getattr(model, "feature_names_in_", [])]


def _estimate(estimate: Any) -> dict[str, Any] | None:
    from auditapp.reporting.record import clean

    if estimate is None:
        return None
    return {"value": clean(estimate.value), "ci": [clean(estimate.low), clean(estimate.high)]}


def mitigation_record(comparison: Any) -> dict[str, Any]:
    """The JSON-ready record of a comparison (what ``auditapp mitigate --json`` writes)."""
    from auditapp.reporting.record import clean

    candidates = []
    for r in comparison.candidates:
        disparity = _estimate(r.disparity) or {"value": None, "ci": [None, None]}
        candidates.append({
            "name": r.name, "family": r.family, "title": r.title, "learner": r.learner or None,
            "accuracy": _estimate(r.accuracy), "balanced_accuracy": _estimate(r.balanced_accuracy),
            "disparity": {"metric": r.disparity_metric, **disparity},
            "criteria": {k: _estimate(v) for k, v in r.criteria.items()},
            "needs_sensitive_at_predict": bool(r.needs_sensitive_at_predict),
            "sensitive_note": r.sensitive_note or None,
            "fit_seconds": round(float(r.fit_seconds), 3), "notes": list(r.notes), "error": r.error,
            "pareto": r.name in comparison.pareto,
            "randomized": bool(r.randomized),
            "reported_as": "expectation over the random decisions" if r.randomized else "the decisions",
            "single_draws": _draws(r), "warnings": list(r.warnings),
        })
    split = comparison.split
    return {
        "schema": SCHEMA, "constraint": comparison.constraint, "disparity_metric": comparison.disparity_metric,
        "split": {"train_rows": int(split.train_rows), "test_rows": int(split.test_rows), "seed": int(split.seed),
                  "source": split.source, "test_size": clean(split.test_size),
                  "test_rows_sha256": split.test_rows_sha256},
        "candidates": candidates, "pareto": list(comparison.pareto), "cancelled": list(comparison.cancelled),
        "notes": list(comparison.notes), "decision_rule": DECISION_RULE,
        "grouping": list(comparison.grouping), "inner_fits": comparison.inner_fits,
        "groups": [] if comparison.group_sizes is None else [
            {"group": str(g), "train_rows": int(r["train_rows"]), "test_rows": int(r["test_rows"]),
             "test_favourable": int(r["test_favourable"]), "small": bool(r["small"])}
            for g, r in comparison.group_sizes.table.iterrows()],
    }
