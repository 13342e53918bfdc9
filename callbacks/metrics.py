"""Group metrics page: summary, bars, disparities, intersections, table."""

from __future__ import annotations

from dash import Input, Output, State, callback, html, no_update
from dash.exceptions import PreventUpdate

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
from callbacks.context import audit_for, cached_audit
from callbacks.first_view import already_drawn, provides, remembered
from callbacks.queue import AUDIT_RUNNING
from layouts import defaults, ids
from layouts.components import error_alert

SEP = "|"


def _grouping(audit, grouping_key):
    """The chosen grouping, or the first one while the dropdown is still empty."""
    if not grouping_key:
        return audit.result.groupings[0]
    return audit.result.grouping(*grouping_key.split(SEP))


def overview(audit, state) -> dict:
    """The page's header for an audit: context, summary, groupings (the first chosen), heatmap card."""
    options = [{"label": g.name, "value": SEP.join(g.features)} for g in audit.result.groupings]
    has_pairs = any(len(g.features) == 2 for g in audit.result.groupings)
    notes = [html.Li(n, className="text-muted") for n in audit.notices]
    summary = [html.Li(s) for s in summarize_gaps(audit.result)] + notes
    return {"context": audit.describe(scenario=state.get("scenario")), "summary": summary, "options": options,
            "grouping": options[0]["value"], "heatmap_style": None if has_pairs else {"display": "none"},
            "alert": None}


def group_rates(audit, grouping_key, metrics) -> tuple:
    """Bars, table rows and table columns for a grouping and the metrics to chart."""
    if not metrics:
        return empty_figure("Choose at least one metric to chart."), [], []
    grouping = _grouping(audit, grouping_key)
    return (group_metric_figure(grouping, metrics, confidence=audit.result.confidence),
            group_table_rows(grouping, metrics), group_table_columns(metrics))


def disparity(audit, grouping_key, metric, kind):
    """Each group against the reference group for one metric."""
    return disparity_figure(_grouping(audit, grouping_key), metric, kind=kind, confidence=audit.result.confidence)


def heatmap(audit, metric):
    """The first two-attribute intersection as a heatmap (or a note that there is none)."""
    pairs = [g for g in audit.result.groupings if len(g.features) == 2]
    if not pairs:
        return empty_figure("Choose two sensitive features to see their intersections.")
    return intersection_heatmap(pairs[0], metric)


@provides("/")
def first_view(token, state) -> dict | None:
    """The page drawn for a cached audit, with the layout's default choices (see ``callbacks.first_view``)."""
    audit = cached_audit(token, state)
    return None if audit is None else remembered("/", audit, state, lambda: _draw(audit, state))


def _draw(audit, state) -> dict:
    head = overview(audit, state)
    bars, rows, columns = group_rates(audit, head["grouping"], defaults.METRICS_CHARTED)
    return {
        ids.METRICS_CONTEXT: {"children": head["context"]}, ids.METRICS_SUMMARY: {"children": head["summary"]},
        ids.METRICS_GROUPING_DROPDOWN: {"options": head["options"], "value": head["grouping"]},
        ids.METRICS_HEATMAP_CARD: {"style": head["heatmap_style"]},
        ids.METRICS_BAR_GRAPH: {"figure": bars}, ids.METRICS_TABLE: {"rowData": rows, "columnDefs": columns},
        ids.METRICS_DISPARITY_GRAPH: {"figure": disparity(audit, head["grouping"], defaults.METRICS_DISPARITY,
                                                                   defaults.METRICS_DISPARITY_KIND)},
        ids.METRICS_HEATMAP_GRAPH: {"figure": heatmap(audit, defaults.METRICS_HEATMAP)},
    }


@callback(
    Output(ids.METRICS_CONTEXT, "children"), Output(ids.METRICS_SUMMARY, "children"),
    Output(ids.METRICS_GROUPING_DROPDOWN, "options"), Output(ids.METRICS_GROUPING_DROPDOWN, "value"),
    Output(ids.METRICS_HEATMAP_CARD, "style"), Output(ids.METRICS_ALERT, "children"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), State(ids.FIRST_VIEW, "data"),
    running=AUDIT_RUNNING,
)
def show_audit_overview(state, token, drawn_for=None):
    """Summarise the current audit when the page opens (unless it came drawn) or the settings change."""
    if already_drawn(state, drawn_for):
        raise PreventUpdate
    try:
        audit = audit_for(token, state)
    except AuditInputError as exc:
        return "", [], [], None, {"display": "none"}, error_alert(str(exc))
    head = overview(audit, state)
    return (head["context"], head["summary"], head["options"], head["grouping"], head["heatmap_style"],
            head["alert"])


@callback(
    Output(ids.METRICS_BAR_GRAPH, "figure"), Output(ids.METRICS_TABLE, "rowData"),
    Output(ids.METRICS_TABLE, "columnDefs"),
    Input(ids.METRICS_GROUPING_DROPDOWN, "value"), Input(ids.METRICS_METRIC_CHECKLIST, "value"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), State(ids.FIRST_VIEW, "data"),
)
def show_group_rates(grouping_key, metrics, state, token, drawn_for=None):
    """Bars and table for the chosen grouping (the first one while the page opens) and metrics."""
    if already_drawn(state, drawn_for):
        raise PreventUpdate
    if not metrics:
        return empty_figure("Choose at least one metric to chart."), [], []
    try:
        return group_rates(audit_for(token, state), grouping_key, metrics)
    except (AuditInputError, KeyError):
        return no_update, no_update, no_update


@callback(
    Output(ids.METRICS_DISPARITY_GRAPH, "figure"),
    Input(ids.METRICS_GROUPING_DROPDOWN, "value"), Input(ids.METRICS_DISPARITY_METRIC, "value"),
    Input(ids.METRICS_DISPARITY_KIND, "value"), Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    State(ids.FIRST_VIEW, "data"),
)
def show_disparity(grouping_key, metric, kind, state, token, drawn_for=None):
    """Each group against the reference group for one metric (the first grouping while the page opens)."""
    if already_drawn(state, drawn_for):
        raise PreventUpdate
    if not metric:
        return no_update
    try:
        return disparity(audit_for(token, state), grouping_key, metric, kind)
    except (AuditInputError, KeyError):
        return no_update


@callback(
    Output(ids.METRICS_HEATMAP_GRAPH, "figure"),
    Input(ids.METRICS_HEATMAP_METRIC, "value"), Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    State(ids.FIRST_VIEW, "data"),
)
def show_heatmap(metric, state, token, drawn_for=None):
    """The first two-attribute intersection as a heatmap."""
    if already_drawn(state, drawn_for):
        raise PreventUpdate
    try:
        return heatmap(audit_for(token, state), metric)
    except AuditInputError:
        return no_update


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
