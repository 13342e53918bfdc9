"""Data & model and Group metrics callbacks, called as plain functions."""

from __future__ import annotations

import dash
import numpy as np
import pandas as pd

from callbacks.data import (
    on_load_scenario,
    on_missing_values,
    on_run_audit,
    on_upload,
    show_dataset,
    show_favorable_values,
)
from callbacks.metrics import show_audit_overview, show_group_rates


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


def test_an_uploaded_dataset_gets_sensible_defaults(store, token):
    state, alert = on_upload(_uploaded(store, token), None, token)
    spec = state["spec"]
    assert (spec["target"], spec["score"], spec["threshold"], spec["sensitive"]) == ("label", "score", 0.5, ["sex"])
    assert "300 rows" in str(alert)


def test_the_form_shows_the_stored_state(store, token):
    state, _ = on_upload(_uploaded(store, token), None, token)
    outputs = show_dataset(state, token)
    assert "people.csv" in str(outputs[0])
    assert outputs[10] == "label" and outputs[11] == "score" and outputs[16] == ["sex"]
    options, value = show_favorable_values("label", state, token)
    assert {o["value"] for o in options} == {0, 1} and value == 1


def test_run_audit_validates_and_stores_the_settings(store, token):
    state, _ = on_upload(_uploaded(store, token), None, token)
    _, alert = on_run_audit(1, None, 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 30, 100, state, token)
    assert "Choose the outcome (target) column" in str(alert)
    new_state, alert = on_run_audit(1, "label", 1, "score", None, "score", 0.6, None, ["sex"], "", ["f"],
                                    [{"feature": "sex"}], 30, 100, state, token)
    assert "Audit ready" in str(alert)
    assert new_state["spec"]["threshold"] == 0.6 and new_state["spec"]["reference"] == {"sex": "f"}
    kept, _ = on_run_audit(1, "label", 1, "score", None, "score", 0.6, None, ["sex"], "", [], [], 30, 100,
                           dict(state, policy={"name": "p"}), token)
    assert kept["policy"] == {"name": "p"}
    context, summary, options, value, *_ = show_audit_overview(new_state, token)
    assert "300 rows" in context and value == "sex"
    figure, rows, columns = show_group_rates("sex", ["selection_rate"], new_state, token)
    assert {r["group"] for r in rows} == {"f", "m"}


def test_a_button_that_was_not_clicked_does_nothing(store, token):
    assert on_load_scenario(None, "hiring", None) == (dash.no_update, dash.no_update)


def test_another_sessions_dataset_is_not_available(store, token):
    state, _ = on_upload(_uploaded(store, token), None, token)
    stranger = store.new_session()
    *_, alert = show_audit_overview(state, stranger)
    assert "not available in this session" in str(alert)


def test_words_read_as_missing_go_into_the_state_the_form_and_the_audit(store, token):
    from auditapp import workspace

    data = b"sex,label,score\n" + b"None,1,0.9\nNA,0,0.2\n,1,0.7\nf,0,0.4\n" * 20
    info = store.put(token, data, kind="dataset", name="na.csv")
    state, alert = on_upload({"kind": "dataset", "id": info.id, "name": "na.csv", "notices": []}, None, token)
    groups = workspace.audit_for(store, token, state).result.groupings[0].groups.index
    assert set(groups) == {"None", "NA", "f", "(missing)"}
    new_state, alert = on_missing_values(1, "None", state, token)
    assert new_state["missing_values"] == ["None"]
    assert "Words read as missing: None." in str(alert) and "'None' ×20 (listed as missing)" in str(alert)
    assert show_dataset(new_state, token)[-1] == "None"
    ran, _ = on_run_audit(1, "label", 1, "score", None, "score", 0.5, None, ["sex"], "", [], [], 1, 0,
                          new_state, token)
    assert ran["missing_values"] == ["None"]
    groups = workspace.audit_for(store, token, ran).result.groupings[0].groups
    assert set(groups.index) == {"NA", "f", "(missing)"} and groups.loc["(missing)", "count"] == 40
    _, refused = on_missing_values(1, "a,b\x07", state, token)
    assert "control characters" in str(refused)
