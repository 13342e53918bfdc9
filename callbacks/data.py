"""Data & model page: scenarios, uploads, preview, and the audit settings."""

from __future__ import annotations

from dash import Input, Output, State, callback, html, no_update

from auditapp.core.errors import AuditInputError
from auditapp.core.missing import parse_missing_values
from auditapp.service import workspace
from auditapp.service.forms import dataset_preview, loaded_model
from auditapp.service.scenarios import SCENARIOS, scenario_state
from callbacks.context import get_store, settings
from layouts import ids
from layouts.components import error_alert, info_alert


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
    from auditapp.inputs.sandbox import startup_note

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
    """Take a finished upload: a dataset starts new settings (keeping a model that fits); a model joins."""
    if not result:
        return no_update, no_update
    if result.get("error"):
        return no_update, error_alert(result["error"], title=f"Could not use '{result.get('name', 'the file')}'")
    notices = [html.Div(n) for n in result.get("notices", [])]
    try:
        if result["kind"] == "dataset":
            new_state, model_note = workspace.state_for_dataset(get_store(), token, state, result["id"],
                                                                trust_pickle=settings().trust_pickle)
            dataset = workspace.dataset_for(get_store(), token, new_state)
            lines = [f"Loaded {result['name']}: {dataset.rows:,} rows, {len(dataset.columns)} columns. Now "
                     "choose what to audit (right)."]
            if model_note:
                lines.append(model_note)
            kept = new_state.get("model_file") or not model_note
        else:
            new_state, lines = model_state(state, result, token)
            kept = True
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
    color = "success" if kept else "warning"
    return new_state, info_alert([*(html.Div(line) for line in lines), *notices], color=color)


def model_state(state, result, token):
    """The state after a model upload, and what to tell the user about the current audit."""
    state = dict(state or {})
    new_state = dict(state, model_file=result["id"])
    lines = [f"Loaded the model {result['name']} ({result['format']})."]
    if not state.get("dataset"):
        return new_state, [*lines, "Now upload the dataset to audit it on."]
    store = get_store()
    dataset = workspace.dataset_for(store, token, state)
    lacking, needed = workspace.model_columns_missing(store, token, result["id"], dataset,
                                                       trust_pickle=settings().trust_pickle)
    if lacking:
        if state.get("model"):  # the audit used the previous model: it cannot use this one
            new_state.update(model=None, spec=None)
            new_state.pop("scenario", None)
        return new_state, [*lines, f"It needs {len(lacking)} column(s) that {dataset.name} lacks "
                                   f"({workspace.listed(lacking)}): upload the dataset it was trained on."]
    if state.get("model"):
        new_state["model"] = result["id"]
        new_state.pop("scenario", None)
        return new_state, [*lines, "The audit now uses it (see Group metrics)."]
    spec = state.get("spec") or {}
    column = spec.get("prediction") or spec.get("score")
    if column:
        return new_state, [*lines, f"The current audit still uses the column '{column}': choose “The model” "
                                   "and press Run audit to audit the model instead."]
    return new_state, [*lines, f"{dataset.name} has all {needed} columns it needs; choose “The model” as the "
                               "prediction source."]


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
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_UPLOAD_ALERT, "children",
                                                                   allow_duplicate=True),
    Input(ids.DATA_MODEL_CLEAR_BUTTON, "n_clicks"), State(ids.STATE_STORE, "data"),
    prevent_initial_call=True,
)
def on_clear_model(n_clicks, state):
    """Remove the loaded model (an audit that used it has to be set up again)."""
    if not n_clicks or not state or not (state.get("model_file") or state.get("model")):
        return no_update, no_update
    new_state = dict(state, model=None, model_file=None)
    if state.get("model"):
        new_state.update(spec=None)
        new_state.pop("scenario", None)
        message = ("Removed the model. The audit used it: choose a prediction or score column and press Run "
                   "audit.")
    else:
        message = "Removed the model. The current audit did not use it and stays as it is."
    return new_state, info_alert(message, color="secondary")


DATASET_OUTPUTS = dict(
    dataset=Output(ids.DATA_DATASET_STATUS, "children"), model=Output(ids.DATA_MODEL_STATUS, "children"),
    preview_rows=Output(ids.DATA_PREVIEW_GRID, "rowData"), preview_columns=Output(ids.DATA_PREVIEW_GRID, "columnDefs"),
    summary_rows=Output(ids.DATA_COLUMNS_GRID, "rowData"), summary_columns=Output(ids.DATA_COLUMNS_GRID, "columnDefs"),
    sources=Output(ids.DATA_SOURCE_RADIO, "options"), missing=Output(ids.DATA_MISSING_INPUT, "value"),
    clear_model=Output(ids.DATA_MODEL_CLEAR_BUTTON, "style"),
)


@callback(
    output=DATASET_OUTPUTS,
    inputs=dict(state=Input(ids.STATE_STORE, "data"), token=State(ids.SESSION_STORE, "data")),
)
def show_dataset(state, token):
    """Show the current dataset and model whenever they change."""
    state = state or {}
    model_id = loaded_model(state)
    try:
        store = get_store()
        model_name = store.info(token, model_id).name if model_id else None
        dataset = workspace.dataset_for(store, token, state) if state.get("dataset") else None
    except AuditInputError as exc:
        return dict(dict.fromkeys(DATASET_OUTPUTS, no_update), dataset=error_alert(str(exc)))
    shown = dict(
        model=_model_status(state, model_name),
        sources=[{"label": "The model", "value": "model", "disabled": not model_id},
                 {"label": "A prediction column", "value": "prediction"},
                 {"label": "A score column + threshold", "value": "score"}],
        clear_model=None if model_id else {"display": "none"},
    )
    if dataset is None:
        return dict(shown, dataset="No dataset yet.", preview_rows=[], preview_columns=[], summary_rows=[],
                    summary_columns=[], missing="")
    preview = dataset_preview(dataset)
    return dict(shown, dataset=html.Span(["Dataset: ", html.Strong(dataset.name), f" · {dataset.rows:,} rows · "
                                          f"{len(dataset.columns)} columns · sha256 {dataset.sha256[:12]}…"]),
                preview_rows=preview["rows"], preview_columns=preview["columns"],
                summary_rows=preview["summary_rows"], summary_columns=preview["summary_columns"],
                missing=", ".join(state.get("missing_values") or []))


def _model_status(state, model_name):
    if not model_name:
        return "No model: the audit uses predictions or scores in the dataset."
    parts = ["Model: ", html.Strong(model_name)]
    spec = state.get("spec") or {}
    column = spec.get("prediction") or spec.get("score")
    if column and not state.get("model"):
        parts.append(html.Span(f" (loaded; the current audit uses the column '{column}' instead)",
                               className="text-muted"))
    return html.Span(parts)
