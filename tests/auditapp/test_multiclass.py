"""Multiclass audit: per-class rates equal a pandas crosstab, one-vs-rest rates equal fairlearn MetricFrame
with scikit-learn, intervals are the rates' intervals, confusion matrices are scikit-learn's."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.metrics import accuracy_score, confusion_matrix, precision_score, recall_score

from auditapp.core.errors import AuditInputError
from auditapp.core.intervals import diff_interval, proportion_interval, z_value
from auditapp.core.multiclass import compute_multiclass_audit

CLASSES = ("hi", "lo", "mid")


def _data(n=1500, seed=2):
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b"], n, p=[0.65, 0.35])
    h = rng.choice(["u", "v"], n)
    y = rng.choice(CLASSES, n)
    noise = rng.choice(CLASSES, n)
    p = np.where(rng.random(n) < np.where(g == "b", 0.5, 0.8), y, noise)
    p = np.where((g == "b") & (rng.random(n) < 0.2), "lo", p)
    return y, p, pd.DataFrame({"g": g, "h": h})


def test_class_rates_equal_a_pandas_crosstab():
    y, p, sf = _data()
    grouping = compute_multiclass_audit(y, p, sf).grouping("g", "h")
    expected = pd.crosstab([sf["g"], sf["h"]], pd.Series(p, name="pred"), normalize="index")
    for _label, row in grouping.groups.iterrows():
        for c in CLASSES:
            assert row[f"class_rate:{c}"] == pytest.approx(expected.loc[(row["g"], row["h"]), c], abs=1e-12)


def test_one_vs_rest_rates_equal_fairlearn_with_scikit_learn():
    y, p, sf = _data()
    grouping = compute_multiclass_audit(y, p, sf).grouping("g")
    metrics = {"accuracy": accuracy_score}
    for c in CLASSES:
        metrics[f"tpr:{c}"] = lambda t, q, c=c: recall_score(t == c, q == c)
        metrics[f"precision:{c}"] = lambda t, q, c=c: precision_score(t == c, q == c)
        metrics[f"fpr:{c}"] = lambda t, q, c=c: float(np.mean(q[t != c] == c))
    frame = MetricFrame(metrics=metrics, y_true=y, y_pred=p, sensitive_features=sf["g"]).by_group
    for group in ("a", "b"):
        for name in metrics:
            assert grouping.groups.loc[group, name] == pytest.approx(frame.loc[group, name], abs=1e-12), name


def test_intervals_are_the_rate_intervals_and_disparities_the_score_intervals():
    y, p, sf = _data()
    grouping = compute_multiclass_audit(y, p, sf, reference={"g": "a"}).grouping("g")
    rows = (sf["g"] == "b").to_numpy()
    x, n = int(np.sum(p[rows] == "lo")), int(rows.sum())
    low, high = proportion_interval(x, n, z_value(0.95))
    assert grouping.groups.loc["b", "class_rate:lo_low"] == pytest.approx(float(low), abs=1e-15)
    assert grouping.groups.loc["b", "class_rate:lo_high"] == pytest.approx(float(high), abs=1e-15)
    ref = ~rows
    d_low, d_high = diff_interval(x, n, int(np.sum(p[ref] == "lo")), int(ref.sum()), z_value(0.95))
    disp = grouping.disparities.set_index(["group", "metric"]).loc[("b", "class_rate:lo")]
    assert (disp["difference_low"], disp["difference_high"]) == pytest.approx((float(d_low), float(d_high)))
    # group b is pushed into "lo": its accuracy is lower, and the interval of the gap excludes 0
    acc = grouping.disparities.set_index(["group", "metric"]).loc[("b", "accuracy")]
    assert acc["difference_high"] < 0


def test_confusion_matrix_per_group_is_scikit_learns_and_rows_normalise():
    y, p, sf = _data()
    grouping = compute_multiclass_audit(y, p, sf).grouping("g")
    rows = (sf["g"] == "a").to_numpy()
    expected = confusion_matrix(y[rows], p[rows], labels=list(CLASSES))
    np.testing.assert_array_equal(grouping.confusion["a"].to_numpy(), expected)
    normalized = grouping.normalized_confusion("a").to_numpy()
    np.testing.assert_allclose(normalized, expected / expected.sum(axis=1, keepdims=True), rtol=0, atol=1e-15)


def test_impact_ratio_per_class_and_macro_summaries():
    y, p, sf = _data()
    grouping = compute_multiclass_audit(y, p, sf).grouping("g")
    table = grouping.groups
    for c in CLASSES:
        rates = table[f"class_rate:{c}"]
        assert table[f"impact_ratio:{c}"].to_dict() == pytest.approx((rates / rates.max()).to_dict(), abs=1e-15)
    assert table.loc["a", "macro_tpr"] == pytest.approx(np.mean([table.loc["a", f"tpr:{c}"] for c in CLASSES]))
    crit = grouping.criteria["value"]
    assert crit["min_impact_ratio"] == pytest.approx(
        min(table[f"impact_ratio:{c}"].min() for c in CLASSES), abs=1e-15)
    gaps = [table[f"tpr:{c}"].max() - table[f"tpr:{c}"].min() for c in CLASSES]
    assert crit["max_tpr_gap"] == pytest.approx(max(gaps)) and crit["macro_tpr_gap"] == pytest.approx(np.mean(gaps))


def test_labels_outside_the_classes_are_named():
    with pytest.raises(AuditInputError, match="predictions hold zz"):
        compute_multiclass_audit(["a", "b"], ["a", "zz"], pd.DataFrame({"g": ["x", "y"]}), classes=("a", "b"))


def test_too_many_classes_are_refused_before_any_work():
    labels = [str(i) for i in range(50)]
    with pytest.raises(AuditInputError, match="hold 50 classes; at most 20"):
        compute_multiclass_audit(labels, labels, pd.DataFrame({"g": ["x"] * 50}))
