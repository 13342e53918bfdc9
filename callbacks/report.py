"""The navbar's Download report action: the current audit (and checked policy) as one HTML file."""

from __future__ import annotations

from dash import Input, Output, Patch, State, callback, dcc, no_update

from auditapp.cli.commands.audit import model_info
from auditapp.core.errors import AuditInputError
from auditapp.reporting.report import report_for
from auditapp.service import workspace
from auditapp.service.policy_forms import stored_policy
from auditapp.service.report_pages import page_sections
from auditapp.service.source_jobs import dataset_info_for
from callbacks.context import audit_for, get_store, settings
from layouts import ids
from layouts.components import error_alert

REPORT_FILENAME = "auditapp-report.html"


@callback(
    Output(ids.REPORT_DOWNLOAD, "data"), Output(ids.GLOBAL_ALERT, "children", allow_duplicate=True),
    Input(ids.REPORT_BUTTON, "n_clicks"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    State(ids.RESULTS_STORE, "data"),
    running=[(Output(ids.REPORT_BUTTON, "disabled"), True, False)],
    prevent_initial_call=True,
)
def on_download_report(n_clicks, state, token, results=None):
    """Build the report of the current audit, with the checked policy's verdicts, and download it."""
    if not n_clicks:
        return no_update, no_update
    try:
        audit = audit_for(token, state)
        policy = stored_policy(state.get("policy"))
        store = get_store()
        model = workspace.load_model(store, token, state.get("model"), trust_pickle=settings().trust_pickle)
        evidence = None
        if (results or {}).get("compliance_eu"):
            from auditapp.compliance.eu_ai_act import evidence_section
            from callbacks.compliance import eu_evidence

            evidence = evidence_section(eu_evidence(state, token, results))
        text = report_for(audit, policy, dataset_info=dataset_info_for(store, token, state),
                          model_info=model_info(model),
                          sections=page_sections(store, token, state, results, evidence_html=evidence))
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="Could not build the report")
    return dcc.send_string(text, REPORT_FILENAME), None


def _remember(page: str, value):
    if not value:
        return no_update
    patch = Patch()
    patch[page] = value
    return patch


@callback(Output(ids.RESULTS_STORE, "data", allow_duplicate=True), Input(ids.EXPLAIN_READY_STORE, "data"),
          prevent_initial_call=True)
def on_explanation_ready(ready):
    """Remember which explanation the report should include."""
    return _remember("explain", ready)


@callback(Output(ids.RESULTS_STORE, "data", allow_duplicate=True), Input(ids.MITIGATION_CHOICE_STORE, "data"),
          prevent_initial_call=True)
def on_comparison_ready(choice):
    """Remember which mitigation comparison the report should include."""
    return _remember("mitigation", choice)


@callback(Output(ids.RESULTS_STORE, "data", allow_duplicate=True), Input(ids.COMPLIANCE_LL144_FORM_STORE, "data"),
          prevent_initial_call=True)
def on_bias_audit_ready(form):
    """Remember the LL144 form the report should recompute."""
    return _remember("compliance_ll144", form)


@callback(Output(ids.RESULTS_STORE, "data", allow_duplicate=True), Input(ids.FEEDBACK_RUN_STORE, "data"),
          prevent_initial_call=True)
def on_simulation_ready(run):
    """Remember which simulations the report should include."""
    return _remember("feedback", run)
