"""Feedback loops page: scenario panels, the background run, side-by-side results, stepping in time."""

from __future__ import annotations

import textwrap

from dash import ALL, Input, Output, Patch, State, callback, clientside_callback, html, no_update

from auditapp.core.errors import AuditInputError
from auditapp.feedback.runner import SimulationResult, run_simulation
from auditapp.service import workspace
from auditapp.service.feedback_pages import scenario_page
from auditapp.service.feedback_presets import (
    loop_setup,
    model_loop_params,
    page_values,
    read_controls,
    run_key,
    split_progress,
)
from callbacks.context import get_store, settings
from callbacks.queue import JOB_RUNNING
from layouts import ids
from layouts.components import error_alert

HIDDEN = {"display": "none"}
# A hidden settings panel keeps its width, so its sliders lay out their number boxes as when shown.
PANEL_HIDDEN = {"visibility": "hidden", "height": 0, "overflow": "hidden"}
TITLE_WIDTH = 60
CONTROL_VALUES = State({"type": ids.FEEDBACK_CONTROL, "name": ALL}, "value")
CONTROL_IDS = State({"type": ids.FEEDBACK_CONTROL, "name": ALL}, "id")


@callback(
    Output({"type": ids.FEEDBACK_PANEL, "scenario": ALL}, "style"),
    Output({"type": ids.FEEDBACK_TEACHING, "scenario": ALL}, "style"),
    Input(ids.FEEDBACK_SCENARIO_RADIO, "value"),
    State({"type": ids.FEEDBACK_PANEL, "scenario": ALL}, "id"),
)
def show_scenario(scenario, panel_ids):
    """Show the chosen scenario's settings and lesson."""
    panels = [None if p["scenario"] == scenario else PANEL_HIDDEN for p in panel_ids]
    return panels, [None if p["scenario"] == scenario else HIDDEN for p in panel_ids]


def _loop_inputs(state, token):
    """Dataset, spec, model and loop setup of the current audit (all cached by content)."""
    from auditapp.service.scenarios import scenario_loop

    spec = workspace.spec_from_state(state)
    dataset = workspace.dataset_for(get_store(), token, state)
    model = workspace.load_model(get_store(), token, state.get("model"), trust_pickle=settings().trust_pickle)
    scenario = scenario_loop(get_store(), token, state.get("dataset"))
    exclude = (spec.target, *spec.sensitive, *(c for c in (spec.prediction, spec.score) if c),
               *([scenario.outcome] if scenario else []))
    return dataset, spec, model, loop_setup(dataset.frame, exclude=exclude, model=model, scenario=scenario,
                                            target=spec.target)


@callback(
    Output(ids.FEEDBACK_LOOP_CONTEXT, "children"),
    Output({"type": ids.FEEDBACK_CONTROL, "name": "model-loop:sensitive"}, "options"),
    Output({"type": ids.FEEDBACK_CONTROL, "name": "model-loop:sensitive"}, "value"),
    Output({"type": ids.FEEDBACK_CONTROL, "name": "model-loop:raise_feature"}, "options"),
    Output({"type": ids.FEEDBACK_CONTROL, "name": "model-loop:outcome"}, "options"),
    Output({"type": ids.FEEDBACK_CONTROL, "name": "model-loop:outcome"}, "value"),
    Input(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
)
def show_loop_context(state, token):
    """Say which data and learner the model loop will use."""
    try:
        if not state or not state.get("dataset"):
            raise AuditInputError("No dataset yet: pick a scenario or upload data on the Data & model page.")
        dataset, spec, _model, setup = _loop_inputs(state, token)
    except AuditInputError as exc:
        return html.Span(str(exc), className="text-danger"), [], None, [], [], None
    context = [html.Strong("Uses the current audit: "),
               f"{dataset.name} ({len(dataset.frame):,} rows), target {spec.target!r} "
               f"(favourable: {spec.favorable}). ", setup.note]
    outcomes = list(setup.outcomes) or [spec.target]
    return context, list(spec.sensitive), spec.sensitive[0], list(setup.numeric_features), outcomes, outcomes[0]


def _plan(scenario, values, state, token):
    """The runs to compare: [(cache key, params)], and a learner note for the model loop."""
    seed = values["seed"]
    page = scenario_page(scenario)
    if not page.uses_audit:
        return [(run_key(scenario, p, seed), p) for p in page.plan(values)], None
    if not state or not state.get("dataset"):
        raise AuditInputError("The model loop needs data: pick a scenario or upload a dataset on Data & model.")
    dataset, spec, _model, setup = _loop_inputs(state, token)
    params = model_loop_params(values, setup, dataset.frame, target=spec.target, favorable=spec.favorable)
    data_key = (*workspace.state_key(get_store(), token, state), setup.features)
    return [(run_key(scenario, params, seed, data_key=data_key), params)], setup.note


def _throttled(set_progress):
    """Report whole percentages only, so the job does not write to the cache on every step."""
    last = [-1]

    def report(fraction):
        percent = int(100 * fraction)
        if percent != last[0]:
            last[0] = percent
            set_progress((percent, f"{percent}%"))
    return report


@callback(
    Output(ids.FEEDBACK_RUN_STORE, "data"), Output(ids.FEEDBACK_ALERT, "children"),
    Input(ids.FEEDBACK_RUN_BUTTON, "n_clicks"),
    State(ids.FEEDBACK_SCENARIO_RADIO, "value"), CONTROL_VALUES, CONTROL_IDS,
    State(ids.STATE_STORE, "data"), State(ids.SESSION_STORE, "data"),
    background=True,
    progress=[Output(ids.FEEDBACK_PROGRESS, "value"), Output(ids.FEEDBACK_PROGRESS, "label")],
    running=[JOB_RUNNING, (Output(ids.FEEDBACK_RUN_BUTTON, "disabled"), True, False),
             (Output(ids.FEEDBACK_CANCEL_BUTTON, "disabled"), False, True),
             (Output(ids.FEEDBACK_PROGRESS, "animated"), True, False)],
    cancel=[Input(ids.FEEDBACK_CANCEL_BUTTON, "n_clicks")],
    prevent_initial_call=True,
)
def on_run(set_progress, n_clicks, scenario, values, control_ids, state, token):
    """Run the chosen simulation (both sides) in the background, caching each run."""
    if not n_clicks:
        return no_update, no_update
    report = _throttled(set_progress)
    report(0)
    try:
        values = read_controls(scenario, page_values(scenario, [c["name"] for c in control_ids], values))
        runs, note = _plan(scenario, values, state, token)
        for index, (key, params) in enumerate(runs):
            progress = split_progress(report, index, len(runs))
            get_store().cached(tuple(key), lambda p=params, f=progress: run_simulation(
                scenario, p, seed=values["seed"], progress=f), token=token)
    except AuditInputError as exc:
        return no_update, error_alert(str(exc), title="The simulation could not run")
    report(1)
    return {"scenario": scenario, "keys": [key for key, _ in runs], "titles": scenario_page(scenario).titles(values),
            "note": note}, None


def load_results(run, token) -> list[SimulationResult]:
    """The cached results a run store points to: simulations this session ran (or was given) only."""
    results = []
    for key in run["keys"]:
        if not isinstance(key, list) or not key or key[0] != "feedback":
            raise AuditInputError("The page asked for something that is not a simulation. Press Run again.")
        result = get_store().find(token, tuple(key))
        if result is None:
            raise AuditInputError("These results are no longer in the cache, or were run in another session. "
                                  "Press Run again.")
        if not isinstance(result, SimulationResult):
            raise AuditInputError("The page asked for something that is not a simulation. Press Run again.")
        results.append(result)
    return results


def _half_width(fig):
    """Break a long title into lines: each chart gets half the page width."""
    text = fig.layout.title.text or ""
    if len(text) > TITLE_WIDTH and "<br>" not in text:
        fig.update_layout(title_text="<br>".join(textwrap.wrap(text, TITLE_WIDTH)), title_font_size=15,
                          margin_t=110)
    return fig


def _figures(scenario, results):
    """(main, extra) figure per side; None where a side has no such chart."""
    pairs = scenario_page(scenario).figures(results)
    return [tuple(None if f is None else _half_width(f) for f in pair) for pair in pairs]


RESULT_OUTPUTS = dict(
    results=Output(ids.FEEDBACK_RESULTS, "style"), summary=Output(ids.FEEDBACK_SUMMARY, "children"),
    left_title=Output(ids.FEEDBACK_LEFT_TITLE, "children"), right_title=Output(ids.FEEDBACK_RIGHT_TITLE, "children"),
    left=Output(ids.FEEDBACK_LEFT_GRAPH, "figure"), right=Output(ids.FEEDBACK_RIGHT_GRAPH, "figure"),
    left_extra=Output(ids.FEEDBACK_LEFT_EXTRA, "style"), left_extra_figure=Output(ids.FEEDBACK_LEFT_EXTRA_GRAPH, "figure"),
    right_extra=Output(ids.FEEDBACK_RIGHT_EXTRA, "style"),
    right_extra_figure=Output(ids.FEEDBACK_RIGHT_EXTRA_GRAPH, "figure"),
    left_story=Output(ids.FEEDBACK_LEFT_NARRATIVE, "children"),
    right_story=Output(ids.FEEDBACK_RIGHT_NARRATIVE, "children"),
    step_min=Output(ids.FEEDBACK_STEP_SLIDER, "min"), step_max=Output(ids.FEEDBACK_STEP_SLIDER, "max"),
    step=Output(ids.FEEDBACK_STEP_SLIDER, "value"), step_marks=Output(ids.FEEDBACK_STEP_SLIDER, "marks"),
)


def _unchanged(**shown) -> dict:
    """Every result output left as it is, except those named."""
    return {name: shown.get(name, no_update) for name in RESULT_OUTPUTS}


@callback(
    output=RESULT_OUTPUTS,
    inputs=dict(run=Input(ids.FEEDBACK_RUN_STORE, "data"), scenario=Input(ids.FEEDBACK_SCENARIO_RADIO, "value"),
                token=State(ids.SESSION_STORE, "data")),
)
def show_results(run, scenario, token):
    """Show the finished run's charts and sentences (hidden while another scenario is chosen)."""
    if not run or run.get("scenario") != scenario:
        return _unchanged(results=HIDDEN)
    try:
        results = load_results(run, token)
    except AuditInputError as exc:
        return _unchanged(results=HIDDEN, summary=[html.Li(str(exc))])
    (left, left_extra), (right, right_extra) = _figures(scenario, results)
    stories = [[html.Li(line) for line in r.narrative] for r in results] + [[]]
    page = scenario_page(scenario)
    summary = [html.Li(line) for line in ([run["note"]] if run.get("note") else []) + list(page.comparison(results))]
    first, last = page.time_range(results[0].params)
    return dict(
        results=None, summary=summary, left_title=run["titles"][0], right_title=run["titles"][1],
        left=left, right=right,
        left_extra=HIDDEN if left_extra is None else None,
        left_extra_figure=no_update if left_extra is None else left_extra,
        right_extra=HIDDEN if right_extra is None else None,
        right_extra_figure=no_update if right_extra is None else right_extra,
        left_story=stories[0], right_story=stories[1],
        step_min=first, step_max=last, step=last, step_marks={first: str(first), last: f"{last:,}"},
    )


@callback(
    Output(ids.FEEDBACK_LEFT_GRAPH, "figure", allow_duplicate=True),
    Output(ids.FEEDBACK_RIGHT_GRAPH, "figure", allow_duplicate=True),
    Output(ids.FEEDBACK_LEFT_EXTRA_GRAPH, "figure", allow_duplicate=True),
    Output(ids.FEEDBACK_STEP_TEXT, "children"),
    Input(ids.FEEDBACK_STEP_SLIDER, "value"), State(ids.FEEDBACK_RUN_STORE, "data"),
    State(ids.SESSION_STORE, "data"), prevent_initial_call=True,
)
def on_step(step, run, token):
    """Step through time: every time chart shows days/rounds up to the slider's value."""
    if step is None or not run:
        return no_update, no_update, no_update, no_update
    try:
        page = scenario_page(run["scenario"])
        results = load_results(run, token)
    except AuditInputError as exc:
        return no_update, no_update, no_update, str(exc)
    first, last = page.time_range(results[0].params)
    step = min(last, max(first, int(step)))
    window = Patch()
    window["layout"]["xaxis"]["range"] = [first - page.time_pad, max(step, first + 1) + page.time_pad]
    extra = window if page.extra_steps else no_update
    return window, window, extra, page.readout(results, step, last)


clientside_callback(
    """
    function(nClicks, nIntervals, value, min, max, disabled) {
        const dc = window.dash_clientside;
        const trigger = (dc.callback_context.triggered[0] || {}).prop_id || "";
        const stride = Math.max(1, Math.round((max - min) / 40));
        if (trigger.startsWith("BUTTON_ID")) {
            if (!disabled) { return [true, dc.no_update, "▶ Play"]; }
            return [false, value >= max ? min : value, "⏸ Pause"];
        }
        if (disabled) { return [dc.no_update, dc.no_update, dc.no_update]; }
        const next = Math.min(max, value + stride);
        return next >= max ? [true, max, "▶ Play"] : [false, next, "⏸ Pause"];
    }
    """.replace("BUTTON_ID", ids.FEEDBACK_PLAY_BUTTON),
    Output(ids.FEEDBACK_PLAY_INTERVAL, "disabled"),
    Output(ids.FEEDBACK_STEP_SLIDER, "value", allow_duplicate=True),
    Output(ids.FEEDBACK_PLAY_BUTTON, "children"),
    Input(ids.FEEDBACK_PLAY_BUTTON, "n_clicks"), Input(ids.FEEDBACK_PLAY_INTERVAL, "n_intervals"),
    State(ids.FEEDBACK_STEP_SLIDER, "value"), State(ids.FEEDBACK_STEP_SLIDER, "min"),
    State(ids.FEEDBACK_STEP_SLIDER, "max"), State(ids.FEEDBACK_PLAY_INTERVAL, "disabled"),
    prevent_initial_call=True,
)
