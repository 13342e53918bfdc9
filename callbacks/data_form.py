"""Data & model page, "What to audit": the form, its suggestions, what is still missing, and Run audit.

Nothing is guessed for a user's own dataset: the form starts blank (or with the settings the user ran,
or a built-in scenario's stated settings), suggestions sit under the fields with a "Use it" button, and
Run audit stays disabled until every choice is made and none is refused (see ``auditapp.service.form_check``).
"""

from __future__ import annotations

import json

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from auditapp.core.errors import AuditInputError
from auditapp.core.suggestions import bin_offers, suggest_favorable
from auditapp.service import workspace
from auditapp.service.form_check import check_form
from auditapp.service.forms import (
    column_options,
    form_values,
    loaded_model,
    reference_options,
    state_from_form,
)
from callbacks.context import audit_for, get_store
from callbacks.queue import AUDIT_RUNNING
from layouts import ids
from layouts.components import error_alert, info_alert, labelled

HIDDEN = {"display": "none"}
_SOURCE_LABELS = {"model": "The model", "prediction": "A prediction column", "score": "A score column + threshold"}
_FORM = [Input(ids.DATA_TARGET_DROPDOWN, "value"), Input(ids.DATA_FAVORABLE_DROPDOWN, "value"),
         Input(ids.DATA_SOURCE_RADIO, "value"), Input(ids.DATA_PREDICTION_DROPDOWN, "value"),
         Input(ids.DATA_SCORE_DROPDOWN, "value"), Input(ids.DATA_THRESHOLD_INPUT, "value"),
         Input(ids.DATA_SENSITIVE_DROPDOWN, "value"), Input(ids.DATA_BINS_INPUT, "value")]
_FIELD_WORDS = {"target": "outcome column", "favorable": "favourable value", "source": "prediction source",
                "prediction": "prediction column", "score": "score column", "sensitive": "sensitive features"}
_FIELDS = ("target", "favorable", "source", "prediction", "score", "threshold", "sensitive", "bins")


def form_key(state) -> str:
    """Which stored settings the form shows: the dataset and its confirmed settings (not the model)."""
    state = state or {}
    return json.dumps([state.get("dataset"), state.get("spec")], sort_keys=True, default=str)


# The form's fields by the names ``form_values`` gives them, its column choices, and which settings it shows.
SETTINGS_OUTPUTS = dict(
    target_options=Output(ids.DATA_TARGET_DROPDOWN, "options"),
    prediction_options=Output(ids.DATA_PREDICTION_DROPDOWN, "options"),
    score_options=Output(ids.DATA_SCORE_DROPDOWN, "options"),
    sensitive_options=Output(ids.DATA_SENSITIVE_DROPDOWN, "options"),
    target=Output(ids.DATA_TARGET_DROPDOWN, "value"), source=Output(ids.DATA_SOURCE_RADIO, "value"),
    prediction=Output(ids.DATA_PREDICTION_DROPDOWN, "value"), score=Output(ids.DATA_SCORE_DROPDOWN, "value"),
    threshold=Output(ids.DATA_THRESHOLD_INPUT, "value"), model_favorable=Output(ids.DATA_MODEL_FAVORABLE_INPUT, "value"),
    sensitive=Output(ids.DATA_SENSITIVE_DROPDOWN, "value"), bins=Output(ids.DATA_BINS_INPUT, "value"),
    min_group_size=Output(ids.DATA_MIN_GROUP_INPUT, "value"), confidence=Output(ids.DATA_CONFIDENCE_RADIO, "value"),
    key=Output(ids.DATA_FORM_KEY_STORE, "data"),
)


@callback(
    output=SETTINGS_OUTPUTS,
    inputs=dict(state=Input(ids.STATE_STORE, "data"), shown=State(ids.DATA_FORM_KEY_STORE, "data"),
                token=State(ids.SESSION_STORE, "data")),
)
def show_settings(state, shown, token):
    """Offer the dataset's columns and fill the form with the stored settings when the dataset or the
    settings change (a draft survives a model upload); a new dataset starts blank. The favourable value
    follows once its options are known (``show_favorable_values``)."""
    key = form_key(state)
    if key == shown:
        return dict.fromkeys(SETTINGS_OUTPUTS, no_update)
    options = {"all": [], "numeric": []}
    if state and state.get("dataset"):
        try:
            options = column_options(workspace.dataset_for(get_store(), token, state))
        except AuditInputError:
            pass  # show_dataset says what is wrong
    fields = form_values(state or {})
    return dict(target_options=options["all"], prediction_options=options["all"], score_options=options["numeric"],
                sensitive_options=options["all"], key=key,
                **{name: fields[name] for name in SETTINGS_OUTPUTS if name in fields})


@callback(
    Output(ids.DATA_FAVORABLE_DROPDOWN, "options"), Output(ids.DATA_FAVORABLE_DROPDOWN, "value"),
    Input(ids.DATA_TARGET_DROPDOWN, "value"), State(ids.DATA_FAVORABLE_DROPDOWN, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_favorable_values(target, current, state, token):
    """Offer the outcome's values; keep the chosen one, or the one of the settings that ran for this
    outcome, if it is among them (never pick one)."""
    if not target or not state or not state.get("dataset"):
        return [], None
    try:
        dataset = workspace.dataset_for(get_store(), token, state)
    except AuditInputError:
        return [], None
    values = column_options(dataset, target=target)["target_values"]
    spec = state.get("spec") or {}
    wanted = [w for w in (current, spec.get("favorable") if spec.get("target") == target else None)
              if w is not None and w != ""]
    chosen = next((v["value"] for w in wanted for v in values if str(v["value"]) == str(w)), None)
    return values, chosen


@callback(
    Output(ids.DATA_PREDICTION_FIELD, "style"), Output(ids.DATA_SCORE_FIELD, "style"),
    Output(ids.DATA_THRESHOLD_FIELD, "style"), Output(ids.DATA_MODEL_FAVORABLE_FIELD, "style"),
    Input(ids.DATA_SOURCE_RADIO, "value"),
)
def show_source_fields(source):
    """Show only the fields of the chosen prediction source."""
    shown = {"model": ("threshold", "model_favorable"), "prediction": ("prediction",),
             "score": ("score", "threshold")}.get(source, ())
    return tuple(None if name in shown else HIDDEN for name in ("prediction", "score", "threshold",
                                                                "model_favorable"))


def _hint(field: str, value, reason: str):
    shown = ", ".join(map(str, value)) if isinstance(value, list) else _SOURCE_LABELS.get(value, str(value)) \
        if field == "source" else str(value)
    return html.Div([
        html.Span("Suggestion: ", className="fw-semibold"), html.Span(shown, className="font-monospace"),
        html.Span(f" ({reason}). "),
        dbc.Button("Use it", id={"type": ids.DATA_SUGGEST_TYPE, "field": field}, color="link", size="sm",
                   className="p-0 align-baseline", title=f"Use {shown} as the {_FIELD_WORDS[field]}"),
    ], className="form-text mt-n2 mb-3 auditapp-suggestion")


def _suggested(state, token, field, favorable_options=None):
    """The suggestion for one empty field, or None."""
    if field == "favorable":
        return suggest_favorable([o["value"] for o in favorable_options or []])
    return getattr(workspace.suggestions_for(get_store(), token, state), field)


@callback(
    Output(ids.DATA_TARGET_HINT, "children"), Output(ids.DATA_FAVORABLE_HINT, "children"),
    Output(ids.DATA_SOURCE_HINT, "children"), Output(ids.DATA_COLUMN_HINT, "children"),
    Output(ids.DATA_SENSITIVE_HINT, "children"),
    *_FORM, Input(ids.DATA_FAVORABLE_DROPDOWN, "options"), State(ids.STATE_STORE, "data"),
    State(ids.SESSION_STORE, "data"),
)
def show_suggestions(target, favorable, source, prediction, score, _threshold, sensitive, _bins, options, state,
                     token):
    """Under each empty field, what the column names suggest and why (never filled in by itself)."""
    if not state or not state.get("dataset"):
        return None, None, None, None, None
    try:
        def hint(field, empty=True):
            found = _suggested(state, token, field, options) if empty else None
            return _hint(field, found.value, found.reason) if found else None

        column = source if source in ("prediction", "score") else None
        return (hint("target", not target), hint("favorable", bool(target) and favorable in (None, "")),
                hint("source", not source),
                hint(column, not (prediction if column == "prediction" else score)) if column else None,
                hint("sensitive", not sensitive))
    except AuditInputError:
        return None, None, None, None, None


@callback(
    Output(ids.DATA_TARGET_DROPDOWN, "value", allow_duplicate=True),
    Output(ids.DATA_FAVORABLE_DROPDOWN, "value", allow_duplicate=True),
    Output(ids.DATA_SOURCE_RADIO, "value", allow_duplicate=True),
    Output(ids.DATA_PREDICTION_DROPDOWN, "value", allow_duplicate=True),
    Output(ids.DATA_SCORE_DROPDOWN, "value", allow_duplicate=True),
    Output(ids.DATA_THRESHOLD_INPUT, "value", allow_duplicate=True),
    Output(ids.DATA_SENSITIVE_DROPDOWN, "value", allow_duplicate=True),
    Input({"type": ids.DATA_SUGGEST_TYPE, "field": ALL}, "n_clicks"),
    State(ids.DATA_FAVORABLE_DROPDOWN, "options"), State(ids.DATA_THRESHOLD_INPUT, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def on_use_suggestion(_clicks, options, threshold, state, token):
    """Use one suggestion the user clicked (a score column brings its threshold when none is set)."""
    fields = ("target", "favorable", "source", "prediction", "score", "threshold", "sensitive")
    out = dict.fromkeys(fields, no_update)
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return tuple(out.values())
    field = trigger["field"]
    try:
        found = _suggested(state, token, field, options)
        if found is not None:
            out[field] = found.value
        if field == "score" and threshold in (None, ""):
            extra = _suggested(state, token, "threshold")
            out["threshold"] = extra.value if extra else no_update
    except AuditInputError:
        pass
    return tuple(out.values())


@callback(
    Output(ids.DATA_RUN_BUTTON, "disabled"), Output(ids.DATA_READY, "children"),
    Output(ids.DATA_BIN_OFFERS, "children"),
    *_FORM, Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_readiness(*args):
    """Say what is still to choose, what cannot be audited and what looks wrong; enable Run audit when ready."""
    *values, state, token = args
    if not state or not state.get("dataset"):
        return True, html.Span("Load a dataset first: a built-in scenario, or your own file.",
                               className="text-muted"), None
    try:
        dataset = workspace.dataset_for(get_store(), token, state)
    except AuditInputError as exc:
        return True, error_alert(str(exc)), None
    check = check_form(dataset.frame, dict(zip(_FIELDS, values, strict=True)), has_model=bool(loaded_model(state)))
    parts = [html.Div(check.sentence(), className="fw-semibold" if not check.ready else "text-success")]
    parts += [dbc.Alert(p, color="danger", className="py-2 mb-2") for p in check.problems]
    parts += [dbc.Alert(w, color="warning", className="py-2 mb-2") for w in check.warnings]
    offers = [_bin_offer(dataset.frame[name], name, count) for name, count in check.bins_needed.items()]
    return not check.ready, parts, offers or None


def _bin_offer(column, name: str, count: int):
    buttons = [dbc.Button(o["label"], id={"type": ids.DATA_BIN_OFFER_TYPE, "feature": name, "rule": o["rule"]},
                          color="primary", outline=True, size="sm", className="me-2 mb-1")
               for o in bin_offers(column)]
    return dbc.Alert([
        html.Div([html.Strong(f"'{name}' is a number with {count:,} distinct values."),
                  " One group per value gives many tiny groups whose numbers mean little. Bin it:"]),
        html.Div(buttons, className="mt-2"),
        html.Small("or type your own edges in the field above.", className="text-muted"),
    ], color="info", className="py-2")


@callback(
    Output(ids.DATA_BINS_INPUT, "value", allow_duplicate=True),
    Input({"type": ids.DATA_BIN_OFFER_TYPE, "feature": ALL, "rule": ALL}, "n_clicks"),
    State(ids.DATA_BINS_INPUT, "value"), prevent_initial_call=True,
)
def on_use_bins(_clicks, text):
    """Put the bins the user clicked into the bins field (replacing that feature's, keeping the others)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    entries = {}
    for part in (text or "").split(";"):
        name, sep, rule = part.partition("=")
        if sep and name.strip():
            entries[name.strip()] = rule.strip()
    entries[trigger["feature"]] = trigger["rule"]
    return "; ".join(f"{name}={rule}" for name, rule in entries.items())


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
    State(ids.DATA_CONFIDENCE_RADIO, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True, running=AUDIT_RUNNING,
)
def on_run_audit(n_clicks, target, favorable, source, prediction, score, threshold, model_favorable, sensitive, bins,
                 reference_values, reference_ids, min_group_size, confidence, state, token):
    """Check the settings, run the audit, and keep them for the other pages."""
    if not n_clicks:
        return no_update, no_update
    form = {"target": target, "favorable": favorable, "source": source, "prediction": prediction,
            "score": score, "threshold": threshold, "model_favorable": model_favorable, "sensitive": sensitive,
            "bins": bins, "reference": {i["feature"]: v for i, v in zip(reference_ids or [], reference_values or [],
                                                                        strict=True) if isinstance(i, dict)},
            "min_group_size": min_group_size, "confidence": confidence}
    try:
        if state and state.get("dataset"):
            dataset = workspace.dataset_for(get_store(), token, state)
            check = check_form(dataset.frame, form, has_model=bool(loaded_model(state)))
            if not check.ready:
                raise AuditInputError(" ".join([check.sentence(), *check.problems]))
        new_state = state_from_form(state, form)
        audit = audit_for(token, new_state)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="The audit could not run")
    rows = audit.result.n_rows
    ready = [html.Strong("Audit ready. "), f"{rows:,} rows, {len(audit.result.groupings)} groupings. ",
             dcc.Link("See the group metrics →", href="/")]
    if not audit.notices:
        return new_state, info_alert(ready, color="success")
    return new_state, info_alert([html.Div(ready), html.Div("Check before you rely on it:", className="mt-2 fw-semibold"),
                                  html.Ul([html.Li(n) for n in audit.notices], className="mb-0")], color="warning")
