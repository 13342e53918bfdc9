"""Feedback loops: simulate how decisions feed back into the data, two policies side by side."""

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from auditapp.service.feedback_presets import CONTROLS, SCENARIO_LABELS, SEED_CONTROL, Control
from layouts import ids
from layouts.components import card, graph, labelled, progress

dash.register_page(__name__, path="/feedback", name="Feedback loops", order=5,
                   title="Feedback loops · auditapp")

# The lesson shown with each scenario: the story, what to try, what to notice.
_TEACHING = {
    "policing": dict(
        title="Predictive policing: a runaway feedback loop (Ensign et al., 2018)",
        story=("Two regions, A and B, each have a true number of incidents a day. Every day a patrol "
               "goes where the incidents recorded so far point, and police only discover incidents "
               "where they patrol. Each discovery is recorded, which makes the next patrol there more "
               "likely."),
        what_to_try=(
            "Run with the defaults (Oakland-like rates 3.69 and 2.82): the left chart is the plain "
            "loop, the right one applies the authors' correction to the same settings and seed.",
            "Raise the share reported by residents and run again.",
            "Make both rates equal: single runs still lock onto one region by chance.",
        ),
        what_to_notice=(
            "Dashed lines are each region's true share of incidents. Without the correction the "
            "patrols drift away from them; with it they settle on them.",
            "The shaded band holds 80% of the runs: a wide band means luck early on decides where "
            "patrols go.",
            "Drag the step slider or press Play to watch it happen day by day.",
        ),
    ),
    "lending": dict(
        title="Lending with delayed impact (Liu et al., 2018)",
        story=("A lender gives loans to applicants of two groups, best credit scores first. A repaid "
               "loan raises the borrower's score, a default lowers it. A fairness rule that makes the "
               "lender select more of a group can help that group, or harm it when too many of the "
               "extra loans end in default."),
        what_to_try=(
            "Compare maximum profit (left) with demographic parity (right), then with equal "
            "opportunity.",
            "Make a default cost more points, e.g. −250, and watch group B's outcome curve turn "
            "negative sooner.",
            "Make a default cheaper for the lender (e.g. −2) and see every policy lend more.",
        ),
        what_to_notice=(
            "On the outcome curve, the large mark is where the policy puts each group: above zero "
            "its mean score rises, below zero the loans do harm.",
            "The trajectory shows each group's mean score round after round under the policy.",
        ),
    ),
    "model-loop": dict(
        title="Your model in the loop: it only learns from the people it selects",
        story=("Round after round, the model scores a pool of applicants drawn from the current "
               "dataset and selects the best-scored share. Only the selected reveal whether they "
               "would have done well (selective labels), and the model is retrained on what it has "
               "seen. A counterfactual copy sees every applicant's outcome. On the hiring scenario both "
               "start from the biased past decisions: with full information the model learns that women "
               "perform as well and the gap closes; in the loop it rarely selects them, so it never finds out "
               "and the gap stays."),
        what_to_try=(
            "Run with the defaults: the solid lines (the loop) stay apart while the dashed ones (full "
            "information) come together.",
            "Run with exploration 0, then with 0.3 and 1: at 1 the two worlds see the same labels "
            "and coincide.",
            "Lower the share selected: the model learns less about the people it rarely picks.",
            "Let a success raise a feature (e.g. years of experience) so that decisions change people.",
        ),
        what_to_notice=(
            "Solid lines are the model in the loop, dashed lines the full-information counterfactual.",
            "The gap chart shows the largest difference between groups in each round.",
        ),
    ),
}


def _teaching(scenario: str) -> html.Div:
    lesson = _TEACHING[scenario]
    return html.Div([
        html.H3(lesson["title"], className="h5"), html.P(lesson["story"]),
        html.H4("What to try", className="h6"), html.Ul([html.Li(line) for line in lesson["what_to_try"]]),
        html.H4("What to notice", className="h6"),
        html.Ul([html.Li(line) for line in lesson["what_to_notice"]], className="mb-0"),
    ], id={"type": ids.FEEDBACK_TEACHING, "scenario": scenario},
        style=None if scenario == "policing" else {"display": "none"})


def _control(scenario: str | None, control: Control) -> html.Div:
    """One setting: its label, the slider/box/choice, and its sentence of explanation."""
    name = control.name if scenario is None else f"{scenario}:{control.name}"
    cid = {"type": ids.FEEDBACK_CONTROL, "name": name}
    if control.kind == "slider":
        marks = {control.minimum: f"{control.minimum:g}", control.maximum: f"{control.maximum:g}"}
        widget = dcc.Slider(id=cid, min=control.minimum, max=control.maximum, step=control.step,
                            value=control.default, marks=marks,
                            tooltip={"placement": "bottom", "always_visible": False})
    elif control.kind == "number":
        widget = dbc.Input(id=cid, type="number", min=control.minimum, max=control.maximum,
                           step=control.step if control.step is not None else "any", value=control.default)
    else:
        options = [{"label": label, "value": value} for value, label in (control.options or ())]
        widget = dcc.Dropdown(id=cid, options=options, value=control.default, clearable=control.optional,
                              placeholder="none" if control.optional else None)
    return labelled(control.label, widget, control.help)


def _panel(scenario: str) -> html.Div:
    extra = [html.P(id=ids.FEEDBACK_LOOP_CONTEXT, className="small")] if scenario == "model-loop" else []
    return html.Div(extra + [_control(scenario, c) for c in CONTROLS[scenario]],
                    id={"type": ids.FEEDBACK_PANEL, "scenario": scenario},
                    style=None if scenario == "policing" else {"visibility": "hidden", "height": 0,
                                                               "overflow": "hidden"})


def _settings_card() -> dbc.Card:
    return card(
        "Scenario and settings",
        labelled("Scenario", dbc.RadioItems(
            id=ids.FEEDBACK_SCENARIO_RADIO, value="policing",
            options=[{"label": label, "value": key} for key, label in SCENARIO_LABELS.items()])),
        *[_panel(scenario) for scenario in CONTROLS],
        _control(None, SEED_CONTROL),
        html.Div([
            dbc.Button("Run", id=ids.FEEDBACK_RUN_BUTTON, color="primary", size="lg", className="me-2"),
            dbc.Button("Cancel", id=ids.FEEDBACK_CANCEL_BUTTON, color="secondary", outline=True,
                       disabled=True),
        ]),
        progress(ids.FEEDBACK_PROGRESS, "Simulation: progress", value=0, className="mt-3", striped=True,
                 style={"height": "1.2rem"}),
        help_text="Pick a scenario, change a setting, press Run. Both sides use the same settings "
                  "and seed, so any difference comes from the policy.",
    )


def _side(title_id: str, graph_id: str, extra_id: str, extra_graph_id: str, narrative_id: str) -> dbc.Col:
    return dbc.Col(dbc.Card([
        dbc.CardHeader(html.H2(id=title_id, className="h5 mb-0")),
        dbc.CardBody([
            graph(graph_id, height=440),
            html.Div(graph(extra_graph_id, height=420), id=extra_id, style={"display": "none"}),
            html.Ul(id=narrative_id, className="mb-0 mt-2"),
        ]),
    ], className="mb-3 h-100"), lg=6)


def _results() -> html.Div:
    return html.Div([
        card("What happened", html.Ul(id=ids.FEEDBACK_SUMMARY, className="mb-0"),
             help_text="The two sides compared; every number comes from the simulation."),
        dbc.Row([
            dbc.Col(dbc.Button("▶ Play", id=ids.FEEDBACK_PLAY_BUTTON, color="secondary", outline=True,
                               className="w-100"), md=1),
            dbc.Col(labelled("Show up to", dcc.Slider(id=ids.FEEDBACK_STEP_SLIDER, min=0, max=1, step=1, value=1,
                                                      updatemode="drag", allow_direct_input=False)), md=7),
            dbc.Col(html.Div(id=ids.FEEDBACK_STEP_TEXT, className="small"), md=4),
        ], className="align-items-center mb-2"),
        html.P("Drag the slider, or press Play, to step through time: the charts show everything up "
               "to the chosen day or round.", className="text-muted small"),
        dcc.Interval(id=ids.FEEDBACK_PLAY_INTERVAL, interval=350, disabled=True),
        dbc.Row([
            _side(ids.FEEDBACK_LEFT_TITLE, ids.FEEDBACK_LEFT_GRAPH, ids.FEEDBACK_LEFT_EXTRA,
                  ids.FEEDBACK_LEFT_EXTRA_GRAPH, ids.FEEDBACK_LEFT_NARRATIVE),
            _side(ids.FEEDBACK_RIGHT_TITLE, ids.FEEDBACK_RIGHT_GRAPH, ids.FEEDBACK_RIGHT_EXTRA,
                  ids.FEEDBACK_RIGHT_EXTRA_GRAPH, ids.FEEDBACK_RIGHT_NARRATIVE),
        ]),
    ], id=ids.FEEDBACK_RESULTS, style={"display": "none"})


def layout(**_query):
    return html.Div([
        html.H1("Feedback loops", className="h2"),
        html.P("A model's decisions change the data it will see next. These simulations make that "
               "visible: run one, then step through time and compare two policies side by side.",
               className="lead"),
        html.Div(id=ids.FEEDBACK_ALERT),
        dcc.Store(id=ids.FEEDBACK_RUN_STORE, storage_type="memory"),
        dbc.Row([
            dbc.Col(_settings_card(), lg=4),
            dbc.Col(card("About this scenario", *[_teaching(s) for s in CONTROLS]), lg=8),
        ]),
        _results(),
    ])
