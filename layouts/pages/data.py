"""Data & model: upload or pick a scenario, preview, and choose what to audit."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.compliance_components import bisg_card
from layouts.components import card, drop_zone, grid, labelled
from layouts.source_card import source_card

dash.register_page(__name__, path="/data", name="Data & model", order=0, title="Data & model · auditapp")


def _dataset_card():
    return card(
        "1. Dataset",
        dbc.Row([
            dbc.Col(labelled(
                "Built-in scenario",
                dcc.Dropdown(id=ids.DATA_SCENARIO_DROPDOWN, clearable=False),
                "Ready-made examples that run offline, each with a short story of what it shows.",
            ), md=8),
            dbc.Col(dbc.Button("Load scenario", id=ids.DATA_SCENARIO_BUTTON, color="secondary",
                               className="mt-md-4 w-100"), md=4),
        ]),
        html.Div("or", className="text-center text-muted my-2"),
        drop_zone(ids.DATA_DATASET_DROP, ids.DATA_DATASET_PROGRESS, kind="dataset",
                  prompt="Upload your dataset (CSV or Parquet)", accept=".csv,.tsv,.txt,.parquet"),
        html.Div(id=ids.DATA_DATASET_STATUS, className="mt-2"),
        dbc.Row([
            dbc.Col(labelled(
                "Read as missing",
                dbc.Input(id=ids.DATA_MISSING_INPUT, type="text", placeholder="e.g. None, NA", debounce=True),
                "Only empty cells are missing. Words such as None, NA or null are categories (a group of "
                "their own) unless you list them here, separated by commas.",
            ), md=8),
            dbc.Col(dbc.Button("Read again", id=ids.DATA_MISSING_BUTTON, color="secondary", outline=True,
                               className="mt-md-4 w-100"), md=4),
        ], className="mt-2"),
        html.Div(id=ids.DATA_MISSING_ALERT),
        help_text="One row per person: the true outcome, the model's inputs or predictions, and the "
                  "attributes you want to compare groups by.",
    )


def _model_card():
    return card(
        "2. Model (optional)",
        html.Div(id=ids.DATA_SANDBOX_NOTE),
        drop_zone(ids.DATA_MODEL_DROP, ids.DATA_MODEL_PROGRESS, kind="model",
                  prompt="Upload a trained model (.skops or .onnx)", accept=".skops,.onnx,.pkl,.pickle,.joblib"),
        html.Div(id=ids.DATA_MODEL_STATUS, className="mt-2"),
        dbc.Button("Remove the model", id=ids.DATA_MODEL_CLEAR_BUTTON, color="link", size="sm", className="px-0"),
        help_text="Without a model, predictions or scores given as columns are enough for metrics, "
                  "thresholds, policy and report. Model files are opened and run in an isolated process "
                  "(no network, no access to this server's files). Pickle files run code when opened and "
                  "are refused unless the operator trusts them.",
    )


def _section(title: str) -> html.H6:
    return html.H6(title, className="text-uppercase text-muted small fw-bold mt-2 mb-2 border-bottom pb-1")


def _field(wrapper_id: str, control, **col) -> dbc.Col:
    return dbc.Col(html.Div(control, id=wrapper_id), **col)


def _settings_card():
    return card(
        "3. What to audit",
        _section("Outcome"),
        dbc.Row([
            dbc.Col([labelled("Outcome (target) column", dcc.Dropdown(
                id=ids.DATA_TARGET_DROPDOWN, placeholder="Choose the column with the true outcome…"),
                "What really happened, e.g. hired, repaid, reoffended: not the model's prediction."),
                html.Div(id=ids.DATA_TARGET_HINT)], md=6),
            dbc.Col([labelled("Favourable value", dcc.Dropdown(
                id=ids.DATA_FAVORABLE_DROPDOWN, placeholder="Choose the outcome that benefits a person…"),
                "e.g. 1, yes, hired, good."),
                html.Div(id=ids.DATA_FAVORABLE_HINT)], md=6),
        ]),
        _section("Predictions"),
        labelled("Where the predictions come from", dbc.RadioItems(
            id=ids.DATA_SOURCE_RADIO, inline=True, value=None,
            options=[{"label": "The model", "value": "model"},
                     {"label": "A prediction column", "value": "prediction"},
                     {"label": "A score column + threshold", "value": "score"}]),
            "A prediction column holds decisions; a score column holds probabilities or risk scores."),
        html.Div(id=ids.DATA_SOURCE_HINT),
        dbc.Row([
            _field(ids.DATA_PREDICTION_FIELD, labelled(
                "Prediction column", dcc.Dropdown(id=ids.DATA_PREDICTION_DROPDOWN),
                "Predicted outcome, in the target's values or 0/1."), md=6),
            _field(ids.DATA_SCORE_FIELD, labelled(
                "Score column", dcc.Dropdown(id=ids.DATA_SCORE_DROPDOWN), "Higher means more likely favourable."),
                md=6),
            _field(ids.DATA_THRESHOLD_FIELD, labelled(
                "Threshold", dbc.Input(id=ids.DATA_THRESHOLD_INPUT, type="number", step="any", placeholder="0.5"),
                "Favourable when score ≥ threshold. Empty: 0.5 (a model without probabilities decides by "
                "its own class)."), md=6),
            _field(ids.DATA_MODEL_FAVORABLE_FIELD, labelled(
                "Model's favourable class", dbc.Input(id=ids.DATA_MODEL_FAVORABLE_INPUT, type="text",
                                                      placeholder="only if the model uses other labels"),
                "Needed only when the model predicts e.g. 0/1 but the outcome says yes/no."), md=6),
        ]),
        html.Div(id=ids.DATA_COLUMN_HINT),
        _section("Groups"),
        labelled("Sensitive features", dcc.Dropdown(id=ids.DATA_SENSITIVE_DROPDOWN, multi=True,
                                                    placeholder="Choose the attributes to compare groups by…"),
                 "Attributes to compare groups by (e.g. sex, race). Two or more also give intersections."),
        html.Div(id=ids.DATA_SENSITIVE_HINT),
        labelled("Bins for numeric features", dbc.Input(id=ids.DATA_BINS_INPUT, type="text", debounce=True,
                                                        placeholder="age=18,30,50,100   or   age=q4"),
                 "Cut numeric attributes into groups: edges, or q4 for quartiles. Separate several with ';'."),
        html.Div(id=ids.DATA_BIN_OFFERS),
        html.Div(id=ids.DATA_REFERENCE_CONTAINER),
        _section("Statistics"),
        dbc.Row([
            dbc.Col(labelled("Minimum group size", dbc.Input(id=ids.DATA_MIN_GROUP_INPUT, type="number",
                                                             min=1, step=1, value=30),
                             "Smaller groups are flagged: their numbers are too noisy to act on."), md=6),
            dbc.Col(labelled("Confidence level", dbc.RadioItems(
                id=ids.DATA_CONFIDENCE_RADIO, inline=True, value=0.95,
                options=[{"label": "90%", "value": 0.9}, {"label": "95%", "value": 0.95},
                         {"label": "99%", "value": 0.99}]),
                "Of every interval, test and policy verdict. Higher: wider intervals, fewer verdicts that "
                "are not inconclusive."), md=6),
        ]),
        html.Div(id=ids.DATA_READY, className="mb-2", role="status"),
        dbc.Button("Run audit", id=ids.DATA_RUN_BUTTON, color="primary", size="lg", disabled=True),
        dcc.Loading(html.Div(id=ids.DATA_RUN_ALERT, className="mt-3"), delay_show=200),
        dcc.Store(id=ids.DATA_FORM_KEY_STORE, storage_type="memory"),
        help_text="For your own data nothing is guessed: choose each setting. Suggestions from the column "
                  "names appear under the fields; one click uses one.",
    )


def layout(**_query):
    return html.Div([
        html.H1("Data & model", className="h2"),
        html.P("Bring a dataset and, optionally, the trained model; then say what to audit.",
               className="lead"),
        html.Div(id=ids.DATA_UPLOAD_ALERT),
        dbc.Row([
            dbc.Col([_dataset_card(), source_card(), _model_card(), bisg_card()], lg=5),
            dbc.Col([_settings_card()], lg=7),
        ]),
        card("Preview", grid(ids.DATA_PREVIEW_GRID, label="Preview: the first rows", height=280),
             html.H3("Columns", className="h6 mt-3"), grid(ids.DATA_COLUMNS_GRID, label="Columns", height=260),
             help_text="The first rows, and per column its type, missing values and distinct values."),
    ])
