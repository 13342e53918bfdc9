"""Mitigation: what would fixing the bias cost? Candidates compared on the same held-out rows."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.service.mitigation_jobs import CONSTRAINT_TEXT
from layouts import ids
from layouts.components import candidate_downloads, card, graph, grid, labelled, progress

dash.register_page(__name__, path="/mitigation", name="Mitigation", order=4, title="Mitigation · auditapp")

_CONSTRAINT_NAMES = {
    "demographic_parity": "Demographic parity (equal selection rates)",
    "equalized_odds": "Equalized odds (equal true- and false-positive rates)",
    "true_positive_rate_parity": "True-positive-rate parity (equal opportunity)",
    "error_rate_parity": "Error-rate parity (equal error rates)",
}


def _families() -> html.Div:
    return html.Div([
        html.P("Four families of fixes, each applied at a different point:", className="mb-1"),
        html.Ul([
            html.Li([html.Strong("Baseline: "), "the uploaded model as it is, and the same learner refitted on "
                     "the training rows. Every cost is measured against the refitted one: it learns from the "
                     "same rows as the candidates that retrain. A baseline is never recommended as a fix."]),
            html.Li([html.Strong("Pre-processing "), "changes the training data. Reweighing gives each "
                     "group × label combination a weight so that the label no longer depends on the group; "
                     "CorrelationRemover removes the linear link between the features and the sensitive "
                     "attribute."]),
            html.Li([html.Strong("In-processing "), "changes how the model learns. ExponentiatedGradient and "
                     "GridSearch train many models under the chosen constraint and keep the best mix or the "
                     "best one."]),
            html.Li([html.Strong("Post-processing "), "changes the decisions of the trained model. "
                     "ThresholdOptimizer picks a different score threshold for each group."]),
        ], className="mb-2"),
        html.P([html.Strong("Why the sensitive attribute at prediction time matters. "),
                "Post-processing (and CorrelationRemover) must know every new person's group to decide, and "
                "treats two otherwise identical people differently because of it. Using a protected "
                "attribute in individual decisions can be unlawful disparate treatment even when it "
                "narrows a gap: for example, US employment law forbids using different cut-off scores by "
                "race, sex, religion or national origin (Title VII, 42 U.S.C. § 2000e-2(l)). Pre- and "
                "in-processing use the attribute only while training. Ask your legal team before "
                "deploying a candidate marked “needs sensitive attribute”; this page is not legal advice."],
               className="mb-0"),
    ])


def _settings() -> html.Div:
    constraint = dcc.Dropdown(
        id=ids.MITIGATION_CONSTRAINT_DROPDOWN, value=None, clearable=False, searchable=False,
        options=[{"label": name, "value": key} for key, name in _CONSTRAINT_NAMES.items()])
    return card(
        "1. Choose what “fair” means and which fixes to try",
        labelled("Fairness constraint", constraint),
        html.P(CONSTRAINT_TEXT["demographic_parity"], id=ids.MITIGATION_CONSTRAINT_HELP, className="small text-muted"),
        labelled("Make fair between the groups of",
                 dcc.Dropdown(id=ids.MITIGATION_GROUPING_DROPDOWN, clearable=False, searchable=False),
                 "Starts with the first sensitive feature alone. An intersection (e.g. sex × ethnicity) splits the "
                 "test rows into many smaller groups: their rates, and the gaps between them, are less certain."),
        labelled("Candidates", dbc.Checklist(id=ids.MITIGATION_CANDIDATES_CHECKLIST, options=[], value=[]),
                 "Every candidate is trained on the same training rows and scored on the same test rows. "
                 "Greyed-out candidates do not apply here."),
        html.Div([
            dbc.Button("Run the comparison", id=ids.MITIGATION_RUN_BUTTON, color="primary", className="me-2"),
            dbc.Button("Cancel", id=ids.MITIGATION_CANCEL_BUTTON, color="secondary", outline=True, disabled=True),
        ], className="mb-3"),
        html.Div(id=ids.MITIGATION_RUN_ALERT),
        html.Div([
            progress(ids.MITIGATION_PROGRESS, "Comparison: progress", value=0, label="", striped=True,
                     animated=True, className="mb-2", style={"height": "1.4rem"}),
            html.Div(id=ids.MITIGATION_STATUS_LIST, **{"aria-live": "polite"}),
        ], id=ids.MITIGATION_PROGRESS_AREA, style={"display": "none"}),
        help_text="Candidates run two at a time; each shows its status as it finishes. A failing candidate "
                  "shows its error while the others go on.",
    )


def _results() -> html.Div:
    return html.Div([
        card("2. The trade-off", html.Ul(id=ids.MITIGATION_TRADEOFF_TEXT, className="mb-2"),
             graph(ids.MITIGATION_TRADEOFF_GRAPH, height=480),
             help_text="Each point is one candidate: further up is more accurate, further left is fairer. "
                       "Whiskers are 95% confidence intervals; if two points' whiskers overlap, this test "
                       "set cannot tell them apart with confidence."),
        card("3. The groups, and how many test rows each has",
             html.P(id=ids.MITIGATION_GROUP_SIZES_TEXT, className="mb-2"),
             grid(ids.MITIGATION_GROUP_SIZES_GRID, label="The groups, and how many test rows each has", height=220),
             help_text="A group with fewer test rows than the audit's minimum group size is flagged small: any "
                       "gap involving it is too uncertain to act on."),
        card("4. All candidates side by side", grid(ids.MITIGATION_TABLE, label="All candidates side by side", height=430),
             html.Div(id=ids.MITIGATION_RUN_SUMMARY),
             help_text="Numbers are on the held-out test rows, with 95% confidence intervals in brackets. "
                       "ExponentiatedGradient and ThresholdOptimizer decide at random: their numbers are "
                       "expectations over those random decisions, and a single draw's disparity lands in the "
                       "'single random draws' range. Accuracy changes are against the refitted baseline on the same "
                       "test rows, with a paired 95% interval. Sort by any column; the Notes column says how each "
                       "candidate was trained."),
        card("5. One candidate in detail",
             labelled("Candidate", dcc.Dropdown(id=ids.MITIGATION_CANDIDATE_DROPDOWN, clearable=False),
                      "Starts at the recommended candidate: the fairest mitigation on the Pareto front."),
             html.Ul(id=ids.MITIGATION_CANDIDATE_TEXT, className="small"),
             graph(ids.MITIGATION_GROUPS_GRAPH, height=420),
             html.Div(candidate_downloads(ids.MITIGATION_MODEL_BUTTON, ids.MITIGATION_PREDICTIONS_BUTTON,
                                          ids.MITIGATION_MODEL_DOWNLOAD, ids.MITIGATION_PREDICTIONS_DOWNLOAD),
                      className="mt-2"),
             html.Small("The model file predicts 1 for the favourable outcome and can be uploaded on Data & model "
                        "to audit it again. A randomised candidate's file decides each person by a seeded hash of "
                        "their row, so the same rows get the same decisions in any order. The CSV holds each test "
                        "row's id, groups, true label, prediction and score (a randomised candidate's score is its "
                        "probability of the favourable decision).", className="text-muted d-block mt-1"),
             html.Div(id=ids.MITIGATION_DOWNLOAD_ALERT, className="mt-2"),
             help_text="Rates per group for the chosen candidate, on the same test rows as every other one."),
    ], id=ids.MITIGATION_RESULTS, style={"display": "none"})


def layout(**_query):
    return html.Div([
        html.H1("Mitigation", className="h2"),
        html.P("What would fixing this cost? Compare fixes applied before, during and after training, all "
               "scored on the same held-out rows with confidence intervals.", className="lead"),
        html.P(id=ids.MITIGATION_CONTEXT, className="text-muted"),
        html.Div(id=ids.MITIGATION_ALERT),
        dcc.Store(id=ids.MITIGATION_CHOICE_STORE, storage_type="session"),
        dbc.Row([
            dbc.Col(_settings(), xl=7),
            dbc.Col(card("How the fixes work", _families(), html.Div(id=ids.MITIGATION_LEARNER_NOTES),
                         help_text="Read this once; the table marks which candidates need the sensitive "
                                   "attribute."), xl=5),
        ]),
        _results(),
    ])
