"""Cutoff rates, distributions, task policies, figures and the report of regression/multiclass audits."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.intervals import proportion_interval, z_value
from auditapp.core.multiclass import compute_multiclass_audit
from auditapp.core.regression import compute_regression_audit
from auditapp.core.task_distributions import cutoff_index, group_distributions
from auditapp.core.task_groups import row_groupings
from auditapp.figures.tasks import confusion_figure, cutoff_figure, distribution_figure
from auditapp.policy.task_policy import (
    TaskCriterion,
    TaskPolicy,
    evaluate_task_policy,
    load_task_policy,
)


def _data(n=800, seed=4):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n)
    y = rng.gamma(2.0, 40.0, n)
    return y, y + rng.normal(0, 8, n) - 20 * (g == "b"), pd.DataFrame({"g": g})


def test_cutoff_rates_count_predictions_strictly_above_with_rate_intervals():
    y, p, sf = _data()
    rows = row_groupings(sf)[0]
    rates = cutoff_index(p, rows).rates(80.0)
    for label in ("a", "b"):
        member = (sf["g"] == label).to_numpy()
        above, n = int(np.sum(p[member] > 80.0)), int(member.sum())
        assert rates.loc[label, "above"] == above and rates.loc[label, "rate"] == pytest.approx(above / n, abs=1e-15)
        low, high = proportion_interval(above, n, z_value(0.95))
        assert (rates.loc[label, "rate_low"], rates.loc[label, "rate_high"]) == pytest.approx((float(low), float(high)))
    assert rates["impact_ratio"].max() == 1.0
    # a prediction exactly at the cutoff is not above it
    exact = cutoff_index(np.array([1.0, 2.0, 3.0]), row_groupings(pd.DataFrame({"g": ["a"] * 3}))[0]).rates(2.0)
    assert exact.loc["a", "above"] == 1


def test_distributions_are_numpy_quantiles_of_residuals_and_predictions():
    y, p, sf = _data()
    dist = group_distributions(y, p, row_groupings(sf)[0])
    member = (sf["g"] == "b").to_numpy()
    assert dist.residuals.loc["b", "q25"] == pytest.approx(np.quantile((p - y)[member], 0.25), rel=1e-12)
    assert dist.predictions.loc["b", "mean"] == pytest.approx(p[member].mean(), rel=1e-12)
    fig = distribution_figure(dist.residuals, what="r", title="t")
    assert [t.name for t in fig.data] == ["a", "b"] and fig.data[1].q1[0] == dist.residuals.loc["b", "q25"]


def test_policy_verdicts_follow_the_interval():
    y, p, sf = _data()
    result = compute_regression_audit(y, p, sf, n_boot=200)
    crit = result.grouping("g").criteria.loc["mae_ratio_worst_to_best"]
    at = lambda bound: evaluate_task_policy(result, TaskPolicy("t", "regression", (  # noqa: E731
        TaskCriterion("mae_ratio_worst_to_best", at_most=bound),)))["overall"]
    assert at(crit["high"] + 0.01) == "pass"
    assert at(crit["low"] - 0.01) == "fail"
    assert at((crit["low"] + crit["high"]) / 2) == "inconclusive"


def test_task_policy_files_are_checked(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("task: regression\ncriteria:\n  - {criterion: min_impact_ratio, at_least: 0.8}\n")
    with pytest.raises(AuditInputError, match="'min_impact_ratio' is not a regression criterion"):
        load_task_policy(str(bad), "regression")
    with pytest.raises(AuditInputError, match="is for multiclass audits, but this audit is regression"):
        load_task_policy("four-fifths-per-class", "regression")
    assert load_task_policy("regression-smd-0.2", "regression").criteria[0].at_most == 0.2


def test_confusion_heatmap_colours_rows_and_prints_counts():
    truth = ["x", "x", "y", "y", "y", "x"] * 5
    pred = ["x", "y", "y", "y", "x", "x"] * 5
    grouping = compute_multiclass_audit(truth, pred, pd.DataFrame({"g": ["a"] * 30}), min_group_size=1).grouping("g")
    fig = confusion_figure(grouping, "a")
    np.testing.assert_allclose(fig.data[0].z, [[2 / 3, 1 / 3], [1 / 3, 2 / 3]])
    assert fig.data[0].text.tolist() == [["10", "5"], ["5", "10"]]


def test_cutoff_figure_titles_the_cutoff():
    y, p, sf = _data()
    rates = cutoff_index(p, row_groupings(sf)[0]).rates(80.0)
    fig = cutoff_figure(rates, cutoff=80.0, features=("g",))
    assert "above 80" in fig.layout.title.text and list(fig.data[0].y) == rates["rate"].tolist()
