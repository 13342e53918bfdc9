"""NYC Local Law 144: the rule's worked example to the printed digits, the tables, and every open choice."""

import numpy as np
import pandas as pd
import pytest

from auditapp.compliance.categories import check_mapping
from auditapp.compliance.ll144 import ll144_audit
from auditapp.compliance.ll144_outputs import (
    SCHEMA,
    display_rows,
    ll144_csv,
    ll144_record,
    reproduce_ll144,
    summary_html,
    summary_text,
)
from auditapp.core.errors import AuditInputError


def _worked_example() -> pd.DataFrame:
    """The rule's example: 92 men, 50 scoring above the median; 76 women, 34 above (168 people, 84 above)."""
    above = [1] * 50 + [0] * 42 + [1] * 34 + [0] * 42
    rng = np.random.default_rng(0)
    high, low = iter(rng.permutation(np.arange(100, 184))), iter(rng.permutation(np.arange(0, 84)))
    return pd.DataFrame({"sex": ["Male"] * 92 + ["Female"] * 76, "race": ["White"] * 168,
                         "score": [next(high) if a else next(low) for a in above]})


def test_worked_example_to_the_printed_digits():
    result = ll144_audit(_worked_example(), sex="sex", race="race", score="score")
    male, female = result.table("sex")
    assert (male.n, male.selected, female.n, female.selected) == (92, 50, 76, 34)
    assert male.rate == 50 / 92 and female.rate == 34 / 76
    assert female.impact_ratio == pytest.approx((34 / 76) / (50 / 92), abs=1e-15)
    printed = display_rows(result, "sex")
    assert [(r["category"], r["n"], r["rate"], r["impact_ratio"]) for r in printed] == [
        ("Male", "92", "54.3%", "1.00"), ("Female", "76", "44.7%", "0.82")]
    text = summary_text(result)
    assert "54.3%" in text and "44.7%" in text and "0.82" in text
    assert result.median == 91.5 and result.ties_at_median == 0


def test_selection_tool_tables_and_intersections_by_hand():
    frame = pd.DataFrame({
        "sex": ["Male"] * 6 + ["Female"] * 6,
        "race": ["White", "White", "White", "Asian", "Asian", "Asian"] * 2,
        "hired": [1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1]})
    result = ll144_audit(frame, sex="sex", race="race", selected="hired")
    sex = {r.category: r for r in result.table("sex")}
    assert sex["Male"].rate == 3 / 6 and sex["Female"].rate == 4 / 6
    assert sex["Male"].impact_ratio == pytest.approx(0.75) and sex["Female"].impact_ratio == 1.0
    race = {r.category: r for r in result.table("race_ethnicity")}
    assert race["White"].rate == 3 / 6 and race["Asian"].rate == 4 / 6
    assert race["Hispanic or Latino"].n == 0 and race["Hispanic or Latino"].impact_ratio is None
    inter = {r.category: r for r in result.table("intersectional")}
    assert inter["White Male"].rate == 2 / 3 and inter["Asian Female"].rate == 1.0
    assert inter["Asian Male"].impact_ratio == pytest.approx(1 / 3)
    assert (inter["White Female"].sex, inter["White Female"].race_ethnicity) == ("Female", "White")
    assert len(result.table("intersectional")) == 14


def test_category_names_in_any_case_need_no_mapping():
    frame = pd.DataFrame({"sex": [" male", "FEMALE"], "race": ["hispanic or latino", "American Indian or Alaska Native"],
                          "sel": [1, 0]})
    result = ll144_audit(frame, sex="sex", race="race", selected="sel")
    race = {r.category: r.n for r in result.table("race_ethnicity")}
    assert race["Hispanic or Latino"] == 1 and race["Native American or Alaska Native"] == 1


def test_unmapped_values_are_named_never_dropped():
    frame = pd.DataFrame({"sex": ["M", "F", "F", "nb"], "race": ["White"] * 4, "sel": [1, 0, 1, 0]})
    with pytest.raises(AuditInputError, match=r"'F' \(2 rows\), 'M' \(1 rows\), 'nb' \(1 rows\)"):
        ll144_audit(frame, sex="sex", race="race", selected="sel")
    mapping = {"sex": {"M": "male", "F": "Female"}}
    with pytest.raises(AuditInputError, match=r"'nb' \(1 rows\)"):
        ll144_audit(frame, sex="sex", race="race", selected="sel", mapping=mapping)
    result = ll144_audit(frame, sex="sex", race="race", selected="sel", mapping=mapping, unmapped="unknown")
    assert result.unknown["sex"] == 1 and result.unknown["unmapped_values"]["sex"] == [{"value": "nb", "rows": 1}]
    assert sum(r.n for r in result.table("sex")) == 3
    assert any("'nb' (1)" in n for n in result.notes)


def test_mapping_onto_a_name_that_is_not_a_category_is_refused():
    with pytest.raises(AuditInputError, match="'W' is mapped to 'Caucasian', which is not a race_ethnicity category"):
        check_mapping({"race_ethnicity": {"W": "Caucasian"}})
    with pytest.raises(AuditInputError, match="sections are 'sex' and 'race_ethnicity'"):
        check_mapping({"gender": {}})


def test_missing_cells_are_unknown_counted_and_left_out():
    frame = pd.DataFrame({"sex": ["Male", None, "Female", "Female"], "race": ["White", "White", None, "Asian"],
                          "sel": [1, 1, 0, 1]})
    result = ll144_audit(frame, sex="sex", race="race", selected="sel")
    assert result.unknown["count"] == 2 and result.unknown["sex"] == 1 and result.unknown["race_ethnicity"] == 1
    assert result.unknown["missing_cells"] == {"sex": 1, "race_ethnicity": 1}
    assert {r.category: r.n for r in result.table("sex")} == {"Male": 1, "Female": 2}
    assert sum(r.n for r in result.table("intersectional")) == 2


def test_ties_at_the_median_are_counted_and_treated_as_chosen():
    frame = pd.DataFrame({"sex": ["Male", "Male", "Male", "Female", "Female", "Female"], "race": ["White"] * 6,
                          "score": [1, 5, 5, 5, 9, 2]})
    strict = ll144_audit(frame, sex="sex", race="race", score="score")
    assert strict.median == 5 and strict.ties_at_median == 3
    assert [r.selected for r in strict.table("sex")] == [0, 1]
    assert any("3 rows score exactly the median (5)" in n and "not above" in n for n in strict.notes)
    inclusive = ll144_audit(frame, sex="sex", race="race", score="score", ties="above")
    assert [r.selected for r in inclusive.table("sex")] == [2, 2]
    assert ll144_record(inclusive)["choices"]["ties"] == "above"
    assert ll144_record(strict)["ties_at_median"] == 3


def test_median_of_known_rows_is_an_option():
    frame = pd.DataFrame({"sex": ["Male", "Female", None, None], "race": ["White"] * 4, "score": [1, 2, 10, 20]})
    assert ll144_audit(frame, sex="sex", race="race", score="score").median == 6
    known = ll144_audit(frame, sex="sex", race="race", score="score", median_sample="known")
    assert known.median == 1.5 and [r.selected for r in known.table("sex")] == [0, 1]


def test_small_categories_excluded_from_ratios_are_still_listed():
    frame = pd.DataFrame({"sex": ["Male"] * 60 + ["Female"] * 39 + ["Female"],
                          "race": ["White"] * 50 + ["Asian"] * 49 + ["Two or More Races"],
                          "sel": [0] * 40 + [1] * 10 + [1] * 20 + [0] * 29 + [1]})
    result = ll144_audit(frame, sex="sex", race="race", selected="sel", exclude_under=0.02)
    race = {r.category: r for r in result.table("race_ethnicity")}
    tiny = race["Two or More Races"]
    assert tiny.excluded and tiny.n == 1 and tiny.rate == 1.0 and tiny.impact_ratio is None
    assert "1 of 100 rows (1.00%) is under 2% of the data" in tiny.reason
    assert race["Asian"].impact_ratio == 1.0  # the excluded category's rate of 1.0 is not the maximum
    assert race["White"].impact_ratio == pytest.approx((10 / 50) / (20 / 49))


def test_classification_tools_get_tables_per_class():
    frame = pd.DataFrame({"sex": ["Male", "Male", "Female", "Female"], "race": ["White"] * 4,
                          "tier": ["A", "B", "A", "C"]})
    result = ll144_audit(frame, sex="sex", race="race", selected="tier")
    assert result.type == "classification" and result.classes == ["A", "B", "C"]
    assert [r.rate for r in result.table("sex", "B")] == [0.5, 0.0]
    assert [r.impact_ratio for r in result.table("sex", "B")] == [1.0, 0.0]
    assert ll144_record(result)["tables"]["sex"][0]["class"] == "A"


def test_selection_values_must_be_clear():
    frame = pd.DataFrame({"sex": ["Male", "Female"], "race": ["White"] * 2, "out": ["advance", "hold"]})
    with pytest.raises(AuditInputError, match="Cannot tell which value of 'out' means selected"):
        ll144_audit(frame, sex="sex", race="race", selected="out")
    result = ll144_audit(frame, sex="sex", race="race", selected="out", selected_value="advance")
    assert [r.selected for r in result.table("sex")] == [1, 0]
    frame["yes"] = ["Yes", "No"]
    assert [r.selected for r in ll144_audit(frame, sex="sex", race="race", selected="yes").table("sex")] == [1, 0]


@pytest.mark.parametrize(("scores", "message"), [
    ([1.0, None], r"'score' has 1 empty cells \(first rows \[1\]\)"),
    (["1", "high"], r"1 values that are not numbers \('high'\)"),
])
def test_bad_scores_are_refused(scores, message):
    frame = pd.DataFrame({"sex": ["Male", "Female"], "race": ["White"] * 2, "score": scores})
    with pytest.raises(AuditInputError, match=message):
        ll144_audit(frame, sex="sex", race="race", score="score")


def test_record_csv_and_html_carry_the_same_numbers():
    frame = pd.DataFrame({"sex": ["Male", "Female", "Female"], "race": ["Asian", "White", "White"],
                          "tier": ["=cmd()", "B", "=cmd()"]})
    result = ll144_audit(frame, sex="sex", race="race", selected="tier", classify=True,
                         data_source="test data: <b>pilot</b>")
    record = ll144_record(result, dataset={"name": "x.csv", "sha256": "0" * 64, "rows": 3})
    assert record["schema"] == SCHEMA and record["type"] == "classification"
    assert set(record["tables"]) == {"sex", "race_ethnicity", "intersectional"}
    assert record["unknown"]["count"] == 0 and record["choices"]["exclude_under"] is None
    csv = ll144_csv(result)
    assert set(csv["class"]) == {"'=cmd()", "B"}  # neutralised against spreadsheet formulas
    assert list(csv.columns[:5]) == ["table", "class", "category", "sex", "race_ethnicity"]
    page = summary_html(result)
    assert "&lt;b&gt;pilot&lt;/b&gt;" in page and "<b>pilot" not in page and "<script" not in page
    assert reproduce_ll144(record, frame, dataset=record["dataset"])["tables"] == record["tables"]
