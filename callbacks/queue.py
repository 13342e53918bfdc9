"""The server's queues as a user sees them: where their new audit stands, and a Cancel button.

A callback that may compute a new audit declares ``running=AUDIT_RUNNING``: while it runs, the
shell's interval asks every 0.5 s where the session's audit stands ("… 2 audits ahead of yours").
A background job reports its own place into the shell's job notice (``callbacks.managers``); its
callback declares ``JOB_RUNNING`` so that the notice is cleared however the job ends.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, no_update

from auditapp.core.errors import AuditInputError
from auditapp.service.audit_queue import audit_status, cancel_audits
from callbacks.context import get_store, settings
from layouts import ids
from layouts.shell import HIDDEN

SHOWN = {"display": "block"}
AUDIT_RUNNING = [(Output(ids.QUEUE_INTERVAL, "disabled"), False, True),
                 (Output(ids.QUEUE_AUDIT_NOTICE, "style"), HIDDEN, HIDDEN)]
JOB_RUNNING = (Output(ids.QUEUE_JOB_NOTICE, "children"), None, None)


@callback(
    Output(ids.QUEUE_AUDIT_TEXT, "children"), Output(ids.QUEUE_AUDIT_NOTICE, "style", allow_duplicate=True),
    Input(ids.QUEUE_INTERVAL, "n_intervals"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def show_audit_place(_n, token):
    """Say where this session's new audit stands while an audit request runs."""
    try:
        status = audit_status(settings(), get_store(), token)
    except AuditInputError:
        return no_update, HIDDEN
    return (status, SHOWN) if status else ("", HIDDEN)


@callback(
    Output(ids.QUEUE_AUDIT_TEXT, "children", allow_duplicate=True),
    Input(ids.QUEUE_AUDIT_CANCEL, "n_clicks"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def on_cancel_audit(n_clicks, token):
    """Cancel this session's waiting or running audit."""
    if not n_clicks:
        return no_update
    try:
        cancel_audits(settings(), get_store(), token)
    except AuditInputError as exc:
        return str(exc)
    return "Cancelling…"
