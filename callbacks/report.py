"""The navbar's Download report action: the current audit (and checked policy) as one HTML file."""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, no_update

from auditapp import workspace
from auditapp.commands.audit import dataset_info, model_info
from auditapp.errors import AuditInputError
from auditapp.policy_forms import stored_policy
from auditapp.report import report_for
from callbacks.context import audit_for, get_store, settings
from layouts import ids
from layouts.components import error_alert

REPORT_FILENAME = "auditapp-report.html"


@callback(
    Output(ids.REPORT_DOWNLOAD, "data"), Output(ids.GLOBAL_ALERT, "children", allow_duplicate=True),
    Input(ids.REPORT_BUTTON, "n_clicks"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    running=[(Output(ids.REPORT_BUTTON, "disabled"), True, False)],
    prevent_initial_call=True,
)
def on_download_report(n_clicks, state, token):
    """Build the report of the current audit, with the checked policy's verdicts, and download it."""
    if not n_clicks:
        return no_update, no_update
    try:
        audit = audit_for(token, state)
        policy = stored_policy(state.get("policy"))
        store = get_store()
        dataset = workspace.load_dataset(store, token, state["dataset"])
        model = workspace.load_model(store, token, state.get("model"), trust_pickle=settings().trust_pickle)
        text = report_for(audit, policy, dataset_info=dataset_info(dataset), model_info=model_info(model))
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="Could not build the report")
    return dcc.send_string(text, REPORT_FILENAME), None
