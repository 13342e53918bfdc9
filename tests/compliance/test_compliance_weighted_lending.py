"""Weighted rates by hand, the fair-lending ratios and SMDs by hand, and their agreement with hard labels."""

import numpy as np
import pandas as pd
import pytest

from auditapp.compliance.fair_lending import ALL_SEGMENTS, fair_lending
from auditapp.compliance.weighted import assign_groups, weighted_rates
from auditapp.core.errors import AuditInputError
from auditapp.core.intervals import proportion_interval, ratio_interval, z_value

MEMBERSHIP = pd.DataFrame({"A": [0.9, 0.2, 0.5, 0.0], "B": [0.1, 0.8, 0.5, 1.0]})
Y_PRED = [1, 0, 1, 1]
Y_TRUE = [1, 1, 0, 0]
VALUES = [3.0, 5.0, 4.0, 8.0]


def test_weighted_rates_by_hand():
    result = weighted_rates(MEMBERSHIP, Y_PRED, y_true=Y_TRUE, values=VALUES, control="A", n_boot=0)
    a, b = result.table.loc["A"], result.table.loc["B"]
    assert a["n"] == pytest.approx(1.6) and b["n"] == pytest.approx(2.4)
    assert a["selected"] == pytest.approx(0.9 + 0.5) and b["selected"] == pytest.approx(0.1 + 0.5 + 1.0)
    assert a["selection_rate"] == pytest.approx(1.4 / 1.6, abs=1e-12)
    assert b["selection_rate"] == pytest.approx(1.6 / 2.4, abs=1e-12)
    assert b["ratio"] == pytest.approx((1.6 / 2.4) / (1.4 / 1.6), abs=1e-12)
    # TPR: positives are rows 0 and 1; FPR: negatives rows 2 and 3.
    assert a["tpr"] == pytest.approx(0.9 / (0.9 + 0.2), abs=1e-12)
    assert b["fpr"] == pytest.approx((0.5 + 1.0) / (0.5 + 1.0), abs=1e-12)
    mean_a = (0.9 * 3 + 0.2 * 5 + 0.5 * 4) / 1.6
    mean_b = (0.1 * 3 + 0.8 * 5 + 0.5 * 4 + 1.0 * 8) / 2.4
    var_a = (0.9 * (3 - mean_a) ** 2 + 0.2 * (5 - mean_a) ** 2 + 0.5 * (4 - mean_a) ** 2) / 1.6
    var_b = sum(p * (v - mean_b) ** 2 for p, v in zip([0.1, 0.8, 0.5, 1.0], VALUES, strict=True)) / 2.4
    assert a["mean"] == pytest.approx(mean_a, abs=1e-12) and b["mean"] == pytest.approx(mean_b, abs=1e-12)
    assert b["smd"] == pytest.approx((mean_b - mean_a) / np.sqrt((var_a + var_b) / 2), abs=1e-12)


def test_bootstrap_is_seeded_and_rows_without_probabilities_are_counted():
    rng = np.random.default_rng(3)
    p = rng.dirichlet([1, 1, 1], 300)
    membership = pd.DataFrame(p, columns=["x", "y", "z"])
    membership.iloc[:7] = np.nan
    y = rng.integers(0, 2, 300)
    first = weighted_rates(membership, y, n_boot=200, seed=5)
    again = weighted_rates(membership, y, n_boot=200, seed=5)
    pd.testing.assert_frame_equal(first.table, again.table)
    assert first.rows_without_probabilities == 7 and first.rows_used == 293
    t = first.table
    assert (t["selection_rate_low"] <= t["selection_rate"]).all() and (t["selection_rate"] <= t["selection_rate_high"]).all()


def test_bad_probabilities_are_refused():
    with pytest.raises(AuditInputError, match="do not sum to 1"):
        weighted_rates(pd.DataFrame({"a": [0.5], "b": [0.4]}), [1], n_boot=0)
    with pytest.raises(AuditInputError, match="control group 'C' is not one of A, B"):
        weighted_rates(MEMBERSHIP, Y_PRED, control="C", n_boot=0)


def test_assignment_at_a_cutoff_states_its_bias():
    assigned = assign_groups(MEMBERSHIP, cutoff=0.8)
    assert list(assigned.groups) == ["A", "B", None, "B"]
    assert assigned.unassigned == 1
    assert "shrinks measured disparities" in assigned.bias_statement and "1 of 4 rows (25.0%)" in assigned.bias_statement


def test_air_and_denial_air_by_hand_with_score_intervals():
    groups = ["c"] * 50 + ["p"] * 40
    approved = [1] * 40 + [0] * 10 + [1] * 24 + [0] * 16
    result = fair_lending(approved, groups=groups, control="c")
    row = result.air.set_index("group").loc["p"]
    assert row["air"] == pytest.approx((24 / 40) / (40 / 50), abs=1e-12)  # 0.75
    assert row["denial_air"] == pytest.approx((16 / 40) / (10 / 50), abs=1e-12)  # 2.0
    z = float(z_value(0.95))
    low, high = ratio_interval(24, 40, 40, 50, z)
    assert (row["air_low"], row["air_high"]) == pytest.approx((float(low), float(high)), abs=1e-12)
    r_low, r_high = proportion_interval(24, 40, z)
    assert (row["approval_rate_low"], row["approval_rate_high"]) == pytest.approx((float(r_low), float(r_high)), abs=1e-12)
    control = result.air.set_index("group").loc["c"]
    assert control["air"] == 1.0 and np.isnan(control["air_low"])


def test_standardized_mean_difference_by_hand():
    groups = ["c", "c", "c", "p", "p", "p", "p"]
    prices = [1.0, 2.0, 3.0, 2.0, 3.0, 4.0, 5.0]
    result = fair_lending([1] * 7, groups=groups, control="c", values=prices)
    row = result.smd.set_index("group").loc["p"]
    var_c, var_p = 1.0, np.var([2, 3, 4, 5], ddof=1)  # 1.0, 1.6667
    pooled = np.sqrt((2 * var_c + 3 * var_p) / 5)
    d = (3.5 - 2.0) / pooled
    assert row["smd"] == pytest.approx(d, abs=1e-12)
    half = float(z_value(0.95)) * np.sqrt(7 / 12 + d * d / 14)
    assert (row["smd_low"], row["smd_high"]) == pytest.approx((d - half, d + half), abs=1e-12)
    assert bool(row["practically_significant"])


def test_segments_repeat_the_ratios_and_keep_a_segment_without_the_control():
    groups = ["c", "p", "c", "p", "p"]
    approved = [1, 0, 1, 1, 1]
    segments = ["auto", "auto", "home", "home", "boat"]
    result = fair_lending(approved, groups=groups, control="c", segments=segments)
    air = result.air.set_index(["segment", "group"])
    assert air.loc[("auto", "p"), "air"] == 0.0 and air.loc[("home", "p"), "air"] == 1.0
    assert air.loc[(ALL_SEGMENTS, "p"), "air"] == pytest.approx(2 / 3)
    assert np.isnan(air.loc[("boat", "p"), "air"]) and air.loc[("boat", "p"), "n"] == 1


def test_one_hot_probabilities_give_the_hard_label_numbers():
    rng = np.random.default_rng(1)
    groups = rng.choice(["c", "p", "q"], 400)
    approved = rng.integers(0, 2, 400)
    membership = pd.get_dummies(pd.Series(groups)).astype(float)
    hard = fair_lending(approved, groups=groups, control="c").air.set_index("group")
    soft = fair_lending(approved, membership=membership, control="c", n_boot=50).air.set_index("group")
    for column in ("n", "approved", "approval_rate", "air", "denial_air"):
        np.testing.assert_allclose(soft[column].to_numpy(float), hard[column].to_numpy(float), atol=1e-12)


def test_fair_lending_bad_input():
    with pytest.raises(AuditInputError, match="Approvals must be 0 or 1"):
        fair_lending([1, 2], groups=["a", "b"], control="a")
    with pytest.raises(AuditInputError, match="control group 'z' has no rows"):
        fair_lending([1, 0], groups=["a", "b"], control="z")
    with pytest.raises(AuditInputError, match="1 applications have no group"):
        fair_lending([1, 0], groups=["a", None], control="a")
