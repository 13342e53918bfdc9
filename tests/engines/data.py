"""Generated audit data for the engine tests: every kind of column an engine must read the same way."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

FEATURES = ["x1", "x2", "region"]


def audit_frame(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """Text and numeric sensitive features with missing values, a text target, scores, predictions."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["f", "m"], n, p=[0.45, 0.55])
    race = rng.choice(np.array(["a", "b", "c", None], dtype=object), n, p=[0.5, 0.3, 0.15, 0.05])
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.03] = np.nan
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    region = rng.choice(["north", "south"], n)
    logit = 0.9 * x1 - 0.5 * (sex == "f") + 0.3 * x2
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    score = np.clip(1 / (1 + np.exp(-(logit + rng.normal(0, 0.7, n)))), 0, 1)
    score[:5] = [0.5, 0.0, 1.0, 0.25, 0.75]  # scores exactly at bin edges and at the threshold
    return pd.DataFrame({"sex": sex, "race": race, "age": age, "x1": x1.round(4), "x2": x2.round(4),
                         "region": region, "y": y, "score": score,
                         "pred": np.where(score >= 0.5, "yes", "no"), "flag": (score >= 0.4).astype(int)})


def fitted_model(frame: pd.DataFrame):
    """A logistic regression on numeric features (saved as skops by the tests that need a file)."""
    from sklearn.compose import make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = make_column_transformer((OneHotEncoder(), ["region"]), remainder="passthrough")
    return make_pipeline(pre, LogisticRegression()).fit(frame[FEATURES], frame["y"])


def write_parts(frame: pd.DataFrame, folder, parts: int = 3) -> list:
    """The frame split into ``parts`` Parquet files (``part-0.parquet`` ...)."""
    bounds = np.linspace(0, len(frame), parts + 1).astype(int)
    paths = []
    for i in range(parts):
        path = folder / f"part-{i}.parquet"
        frame.iloc[bounds[i]:bounds[i + 1]].to_parquet(path, index=False)
        paths.append(path)
    return paths


def assert_same_audit(expected, actual) -> None:
    """Every table of two audits equal: counts identical, every rate and interval to 1e-12."""
    from pandas.testing import assert_frame_equal

    assert expected.result.n_rows == actual.result.n_rows
    for a, b in zip(expected.result.groupings, actual.result.groupings, strict=True):
        assert a.features == b.features and a.reference == b.reference
        for name in ("tn", "fp", "fn", "tp", "count"):
            assert (a.groups[name].to_numpy() == b.groups[name].to_numpy()).all()
        assert_frame_equal(a.groups, b.groups, rtol=1e-12, atol=1e-12)
        assert_frame_equal(a.disparities, b.disparities, rtol=1e-12, atol=1e-12)
        assert_frame_equal(a.summary, b.summary, rtol=1e-12, atol=1e-12)
        assert_frame_equal(a.criteria, b.criteria, rtol=1e-12, atol=1e-12)


def same_aggregates(expected, actual, *, notices: bool = True) -> None:
    """Two engines' aggregates are the same: cells exactly, score histograms (sums to 1e-12), how the
    decisions were made, and (``notices``) what they say about the data."""
    from pandas.testing import assert_frame_equal

    assert_frame_equal(expected.cells, actual.cells)
    assert (expected.histograms is None) == (actual.histograms is None)
    if expected.histograms is not None:
        assert expected.histograms.grid == actual.histograms.grid
        assert (expected.histograms.counts == actual.histograms.counts).all()
        assert np.allclose(expected.histograms.sums, actual.histograms.sums, rtol=1e-12, atol=1e-9)
    assert (expected.source, expected.threshold, expected.decision_rule) == \
        (actual.source, actual.threshold, actual.decision_rule)
    if notices:
        assert expected.notices == actual.notices

