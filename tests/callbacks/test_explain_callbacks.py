"""Explanations page: its callbacks called as plain functions, and the glue in auditapp.service.explain_jobs."""

from __future__ import annotations

import math
from contextvars import copy_context

import dash
import numpy as np
import pandas as pd
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict

import callbacks.explain as page
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.explain.pairs import explanation_pair_gap
from auditapp.explain.proxies import proxy_sentence
from auditapp.inputs.models import save_skops
from auditapp.service import explain_jobs as jobs
from auditapp.service.store import ArtifactStore
from datasets.hiring import PROXY_FEATURE, generate_hiring, train_hiring_model
from layouts import ids
from tests.callbacks.wiring import use_store

ROWS = 40


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One store for the module: a small hiring table and its skops model, uploaded in one session."""
    root = tmp_path_factory.mktemp("explain")
    store = ArtifactStore(root / "store", redis_url="")
    token = store.new_session()
    frame = generate_hiring(800, seed=3)
    save_skops(train_hiring_model(frame, seed=3), root / "model.skops")
    data = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="applicants.csv")
    model = store.put(token, (root / "model.skops").read_bytes(), kind="model", name="model.skops")
    spec = AuditSpec(target="hired", favorable=1, sensitive=("sex", "ethnicity"), reference={"sex": "male"})
    state = {"dataset": data.id, "model": model.id, "spec": spec.to_dict()}
    return store, token, state, frame


@pytest.fixture
def store(shared, monkeypatch):
    """Every callback module sees the module's store (overrides the conftest's fresh store)."""
    fresh = shared[0]
    use_store(monkeypatch, fresh)
    return fresh


@pytest.fixture
def explained(store, shared):
    """The explanation at ROWS rows per group (computed once, then read from the cache)."""
    _, token, state, _ = shared
    explanation = jobs.explanation_for(store, token, state, rows_per_group=ROWS, seed=0)
    return explanation, {"rows_per_group": ROWS, "seed": 0}, state, token


def _triggered(prop_id, function, *args):
    """Call a callback as Dash would after ``prop_id`` changed (for callbacks that read ctx)."""
    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": None}]))
        return function(*args)

    return copy_context().run(run)


# -- page open and compute ------------------------------------------------------------------------
def test_without_a_model_the_page_says_what_it_needs(store, shared):
    _, token, state, _ = shared
    ready, alert, disabled, _ = page.show_explain_page({**state, "model": None}, 300, None, token)
    assert ready is None and disabled is True
    assert "Upload the model on Data & model: explanations need the model itself" in str(alert)


def test_before_computing_the_page_offers_the_button(store, shared):
    _, token, state, _ = shared
    ready, alert, disabled, status = page.show_explain_page(state, 123, None, token)
    assert (ready, alert, disabled) == (None, None, False)
    assert "Press Compute" in status and "123 rows per group" in status


def test_compute_reports_progress_and_the_page_then_opens_with_the_cached_result(store, shared):
    _, token, state, _ = shared
    steps = []
    ready, alert, status = page.on_compute(steps.append, 1, 30, 4, state, token)
    assert ready == {"rows_per_group": 30, "seed": 4, "run": 1} and alert is None
    values = [value for value, _, _ in steps]
    assert values[0] == 0 and values[-1] == 100 and values == sorted(values)
    assert all(label == f"{value}%" for value, label, _ in steps)
    assert steps[0][2] == "Checking the data against the model…" and steps[-1][2] == "Done"
    assert "30 rows per group and seed 4" in status
    opened, _, disabled, _ = page.show_explain_page(state, 30, 4, token)
    assert opened == {"rows_per_group": 30, "seed": 4} and disabled is False


def test_compute_ignores_the_first_render_and_shows_input_errors(store, shared):
    _, token, state, _ = shared
    assert page.on_compute(lambda _: None, None, 300, None, state, token) == (dash.no_update,) * 3
    ready, alert, _ = page.on_compute(lambda _: None, 1, 5, None, state, token)
    assert ready is None and "between 10 and 20,000, got 5" in str(alert)


# -- the views ------------------------------------------------------------------------------------
def test_a_ready_explanation_fills_every_panel(explained):
    explanation, ready, state, token = explained
    out = page.show_explanation(ready, state, token)
    assert out["results"] == page.SHOWN and set(out) == set(page.EXPLANATION_OUTPUTS)
    assert out["groupings"] == ["sex", "ethnicity", "sex × ethnicity"] and out["grouping"] == "sex"
    assert out["feature"] == PROXY_FEATURE and out["colour"] == "sex"
    assert f"{explanation.sample.n_rows:,} of 800 rows" in out["sample"]
    proxies = {(r["feature"], r["sensitive"]): r for r in out["proxy_rows"]}
    assert proxies[(PROXY_FEATURE, "sex")]["flagged"] is True
    assert PROXY_FEATURE in out["proxy_text"]
    assert [c["field"] for c in out["proxy_columns"]][:2] == ["feature", "sensitive"]
    top = explanation.importance.index[0]
    assert out["importance_text"].startswith(f"{top} moves one person's output the most")


def test_no_explanation_keeps_the_panels_hidden(store, shared):
    _, token, state, _ = shared
    out = page.show_explanation({"rows_per_group": 999, "seed": 9}, state, token)
    assert out["results"] == page.HIDDEN
    assert all(value is dash.no_update for name, value in out.items() if name != "results")
    assert page.show_explanation(None, state, token)["results"] == page.HIDDEN


def test_the_pair_dropdowns_start_with_the_widest_gap(explained):
    _, ready, state, token = explained
    groups, first, same, second = page.on_pair_grouping("sex", ready, state, token)
    assert groups == same == ["female", "male"] and (first, second) == ("female", "male")


def test_any_pair_of_groups_gets_its_waterfall_and_sentence(explained):
    explanation, ready, state, token = explained
    figure, text = page.show_gap("black", "hispanic", "ethnicity", ready, state, token)
    gap = explanation_pair_gap(explanation, grouping="ethnicity", group="black", other="hispanic")
    assert "black" in figure.layout.title.text and "hispanic" in figure.layout.title.text
    assert f"a gap of {gap.total:+.2f}" in text
    waterfall = figure.data[0]
    assert waterfall.showlegend is False
    assert waterfall.y[-1] == pytest.approx(gap.mean_group)
    figure, text = page.show_gap("black", "black", "ethnicity", ready, state, token)
    assert "no gap to explain" in text


def test_the_dependence_plot_carries_row_ids_for_clicks(explained):
    explanation, ready, state, token = explained
    figure, text = page.show_dependence(PROXY_FEATURE, "sex", ready, state, token)
    assert {trace.name for trace in figure.data} == {"female", "male"}
    rows = {int(row[0]) for trace in figure.data for row in trace.customdata}
    assert rows == set(explanation.shap.data.index.tolist())
    assert text.startswith(f"Average push of {PROXY_FEATURE} on the output, by group: female ")


def test_the_local_view_follows_the_typed_row_and_the_clicked_point(explained, shared):
    explanation, ready, state, token = explained
    frame = shared[3]
    figure, text, row, alert = _triggered(f"{ids.EXPLAIN_READY_STORE}.data", page.show_local,
                                          ready, None, None, state, token)
    assert row == explanation.local.row and alert is None
    figure, text, row, alert = _triggered(f"{ids.EXPLAIN_ROW_INPUT}.value", page.show_local,
                                          ready, 17, None, state, token)
    assert row == 17 and text.startswith("Row 17 starts from the average output")
    assert figure.data[0].y[-1] == "row 17"
    output = figure.data[0].x[-1]
    assert output == pytest.approx(explanation.explainer.explain(frame.iloc[[17]]).output[0])
    click = {"points": [{"customdata": [23], "x": 1, "y": 0.2}]}
    _, text, row, _ = _triggered(f"{ids.EXPLAIN_DEPENDENCE_GRAPH}.clickData", page.show_local,
                                 ready, 17, click, state, token)
    assert row == 23 and text.startswith("Row 23 ")


def test_a_row_outside_the_data_shows_the_engines_message(explained):
    _, ready, state, token = explained
    out = _triggered(f"{ids.EXPLAIN_ROW_INPUT}.value", page.show_local, ready, 5000, None, state, token)
    assert out[:3] == (dash.no_update,) * 3
    assert "Row 5000 is not in the dataset" in str(out[3])


def test_by_group_importance_names_the_feature_that_differs_most(explained):
    explanation, ready, state, token = explained
    figure, text = page.show_group_importance("sex", ready, state, token)
    assert {trace.name for trace in figure.data} == {"female", "male"}
    assert f"differs most between groups of sex is {PROXY_FEATURE}" in text


# -- auditapp.service.explain_jobs ------------------------------------------------------------------------
def test_options_check_the_inputs_and_default_the_seed_to_the_audits():
    state = {"dataset": "d", "model": "m", "spec": {"seed": 7}}
    assert jobs.explain_options(300, None, state) == (300, 7)
    assert jobs.explain_options("50", " 3 ", state) == (50, 3)
    with pytest.raises(AuditInputError, match="No dataset yet"):
        jobs.explain_options(300, None, {})
    with pytest.raises(AuditInputError, match="explanations need the model itself"):
        jobs.explain_options(300, None, {"dataset": "d", "model": None})
    with pytest.raises(AuditInputError, match="between 10 and 20,000, got 25,000"):
        jobs.explain_options(25_000, None, state)
    with pytest.raises(AuditInputError, match="rows per group must be a whole number, got '12.5'"):
        jobs.explain_options(12.5, None, state)
    with pytest.raises(AuditInputError, match="seed must be 0 or more, got -1"):
        jobs.explain_options(300, -1, state)


def test_the_cache_is_keyed_by_rows_and_seed_and_never_computes_on_lookup(store, shared, explained):
    _, token, state, _ = shared
    explanation = explained[0]
    assert jobs.cached_explanation(store, token, state, rows_per_group=ROWS, seed=0) is explanation
    assert jobs.cached_explanation(store, token, state, rows_per_group=ROWS, seed=1) is None
    assert jobs.cached_explanation(store, token, state, rows_per_group=ROWS + 1, seed=0) is None
    with pytest.raises(AuditInputError, match="explanations need the model itself"):
        jobs.explanation_for(store, token, {**state, "model": None}, rows_per_group=ROWS, seed=0)


def test_another_session_finds_an_explanation_only_after_asking_for_it(store, shared, explained, monkeypatch):
    _, token, state, frame = shared
    other = store.new_session()
    with pytest.raises(AuditInputError, match="not available in this session"):
        jobs.cached_explanation(store, other, state, rows_per_group=ROWS, seed=0)  # ids alone give nothing
    # The same bytes uploaded by the other session: same ids, but the result is not the other's yet.
    store.put(other, frame.to_csv(index=False).encode(), kind="dataset", name="copy.csv")
    store.put(other, store.path(token, state["model"]).read_bytes(), kind="model", name="copy.skops")
    assert jobs.cached_explanation(store, other, state, rows_per_group=ROWS, seed=0) is None
    monkeypatch.setattr(jobs, "explain_model", lambda *a, **k: pytest.fail("cached by content: not recomputed"))
    assert jobs.explanation_for(store, other, state, rows_per_group=ROWS, seed=0) is explained[0]
    assert jobs.cached_explanation(store, other, state, rows_per_group=ROWS, seed=0) is explained[0]


def test_row_ids_are_read_as_the_index_type():
    assert jobs.row_label(pd.RangeIndex(10), "7") == 7
    assert jobs.row_label(pd.Index(["a1", "b2"]), " b2 ") == "b2"
    assert jobs.row_label(pd.Index(["a1"]), "zz") == "zz"
    with pytest.raises(AuditInputError, match="row id must be a whole number, got 'x'"):
        jobs.row_label(pd.RangeIndex(10), "x")
    with pytest.raises(AuditInputError, match="Type a row id"):
        jobs.row_label(pd.RangeIndex(10), None)


def test_clicked_rows_come_from_customdata():
    assert jobs.clicked_row({"points": [{"customdata": [12]}]}) == 12
    assert jobs.clicked_row({"points": [{"customdata": 5}]}) == 5
    with pytest.raises(AuditInputError, match="carries no row id"):
        jobs.clicked_row({"points": [{"x": 1}]})


def test_sentences_quote_the_explanations_numbers(explained):
    explanation = explained[0]
    gap = explanation.gap("female", grouping=("sex",))
    text = jobs.gap_sentence(gap)
    assert f"{gap.mean_group:+.2f} for female and {gap.mean_reference:+.2f} for male" in text
    assert f"({jobs.probability(gap.mean_group):.0%} against {jobs.probability(gap.mean_reference):.0%}" in text
    share = gap.contributions.iloc[0]["value"] / gap.total
    assert f"The biggest step is {PROXY_FEATURE}" in text and f"{share:.0%} of it on its own" in text
    mean = explanation.attributions.mean_output
    assert f"average output here is {mean:+.2f}, a {jobs.probability(mean):.0%} chance" in \
        jobs.output_sentence(explanation)
    half = (explanation.importance["high"] - explanation.importance["low"]) / 2
    assert f"±{half.max():.3f}" in jobs.sample_sentence(explanation, 800)
    local = explanation.local
    assert f"ends at {local.output:+.2f}" in jobs.local_sentence(local)
    worded = jobs.local_sentence(local, explanation)
    if f"{mean:+.2f}" != f"{local.base_value:+.2f}":
        assert f"Why {local.base_value:+.2f} and not the average output of {mean:+.2f} above" in worded
    else:
        assert "Why" not in worded


def test_only_a_flagged_proxy_is_called_a_stand_in(explained):
    explanation = explained[0]
    gap = explanation.gap("female", grouping=("sex",))
    flagged = jobs.gap_sentence(gap, explanation.proxies)
    assert "It is flagged as a proxy for sex" in flagged and "stand-in for sex" in flagged
    # The same gap led by a feature the proxy check did not flag: no stand-in claim, the AUC says why.
    table = explanation.proxies.features
    other = str(table.loc[(table["sensitive"] == "sex") & ~table["flagged"], "feature"].iloc[0])
    renamed = gap.contributions.rename(index={gap.contributions.index[0]: other})
    from dataclasses import replace

    text = jobs.gap_sentence(replace(gap, contributions=renamed), explanation.proxies)
    assert "stand-in" not in text and "It is not flagged as a proxy for sex" in text


def test_probability_inverts_log_odds():
    assert jobs.probability(0) == 0.5
    assert jobs.probability(math.log(3)) == pytest.approx(0.75)
    assert np.isfinite(jobs.probability(-50))


def test_proxy_sentence_says_when_nothing_is_flagged():
    from auditapp.explain import detect_proxies

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"noise": rng.normal(size=400), "sex": rng.choice(["f", "m"], 400)})
    report = detect_proxies(frame, frame[["sex"]], features=["noise"], combined=False, seed=0)
    assert proxy_sentence(report).startswith("No single feature predicts a sensitive attribute")


def test_gap_sentence_says_when_the_top_step_narrows_and_when_the_gap_is_unclear():
    from auditapp.explain import GapAttribution

    contributions = pd.DataFrame({"value": [0.3, -0.2], "low": [0.1, -0.4], "high": [0.5, 0.0]},
                                 index=pd.Index(["a", "b"], name="feature"))
    gap = GapAttribution(grouping=("sex",), group="f", reference="m", attributes={"sex": "f"},
                         reference_attributes={"sex": "m"}, mean_group=0.1, mean_reference=0.2,
                         total=-0.1, total_low=-0.3, total_high=0.1, contributions=contributions,
                         output_space="probability of the favourable class (1)")
    text = jobs.gap_sentence(gap)
    assert "average output is +0.10 for f and +0.20 for m: a gap of -0.10 [-0.30, +0.10]" in text
    assert "The biggest step is a (+0.30 [+0.10, +0.50]), which narrows the gap." in text
    assert "stand-in" not in text and "chance" not in text
    assert text.endswith("The interval includes 0: with this sample, the two groups' average outputs "
                         "cannot be told apart.")


def test_cancel_says_the_run_was_stopped():
    assert page.on_cancel(None) is dash.no_update
    assert page.on_cancel(1).startswith("Stopped before the end")
