"""Explanations of regressors: additive SHAP values, and the exact gap decomposition (β·Δx̄ for linear models)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsRegressor

from auditapp.core.errors import AuditInputError
from auditapp.explain.regression import gap_decomposition, importance_by_group, regression_shap


def _data(n=400, seed=1):
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.4, "b", "a")
    X = pd.DataFrame({"bedrooms": rng.integers(1, 5, n).astype(float),
                      "east": ((group == "b") & (rng.random(n) < 0.8)).astype(float),
                      "rating": rng.normal(4.5, 0.3, n)})
    y = 40 + 30 * X["bedrooms"] - 15 * X["east"] + 10 * X["rating"] + rng.normal(0, 5, n)
    return X, y, group


def test_linear_gap_decomposition_is_beta_times_mean_difference():
    X, y, group = _data()
    model = LinearRegression().fit(X, y)
    decomposition = gap_decomposition(regression_shap(model, X), group, "b", "a")
    a, b = group == "a", group == "b"
    expected = pd.Series(model.coef_ * (X[b].mean().to_numpy() - X[a].mean().to_numpy()), index=X.columns)
    assert decomposition.contributions.sort_index().to_numpy() == pytest.approx(
        expected.sort_index().to_numpy(), abs=1e-9)
    assert decomposition.gap == pytest.approx(model.predict(X[b]).mean() - model.predict(X[a]).mean(), abs=1e-9)
    assert decomposition.contributions.index[0] == "east"  # the proxy carries the gap


@pytest.mark.parametrize("model", [HistGradientBoostingRegressor(max_iter=30, random_state=0),
                                   KNeighborsRegressor(n_neighbors=5)])
def test_tree_and_permutation_explanations_are_additive(model):
    X, y, group = _data(n=150)
    model.fit(X, y)
    values = regression_shap(model, X, seed=3)
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1), model.predict(X), atol=1e-6)
    decomposition = gap_decomposition(values, group, "b", "a")
    assert decomposition.contributions.sum() == pytest.approx(decomposition.gap, abs=1e-6)
    assert set(importance_by_group(values, group).columns) == {"a", "b"}


def test_one_class_of_a_multiclass_model_is_explained_and_the_class_is_required():
    X, y, group = _data(n=150)
    bands = pd.cut(y, 3, labels=["low", "mid", "high"]).astype(str)
    model = LogisticRegression(max_iter=500).fit(X, bands)
    values = regression_shap(model, X, target_class="high", seed=0)
    np.testing.assert_allclose(values.base_value + values.values.sum(axis=1),
                               model.predict_proba(X)[:, list(model.classes_).index("high")], atol=1e-6)
    with pytest.raises(AuditInputError, match="choose the class to explain"):
        regression_shap(model, X)
    with pytest.raises(AuditInputError, match="'top' is not a class of the model"):
        regression_shap(model, X, target_class="top")
