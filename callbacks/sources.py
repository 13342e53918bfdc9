"""Data & model page, server-side sources: list, open (background) and audit all of a source (background)."""

from __future__ import annotations

from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from auditapp.core.errors import AuditInputError
from auditapp.engines.catalog import list_sources, sources_root
from auditapp.service import source_jobs
from auditapp.service.forms import state_from_form
from callbacks.context import get_store, settings
from callbacks.queue import JOB_RUNNING
from layouts import ids
from layouts.components import error_alert, info_alert

SHOWN, HIDDEN = {"display": "block"}, {"display": "none"}
_RUNNING = [JOB_RUNNING, (Output(ids.DATA_SOURCE_OPEN_BUTTON, "disabled"), True, False),
            (Output(ids.DATA_SOURCE_AUDIT_BUTTON, "disabled"), True, False),
            (Output(ids.DATA_SOURCE_CANCEL_BUTTON, "disabled"), False, True),
            (Output(ids.DATA_SOURCE_PROGRESS_AREA, "style"), SHOWN, HIDDEN)]
_PROGRESS = [Output(ids.DATA_SOURCE_PROGRESS, "value"), Output(ids.DATA_SOURCE_PROGRESS, "label"),
             Output(ids.DATA_SOURCE_PROGRESS_TEXT, "children")]


def _progress(set_progress):
    def report(fraction: float, text: str) -> None:
        percent = round(100 * min(max(fraction, 0.0), 1.0))
        set_progress((percent, f"{percent}%", text))
    return report


@callback(Output(ids.DATA_SOURCE_DROPDOWN, "options"), Output(ids.DATA_SOURCE_CARD, "style"),
          Input(ids.DATA_SOURCE_DROPDOWN, "id"))
def show_sources(_id):
    """List the operator's server-side sources when the page opens (the card shows only when there are any)."""
    root = sources_root()
    if root is None:
        return [], HIDDEN
    return [{"label": e.label, "value": e.key} for e in list_sources(root)], SHOWN


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_SOURCE_ALERT, "children"),
    Input(ids.DATA_SOURCE_OPEN_BUTTON, "n_clicks"), State(ids.DATA_SOURCE_DROPDOWN, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    background=True, prevent_initial_call=True, interval=500, progress=_PROGRESS, progress_default=[0, "", ""],
    running=_RUNNING, cancel=[Input(ids.DATA_SOURCE_CANCEL_BUTTON, "n_clicks")],
)
def on_open_source(set_progress, n_clicks, key, state, token):
    """Open the chosen source: its preview becomes the dataset to choose the settings from."""
    if not n_clicks:
        return no_update, no_update
    if not key:
        return no_update, error_alert("Choose a data source first.")
    try:
        new_state, message = source_jobs.open_source(get_store(), token, key, progress=_progress(set_progress), state=state)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="Could not open the source")
    new_state["policy"] = (state or {}).get("policy") or new_state.get("policy")
    return new_state, info_alert(message, color="success")


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_SOURCE_ALERT, "children",
                                                                   allow_duplicate=True),
    Input(ids.DATA_SOURCE_AUDIT_BUTTON, "n_clicks"),
    State(ids.DATA_TARGET_DROPDOWN, "value"), State(ids.DATA_FAVORABLE_DROPDOWN, "value"),
    State(ids.DATA_SOURCE_RADIO, "value"), State(ids.DATA_PREDICTION_DROPDOWN, "value"),
    State(ids.DATA_SCORE_DROPDOWN, "value"), State(ids.DATA_THRESHOLD_INPUT, "value"),
    State(ids.DATA_MODEL_FAVORABLE_INPUT, "value"), State(ids.DATA_SENSITIVE_DROPDOWN, "value"),
    State(ids.DATA_BINS_INPUT, "value"), State({"type": ids.DATA_REFERENCE_TYPE, "feature": ALL}, "value"),
    State({"type": ids.DATA_REFERENCE_TYPE, "feature": ALL}, "id"), State(ids.DATA_MIN_GROUP_INPUT, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    background=True, prevent_initial_call=True, interval=500, progress=_PROGRESS, progress_default=[0, "", ""],
    running=_RUNNING, cancel=[Input(ids.DATA_SOURCE_CANCEL_BUTTON, "n_clicks")],
)
def on_audit_source(set_progress, n_clicks, target, favorable, source, prediction, score, threshold, model_favorable,
                    sensitive, bins, reference_values, reference_ids, min_group_size, state, token):
    """Audit every row of the open source with the settings above, in the background."""
    if not n_clicks:
        return no_update, no_update
    if not state or not state.get("source"):
        return no_update, error_alert("Open a server-side source first.")
    form = {"target": target, "favorable": favorable, "source": source, "prediction": prediction, "score": score,
            "threshold": threshold, "model_favorable": model_favorable, "sensitive": sensitive, "bins": bins,
            "reference": {i["feature"]: v for i, v in zip(reference_ids or [], reference_values or [], strict=True)
                          if isinstance(i, dict)},
            "min_group_size": min_group_size, "n_boot": (state.get("spec") or {}).get("n_boot")}
    try:
        new_state, audit, statement = source_jobs.audit_source_state(
            get_store(), token, state_from_form(state, form), trust_pickle=settings().trust_pickle,
            progress=_progress(set_progress), sample_rows=settings().source_sample_rows)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="The audit could not run")
    return new_state, info_alert([
        html.Strong("Audit ready. "),
        f"{audit.result.n_rows:,} rows counted by the {audit.engine} engine, {len(audit.result.groupings)} "
        "groupings. ", dcc.Link("See the group metrics →", href="/"), html.Div(statement, className="small mt-1"),
    ], color="success")


@callback(Output(ids.DATA_SOURCE_STATUS, "children"), Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"))
def show_source_status(state, token):
    """Say which server-side source the session audits (the dataset shown below is its preview or sample)."""
    if not state or not state.get("source"):
        return None
    try:
        meta = get_store().info(token, state["dataset"]).meta or {}
    except AuditInputError:
        return None
    what = "a stratified sample" if meta.get("sample") else "a preview"
    return html.Span(["Source: ", html.Strong(state["source"]), f" · {int(meta.get('rows') or 0):,} rows. The dataset "
                      f"shown on this page is {what} of it; audits count every row."])
