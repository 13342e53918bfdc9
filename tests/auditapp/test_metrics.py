"""Group metrics: agreement with fairlearn, hand-checked cases, invariances and intervals."""

import functools
import warnings

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_negative_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_score

from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import compute_audit

FAIRLEARN = {
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "true_negative_rate": true_negative_rate,
    "false_negative_rate": false_negative_rate,
    "accuracy": accuracy_score,
    "balanced_accuracy": balanced_accuracy_score,
    "precision": functools.partial(precision_score, zero_division=np.nan),
    "count": count,
}


def _layout(name: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    if name == "three_groups":
        n = 600
        groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
        y_true = rng.binomial(1, np.where(groups == "a", 0.6, 0.3))
        y_pred = rng.binomial(1, np.where(groups == "c", 0.2, 0.5))
    elif name == "singletons":
        groups = np.array(["a", "b", "c", "d", "e", "e", "e", "f"])
        y_true = np.array([1, 0, 1, 0, 1, 0, 1, 1])
        y_pred = np.array([1, 1, 0, 0, 1, 1, 0, 1])
    elif name == "no_positives":
        n = 200
        groups = rng.choice(["p", "q", "r"], n)
        y_true = rng.binomial(1, 0.4, n)
        y_true[groups == "r"] = 0
        y_pred = rng.binomial(1, 0.5, n)
    elif name == "skewed":
        n = 5000
        groups = rng.choice(list("abcdefg"), n, p=[0.6, 0.2, 0.1, 0.05, 0.03, 0.015, 0.005])
        y_true = rng.binomial(1, 0.2, n)
        y_pred = rng.binomial(1, 0.25, n)
    else:
        raise ValueError(name)
    return np.asarray(y_true), np.asarray(y_pred), pd.Series(groups, name="group")


def _fairlearn_frame(y_true, y_pred, sensitive):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns for groups with one true class; values are compared
        return MetricFrame(metrics=FAIRLEARN, y_true=y_true, y_pred=y_pred, sensitive_features=sensitive)


@pytest.mark.parametrize("layout", ["three_groups", "singletons", "no_positives", "skewed"])
def test_group_values_equal_fairlearn(layout):
    y_true, y_pred, groups = _layout(layout)
    ours = compute_audit(y_true, y_pred, groups.to_frame(), min_group_size=1, n_boot=0)
    table = ours.grouping("group").groups
    theirs = _fairlearn_frame(y_true, y_pred, groups).by_group
    assert list(table.index) == [str(g) for g in theirs.index]
    for metric, _ in FAIRLEARN.items():
        column = "count" if metric == "count" else metric
        mine = table[column].to_numpy(dtype=float)
        peer = theirs[metric].to_numpy(dtype=float)
        defined = ~np.isnan(mine)
        # Where a rate's denominator is zero we say "undefined" (NaN); fairlearn/sklearn say 0.
        np.testing.assert_allclose(mine[defined], peer[defined], rtol=0, atol=1e-12, err_msg=metric)
        undefined_peer = peer[~defined]
        assert np.all((undefined_peer == 0) | np.isnan(undefined_peer)), metric


def test_group_with_no_positives_has_undefined_tpr_and_a_flag():
    y_true, y_pred, groups = _layout("no_positives")
    table = compute_audit(y_true, y_pred, groups.to_frame(), min_group_size=1, n_boot=50).grouping("group").groups
    assert np.isnan(table.loc["r", "true_positive_rate"])
    assert np.isnan(table.loc["r", "false_negative_rate"])
    assert "no_positives" in table.loc["r", "flags"]
    assert not np.isnan(table.loc["r", "false_positive_rate"])


def test_intersections_equal_fairlearn_with_two_features():
    rng = np.random.default_rng(3)
    n = 2000
    sensitive = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "race": rng.choice(["x", "y", "z"], n)})
    y_true = rng.binomial(1, 0.4, n)
    y_pred = rng.binomial(1, 0.5, n)
    result = compute_audit(y_true, y_pred, sensitive, n_boot=0)
    theirs = _fairlearn_frame(y_true, y_pred, sensitive).by_group
    table = result.grouping("sex", "race").groups
    for (sex, race), row in theirs.iterrows():
        mine = table.loc[f"{sex} & {race}"]
        for metric in ("selection_rate", "true_positive_rate", "false_positive_rate", "precision"):
            assert mine[metric] == pytest.approx(row[metric], abs=1e-12)
    singles = result.grouping("race").groups
    assert singles["count"].sum() == n
    assert [g.features for g in result.groupings] == [("sex",), ("race",), ("sex", "race")]


def test_named_criteria_equal_fairlearn():
    y_true, y_pred, groups = _layout("three_groups")
    criteria = compute_audit(y_true, y_pred, groups.to_frame(), n_boot=0).grouping("group").criteria
    kwargs = {"y_true": y_true, "y_pred": y_pred, "sensitive_features": groups}
    assert criteria.loc["demographic_parity_difference", "value"] == pytest.approx(
        demographic_parity_difference(**kwargs), abs=1e-12)
    assert criteria.loc["demographic_parity_ratio", "value"] == pytest.approx(
        demographic_parity_ratio(**kwargs), abs=1e-12)
    assert criteria.loc["equalized_odds_difference", "value"] == pytest.approx(
        equalized_odds_difference(**kwargs), abs=1e-12)


def test_hand_computed_tiny_case():
    result = compute_audit(
        y_true=[1, 0, 1, 1, 0, 0], y_pred=[1, 0, 0, 1, 1, 1],
        sensitive_features=pd.DataFrame({"g": ["a", "a", "a", "b", "b", "b"]}),
        min_group_size=1, n_boot=0, reference={"g": "b"},
    )
    grouping = result.grouping("g")
    table = grouping.groups
    assert table.loc["a", "selection_rate"] == pytest.approx(1 / 3)
    assert table.loc["b", "selection_rate"] == pytest.approx(1.0)
    assert table.loc["a", "true_positive_rate"] == pytest.approx(1 / 2)
    assert table.loc["b", "false_positive_rate"] == pytest.approx(1.0)
    assert table.loc["b", "precision"] == pytest.approx(1 / 3)
    assert grouping.reference == "b"
    row = grouping.disparities.set_index("metric").loc["selection_rate"]
    assert row["difference"] == pytest.approx(1 / 3 - 1)
    assert row["ratio"] == pytest.approx(1 / 3)
    assert grouping.summary.loc["selection_rate", "max_min_difference"] == pytest.approx(2 / 3)


def test_results_do_not_depend_on_row_order():
    y_true, y_pred, groups = _layout("three_groups")
    first = compute_audit(y_true, y_pred, groups.to_frame(), n_boot=200, seed=7)
    order = np.random.default_rng(1).permutation(len(y_true))
    second = compute_audit(y_true[order], y_pred[order], groups.iloc[order].to_frame(), n_boot=200, seed=7)
    pd.testing.assert_frame_equal(first.grouping("group").groups, second.grouping("group").groups)
    pd.testing.assert_frame_equal(first.grouping("group").disparities, second.grouping("group").disparities)


def test_confidence_intervals_contain_the_estimate_and_narrow_with_more_data():
    widths = []
    for n in (400, 40_000):
        rng = np.random.default_rng(n)
        groups = rng.choice(["a", "b"], n)
        y_true = rng.binomial(1, 0.5, n)
        y_pred = rng.binomial(1, np.where(groups == "a", 0.6, 0.4))
        grouping = compute_audit(y_true, y_pred, pd.DataFrame({"g": groups}), n_boot=400).grouping("g")
        table = grouping.groups
        for metric in ("selection_rate", "true_positive_rate", "precision", "balanced_accuracy"):
            assert (table[f"{metric}_low"] <= table[metric]).all()
            assert (table[metric] <= table[f"{metric}_high"]).all()
        d = grouping.disparities
        assert ((d["difference_low"] <= d["difference"]) & (d["difference"] <= d["difference_high"])).all()
        widths.append(float((table["selection_rate_high"] - table["selection_rate_low"]).mean()))
    assert widths[1] < widths[0] / 5


def test_intervals_do_not_depend_on_the_seed_or_the_bootstrap_setting():
    y_true, y_pred, groups = _layout("three_groups")
    a = compute_audit(y_true, y_pred, groups.to_frame(), n_boot=100, seed=5).grouping("group")
    b = compute_audit(y_true, y_pred, groups.to_frame(), n_boot=0, seed=6).grouping("group")
    pd.testing.assert_frame_equal(a.groups, b.groups)
    pd.testing.assert_frame_equal(a.disparities, b.disparities)
    pd.testing.assert_frame_equal(a.criteria, b.criteria)


def test_every_reported_interval_contains_its_estimate():
    y_true, y_pred, groups = _layout("skewed")
    grouping = compute_audit(y_true, y_pred, groups.to_frame(), min_group_size=1).grouping("group")
    table = grouping.groups
    for metric in ("selection_rate", "true_positive_rate", "precision", "balanced_accuracy"):
        has = table[f"{metric}_low"].notna()
        assert has.any()
        assert (table.loc[has, f"{metric}_low"] <= table.loc[has, metric]).all()
        assert (table.loc[has, metric] <= table.loc[has, f"{metric}_high"]).all()
    d = grouping.disparities.dropna(subset=["difference_low"])
    assert ((d["difference_low"] <= d["difference"] + 1e-12) & (d["difference"] <= d["difference_high"] + 1e-12)).all()
    r = grouping.disparities.dropna(subset=["ratio_low"])
    assert ((r["ratio_low"] <= r["ratio"] + 1e-12) & (r["ratio"] <= r["ratio_high"] + 1e-12)).all()
    c = grouping.criteria.dropna(subset=["low"])
    assert ((c["low"] <= c["value"] + 1e-12) & (c["value"] <= c["high"] + 1e-12)).all()


def test_reference_choices():
    y_true, y_pred, groups = _layout("three_groups")
    frame = groups.to_frame()
    assert compute_audit(y_true, y_pred, frame, n_boot=0).grouping("group").reference == "a"
    best = compute_audit(y_true, y_pred, frame, n_boot=0, reference={"group": "best:selection_rate"})
    table = best.grouping("group").groups
    assert best.grouping("group").reference == table["selection_rate"].idxmax()
    named = compute_audit(y_true, y_pred, frame, n_boot=0, reference={"group": "c"})
    assert named.grouping("group").reference == "c"
    assert set(named.grouping("group").disparities["group"]) == {"a", "b"}


def test_unknown_reference_group_is_named():
    y_true, y_pred, groups = _layout("three_groups")
    with pytest.raises(AuditInputError, match="'zzz' does not occur in 'group'.*a, b, c"):
        compute_audit(y_true, y_pred, groups.to_frame(), n_boot=0, reference={"group": "zzz"})
    with pytest.raises(AuditInputError, match="Unknown metric 'speed'"):
        compute_audit(y_true, y_pred, groups.to_frame(), n_boot=0, reference={"group": "best:speed"})


def test_small_groups_are_flagged():
    y_true, y_pred, groups = _layout("skewed")
    table = compute_audit(y_true, y_pred, groups.to_frame(), n_boot=0, min_group_size=30).grouping("group").groups
    assert "small_group" in table.loc["g", "flags"]
    assert "small_group" not in table.loc["a", "flags"]


def test_bad_inputs_are_explained():
    frame = pd.DataFrame({"g": ["a", "b"]})
    with pytest.raises(AuditInputError, match="must be 0 or 1, but contain 2"):
        compute_audit([0, 2], [0, 1], frame, n_boot=0)
    with pytest.raises(AuditInputError, match="same number of rows"):
        compute_audit([0, 1, 1], [0, 1], frame, n_boot=0)
    with pytest.raises(AuditInputError, match="no rows"):
        compute_audit([], [], pd.DataFrame({"g": []}), n_boot=0)


def test_q_values_adjust_across_the_whole_audit():
    y_true, y_pred, groups = _layout("three_groups")
    result = compute_audit(y_true, y_pred, groups.to_frame(), n_boot=0)
    d = result.grouping("group").disparities.dropna(subset=["p_value"])
    assert (d["q_value"] >= d["p_value"] - 1e-15).all()
    assert d["q_value"].max() <= 1.0
