"""A page drawn with its layout shows what its callbacks would show, only from the cache, only to its session."""

from __future__ import annotations

import json
from contextvars import copy_context

import numpy as np
import pandas as pd
import plotly.io as pio
from dash import dcc, html
from dash._callback_context import context_value
from dash._utils import AttributeDict

from auditapp.service import workspace
from callbacks import metrics, thresholds
from callbacks.data_form import on_run_audit
from callbacks.first_view import already_drawn, drawn_page, hydrate, state_digest
from layouts import defaults, ids


def _audited(store, token, *, confidence=0.95):
    """A 300-row upload with scores, audited through the Data page's callback (so its audit is cached)."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"sex": rng.choice(["f", "m"], 300), "label": rng.integers(0, 2, 300)})
    frame["score"] = np.clip(0.3 + 0.4 * frame["label"] + rng.normal(0, 0.2, 300), 0, 1).round(3)
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="people.csv")
    state = {"dataset": info.id, "model": None, "spec": None}
    new_state, alert = on_run_audit(1, "label", 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 30,
                                    confidence, state, token)
    assert "Audit ready" in str(alert)
    return new_state


def _json(value):
    return json.loads(pio.to_json(value)) if hasattr(value, "to_plotly_json") else value


def test_the_group_metrics_page_is_drawn_as_its_callbacks_draw_it(store, token):
    state = _audited(store, token)
    drawn = metrics.first_view(token, state)
    context, summary, options, grouping, heatmap_style, alert = metrics.show_audit_overview(state, token)
    assert drawn[ids.METRICS_CONTEXT]["children"] == context and "300 rows" in context
    assert str(drawn[ids.METRICS_SUMMARY]["children"]) == str(summary)
    assert drawn[ids.METRICS_GROUPING_DROPDOWN] == {"options": options, "value": grouping}
    bars, rows, columns = metrics.show_group_rates(grouping, defaults.METRICS_CHARTED, state, token)
    assert _json(drawn[ids.METRICS_BAR_GRAPH]["figure"]) == _json(bars)
    assert drawn[ids.METRICS_TABLE] == {"rowData": rows, "columnDefs": columns}
    ratio = metrics.show_disparity(grouping, defaults.METRICS_DISPARITY, defaults.METRICS_DISPARITY_KIND, state,
                                   token)
    assert _json(drawn[ids.METRICS_DISPARITY_GRAPH]["figure"]) == _json(ratio)


def test_the_threshold_explorer_is_drawn_as_its_callbacks_draw_it(store, token):
    state = _audited(store, token)
    drawn = thresholds.first_view(token, state)
    options, grouping, start, _ = thresholds.show_threshold_page(state, token)
    roc, curves, rows, columns, value, ready, calibration = thresholds.show_threshold_curves(
        grouping, state, start, token)
    assert drawn[ids.THRESHOLD_GROUPING_DROPDOWN] == {"options": options, "value": grouping}
    assert drawn[ids.THRESHOLD_SLIDER] == {"value": start}
    assert _json(drawn[ids.THRESHOLD_ROC_GRAPH]["figure"]) == _json(roc)
    assert _json(drawn[ids.THRESHOLD_CURVES_GRAPH]["figure"]) == _json(curves)
    assert _json(drawn[ids.THRESHOLD_CALIBRATION_GRAPH]["figure"]) == _json(calibration)
    assert drawn[ids.THRESHOLD_TABLE] == {"rowData": rows, "columnDefs": columns}
    assert drawn[ids.THRESHOLD_VALUE_TEXT] == {"children": value} and drawn[ids.THRESHOLD_READY_STORE]["data"] == ready


def test_a_page_is_drawn_only_from_the_cache_and_only_for_its_own_session(store, token):
    state = _audited(store, token)
    other = dict(state, spec=dict(state["spec"], confidence=0.9))  # an audit nobody asked for yet
    assert metrics.first_view(token, other) is None and thresholds.first_view(token, other) is None
    assert store.peek(("audit", *workspace.state_key(store, token, other))) is None  # drawing computed nothing
    stranger = store.new_session()
    assert metrics.first_view(stranger, state) is None  # another browser cannot see this upload's audit
    assert metrics.first_view(token, {"dataset": None}) is None


def test_a_drawn_page_carries_the_digest_of_its_state_and_an_undrawn_one_none(store, token):
    state = _audited(store, token)
    layout = lambda **_: html.Div([dcc.Graph(id=ids.METRICS_BAR_GRAPH), html.P(id=ids.METRICS_CONTEXT)])  # noqa: E731
    drawn = drawn_page("/", layout, token, state, {})
    marker = drawn.children[-1]
    assert marker.id == ids.FIRST_VIEW and marker.data == state_digest(state)
    graph = drawn.children[0].children[0]
    assert graph.figure is not None and "300 rows" in drawn.children[0].children[1].children
    undrawn = drawn_page("/", layout, token, dict(state, spec=dict(state["spec"], confidence=0.9)), {})
    assert undrawn.children[-1].data is None and getattr(undrawn.children[0].children[0], "figure", None) is None


def test_hydrate_sets_props_by_id_anywhere_in_the_tree():
    tree = html.Div([html.Div(html.Span(id="deep")), [html.P(id="in-a-list")]])
    assert hydrate(tree, {"deep": {"children": "x"}, "in-a-list": {"children": "y"}, "absent": {"x": 1}}) == 2
    assert tree.children[0].children.children == "x" and tree.children[1][0].children == "y"


def test_a_callback_skips_only_its_first_call_on_a_page_drawn_for_its_state():
    state = {"dataset": "d", "spec": {"target": "y"}}

    def call(triggered):
        def run():
            context_value.set(AttributeDict(triggered_inputs=triggered))
            return already_drawn(state, state_digest(state))
        return copy_context().run(run)

    assert call([]) is True  # the first call, nothing triggered it: the page on screen is this state's
    assert call([{"prop_id": f"{ids.STATE_STORE}.data", "value": state}]) is False  # the browser's state changed
    assert already_drawn(state, None) is False  # the page was not drawn: its callbacks draw it
    assert already_drawn(dict(state, dataset="e"), state_digest(state)) is False  # drawn for another state
