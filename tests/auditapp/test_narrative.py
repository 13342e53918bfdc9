import math

import numpy as np
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import compute_audit
from auditapp.core.narrative import format_ci, format_pct, format_q, format_ratio, summarize_gaps
from tests.builders import rows_from_cells


def gap_result(*, n_boot=200, sensitive=("sex",), min_group_size=30):
    # Women: 40 of 200 selected (20%); men, the largest group: 110 of 220 (50%); ratio 0.4.
    y_true, y_pred, frame = rows_from_cells({
        ("F", "a"): (100, 20, 50), ("F", "b"): (100, 20, 50),
        ("M", "a"): (110, 55, 55), ("M", "b"): (110, 55, 55),
    })
    return compute_audit(y_true, y_pred, frame[list(sensitive)], n_boot=n_boot, seed=3,
                         min_group_size=min_group_size)


def pct(x):
    return f"{x * 100:.1f}%"


def test_format_pct_rounds_to_one_decimal_and_handles_nan():
    assert format_pct(0.2134) == "21.3%"
    assert format_pct(np.float64(1.0)) == "100.0%"
    assert format_pct(float("nan")) == "n/a"
    assert format_pct(None) == "n/a"


def test_format_ci_percent_and_plain_and_nan():
    assert format_ci(0.198, 0.229) == "19.8–22.9%"
    assert format_ci(0.5412, 0.8801, percent=False) == "0.54–0.88"
    assert format_ci(-0.2, -0.03) == "−20.0 to −3.0%"
    assert format_ci(float("nan"), 0.3) == "n/a"
    assert format_ratio(float("nan")) == "n/a"


def test_format_q_levels():
    assert format_q(0.3201) == "q = 0.32"
    assert format_q(0.0042) == "q = 0.004"
    assert format_q(1e-9) == "q < 0.001"


def test_selection_gap_sentence_carries_the_results_numbers():
    result = gap_result()
    grouping = result.grouping("sex")
    sentences = summarize_gaps(result, metrics=("selection_rate",))
    assert len(sentences) == 1
    text = sentences[0]
    f, m = grouping.groups.loc["F"], grouping.groups.loc["M"]
    row = grouping.disparities.query("metric == 'selection_rate'").iloc[0]
    assert f"“F” was selected {pct(f['selection_rate'])} of the time" in text
    assert pct(f["selection_rate"]) == "20.0%" and pct(m["selection_rate"]) == "50.0%"
    assert f"(95% CI {pct(f['selection_rate_low'])[:-1]}–{pct(f['selection_rate_high'])}" in text
    assert "against 50.0% for “M”, the reference group" in text
    assert f"{row['ratio']:.2f} times as often" in text and "0.40 times as often" in text
    assert f"(95% CI {row['ratio_low']:.2f}–{row['ratio_high']:.2f})" in text
    assert "below the four-fifths (0.8) line" in text
    assert row["q_value"] < 0.001 and "statistically significant (q < 0.001)" in text
    assert "not statistically" not in text


def test_difference_sentence_for_a_rate_metric_uses_percentage_points():
    result = gap_result()
    row = result.grouping("sex").disparities.query("metric == 'true_positive_rate'").iloc[0]
    text = summarize_gaps(result, metrics=("true_positive_rate",))[0]
    assert row["difference"] == pytest.approx(-0.6)  # TPR 40% vs 100%
    assert "true positive rate of group “F” is 40.0%" in text
    assert "against 100.0% for “M”" in text
    assert "60.0 percentage points lower" in text
    low, high = row["difference_low"] * 100, row["difference_high"] * 100
    assert f"−{abs(low):.1f} to −{abs(high):.1f} points" in text


def test_gap_that_is_not_significant_says_so():
    # 35 vs 40 rows of 60 selected: a 8.3-point gap that a z-test cannot tell from chance.
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (60, 35, 30), ("M", "a"): (60, 40, 30)})
    result = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=100, seed=0)
    q = result.grouping("sex").disparities.query("metric == 'selection_rate'")["q_value"].iloc[0]
    lead, text = summarize_gaps(result, metrics=("selection_rate",))
    assert q >= 0.05
    assert lead.startswith("No gap is both statistically significant (q < 0.05) and at least 5.0 percentage")
    assert f"not statistically significant (q = {q:.2f}), so it may be chance" in text
    assert "within the four-fifths band (0.8–1.25)" in text


def test_small_group_is_mentioned_with_its_size():
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (12, 2, 6), ("M", "a"): (100, 50, 50)})
    result = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=50, seed=0, min_group_size=30)
    lead, text = summarize_gaps(result, metrics=("selection_rate",))
    assert "groups too small to tell" in lead  # a small group's gap never leads as one that matters
    assert "Group “F” has only 12 rows (fewer than 30)" in text


def test_no_interval_means_no_interval_in_the_text():
    result = gap_result(n_boot=0)
    grouping = result.grouping("sex")
    for frame, columns in ((grouping.groups, ["selection_rate_low", "selection_rate_high"]),
                           (grouping.disparities, ["ratio_low", "ratio_high", "difference_low", "difference_high"])):
        frame.loc[:, columns] = np.nan  # as for rates too few to estimate
    text = summarize_gaps(result, metrics=("selection_rate",))[0]
    assert "CI" not in text
    assert "0.40 times as often, below the four-fifths" in text


def test_single_features_come_before_intersections_and_order_is_deterministic():
    result = gap_result(sensitive=("sex", "eth"))
    sentences = summarize_gaps(result, max_items=9)
    assert sentences == summarize_gaps(result, max_items=9)
    # eth has no gap; sex and sex × eth each have a selection-rate and a TPR gap.
    assert [s.split(",")[0] for s in sentences] == ["By sex", "By sex", "By sex × eth", "By sex × eth"]
    # Ties between "F & a" and "F & b" (identical gaps) are broken by name.
    assert "“F & a”" in sentences[2] and "“F & a”" in sentences[3]


def test_each_attribute_gets_its_top_gap_before_a_second_gap_of_another():
    # sex: 30-point selection gap and TPR gap; eth: a smaller (10-point) selection gap.
    y_true, y_pred, frame = rows_from_cells({
        ("F", "a"): (100, 20, 50), ("F", "b"): (100, 10, 50),
        ("M", "a"): (100, 55, 50), ("M", "b"): (100, 45, 50),
    })
    result = compute_audit(y_true, y_pred, frame, n_boot=0, intersections=False)
    sentences = summarize_gaps(result, max_items=2)
    assert sentences[0].startswith("By sex,") and sentences[1].startswith("By eth,")


def test_max_items_limits_the_sentences():
    result = gap_result(sensitive=("sex", "eth"))
    assert len(summarize_gaps(result, max_items=1)) == 1


def test_no_notable_gaps_sentence_names_the_largest_difference():
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (100, 40, 50), ("M", "a"): (100, 42, 50)})
    result = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=0)
    sentences = summarize_gaps(result, metrics=("selection_rate",))
    assert len(sentences) == 1
    assert sentences[0].startswith("No notable gaps")
    assert "by 5.0 percentage points or more" in sentences[0]
    assert "The largest difference is 2.0 percentage points" in sentences[0]


def test_one_group_only_has_nothing_to_compare():
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (50, 20, 25)})
    result = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=0)
    assert summarize_gaps(result)[0].startswith("No gaps to report")


def test_undefined_metric_is_skipped_not_reported_as_nan():
    # No favourable labels anywhere: TPR is undefined for every group.
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (50, 10, 0), ("M", "a"): (60, 30, 0)})
    result = compute_audit(y_true, y_pred, frame[["sex"]], n_boot=0)
    assert math.isnan(result.grouping("sex").groups.loc["F", "true_positive_rate"])
    sentences = summarize_gaps(result, metrics=("true_positive_rate", "selection_rate"))
    assert len(sentences) == 1 and "selected 20.0% of the time" in sentences[0]
    assert "nan" not in sentences[0].lower()


def test_unknown_metric_is_rejected():
    with pytest.raises(AuditInputError, match="Unknown metric.*recall"):
        summarize_gaps(gap_result(n_boot=0), metrics=("recall",))


def test_no_metric_is_rejected():
    with pytest.raises(AuditInputError, match="none given"):
        summarize_gaps(gap_result(n_boot=0), metrics=())


def test_max_items_below_one_is_rejected():
    with pytest.raises(AuditInputError, match="max_items must be at least 1, but is 0"):
        summarize_gaps(gap_result(n_boot=0), max_items=0)


def test_a_four_fifths_breach_leads_even_when_another_gap_is_larger():
    result = gap_result()
    rows = result.grouping("sex").disparities.set_index("metric")
    assert abs(rows.loc["true_positive_rate", "difference"]) > abs(rows.loc["selection_rate", "difference"])
    sentences = summarize_gaps(result)
    assert "was selected 20.0% of the time" in sentences[0]
    assert "true positive rate" in sentences[1]


def test_a_significant_gap_of_a_large_group_leads_over_a_larger_gap_of_a_one_row_group():
    # An age-like feature: one row aged 19 (never selected), and two large groups 20 points apart.
    y_true, y_pred, frame = rows_from_cells({
        ("19", "a"): (1, 0, 1), ("30", "a"): (400, 240, 200), ("40", "a"): (400, 160, 200)})
    result = compute_audit(y_true, y_pred, frame[["sex"]].rename(columns={"sex": "age"}), min_group_size=30,
                           reference={"age": "30"})
    rows = result.grouping("age").disparities.query("metric == 'selection_rate'").set_index("group")
    assert abs(rows.loc["19", "difference"]) > abs(rows.loc["40", "difference"])  # the one row is further off
    first = summarize_gaps(result, metrics=("selection_rate",))[0]
    assert first.startswith("By age, group “40” was selected 40.0% of the time")
    assert "statistically significant (q < 0.001)" in first


def test_when_no_gap_matters_the_summary_says_so_first():
    y_true, y_pred, frame = rows_from_cells({("F", "a"): (12, 2, 6), ("M", "a"): (100, 50, 50)})
    result = compute_audit(y_true, y_pred, frame[["sex"]], min_group_size=30)
    sentences = summarize_gaps(result, metrics=("selection_rate",))
    assert len(sentences) == 2 and sentences[0].startswith("No gap is both statistically significant")
    significant = gap_result()  # 20% against 50% of 200+ rows each: significant, large, adequate groups
    assert not summarize_gaps(significant, metrics=("selection_rate",))[0].startswith("No gap")
