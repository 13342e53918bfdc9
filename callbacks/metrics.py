"""Group metrics page: summary, bars, disparities, intersections, table."""

from __future__ import annotations

from dash import Input, Output, State, callback, html, no_update

from auditapp.core.errors import AuditInputError
from auditapp.core.narrative import summarize_gaps
from auditapp.figures import empty_figure
from auditapp.figures.metrics import (
    disparity_figure,
    group_metric_figure,
    group_table_columns,
    group_table_rows,
    intersection_heatmap,
)
from callbacks.context import audit_for
from callbacks.queue import AUDIT_RUNNING
from layouts import ids
from layouts.components import error_alert

SEP = "|"


def _grouping(audit, grouping_key):
    """The chosen grouping, or the first one while the dropdown is still empty."""
    if not grouping_key:
        return audit.result.groupings[0]
    return audit.result.grouping(*grouping_key.split(SEP))


@callback(
    Output(ids.METRICS_CONTEXT, "children"), Output(ids.METRICS_SUMMARY, "children"),
    Output(ids.METRICS_GROUPING_DROPDOWN, "options"), Output(ids.METRICS_GROUPING_DROPDOWN, "value"),
    Output(ids.METRICS_HEATMAP_CARD, "style"), Output(ids.METRICS_ALERT, "children"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), running=AUDIT_RUNNING,
)
def show_audit_overview(state, token):
    """Summarise the current audit when the page opens or the settings change."""
    try:
        audit = audit_for(token, state)
    except AuditInputError as exc:
        return "", [], [], None, {"display": "none"}, error_alert(str(exc))
    options = [{"label": g.name, "value": SEP.join(g.features)} for g in audit.result.groupings]
    has_pairs = any(len(g.features) == 2 for g in audit.result.groupings)
    notes = [html.Li(n, className="text-muted") for n in audit.notices]
    summary = [html.Li(s) for s in summarize_gaps(audit.result)] + notes
    return (audit.describe(scenario=state.get("scenario")), summary, options, options[0]["value"],
            None if has_pairs else {"display": "none"}, None)


@callback(
    Output(ids.METRICS_BAR_GRAPH, "figure"), Output(ids.METRICS_TABLE, "rowData"),
    Output(ids.METRICS_TABLE, "columnDefs"),
    Input(ids.METRICS_GROUPING_DROPDOWN, "value"), Input(ids.METRICS_METRIC_CHECKLIST, "value"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_group_rates(grouping_key, metrics, state, token):
    """Bars and table for the chosen grouping (the first one while the page opens) and metrics."""
    if not metrics:
        return empty_figure("Choose at least one metric to chart."), [], []
    try:
        audit = audit_for(token, state)
        grouping = _grouping(audit, grouping_key)
    except (AuditInputError, KeyError):
        return no_update, no_update, no_update
    return (group_metric_figure(grouping, metrics, confidence=audit.result.confidence),
            group_table_rows(grouping, metrics), group_table_columns(metrics))


@callback(
    Output(ids.METRICS_DISPARITY_GRAPH, "figure"),
    Input(ids.METRICS_GROUPING_DROPDOWN, "value"), Input(ids.METRICS_DISPARITY_METRIC, "value"),
    Input(ids.METRICS_DISPARITY_KIND, "value"), Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_disparity(grouping_key, metric, kind, state, token):
    """Each group against the reference group for one metric (the first grouping while the page opens)."""
    if not metric:
        return no_update
    try:
        audit = audit_for(token, state)
        grouping = _grouping(audit, grouping_key)
    except (AuditInputError, KeyError):
        return no_update
    return disparity_figure(grouping, metric, kind=kind, confidence=audit.result.confidence)


@callback(
    Output(ids.METRICS_HEATMAP_GRAPH, "figure"),
    Input(ids.METRICS_HEATMAP_METRIC, "value"), Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_heatmap(metric, state, token):
    """The first two-attribute intersection as a heatmap."""
    try:
        audit = audit_for(token, state)
    except AuditInputError:
        return no_update
    pairs = [g for g in audit.result.groupings if len(g.features) == 2]
    if not pairs:
        return empty_figure("Choose two sensitive features to see their intersections.")
    return intersection_heatmap(pairs[0], metric)


_DISPARITY_HELP = {
    "ratio": "A ratio is the group's rate divided by the reference group's: 1 means equal. Ratios between 0.8 "
             "and 1.25 (the shaded band) pass the four-fifths rule. ★ marks gaps unlikely to be chance "
             "(Benjamini–Hochberg q < 0.05).",
    "difference": "A difference is the group's rate minus the reference group's, in percentage points: 0 means "
                  "equal, and a whisker that crosses 0 means the data cannot tell the groups apart. ★ marks gaps "
                  "unlikely to be chance (Benjamini–Hochberg q < 0.05).",
}


@callback(Output(ids.METRICS_DISPARITY_HELP, "children"), Input(ids.METRICS_DISPARITY_KIND, "value"))
def show_disparity_help(kind):
    """Explain the chart in the units the user chose (ratios or differences)."""
    return _DISPARITY_HELP.get(kind, _DISPARITY_HELP["ratio"])
