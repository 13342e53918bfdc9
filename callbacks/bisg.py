"""Data & model page, BISG card: race and ethnicity probabilities from surname and ZIP, as a new dataset."""

from __future__ import annotations

from pathlib import Path

from dash import Input, Output, State, callback, html, no_update

from auditapp.compliance import forms
from auditapp.core.errors import AuditInputError
from auditapp.service import workspace
from callbacks.context import get_store
from layouts import ids
from layouts.components import error_alert, info_alert

_INTRO = ("Lenders and insurers often never collect race. From each person's surname and ZIP code, Bayesian "
          "Improved Surname Geocoding estimates the probability of six groups (Hispanic; non-Hispanic White, "
          "Black, Asian/Pacific Islander, American Indian/Alaska Native, multiracial/other). The result is a new "
          "dataset with six probability columns; the fair-lending pack weights by them.")


@callback(
    Output(ids.DATA_BISG_CARD, "style"), Output(ids.DATA_BISG_INTRO, "children"),
    Output(ids.DATA_BISG_SURNAME, "options"), Output(ids.DATA_BISG_ZIP, "options"),
    Output(ids.DATA_BISG_FIRST, "options"), Output(ids.DATA_BISG_SURNAME, "value"),
    Output(ids.DATA_BISG_ZIP, "value"), Output(ids.DATA_BISG_FIRST, "value"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_bisg_choices(state, token):
    """Offer the step when the dataset has no race column, with the columns that look like names and ZIPs."""
    hidden = {"display": "none"}
    if not state or not state.get("dataset"):
        return hidden, "", [], [], [], None, None, None
    try:
        columns = workspace.dataset_for(get_store(), token, state).columns
    except AuditInputError:
        return hidden, "", [], [], [], None, None, None
    if forms.has_race_column(columns):
        return hidden, "", [], [], [], None, None, None
    options = [{"label": c, "value": c} for c in columns]
    return (None, _INTRO, options, options, options, forms.guess_column(columns, "surname"),
            forms.guess_column(columns, "zip"), forms.guess_column(columns, "first_name"))


@callback(
    Output(ids.STATE_STORE, "data", allow_duplicate=True), Output(ids.DATA_BISG_ALERT, "children"),
    Input(ids.DATA_BISG_BUTTON, "n_clicks"), State(ids.DATA_BISG_SURNAME, "value"), State(ids.DATA_BISG_ZIP, "value"),
    State(ids.DATA_BISG_FIRST, "value"), State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    prevent_initial_call=True,
)
def on_infer_race(n_clicks, surname, zip_column, first_name, state, token):
    """Estimate the probabilities, keep the data with them as a new dataset, and say what was matched."""
    if not n_clicks:
        return no_update, no_update
    if not surname or not zip_column:
        return no_update, error_alert("Choose the surname and the ZIP code columns first.")
    store = get_store()
    try:
        dataset = workspace.dataset_for(store, token, state)
        frame, estimates = forms.with_race_probabilities(dataset.frame, surname, zip_column, first_name)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="Race could not be estimated")
    data = forms.parquet_bytes(frame)
    name = f"{Path(dataset.name).stem}_race_probabilities.parquet"
    info = store.put(token, data, kind="dataset", name=name, meta={"rows": len(frame), "columns": len(frame.columns)})
    notes = [html.Div(n) for n in estimates.notes()]
    return dict(state, dataset=info.id), info_alert(
        [html.Strong(f"Added race probabilities: the dataset is now {name}. "), *notes], color="success")
