"""Data & model page: scenarios, uploads, preview, and the audit settings."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from auditapp import workspace
from auditapp.errors import AuditInputError
from auditapp.forms import (
    column_options,
    dataset_preview,
    form_values,
    reference_options,
    state_from_form,
)
from auditapp.missing import parse_missing_values
from auditapp.scenarios import SCENARIOS, scenario_state
from callbacks.context import audit_for, get_store
from callbacks.queue import AUDIT_RUNNING
from layouts import ids
from layouts.components import error_alert, info_alert, labelled


@callback(
    Output(ids.DATA_SCENARIO_DROPDOWN, "options"), Output(ids.DATA_SCENARIO_DROPDOWN, "value"),
    Input(ids.DATA_SCENARIO_DROPDOWN, "id"),
)
def show_scenarios(_id):
    """List the built-in scenarios when the page opens."""
    return [{"label": title, "value": name} for name, title in SCENARIOS.items()], next(iter(SCENARIOS))


@callback(Output(ids.DATA_SANDBOX_NOTE, "children"), Input(ids.DATA_SANDBOX_NOTE, "id"))
def show_sandbox_note(_id):
    """Open the page: say so when this server cannot sandbox model files."""
    from auditapp.sandbox import startup_note

    note = startup_note()
    return info_alert(note, color="warning", dismissable=False) if note else None


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_UPLOAD_ALERT, "children"),
    Input(ids.DATA_SCENARIO_BUTTON, "n_clicks"), State(ids.DATA_SCENARIO_DROPDOWN, "value"),
    State(ids.STATE_STORE, "data"), prevent_initial_call=True,
)
def on_load_scenario(n_clicks, name, current):
    """Load a built-in scenario in one click (the chosen policy stays)."""
    if not n_clicks:
        return no_update, no_update
    try:
        state = scenario_state(get_store(), name)
        state["policy"] = (current or {}).get("policy") or state["policy"]
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
    return state, info_alert(f"Loaded the scenario “{SCENARIOS[name]}”. Its audit is on Group metrics.",
                             color="success")


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_UPLOAD_ALERT, "children",
                                                                   allow_duplicate=True),
    Input(ids.UPLOAD_RESULT_STORE, "data"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def on_upload(result, state, token):
    """Take a finished upload: a dataset starts a new audit; a model joins the current one."""
    if not result:
        return no_update, no_update
    if result.get("error"):
        return no_update, error_alert(result["error"], title=f"Could not use '{result.get('name', 'the file')}'")
    notices = [html.Div(n) for n in result.get("notices", [])]
    try:
        if result["kind"] == "dataset":
            dataset = workspace.load_dataset(get_store(), token, result["id"])
            new_state = workspace.suggest_state(dataset, result["id"])
            message = f"Loaded {result['name']}: {dataset.rows:,} rows, {len(dataset.columns)} columns."
        else:
            if not state or not state.get("dataset"):
                return no_update, error_alert("Upload the dataset first, then the model.")
            new_state = dict(state, model=result["id"], spec={k: v for k, v in state["spec"].items()
                                                              if k not in ("prediction", "score")})
            message = f"Loaded the model {result['name']} ({result['format']})."
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
    new_state.pop("scenario", None)
    new_state["policy"] = (state or {}).get("policy")
    return new_state, info_alert([html.Div(message), *notices], color="success")


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_MISSING_ALERT, "children"),
    Input(ids.DATA_MISSING_BUTTON, "n_clicks"), State(ids.DATA_MISSING_INPUT, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def on_missing_values(n_clicks, words, state, token):
    """Read the dataset again with the listed words as missing, and say what was read as missing."""
    if not n_clicks:
        return no_update, no_update
    if not state or not state.get("dataset"):
        return no_update, error_alert("Load a dataset first.")
    try:
        new_state = dict(state, missing_values=list(parse_missing_values(words)))
        dataset = workspace.dataset_for(get_store(), token, new_state)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
    listed = ", ".join(new_state["missing_values"]) or "none: only empty cells are missing"
    return new_state, info_alert([html.Div(f"Read {dataset.name} again. Words read as missing: {listed}."),
                                  *[html.Div(n) for n in dataset.notices]], color="success")


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True),
    Input(ids.DATA_MODEL_CLEAR_BUTTON, "n_clicks"), State(ids.STATE_STORE, "data"),
    prevent_initial_call=True,
)
def on_clear_model(n_clicks, state):
    """Audit the predictions or scores in the dataset instead of a model."""
    if not n_clicks or not state:
        return no_update
    return dict(state, model=None)


@callback(
    Output(ids.DATA_DATASET_STATUS, "children"), Output(ids.DATA_MODEL_STATUS, "children"),
    Output(ids.DATA_PREVIEW_GRID, "rowData"), Output(ids.DATA_PREVIEW_GRID, "columnDefs"),
    Output(ids.DATA_COLUMNS_GRID, "rowData"), Output(ids.DATA_COLUMNS_GRID, "columnDefs"),
    Output(ids.DATA_TARGET_DROPDOWN, "options"), Output(ids.DATA_PREDICTION_DROPDOWN, "options"),
    Output(ids.DATA_SCORE_DROPDOWN, "options"), Output(ids.DATA_SENSITIVE_DROPDOWN, "options"),
    Output(ids.DATA_TARGET_DROPDOWN, "value"), Output(ids.DATA_SOURCE_RADIO, "value"),
    Output(ids.DATA_PREDICTION_DROPDOWN, "value"), Output(ids.DATA_SCORE_DROPDOWN, "value"),
    Output(ids.DATA_THRESHOLD_INPUT, "value"), Output(ids.DATA_MODEL_FAVORABLE_INPUT, "value"),
    Output(ids.DATA_SENSITIVE_DROPDOWN, "value"), Output(ids.DATA_BINS_INPUT, "value"),
    Output(ids.DATA_MIN_GROUP_INPUT, "value"), Output(ids.DATA_BOOTSTRAP_INPUT, "value"),
    Output(ids.DATA_SOURCE_RADIO, "options"), Output(ids.DATA_MISSING_INPUT, "value"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_dataset(state, token):
    """Show the current dataset, model and settings whenever they change."""
    if not state or not state.get("dataset"):
        empty = ("No dataset yet.", "No model.", [], [], [], [], [], [], [], [])
        return (*empty, None, "prediction", None, None, None, None, [], "", 30, 1000, no_update, "")
    try:
        store = get_store()
        dataset = workspace.dataset_for(store, token, state)
        model_name = store.info(token, state["model"]).name if state.get("model") else None
    except AuditInputError as exc:
        return (error_alert(str(exc)), *([no_update] * 21))
    preview = dataset_preview(dataset)
    options = column_options(dataset)
    values = form_values(state)
    has_model = bool(state.get("model"))
    sources = [{"label": "The model", "value": "model", "disabled": not has_model},
               {"label": "A prediction column", "value": "prediction"},
               {"label": "A score column + threshold", "value": "score"}]
    model_status = (html.Span(["Model: ", html.Strong(model_name)]) if has_model
                    else "No model: using the predictions or scores in the dataset.")
    return (html.Span(["Dataset: ", html.Strong(dataset.name), f" · {dataset.rows:,} rows · "
                       f"{len(dataset.columns)} columns · sha256 {dataset.sha256[:12]}…"]),
            model_status, preview["rows"], preview["columns"], preview["summary_rows"],
            preview["summary_columns"], options["all"], options["all"], options["numeric"], options["all"],
            values["target"], values["source"], values["prediction"], values["score"], values["threshold"],
            values["model_favorable"], values["sensitive"], values["bins"], values["min_group_size"],
            values["n_boot"], sources, ", ".join(state.get("missing_values") or []))


@callback(
    Output(ids.DATA_FAVORABLE_DROPDOWN, "options"), Output(ids.DATA_FAVORABLE_DROPDOWN, "value"),
    Input(ids.DATA_TARGET_DROPDOWN, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_favorable_values(target, state, token):
    """Offer the target's values as the favourable value."""
    if not target or not state or not state.get("dataset"):
        return [], None
    try:
        dataset = workspace.dataset_for(get_store(), token, state)
    except AuditInputError:
        return [], None
    values = column_options(dataset, target=target)["target_values"]
    current = (state.get("spec") or {}).get("favorable")
    chosen = next((v["value"] for v in values if str(v["value"]) == str(current)), None)
    if chosen is None:
        chosen = workspace.guess_favorable([v["value"] for v in values])
    return values, chosen


@callback(
    Output(ids.DATA_REFERENCE_CONTAINER, "children"),
    Input(ids.DATA_SENSITIVE_DROPDOWN, "value"), Input(ids.DATA_BINS_INPUT, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_reference_choices(sensitive, bins, state, token):
    """One reference-group choice per sensitive feature."""
    if not sensitive or not state or not state.get("dataset"):
        return None
    try:
        dataset = workspace.dataset_for(get_store(), token, state)
        choices = reference_options(dataset, sensitive, bins, (state.get("spec") or {}).get("reference", {}))
    except AuditInputError as exc:
        return error_alert(str(exc))
    return dbc.Row([
        dbc.Col(labelled(f"Reference group for {c['feature']}", dcc.Dropdown(
            id={"type": ids.DATA_REFERENCE_TYPE, "feature": c["feature"]}, options=c["options"],
            value=c["value"], clearable=False),
            "Others are compared with this group."), md=6) for c in choices
    ])


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_RUN_ALERT, "children"),
    Input(ids.DATA_RUN_BUTTON, "n_clicks"),
    State(ids.DATA_TARGET_DROPDOWN, "value"), State(ids.DATA_FAVORABLE_DROPDOWN, "value"),
    State(ids.DATA_SOURCE_RADIO, "value"), State(ids.DATA_PREDICTION_DROPDOWN, "value"),
    State(ids.DATA_SCORE_DROPDOWN, "value"), State(ids.DATA_THRESHOLD_INPUT, "value"),
    State(ids.DATA_MODEL_FAVORABLE_INPUT, "value"), State(ids.DATA_SENSITIVE_DROPDOWN, "value"),
    State(ids.DATA_BINS_INPUT, "value"), State({"type": ids.DATA_REFERENCE_TYPE, "feature": ALL}, "value"),
    State({"type": ids.DATA_REFERENCE_TYPE, "feature": ALL}, "id"), State(ids.DATA_MIN_GROUP_INPUT, "value"),
    State(ids.DATA_BOOTSTRAP_INPUT, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True, running=AUDIT_RUNNING,
)
def on_run_audit(n_clicks, target, favorable, source, prediction, score, threshold, model_favorable, sensitive, bins,
                 reference_values, reference_ids, min_group_size, n_boot, state, token):
    """Check the settings, run the audit, and keep them for the other pages."""
    if not n_clicks:
        return no_update, no_update
    form = {"target": target, "favorable": favorable, "source": source, "prediction": prediction,
            "score": score, "threshold": threshold, "model_favorable": model_favorable, "sensitive": sensitive,
            "bins": bins, "reference": {i["feature"]: v for i, v in zip(reference_ids or [], reference_values or [],
                                                                        strict=True) if isinstance(i, dict)},
            "min_group_size": min_group_size, "n_boot": n_boot}
    try:
        new_state = state_from_form(state, form)
        audit = audit_for(token, new_state)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="The audit could not run")
    rows = audit.result.n_rows
    return new_state, info_alert([
        html.Strong("Audit ready. "), f"{rows:,} rows, {len(audit.result.groupings)} groupings. ",
        dcc.Link("See the group metrics →", href="/"),
    ], color="success")
