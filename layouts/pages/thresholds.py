"""Threshold explorer: what a different cut-off on the score does to each group."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import defaults, ids
from layouts.components import card, graph, grid, labelled

dash.register_page(__name__, path="/thresholds", name="Threshold explorer", order=2,
                   title="Threshold explorer · auditapp")


def layout(**_query):
    return html.Div([
        html.H1("Threshold explorer", className="h2"),
        html.P("A person is given the favourable outcome when their score is at or above the threshold. "
               "Move the slider to see what a different cut-off does to each group.", className="lead"),
        html.Div(id=ids.THRESHOLD_ALERT),
        dcc.Store(id=ids.THRESHOLD_READY_STORE),
        dbc.Row([
            dbc.Col(labelled("Compare groups by", dcc.Dropdown(id=ids.THRESHOLD_GROUPING_DROPDOWN,
                                                               clearable=False)), md=4),
            dbc.Col(labelled("Threshold", dcc.Slider(
                id=ids.THRESHOLD_SLIDER, min=0, max=1, step=0.01, value=defaults.THRESHOLD, updatemode="drag",
                marks={i / 10: f"{i / 10:.1f}" for i in range(11)},
                tooltip={"placement": "bottom", "always_visible": False}),
                "Drag to change the cut-off; the numbers below follow instantly."), md=6),
            dbc.Col(html.Div(id=ids.THRESHOLD_VALUE_TEXT, className="fs-4 fw-semibold mt-md-4"), md=2),
        ]),
        card("Rates at this threshold", grid(ids.THRESHOLD_TABLE, label="Rates at this threshold", height=260),
             help_text="Selection rate: share given the favourable outcome. TPR: share of those who "
                       "deserved it who got it. FPR: share of those who did not who got it anyway."),
        card("Rates across thresholds", graph(ids.THRESHOLD_CURVES_GRAPH, height=380),
             help_text="The dashed line is the current threshold."),
        dbc.Row([
            dbc.Col(card("ROC curve by group", graph(ids.THRESHOLD_ROC_GRAPH),
                         help_text="Higher and further left is better; dots mark the current threshold."), lg=6),
            dbc.Col(card("Calibration by group", graph(ids.THRESHOLD_CALIBRATION_GRAPH),
                         help_text="On the diagonal, a score of 0.7 means 70% really had the outcome."), lg=6),
        ]),
    ])
