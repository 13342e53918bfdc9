"""Explanations page: compute once in the background, then every view reads the cached explanation."""

from __future__ import annotations

from dash import Input, Output, State, callback, ctx, no_update

from auditapp.core.errors import AuditInputError
from auditapp.explain import dependence_data
from auditapp.explain.pairs import explanation_pair_gap
from auditapp.explain.proxies import proxy_sentence
from auditapp.figures import empty_figure
from auditapp.figures.explain import (
    PROXY_COLUMNS,
    dependence_figure,
    gap_waterfall_figure,
    importance_figure,
    local_waterfall_figure,
    proxy_rows,
)
from auditapp.service import explain_jobs
from callbacks.context import get_store, settings
from callbacks.queue import JOB_RUNNING
from layouts import ids
from layouts.components import error_alert

# Hidden with visibility rather than display: a grid or graph laid out at zero size draws nothing.
HIDDEN = {"visibility": "hidden", "height": 0, "overflow": "hidden"}
SHOWN = {"visibility": "visible"}


def _explanation(ready, state, token):
    """The cached explanation the ready store points at (None when there is none yet)."""
    if not ready or not state:
        return None
    try:
        return explain_jobs.cached_explanation(get_store(), token, state, rows_per_group=ready["rows_per_group"],
                                               seed=ready["seed"])
    except AuditInputError:
        return None


@callback(
    Output(ids.EXPLAIN_READY_STORE, "data"), Output(ids.EXPLAIN_ALERT, "children"),
    Output(ids.EXPLAIN_COMPUTE_BUTTON, "disabled"), Output(ids.EXPLAIN_STATUS, "children"),
    Input(ids.STATE_STORE, "data"), State(ids.EXPLAIN_ROWS_INPUT, "value"), State(ids.EXPLAIN_SEED_INPUT, "value"),
    State(ids.SESSION_STORE, "data"),
)
def show_explain_page(state, rows, seed, token):
    """Open the page: show cached explanations at once, or say what is needed to compute them."""
    try:
        rows, seed = explain_jobs.explain_options(rows, seed, state)
        found = explain_jobs.cached_explanation(get_store(), token, state, rows_per_group=rows, seed=seed)
    except AuditInputError as exc:
        return None, error_alert(str(exc)), True, None
    if found is None:
        return None, None, False, (f"Press Compute to explain the model on at most {rows:,} rows per group "
                                   "(seconds for a few thousand rows).")
    return {"rows_per_group": rows, "seed": seed}, None, False, _ready_text(rows, seed)


@callback(
    Output(ids.EXPLAIN_READY_STORE, "data", allow_duplicate=True),
    Output(ids.EXPLAIN_ALERT, "children", allow_duplicate=True),
    Output(ids.EXPLAIN_STATUS, "children", allow_duplicate=True),
    Input(ids.EXPLAIN_COMPUTE_BUTTON, "n_clicks"),
    State(ids.EXPLAIN_ROWS_INPUT, "value"), State(ids.EXPLAIN_SEED_INPUT, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    background=True, prevent_initial_call=True, interval=400,
    progress=[Output(ids.EXPLAIN_PROGRESS, "value"), Output(ids.EXPLAIN_PROGRESS, "label"),
              Output(ids.EXPLAIN_PROGRESS_TEXT, "children")],
    progress_default=[0, "", ""],
    running=[JOB_RUNNING, (Output(ids.EXPLAIN_COMPUTE_BUTTON, "disabled"), True, False),
             (Output(ids.EXPLAIN_CANCEL_BUTTON, "disabled"), False, True),
             (Output(ids.EXPLAIN_PROGRESS_AREA, "style"), {"display": "block"}, {"display": "none"}),
             (Output(ids.EXPLAIN_STATUS, "style"), {"display": "none"}, {"display": "block"})],
    cancel=[Input(ids.EXPLAIN_CANCEL_BUTTON, "n_clicks")],
)
def on_compute(set_progress, n_clicks, rows, seed, state, token):
    """Compute the explanations in the background, with a progress bar."""
    if not n_clicks:
        return no_update, no_update, no_update
    try:
        rows, seed = explain_jobs.explain_options(rows, seed, state)
        explain_jobs.explanation_for(
            get_store(), token, state, rows_per_group=rows, seed=seed, trust_pickle=settings().trust_pickle,
            progress=lambda fraction, message: set_progress(_progress(fraction, message)))
    except AuditInputError as exc:
        return None, error_alert(str(exc)), None
    return {"rows_per_group": rows, "seed": seed, "run": n_clicks}, None, _ready_text(rows, seed)


@callback(
    Output(ids.EXPLAIN_STATUS, "children", allow_duplicate=True),
    Input(ids.EXPLAIN_CANCEL_BUTTON, "n_clicks"), prevent_initial_call=True,
)
def on_cancel(n_clicks):
    """Say that the computation was stopped."""
    if not n_clicks:
        return no_update
    return "Stopped before the end; nothing was kept. Press Compute to start again."


def _progress(fraction: float, message: str) -> tuple:
    percent = round(100 * fraction)
    return percent, f"{percent}%", message if percent >= 100 else f"{message}…"


def _ready_text(rows, seed) -> str:
    return f"Showing explanations computed with {rows:,} rows per group and seed {seed}."


EXPLANATION_OUTPUTS = dict(
        results=Output(ids.EXPLAIN_RESULTS, "style"), output=Output(ids.EXPLAIN_OUTPUT_TEXT, "children"),
        sample=Output(ids.EXPLAIN_SAMPLE_TEXT, "children"),
        importance=Output(ids.EXPLAIN_IMPORTANCE_GRAPH, "figure"),
        importance_text=Output(ids.EXPLAIN_IMPORTANCE_TEXT, "children"),
        groupings=Output(ids.EXPLAIN_GROUPING_DROPDOWN, "options"),
        grouping=Output(ids.EXPLAIN_GROUPING_DROPDOWN, "value"),
        pair_groupings=Output(ids.EXPLAIN_PAIR_GROUPING_DROPDOWN, "options"),
        pair_grouping=Output(ids.EXPLAIN_PAIR_GROUPING_DROPDOWN, "value"),
        features=Output(ids.EXPLAIN_FEATURE_DROPDOWN, "options"), feature=Output(ids.EXPLAIN_FEATURE_DROPDOWN, "value"),
        colours=Output(ids.EXPLAIN_COLOR_DROPDOWN, "options"), colour=Output(ids.EXPLAIN_COLOR_DROPDOWN, "value"),
        proxy_text=Output(ids.EXPLAIN_PROXY_TEXT, "children"), proxy_rows=Output(ids.EXPLAIN_PROXY_GRID, "rowData"),
        proxy_columns=Output(ids.EXPLAIN_PROXY_GRID, "columnDefs"),
)


@callback(
    output=EXPLANATION_OUTPUTS,
    inputs=dict(ready=Input(ids.EXPLAIN_READY_STORE, "data"), state=State(ids.STATE_STORE, "data"),
                token=State(ids.SESSION_STORE, "data")),
)
def show_explanation(ready, state, token):
    """Show a computed explanation: overall importance, the proxy table, and the choices for each view."""
    explanation = _explanation(ready, state, token)
    if explanation is None:
        return {name: HIDDEN if name == "results" else no_update for name in EXPLANATION_OUTPUTS}
    groupings = explain_jobs.grouping_names(explanation)
    attributes = [str(c) for c in explanation.sensitive.columns]
    return dict(
        results=SHOWN, output=explain_jobs.output_sentence(explanation),
        sample=explain_jobs.sample_sentence(explanation, int(explanation.sample.cell_sizes.sum())),
        importance=importance_figure(explanation), importance_text=explain_jobs.importance_sentence(explanation),
        groupings=groupings, grouping=groupings[0], pair_groupings=groupings, pair_grouping=groupings[0],
        features=list(explanation.shap.features), feature=explain_jobs.default_feature(explanation),
        colours=attributes, colour=attributes[0],
        proxy_text=proxy_sentence(explanation.proxies), proxy_rows=proxy_rows(explanation.proxies),
        proxy_columns=PROXY_COLUMNS,
    )




@callback(
    Output(ids.EXPLAIN_GROUP_IMPORTANCE_GRAPH, "figure"), Output(ids.EXPLAIN_GROUP_IMPORTANCE_TEXT, "children"),
    Input(ids.EXPLAIN_GROUPING_DROPDOWN, "value"), Input(ids.EXPLAIN_READY_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_group_importance(grouping, ready, state, token):
    """Choose a grouping: importance per group."""
    explanation = _explanation(ready, state, token)
    if explanation is None or not grouping:
        return no_update, no_update
    try:
        return (importance_figure(explanation, grouping=grouping),
                explain_jobs.group_importance_sentence(explanation, grouping))
    except AuditInputError as exc:
        return empty_figure(str(exc)), None


@callback(
    Output(ids.EXPLAIN_PAIR_A_DROPDOWN, "options"), Output(ids.EXPLAIN_PAIR_A_DROPDOWN, "value"),
    Output(ids.EXPLAIN_PAIR_B_DROPDOWN, "options"), Output(ids.EXPLAIN_PAIR_B_DROPDOWN, "value"),
    Input(ids.EXPLAIN_PAIR_GROUPING_DROPDOWN, "value"), Input(ids.EXPLAIN_READY_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def on_pair_grouping(grouping, ready, state, token):
    """Choose the grouping of the gap: offer its groups, starting with the widest gap."""
    explanation = _explanation(ready, state, token)
    if explanation is None or not grouping:
        return (no_update,) * 4
    groups = explain_jobs.groups_of(explanation, grouping)
    first, second = explain_jobs.default_pair(explanation, grouping)
    return groups, first, groups, second


@callback(
    Output(ids.EXPLAIN_GAP_GRAPH, "figure"), Output(ids.EXPLAIN_GAP_TEXT, "children"),
    Input(ids.EXPLAIN_PAIR_A_DROPDOWN, "value"), Input(ids.EXPLAIN_PAIR_B_DROPDOWN, "value"),
    State(ids.EXPLAIN_PAIR_GROUPING_DROPDOWN, "value"), State(ids.EXPLAIN_READY_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_gap(group, other, grouping, ready, state, token):
    """Choose two groups: the waterfall of what drives the gap between them."""
    explanation = _explanation(ready, state, token)
    if explanation is None or not (group and other and grouping):
        return no_update, no_update
    try:
        gap = explanation_pair_gap(explanation, grouping=grouping, group=group, other=other)
    except AuditInputError as exc:
        return empty_figure(str(exc), title="What drives the gap"), str(exc)
    return gap_waterfall_figure(gap), explain_jobs.gap_sentence(gap, explanation.proxies)


@callback(
    Output(ids.EXPLAIN_DEPENDENCE_GRAPH, "figure"), Output(ids.EXPLAIN_DEPENDENCE_TEXT, "children"),
    Input(ids.EXPLAIN_FEATURE_DROPDOWN, "value"), Input(ids.EXPLAIN_COLOR_DROPDOWN, "value"),
    Input(ids.EXPLAIN_READY_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_dependence(feature, attribute, ready, state, token):
    """Choose a feature or a colouring: the dependence plot."""
    explanation = _explanation(ready, state, token)
    if explanation is None or not (feature and attribute):
        return no_update, no_update
    try:
        data = dependence_data(explanation.shap, explanation.sensitive, feature, attribute)
    except AuditInputError as exc:
        return empty_figure(str(exc)), None
    return (dependence_figure(data, feature=feature, output_space=explanation.shap.output_label),
            explain_jobs.dependence_sentence(data, feature))


@callback(
    Output(ids.EXPLAIN_LOCAL_GRAPH, "figure"), Output(ids.EXPLAIN_LOCAL_TEXT, "children"),
    Output(ids.EXPLAIN_ROW_INPUT, "value"), Output(ids.EXPLAIN_LOCAL_ALERT, "children"),
    Input(ids.EXPLAIN_READY_STORE, "data"), Input(ids.EXPLAIN_ROW_INPUT, "value"),
    Input(ids.EXPLAIN_DEPENDENCE_GRAPH, "clickData"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_local(ready, row, click, state, token):
    """Pick a row (type its id or click a point): its waterfall."""
    explanation = _explanation(ready, state, token)
    if explanation is None:
        return (no_update,) * 4
    trigger = ctx.triggered_id
    try:
        if trigger == ids.EXPLAIN_DEPENDENCE_GRAPH and click:
            row = explain_jobs.clicked_row(click)
        if trigger in (ids.EXPLAIN_DEPENDENCE_GRAPH, ids.EXPLAIN_ROW_INPUT):
            local = explain_jobs.local_for_row(get_store(), token, state, explanation, row,
                                               trust_pickle=settings().trust_pickle)
        else:
            local = explanation.local
    except AuditInputError as exc:
        return no_update, no_update, no_update, error_alert(str(exc))
    return local_waterfall_figure(local), explain_jobs.local_sentence(local, explanation), local.row, None
