"""Tests, multiple-testing control and interval helpers."""

import numpy as np
import pytest
from scipy.stats import fisher_exact

from auditapp.rates import benjamini_hochberg, percentile_interval, two_proportion_p_values


@pytest.mark.parametrize("table", [(1, 10, 7, 9), (0, 5, 4, 4), (3, 3, 0, 8), (2, 40, 9, 30)])
def test_fisher_exact_matches_scipy(table):
    x1, n1, x2, n2 = table
    p, method = two_proportion_p_values(x1, n1, x2, n2)
    expected = fisher_exact([[x1, n1 - x1], [x2, n2 - x2]]).pvalue
    assert method[0] == "fisher"
    assert p[0] == pytest.approx(expected, abs=1e-12)


def test_z_test_by_hand():
    p, method = two_proportion_p_values(300, 1000, 250, 1000)
    pooled = 550 / 2000
    z = 0.05 / np.sqrt(pooled * (1 - pooled) * 2 / 1000)
    from scipy.stats import norm
    assert method[0] == "z"
    assert p[0] == pytest.approx(2 * norm.sf(z), rel=1e-12)


def test_empty_denominator_gives_no_test():
    p, method = two_proportion_p_values([0], [0], [3], [10])
    assert np.isnan(p[0]) and method[0] == ""


def test_benjamini_hochberg_by_hand():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan, 0.2]))
    # m = 4 tests: sorted p 0.01, 0.03, 0.04, 0.2 -> 0.04, 0.0533, 0.0533, 0.2
    np.testing.assert_allclose(q[[0, 2, 1, 4]], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2])
    assert np.isnan(q[3])


def test_percentile_interval_matches_numpy_and_skips_nan():
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(999, 3))
    reps[::7, 1] = np.nan
    reps[:, 2] = np.nan
    low, high = percentile_interval(reps, 0.9)
    np.testing.assert_allclose(low[:2], np.nanquantile(reps[:, :2], 0.05, axis=0), atol=1e-12)
    np.testing.assert_allclose(high[:2], np.nanquantile(reps[:, :2], 0.95, axis=0), atol=1e-12)
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_bias_corrected_interval_by_hand():
    from scipy.stats import norm

    rng = np.random.default_rng(1)
    reps = rng.normal(0.10, 0.02, size=(4000, 1))
    estimate = 0.08  # the replicates sit above the estimate, as they do for max−min spreads
    low, high = percentile_interval(reps, 0.95, estimate=estimate)
    z0 = norm.ppf(np.mean(reps[:, 0] < estimate))
    expected = np.quantile(reps[:, 0], norm.cdf([2 * z0 - 1.959964, 2 * z0 + 1.959964]))
    np.testing.assert_allclose([low[0], high[0]], expected, atol=1e-4)
    plain_low, plain_high = percentile_interval(reps, 0.95)
    assert high[0] < plain_high[0] and low[0] < plain_low[0]


def test_bias_corrected_interval_equals_percentile_when_centred():
    reps = np.linspace(-1, 1, 2001)[:, None]
    assert np.allclose(percentile_interval(reps, 0.9, estimate=0.0), percentile_interval(reps, 0.9))


def test_spread_interval_contains_a_biased_max_min_estimate():
    """Two groups with equal true rates: max−min is biased upwards; the interval must still hold it."""
    import pandas as pd

    from auditapp.metrics import compute_audit

    rng = np.random.default_rng(4)
    n = 2000
    groups = rng.choice(["a", "b", "c", "d"], n)
    y_pred = rng.binomial(1, 0.3, n)
    result = compute_audit(rng.binomial(1, 0.5, n), y_pred, pd.DataFrame({"g": groups}), n_boot=1000)
    row = result.grouping("g").summary.loc["selection_rate"]
    assert row["max_min_difference_low"] <= row["max_min_difference"] <= row["max_min_difference_high"]
