"""Feedback loops page: control parsing and run planning (auditapp.service.feedback_presets) and the callbacks."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from dash import Patch, no_update

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.feedback.learners import DEFAULT_LEARNER
from auditapp.feedback.runner import run_simulation
from auditapp.inputs.models import from_estimator
from auditapp.service import feedback_pages as pages
from auditapp.service import feedback_presets as presets
from auditapp.service.store import ArtifactStore
from callbacks import feedback
from layouts import ids
from tests.callbacks.wiring import use_store


def _defaults(scenario: str, **changes) -> dict:
    raw = {c.name: c.default for c in presets.CONTROLS[scenario]}
    raw["seed"] = 0
    raw.update(changes)
    return raw


def _page(scenario: str, **changes):
    """Control ids and values as the page sends them (every scenario's controls, plus the seed)."""
    names, values = [], []
    for name, controls in presets.CONTROLS.items():
        for control in controls:
            names.append({"type": ids.FEEDBACK_CONTROL, "name": f"{name}:{control.name}"})
            values.append(changes.get(control.name, control.default) if name == scenario else control.default)
    names.append({"type": ids.FEEDBACK_CONTROL, "name": "seed"})
    values.append(changes.get("seed", 0))
    return values, names


@pytest.fixture
def store(tmp_path, monkeypatch):
    store = ArtifactStore(tmp_path / "store")
    use_store(monkeypatch, store)
    return store


@pytest.fixture
def hiring_state(store):
    """A small hiring table in the store, audited on sex, without a model."""
    from datasets.hiring import generate_hiring

    token = store.new_session()
    frame = generate_hiring(400, seed=1)
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="hiring.csv")
    spec = AuditSpec(target="hired", favorable=1, sensitive=("sex", "ethnicity"))
    return token, {"dataset": info.id, "model": None, "spec": spec.to_dict()}, frame


# -- presets: controls -------------------------------------------------------------------------------

def test_defaults_parse_to_the_controls_defaults_for_every_scenario():
    for scenario in ("policing", "lending"):
        values = presets.read_controls(scenario, _defaults(scenario))
        assert values == {**{c.name: c.default for c in presets.CONTROLS[scenario]}, "seed": 0}
    values = presets.read_controls("model-loop", _defaults("model-loop", sensitive="sex"))
    assert values["raise_feature"] is None and values["rounds"] == 20 and isinstance(values["rounds"], int)


def test_numbers_typed_as_text_are_converted():
    values = presets.read_controls("policing", _defaults("policing", steps="300", rate_a="4.5"))
    assert values["steps"] == 300 and isinstance(values["steps"], int)
    assert values["rate_a"] == 4.5


def test_empty_control_is_named_with_its_default():
    with pytest.raises(AuditInputError, match=r"'Days per run' is empty\. Fill it in \(the default is 20000\)"):
        presets.read_controls("policing", _defaults("policing", steps=None))


def test_empty_sensitive_choice_is_refused():
    with pytest.raises(AuditInputError, match="'Compare groups of' is empty"):
        presets.read_controls("model-loop", _defaults("model-loop"))


def test_text_that_is_not_a_number_is_refused():
    with pytest.raises(AuditInputError, match="'Independent runs' must be a whole number, got 'many'"):
        presets.read_controls("policing", _defaults("policing", runs="many"))


def test_out_of_range_value_is_refused_with_the_range():
    with pytest.raises(AuditInputError, match=r"'Exploration rate' must be between 0 and 1, got 1\.5"):
        presets.read_controls("model-loop", _defaults("model-loop", sensitive="sex", exploration=1.5))


def test_fractional_count_is_refused():
    with pytest.raises(AuditInputError, match="'Rounds of lending' must be a whole number, got '2.5'"):
        presets.read_controls("lending", _defaults("lending", steps=2.5))


def test_unknown_scenario_is_refused():
    with pytest.raises(AuditInputError, match="Unknown scenario 'weather'"):
        presets.read_controls("weather", {})


def test_page_values_keep_the_scenario_and_shared_controls_only():
    values, names = _page("lending", steps=3, seed=7)
    raw = presets.page_values("lending", [n["name"] for n in names], values)
    assert set(raw) == {c.name for c in presets.CONTROLS["lending"]} | {"seed"}
    assert raw["steps"] == 3 and raw["seed"] == 7


# -- presets: runs -----------------------------------------------------------------------------------

def test_policing_sides_differ_only_in_the_correction():
    left, right = presets.policing_params(presets.read_controls("policing", _defaults("policing", steps=50)))
    assert (left.corrected, right.corrected) == (False, True)
    assert dataclasses.replace(left, corrected=True) == right
    assert left.rates == (3.69, 2.82) and left.steps == 50


def test_lending_needs_two_different_policies():
    values = presets.read_controls("lending", _defaults("lending", policy_right="max_profit"))
    with pytest.raises(AuditInputError, match="Choose two different policies"):
        presets.lending_params(values)


def test_lending_sides_share_everything_but_the_policy():
    values = presets.read_controls("lending", _defaults("lending", default_change=-250, steps=4))
    left, right = presets.lending_params(values)
    assert (left.policy, right.policy) == ("max_profit", "demographic_parity")
    assert left.default_change == right.default_change == -250 and left.steps == right.steps == 4
    assert pages.side_titles("lending", values) == ("Policy 1: maximum profit", "Policy 2: demographic parity")


def test_run_key_separates_settings_and_seeds_and_is_json():
    left, right = presets.policing_params(presets.read_controls("policing", _defaults("policing")))
    key = presets.run_key("policing", left, 0)
    assert json.loads(json.dumps(key)) == key
    assert key == presets.run_key("policing", dataclasses.replace(left), 0)
    assert key != presets.run_key("policing", right, 0)
    assert key != presets.run_key("policing", left, 1)


def test_model_loop_key_names_the_data_not_its_content(hiring_state):
    _token, _state, frame = hiring_state
    values = presets.read_controls("model-loop", _defaults("model-loop", sensitive="sex"))
    setup = presets.loop_setup(frame, exclude=("hired", "sex", "ethnicity"))
    params = presets.model_loop_params(values, setup, frame, target="hired", favorable=1)
    key = presets.run_key("model-loop", params, 3, data_key=("sha-data", None))
    assert key[-2:] == ["sha-data", "None"] and key[3] == 3
    assert "DataFrame" in key[2] and "applicant_id" not in key[2]
    assert key != presets.run_key("model-loop", params, 3, data_key=("other-data", None))


def test_split_progress_reports_the_overall_fraction():
    seen = []
    presets.split_progress(seen.append, 1, 2)(0.5)
    presets.split_progress(seen.append, 0, 2)(2.0)
    assert seen == [0.75, 0.5]


# -- presets: the model loop's learner ----------------------------------------------------------------

def test_without_a_model_the_default_learner_is_named_and_identifiers_are_left_out(hiring_state):
    _token, _state, frame = hiring_state
    setup = presets.loop_setup(frame, exclude=("hired", "sex", "ethnicity"))
    assert setup.estimator is None and DEFAULT_LEARNER in setup.note
    assert "applicant_id" not in setup.features
    assert not {"hired", "sex", "ethnicity"} & set(setup.features)
    assert "years_experience" in setup.numeric_features and "education" not in setup.numeric_features


def test_a_refittable_model_is_used_with_its_own_features(hiring_state):
    from datasets.hiring import HIRING_FEATURES, train_hiring_model

    _token, _state, frame = hiring_state
    model = from_estimator(train_hiring_model(frame, seed=0), name="screen")
    setup = presets.loop_setup(frame, exclude=("hired",), model=model)
    assert setup.estimator is model.estimator and setup.features == HIRING_FEATURES
    assert "retrained each round" in setup.note

    frozen = dataclasses.replace(model, can_refit=False, estimator=None, format="onnx")
    setup = presets.loop_setup(frame, exclude=("hired",), model=frozen)
    assert setup.estimator is None and setup.features == HIRING_FEATURES
    assert "cannot be retrained" in setup.note and DEFAULT_LEARNER in setup.note


def test_no_feature_left_is_refused():
    frame = pd.DataFrame({"id": [1, 2, 3], "y": [0, 1, 0], "group": ["a", "b", "a"]})
    with pytest.raises(AuditInputError, match="No column is left for the model to learn from"):
        presets.loop_features(frame, exclude=("y", "group"))


def test_sensitive_column_must_be_in_the_dataset(hiring_state):
    _token, _state, frame = hiring_state
    values = presets.read_controls("model-loop", _defaults("model-loop", sensitive="religion"))
    setup = presets.loop_setup(frame, exclude=("hired",))
    with pytest.raises(AuditInputError, match="'religion' is not in the dataset"):
        presets.model_loop_params(values, setup, frame, target="hired", favorable=1)


# -- presets: sentences computed from results ---------------------------------------------------------

def test_policing_comparison_and_readout_quote_the_results():
    left, right = presets.policing_params(presets.read_controls("policing", _defaults("policing", steps=200, runs=5)))
    results = [run_simulation("policing", p, seed=2) for p in (left, right)]
    lines = pages.comparison("policing", results)
    assert f"{results[0].summary['final_mean_share'][0]:.1%} of patrols without the correction" in lines[0]
    assert f"{results[1].summary['final_mean_share'][0]:.1%} with it" in lines[0]
    share = results[1].series_wide("mean_share").loc[50, "A"]
    text = pages.step_readout("policing", results, 50)
    assert text.startswith("Day 50 of 200") and f"with it A {share:.1%}" in text
    assert pages.step_readout("policing", results, 10_000).startswith("Day 200 of 200")


def test_lending_comparison_and_readout_quote_the_results():
    pair = presets.lending_params(presets.read_controls("lending", _defaults("lending", steps=3)))
    results = [run_simulation("lending", p) for p in pair]
    lines = pages.comparison("lending", results)
    group_b = results[1].summary["groups"][1]
    assert lines[1].startswith("Group B") and f"demographic parity lends to {group_b['selection_rate']:.1%}" in lines[1]
    score = results[0].series_wide("mean_score").loc[2, "A"]
    assert f"under maximum profit: A {score:.0f}" in pages.step_readout("lending", results, 2)
    assert pages.time_range("lending", results[0].params) == (0, 3)


# -- callbacks ----------------------------------------------------------------------------------------

def test_scenario_choice_shows_its_panel_only():
    panels = [{"type": ids.FEEDBACK_PANEL, "scenario": s} for s in presets.CONTROLS]
    panel_styles, lesson_styles = feedback.show_scenario("lending", panels)
    assert lesson_styles == [feedback.HIDDEN, None, feedback.HIDDEN]
    # Hidden panels keep their width (sliders lay out their number boxes), but take no room and no focus.
    assert panel_styles == [feedback.PANEL_HIDDEN, None, feedback.PANEL_HIDDEN]
    assert feedback.PANEL_HIDDEN["visibility"] == "hidden" and feedback.PANEL_HIDDEN["height"] == 0


def test_run_policing_caches_both_sides_and_shows_them(store, token, monkeypatch):
    progress = []
    values, names = _page("policing", steps=120, runs=4)
    run, alert = feedback.on_run(progress.append, 1, "policing", values, names, None, token)
    assert alert is None and len(run["keys"]) == 2 and progress[-1] == (100, "100%")
    assert run["titles"] == presets.SIDE_TITLES["policing"]

    def refuse(*_args, **_kwargs):
        raise AssertionError("the second run should come from the cache")

    monkeypatch.setattr(feedback, "run_simulation", refuse)
    again, _ = feedback.on_run(progress.append, 2, "policing", values, names, None, token)
    assert again == run

    out = feedback.show_results(run, "policing", token)
    assert out["results"] is None and out["left"].layout.title.text.startswith("Where patrols go")
    assert out["left_extra"] == feedback.HIDDEN and (out["step_min"], out["step_max"], out["step"]) == (1, 120, 120)
    assert any("without the correction" in li.children for li in out["summary"])
    assert feedback.show_results(run, "lending", token)["results"] == feedback.HIDDEN

    left, right, extra, text = feedback.on_step(60, run, token)
    assert isinstance(left, Patch) and extra is no_update and text.startswith("Day 60 of 120")


def test_run_reports_bad_settings_without_running(store):
    values, names = _page("lending", policy_right="max_profit")
    run, alert = feedback.on_run(lambda _p: None, 1, "lending", values, names, None, None)
    assert run is no_update and "Choose two different policies" in str(alert)


def test_run_ignores_the_first_render():
    assert feedback.on_run(lambda _p: None, None, "policing", [], [], None, None) == (no_update, no_update)


def test_model_loop_runs_on_the_current_dataset_with_the_default_learner(store, hiring_state):
    token, state, _frame = hiring_state
    context, options, value, raise_options, outcomes, outcome = feedback.show_loop_context(state, token)
    assert options == ["sex", "ethnicity"] and value == "sex" and "years_experience" in raise_options
    assert outcomes == ["hired"] and outcome == "hired"  # an uploaded table: the audit's own outcome
    assert DEFAULT_LEARNER in context[-1]
    values, names = _page("model-loop", sensitive="sex", rounds=2, pool_size=80)
    run, alert = feedback.on_run(lambda _p: None, 1, "model-loop", values, names, state, token)
    assert alert is None and len(run["keys"]) == 1 and DEFAULT_LEARNER in run["note"]
    out = feedback.show_results(run, "model-loop", token)
    assert run["note"] == out["summary"][0].children
    assert out["left_extra"] is None and out["right_extra"] == feedback.HIDDEN and out["right_story"] == []
    assert feedback.on_step(2, run, token)[2] is not no_update


def test_model_loop_without_data_says_where_to_get_it(store):
    values, names = _page("model-loop", sensitive="sex")
    run, alert = feedback.on_run(lambda _p: None, 1, "model-loop", values, names, None, None)
    assert run is no_update and "needs data" in str(alert)
    assert "No dataset yet" in feedback.show_loop_context(None, None)[0].children


def test_results_only_load_simulations(store, token):
    store.cached(("audit", "x"), lambda: {"secret": 1}, token=token)
    with pytest.raises(AuditInputError, match="not a simulation"):
        feedback.load_results({"scenario": "policing", "keys": [["audit", "x"]]}, token)
    with pytest.raises(AuditInputError, match="no longer in the cache"):
        feedback.load_results({"scenario": "policing", "keys": [["feedback", "policing", "{}", 0]]}, token)


def test_another_session_cannot_replay_a_model_loop_run_by_its_key(store, hiring_state):
    """The key of a run (dataset and model hashes, settings) is printed in reports: it is not a password."""
    token, state, _frame = hiring_state
    values, names = _page("model-loop", sensitive="sex", rounds=2, pool_size=80)
    run, _ = feedback.on_run(lambda _p: None, 1, "model-loop", values, names, state, token)
    assert feedback.show_results(run, "model-loop", token)["results"] is None
    other = store.new_session()
    with pytest.raises(AuditInputError, match="another session"):
        feedback.load_results(run, other)
    shown = feedback.show_results(run, "model-loop", other)
    assert shown["results"] == feedback.HIDDEN and "another session" in shown["summary"][0].children
    assert feedback.on_step(2, run, other)[:3] == (no_update, no_update, no_update)



def test_a_session_that_runs_the_same_simulation_gets_it_from_the_cache(store, monkeypatch):
    first, second = store.new_session(), store.new_session()
    values, names = _page("policing", steps=30, runs=2)
    run, _ = feedback.on_run(lambda _p: None, 1, "policing", values, names, None, first)
    with pytest.raises(AuditInputError, match="another session"):
        feedback.load_results(run, second)

    def refuse(*_args, **_kwargs):
        raise AssertionError("cached by content: the second session's run is not computed again")

    monkeypatch.setattr(feedback, "run_simulation", refuse)
    again, _ = feedback.on_run(lambda _p: None, 1, "policing", values, names, None, second)
    assert again["keys"] == run["keys"] and feedback.show_results(again, "policing", second)["results"] is None


def test_every_scenario_the_page_offers_is_one_registry_entry_and_the_callbacks_never_name_one():
    from pathlib import Path

    assert set(pages.SCENARIO_PAGES) == set(presets.CONTROLS) == set(presets.SCENARIO_LABELS)
    with pytest.raises(AuditInputError, match="Unknown scenario 'x'"):
        pages.scenario_page("x")
    source = Path(feedback.__file__).read_text(encoding="utf-8")
    for name in pages.SCENARIO_PAGES:
        assert f'scenario == "{name}"' not in source and f'== "{name}"' not in source
