"""Spreads across groups, the average odds difference and the family of tests (issue 13, findings 1, 3, 4)."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import false_positive_rate, true_positive_rate

from auditapp.core.intervals import diff_interval, score_test, z_value
from auditapp.core.metrics import compute_audit
from auditapp.core.spreads import PAIRWISE_MAX_GROUPS, spread_of_proportions, versus_highest


def _german_like(seed: int, n: int = 1000):
    """Credit decisions with a small gap between two groups of unequal size (German-credit-like)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n, p=[0.31, 0.69])
    y_true = rng.binomial(1, 0.7, n)
    y_pred = rng.binomial(1, np.where(sex == "male", 0.74, 0.66))
    return y_true, y_pred, pd.DataFrame({"sex": sex})


@pytest.mark.parametrize("seed", range(12))
def test_two_group_spread_agrees_with_the_pairs_own_test(seed):
    # On German credit the app printed "demographic parity difference 0.091 [0.010, 0.196]" while the
    # same pair's test gave p = 0.08. With two groups the spread is |the pair's difference|: its
    # interval is the pair's interval folded at 0, and its test is the pair's test.
    y_true, y_pred, sensitive = _german_like(seed)
    grouping = compute_audit(y_true, y_pred, sensitive).grouping("sex")
    criterion = grouping.criteria.loc["demographic_parity_difference"]
    pair = grouping.disparities.query("metric == 'selection_rate'").iloc[0]
    assert criterion["p_value"] == pytest.approx(pair["p_value"], abs=1e-12)
    excludes_zero = criterion["low"] > 0
    assert excludes_zero == (criterion["p_value"] < 0.05)
    assert excludes_zero == ((pair["difference_low"] > 0) | (pair["difference_high"] < 0))
    assert criterion["high"] == pytest.approx(max(abs(pair["difference_low"]), abs(pair["difference_high"])))


def test_spread_at_exact_parity_covers_zero():
    # Issue 13, finding 1: at exact parity (3 groups x 200 rows) the old interval excluded 0 every time.
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(400):
        x = rng.binomial(200, 0.3, 3)
        est = spread_of_proportions([(x, np.full(3, 200))], 0.95)
        covered += est.difference_low <= 0 <= est.difference_high and est.ratio_low <= 1 <= est.ratio_high
    assert covered / 400 >= 0.93  # the Monte-Carlo standard error is about 0.011


def test_pairwise_spread_interval_is_built_from_bonferroni_pair_intervals():
    x, n = np.array([30, 45, 60, 52]), np.array([200, 210, 190, 400])
    est = spread_of_proportions([(x, n)], 0.95)
    i, j = np.triu_indices(4, 1)
    low, high = diff_interval(x[i], n[i], x[j], n[j], z_value(1 - 0.05 / 6))
    assert est.method == "pairwise" and est.pairs == 6
    assert est.difference_low == pytest.approx(max(0.0, np.max(np.maximum(low, -high))))
    assert est.difference_high == pytest.approx(np.max(np.maximum(np.abs(low), np.abs(high))))
    assert est.p_value == pytest.approx(min(1.0, 6 * score_test(x[i], n[i], x[j], n[j]).min()))
    assert est.difference_low <= (x / n).max() - (x / n).min() <= est.difference_high


@pytest.mark.parametrize("k", [5, PAIRWISE_MAX_GROUPS + 10])
def test_spread_interval_and_test_agree(k):
    rng = np.random.default_rng(k)
    for _ in range(40):
        n = rng.integers(20, 300, k)
        x = rng.binomial(n, rng.uniform(0.2, 0.35, k))
        for confidence in (0.95, 0.8):
            est = spread_of_proportions([(x, n)], confidence)
            if abs(est.p_value - (1 - confidence)) < 1e-6:
                continue
            assert (est.difference_low > 0) == (est.p_value < 1 - confidence)
            assert (est.ratio_high < 1) == (est.p_value < 1 - confidence)


def test_many_groups_use_per_group_simultaneous_intervals():
    k = PAIRWISE_MAX_GROUPS + 1
    rng = np.random.default_rng(1)
    n = np.full(k, 100)
    x = rng.binomial(100, 0.4, k)
    est = spread_of_proportions([(x, n)], 0.95)
    assert est.method == "per_group" and est.groups == k
    assert est.difference_low <= (x / n).max() - (x / n).min() <= est.difference_high


def test_four_fifths_against_the_highest_group_holds_for_every_comparison():
    x, n = np.array([50, 60, 45]), np.array([100, 100, 100])
    value, low, high = versus_highest(x, n, 0.95, measure="ratio")
    np.testing.assert_allclose(value, [50 / 60, 1.0, 45 / 60])
    assert np.all(low <= value) and np.all(value <= high) and np.all(high <= 1)


def test_average_odds_difference_as_aif360_defines_it():
    rng = np.random.default_rng(2)
    n = 3000
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y_true = rng.binomial(1, 0.4, n)
    y_pred = rng.binomial(1, np.where(g == "a", 0.5, 0.35))
    grouping = compute_audit(y_true, y_pred, pd.DataFrame({"g": g})).grouping("g")
    rows = grouping.disparities.query("metric == 'average_odds_difference'").set_index("group")
    ref = g == "a"
    for other in ("b", "c"):
        m = g == other
        expected = 0.5 * ((false_positive_rate(y_true[m], y_pred[m]) - false_positive_rate(y_true[ref], y_pred[ref]))
                          + (true_positive_rate(y_true[m], y_pred[m]) - true_positive_rate(y_true[ref], y_pred[ref])))
        row = rows.loc[other]
        assert row["difference"] == pytest.approx(expected, abs=1e-12)
        assert row["difference_low"] < row["difference"] < row["difference_high"]
        assert row["test"] == "mover" and (row["p_value"] < 0.05) == (row["difference_high"] < 0)


def test_benjamini_hochberg_counts_each_distinct_test_once():
    # Issue 13, finding 3: six groups, five compared with the reference: 11 proportion metrics gave 55
    # tests, but TPR/FNR, FPR/TNR, precision/FDR and NPV/FOR are one test each: 35; balanced accuracy
    # and the average odds difference add one test each per group: 45.
    rng = np.random.default_rng(3)
    n = 6000
    g = rng.choice(list("abcdef"), n)
    y_true = rng.binomial(1, 0.4, n)
    y_pred = rng.binomial(1, np.where(g == "a", 0.5, 0.45))
    d = compute_audit(y_true, y_pred, pd.DataFrame({"g": g})).grouping("g").disparities
    family = d.dropna(subset=["p_value"])
    pairs = {"false_negative_rate": "true_positive_rate", "true_negative_rate": "false_positive_rate",
             "false_discovery_rate": "precision", "false_omission_rate": "negative_predictive_value"}
    distinct = family[~family["metric"].isin(list(pairs))]
    assert len(distinct) == 45
    assert len(distinct[distinct["test"] == "score"]) == 35
    p = np.sort(distinct["p_value"].to_numpy())
    expected = np.minimum.accumulate((p * 45 / np.arange(1, 46))[::-1])[::-1]
    np.testing.assert_allclose(np.sort(distinct["q_value"].to_numpy()), np.minimum(expected, 1), atol=1e-12)
    by = d.set_index(["group", "metric"])
    for complement, partner in pairs.items():
        for group in "bcdef":
            assert by.loc[(group, complement), "q_value"] == by.loc[(group, partner), "q_value"]
            assert by.loc[(group, complement), "p_value"] == pytest.approx(by.loc[(group, partner), "p_value"])
