"""Mitigation page: choose, run in the background with progress, show the trade-off, download a candidate."""

from __future__ import annotations

import os

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from auditapp.core.errors import AuditInputError
from auditapp.figures import empty_figure
from auditapp.figures.mitigation import candidate_groups_figure, tradeoff_figure
from auditapp.service import mitigation_jobs as jobs
from auditapp.service import workspace
from callbacks.context import get_store, settings
from callbacks.queue import JOB_RUNNING
from layouts import ids
from layouts.components import error_alert, info_alert

# Candidates run side by side on the available cores (the engine caps this at two processes).
N_JOBS = min(2, os.cpu_count() or 1)
STATUS_COLOURS = {"queued": "secondary", "running": "primary", "done": "success", "failed": "danger",
                  "cancelled": "warning"}
WRAP = {"wrapText": True, "autoHeight": True, "cellStyle": {"lineHeight": "1.35", "paddingTop": "6px",
                                                             "paddingBottom": "6px"}}
TABLE_COLUMNS = [
    {"headerName": "Candidate", "field": "candidate", "pinned": "left", "width": 250, **WRAP},
    {"headerName": "Recommended", "field": "recommended", "minWidth": 140},
    {"headerName": "Family", "field": "family", "minWidth": 130},
    {"headerName": "Accuracy [95% CI]", "field": "accuracy", "minWidth": 190,
     "valueFormatter": {"function": "params.data.accuracy_text"}},
    {"headerName": "Accuracy vs refitted baseline [95% CI]", "field": "accuracy_change", "minWidth": 230,
     "wrapHeaderText": True, "autoHeaderHeight": True,
     "valueFormatter": {"function": "params.data.accuracy_change_text"}},
    {"headerName": "Balanced accuracy [95% CI]", "field": "balanced_accuracy", "minWidth": 190,
     "valueFormatter": {"function": "params.data.balanced_accuracy_text"}},
    {"headerName": "Disparity [95% CI]", "field": "disparity", "minWidth": 190,
     "valueFormatter": {"function": "params.data.disparity_text"}},
    {"headerName": "Disparity vs refitted baseline", "field": "disparity_vs_baseline", "minWidth": 200,
     "wrapHeaderText": True, "autoHeaderHeight": True, **WRAP},
    {"headerName": "Widest gap between (test rows; small groups flagged)", "field": "widest", "minWidth": 300,
     "wrapHeaderText": True, "autoHeaderHeight": True, **WRAP},
    {"headerName": "Disparity of single random draws (5th–95th pct)", "field": "draws", "minWidth": 170,
     "wrapHeaderText": True, "autoHeaderHeight": True},
    {"headerName": "Fit time (s)", "field": "fit_seconds", "minWidth": 110},
    {"headerName": "Needs sensitive attribute at prediction", "field": "needs_sensitive", "minWidth": 150,
     "wrapHeaderText": True, "autoHeaderHeight": True},
    {"headerName": "Pareto front", "field": "pareto", "minWidth": 110},
    {"headerName": "Library warnings", "field": "warnings", "minWidth": 260, "tooltipField": "warnings"},
    {"headerName": "Notes", "field": "notes", "minWidth": 420, "tooltipField": "notes"},
]
GROUP_COLUMNS = [
    {"headerName": "Group", "field": "group", "minWidth": 200, "flex": 1},
    {"headerName": "Training rows", "field": "train_rows", "minWidth": 130},
    {"headerName": "Test rows", "field": "test_rows", "minWidth": 110},
    {"headerName": "Test rows with the favourable outcome", "field": "test_favourable", "minWidth": 200,
     "wrapHeaderText": True, "autoHeaderHeight": True},
    {"headerName": "Small group", "field": "small", "minWidth": 260, "flex": 1},
]
SEP = "|"


def _choices(choice) -> tuple[str, list[str], list[str]] | None:
    if not choice or not choice.get("constraint") or not choice.get("candidates"):
        return None
    return choice["constraint"], list(choice["candidates"]), list(choice.get("grouping") or [])


def _comparison(choice, state, token):
    chosen = _choices(choice)
    if chosen is None:
        return None
    return jobs.cached_comparison(get_store(), token, state, constraint=chosen[0], candidates=chosen[1],
                                  grouping=chosen[2] or None)


def grouping_options(sensitive) -> list[dict]:
    """Each sensitive feature alone, then their intersections (marked: many smaller groups)."""
    from itertools import combinations

    features = [str(s) for s in sensitive]
    options = [{"label": f, "value": f} for f in features]
    for size in range(2, len(features) + 1):
        for combo in combinations(features, size):
            options.append({"label": f"{' × '.join(combo)} (intersection: more, smaller groups)",
                            "value": SEP.join(combo)})
    return options


def status_list(statuses) -> html.Ul:
    """Per-candidate badges: queued, running, done (with its numbers) or failed (with its error)."""
    return html.Ul([
        html.Li([dbc.Badge(s.status, color=STATUS_COLOURS[s.status], className="me-2"), html.Strong(s.title),
                 html.Span(f" — {s.message}" if s.message else "")], className="mb-1", **{"data-status": s.status,
                                                                                          "data-name": s.name})
        for s in statuses
    ], className="list-unstyled mb-0")


@callback(
    Output(ids.MITIGATION_CONSTRAINT_DROPDOWN, "value"),
    Input(ids.MITIGATION_CONSTRAINT_DROPDOWN, "id"), State(ids.MITIGATION_CHOICE_STORE, "data"),
)
def show_saved_constraint(_id, choice):
    """Open the page on the constraint of the last run (or demographic parity)."""
    chosen = _choices(choice)
    return chosen[0] if chosen else "demographic_parity"


@callback(
    Output(ids.MITIGATION_GROUPING_DROPDOWN, "options"), Output(ids.MITIGATION_GROUPING_DROPDOWN, "value"),
    Input(ids.STATE_STORE, "data"), State(ids.MITIGATION_CHOICE_STORE, "data"),
)
def show_grouping_choices(state, choice):
    """Offer each sensitive feature and their intersections; start with the first feature alone."""
    sensitive = ((state or {}).get("spec") or {}).get("sensitive") or []
    options = grouping_options(sensitive)
    if not options:
        return [], None
    chosen = _choices(choice)
    saved = SEP.join(chosen[2]) if chosen and chosen[2] else None
    values = [o["value"] for o in options]
    return options, saved if saved in values else values[0]


@callback(
    Output(ids.MITIGATION_CONTEXT, "children"), Output(ids.MITIGATION_CONSTRAINT_HELP, "children"),
    Output(ids.MITIGATION_CANDIDATES_CHECKLIST, "options"), Output(ids.MITIGATION_CANDIDATES_CHECKLIST, "value"),
    Output(ids.MITIGATION_ALERT, "children"),
    Input(ids.STATE_STORE, "data"), Input(ids.MITIGATION_CONSTRAINT_DROPDOWN, "value"),
    Input(ids.MITIGATION_GROUPING_DROPDOWN, "value"),
    State(ids.MITIGATION_CHOICE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_mitigation_setup(state, constraint, grouping, choice, token):
    """Offer the candidates that apply to this model and constraint."""
    if not constraint:
        return (no_update,) * 5
    try:
        store = get_store()
        spec = workspace.spec_from_state(state)
        dataset = workspace.dataset_for(store, token, state)
        model = workspace.load_model(store, token, state.get("model"), trust_pickle=settings().trust_pickle)
        groups = jobs.chosen_grouping(state, grouping.split(SEP) if grouping else None)
    except (AuditInputError, KeyError, TypeError) as exc:
        message = str(exc) if isinstance(exc, AuditInputError) else "Choose a dataset on the Data & model page."
        return "", jobs.CONSTRAINT_TEXT[constraint], [], [], error_alert(message)
    options, defaults = jobs.candidate_options(model, constraint=constraint)
    labels = [{"label": html.Span([dbc.Badge(jobs.FAMILY_LABELS[o.family], color="light", text_color="dark",
                                             className="me-2 border"), o.title,
                                   html.Small(f" ({o.reason})", className="text-muted") if o.reason else ""]),
               "value": o.name, "disabled": o.disabled} for o in options]
    chosen = _choices(choice)
    allowed = {o.name for o in options if not o.disabled}
    value = list(defaults)
    if chosen and chosen[0] == constraint and set(chosen[1]) <= allowed:
        value = chosen[1]
    return (jobs.context_line(dataset, model, spec, grouping=groups), jobs.CONSTRAINT_TEXT[constraint], labels, value,
            None)


@callback(
    Output(ids.MITIGATION_CHOICE_STORE, "data"), Output(ids.MITIGATION_RUN_ALERT, "children"),
    Input(ids.MITIGATION_RUN_BUTTON, "n_clicks"),
    State(ids.MITIGATION_CONSTRAINT_DROPDOWN, "value"), State(ids.MITIGATION_CANDIDATES_CHECKLIST, "value"),
    State(ids.MITIGATION_GROUPING_DROPDOWN, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    # Progress is polled four times a second: the first result (the baseline, usually ready a third of a
    # second after Run) shows within a second.
    background=True, prevent_initial_call=True, interval=250,
    progress=[Output(ids.MITIGATION_PROGRESS, "value"), Output(ids.MITIGATION_PROGRESS, "label"),
              Output(ids.MITIGATION_STATUS_LIST, "children")],
    running=[JOB_RUNNING, (Output(ids.MITIGATION_RUN_BUTTON, "disabled"), True, False),
             (Output(ids.MITIGATION_CANCEL_BUTTON, "disabled"), False, True),
             (Output(ids.MITIGATION_PROGRESS_AREA, "style"), {"display": "block"}, {"display": "none"})],
    cancel=[Input(ids.MITIGATION_CANCEL_BUTTON, "n_clicks")],
)
def on_run_comparison(set_progress, n_clicks, constraint, candidates, grouping, state, token):
    """Run the chosen candidates in the background, reporting each one's status as it changes."""
    if not n_clicks:
        return no_update, no_update
    try:
        names = jobs.chosen_candidates(candidates)
        groups = jobs.chosen_grouping(state, grouping.split(SEP) if grouping else None)
        board = jobs.ProgressBoard(names, publish=lambda b: set_progress(
            (b.percent, f"{b.finished} of {len(b.statuses)} finished", status_list(b.statuses))))
        board.publish_now()
        jobs.run_comparison(get_store(), token, state, constraint=constraint, candidates=names, grouping=groups,
                            n_jobs=N_JOBS, on_progress=board, trust_pickle=settings().trust_pickle)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
    return {"constraint": constraint, "candidates": list(names), "grouping": list(groups), "run": n_clicks}, None


@callback(
    Output(ids.MITIGATION_RUN_ALERT, "children", allow_duplicate=True),
    Input(ids.MITIGATION_CANCEL_BUTTON, "n_clicks"), prevent_initial_call=True,
)
def on_cancel(n_clicks):
    """Say that the run was stopped."""
    if not n_clicks:
        return no_update
    return info_alert("Cancelled. Nothing from this run was kept; press Run to start again.", color="warning")


RESULT_OUTPUTS = dict(
    results=Output(ids.MITIGATION_RESULTS, "style"), tradeoff=Output(ids.MITIGATION_TRADEOFF_GRAPH, "figure"),
    tradeoff_text=Output(ids.MITIGATION_TRADEOFF_TEXT, "children"), rows=Output(ids.MITIGATION_TABLE, "rowData"),
    columns=Output(ids.MITIGATION_TABLE, "columnDefs"), run_summary=Output(ids.MITIGATION_RUN_SUMMARY, "children"),
    learner_notes=Output(ids.MITIGATION_LEARNER_NOTES, "children"),
    candidates=Output(ids.MITIGATION_CANDIDATE_DROPDOWN, "options"),
    candidate=Output(ids.MITIGATION_CANDIDATE_DROPDOWN, "value"),
    groups_text=Output(ids.MITIGATION_GROUP_SIZES_TEXT, "children"),
    group_rows=Output(ids.MITIGATION_GROUP_SIZES_GRID, "rowData"),
    group_columns=Output(ids.MITIGATION_GROUP_SIZES_GRID, "columnDefs"),
)


@callback(
    output=RESULT_OUTPUTS,
    inputs=dict(choice=Input(ids.MITIGATION_CHOICE_STORE, "data"), state=Input(ids.STATE_STORE, "data"),
                token=State(ids.SESSION_STORE, "data")),
)
def show_mitigation_results(choice, state, token):
    """Show the finished comparison for the last choices (from the cache)."""
    comparison = _comparison(choice, state, token)
    if comparison is None:
        return {name: {"display": "none"} if name == "results" else no_update for name in RESULT_OUTPUTS}
    notes = jobs.learner_notes(comparison)
    learner = info_alert([html.Strong("A default learner replaced the uploaded model for some candidates:"),
                          html.Ul([html.Li(n) for n in notes], className="mb-0")], dismissable=False) if notes else None
    options = [{"label": c.title + (" (failed)" if c.error else ""), "value": c.name}
               for c in comparison.candidates]
    return dict(
        results={"display": "block"}, tradeoff=tradeoff_figure(comparison),
        tradeoff_text=[html.Li(line) for line in jobs.tradeoff_summary(comparison)],
        rows=jobs.comparison_rows(comparison), columns=TABLE_COLUMNS,
        run_summary=html.Div([html.Div("How the run went:", className="fw-semibold small mt-2"),
                              status_list(jobs.final_statuses(comparison))]),
        learner_notes=learner, candidates=options,
        candidate=jobs.recommended_candidate(comparison) or comparison.candidates[0].name,
        groups_text=jobs.grouping_sentence(comparison), group_rows=jobs.group_rows(comparison),
        group_columns=GROUP_COLUMNS,
    )


@callback(
    Output(ids.MITIGATION_GROUPS_GRAPH, "figure"), Output(ids.MITIGATION_CANDIDATE_TEXT, "children"),
    Output(ids.MITIGATION_MODEL_BUTTON, "disabled"), Output(ids.MITIGATION_PREDICTIONS_BUTTON, "disabled"),
    Input(ids.MITIGATION_CANDIDATE_DROPDOWN, "value"), State(ids.MITIGATION_CHOICE_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_candidate(name, choice, state, token):
    """Per-group bars and a summary of the chosen candidate."""
    comparison = _comparison(choice, state, token)
    if not name or comparison is None or name not in [c.name for c in comparison.candidates]:
        return empty_figure("Run the comparison, then choose a candidate."), [], True, True
    result = comparison.candidate(name)
    return (candidate_groups_figure(comparison, name), [html.Li(t) for t in jobs.candidate_summary(comparison, name)],
            result.model is None, result.y_pred is None)


def _download(make, name, choice, state, token):
    comparison = _comparison(choice, state, token)
    if comparison is None:
        return no_update, error_alert("That comparison is no longer available. Press Run again.")
    try:
        content, filename = make(comparison, name)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
    return dcc.send_bytes(content, filename), None


@callback(
    Output(ids.MITIGATION_MODEL_DOWNLOAD, "data"), Output(ids.MITIGATION_DOWNLOAD_ALERT, "children"),
    Input(ids.MITIGATION_MODEL_BUTTON, "n_clicks"), State(ids.MITIGATION_CANDIDATE_DROPDOWN, "value"),
    State(ids.MITIGATION_CHOICE_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def on_download_model(n_clicks, name, choice, state, token):
    """Download the chosen candidate's model as a skops file."""
    if not n_clicks or not name:
        return no_update, no_update
    return _download(jobs.model_file, name, choice, state, token)


@callback(
    Output(ids.MITIGATION_PREDICTIONS_DOWNLOAD, "data"),
    Output(ids.MITIGATION_DOWNLOAD_ALERT, "children", allow_duplicate=True),
    Input(ids.MITIGATION_PREDICTIONS_BUTTON, "n_clicks"), State(ids.MITIGATION_CANDIDATE_DROPDOWN, "value"),
    State(ids.MITIGATION_CHOICE_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def on_download_predictions(n_clicks, name, choice, state, token):
    """Download the chosen candidate's test predictions as CSV."""
    if not n_clicks or not name:
        return no_update, no_update
    return _download(jobs.predictions_csv, name, choice, state, token)
