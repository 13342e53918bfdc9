"""Uniform Guidelines adverse impact: scipy for the tests, hand computations for the flips and shortfall."""

import numpy as np
import pytest
from scipy.stats import chi2_contingency, fisher_exact, hypergeom

from auditapp.compliance.uniform_guidelines import (
    adverse_impact,
    fisher_p,
    flips_to_insignificance,
    flips_to_ratio,
    two_sd_test,
)
from auditapp.core.errors import AuditInputError


def _data(counts):
    """counts: {group: (n, selected)} -> (selected flags, groups)."""
    selected, groups = [], []
    for group, (n, s) in counts.items():
        selected += [1] * s + [0] * (n - s)
        groups += [group] * n
    return selected, groups


def _fisher_by_hypergeometric_sum(s1, n1, s2, n2):
    """Two-sided Fisher p: the probabilities of every table at most as likely as the observed one."""
    total, chosen = n1 + n2, s1 + s2
    dist = hypergeom(total, chosen, n1)
    support = np.arange(max(0, chosen - n2), min(chosen, n1) + 1)
    pmf = dist.pmf(support)
    return float(pmf[pmf <= dist.pmf(s1) * (1 + 1e-7)].sum())


@pytest.mark.parametrize(("s1", "n1", "s2", "n2"), [(24, 80, 48, 100), (3, 40, 12, 45), (0, 10, 5, 12), (30, 60, 31, 60)])
def test_fisher_agrees_with_scipy_and_the_hypergeometric_sum(s1, n1, s2, n2):
    ours = fisher_p(s1, n1, s2, n2)
    assert ours == pytest.approx(fisher_exact([[s1, n1 - s1], [s2, n2 - s2]]).pvalue, abs=1e-12)
    assert ours == pytest.approx(_fisher_by_hypergeometric_sum(s1, n1, s2, n2), abs=1e-12)


@pytest.mark.parametrize(("s1", "n1", "s2", "n2"), [(24, 80, 48, 100), (3, 40, 12, 45), (130, 900, 170, 1000)])
def test_two_sd_test_is_the_uncorrected_chi_square(s1, n1, s2, n2):
    z, p = two_sd_test(s1, n1, s2, n2)
    chi2 = chi2_contingency([[s1, n1 - s1], [s2, n2 - s2]], correction=False)
    assert z * z == pytest.approx(chi2.statistic, abs=1e-12)
    assert p == pytest.approx(chi2.pvalue, abs=1e-12)
    from statsmodels.stats.proportion import proportions_ztest

    stat, pvalue = proportions_ztest([s1, s2], [n1, n2])
    assert z == pytest.approx(stat, abs=1e-12) and p == pytest.approx(pvalue, abs=1e-12)


def test_impact_ratio_flips_and_shortfall_by_hand():
    # Highest: 48 of 100 (48%); the other group: 24 of 80 (30%).
    result = adverse_impact(*_data({"men": (100, 48), "women": (80, 24)}))
    assert result.highest == "men"
    women = result.frame().loc["women"]
    assert women["impact_ratio"] == pytest.approx(0.30 / 0.48)  # 0.625 < 0.8
    assert bool(women["below_four_fifths"])
    # To reach 0.8: 0.8 * 0.48 * 80 = 30.72 selections, so 31 - 24 = 7 more.
    assert women["flips_to_four_fifths"] == 7
    # Parity: 0.48 * 80 = 38.4 expected selections: shortfall 14.4, 15 whole selections.
    assert women["shortfall"] == pytest.approx(14.4)
    assert women["selections_for_parity"] == 15
    # The flip count is the first k at which the test stops being significant.
    k = int(women["flips_fisher"])
    assert fisher_exact([[24 + k - 1, 56 - k + 1], [48, 52]]).pvalue < 0.05
    assert fisher_exact([[24 + k, 56 - k], [48, 52]]).pvalue >= 0.05
    kz = int(women["flips_z"])
    assert two_sd_test(24 + kz - 1, 80, 48, 100)[1] < 0.05 <= two_sd_test(24 + kz, 80, 48, 100)[1]
    assert women["fisher_p"] == pytest.approx(fisher_exact([[24, 56], [48, 52]]).pvalue, abs=1e-12)


def test_flips_are_zero_when_nothing_is_significant():
    result = adverse_impact(*_data({"a": (50, 20), "b": (50, 19)}))
    row = result.frame().loc["b"]
    assert row["flips_fisher"] == 0 and row["flips_z"] == 0 and row["flips_to_four_fifths"] == 0


def test_flips_to_ratio_is_exact_at_the_boundary():
    # 0.8 * (50/100) * 40 = 16 exactly: 16 selections reach the line, so 16 - 10 = 6.
    assert flips_to_ratio(10, 40, 50, 100) == 6
    assert flips_to_ratio(16, 40, 50, 100) == 0


def test_large_groups_use_bisection_and_keep_the_defining_property():
    s_g, n_g, s_h, n_h = 90_000, 200_000, 100_000, 200_000  # parity is 10,000 flips away

    def z_p(s1, n1, s2, n2):
        return two_sd_test(s1, n1, s2, n2)[1]

    k, method = flips_to_insignificance(s_g, n_g, s_h, n_h, z_p, 0.05)
    assert method == "bisection"
    assert z_p(s_g + k - 1, n_g, s_h, n_h) < 0.05 <= z_p(s_g + k, n_g, s_h, n_h)


def test_equal_highest_rates_compare_with_the_larger_group():
    assert adverse_impact(*_data({"a": (10, 5), "b": (40, 20), "c": (30, 3)})).highest == "b"


def test_bad_input_is_named():
    with pytest.raises(AuditInputError, match="must be 0 or 1, but contain 2"):
        adverse_impact([0, 1, 2], ["a", "b", "a"])
    with pytest.raises(AuditInputError, match="1 rows have no group"):
        adverse_impact([0, 1, 1], ["a", None, "b"])
    with pytest.raises(AuditInputError, match="No group has any selection"):
        adverse_impact([0, 0], ["a", "b"])
