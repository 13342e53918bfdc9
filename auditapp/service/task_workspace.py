"""The regression/multiclass audit of a browser session's dataset, cached by content (for the app's page).

``choices`` are the page's small settings: ``task`` (auto|multiclass|regression), ``target``, ``prediction``
(a column, or None to use the session's model), ``sensitive`` (list) and ``confidence``.
"""

from __future__ import annotations

import json
from typing import Any

from auditapp.core.defaults import MIN_GROUP_SIZE
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec

__all__ = ["task_audit_for", "cutoff_for", "distributions_for", "task_explanation_for", "task_mitigations_for",
           "task_proxies_for"]


def _key(store, token, state, choices) -> tuple:
    from auditapp.service.workspace import state_key

    base = state_key(store, token, {**state, "spec": None, "model": _model_id(state)})
    return (*base, json.dumps(choices, sort_keys=True, default=str))


def _model_id(state: dict[str, Any]) -> str | None:
    """The model this page audits when no prediction column is chosen: the one the audit uses, else the one
    uploaded on Data & model (the page's empty prediction column says so: "the model uploaded predicts")."""
    model: str | None = state.get("model") or state.get("model_file")
    return model


def _spec(choices: dict[str, Any]) -> AuditSpec:
    if not choices.get("target"):
        raise AuditInputError("Choose the outcome (target) column.")
    if not choices.get("sensitive"):
        raise AuditInputError("Choose at least one sensitive feature to compare groups by.")
    return AuditSpec(target=choices["target"], sensitive=tuple(choices["sensitive"]),
                     prediction=choices.get("prediction") or None, min_group_size=MIN_GROUP_SIZE,
                     confidence=float(choices.get("confidence") or 0.95))


def task_audit_for(store, token: str, state: dict | None, choices: dict[str, Any], *, trust_pickle: bool = False):
    """The ``TaskAudit`` for the session's dataset (and model, when no prediction column is chosen)."""
    from auditapp.core.task_audit import run_task_audit

    if not state or not state.get("dataset"):
        raise AuditInputError("No dataset yet: upload one on the Data & model page or pick a scenario.")
    spec = _spec(choices)

    def compute():
        frame, model = _inputs(store, token, state, spec, trust_pickle=trust_pickle)
        return run_task_audit(frame, spec, model, task=choices.get("task") or "auto")

    return store.cached(("task-audit", *_key(store, token, state, choices)), compute, token=token)


def _inputs(store, token: str, state: dict, spec: AuditSpec, *, trust_pickle: bool):
    """The session's table, and its model when the predictions do not come from a column."""
    from auditapp.service import workspace

    dataset = workspace.dataset_for(store, token, state)
    model = None
    if spec.prediction is None:
        model = workspace.load_model(store, token, _model_id(state), trust_pickle=trust_pickle)
        if model is None:
            raise AuditInputError("Choose the prediction column, or upload the model on Data & model.")
    return dataset.frame, model


def task_proxies_for(store, token: str, state: dict | None, choices: dict[str, Any], *, trust_pickle: bool = False):
    """The proxy scores of the task audit's data (the model's inputs, or the dataset's other columns when the
    predictions are a column), cached like the audit."""
    from auditapp.explain.proxies import task_proxies

    task_audit_for(store, token, state, choices, trust_pickle=trust_pickle)  # the same checks, the same message
    spec = _spec(choices)

    def compute():
        frame, model = _inputs(store, token, state, spec, trust_pickle=trust_pickle)
        return task_proxies(frame, spec, model)

    return store.cached(("task-proxies", *_key(store, token, state, choices)), compute, token=token)


def _rows(audit, grouping_name: str):
    from auditapp.core.task_groups import row_groupings

    for rows in row_groupings(audit.sensitive_features):
        if rows.name == grouping_name:
            return rows
    raise AuditInputError(f"No grouping '{grouping_name}' in this audit.")


def cutoff_for(store, token, state, choices, grouping_name: str, *, trust_pickle: bool = False):
    """The ``CutoffIndex`` (predictions sorted per group) of a regression audit's grouping."""
    from auditapp.core.task_distributions import cutoff_index

    audit = task_audit_for(store, token, state, choices, trust_pickle=trust_pickle)
    return store.cached(("task-cutoff", *_key(store, token, state, choices), grouping_name),
                        lambda: cutoff_index(audit.y_pred, _rows(audit, grouping_name)), disk=False, token=token)


def distributions_for(store, token, state, choices, grouping_name: str, *, trust_pickle: bool = False):
    """Per-group quantiles of predictions and residuals for a regression audit's grouping."""
    from auditapp.core.task_distributions import group_distributions

    audit = task_audit_for(store, token, state, choices, trust_pickle=trust_pickle)
    return store.cached(("task-dist", *_key(store, token, state, choices), grouping_name),
                        lambda: group_distributions(audit.y_true, audit.y_pred, _rows(audit, grouping_name)),
                        token=token)


def _model_choices(choices: dict[str, Any], what: str) -> AuditSpec:
    spec = _spec(choices)
    if spec.prediction is not None:
        raise AuditInputError(f"{what} need the model itself: clear the prediction column (the model uploaded on "
                              "Data & model then predicts) and run the audit again.")
    return spec


def task_explanation_for(store, token: str, state: dict | None, choices: dict[str, Any], target_class: Any = None,
                         *, trust_pickle: bool = False):
    """The SHAP explanation of the session's regression model (or of one class of its multiclass model),
    cached by content (:func:`auditapp.explain.task_explain.explain_task_model`)."""
    from auditapp.explain.task_explain import explain_task_model

    audit = task_audit_for(store, token, state, choices, trust_pickle=trust_pickle)
    assert state is not None  # task_audit_for refused a missing state
    spec = _model_choices(choices, "Explanations")

    def compute():
        frame, model = _inputs(store, token, state, spec, trust_pickle=trust_pickle)
        return explain_task_model(frame, spec, model, task=audit.task, target_class=target_class)

    return store.cached(("task-explain", *_key(store, token, state, choices), str(target_class)), compute,
                        disk=False, token=token)


def task_mitigations_for(store, token: str, state: dict | None, choices: dict[str, Any], *,
                         trust_pickle: bool = False):
    """The session's model's mitigations compared on one held-out split
    (:func:`auditapp.mitigation.task_compare.compare_task_mitigations`), cached by content."""
    from auditapp.mitigation.task_compare import compare_task_mitigations

    audit = task_audit_for(store, token, state, choices, trust_pickle=trust_pickle)
    assert state is not None
    spec = _model_choices(choices, "Mitigations")

    def compute():
        frame, model = _inputs(store, token, state, spec, trust_pickle=trust_pickle)
        return compare_task_mitigations(frame, spec, model, task=audit.task, export=True)

    return store.cached(("task-mitigate", *_key(store, token, state, choices)), compute, token=token)


def task_mitigation_file(store, token: str, state: dict | None, choices: dict[str, Any], name: str, what: str, *,
                         trust_pickle: bool = False) -> tuple[bytes, str]:
    """One candidate's model file (``what`` ``"model"``) or test predictions (``"predictions"``) from the
    comparison the page shows, as ``(bytes, file name)``: what ``mitigate --export`` writes.

    Raises
    ------
    AuditInputError
        For a candidate that did not train or has no model file (the message says why).
    """
    import tempfile
    from pathlib import Path

    from auditapp.mitigation.task_compare import export_task_candidate

    comparison = task_mitigations_for(store, token, state, choices, trust_pickle=trust_pickle)
    with tempfile.TemporaryDirectory(prefix="auditapp-task-export-") as folder:
        entry = export_task_candidate(comparison, name, folder)
        path = entry["model"] if what == "model" else entry["predictions"]
        if path is None:
            raise AuditInputError(entry["note"] or f"The candidate '{name}' has no model file.")
        return Path(path).read_bytes(), Path(path).name
