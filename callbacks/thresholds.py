"""Threshold explorer: curves, ROC and calibration once per audit; table and markers per slider move."""

from __future__ import annotations

import numpy as np
from dash import Input, Output, Patch, State, callback, no_update
from dash.exceptions import PreventUpdate

from auditapp.core.errors import AuditInputError
from auditapp.core.scores import roc_auc, roc_curves
from auditapp.figures import empty_figure
from auditapp.figures.thresholds import (
    calibration_figure,
    roc_figure,
    threshold_curves_figure,
    threshold_moves,
    threshold_table_rows,
)
from auditapp.service import workspace
from callbacks.context import audit_for, cached_audit, get_store, settings
from callbacks.first_view import already_drawn, provides, remembered
from callbacks.queue import AUDIT_RUNNING
from layouts import defaults, ids
from layouts.components import error_alert, info_alert

SEP = "|"
GRID = np.round(np.linspace(0, 1, 101), 2)
TABLE_COLUMNS = [{"headerName": "Group", "field": "group", "pinned": "left"}, {"headerName": "n", "field": "n"}] + [
    {"headerName": name, "field": field}
    for name, field in (("Selection rate", "selection_rate"), ("True positive rate", "true_positive_rate"),
                        ("False positive rate", "false_positive_rate"), ("Precision", "precision"),
                        ("Accuracy", "accuracy"))
]


def _index(token, state, key):
    return workspace.threshold_index_for(get_store(), token, state, tuple(key.split(SEP)),
                                         trust_pickle=settings().trust_pickle)


def explorer(audit) -> dict:
    """The explorer's set-up for an audit with scores: groupings (the first chosen), start, resolution note."""
    if not audit.has_scores:
        raise AuditInputError(
            "The threshold explorer needs scores. On Data & model, choose a score column or a model "
            "that gives probabilities.")
    options = [{"label": g.name, "value": SEP.join(g.features)} for g in audit.result.groupings]
    start = audit.data.threshold if audit.data.threshold is not None else defaults.THRESHOLD
    resolution = info_alert(audit.score_grid.sentence(), dismissable=False) if audit.score_grid else None
    return {"options": options, "grouping": options[0]["value"], "start": start, "alert": resolution}


def curves(audit, token, state, grouping_key, threshold) -> dict:
    """ROC, rate curves, table and calibration for a grouping at a threshold."""
    index = _index(token, state, grouping_key)
    calibration = audit.calibration_for(tuple(grouping_key.split(SEP)))
    t = float(threshold if threshold is not None else defaults.THRESHOLD)
    rates = index.rates_at(t)
    return {"roc": roc_figure(roc_curves(index), roc_auc(index), rates),
            "curves": threshold_curves_figure(index.curves(GRID), t), "rows": threshold_table_rows(rates),
            "value": f"≥ {t:.2f}", "calibration": calibration_figure(calibration)}


@provides("/thresholds")
def first_view(token, state) -> dict | None:
    """The explorer drawn for a cached audit with scores (see ``callbacks.first_view``)."""
    audit = cached_audit(token, state)
    if audit is None or not audit.has_scores:
        return None
    return remembered("/thresholds", audit, state, lambda: _draw(audit, token, state))


def _draw(audit, token, state) -> dict:
    setup = explorer(audit)
    drawn = curves(audit, token, state, setup["grouping"], setup["start"])
    return {
        ids.THRESHOLD_GROUPING_DROPDOWN: {"options": setup["options"], "value": setup["grouping"]},
        ids.THRESHOLD_SLIDER: {"value": setup["start"]}, ids.THRESHOLD_ALERT: {"children": setup["alert"]},
        ids.THRESHOLD_ROC_GRAPH: {"figure": drawn["roc"]}, ids.THRESHOLD_CURVES_GRAPH: {"figure": drawn["curves"]},
        ids.THRESHOLD_TABLE: {"rowData": drawn["rows"], "columnDefs": TABLE_COLUMNS},
        ids.THRESHOLD_VALUE_TEXT: {"children": drawn["value"]}, ids.THRESHOLD_READY_STORE: {"data": setup["grouping"]},
        ids.THRESHOLD_CALIBRATION_GRAPH: {"figure": drawn["calibration"]},
    }


@callback(
    Output(ids.THRESHOLD_GROUPING_DROPDOWN, "options"), Output(ids.THRESHOLD_GROUPING_DROPDOWN, "value"),
    Output(ids.THRESHOLD_SLIDER, "value"), Output(ids.THRESHOLD_ALERT, "children"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), State(ids.FIRST_VIEW, "data"),
    running=AUDIT_RUNNING,
)
def show_threshold_page(state, token, drawn_for=None):
    """Set up the explorer for the current audit (unless the page came drawn for it)."""
    if already_drawn(state, drawn_for):
        raise PreventUpdate
    try:
        setup = explorer(audit_for(token, state))
    except AuditInputError as exc:
        return [], None, no_update, error_alert(str(exc))
    return setup["options"], setup["grouping"], setup["start"], setup["alert"]


@callback(
    Output(ids.THRESHOLD_ROC_GRAPH, "figure"), Output(ids.THRESHOLD_CURVES_GRAPH, "figure"),
    Output(ids.THRESHOLD_TABLE, "rowData"), Output(ids.THRESHOLD_TABLE, "columnDefs"),
    Output(ids.THRESHOLD_VALUE_TEXT, "children"), Output(ids.THRESHOLD_READY_STORE, "data"),
    Output(ids.THRESHOLD_CALIBRATION_GRAPH, "figure"),
    Input(ids.THRESHOLD_GROUPING_DROPDOWN, "value"), Input(ids.STATE_STORE, "data"),
    State(ids.THRESHOLD_SLIDER, "value"), State(ids.SESSION_STORE, "data"), State(ids.FIRST_VIEW, "data"),
)
def show_threshold_curves(grouping_key, state, threshold, token, drawn_for=None):
    """Draw the ROC curves, rate curves, calibration and table for the chosen grouping (the first one while
    the dropdown is still empty)."""
    if already_drawn(state, drawn_for):
        raise PreventUpdate
    try:
        audit = audit_for(token, state)
        grouping_key = grouping_key or SEP.join(audit.result.groupings[0].features)
        drawn = curves(audit, token, state, grouping_key, threshold)
    except (AuditInputError, KeyError):
        return (*(no_update,) * 6, empty_figure("No scores to explore."))
    return (drawn["roc"], drawn["curves"], drawn["rows"], TABLE_COLUMNS, drawn["value"], grouping_key,
            drawn["calibration"])


@callback(
    Output(ids.THRESHOLD_TABLE, "rowData", allow_duplicate=True),
    Output(ids.THRESHOLD_VALUE_TEXT, "children", allow_duplicate=True),
    Output(ids.THRESHOLD_CURVES_GRAPH, "figure", allow_duplicate=True),
    Output(ids.THRESHOLD_ROC_GRAPH, "figure", allow_duplicate=True),
    Input(ids.THRESHOLD_SLIDER, "value"), State(ids.THRESHOLD_READY_STORE, "data"),
    State(ids.THRESHOLD_GROUPING_DROPDOWN, "value"), State(ids.STATE_STORE, "data"),
    State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def on_threshold(threshold, ready_key, grouping_key, state, token):
    """Move the threshold: new per-group rates from sorted scores, markers moved in place."""
    if threshold is None or not grouping_key or ready_key != grouping_key:
        return (no_update,) * 4
    try:
        index = _index(token, state, grouping_key)
    except AuditInputError:
        return (no_update,) * 4
    t = float(threshold)
    rates = index.rates_at(t)
    moves = threshold_moves(t, rates, roc_curves=index.with_both_outcomes())
    return threshold_table_rows(rates), f"≥ {t:.2f}", _patch(moves["curves"]), _patch(moves["roc"])


def _patch(moves) -> Patch:
    """A Dash ``Patch`` setting each ``(path, value)`` of a figure module's moves."""
    patch = Patch()
    for path, value in moves:
        target = patch
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return patch
