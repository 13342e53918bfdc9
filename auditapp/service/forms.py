"""Plain data for the Data & model page: previews, dropdown options, and form ⇄ state conversion."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.defaults import MIN_GROUP_SIZE
from auditapp.core.errors import AuditInputError
from auditapp.core.rates import LABELS
from auditapp.core.spec import AuditSpec, Binning, sensitive_frame
from auditapp.core.validation import parse_number
from auditapp.inputs.intake import Dataset

PREVIEW_ROWS = 20


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, (int, float, bool)) else str(value)


def dataset_preview(dataset: Dataset) -> dict[str, list]:
    """First rows and the per-column summary, as AG Grid rows and column definitions (text only)."""
    frame = dataset.frame.head(PREVIEW_ROWS)
    fields = [f"c{i}" for i in range(frame.shape[1])]
    rows = [{f: _cell(v) for f, v in zip(fields, record, strict=True)}
            for record in frame.itertuples(index=False, name=None)]
    # No type inference: the grid keeps a field's inferred type across datasets (c0 was a number in the
    # last file, so this file's text in c0 showed "Invalid Number").
    columns = [{"headerName": str(name), "field": f, "cellDataType": False}
               for name, f in zip(frame.columns, fields, strict=True)]
    summary = dataset.summary()
    summary_rows = [{k: _cell(v) for k, v in row.items()} for row in summary.to_dict("records")]
    summary_columns = [{"headerName": str(c).replace("_", " ").capitalize(), "field": str(c)}
                       for c in summary.columns]
    return {"rows": rows, "columns": columns, "summary_rows": summary_rows, "summary_columns": summary_columns}


def column_options(dataset: Dataset, *, target: str | None = None) -> dict[str, list]:
    """Dropdown options: all columns, numeric columns, and the values of ``target``."""
    frame = dataset.frame
    out = {
        "all": [{"label": str(c), "value": str(c)} for c in frame.columns],
        "numeric": [{"label": str(c), "value": str(c)} for c in frame.columns
                    if pd.api.types.is_numeric_dtype(frame[c])],
        "target_values": [],
    }
    if target is not None and target in frame.columns:
        values = pd.unique(frame[target].dropna())[:50]
        out["target_values"] = [{"label": str(v), "value": _cell(v)} for v in sorted(values, key=str)]
    return out


def bins_text(bins: dict[str, Any]) -> str:
    parts = []
    for name, b in (bins or {}).items():
        if b.get("quantiles"):
            parts.append(f"{name}=q{b['quantiles']}")
        elif b.get("edges"):
            parts.append(f"{name}=" + ",".join(f"{e:g}" for e in b["edges"]))
    return "; ".join(parts)


def parse_bins(text: str | None) -> dict[str, Binning]:
    """``"age=18,30,50; income=q4"`` → ``{"age": Binning(...), "income": Binning(...)}``."""
    out = {}
    for part in (text or "").replace("\n", ";").split(";"):
        if not part.strip():
            continue
        name, sep, rule = part.partition("=")
        if not sep or not name.strip():
            raise AuditInputError(f"Cannot read the bins '{part.strip()}': write e.g. age=18,30,50 or age=q4.")
        out[name.strip()] = Binning.parse(rule)
    return out


CONFIDENCE_LEVELS = (0.9, 0.95, 0.99)


def loaded_model(state: dict[str, Any] | None) -> str | None:
    """The model file loaded on the Data & model page (used by the audit only when it is the source).

    ``state["model_file"]`` is the model the user loaded; ``state["model"]`` the model the current audit
    uses (None when it audits a prediction or score column). States saved before ``model_file``
    existed have only ``model``.
    """
    state = state or {}
    return state.get("model_file") or state.get("model")


def form_values(state: dict[str, Any]) -> dict[str, Any]:
    """The form's values for a stored state: the confirmed settings, or blanks when there are none.

    A dataset the user uploaded has no settings until the user runs the audit: nothing is guessed.
    """
    spec = state.get("spec") or {}
    if not spec:
        return {"target": None, "favorable": None, "source": None, "prediction": None, "score": None,
                "threshold": None, "model_favorable": None, "sensitive": [], "bins": "", "min_group_size": 30,
                "confidence": 0.95}
    source = "model" if state.get("model") else ("score" if spec.get("score") else "prediction")
    return {
        "target": spec.get("target"), "favorable": spec.get("favorable"), "source": source,
        "prediction": spec.get("prediction"), "score": spec.get("score"), "threshold": spec.get("threshold"),
        "model_favorable": spec.get("model_favorable"), "sensitive": list(spec.get("sensitive") or []),
        "bins": bins_text(spec.get("bins") or {}), "min_group_size": spec.get("min_group_size", MIN_GROUP_SIZE),
        "confidence": spec.get("confidence", 0.95),
    }


def reference_options(dataset: Dataset, sensitive: list[str], bins: str | None,
                      current: dict[str, str]) -> list[dict[str, Any]]:
    """Per sensitive feature: reference choices (largest, best on a metric, or a group)."""
    missing = [s for s in sensitive if s not in dataset.frame.columns]
    if missing:
        raise AuditInputError(f"Unknown sensitive column(s): {', '.join(missing)}.")
    parsed = {k: v for k, v in parse_bins(bins).items() if k in sensitive}
    spec = AuditSpec(target="__none__", sensitive=tuple(sensitive), bins=parsed)
    groups = sensitive_frame(dataset.frame, spec)
    out = []
    for name in sensitive:
        counts = groups[name].value_counts()
        options = [{"label": "The largest group", "value": "largest"},
                   {"label": f"The group with the highest {LABELS['selection_rate'].lower()}",
                    "value": "best:selection_rate"}]
        options += [{"label": f"{g} (n={int(n):,})", "value": str(g)} for g, n in counts.items()]
        value = current.get(name, "largest")
        if value not in {o["value"] for o in options}:
            value = "largest"
        out.append({"feature": name, "options": options, "value": value})
    return out


def _confidence(value: Any) -> float:
    if value in (None, ""):
        return 0.95
    level = parse_number(value, "The confidence level")
    if level not in CONFIDENCE_LEVELS:
        raise AuditInputError(f"The confidence level must be one of "
                              f"{', '.join(f'{c:.0%}' for c in CONFIDENCE_LEVELS)}, got {value!r}.")
    return level


def state_from_form(state: dict[str, Any] | None, form: dict[str, Any]) -> dict[str, Any]:
    """Validate the form into a new state (raises ``AuditInputError`` with what to fix).

    The favourable value and the prediction source have no defaults: the user chooses them. The
    loaded model stays loaded (``model_file``) whichever source is chosen.
    """
    if not state or not state.get("dataset"):
        raise AuditInputError("Choose a dataset first: upload one or load a scenario.")
    if not form.get("target"):
        raise AuditInputError("Choose the outcome (target) column.")
    if form.get("favorable") in (None, ""):
        raise AuditInputError(f"Choose the favourable value of '{form['target']}': the outcome that benefits a "
                              "person.")
    source = form.get("source")
    model = loaded_model(state)
    if source not in ("model", "prediction", "score"):
        raise AuditInputError("Choose where the predictions come from: the model, a prediction column or a "
                              "score column.")
    if source == "model" and not model:
        raise AuditInputError("There is no model: upload one, or choose a prediction or score column.")
    if source == "prediction" and not form.get("prediction"):
        raise AuditInputError("Choose the prediction column, or pick another prediction source.")
    if source == "score" and not form.get("score"):
        raise AuditInputError("Choose the score column, or pick another prediction source.")
    spec = AuditSpec(
        target=form["target"], favorable=form["favorable"],
        sensitive=tuple(form.get("sensitive") or ()),
        prediction=form.get("prediction") if source == "prediction" else None,
        score=form.get("score") if source == "score" else None,
        threshold=parse_number(form.get("threshold"), "The threshold") if source != "prediction" else None,
        model_favorable=(form.get("model_favorable") or None) if source == "model" else None,
        bins=parse_bins(form.get("bins")),
        reference={k: v for k, v in (form.get("reference") or {}).items()
                   if k in (form.get("sensitive") or ()) and v},
        min_group_size=parse_number(form.get("min_group_size"), "The minimum group size", integer=True,
                                    default=30),
        confidence=_confidence(form.get("confidence")),
    )
    out = {"dataset": state["dataset"], "model": model if source == "model" else None, "model_file": model,
           "spec": spec.to_dict(), "policy": state.get("policy")}
    if state.get("missing_values"):
        out["missing_values"] = list(state["missing_values"])
    if state.get("source"):  # a server-side source: audits count all of it, not the preview (source_jobs)
        out["source"] = state["source"]
    return out
