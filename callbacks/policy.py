"""Policy & report page: choose, build, load and save a policy; show its verdicts on the current audit.

The checked policy lives in the browser state (``state["policy"]``, the policy's small dict), so the
navbar's Download report action on any page includes its verdicts.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, Patch, State, callback, ctx, dcc, html, no_update

from auditapp.core.errors import AuditInputError
from auditapp.figures import empty_figure
from auditapp.figures.report import verdict_figure
from auditapp.policy.criteria import PRESETS, preset
from auditapp.policy.findings import build_findings
from auditapp.policy.verdicts import evaluate_policy
from auditapp.reporting.gate import outcome_sentence
from auditapp.reporting.report import BOARD
from auditapp.service.policy_forms import (
    VERDICT_STYLE,
    blank_row,
    board_rows,
    criterion_rows,
    editor_rows,
    policy_file,
    policy_from_rows,
    policy_from_upload,
    rows_from_fields,
    same_policy,
    stored_policy,
    verdict_mark,
)
from callbacks.context import audit_for
from layouts import ids
from layouts.components import error_alert, info_alert
from layouts.policy_editor import (
    TITLE_PATH,
    board_columns,
    criteria_forms,
    criterion_form,
    criterion_title,
)

# Hidden, but still laid out: the verdict board's grid keeps its width and renders its rows when shown again.
HIDDEN = {"visibility": "hidden", "height": 0, "overflow": "hidden"}

_NO_POLICY = "No policy checked yet: choose a preset above, or build one in the editor and press “Check this policy”."


def _with_policy(state, policy):
    return dict(state or {}, policy=None if policy is None else policy.to_dict())


def _badge(verdict: str, *, size: str = "1rem"):
    style = dict(VERDICT_STYLE[verdict], border=f"2px solid {VERDICT_STYLE[verdict]['borderColor']}",
                 borderRadius="4px", padding=".1rem .5rem", fontWeight="700", fontSize=size, display="inline-block")
    return html.Span(verdict_mark(verdict), style=style, className=f"policy-verdict-{verdict}")


def _summary_table(evaluation):
    rows = [html.Tr([html.Td(_badge(r["verdict"])), html.Td(r["criterion"]), html.Td(r["role"]),
                     html.Td(r["bound"]), html.Td(r["counts"])]) for r in criterion_rows(evaluation)]
    head = html.Thead(html.Tr([html.Th(h) for h in ("Verdict", "Criterion", "Role", "Bound", "Groups")]))
    return dbc.Table([head, html.Tbody(rows)], bordered=True, size="sm", className="mt-3 mb-0")


def _finding_item(finding):
    icon = BOARD[finding.kind][0] if finding.kind in BOARD else "■"
    return html.Li([html.Span(f"{icon} ", className="fw-bold", **{"aria-hidden": "true"}), finding.text],
                   className=f"policy-finding-{finding.kind} mb-2")


_FIELDS = {"type": ids.POLICY_FIELD_TYPE, "row": ALL, "field": ALL}


def _editor_rows(values, field_ids, order):
    return rows_from_fields(values or [], field_ids or [], order or [])


# The editor's rows (``POLICY_ROWS_STORE``: their order and ids) and their forms are written together.
# Replacing the policy (page opened, preset, upload) lays out every form; adding or removing a criterion
# patches the list (forms keyed by their ids), so the other criteria's controls are not redrawn: what is
# being typed in them stays.
_FORMS = Output(ids.POLICY_CRITERIA_LIST, "children", allow_duplicate=True)


@callback(
    Output(ids.POLICY_ROWS_STORE, "data"), Output(ids.POLICY_NAME_INPUT, "value"),
    Output(ids.POLICY_CRITERIA_LIST, "children"),
    Input(ids.POLICY_ROWS_STORE, "id"), State(ids.STATE_STORE, "data"),
)
def show_policy_editor(_id, state):
    """Fill the editor with the checked policy when the page opens."""
    try:
        policy = stored_policy((state or {}).get("policy"))
    except AuditInputError:
        policy = None
    rows = [] if policy is None else editor_rows(policy)
    return rows, "" if policy is None else policy.name, criteria_forms(rows)


@callback(
    Output(ids.POLICY_EDITOR_STATUS, "children"), Output(ids.POLICY_STALE_NOTICE, "children"),
    Output(ids.POLICY_VERDICT_AREA, "style"),
    Input(_FIELDS, "value"), Input(ids.POLICY_NAME_INPUT, "value"), Input(ids.POLICY_ROWS_STORE, "data"),
    Input(ids.STATE_STORE, "data"), State(_FIELDS, "id"),
)
def show_editor_status(values, name, order, state, field_ids):
    """Show a verdict only while it is the verdict of the policy in the editor; otherwise clear it, visibly."""
    try:
        checked = stored_policy((state or {}).get("policy"))
    except AuditInputError:
        checked = None
    rows = _editor_rows(values, field_ids, order)
    try:
        draft = policy_from_rows(rows, name=name) if rows else None
        problem = None
    except AuditInputError as exc:
        draft, problem = None, str(exc)
    if same_policy(draft, checked):
        return html.Span("✔ Checked: the verdict below is this policy's.", className="text-success"), None, None
    if checked is None and not rows:
        return None, None, None  # nothing to check, nothing checked: the verdict area says what to do
    if problem:
        status = html.Span(f"Not valid yet: {problem}", className="text-danger")
    elif not rows:
        status = html.Span("No criteria: add one to check the policy.", className="text-muted")
    elif checked is None:
        status = html.Span("Not checked yet: press “Check this policy”.", className="text-warning-emphasis")
    else:
        status = html.Span("Changed since it was checked: press “Check this policy”.", className="text-warning-emphasis")
    why = ("No policy has been checked yet." if checked is None else
           f"The criteria above are not the policy that was checked (“{checked.name}”), so its verdict is cleared.")
    todo = "Fix the criteria, then press “Check this policy”." if problem or not rows else \
        "Press “Check this policy” to see theirs."
    notice = info_alert([html.Strong("No verdict shown. "), f"{why} {todo}"], color="secondary", dismissable=False)
    return status, notice, HIDDEN


VERDICT_OUTPUTS = dict(
    overall=Output(ids.POLICY_OVERALL, "children"), summary=Output(ids.POLICY_SUMMARY, "children"),
    findings=Output(ids.POLICY_FINDINGS, "children"), criteria=Output(ids.POLICY_CRITERION_DROPDOWN, "options"),
    criterion=Output(ids.POLICY_CRITERION_DROPDOWN, "value"), board=Output(ids.POLICY_BOARD_GRID, "rowData"),
    described=Output(ids.POLICY_DESCRIPTION, "children"), preset=Output(ids.POLICY_PRESET_DROPDOWN, "value"),
    alert=Output(ids.POLICY_ALERT, "children"), board_columns=Output(ids.POLICY_BOARD_GRID, "columnDefs"),
)


def _nothing_checked(overall, *, described="", preset=no_update, alert=None) -> dict:
    """The page with no verdicts: ``overall`` says why (no policy, or nothing to check it on yet)."""
    return dict(overall=overall, summary=None, findings=[], criteria=[], criterion=None, board=[],
                described=described, preset=preset, alert=alert, board_columns=no_update)


@callback(
    output=VERDICT_OUTPUTS,
    inputs=dict(state=Input(ids.STATE_STORE, "data"), token=State(ids.SESSION_STORE, "data")),
)
def show_verdicts(state, token):
    """Check the chosen policy on the current audit: overall verdict, per criterion, findings, board."""
    policy = None
    try:
        policy = stored_policy((state or {}).get("policy"))
        if policy is None:
            return _nothing_checked(info_alert(_NO_POLICY, dismissable=False))
        audit = audit_for(token, state)
    except AuditInputError as exc:
        if policy is None:
            return _nothing_checked(info_alert(_NO_POLICY, dismissable=False), alert=error_alert(str(exc)))
        # Checked, but nothing to check it on yet: say which policy waits.
        return _nothing_checked(
            info_alert(f"The policy “{policy.name}” is checked as soon as an audit has run.", dismissable=False),
            described=[html.Strong(f"Checking: {policy.name}. "), policy.description],
            preset=policy.name if policy.name in PRESETS else no_update, alert=error_alert(str(exc)))
    evaluation = evaluate_policy(audit.result, policy)
    findings = build_findings(evaluation, audit.result, outcome=outcome_sentence(audit))
    overall = html.Div([html.Div(_badge(evaluation.overall, size="1.75rem"), className="mb-2"),
                        html.P(findings[0].text, className="fs-5 mb-0")])
    items = [_finding_item(f) for f in findings[1:]] or [html.Li("Nothing failed or was inconclusive.")]
    names = [c.name for c in policy.criteria]
    return dict(
        overall=overall, summary=_summary_table(evaluation), findings=items, criteria=names, criterion=names[0],
        board=board_rows(evaluation), described=[html.Strong(f"Checking: {policy.name}. "), policy.description],
        preset=policy.name if policy.name in PRESETS else None, alert=no_update,
        board_columns=board_columns(f"{evaluation.confidence * 100:g}%"),
    )


@callback(
    Output(ids.POLICY_VERDICT_GRAPH, "figure"),
    Input(ids.POLICY_CRITERION_DROPDOWN, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_verdict_figure(criterion, state, token):
    """Chart the chosen criterion's checked numbers against its bounds."""
    if not criterion:
        return empty_figure("Choose a policy to see its verdicts by group.")
    try:
        policy = stored_policy((state or {}).get("policy"))
        evaluation = evaluate_policy(audit_for(token, state).result, policy)
        return verdict_figure(evaluation, criterion)
    except AuditInputError as exc:
        return empty_figure(str(exc))


@callback(
    Output(ids.POLICY_ROWS_STORE, "data", allow_duplicate=True),
    Output(ids.POLICY_NAME_INPUT, "value", allow_duplicate=True),
    Output(ids.STATE_STORE, "data", allow_duplicate=True), _FORMS,
    Input(ids.POLICY_PRESET_DROPDOWN, "value"), State(ids.STATE_STORE, "data"),
    prevent_initial_call=True,
)
def on_choose_preset(name, state):
    """Check a preset at once and copy its criteria into the editor ("custom": start empty, nothing checked)."""
    if not name:
        return no_update, no_update, no_update, no_update
    if name == "custom":
        cleared = no_update if not (state or {}).get("policy") else _with_policy(state, None)
        return [], "", cleared, []
    policy = preset(name)
    unchanged = (state or {}).get("policy") == policy.to_dict()
    rows = editor_rows(policy)
    return rows, policy.name, no_update if unchanged else _with_policy(state, policy), criteria_forms(rows)


@callback(
    Output(ids.POLICY_ROWS_STORE, "data", allow_duplicate=True), _FORMS,
    Input(ids.POLICY_ADD_BUTTON, "n_clicks"), State(_FIELDS, "value"), State(_FIELDS, "id"),
    State(ids.POLICY_ROWS_STORE, "data"), prevent_initial_call=True,
)
def on_add_criterion(n_clicks, values, field_ids, order):
    """Append a new criterion (the four-fifths check, named from its settings, uniquely)."""
    if not n_clicks:
        return no_update, no_update
    rows = _editor_rows(values, field_ids, order)
    row = blank_row(rows)
    forms = Patch()
    forms.append(criterion_form(row, len(rows) + 1))
    return [*rows, row], forms


def _at(patch: Patch, path: tuple) -> Patch:
    """The patch location one step short of ``path``'s end (a Patch is assigned through its parent)."""
    for step in path[:-1]:
        patch = patch[step]
    return patch


@callback(
    Output(ids.POLICY_ROWS_STORE, "data", allow_duplicate=True), _FORMS,
    Input({"type": ids.POLICY_REMOVE_TYPE, "row": ALL}, "n_clicks"), State(_FIELDS, "value"),
    State(_FIELDS, "id"), State(ids.POLICY_ROWS_STORE, "data"), prevent_initial_call=True,
)
def on_remove_criterion(_clicks, values, field_ids, order):
    """Remove the criterion whose Remove button was pressed."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update, no_update
    rows = _editor_rows(values, field_ids, order)
    gone = next((i for i, r in enumerate(rows) if str(r["row_id"]) == str(trigger["row"])), None)
    if gone is None:
        return no_update, no_update
    forms = Patch()
    del forms[gone]
    for number in range(gone + 1, len(rows)):  # the forms after it move up one: only their titles change
        _at(forms[number - 1], TITLE_PATH)[TITLE_PATH[-1]] = criterion_title(number)
    return rows[:gone] + rows[gone + 1:], forms


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True),
    Output(ids.POLICY_NAME_INPUT, "value", allow_duplicate=True),
    Output(ids.POLICY_ALERT, "children", allow_duplicate=True),
    Input(ids.POLICY_CHECK_BUTTON, "n_clicks"), State(_FIELDS, "value"), State(_FIELDS, "id"),
    State(ids.POLICY_ROWS_STORE, "data"), State(ids.POLICY_NAME_INPUT, "value"), State(ids.STATE_STORE, "data"),
    prevent_initial_call=True,
)
def on_check_policy(n_clicks, values, field_ids, order, name, state):
    """Validate the editor's criteria and check them on the audit."""
    if not n_clicks:
        return no_update, no_update, no_update
    try:
        policy = policy_from_rows(_editor_rows(values, field_ids, order), name=name)
    except AuditInputError as exc:
        return no_update, no_update, error_alert(str(exc), title="The policy is not valid yet")
    return _with_policy(state, policy), policy.name, None


@callback(
    Output(ids.POLICY_ROWS_STORE, "data", allow_duplicate=True),
    Output(ids.POLICY_NAME_INPUT, "value", allow_duplicate=True),
    Output(ids.STATE_STORE, "data", allow_duplicate=True),
    Output(ids.POLICY_ALERT, "children", allow_duplicate=True), _FORMS,
    Input(ids.POLICY_UPLOAD, "contents"), State(ids.POLICY_UPLOAD, "filename"), State(ids.STATE_STORE, "data"),
    prevent_initial_call=True,
)
def on_upload_policy(contents, filename, state):
    """Load a policy file (YAML or JSON), check it and show it in the editor."""
    if not contents:
        return no_update, no_update, no_update, no_update, no_update
    try:
        policy = policy_from_upload(contents, filename)
    except AuditInputError as exc:
        return no_update, no_update, no_update, error_alert(str(exc), title="Could not load the policy"), no_update
    rows = editor_rows(policy)
    return rows, policy.name, _with_policy(state, policy), info_alert(
        f"Loaded the policy “{policy.name}” from {filename}.", color="success"), criteria_forms(rows)


@callback(
    Output(ids.POLICY_DOWNLOAD, "data"), Output(ids.POLICY_ALERT, "children", allow_duplicate=True),
    Input(ids.POLICY_SAVE_YAML_BUTTON, "n_clicks"), Input(ids.POLICY_SAVE_JSON_BUTTON, "n_clicks"),
    State(_FIELDS, "value"), State(_FIELDS, "id"), State(ids.POLICY_ROWS_STORE, "data"),
    State(ids.POLICY_NAME_INPUT, "value"), prevent_initial_call=True,
)
def on_save_policy(yaml_clicks, json_clicks, values, field_ids, order, name):
    """Download the editor's policy as a YAML or JSON file."""
    if not (yaml_clicks or json_clicks):
        return no_update, no_update
    try:
        policy = policy_from_rows(_editor_rows(values, field_ids, order), name=name)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="The policy is not valid yet")
    fmt = "json" if ctx.triggered_id == ids.POLICY_SAVE_JSON_BUTTON else "yaml"
    text, filename = policy_file(policy, format=fmt)
    return dcc.send_string(text, filename), None
