"""The Data & model page's card for server-side data sources (too large to upload; see auditapp.service.source_jobs)."""

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.components import card, labelled, progress


def source_card():
    """Pick a source the operator offers, open it, and audit all of it in the background."""
    return html.Div(card(
        "Server-side data (large)",
        labelled("Data source", dcc.Dropdown(id=ids.DATA_SOURCE_DROPDOWN, placeholder="No source offered"),
                 "Files and tables the operator put in this server's data directory; they are read where they "
                 "are (DuckDB), never uploaded."),
        dbc.Row([
            dbc.Col(dbc.Button("Open", id=ids.DATA_SOURCE_OPEN_BUTTON, color="secondary", className="w-100"), md=4),
            dbc.Col(dbc.Button("Audit the whole source", id=ids.DATA_SOURCE_AUDIT_BUTTON, color="primary",
                               className="w-100"), md=5),
            dbc.Col(dbc.Button("Stop", id=ids.DATA_SOURCE_CANCEL_BUTTON, color="secondary", outline=True,
                               disabled=True, className="w-100"), md=3),
        ], className="g-2"),
        html.Div([
            progress(ids.DATA_SOURCE_PROGRESS, "Audit of the whole source: progress", value=0, label="",
                     striped=True, animated=True, className="mt-2"),
            html.Div(id=ids.DATA_SOURCE_PROGRESS_TEXT, className="small text-muted mt-1", **{"aria-live": "polite"}),
        ], id=ids.DATA_SOURCE_PROGRESS_AREA, style={"display": "none"}),
        html.Div(id=ids.DATA_SOURCE_STATUS, className="mt-2"),
        html.Div(id=ids.DATA_SOURCE_ALERT, className="mt-2"),
        help_text="Opening shows a preview to choose the columns from. Auditing counts every row where the data "
                  "is; explanations and mitigations then use a sample stratified by group × outcome.",
    ), id=ids.DATA_SOURCE_CARD, style={"display": "none"})
