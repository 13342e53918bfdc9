"""Amounts & classes: audits of regression models (prices, amounts, scores) and multiclass classifiers."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.figures.explain import PROXY_COLUMNS
from layouts import ids
from layouts.components import candidate_downloads, card, graph, grid, labelled

dash.register_page(__name__, path="/tasks", name="Amounts & classes", order=8,
                   title="Amounts & classes · auditapp")

_REGRESSION_METRICS = [
    {"label": "Mean error (prediction − outcome)", "value": "mean_error"},
    {"label": "Mean absolute error", "value": "mean_absolute_error"},
    {"label": "Root mean squared error", "value": "root_mean_squared_error"},
    {"label": "R²", "value": "r2"},
    {"label": "Mean prediction", "value": "mean_prediction"},
    {"label": "Mean outcome", "value": "mean_outcome"},
]
_CLASS_METRICS = [{"label": "Share assigned", "value": "class_rate"}, {"label": "TPR", "value": "tpr"},
                  {"label": "FPR", "value": "fpr"}, {"label": "Precision", "value": "precision"}]


def _settings():
    return card(
        "What to audit",
        dbc.Button("Load the listing-price scenario", id=ids.TASK_SCENARIO_BUTTON, color="secondary",
                   className="mb-3"),
        labelled("What the model predicts", dbc.RadioItems(
            id=ids.TASK_KIND_RADIO, inline=True, value="auto",
            options=[{"label": "Decide from the data (asks when unsure)", "value": "auto"},
                     {"label": "Several classes", "value": "multiclass"},
                     {"label": "Amounts (regression)", "value": "regression"}]),
            "Two outcomes (yes/no) are audited on Group metrics."),
        dbc.Row([
            dbc.Col(labelled("Outcome (target) column", dcc.Dropdown(id=ids.TASK_TARGET_DROPDOWN)), md=4),
            dbc.Col(labelled("Prediction column", dcc.Dropdown(id=ids.TASK_PREDICTION_DROPDOWN),
                             "Empty: the model uploaded on Data & model predicts."), md=4),
            dbc.Col(labelled("Sensitive features", dcc.Dropdown(id=ids.TASK_SENSITIVE_DROPDOWN, multi=True)), md=4),
        ]),
        dbc.Button("Run", id=ids.TASK_RUN_BUTTON, color="primary"),
        dcc.Store(id=ids.TASK_CHOICES_STORE, storage_type="memory"),
        help_text="Uses the dataset loaded on Data & model. Nothing is guessed: an outcome that could be classes "
                  "or amounts makes the page ask.",
    )


# Until a run fills them, the tables show their first column: a grid without any column header is not a
# valid table for assistive technology (axe: aria-required-children).
_EMPTY_GROUPS = [{"field": "group", "headerName": "Group"}]
_EMPTY_CANDIDATES = [{"field": "candidate", "headerName": "Candidate"}]


def layout(**_query):
    return html.Div([
        html.H1("Amounts & classes", className="h2"),
        html.P("Audit a model that predicts an amount (a price, a limit, a score) or one of several classes.",
               className="lead"),
        _settings(),
        dcc.Loading(html.Div(id=ids.TASK_ALERT), delay_show=200),
        html.P(id=ids.TASK_CONTEXT, className="text-muted", role="status"),
        labelled("Compare groups by", dcc.Dropdown(id=ids.TASK_GROUPING_DROPDOWN, clearable=False)),
        html.Div([
            card("Errors by group", labelled("Metric", dcc.Dropdown(
                id=ids.TASK_METRIC_DROPDOWN, options=_REGRESSION_METRICS, value="mean_error", clearable=False)),
                graph(ids.TASK_METRIC_GRAPH),
                help_text="Below 0, the group's amounts are under-estimated. Whiskers: bootstrap intervals."),
            dbc.Row([
                dbc.Col(card("Residuals", graph(ids.TASK_RESIDUAL_GRAPH)), lg=6),
                dbc.Col(card("Predictions", graph(ids.TASK_PREDICTION_GRAPH)), lg=6),
            ]),
            card("Prediction above a cutoff", labelled("Cutoff", dcc.Slider(
                id=ids.TASK_CUTOFF_SLIDER, min=0, max=1, value=0.5, updatemode="mouseup",
                tooltip={"placement": "bottom", "always_visible": True}),
                "Treat “prediction above X” as a selection: each group's share above the cutoff."),
                graph(ids.TASK_CUTOFF_GRAPH),
                help_text="The regression analogue of the threshold explorer."),
        ], id=ids.TASK_REGRESSION_AREA, style={"display": "none"}),
        html.Div([
            card("Per class", labelled("Rate", dbc.RadioItems(
                id=ids.TASK_CLASS_METRIC_RADIO, inline=True, value="class_rate", options=_CLASS_METRICS)),
                graph(ids.TASK_CLASS_GRAPH),
                help_text="One vs rest: a class's TPR is the share of that class's rows predicted as it."),
            card("Confusion matrix", labelled("Group", dcc.Dropdown(id=ids.TASK_CONFUSION_GROUP_DROPDOWN,
                                                                    clearable=False)),
                 graph(ids.TASK_CONFUSION_GRAPH),
                 help_text="Rows: true class; colour: share of the row; numbers: counts."),
        ], id=ids.TASK_MULTICLASS_AREA, style={"display": "none"}),
        card("Table", grid(ids.TASK_TABLE, label="Every metric per group", height=300, columns=_EMPTY_GROUPS),
             help_text="Every metric per group with its interval."),
        card("Proxy features", html.P(id=ids.TASK_PROXY_TEXT, className="mb-2", **{"aria-live": "polite"}),
             grid(ids.TASK_PROXY_GRID, label="Proxy features", height=320, columns=PROXY_COLUMNS),
             help_text="A proxy gives away a protected attribute the model never sees, as a neighbourhood can give "
                       "away the host's ethnicity. AUC: how well the feature alone tells the groups apart (0.5 = "
                       "not at all, 1 = perfectly). NMI: shared information, from 0 to 1."),
        card("What drives the predictions",
             dbc.Row([
                 dbc.Col(html.Div(labelled("Class to explain", dcc.Dropdown(id=ids.TASK_EXPLAIN_CLASS_DROPDOWN),
                                           "Several classes: each class's probability is explained on its own."),
                                  id=ids.TASK_EXPLAIN_CLASS_FIELD, style={"display": "none"}), md=4),
                 dbc.Col(dbc.Button("Explain the model", id=ids.TASK_EXPLAIN_BUTTON, color="secondary",
                                    className="mb-3"), md=4),
             ]),
             dcc.Loading(html.Div([
                 html.P("Run the audit with the model uploaded on Data & model (no prediction column), then explain "
                        "it.", id=ids.TASK_EXPLAIN_TEXT, **{"aria-live": "polite"}),
                 html.Div([
                     graph(ids.TASK_IMPORTANCE_GRAPH, height=None, min_height=320),
                     labelled("Gap of", dcc.Dropdown(id=ids.TASK_GAP_GROUP_DROPDOWN, clearable=False),
                              "Each group's mean prediction against its reference group's, split into columns."),
                     graph(ids.TASK_GAP_GRAPH, height=None, min_height=320),
                 ], id=ids.TASK_EXPLAIN_AREA, style={"display": "none"}),
             ]), delay_show=200),
             help_text="SHAP values: how much each column moves a prediction away from the average one, summed "
                       "back to the dataset's columns. The parts of a gap add up to the gap exactly."),
        card("What each mitigation does",
             dbc.Button("Compare mitigations", id=ids.TASK_MITIGATION_BUTTON, color="secondary", className="mb-2"),
             dcc.Loading(html.Div([
                 html.P(id=ids.TASK_MITIGATION_TEXT, className="small text-muted", **{"aria-live": "polite"}),
                 grid(ids.TASK_MITIGATION_TABLE, label="What each mitigation does", height=270,
                      columns=_EMPTY_CANDIDATES),
             ]), delay_show=200),
             html.Div([
                 labelled("Candidate to download", dcc.Dropdown(id=ids.TASK_MITIGATION_CANDIDATE_DROPDOWN,
                                                                clearable=False),
                          "Its model file and its test predictions: the rows the table's numbers come from."),
                 *candidate_downloads(ids.TASK_MITIGATION_MODEL_BUTTON, ids.TASK_MITIGATION_PREDICTIONS_BUTTON,
                                      ids.TASK_MITIGATION_MODEL_DOWNLOAD, ids.TASK_MITIGATION_PREDICTIONS_DOWNLOAD),
                 html.Small("The model file can be uploaded on Data & model to audit it again. The correlation "
                            "remover's file also reads each row's group column; the bounded group loss mixture "
                            "draws each row's model by a seeded hash of the row, so a row gets the same prediction "
                            "in any order.", className="text-muted d-block mt-1"),
                 html.Div(id=ids.TASK_MITIGATION_DOWNLOAD_ALERT, className="mt-2"),
             ], id=ids.TASK_MITIGATION_DOWNLOADS, className="mt-3", style={"display": "none"}),
             help_text="Each candidate refits the model on a training part and is audited on the same held-out "
                       "rows (the listing-price scenario: refitted on last year's listings, audited on this "
                       "year's). Amounts: overall error, the spread of group errors and the largest standardized "
                       "mean difference, with intervals. Classes: accuracy and the largest class-rate gap."),
    ])
