"""The seam every engine feeds: the audit from the counts table is the audit from the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.metrics import compute_audit, compute_audit_from_counts
from auditapp.core.spec import AuditSpec, Binning
from auditapp.engines.assemble import audit_from_aggregates
from auditapp.engines.pandas_engine import PandasEngine
from auditapp.inputs.models import from_estimator
from auditapp.reporting.record import audit_record
from tests.engines.data import assert_same_audit, audit_frame, fitted_model


def test_counts_table_gives_the_audit_of_the_rows():
    rng = np.random.default_rng(1)
    n = 3000
    features = pd.DataFrame({"a": rng.choice(["x", "y", "(missing)"], n), "b": rng.choice(["1", "2", "10"], n),
                             "c": rng.choice(["p", "q"], n, p=[0.97, 0.03])})
    y_true, y_pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    rows = compute_audit(y_true, y_pred, features, reference={"b": "10"}, min_group_size=40)
    cells = features.assign(tn=(y_true == 0) & (y_pred == 0), fp=(y_true == 0) & (y_pred == 1),
                            fn=(y_true == 1) & (y_pred == 0), tp=(y_true == 1) & (y_pred == 1))
    counts = cells.groupby(["c", "b", "a"], as_index=False)[["tn", "fp", "fn", "tp"]].sum()  # another order
    counts = pd.concat([counts, counts.iloc[:3].assign(tn=0, fp=0, fn=0, tp=0)])  # empty rows are ignored
    from_counts = compute_audit_from_counts(counts, ["a", "b", "c"], reference={"b": "10"}, min_group_size=40)
    assert from_counts.n_rows == n
    for a, b in zip(rows.groupings, from_counts.groupings, strict=True):
        assert_frame_equal(a.groups, b.groups)
        assert_frame_equal(a.disparities, b.disparities)
        assert_frame_equal(a.summary, b.summary)
        assert_frame_equal(a.criteria, b.criteria)


def test_counts_table_must_hold_rows():
    empty = pd.DataFrame({"a": ["x"], "tn": [0], "fp": [0], "fn": [0], "tp": [0]})
    with pytest.raises(AuditInputError, match="no rows"):
        compute_audit_from_counts(empty, ["a"])
    with pytest.raises(AuditInputError, match="negative"):
        compute_audit_from_counts(empty.assign(tn=-1), ["a"])


@pytest.mark.parametrize("source", ["prediction", "score", "model"])
def test_pandas_engine_gives_todays_audit(source):
    frame = audit_frame(4000, seed=2)
    options = {"prediction": {"prediction": "pred"}, "score": {"score": "score", "threshold": 0.4}, "model": {}}
    spec = AuditSpec(target="y", favorable="yes", sensitive=("sex", "race", "age"),
                     bins={"age": Binning(quantiles=3)}, reference={"race": "b"}, min_group_size=20,
                     **options[source])
    model = from_estimator(fitted_model(frame)) if source == "model" else None
    today = run_audit(frame, spec, model)
    counted = audit_from_aggregates(PandasEngine(frame).aggregate(spec, model), spec)
    assert_same_audit(today, counted)
    assert counted.data.source == today.data.source and counted.data.decision_rule == today.data.decision_rule
    assert counted.describe() == today.describe()
    if source != "prediction":
        for key in today.auc:  # AUC from binned scores: within the resolution of 10,000 bins
            assert np.allclose(today.auc[key]["roc_auc"], counted.auc[key]["roc_auc"], atol=1e-3)
        for name in spec.sensitive:
            a, b = today.calibration[name], counted.calibration[name]
            assert (a["count"].to_numpy() == b["count"].to_numpy()).all()
            assert np.allclose(a["mean_score"], b["mean_score"], rtol=0, atol=1e-12)
            assert np.allclose(a["observed_rate"], b["observed_rate"], rtol=0, atol=1e-12)


def test_engine_record_states_engine_and_resolution_in_memory_record_keeps_its_shape():
    frame = audit_frame(2000, seed=3)
    spec = AuditSpec(target="y", favorable="yes", sensitive=("sex",), score="score")
    info = {"name": "x", "sha256": "0" * 64, "rows": len(frame), "columns": list(frame.columns)}
    today = audit_record(run_audit(frame, spec), dataset=info, timestamp="t")
    counted = audit_record(audit_from_aggregates(PandasEngine(frame).aggregate(spec, bins=1000), spec),
                           dataset=info, timestamp="t")
    assert "engine" not in today["settings"] and "score_histograms" not in today["settings"]
    assert counted["settings"]["engine"] == "pandas"
    assert counted["settings"]["score_histograms"]["bins"] == 1000
    assert counted["settings"]["score_histograms"]["bin_width"] == pytest.approx(1e-3)
    for a, b in zip(today["groups"], counted["groups"], strict=True):
        auc_a, auc_b = a["metrics"].pop("roc_auc"), b["metrics"].pop("roc_auc")
        assert abs(auc_a["value"] - auc_b["value"]) < 1e-3  # ties within a bin count one half
        assert a == b
    or_skip = [k for k in today if k not in ("settings", "groups")]
    assert {k: counted[k] for k in or_skip} == {k: today[k] for k in or_skip}


def test_bad_bin_counts_are_refused():
    frame = audit_frame(500)
    spec = AuditSpec(target="y", favorable="yes", sensitive=("sex",), score="score")
    for bins in (5, 10_001, 2_000_000):
        with pytest.raises(AuditInputError, match="multiple of 10"):
            PandasEngine(frame).aggregate(spec, bins=bins)
