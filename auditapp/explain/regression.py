"""Explanations of a regressor (or one class of a multiclass classifier): SHAP values, importance by group,
and the exact decomposition of the gap in mean prediction between two groups into feature contributions.

Explainers: ``shap.TreeExplainer`` for tree ensembles, ``shap.LinearExplainer`` for linear models
(interventional, background = the explained rows), ``shap.PermutationExplainer`` otherwise (seeded, on a
background sample). Every explainer is additive: ``base_value + values[i].sum() == output[i]``, so the gap in
mean output between groups ``g1`` and ``g2`` splits exactly into ``mean(values[g1, j]) − mean(values[g2, j])``
per feature ``j`` (the decomposition's rows sum to the gap; checked, not assumed). For a linear model the
contribution of feature ``j`` is ``β_j · (x̄_j,g1 − x̄_j,g2)``.

Takes in-memory estimators with numeric columns (the library API). Model *files* that are regressors are not
loaded yet (the sandboxed loader accepts classifiers): see the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

__all__ = ["RegressionShap", "GapDecomposition", "regression_shap", "gap_decomposition", "importance_by_group"]

_TREES = ("RandomForest", "ExtraTrees", "GradientBoosting", "HistGradientBoosting", "DecisionTree", "ExtraTree",
          "XGB", "LGBM")
_LINEAR = ("LinearRegression", "Ridge", "Lasso", "ElasticNet", "LogisticRegression")


@dataclass(frozen=True)
class RegressionShap:
    """``values[i, j]``: feature ``features[j]``'s contribution to row ``i``'s ``output`` (the prediction, or
    the chosen class's output for a classifier); ``base_value + values[i].sum() == output[i]``."""

    features: tuple[str, ...]
    values: np.ndarray
    base_value: float
    output: np.ndarray
    method: str
    target: str


@dataclass(frozen=True)
class GapDecomposition:
    """``contributions``: per feature, its share of ``gap`` = mean output of ``group`` − mean of ``other``
    (sorted by size); ``contributions.sum() == gap`` up to rounding."""

    group: str
    other: str
    gap: float
    contributions: pd.Series
    method: str


def _method(estimator: Any) -> str:
    name = type(estimator).__name__
    if name.startswith(_TREES):
        return "tree"
    if name in _LINEAR:
        return "linear"
    return "permutation"


def regression_shap(estimator: Any, X: pd.DataFrame, *, target_class: Any = None, seed: int = 0,
                    background_rows: int = 100) -> RegressionShap:
    """SHAP values of ``estimator``'s prediction on ``X`` (of ``target_class``'s probability for a classifier).

    Raises
    ------
    AuditInputError
        If a column is not numeric, or ``target_class`` is missing for a classifier / not one of its classes.
    """
    import shap

    X = pd.DataFrame(X)
    text = [str(c) for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    if text:
        raise AuditInputError(f"Columns {', '.join(text)} are not numeric; encode them (or pass a pipeline's "
                              "transformed columns) before explaining.")
    classes = getattr(estimator, "classes_", None)
    column = None
    if classes is not None:
        if target_class is None:
            raise AuditInputError(f"The model is a classifier with classes {', '.join(map(str, classes))}: choose "
                                  "the class to explain.")
        matches = [i for i, c in enumerate(classes) if str(c) == str(target_class)]
        if not matches:
            raise AuditInputError(f"'{target_class}' is not a class of the model; it predicts "
                                  f"{', '.join(map(str, classes))}.")
        column = matches[0]
    method = _method(estimator)
    if classes is not None and method != "tree":
        method = "permutation"  # the probability of one class is not linear in the inputs

    def output(rows: Any) -> Any:
        rows = pd.DataFrame(rows, columns=X.columns)
        return estimator.predict(rows) if column is None else estimator.predict_proba(rows)[:, column]

    if method == "tree":
        explanation = shap.TreeExplainer(estimator, data=X.iloc[:background_rows],
                                         model_output="raw" if column is None else "probability")(X)
    elif method == "linear":
        explanation = shap.LinearExplainer(estimator, X)(X)
    else:
        rng = np.random.default_rng(seed)
        background = X.iloc[rng.choice(len(X), size=min(background_rows, len(X)), replace=False)]
        explainer = shap.PermutationExplainer(output, background, seed=seed)
        explanation = explainer(X, max_evals=2 * X.shape[1] + 1)
    values = np.asarray(explanation.values, dtype=np.float64)
    base = np.asarray(explanation.base_values, dtype=np.float64)
    if values.ndim == 3:
        values, base = values[:, :, column], base[:, column] if base.ndim == 2 else base
    base_value = float(np.ravel(base)[0])
    out = np.asarray(output(X), dtype=np.float64)
    return RegressionShap(tuple(map(str, X.columns)), values, base_value, out, method,
                          "prediction" if column is None or classes is None else f"probability of class {classes[column]}")


def importance_by_group(shap_values: RegressionShap, groups: Any) -> pd.DataFrame:
    """Mean |SHAP value| per feature (rows) and group (columns)."""
    frame = pd.DataFrame(np.abs(shap_values.values), columns=list(shap_values.features))
    return frame.groupby(np.asarray(groups, dtype=str)).mean().T


def gap_decomposition(shap_values: RegressionShap, groups: Any, group: str, other: str) -> GapDecomposition:
    """Split the gap in mean output between ``group`` and ``other`` into feature contributions (exactly)."""
    groups = np.asarray(groups, dtype=str)
    a, b = groups == str(group), groups == str(other)
    for name, mask in ((group, a), (other, b)):
        if not mask.any():
            raise AuditInputError(f"The group '{name}' has no rows among the explained ones.")
    contributions = pd.Series(shap_values.values[a].mean(axis=0) - shap_values.values[b].mean(axis=0),
                              index=list(shap_values.features))
    gap = float(shap_values.output[a].mean() - shap_values.output[b].mean())
    if not np.isclose(contributions.sum(), gap, rtol=1e-6, atol=1e-6 * max(1.0, abs(gap))):
        raise RuntimeError(f"SHAP values are not additive here: contributions sum to {contributions.sum()!r}, "
                           f"the gap is {gap!r}")  # a bug, never the user's input
    order = contributions.abs().sort_values(ascending=False).index
    return GapDecomposition(str(group), str(other), gap, contributions[order], shap_values.method)
