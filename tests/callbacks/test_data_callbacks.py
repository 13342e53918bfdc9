"""Data & model and Group metrics callbacks, called as plain functions."""

from __future__ import annotations

import dash
import numpy as np
import pandas as pd
from dash._callback_context import context_value
from dash._utils import AttributeDict

from callbacks.data import on_load_scenario, on_missing_values, on_upload, show_dataset
from callbacks.data_form import (
    on_run_audit,
    on_use_bins,
    on_use_suggestion,
    show_favorable_values,
    show_readiness,
    show_settings,
    show_suggestions,
)
from callbacks.metrics import show_audit_overview, show_group_rates
from layouts import ids
from tests.builders import component_text


def _run_with_trigger(trigger_id, func, *args):
    """Call a pattern-matching callback as Dash does when ``trigger_id`` was clicked."""
    import json
    from contextvars import copy_context

    key = json.dumps(trigger_id, sort_keys=True, separators=(",", ":"))

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{key}.n_clicks", "value": 1}]))
        return func(*args)

    return copy_context().run(run)


def _csv(n=300, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "label": rng.integers(0, 2, n)})
    frame["score"] = np.clip(0.3 + 0.4 * frame["label"] + rng.normal(0, 0.2, n), 0, 1).round(3)
    return frame.to_csv(index=False).encode()


def _uploaded(store, token):
    info = store.put(token, _csv(), kind="dataset", name="people.csv")
    return {"kind": "dataset", "id": info.id, "name": "people.csv", "notices": []}


def test_a_failed_upload_shows_its_message_and_keeps_the_state(store, token):
    state, alert = on_upload({"kind": "dataset", "name": "x.csv", "error": "x.csv is empty."}, {"a": 1}, token)
    assert state is dash.no_update
    assert "x.csv is empty." in str(alert)


def test_an_uploaded_dataset_has_no_settings_until_the_user_chooses_them(store, token):
    state, alert = on_upload(_uploaded(store, token), None, token)
    assert state["spec"] is None and "300 rows" in str(alert)
    values = show_settings(state, None, token)
    assert [o["value"] for o in values["target_options"]] == ["sex", "label", "score"]
    assert [values[f] for f in ("target", "source", "prediction", "score")] == [None] * 4  # nothing guessed
    assert values["sensitive"] == []
    *_, alert = show_audit_overview(state, token)  # no audit of guessed settings on the other pages
    assert "No audit yet: choose what to audit on the Data & model page and press Run audit" in str(alert)
    disabled, ready, _offers = show_readiness(None, None, None, None, None, None, None, "", state, token)
    assert disabled and "choose the outcome column, where the predictions come from and at least one " \
                       "sensitive feature" in component_text(ready)


def test_suggestions_are_shown_and_used_only_on_a_click(store, token):
    state, _ = on_upload(_uploaded(store, token), None, token)
    target, favorable, source, column, sensitive = show_suggestions(None, None, None, None, None, None, None, "",
                                                                    [], state, token)
    assert "label" in component_text(target) and "sex" in component_text(sensitive) and "A score column" in component_text(source)
    options, value = show_favorable_values("label", None, state, token)
    assert {o["value"] for o in options} == {0, 1} and value is None  # offered, not picked
    assert show_favorable_values("label", "1", state, token)[1] == 1  # the user's choice is kept
    hints = show_suggestions("label", None, "score", None, None, None, ["sex"], "", options, state, token)
    assert "‘1’ reads as the favourable outcome" in component_text(hints[1])
    assert "score" in component_text(hints[3])
    clicked = _run_with_trigger({"type": ids.DATA_SUGGEST_TYPE, "field": "score"}, on_use_suggestion, [1],
                                options, None, state, token)
    assert clicked[4] == "score" and clicked[5] == 0.5 and clicked[0] is dash.no_update


def test_the_form_shows_the_settings_that_ran_and_keeps_a_draft_when_a_model_arrives(store, token):
    state, _ = on_upload(_uploaded(store, token), None, token)
    ran, _ = on_run_audit(1, "label", 1, "score", None, "score", 0.6, None, ["sex"], "", [], [], 30, 0.9, state,
                          token)
    values = show_settings(ran, None, token)
    assert (values["target"], values["source"], values["threshold"], values["confidence"]) == ("label", "score", 0.6, 0.9)
    assert show_favorable_values("label", None, ran, token)[1] == 1  # the favourable value that ran
    assert show_favorable_values("sex", None, ran, token)[1] is None  # not carried to another outcome
    unchanged = show_settings(dict(ran, model_file="x"), values["key"], token)
    assert set(unchanged) == set(values) and all(v is dash.no_update for v in unchanged.values())
    status = show_dataset(ran, token)
    assert "people.csv" in component_text(status["dataset"])


def test_run_audit_validates_and_stores_the_settings(store, token):
    state, _ = on_upload(_uploaded(store, token), None, token)
    _, alert = on_run_audit(1, None, 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 30, 0.95, state,
                            token)
    assert "choose the outcome column" in str(alert)
    _, alert = on_run_audit(1, "label", None, "score", None, "score", 0.5, None, ["sex"], "", [], [], 30, 0.95,
                            state, token)
    assert "favourable value of 'label'" in str(alert)
    _, alert = on_run_audit(1, "label", 1, None, None, None, None, None, ["sex"], "", [], [], 30, 0.95, state, token)
    assert "where the predictions come from" in str(alert)
    _, alert = on_run_audit(1, "score", 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 30, 0.95,
                            state, token)
    assert "'score' cannot be both the outcome and the score column" in str(alert)
    new_state, alert = on_run_audit(1, "label", 1, "score", None, "score", 0.6, None, ["sex"], "", ["f"],
                                    [{"feature": "sex"}], 30, 0.99, state, token)
    assert "Audit ready" in str(alert)
    assert new_state["spec"]["threshold"] == 0.6 and new_state["spec"]["reference"] == {"sex": "f"}
    assert new_state["spec"]["confidence"] == 0.99
    kept, _ = on_run_audit(1, "label", 1, "score", None, "score", 0.6, None, ["sex"], "", [], [], 30, 0.95,
                           dict(state, policy={"name": "p"}), token)
    assert kept["policy"] == {"name": "p"}
    context, summary, options, value, *_ = show_audit_overview(new_state, token)
    assert "300 rows" in context and "99%" in context and value == "sex"
    figure, rows, columns = show_group_rates("sex", ["selection_rate"], new_state, token)
    assert {r["group"] for r in rows} == {"f", "m"}


def test_predictions_that_copy_the_outcome_are_warned_about(store, token):
    frame = pd.DataFrame({"sex": ["f", "m"] * 150, "label": [0, 1, 1] * 100})
    frame["pred"] = frame["label"]
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="copy.csv")
    state, _ = on_upload({"kind": "dataset", "id": info.id, "name": "copy.csv", "notices": []}, None, token)
    disabled, ready, _ = show_readiness("label", 1, "prediction", "pred", None, None, ["sex"], "", state, token)
    assert not disabled and "The predictions equal the outcome 'label' in every rows (100.0%)" in component_text(ready)
    _, alert = on_run_audit(1, "label", 1, "prediction", "pred", None, None, None, ["sex"], "", [], [], 30, 0.95,
                            state, token)
    assert "Audit ready" in component_text(alert) and "every error rate 0" in component_text(alert)


def test_a_numeric_feature_with_many_values_asks_for_bins(store, token):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 400), "label": rng.integers(0, 2, 400),
                          "pred": rng.integers(0, 2, 400)})
    info = store.put(token, frame.to_csv(index=False).encode(), kind="dataset", name="ages.csv")
    state, _ = on_upload({"kind": "dataset", "id": info.id, "name": "ages.csv", "notices": []}, None, token)
    disabled, ready, offers = show_readiness("label", 1, "prediction", "pred", None, None, ["age"], "", state, token)
    assert disabled and "choose bins for 'age'" in component_text(ready)
    assert "Quartiles" in component_text(offers) and "Decades: 10–20, …, 70–80" in component_text(offers)
    text = _run_with_trigger({"type": ids.DATA_BIN_OFFER_TYPE, "feature": "age", "rule": "10,20,30,40,50,60,70,80"},
                             on_use_bins, [1], "income=q4")
    assert text == "income=q4; age=10,20,30,40,50,60,70,80"
    disabled, ready, offers = show_readiness("label", 1, "prediction", "pred", None, None, ["age"], "age=q4",
                                             state, token)
    assert not disabled and offers is None


def test_a_dataset_keeps_a_model_that_fits_and_says_so_when_it_removes_one(store, token):
    from auditapp.service.scenarios import scenario_state

    demo = scenario_state(store, "hiring")
    state, alert = on_upload(_uploaded(store, token), demo, token)
    assert state["model_file"] is None and "Removed the model hiring_model.skops" in component_text(alert)
    assert "lacks 7 of the 7 columns it needs" in component_text(alert)
    hiring = pd.read_csv(store.path(token, demo["dataset"]))
    info = store.put(token, hiring.to_csv(index=False).encode(), kind="dataset", name="copy.csv")
    state, alert = on_upload({"kind": "dataset", "id": info.id, "name": "copy.csv", "notices": []}, demo, token)
    assert state["model_file"] == demo["model"] and "Kept the model hiring_model.skops" in component_text(alert)
    assert state["spec"] is None and state["policy"] == demo["policy"]


def test_a_button_that_was_not_clicked_does_nothing(store, token):
    assert on_load_scenario(None, "hiring", None) == (dash.no_update, dash.no_update)


def test_another_sessions_dataset_is_not_available(store, token):
    state, _ = on_upload(_uploaded(store, token), None, token)
    state, _ = on_run_audit(1, "label", 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 30, 0.95, state,
                            token)
    stranger = store.new_session()
    *_, alert = show_audit_overview(state, stranger)
    assert "not available in this session" in str(alert)


def test_words_read_as_missing_go_into_the_state_the_form_and_the_audit(store, token):
    from auditapp.service import workspace

    data = b"sex,label,score\n" + b"None,1,0.9\nNA,0,0.2\n,1,0.7\nf,0,0.4\n" * 20
    info = store.put(token, data, kind="dataset", name="na.csv")
    state, alert = on_upload({"kind": "dataset", "id": info.id, "name": "na.csv", "notices": []}, None, token)
    first, _ = on_run_audit(1, "label", 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 1, 0.95, state,
                            token)
    groups = workspace.audit_for(store, token, first).result.groupings[0].groups.index
    assert set(groups) == {"None", "NA", "f", "(missing)"}
    new_state, alert = on_missing_values(1, "None", state, token)
    assert new_state["missing_values"] == ["None"]
    assert "Words read as missing: None." in str(alert) and "'None' ×20 (listed as missing)" in str(alert)
    assert show_dataset(new_state, token)["missing"] == "None"
    ran, _ = on_run_audit(1, "label", 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 1, 0.95,
                          new_state, token)
    assert ran["missing_values"] == ["None"]
    groups = workspace.audit_for(store, token, ran).result.groupings[0].groups
    assert set(groups.index) == {"NA", "f", "(missing)"} and groups.loc["(missing)", "count"] == 40
    _, refused = on_missing_values(1, "a,b\x07", state, token)
    assert "control characters" in str(refused)
