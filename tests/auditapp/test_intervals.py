"""Interval formulas against statsmodels and scipy, tests that agree with their intervals, small counts."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import beta
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
)
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

from auditapp.core.intervals import (
    MIN_DENOMINATOR,
    diff_interval,
    mover_p_value,
    mover_wilson,
    proportion_interval,
    ratio_interval,
    score_test,
    wilson,
    z_value,
)
from auditapp.core.metrics import compute_audit

Z95 = float(z_value(0.95))


def _tables(n_tables, seed, *, low=10, high=400):
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(low, high, n_tables), rng.integers(low, high, n_tables)
    x1, x2 = rng.binomial(n1, rng.uniform(0, 1, n_tables)), rng.binomial(n2, rng.uniform(0, 1, n_tables))
    x1[::7] = 0
    x2[::11] = n2[::11]
    return x1, n1, x2, n2


def test_wilson_equals_statsmodels():
    x1, n1, _, _ = _tables(300, 0)
    for confidence in (0.95, 0.8, 0.99):
        low, high = wilson(x1, n1, z_value(confidence))
        ref_low, ref_high = proportion_confint(x1, n1, alpha=1 - confidence, method="wilson")
        np.testing.assert_allclose(low, ref_low, atol=1e-12)
        np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_group_interval_uses_exact_bounds_next_to_zero_and_all_events():
    n = np.array([50, 50, 50, 200, 1_000_000, 100, 100])
    x = np.array([1, 3, 5, 4, 2, 99, 95])
    low, high = proportion_interval(x, n, Z95)
    exact_low = beta.ppf(0.025, x, n - x + 1)
    exact_high = beta.ppf(0.975, x + 1, n - x)
    wl, wh = wilson(x, n, Z95)
    small, small_not = x <= 5, n - x <= 5
    np.testing.assert_allclose(low[small], np.minimum(exact_low, wl)[small], rtol=1e-9)
    np.testing.assert_allclose(high[small_not], np.maximum(exact_high, wh)[small_not], rtol=1e-9)
    np.testing.assert_allclose(low[~small], wl[~small], atol=1e-12)


def test_small_counts_never_give_zero_width_and_tiny_denominators_are_too_few():
    # Issue 13, finding 2: 0 events gave [0, 0], one row [1, 1], precision 0/7 [0, 0].
    low, high = proportion_interval([0, 12, 0, 1, 0], [40, 12, 7, 1, 12], Z95)
    assert low[0] == 0 and high[0] > 0.05
    assert high[1] == 1 and low[1] < 0.8
    assert np.isnan(low[2]) and np.isnan(high[2])  # 0 of 7: below the floor of 10
    assert np.isnan(low[3]) and np.isnan(high[3])  # one row
    assert low[4] == 0 and high[4] > 0.2
    result = compute_audit([1] * 8 + [0] * 12, [0] * 20, pd.DataFrame({"g": ["a"] * 8 + ["b"] * 12}),
                           min_group_size=1)
    table = result.grouping("g").groups
    assert table.loc["a", "true_positive_rate"] == 0 and np.isnan(table.loc["a", "true_positive_rate_low"])
    assert table.loc["b", "selection_rate_low"] == 0 and table.loc["b", "selection_rate_high"] > 0.1


def _reference_mn(x1, n1, x2, n2, z):
    """Miettinen–Nurminen by brute force: the constrained MLE by numerical maximisation, then root finding."""
    def stat(d):
        lo, hi = max(0.0, -d), min(1.0, 1.0 - d)

        def nll(p):
            out = 0.0
            for x, n, q in ((x1, n1, p + d), (x2, n2, p)):
                q = min(max(q, 1e-300), 1 - 1e-16)
                out -= x * np.log(q) + (n - x) * np.log1p(-q)
            return out
        p = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-13}).x
        var = ((p + d) * (1 - p - d) / n1 + p * (1 - p) / n2) * (n1 + n2) / (n1 + n2 - 1)
        gap = x1 / n1 - x2 / n2 - d
        return (0.0 if gap == 0 else np.sign(gap) * np.inf) if var <= 0 else gap / np.sqrt(var)
    est = x1 / n1 - x2 / n2
    low = -1.0 if est <= -1 else brentq(lambda d: stat(d) - z, -1 + 1e-12, est, xtol=1e-13)
    high = 1.0 if est >= 1 else brentq(lambda d: stat(d) + z, est, 1 - 1e-12, xtol=1e-13)
    return low, high


def test_difference_interval_equals_a_brute_force_miettinen_nurminen():
    # statsmodels 0.15's closed form for the constrained MLE has x2·δ² where n2·δ² belongs, so its
    # "score" difference interval is off whenever δ != 0; we check against a brute-force inversion.
    x1, n1, x2, n2 = _tables(25, 1, high=200)
    low, high = diff_interval(x1, n1, x2, n2, Z95)
    for i in range(x1.size):
        ref = _reference_mn(int(x1[i]), int(n1[i]), int(x2[i]), int(n2[i]), Z95)
        assert (low[i], high[i]) == pytest.approx(ref, abs=1e-6), (x1[i], n1[i], x2[i], n2[i])


def test_ratio_interval_equals_statsmodels_koopman_with_the_mn_correction():
    x1, n1, x2, n2 = _tables(200, 2)
    keep = (x1 > 0) & (x2 > 0) & (x1 < n1) & (x2 < n2)
    low, high = ratio_interval(x1, n1, x2, n2, Z95)
    for i in np.flatnonzero(keep):
        ref = confint_proportions_2indep(x1[i], n1[i], x2[i], n2[i], method="score", compare="ratio",
                                         correction=True)
        assert (low[i], high[i]) == pytest.approx(ref, rel=1e-7)


def test_ratio_interval_zero_counts():
    low, high = ratio_interval([0, 5, 0], [50, 50, 50], [5, 0, 0], [50, 50, 50], Z95)
    assert low[0] == 0 and 0 < high[0] < 1
    assert high[1] == np.inf and low[1] > 1
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_score_test_equals_statsmodels():
    x1, n1, x2, n2 = _tables(300, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ref = [sm_test_2indep(*t, method="score", compare="diff", correction=True).pvalue
               for t in zip(x1, n1, x2, n2, strict=True)]
    ours = score_test(x1, n1, x2, n2)
    defined = ~np.isnan(ref)
    np.testing.assert_allclose(ours[defined], np.asarray(ref)[defined], atol=1e-12)
    assert np.all(ours[~defined] == 1.0)  # both rates 0 or both 1: no evidence of a difference


@pytest.mark.parametrize("confidence", [0.95, 0.9])
def test_difference_and_ratio_intervals_exclude_the_null_exactly_when_the_test_rejects(confidence):
    x1, n1, x2, n2 = _tables(400, 4, high=150)
    z = z_value(confidence)
    p = score_test(x1, n1, x2, n2)
    d_low, d_high = diff_interval(x1, n1, x2, n2, z)
    r_low, r_high = ratio_interval(x1, n1, x2, n2, z)
    clear = np.abs(p - (1 - confidence)) > 1e-9
    rejects = p < 1 - confidence
    assert np.array_equal(((d_low > 0) | (d_high < 0))[clear], rejects[clear])
    defined = ~np.isnan(r_low) & clear
    assert np.array_equal(((r_low > 1) | (r_high < 1))[defined], rejects[defined])


def test_mover_p_value_inverts_its_interval():
    rng = np.random.default_rng(5)
    parts = [(rng.integers(0, 60, 300), np.full(300, 60)) for _ in range(4)]
    weights = [0.5, -0.5, 0.5, -0.5]
    p = mover_p_value(parts, weights)
    _, low, high = mover_wilson(parts, weights, Z95)
    clear = np.abs(p - 0.05) > 1e-9
    assert np.array_equal(((low > 0) | (high < 0))[clear], (p < 0.05)[clear])


def test_floor_is_stated():
    assert MIN_DENOMINATOR == 10


def _one_at_a_time(move_low, low, high, iterations):
    """Plain bisection: one midpoint per element per step."""
    lo, hi = np.array(low, dtype=float), np.array(high, dtype=float)
    for _ in range(iterations):
        mid = (lo + hi) / 2
        move = move_low(mid)
        lo, hi = np.where(move, mid, lo), np.where(move, hi, mid)
    return lo, hi


@pytest.mark.parametrize("size", [1, 3, 40, 300])
@pytest.mark.parametrize("iterations", [7, 50, 56, 60, 62])
def test_bisect_levels_gives_one_at_a_time_bisection_bit_for_bit(size, iterations):
    """Several levels per call walk the same midpoints: the brackets are plain bisection's, even for a
    predicate that is not monotone (a path through the tree, not a search of sorted points)."""
    from auditapp.core.intervals import bisect_levels

    rng = np.random.default_rng(size * 100 + iterations)
    low, high = rng.uniform(-5, 0, size), rng.uniform(0, 5, size)
    root = rng.uniform(-5, 5, size)

    def monotone(points):
        return points < root

    def erratic(points):  # a fixed pseudo-random answer per point value
        bits = np.asarray(points, dtype=np.float64).view(np.uint64)
        return ((bits * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(61)) % np.uint64(2) == 1

    for predicate in (monotone, erratic):
        got = bisect_levels(predicate, low, high, iterations)
        want = _one_at_a_time(predicate, low, high, iterations)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    lo, hi = bisect_levels(monotone, low, high, 60)
    assert np.all((lo <= root) & (root <= hi) | (root < low) | (root > high))


def test_intervals_and_audit_equal_plain_bisection(monkeypatch):
    """Every bisection of an audit (score intervals, exact ends, MOVER p-values, per-group spread tests) gives
    the numbers that one midpoint per call gives (``_TREE_POINTS = 1`` forces one level per call)."""
    import auditapp.core.intervals as intervals

    x1, n1, x2, n2 = _tables(60, 11, low=0)
    x1[::5] = np.minimum(x1[::5], 2)
    z = np.linspace(0.5, 3.5, x1.size)
    rng = np.random.default_rng(12)
    rows = 6000
    y, p = rng.integers(0, 2, rows), (rng.random(rows) < 0.4).astype(int)
    features = pd.DataFrame({"many": rng.choice([f"g{i}" for i in range(45)], rows),
                             "few": rng.choice(["a", "b", "c"], rows)})

    def everything():
        audit = compute_audit(y, p, features, min_group_size=30)
        frames = [frame for g in audit.groupings for frame in (g.groups, g.disparities, g.criteria)]
        return [*intervals.diff_interval(x1, n1, x2, n2, z), *intervals.ratio_interval(x1, n1, x2, n2, z),
                *intervals.proportion_interval(x1, n1, z), mover_p_value([(x1, n1), (x2, n2)], [0.5, -0.5]),
                *(frame.select_dtypes("number").to_numpy(dtype=float) for frame in frames)]

    levels = everything()
    monkeypatch.setattr(intervals, "_TREE_POINTS", 1)
    plain = everything()
    assert len(levels) == len(plain)
    for got, want in zip(levels, plain, strict=True):
        np.testing.assert_array_equal(got, want)
