"""Regression audit: per-group metrics agree with fairlearn MetricFrame + scikit-learn, SMD with the hand
formula, KS with scipy; intervals are seeded and behave."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from scipy import stats
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from auditapp.core.errors import AuditInputError
from auditapp.core.regression import compute_regression_audit


def _data(n=1200, seed=3):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    h = rng.choice(["x", "y"], n)
    y = rng.gamma(4.0, 25.0, n)
    p = y + rng.normal(0, 12, n) - 30.0 * (g == "b")
    return y, p, pd.DataFrame({"g": g, "h": h})


def _mean_error(y_true, y_pred):
    return float(np.mean(np.asarray(y_pred) - np.asarray(y_true)))


PEERS = {
    "mean_absolute_error": mean_absolute_error,
    "root_mean_squared_error": root_mean_squared_error,
    "r2": r2_score,
    "mean_outcome": lambda t, p: float(np.mean(t)),
    "mean_prediction": lambda t, p: float(np.mean(p)),
    "mean_error": _mean_error,
}


@pytest.mark.parametrize("features", [("g",), ("g", "h")])
def test_every_group_metric_equals_fairlearn_metricframe(features):
    y, p, sf = _data()
    result = compute_regression_audit(y, p, sf, n_boot=200)
    grouping = result.grouping(*features)
    frame = MetricFrame(metrics=PEERS, y_true=y, y_pred=p, sensitive_features=sf[list(features)])
    by_group = frame.by_group
    for label, row in grouping.groups.iterrows():
        key = tuple(row[f] for f in features) if len(features) > 1 else row[features[0]]
        for metric in PEERS:
            assert row[metric] == pytest.approx(by_group.loc[key, metric], rel=1e-12, abs=1e-12), (label, metric)


def test_smd_equals_the_hand_formula_and_ks_equals_scipy():
    y, p, sf = _data()
    grouping = compute_regression_audit(y, p, sf, n_boot=200, reference={"g": "a"}).grouping("g")
    ref, grp = p[sf["g"] == "a"], p[sf["g"] == "b"]
    n1, n2 = grp.size, ref.size
    pooled = np.sqrt(((n1 - 1) * grp.var(ddof=1) + (n2 - 1) * ref.var(ddof=1)) / (n1 + n2 - 2))
    assert grouping.groups.loc["b", "standardized_mean_difference"] == pytest.approx(
        (grp.mean() - ref.mean()) / pooled, rel=1e-12)
    assert grouping.groups.loc["a", "standardized_mean_difference"] == 0.0
    assert grouping.groups.loc["b", "ks_distance"] == pytest.approx(stats.ks_2samp(grp, ref).statistic, abs=1e-15)
    # b is under-estimated by 30: its SMD is clearly negative and the interval says so
    assert grouping.groups.loc["b", "standardized_mean_difference_high"] < 0


def test_intervals_cover_the_point_are_seeded_and_see_the_underestimated_group():
    y, p, sf = _data()
    first = compute_regression_audit(y, p, sf, n_boot=300, seed=7).grouping("g")
    again = compute_regression_audit(y, p, sf, n_boot=300, seed=7).grouping("g")
    pd.testing.assert_frame_equal(first.groups, again.groups)
    table = first.groups
    for metric in ("mean_error", "mean_absolute_error", "r2", "residual_q50"):
        assert (table[f"{metric}_low"] <= table[metric]).all() and (table[metric] <= table[f"{metric}_high"]).all()
    assert table.loc["b", "mean_error_high"] < -5 < table.loc["a", "mean_error_low"]
    disp = first.disparities.set_index(["group", "metric"])
    assert disp.loc[("b", "mean_error"), "difference_high"] < 0
    assert np.isnan(disp.loc[("b", "mean_error"), "ratio"])  # a ratio of signed errors means nothing


def test_residual_quantile_interval_uses_order_statistics():
    y, p, sf = _data(n=400)
    grouping = compute_regression_audit(y, p, sf, n_boot=200).grouping("g")
    e = np.sort((p - y)[sf["g"] == "a"])
    n = e.size
    lo = int(stats.binom.ppf(0.025, n, 0.5))
    hi = int(stats.binom.ppf(0.975, n, 0.5)) + 1
    assert grouping.groups.loc["a", "residual_q50_low"] == e[lo - 1]
    assert grouping.groups.loc["a", "residual_q50_high"] == e[hi - 1]
    assert grouping.groups.loc["a", "residual_q50"] == pytest.approx(np.quantile(e, 0.5), rel=1e-12)


def test_large_groups_use_blocks_and_keep_the_row_bootstrap_spread():
    rng = np.random.default_rng(0)
    n = 20_000
    y = rng.normal(50, 10, n)
    p = y + rng.normal(0, 5, n)
    sf = pd.DataFrame({"g": np.where(np.arange(n) < 19_000, "big", "small")})
    table = compute_regression_audit(y, p, sf, n_boot=400, seed=1).grouping("g").groups
    for label in ("big", "small"):
        rows = (sf["g"] == label).to_numpy()
        se = np.std(p[rows] - y[rows], ddof=1) / np.sqrt(rows.sum())
        width = table.loc[label, "mean_error_high"] - table.loc[label, "mean_error_low"]
        assert width == pytest.approx(2 * 1.96 * se, rel=0.2)


def test_mae_ratio_to_best_and_criteria():
    y, p, sf = _data()
    grouping = compute_regression_audit(y, p, sf, n_boot=200).grouping("g")
    mae = grouping.groups["mean_absolute_error"]
    assert grouping.groups["mae_ratio_to_best"].to_dict() == pytest.approx((mae / mae.min()).to_dict(), rel=1e-12)
    crit = grouping.criteria
    assert crit.loc["mae_ratio_worst_to_best", "value"] == pytest.approx(mae.max() / mae.min(), rel=1e-12)
    assert crit.loc["max_abs_standardized_mean_difference", "value"] == pytest.approx(
        grouping.groups["standardized_mean_difference"].abs().max(), rel=1e-12)


def test_tiny_groups_get_no_interval_and_constant_outcomes_no_r2():
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0] * 10 + [7.0] * 4)
    p = y + 0.5
    sf = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 4})
    table = compute_regression_audit(y, p, sf, n_boot=100, min_group_size=1).grouping("g").groups
    assert np.isnan(table.loc["b", "mean_error_low"]) and table.loc["b", "mean_error"] == pytest.approx(0.5)
    assert "too_few_for_intervals" in table.loc["b", "flags"] and "constant_outcome" in table.loc["b", "flags"]
    assert np.isnan(table.loc["b", "r2"])


def test_bad_input_is_named():
    with pytest.raises(AuditInputError, match="same number of rows"):
        compute_regression_audit([1.0, 2.0], [1.0], pd.DataFrame({"g": ["a", "b"]}))
    with pytest.raises(AuditInputError, match="row 2 holds nan"):
        compute_regression_audit([1.0, np.nan], [1.0, 2.0], pd.DataFrame({"g": ["a", "b"]}))
    with pytest.raises(AuditInputError, match="reference group 'zz'"):
        compute_regression_audit([1.0, 2.0], [1.0, 2.0], pd.DataFrame({"g": ["a", "b"]}), reference={"g": "zz"},
                                 n_boot=100)


@pytest.mark.parametrize("n", [10, 37, 999, 123_457])
def test_binomial_quantile_equals_scipy(n):
    from auditapp.core.regression import binomial_quantile

    for alpha in (0.005, 0.025, 0.975, 0.995):  # the tails the intervals use (at 0.5, q=0.5 ties are exact)
        for q in (0.1, 0.5, 0.9):
            assert binomial_quantile(alpha, n, q) == int(stats.binom.ppf(alpha, n, q))
