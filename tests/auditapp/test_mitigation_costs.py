"""Mitigation groupings, costs against the refitted baseline, and claims only the intervals support."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import from_estimator
from auditapp.mitigation import describe
from auditapp.mitigation.compare import compare_mitigations
from auditapp.mitigation.costs import (
    accuracy_change,
    cost_baseline,
    disparity_verdict,
    recommended_candidate,
)
from auditapp.mitigation.evaluation import Estimate
from auditapp.mitigation.grouping import group_sizes, resolve_grouping
from auditapp.mitigation.learners import default_learner

FEATURES = ["years", "club", "score"]


def _applicants(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=n, p=[0.45, 0.55])
    age = rng.choice(["young", "middle", "old"], size=n, p=[0.2, 0.6, 0.2])
    years = rng.integers(0, 20, size=n)
    club = ((sex == "female") & (rng.random(n) < 0.7)).astype(int)
    score = rng.normal(0, 1, size=n)
    logit = 0.2 * years - 2.0 + 1.5 * (sex == "male") + 0.8 * score
    hired = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"years": years, "club": club, "score": score, "sex": sex, "age": age, "hired": hired})


@pytest.fixture(scope="module")
def comparison():
    frame = _applicants(1500, seed=1)
    model = default_learner(frame, FEATURES).fit(frame[FEATURES], frame["hired"])
    spec = AuditSpec(target="hired", sensitive=("sex", "age"), min_group_size=30, n_boot=0, seed=3)
    return compare_mitigations(frame, spec, from_estimator(model), candidates=[
        "baseline", "baseline_refit", "reweighing", "threshold_optimizer"])


def test_the_default_grouping_is_the_first_sensitive_feature_alone(comparison):
    assert comparison.grouping == ("sex",)
    result = comparison.candidate("reweighing")
    assert result.grouping.features == ("sex",)
    assert set(result.grouping.groups.index) == {"female", "male"}


def test_group_sizes_count_the_split_rows_of_each_group(comparison):
    sizes = comparison.group_sizes.table
    test = comparison.test_rows
    expected = test["sex"].value_counts()
    for group in ("female", "male"):
        assert sizes.loc[group, "test_rows"] == expected[group]
        assert sizes.loc[group, "test_favourable"] == int(test.loc[test["sex"] == group, "hired"].sum())
    assert sizes["train_rows"].sum() == comparison.split.train_rows
    assert not sizes["small"].any()


def test_accuracy_change_is_the_paired_t_interval_scipy_computes(comparison):
    y = comparison.test_rows["hired"].to_numpy()
    refit, reweighed = comparison.candidate("baseline_refit"), comparison.candidate("reweighing")
    change = accuracy_change(comparison, "reweighing", "baseline_refit")
    right_a = (reweighed.y_pred == y).astype(float)
    right_b = (refit.y_pred == y).astype(float)
    interval = stats.ttest_rel(right_a, right_b).confidence_interval(0.95)
    assert change.low == pytest.approx(interval.low, abs=1e-12)
    assert change.high == pytest.approx(interval.high, abs=1e-12)
    assert change.value == pytest.approx(reweighed.accuracy.value - refit.accuracy.value, abs=1e-12)


def test_a_randomised_candidates_cost_is_its_expectation(comparison):
    change = accuracy_change(comparison, "threshold_optimizer", "baseline_refit")
    optimizer, refit = comparison.candidate("threshold_optimizer"), comparison.candidate("baseline_refit")
    assert optimizer.randomized
    assert change.value == pytest.approx(optimizer.accuracy.value - refit.accuracy.value, abs=1e-12)
    assert change.low < change.value < change.high


def test_costs_are_measured_against_the_refitted_baseline_and_a_baseline_is_never_recommended(comparison):
    assert cost_baseline(comparison).name == "baseline_refit"
    name = recommended_candidate(comparison)
    assert name is None or comparison.candidate(name).family != "baseline"
    # Even when the refitted baseline is the fairest point on the front, it is not the recommendation.
    fair_refit = replace(comparison.candidate("baseline_refit"), disparity=Estimate(0.0, 0.0, 0.01),
                         accuracy=Estimate(0.99, 0.98, 1.0))
    rigged = replace(comparison, candidates=tuple(fair_refit if c.name == "baseline_refit" else c
                                                  for c in comparison.candidates), pareto=("baseline_refit",))
    assert recommended_candidate(rigged) is None
    lines = describe.tradeoff_summary(rigged)
    assert any("none is recommended" in line for line in lines)
    assert not any(line.startswith("Recommended") for line in lines)


def test_a_difference_is_claimed_only_when_the_intervals_do_not_overlap(comparison):
    base = comparison.candidate("baseline_refit")
    overlapping = replace(base, disparity=Estimate(base.disparity.value - 0.01, base.disparity.low - 0.01,
                                                   base.disparity.high))
    apart = replace(base, disparity=Estimate(0.0, 0.0, base.disparity.low / 2))
    unclear = disparity_verdict(overlapping, base, metric_name="selection-rate gap")
    assert unclear.kind == "unclear" and "cannot tell" in unclear.sentence and "unlikely to be noise" not in unclear.sentence
    assert disparity_verdict(apart, base, metric_name="selection-rate gap").kind == "lower"


def test_an_intersection_on_few_rows_flags_its_small_groups_in_every_row():
    frame = _applicants(300, seed=2)
    model = default_learner(frame, FEATURES).fit(frame[FEATURES], frame["hired"])
    spec = AuditSpec(target="hired", sensitive=("sex", "age"), min_group_size=30, n_boot=0, seed=3)
    result = compare_mitigations(frame, spec, from_estimator(model), grouping=("age", "sex"),
                                 candidates=["baseline", "baseline_refit", "reweighing"])
    assert result.grouping == ("sex", "age")
    sizes = result.group_sizes
    assert len(sizes.table) == 6 and sizes.table["test_rows"].sum() == result.split.test_rows
    assert set(sizes.small_groups) == set(sizes.table.index[sizes.table["test_rows"] < 30]) != set()
    rows = describe.group_rows(result)
    assert all(bool(r["small"]) == (r["test_rows"] < 30) for r in rows)
    # Each candidate row names the two groups its disparity compares, with their size and flag.
    for row in describe.comparison_rows(result):
        assert "test rows" in row["widest"]
    text = " ".join(describe.tradeoff_summary(result))
    assert "too uncertain to act on" in text


@pytest.mark.parametrize(("grouping", "message"), [
    (("race",), "is not a sensitive feature"),
    (("sex", "sex"), "at most once"),
])
def test_a_grouping_outside_the_sensitive_features_is_refused(grouping, message):
    with pytest.raises(AuditInputError, match=message):
        resolve_grouping(("sex", "age"), grouping)


def test_group_sizes_flag_groups_under_the_minimum():
    sizes = group_sizes(["a", "a", "b"], ["a", "b", "b", "a", "a"], [1, 0, 1, 1, 0], grouping=("g",),
                        min_group_size=3)
    assert sizes.table.loc["a", "test_rows"] == 3 and sizes.table.loc["b", "test_rows"] == 2
    assert sizes.table.loc["a", "test_favourable"] == 2 and sizes.small_groups == ("b",)
    assert sizes.describe("b") == "b (2 test rows, small)"


def test_the_command_line_takes_the_grouping_and_records_each_groups_rows(tmp_path):
    import json

    from auditapp.cli.main import main

    _applicants(600, seed=5).to_csv(tmp_path / "a.csv", index=False)
    out = tmp_path / "m.json"
    assert main(["mitigate", "--data", str(tmp_path / "a.csv"), "--target", "hired", "--prediction", "club",
                 "--sensitive", "sex,age", "--grouping", "age,sex", "--candidates", "baseline,reweighing",
                 "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["grouping"] == ["sex", "age"] and len(record["groups"]) == 6
    assert sum(g["test_rows"] for g in record["groups"]) == record["split"]["test_rows"]
    assert all(g["small"] == (g["test_rows"] < 30) for g in record["groups"])
