"""Threshold explorer: curves, ROC and calibration once per audit; table and markers per slider move."""

from __future__ import annotations

import numpy as np
from dash import Input, Output, Patch, State, callback, no_update

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
from callbacks.context import audit_for, get_store, settings
from callbacks.queue import AUDIT_RUNNING
from layouts import ids
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


@callback(
    Output(ids.THRESHOLD_GROUPING_DROPDOWN, "options"), Output(ids.THRESHOLD_GROUPING_DROPDOWN, "value"),
    Output(ids.THRESHOLD_SLIDER, "value"), Output(ids.THRESHOLD_ALERT, "children"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), running=AUDIT_RUNNING,
)
def show_threshold_page(state, token):
    """Set up the explorer for the current audit."""
    try:
        audit = audit_for(token, state)
        if not audit.has_scores:
            raise AuditInputError(
                "The threshold explorer needs scores. On Data & model, choose a score column or a model "
                "that gives probabilities.")
    except AuditInputError as exc:
        return [], None, no_update, error_alert(str(exc))
    options = [{"label": g.name, "value": SEP.join(g.features)} for g in audit.result.groupings]
    start = audit.data.threshold if audit.data.threshold is not None else 0.5
    resolution = info_alert(audit.score_grid.sentence(), dismissable=False) if audit.score_grid else None
    return options, options[0]["value"], start, resolution


@callback(
    Output(ids.THRESHOLD_ROC_GRAPH, "figure"), Output(ids.THRESHOLD_CURVES_GRAPH, "figure"),
    Output(ids.THRESHOLD_TABLE, "rowData"), Output(ids.THRESHOLD_TABLE, "columnDefs"),
    Output(ids.THRESHOLD_VALUE_TEXT, "children"), Output(ids.THRESHOLD_READY_STORE, "data"),
    Output(ids.THRESHOLD_CALIBRATION_GRAPH, "figure"),
    Input(ids.THRESHOLD_GROUPING_DROPDOWN, "value"), Input(ids.STATE_STORE, "data"),
    State(ids.THRESHOLD_SLIDER, "value"), State(ids.SESSION_STORE, "data"),
)
def show_threshold_curves(grouping_key, state, threshold, token):
    """Draw the ROC curves, rate curves, calibration and table for the chosen grouping (the first one while
    the dropdown is still empty)."""
    try:
        if not grouping_key:
            grouping_key = SEP.join(audit_for(token, state).result.groupings[0].features)
        index = _index(token, state, grouping_key)
        calibration = audit_for(token, state).calibration_for(tuple(grouping_key.split(SEP)))
    except (AuditInputError, KeyError):
        return (*(no_update,) * 6, empty_figure("No scores to explore."))
    t = float(threshold if threshold is not None else 0.5)
    rates = index.rates_at(t)
    return (roc_figure(roc_curves(index), roc_auc(index), rates), threshold_curves_figure(index.curves(GRID), t),
            threshold_table_rows(rates), TABLE_COLUMNS, f"≥ {t:.2f}", grouping_key, calibration_figure(calibration))


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
