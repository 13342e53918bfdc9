"""Policy page and Download report callbacks, called directly on a tiny audit in a real artifact store."""

import base64
import json
import re
from contextvars import copy_context

import numpy as np
import pandas as pd
import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from plotly.utils import PlotlyJSONEncoder

import callbacks.policy as page
import callbacks.report as report
from auditapp.core.spec import AuditSpec
from auditapp.policy.criteria import dump_policy, preset
from auditapp.policy.findings import build_findings
from auditapp.policy.verdicts import evaluate_policy
from auditapp.service import workspace
from auditapp.service.policy_forms import editor_rows
from layouts import ids
from layouts.policy_editor import TITLE_PATH
from tests.builders import component_text


@pytest.fixture(scope="module")
def tiny_csv() -> bytes:
    rng = np.random.default_rng(4)
    n = 600
    group = rng.choice(["a", "b"], n)
    y = rng.binomial(1, 0.5, n)
    pred = rng.binomial(1, np.where(group == "a", 0.6, 0.3))
    return pd.DataFrame({"y": y, "pred": pred, "g": group}).to_csv(index=False).encode()


@pytest.fixture
def session(store, token, tiny_csv):
    """The conftest's store with one uploaded dataset: (store, token, state)."""
    info = store.put(token, tiny_csv, kind="dataset", name="tiny.csv")
    spec = AuditSpec(target="y", sensitive=("g",), prediction="pred", reference={"g": "a"}, n_boot=200, seed=2)
    return store, token, {"dataset": info.id, "model": None, "spec": spec.to_dict()}


def _audit(store, token, state):
    return workspace.audit_for(store, token, state)


def _fields(rows):
    """The editor's controls for ``rows``, as Dash hands them to a callback: values and ids."""
    values, field_ids = [], []
    for row in rows:
        for field in ("name", "metric", "measure", "scope", "at_least", "at_most", "min_group_size", "role",
                      "groupings"):
            values.append(row[field])
            field_ids.append({"type": ids.POLICY_FIELD_TYPE, "row": row["row_id"], "field": field})
    return values, field_ids


def test_editor_opens_with_the_checked_policy():
    policy = preset("equalized-odds")
    rows, name, forms = page.show_policy_editor(ids.POLICY_ROWS_STORE, {"policy": policy.to_dict()})
    assert (rows, name) == (editor_rows(policy), "equalized-odds")
    assert [_row_of(form) for form in forms] == [r["row_id"] for r in rows]  # one form per criterion
    assert page.show_policy_editor(ids.POLICY_ROWS_STORE, {"dataset": "x"}) == ([], "", [])


def _row_of(form) -> str:
    """The row id of a criterion's form (from its Remove button's id)."""
    found = []

    def walk(node):
        if isinstance(getattr(node, "id", None), dict) and node.id.get("type") == ids.POLICY_REMOVE_TYPE:
            found.append(node.id["row"])
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child)
    walk(form)
    assert len(found) == 1
    return found[0]


def _operations(patch) -> list[dict]:
    return patch.to_plotly_json()["operations"]


def test_verdicts_show_the_engines_overall_verdict_and_findings(session):
    store, token, state = session
    policy = preset("four-fifths")
    out = page.show_verdicts(dict(state, policy=policy.to_dict()), token)
    overall, summary, findings, options, chosen, board, described, preset_value, alert, columns = (
        out[name] for name in ("overall", "summary", "findings", "criteria", "criterion", "board", "described",
                               "preset", "alert", "board_columns"))
    evaluation = evaluate_policy(_audit(store, token, state).result, policy)
    expected = build_findings(evaluation, _audit(store, token, state).result, outcome="y = 1")
    assert evaluation.overall == "fail"
    assert "✘ FAIL" in component_text(overall) and expected[0].text in component_text(overall)
    assert [f.text for f in expected[1:]] == [li.children[1] for li in findings]
    assert options == ["four-fifths rule"] and chosen == "four-fifths rule"
    assert [r["verdict"] for r in board] == [v.verdict for v in evaluation.verdicts]
    assert "four-fifths rule" in component_text(summary) and preset_value == "four-fifths"
    assert "Checking: four-fifths" in component_text(described) and alert is no_update
    assert "95% CI" in [c["headerName"] for c in columns]


def test_verdicts_without_a_policy_or_a_dataset_say_what_to_do(session):
    _store, token, state = session
    out = page.show_verdicts(state, token)
    assert "No policy checked yet" in component_text(out["overall"]) and out["alert"] is None
    out = page.show_verdicts({"policy": preset("strict").to_dict()}, token)
    assert "No dataset yet" in component_text(out["alert"]) and "strict" in component_text(out["described"])


def test_choosing_a_preset_checks_it_and_custom_starts_empty_with_nothing_checked():
    rows, name, state, forms = page.on_choose_preset("strict", {"dataset": "d"})
    assert rows == editor_rows(preset("strict")) and name == "strict"
    assert [_row_of(form) for form in forms] == [r["row_id"] for r in rows]
    assert state == {"dataset": "d", "policy": preset("strict").to_dict()}
    assert page.on_choose_preset("strict", state)[2] is no_update
    rows, name, cleared, forms = page.on_choose_preset("custom", state)
    assert rows == [] and name == "" and cleared == {"dataset": "d", "policy": None} and forms == []
    assert page.on_choose_preset(None, {}) == (no_update,) * 4


def test_the_verdict_is_shown_only_while_it_is_the_editors_policy():
    policy = preset("four-fifths")
    rows = editor_rows(policy)
    state = {"dataset": "d", "policy": policy.to_dict()}
    status, notice, style = page.show_editor_status(*_fields(rows)[:1], "four-fifths", rows, state,
                                                    _fields(rows)[1])
    assert "Checked" in component_text(status) and notice is None and style is None
    edited = [dict(rows[0], at_least=0.7)]
    status, notice, style = page.show_editor_status(_fields(edited)[0], "four-fifths", rows, state, _fields(rows)[1])
    assert "Changed since it was checked" in component_text(status) and style == page.HIDDEN
    assert "not the policy that was checked (“four-fifths”)" in component_text(notice)
    status, notice, style = page.show_editor_status([], "", [], {"dataset": "d", "policy": None}, [])
    assert (status, notice, style) == (None, None, None)  # nothing built, nothing checked
    invalid = [dict(rows[0], at_least=None)]
    status, notice, style = page.show_editor_status(_fields(invalid)[0], "x", rows, state, _fields(rows)[1])
    assert "Not valid yet: Row 1" in component_text(status) and style == page.HIDDEN
    status, _notice, style = page.show_editor_status(*_fields(rows)[:1], "mine", rows, {"policy": None},
                                                     _fields(rows)[1])
    assert "Not checked yet" in component_text(status) and style == page.HIDDEN


def test_add_and_remove_criteria_keep_the_edits_and_names_stay_unique():
    rows = editor_rows(preset("four-fifths"))
    values, field_ids = _fields([dict(rows[0], at_least=0.75)])
    added, patch = page.on_add_criterion(1, values, field_ids, rows)
    assert [r["row_id"] for r in added] == ["1", "2"] and added[0]["at_least"] == 0.75
    # The new form is appended; the forms on screen are left alone (a value being typed there survives).
    (append,) = _operations(patch)
    assert append["operation"] == "Append" and _row_of(append["params"]["value"]) == "2"
    added, _patch = page.on_add_criterion(1, *_fields(added), added)
    assert page.on_add_criterion(None, values, field_ids, rows) == (no_update, no_update)
    state, name, alert = page.on_check_policy(1, *_fields(added), added, "", {"dataset": "d"})
    names = [c["name"] for c in state["policy"]["criteria"]]
    assert names == ["four-fifths rule", "selection_rate ratio vs highest group",
                     "selection_rate ratio vs highest group (2)"] and alert is None
    kept, patch = _run_with_trigger({"type": ids.POLICY_REMOVE_TYPE, "row": "2"}, page.on_remove_criterion,
                                    [None, 1, None], *_fields(added), added)
    assert [r["row_id"] for r in kept] == ["1", "3"]
    # Only its form goes, and the form after it is renumbered (its title only: its controls are left alone).
    assert _operations(patch) == [
        {"operation": "Delete", "location": [1], "params": {}},
        {"operation": "Assign", "location": [1, *TITLE_PATH], "params": {"value": "Criterion 2"}}]
    form = page.criterion_form(added[2], 2).to_plotly_json()
    assert json.loads(json.dumps(form, cls=PlotlyJSONEncoder))["props"]["children"][0]["props"]["children"][0][
        "props"]["children"] == "Criterion 2"  # the path the patch writes is the title's


def test_check_policy_stores_a_valid_policy_and_explains_an_invalid_one():
    rows = editor_rows(preset("four-fifths"))
    rows[0]["at_least"] = 0.3
    state, name, alert = page.on_check_policy(1, *_fields(rows), rows, "four-fifths", {"dataset": "d"})
    assert name == "four-fifths (edited)" and state["policy"]["criteria"][0]["at_least"] == 0.3
    rows[0]["at_least"] = "lots"
    state, name, alert = page.on_check_policy(1, *_fields(rows), rows, "x", {"dataset": "d"})
    assert state is no_update and "Row 1 ('four-fifths rule'): 'at_least' must be a number, got 'lots'" in component_text(alert)
    cleared = [dict(rows[0], at_least=None, at_most=1.2)]  # a bound emptied, another given
    state, _name, alert = page.on_check_policy(1, *_fields(cleared), cleared, "x", {"dataset": "d"})
    assert state["policy"]["criteria"][0]["at_least"] is None and state["policy"]["criteria"][0]["at_most"] == 1.2


def test_upload_policy_loads_valid_files_and_reports_invalid_ones():
    contents = "data:;base64," + base64.b64encode(dump_policy(preset("ratio-band")).encode()).decode()
    rows, name, state, alert, forms = page.on_upload_policy(contents, "band.yaml", {"dataset": "d"})
    assert len(rows) == 6 and name == "ratio-band" and state["policy"] == preset("ratio-band").to_dict()
    assert [_row_of(form) for form in forms] == [r["row_id"] for r in rows]
    assert "Loaded the policy “ratio-band” from band.yaml" in component_text(alert)
    bad = "data:;base64," + base64.b64encode(b'{"name": "p", "criteria": []}').decode()
    rows, name, state, alert, forms = page.on_upload_policy(bad, "p.json", {})
    assert state is no_update and forms is no_update and "p.json: The policy's 'criteria' must be a non-empty list" in component_text(alert)


def _run_with_trigger(trigger_id, func, *args):
    key = json.dumps(trigger_id, sort_keys=True, separators=(",", ":")) if isinstance(trigger_id, dict) \
        else trigger_id

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": f"{key}.n_clicks", "value": 1}]))
        return func(*args)

    return copy_context().run(run)


def test_save_policy_downloads_yaml_or_json_of_the_editor():
    rows = editor_rows(preset("equalized-odds"))
    sent, alert = _run_with_trigger(ids.POLICY_SAVE_JSON_BUTTON, page.on_save_policy, None, 1, *_fields(rows), rows,
                                    "gate")
    assert sent["filename"] == "gate.json" and alert is None
    assert json.loads(sent["content"])["criteria"][1]["metric"] == "false_positive_rate"
    sent, _alert = _run_with_trigger(ids.POLICY_SAVE_YAML_BUTTON, page.on_save_policy, 1, None, *_fields(rows), rows,
                                     "")
    assert sent["filename"] == "custom-policy.yaml" and "name: custom policy" in sent["content"]
    sent, alert = _run_with_trigger(ids.POLICY_SAVE_YAML_BUTTON, page.on_save_policy, 1, None, [], [], [], "")
    assert sent is no_update and "has no criteria" in component_text(alert)


def test_download_report_holds_the_audit_numbers_and_the_checked_policy(session):
    store, token, state = session
    state = dict(state, policy=preset("four-fifths").to_dict())
    sent, alert = report.on_download_report(1, state, token)
    assert sent["filename"] == "auditapp-report.html" and alert is None
    html_text = sent["content"]
    groups = _audit(store, token, state).result.grouping("g").groups
    for label in ("a", "b"):
        assert f"{100 * groups.loc[label, 'selection_rate']:.1f}%" in html_text
    record = json.loads(re.search(r'id="audit-record">(.*?)</script>', html_text, re.S).group(1))
    assert record["dataset"]["sha256"] == store.info(token, state["dataset"]).sha256
    assert record["dataset"]["name"] == "tiny.csv" and record["model"] is None
    assert record["policy"]["name"] == "four-fifths" and record["verdicts"]["overall"] == "fail"


def test_download_report_without_a_dataset_explains_why(session):
    _store, token, _state = session
    sent, alert = report.on_download_report(1, {}, token)
    assert sent is no_update and "No dataset yet" in component_text(alert)
    assert report.on_download_report(None, {}, token) == (no_update, no_update)
