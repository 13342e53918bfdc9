"""Threshold sweeps, ROC AUC and calibration from sorted scores."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score, roc_curve

from auditapp.core.metrics import compute_audit
from auditapp.core.scores import build_threshold_index, calibration_table, roc_auc, roc_curves


def _scored(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y_true = rng.binomial(1, 0.4, n)
    y_score = np.clip(rng.normal(0.35 + 0.3 * y_true + 0.05 * (groups == "b"), 0.2), 0, 1).round(2)
    return y_true, y_score, groups


@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.35, 0.5, 0.77, 1.0, 1.5])
def test_counts_at_threshold_equal_a_full_recount(threshold):
    y_true, y_score, groups = _scored()
    index = build_threshold_index(y_true, y_score, groups)
    swept = index.rates_at(threshold)
    direct = compute_audit(y_true, (y_score >= threshold).astype(int), pd.DataFrame({"g": groups}),
                           n_boot=0, min_group_size=1).grouping("g").groups
    for metric in ("selection_rate", "true_positive_rate", "false_positive_rate", "precision"):
        np.testing.assert_allclose(swept[metric].to_numpy(float), direct[metric].to_numpy(float),
                                   atol=1e-12, equal_nan=True)


def test_curves_are_monotone_in_threshold():
    y_true, y_score, groups = _scored()
    curves = build_threshold_index(y_true, y_score, groups).curves(np.linspace(0, 1, 51))
    for _, part in curves.groupby("group"):
        assert (np.diff(part["selection_rate"].to_numpy()) <= 1e-15).all()


def test_auc_equals_sklearn_with_ties():
    y_true, y_score, groups = _scored()
    table = roc_auc(build_threshold_index(y_true, y_score, groups))
    for g in ("a", "b", "c"):
        mask = groups == g
        assert table.loc[g, "roc_auc"] == pytest.approx(roc_auc_score(y_true[mask], y_score[mask]), abs=1e-12)
        assert table.loc[g, "roc_auc_low"] < table.loc[g, "roc_auc"] < table.loc[g, "roc_auc_high"]


def test_roc_curve_points_lie_on_sklearns_curve():
    y_true, y_score, groups = _scored()
    curves = roc_curves(build_threshold_index(y_true, y_score, groups), max_points=10_000)
    mask = groups == "a"
    fpr, tpr, _ = roc_curve(y_true[mask], y_score[mask], drop_intermediate=False)
    mine = curves[curves["group"] == "a"]
    theirs = set(zip(np.round(fpr, 12), np.round(tpr, 12), strict=True))
    assert set(zip(np.round(mine["fpr"], 12), np.round(mine["tpr"], 12), strict=True)) <= theirs | {(0.0, 0.0)}


def test_auc_is_undefined_without_both_labels():
    index = build_threshold_index([1, 1, 0, 0], [0.9, 0.8, 0.1, 0.4], ["a", "a", "b", "b"])
    assert roc_auc(index)["roc_auc"].isna().all()


def test_calibration_table_counts_and_rates():
    y_true, y_score, groups = _scored()
    table = calibration_table(y_true, y_score, groups, n_bins=5)
    assert table["count"].sum() == len(y_true)
    part = table[(table["group"] == "a") & (table["bin"] == 4)]
    mask = (groups == "a") & (y_score >= 0.8)
    assert int(part["count"].iloc[0]) == int(mask.sum())
    assert part["observed_rate"].iloc[0] == pytest.approx(y_true[mask].mean())
    assert ((table["observed_low"] <= table["observed_rate"]) & (table["observed_rate"] <= table["observed_high"])).all()
