"""Compliance page: pick a pack, map columns and values, see the rule's tables, download them."""

from __future__ import annotations

from dash import Input, Output, Patch, State, callback, ctx, dcc, html, no_update

from auditapp.compliance import forms
from auditapp.core.errors import AuditInputError
from auditapp.figures import empty_figure
from auditapp.service import workspace
from callbacks.context import get_store
from layouts import ids
from layouts.components import error_alert

_SECTIONS = {"ll144": ids.COMPLIANCE_LL144_SECTION, "ug": ids.COMPLIANCE_UG_SECTION,
             "fl": ids.COMPLIANCE_FL_SECTION, "eu": ids.COMPLIANCE_EU_SECTION}
_NO_DATA = "No dataset yet: upload one or pick a scenario on the Data & model page."


def _remembered(key: str, value):
    """A patch of the page results the report reads: this pack's form (None: it did not compute)."""
    patch = Patch()
    patch[key] = value
    return patch


def _dataset(state, token):
    if not state or not state.get("dataset"):
        raise AuditInputError(_NO_DATA)
    return workspace.dataset_for(get_store(), token, state)


def eu_evidence(state, token, results):
    """The EU AI Act evidence of the current audit (its record, the data, the feedback loops run)."""
    from auditapp.cli.commands.audit import dataset_info
    from auditapp.compliance.eu_ai_act import eu_ai_act_evidence
    from auditapp.reporting.gate import assess
    from auditapp.service.policy_forms import stored_policy
    from callbacks.context import audit_for

    dataset = _dataset(state, token)
    audit = audit_for(token, state)
    model = None
    if state.get("model"):
        info = get_store().info(token, state["model"])
        model = {"name": info.name, "sha256": info.sha256, "format": (info.meta or {}).get("format")}
    record = assess(audit, stored_policy(state.get("policy")), dataset_info=dataset_info(dataset),
                    model_info=model).record
    keys = ((results or {}).get("feedback") or {}).get("keys") or []
    found = [get_store().find(token, tuple(k)) for k in keys if isinstance(k, list) and k and k[0] == "feedback"]
    loops = [f"simulation '{getattr(s, 'scenario', 'feedback loop')}' run on the Feedback loops page"
             for s in found if s is not None]
    return eu_ai_act_evidence(record, frame=dataset.frame, feedback=loops)


@callback(
    Output(ids.COMPLIANCE_DATASET_TEXT, "children"),
    *(Output(i, "options") for i in (ids.COMPLIANCE_LL144_OUTCOME, ids.COMPLIANCE_LL144_SEX, ids.COMPLIANCE_LL144_RACE,
                                     ids.COMPLIANCE_UG_SELECTED, ids.COMPLIANCE_UG_GROUP, ids.COMPLIANCE_FL_APPROVED,
                                     ids.COMPLIANCE_FL_GROUP, ids.COMPLIANCE_FL_PRICE, ids.COMPLIANCE_FL_SEGMENT)),
    *(Output(i, "value") for i in (ids.COMPLIANCE_LL144_KIND, ids.COMPLIANCE_LL144_OUTCOME, ids.COMPLIANCE_LL144_SEX,
                                   ids.COMPLIANCE_LL144_RACE, ids.COMPLIANCE_UG_SELECTED, ids.COMPLIANCE_UG_GROUP,
                                   ids.COMPLIANCE_FL_APPROVED, ids.COMPLIANCE_FL_GROUP)),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_compliance_columns(state, token):
    """Offer the dataset's columns, with guesses from their names, when the page opens or the data changes."""
    try:
        dataset = _dataset(state, token)
    except AuditInputError as exc:
        return (str(exc), *([[]] * 9), "selection", *([None] * 7))
    guesses = forms.form_guesses(dataset.frame, (state or {}).get("spec") or {})
    options = [{"label": c, "value": c} for c in dataset.columns]
    groups = options + ([{"label": "Race probabilities from surname and ZIP (BISG)", "value": forms.BISG_CHOICE}]
                        if guesses["has_bisg"] else [])
    text = f"Dataset: {dataset.name} · {dataset.rows:,} rows · {len(dataset.columns)} columns."
    return (text, options, options, options, options, options, options, groups, options, options,
            guesses["kind"], guesses["outcome"], guesses["sex"], guesses["race"], guesses["selected"],
            guesses["group"], guesses["selected"], guesses["fl_group"])


@callback(*(Output(s, "style") for s in _SECTIONS.values()), Input(ids.COMPLIANCE_PACK_RADIO, "value"))
def show_pack(pack):
    """Show the chosen pack's controls and results."""
    return tuple(None if key == pack else {"display": "none"} for key in _SECTIONS)


@callback(
    Output(ids.COMPLIANCE_LL144_SEX_GRID, "rowData"), Output(ids.COMPLIANCE_LL144_RACE_GRID, "rowData"),
    Input(ids.COMPLIANCE_LL144_SEX, "value"), Input(ids.COMPLIANCE_LL144_RACE, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_ll144_mapping(sex, race, state, token):
    """List each chosen column's values with the category they map to by name."""
    try:
        frame = _dataset(state, token).frame
    except AuditInputError:
        return [], []
    return forms.mapping_rows(frame, sex, "sex"), forms.mapping_rows(frame, race, "race_ethnicity")


@callback(
    Output(ids.COMPLIANCE_LL144_SUMMARY, "children"), Output(ids.COMPLIANCE_LL144_TABLES, "children"),
    Output(ids.COMPLIANCE_LL144_GRAPH, "figure"), Output(ids.COMPLIANCE_LL144_FORM_STORE, "data"),
    Output(ids.COMPLIANCE_ALERT, "children"),
    Input(ids.COMPLIANCE_LL144_RUN, "n_clicks"),
    State(ids.COMPLIANCE_LL144_KIND, "value"), State(ids.COMPLIANCE_LL144_OUTCOME, "value"),
    State(ids.COMPLIANCE_LL144_SELECTED_VALUE, "value"), State(ids.COMPLIANCE_LL144_SEX, "value"),
    State(ids.COMPLIANCE_LL144_RACE, "value"), State(ids.COMPLIANCE_LL144_TIES, "value"),
    State(ids.COMPLIANCE_LL144_MEDIAN, "value"), State(ids.COMPLIANCE_LL144_EXCLUDE, "value"),
    State(ids.COMPLIANCE_LL144_UNMAPPED, "value"), State(ids.COMPLIANCE_LL144_SOURCE, "value"),
    State(ids.COMPLIANCE_LL144_DIST_DATE, "value"), State(ids.COMPLIANCE_LL144_SEX_GRID, "rowData"),
    State(ids.COMPLIANCE_LL144_RACE_GRID, "rowData"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def on_ll144(n_clicks, kind, outcome, selected_value, sex, race, ties, median, exclude, unmapped, source, dist_date,
             sex_rows, race_rows, state, token):
    """Compute the LL144 tables with the chosen columns, mapping and choices."""
    if not n_clicks:
        return (no_update,) * 5
    form = {"kind": kind, "outcome": outcome, "selected_value": selected_value, "sex": sex, "race": race,
            "ties": ties, "median_sample": median, "exclude_under": exclude,
            "unmapped_as_unknown": "unknown" in (unmapped or []), "data_source": source,
            "distribution_date": dist_date, "mapping": forms.mapping_from_rows(sex_rows, race_rows)}
    try:
        result = forms.ll144_from_form(_dataset(state, token).frame, form)
    except AuditInputError as exc:
        return None, None, empty_figure("No tables yet: see the message above."), None, error_alert(
            str(exc), title="The bias audit could not run")
    from auditapp.compliance.ll144_outputs import summary_sentences
    from auditapp.figures.compliance import impact_ratio_figure
    from layouts.compliance_components import ll144_tables

    form["audit_date"] = result.audit_date
    return ([html.Li(s) for s in summary_sentences(result)], ll144_tables(result),
            impact_ratio_figure(result, "race_ethnicity", result.classes[0]), form, None)


@callback(
    Output(ids.COMPLIANCE_DOWNLOAD, "data"), Output(ids.COMPLIANCE_ALERT, "children", allow_duplicate=True),
    Input(ids.COMPLIANCE_LL144_HTML_BUTTON, "n_clicks"), Input(ids.COMPLIANCE_LL144_CSV_BUTTON, "n_clicks"),
    Input(ids.COMPLIANCE_LL144_JSON_BUTTON, "n_clicks"), State(ids.COMPLIANCE_LL144_FORM_STORE, "data"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def on_ll144_download(html_clicks, csv_clicks, json_clicks, form, state, token):
    """Download the summary (HTML), the tables (CSV) or the record (JSON) of the last computed audit."""
    if not (html_clicks or csv_clicks or json_clicks):
        return no_update, no_update
    if not form:
        return no_update, error_alert("Compute the bias audit first.")
    try:
        dataset = _dataset(state, token)
        result = forms.ll144_from_form(dataset.frame, form)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
    from auditapp.cli.commands.audit import dataset_info
    from auditapp.compliance.ll144_outputs import ll144_file

    which = {ids.COMPLIANCE_LL144_HTML_BUTTON: "html", ids.COMPLIANCE_LL144_CSV_BUTTON: "csv"}.get(ctx.triggered_id, "json")
    text, filename = ll144_file(result, which, dataset_info(dataset))
    return dcc.send_string(text, filename), None


@callback(
    Output(ids.COMPLIANCE_UG_GRID, "rowData"), Output(ids.COMPLIANCE_UG_NOTE, "children"),
    Output(ids.COMPLIANCE_ALERT, "children", allow_duplicate=True),
    Output(ids.RESULTS_STORE, "data", allow_duplicate=True),
    Input(ids.COMPLIANCE_UG_RUN, "n_clicks"), State(ids.COMPLIANCE_UG_SELECTED, "value"),
    State(ids.COMPLIANCE_UG_VALUE, "value"), State(ids.COMPLIANCE_UG_GROUP, "value"),
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def on_adverse_impact(n_clicks, selected, value, group, state, token):
    """Compute the Uniform Guidelines table for the chosen columns."""
    if not n_clicks:
        return no_update, no_update, no_update, no_update
    form = {"selected": selected, "selected_value": value, "group": group}
    try:
        result = forms.adverse_impact_from_form(_dataset(state, token).frame, form)
    except AuditInputError as exc:
        return [], "", error_alert(str(exc)), _remembered("compliance_ug", None)
    note = (f"Compared with the highest-rate group, {result.highest}; tests at alpha {result.alpha:g}; flips by "
            f"{result.flip_method}.")
    return forms.adverse_impact_rows(result), note, None, _remembered("compliance_ug", form)


@callback(
    Output(ids.COMPLIANCE_FL_CONTROL, "options"), Output(ids.COMPLIANCE_FL_CONTROL, "value"),
    Input(ids.COMPLIANCE_FL_GROUP, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_control_groups(group, state, token):
    """Offer the chosen group column's values as the control group."""
    try:
        choices = forms.control_options(_dataset(state, token).frame, group)
    except AuditInputError:
        return [], None
    preferred = next((c for c in choices if c.lower() in ("white", "male", "m")), choices[0] if choices else None)
    return choices, preferred


@callback(
    Output(ids.COMPLIANCE_FL_GRAPH, "figure"), Output(ids.COMPLIANCE_FL_AIR_GRID, "rowData"),
    Output(ids.COMPLIANCE_FL_SMD_GRID, "rowData"), Output(ids.COMPLIANCE_FL_NOTE, "children"),
    Output(ids.COMPLIANCE_ALERT, "children", allow_duplicate=True),
    Output(ids.RESULTS_STORE, "data", allow_duplicate=True),
    Input(ids.COMPLIANCE_FL_RUN, "n_clicks"), State(ids.COMPLIANCE_FL_APPROVED, "value"),
    State(ids.COMPLIANCE_FL_APPROVED_VALUE, "value"), State(ids.COMPLIANCE_FL_GROUP, "value"),
    State(ids.COMPLIANCE_FL_CONTROL, "value"), State(ids.COMPLIANCE_FL_PRICE, "value"),
    State(ids.COMPLIANCE_FL_SEGMENT, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def on_fair_lending(n_clicks, approved, approved_value, group, control, price, segment, state, token):
    """Compute the fair-lending ratios for the chosen columns and control group."""
    if not n_clicks:
        return (no_update,) * 6
    form = {"approved": approved, "approved_value": approved_value, "group": group, "control": control,
            "value": price, "segment": segment}
    try:
        result = forms.fair_lending_from_form(_dataset(state, token).frame, form)
    except AuditInputError as exc:
        return empty_figure(str(exc)), [], [], "", error_alert(str(exc)), _remembered("compliance_fl", None)
    from auditapp.figures.compliance import air_figure

    note = f"Intervals ({result.confidence:.0%}): {result.interval_method}."
    if result.rows_left_out:
        note += f" {result.rows_left_out:,} rows had no race probabilities and were left out."
    return (air_figure(result), forms.table_rows(result.air), forms.table_rows(result.smd) if not result.smd.empty
            else [], note, None, _remembered("compliance_fl", form))


@callback(
    Output(ids.COMPLIANCE_EU_GRID, "rowData"), Output(ids.COMPLIANCE_ALERT, "children", allow_duplicate=True),
    Output(ids.RESULTS_STORE, "data", allow_duplicate=True),
    Input(ids.COMPLIANCE_EU_RUN, "n_clicks"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    State(ids.RESULTS_STORE, "data"), prevent_initial_call=True,
)
def on_eu_evidence(n_clicks, state, token, results):
    """Map the current audit to the EU AI Act's documentation items."""
    if not n_clicks:
        return no_update, no_update, no_update
    from auditapp.compliance.eu_ai_act import evidence_rows

    try:
        return evidence_rows(eu_evidence(state, token, results)), None, _remembered("compliance_eu", True)
    except AuditInputError as exc:
        return [], error_alert(str(exc)), _remembered("compliance_eu", None)


@callback(
    Output(ids.COMPLIANCE_DOWNLOAD, "data", allow_duplicate=True),
    Output(ids.COMPLIANCE_ALERT, "children", allow_duplicate=True),
    Input(ids.COMPLIANCE_EU_DOWNLOAD_BUTTON, "n_clicks"), State(ids.STATE_STORE, "data"),
    State(ids.SESSION_STORE, "data"), State(ids.RESULTS_STORE, "data"), prevent_initial_call=True,
)
def on_eu_download(n_clicks, state, token, results):
    """Download the EU AI Act evidence as a self-contained HTML page."""
    if not n_clicks:
        return no_update, no_update
    from auditapp.compliance.eu_ai_act import evidence_page

    try:
        return dcc.send_string(evidence_page(eu_evidence(state, token, results)), "eu_ai_act_evidence.html"), None
    except AuditInputError as exc:
        return no_update, error_alert(str(exc))
