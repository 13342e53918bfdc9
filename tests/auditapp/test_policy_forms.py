"""Policy page plain data: editor rows ⇄ Policy, uploaded files, verdict board rows, and report_for."""

import base64
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.policy.criteria import PRESETS, Criterion, Policy, dump_policy, preset
from auditapp.policy.findings import build_findings
from auditapp.policy.verdicts import evaluate_policy
from auditapp.reporting.report import report_for
from auditapp.service.policy_forms import (
    blank_row,
    board_rows,
    bound_in_units,
    criterion_rows,
    editor_rows,
    policy_file,
    policy_from_rows,
    policy_from_upload,
    rows_from_fields,
    same_policy,
    stored_policy,
    verdict_mark,
)


def _upload(text: str) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(text.encode()).decode()


def _row(**fields):
    row = {"row_id": "1", "name": "", "metric": "selection_rate", "measure": "ratio", "scope": "vs_best",
           "at_least": 0.8, "at_most": None, "min_group_size": 30, "role": "required", "groupings": "all"}
    row.update(fields)
    return row


@pytest.fixture(scope="module")
def audit():
    """Group a: 200 rows, half selected; group b: 200 rows, a quarter selected; c: 10 rows."""
    y_pred = np.r_[np.repeat([1, 0], 100), np.repeat([1, 0], [50, 150]), np.repeat([1, 0], 5)]
    y_true = np.r_[np.tile([1, 0], 100), np.tile([1, 0], 100), np.tile([1, 0], 5)]
    group = ["a"] * 200 + ["b"] * 200 + ["c"] * 10
    frame = pd.DataFrame({"y": y_true, "pred": y_pred, "g": group})
    spec = AuditSpec(target="y", sensitive=("g",), prediction="pred", reference={"g": "a"}, n_boot=200,
                     min_group_size=5, seed=1)
    return run_audit(frame, spec)


@pytest.mark.parametrize("name", PRESETS)
def test_unchanged_preset_rows_give_the_preset_back(name):
    rows = editor_rows(preset(name))
    assert [r["row_id"] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    assert policy_from_rows(rows, name=name) == preset(name)


def test_edited_preset_is_renamed_so_reports_never_show_it_under_the_preset_name():
    rows = editor_rows(preset("four-fifths"))
    rows[0]["at_least"] = 0.5
    policy = policy_from_rows(rows, name="four-fifths")
    assert policy.name == "four-fifths (edited)"
    assert policy.criteria[0].at_least == 0.5
    assert "four-fifths" in policy.description


def test_rows_accept_typed_text_and_empty_cells():
    rows = [_row(name="gap", measure="difference", scope="spread", at_least="", at_most=" 0.1 ",
                 min_group_size="50", role="monitored", groupings="single")]
    policy = policy_from_rows(rows, name="  ")
    c = policy.criteria[0]
    assert policy.name == "custom policy"
    assert (c.at_least, c.at_most, c.min_group_size, c.required, c.groupings) == (None, 0.1, 50, False, "single")


def test_blank_row_is_the_four_fifths_check_with_a_new_id():
    row = blank_row([{"row_id": "3"}, {"row_id": "7"}])
    assert row["row_id"] == "8"
    criterion = policy_from_rows([row]).criteria[0]
    assert criterion == Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=0.8)


@pytest.mark.parametrize(("rows", "message"), [
    ([], "has no criteria. Press “Add criterion”"),
    ([_row(at_least="abc")], r"Row 1: 'at_least' must be a number, got 'abc'"),
    ([_row(at_most="0,8")], r"Row 1: 'at_most' must be a number written with a dot, got '0,8'. Type 0.8"),
    ([_row(at_most="nan")], r"Row 1: 'at_most' must be a number, got 'nan'"),
    ([_row(min_group_size=2.5)], r"'min_group_size' must be a whole number, got '2.5'"),
    ([_row(metric="selection")], r"Row 1: 'metric' is 'selection'; choose one of selection_rate"),
    ([_row(role="maybe")], r"'role' is 'maybe'; choose one of required, monitored"),
    ([_row(name="x", measure="rate")], r"Row 1 \('x'\): .*measure 'rate' with scope 'vs_best'"),
    ([_row(), _row(at_least=None)], r"Row 2: .*has no bound"),
    ([_row(name="same"), _row(name="same", at_least=0.9)], r"Rows 1 and 2 are both named 'same'"),
])
def test_invalid_rows_name_the_row_and_field(rows, message):
    with pytest.raises(AuditInputError, match=message):
        policy_from_rows(rows, name="p")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_saved_policy_file_loads_back(fmt):
    policy = policy_from_rows(editor_rows(preset("strict"))[:2] + [_row(name="extra", at_least=0.7)], name="my gate")
    text, filename = policy_file(policy, format=fmt)
    assert filename == f"my-gate.{fmt}"
    assert policy_from_upload(_upload(text), filename) == policy


def test_upload_of_a_preset_file_gives_the_preset():
    assert policy_from_upload(_upload(dump_policy(preset("ratio-band"))), "band.yml") == preset("ratio-band")


@pytest.mark.parametrize(("contents", "filename", "message"), [
    (_upload("name: x"), "policy.txt", r"'policy.txt' is not a policy file: its extension is '.txt'"),
    (None, "p.yaml", r"'p.yaml' arrived empty"),
    ("data:text/plain;base64,@@@", "p.yaml", r"'p.yaml' could not be read"),
    (_upload("#" * 100_001), "p.yaml", r"is 100,001 bytes; a policy file is at most 100,000 bytes"),
    (_upload('{"name": "p", "criteria": [{"metric": "speed", "at_least": 1}]}'), "p.json",
     r"^p.json: Criterion 1: 'metric' is 'speed'"),
    (_upload("name: [unclosed"), "p.yaml", r"^p.yaml: The policy is not valid YAML"),
])
def test_bad_uploads_say_what_is_wrong(contents, filename, message):
    with pytest.raises(AuditInputError, match=message):
        policy_from_upload(contents, filename)


def test_stored_policy_round_trips_through_json():
    policy = preset("equalized-odds")
    assert stored_policy(json.loads(json.dumps(policy.to_dict()))) == policy
    assert stored_policy(None) is None


def test_board_rows_format_each_measure_from_the_verdicts(audit):
    policy = Policy(name="p", criteria=(
        Criterion(metric="selection_rate", measure="ratio", scope="vs_best", at_least=0.8, min_group_size=100,
                  name="ratio"),
        Criterion(metric="selection_rate", measure="difference", scope="reference", at_least=-0.1,
                  min_group_size=100, name="diff"),
        Criterion(metric="selection_rate", measure="rate", scope="group", at_least=0.2, min_group_size=100,
                  required=False, name="rate"),
    ))
    evaluation = evaluate_policy(audit.result, policy)
    rows = {(r["criterion"], r["group"]): r for r in board_rows(evaluation)}
    verdicts = {(v.criterion.name, v.group): v for v in evaluation.verdicts}
    ratio = rows[("ratio", "b")]
    assert (ratio["value"], ratio["compared_with"], ratio["verdict"], ratio["mark"]) == \
        ("0.50", "a", "fail", "✘ FAIL")
    v = verdicts[("ratio", "b")]
    assert ratio["ci"] == f"{v.low:.2f} to {v.high:.2f}"
    assert rows[("diff", "b")]["value"] == "-25.0 pp"
    assert rows[("rate", "b")]["value"] == "25.0%" and rows[("rate", "b")]["role"] == "monitored"
    small = rows[("ratio", "c")]
    assert (small["verdict"], small["value"], small["ci"], small["count"]) == ("not_evaluable", "", "", 10)
    assert small["mark"] == "– NOT EVALUABLE" and "fewer than the criterion's minimum of 100" in small["reason"]


def test_spread_rows_name_the_lowest_and_highest_group(audit):
    policy = Policy(name="p", criteria=(Criterion(metric="selection_rate", measure="difference", scope="spread",
                                                  at_most=0.1, min_group_size=100, name="gap"),))
    (row,) = [r for r in board_rows(evaluate_policy(audit.result, policy)) if r["verdict"] != "not_evaluable"]
    assert row["group"] == "lowest b, highest a" and row["value"] == "+25.0 pp" and row["count"] == 400


def test_criterion_rows_count_verdicts(audit):
    evaluation = evaluate_policy(audit.result, preset("four-fifths"))
    (row,) = criterion_rows(evaluation)
    table = evaluation.table()
    expected = {k: int((table["verdict"] == k).sum()) for k in ("pass", "fail", "inconclusive", "not_evaluable")}
    assert row["counts"] == (f"{expected['pass']} pass · {expected['fail']} fail · {expected['inconclusive']} "
                             f"inconclusive · {expected['not_evaluable']} not evaluable")
    assert row["mark"] == verdict_mark(evaluation.overall) == "✘ FAIL"


def test_report_for_holds_the_verdicts_and_the_same_record_as_the_cli(audit):
    dataset = {"name": "tiny.csv", "sha256": "ab" * 32, "rows": 410, "columns": ["y", "pred", "g"]}
    text = report_for(audit, preset("four-fifths"), dataset_info=dataset, model_info=None,
                      timestamp="2024-01-01T00:00:00+00:00")
    record = json.loads(re.search(r'id="audit-record">(.*?)</script>', text, re.S).group(1))
    assert record["dataset"]["sha256"] == "ab" * 32 and record["timestamp"] == "2024-01-01T00:00:00+00:00"
    assert record["policy"]["name"] == "four-fifths" and record["verdicts"]["overall"] == "fail"
    assert "✘ FAIL" in text
    selection = audit.result.grouping("g").groups.loc["b", "selection_rate"]
    assert f"{100 * selection:.1f}%" in text
    plain = report_for(audit, None, dataset_info=dataset, model_info=None)
    assert "No policy was checked" in plain


def test_interval_ends_get_the_digits_that_explain_the_verdict(audit):
    base = Criterion(metric="selection_rate", measure="ratio", scope="reference", at_least=0.8, min_group_size=100)
    low = next(v.low for v in evaluate_policy(audit.result, Policy(name="p", criteria=(base,))).verdicts
               if v.group == "b")
    bound = math.ceil(low * 1000) / 1000  # just above the lower end: two decimals would round onto it
    policy = Policy(name="p", criteria=(Criterion(metric="selection_rate", measure="ratio", scope="reference",
                                                  at_least=bound, min_group_size=100, name="floor"),))
    evaluation = evaluate_policy(audit.result, policy)
    (row,) = [r for r in board_rows(evaluation) if r["group"] == "b"]
    shown_low = float(row["ci"].split(" to ")[0])
    assert row["verdict"] == "inconclusive" and shown_low < bound and row["bound"] == f"at least {bound:g}"
    assert f"{shown_low}" in " ".join(f.text for f in build_findings(evaluation, audit.result))


def test_bounds_are_shown_in_the_boards_units():
    assert bound_in_units(Criterion(metric="selection_rate", measure="difference", scope="spread",
                                    at_most=0.1)) == "at most 10 pp"
    assert bound_in_units(Criterion(metric="accuracy", measure="rate", scope="group", at_least=0.805)) == \
        "at least 80.5%"
    assert bound_in_units(Criterion(metric="selection_rate", measure="ratio", scope="reference", at_least=0.8,
                                    at_most=1.25)) == "between 0.8 and 1.25"


def test_names_made_from_settings_are_unique_and_typed_duplicates_name_both_rows():
    rows = [_row(row_id="1"), _row(row_id="2"), _row(row_id="3", name="selection_rate ratio vs highest group")]
    names = [c.name for c in policy_from_rows(rows).criteria]
    assert names == ["selection_rate ratio vs highest group (2)", "selection_rate ratio vs highest group (3)",
                     "selection_rate ratio vs highest group"]  # the typed name keeps its name
    with pytest.raises(AuditInputError, match="Rows 1 and 3 are both named 'mine'"):
        policy_from_rows([_row(name="mine"), _row(row_id="2"), _row(row_id="3", name="mine")])


def test_rows_come_from_the_controls_in_the_laid_out_order():
    order = [_row(row_id="1"), _row(row_id="2")]
    values = [0.5, "f", "monitored"]
    where = [{"row": "2", "field": "at_least"}, {"row": "2", "field": "name"}, {"row": "1", "field": "role"}]
    rows = rows_from_fields(values, where, order)
    assert [(r["row_id"], r["at_least"], r["name"], r["role"]) for r in rows] == \
        [("1", 0.8, "", "monitored"), ("2", 0.5, "f", "required")]
    assert rows_from_fields(values, where, order[:1])[0]["role"] == "monitored"  # a removed row's controls: ignored


def test_same_policy_compares_names_and_criteria_not_descriptions():
    edited = policy_from_rows([_row(at_least=0.7)], name="four-fifths")
    assert edited.name == "four-fifths (edited)"
    again = policy_from_rows([_row(at_least=0.7)], name="four-fifths (edited)")
    assert again.description != edited.description and same_policy(again, edited)
    assert not same_policy(policy_from_rows([_row(at_least=0.75)], name="four-fifths (edited)"), edited)
    assert not same_policy(None, edited) and not same_policy(edited, None)
