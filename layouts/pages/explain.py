"""Explanations: which features drive the model, the gap between two groups, one row, and proxies."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.service.explain_jobs import APP_ROWS_PER_GROUP, MAX_ROWS_PER_GROUP
from layouts import ids
from layouts.components import card, graph, grid, labelled, progress

dash.register_page(__name__, path="/explain", name="Explanations", order=3, title="Explanations · auditapp")


def _figure(graph_id: str, *, min_height: int = 360) -> html.Div:
    """A graph whose height follows the figure (importance charts grow with the number of bars)."""
    return graph(graph_id, min_height=min_height)


def _text(text_id: str) -> html.P:
    return html.P(id=text_id, className="mb-2", **{"aria-live": "polite"})


def _controls() -> dbc.Card:
    rows = dcc.Input(id=ids.EXPLAIN_ROWS_INPUT, type="number", min=10, max=MAX_ROWS_PER_GROUP, step=10,
                     value=APP_ROWS_PER_GROUP, className="form-control")
    seed = dcc.Input(id=ids.EXPLAIN_SEED_INPUT, type="number", min=0, step=1, placeholder="the audit's seed",
                     className="form-control")
    return card(
        "Compute the explanations",
        dbc.Row([
            dbc.Col(labelled("Rows per group", rows, "At most this many rows of each group are explained. "
                             "More rows: narrower intervals, slower."), md=3),
            dbc.Col(labelled("Seed", seed, "Which rows are sampled; the same seed gives the same numbers."), md=3),
            dbc.Col(html.Div([
                dbc.Button("Compute", id=ids.EXPLAIN_COMPUTE_BUTTON, color="primary", className="me-2"),
                dbc.Button("Cancel", id=ids.EXPLAIN_CANCEL_BUTTON, color="secondary", outline=True, disabled=True),
            ], className="mt-md-4 pt-md-2"), md=6),
        ]),
        html.Div([
            progress(ids.EXPLAIN_PROGRESS, "Explanations: progress", value=0, label="", striped=True,
                     animated=True, style={"height": "1.4rem"}),
            html.Div(id=ids.EXPLAIN_PROGRESS_TEXT, className="small text-muted mt-1", **{"aria-live": "polite"}),
        ], id=ids.EXPLAIN_PROGRESS_AREA, className="mb-2", style={"display": "none"}),
        html.Div(id=ids.EXPLAIN_STATUS, className="text-muted", **{"aria-live": "polite"}),
        help_text="SHAP values are computed once per dataset, model and settings, then kept; "
                  "a second visit shows them at once.",
    )


def _results() -> html.Div:
    return html.Div([
        card("What the numbers mean", _text(ids.EXPLAIN_OUTPUT_TEXT), _text(ids.EXPLAIN_SAMPLE_TEXT),
             help_text="A SHAP value is one feature's push, up or down, on one person's output; "
                       "the pushes of all features add up exactly to the model's output."),
        dbc.Row([
            dbc.Col(card("What drives the model", _text(ids.EXPLAIN_IMPORTANCE_TEXT),
                         _figure(ids.EXPLAIN_IMPORTANCE_GRAPH),
                         help_text="Each bar: how far the feature moves one person's output on average, "
                                   "whichever the direction (mean |SHAP|)."), lg=6),
            dbc.Col(card("What drives the model, by group",
                         labelled("Compare groups by", dcc.Dropdown(id=ids.EXPLAIN_GROUPING_DROPDOWN,
                                                                    clearable=False)),
                         _text(ids.EXPLAIN_GROUP_IMPORTANCE_TEXT), _figure(ids.EXPLAIN_GROUP_IMPORTANCE_GRAPH),
                         help_text="The same measure within each group: does the model lean on different "
                                   "features for different people?"), lg=6),
        ]),
        card(
            "What drives the gap between two groups",
            dbc.Row([
                dbc.Col(labelled("Groups of", dcc.Dropdown(id=ids.EXPLAIN_PAIR_GROUPING_DROPDOWN,
                                                           clearable=False)), md=4),
                dbc.Col(labelled("Group", dcc.Dropdown(id=ids.EXPLAIN_PAIR_A_DROPDOWN, clearable=False)), md=4),
                dbc.Col(labelled("compared with", dcc.Dropdown(id=ids.EXPLAIN_PAIR_B_DROPDOWN, clearable=False)),
                        md=4),
            ]),
            _text(ids.EXPLAIN_GAP_TEXT), _figure(ids.EXPLAIN_GAP_GRAPH, min_height=420),
            help_text="The waterfall starts at the second group's average output and adds, feature by "
                      "feature, how much more (or less) that feature pushes the first group; it ends "
                      "exactly at the first group's average. Orange steps widen the gap, blue ones narrow it.",
        ),
        dbc.Row([
            dbc.Col(card(
                "How one feature moves the output",
                dbc.Row([
                    dbc.Col(labelled("Feature", dcc.Dropdown(id=ids.EXPLAIN_FEATURE_DROPDOWN, clearable=False)),
                            md=6),
                    dbc.Col(labelled("Colour by", dcc.Dropdown(id=ids.EXPLAIN_COLOR_DROPDOWN, clearable=False)),
                            md=6),
                ]),
                _text(ids.EXPLAIN_DEPENDENCE_TEXT), _figure(ids.EXPLAIN_DEPENDENCE_GRAPH, min_height=420),
                help_text="Each dot is one sampled person: the feature's value (across) and its push on "
                          "that person's output (up or down). Click a dot to explain that person.",
            ), lg=6),
            dbc.Col(card(
                "One person's explanation",
                labelled("Row id", dcc.Input(id=ids.EXPLAIN_ROW_INPUT, type="number", min=0, step=1,
                                             debounce=True, className="form-control"),
                         "Type a row number of the dataset and press Enter, or click a dot in the plot "
                         "on the left."),
                html.Div(id=ids.EXPLAIN_LOCAL_ALERT),
                _text(ids.EXPLAIN_LOCAL_TEXT), _figure(ids.EXPLAIN_LOCAL_GRAPH, min_height=420),
                help_text="From the average output (base value) to this person's output, one step per "
                          "feature: which of their values pushed the decision up, which pushed it down.",
            ), lg=6),
        ]),
        card("Proxy features", _text(ids.EXPLAIN_PROXY_TEXT), grid(ids.EXPLAIN_PROXY_GRID, label="Proxy features", height=340),
             help_text="A proxy gives away a protected attribute the model never sees, as membership of a "
                       "women's club gives away sex. AUC: how well the feature alone tells the groups apart "
                       "(0.5 = not at all, 1 = perfectly). NMI: shared information, from 0 to 1."),
    ], id=ids.EXPLAIN_RESULTS, style={"visibility": "hidden", "height": 0, "overflow": "hidden"})


def layout(**_query):
    return html.Div([
        html.H1("Explanations", className="h2"),
        html.P("Which features drive the model's decisions, which of them make the difference between "
               "groups, and which features stand in for a protected attribute.", className="lead"),
        html.Div(id=ids.EXPLAIN_ALERT),
        dcc.Store(id=ids.EXPLAIN_READY_STORE),
        _controls(),
        _results(),
    ])
