"""Group metrics: the audit at a glance (the first screen)."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.core.rates import LABELS, METRICS
from layouts import defaults, ids
from layouts.components import card, graph, grid, labelled

dash.register_page(__name__, path="/", name="Group metrics", order=1, title="Group metrics · auditapp")

_METRIC_OPTIONS = [{"label": LABELS[m], "value": m} for m in METRICS]
_DISPARITY_OPTIONS = [*_METRIC_OPTIONS, {"label": LABELS["average_odds_difference"], "value": "average_odds_difference"}]


def layout(**_query):
    return html.Div([
        html.H1("Group metrics", className="h2"),
        html.P(id=ids.METRICS_CONTEXT, className="text-muted"),
        html.Div(id=ids.METRICS_ALERT),
        card("What stands out", dcc.Loading(html.Ul(id=ids.METRICS_SUMMARY, className="mb-0")),
             help_text="The largest gaps in plain words. Every number comes from the table below."),
        dbc.Row([
            dbc.Col(labelled("Compare groups by", dcc.Dropdown(id=ids.METRICS_GROUPING_DROPDOWN, clearable=False),
                             "One attribute, or an intersection such as sex × ethnicity."), md=4),
            dbc.Col(labelled("Metrics to chart", dcc.Dropdown(
                id=ids.METRICS_METRIC_CHECKLIST, multi=True, options=_METRIC_OPTIONS,
                value=defaults.METRICS_CHARTED),
                "Bars show each group's value; whiskers its confidence interval (level set on Data & model)."),
                md=8),
        ]),
        card("Rates by group", graph(ids.METRICS_BAR_GRAPH),
             help_text="Hatched bars are small groups (too few rows to trust); “(reference)” marks the group the others are compared with."),
        card("Against the reference group", dbc.Row([
            dbc.Col(labelled("Metric", dcc.Dropdown(id=ids.METRICS_DISPARITY_METRIC, options=_DISPARITY_OPTIONS,
                                                    value=defaults.METRICS_DISPARITY, clearable=False)), md=6),
            dbc.Col(labelled("Compare as", dbc.RadioItems(
                id=ids.METRICS_DISPARITY_KIND, inline=True, value=defaults.METRICS_DISPARITY_KIND,
                options=[{"label": "Ratio (four-fifths rule)", "value": "ratio"},
                         {"label": "Difference", "value": "difference"}])), md=6),
        ]), graph(ids.METRICS_DISPARITY_GRAPH),
            html.P(id=ids.METRICS_DISPARITY_HELP, className="text-muted small mb-0"),
            help_text="Each group's value against its reference group's, with its confidence interval."),
        html.Div(card("Intersections", labelled(
            "Metric", dcc.Dropdown(id=ids.METRICS_HEATMAP_METRIC, options=_METRIC_OPTIONS,
                                   value=defaults.METRICS_HEATMAP, clearable=False)), graph(ids.METRICS_HEATMAP_GRAPH),
            help_text="Each cell is one combination of two attributes; grey cells have too few rows."),
            id=ids.METRICS_HEATMAP_CARD),
        card("Table", grid(ids.METRICS_TABLE, label="Every metric per group", height=360),
             help_text="Every metric per group with its confidence interval; sort or filter any column."),
    ])
