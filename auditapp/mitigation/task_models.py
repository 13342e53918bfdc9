"""The model files of a regression or multiclass comparison's mitigated candidates that are not one plain model.

- :class:`DecorrelatedRegressor` / :class:`DecorrelatedClassifier` (``correlation_remover``): the fitted model
  behind fairlearn's ``CorrelationRemover``, fitted on the training rows. Each row's group (from the grouping's
  own columns, binned with the edges the comparison used) is one-hot encoded, and every numeric input loses its
  linear correlation with those columns before the model sees it. So a new row needs its group columns too
  (they are among the model file's input columns).
- :class:`RandomizedEnsembleRegressor` (``bounded_group_loss``): ExponentiatedGradient's mixture of fitted
  regressors; each row is predicted by one of them, chosen with its weight by a seeded hash of the row's key
  (the model's input columns, or a named row-key column): the same row gets the same prediction in any order
  and in any file (:mod:`auditapp.mitigation.draws`).

The comparison's test predictions are these objects' predictions, so an exported file reproduces the
numbers the comparison shows. They hold scikit-learn and fairlearn parts and plain values only (skops saves
them; the allow-list names them exactly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from auditapp.core.errors import AuditInputError
from auditapp.mitigation.inprocessing import Mixture


@dataclass(frozen=True)
class _Grouping:
    """What :func:`auditapp.core.spec.sensitive_frame` reads: the grouping columns and their bin edges."""

    sensitive: tuple[str, ...]
    bins: Mapping[str, Any] = field(default_factory=dict)


def group_labels(frame: pd.DataFrame, columns: Sequence[str], bin_edges: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Each row's group: the grouping columns as text (binned at ``bin_edges``), joined with `` × ``.

    Raises
    ------
    AuditInputError
        If a grouping column is missing, or a value lies outside its bin edges.
    """
    from auditapp.core.spec import Binning, sensitive_frame

    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AuditInputError(f"The rows lack the group column(s) {', '.join(map(repr, missing))}, which this "
                              "model needs (it removes the group's linear signal from the inputs). Include them.")
    choice = _Grouping(tuple(columns), {c: Binning(edges=tuple(e)) for c, e in bin_edges.items() if c in columns})
    labels = sensitive_frame(frame, choice).loc[:, list(columns)].astype(str).agg(" × ".join, axis=1)
    result: np.ndarray = labels.to_numpy(dtype=object).astype(str)
    return result


def _one_hot(labels: np.ndarray, categories: Sequence[str]) -> pd.DataFrame:
    """One column per training group (``sensitive_<group>``, in the training order); an unseen group is all zeros."""
    values = (np.asarray(labels, dtype=str)[:, None] == np.asarray(categories, dtype=str)[None, :]).astype(np.float64)
    return pd.DataFrame(values, columns=[f"sensitive_{c}" for c in categories])


class _Decorrelated(BaseEstimator):
    """``model`` fitted on inputs whose numeric columns lost their linear correlation with the group."""

    def __init__(self, model: Any = None, features: Sequence[str] = (), group_columns: Sequence[str] = (),
                 bin_edges: Any = None) -> None:
        self.model = model
        self.features = features
        self.group_columns = group_columns
        self.bin_edges = bin_edges

    def fit(self, X: pd.DataFrame, y: Any) -> Any:
        """Fit the remover on ``X``'s numeric model inputs and the one-hot groups, then the model on the result.

        ``X`` holds the model's input columns (``features``) and the group columns.
        """
        from fairlearn.preprocessing import CorrelationRemover
        from sklearn.base import clone

        features = [str(c) for c in self.features]
        if not features or not isinstance(X, pd.DataFrame):
            raise AuditInputError("The correlation remover needs the model's input columns by name (a table).")
        inputs = X.loc[:, features].reset_index(drop=True)
        numeric = [c for c in features if pd.api.types.is_numeric_dtype(inputs[c])]
        if not numeric:
            raise AuditInputError("CorrelationRemover changes numeric inputs; this model's inputs are all text.")
        labels = group_labels(X, self.group_columns, self.bin_edges or {})
        categories = sorted(set(labels.tolist()))
        groups = _one_hot(labels, categories)
        remover = CorrelationRemover(sensitive_feature_ids=list(groups.columns))
        remover.fit(pd.concat([inputs[numeric], groups], axis=1))
        self.remover_, self.numeric_, self.categories_, self.features_ = remover, numeric, categories, features
        model = clone(self.model)
        model.fit(self._decorrelated(inputs, labels), y)
        self.fitted_ = model
        self.feature_names_in_ = np.asarray(list(dict.fromkeys([*features, *map(str, self.group_columns)])),
                                            dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def _decorrelated(self, inputs: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
        out = inputs.copy()
        groups = _one_hot(labels, self.categories_)
        out[self.numeric_] = self.remover_.transform(pd.concat([inputs[self.numeric_], groups], axis=1))
        return out

    def _inputs(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise AuditInputError("This model takes a table with named columns (its inputs and the group columns).")
        absent = [c for c in self.features_ if c not in X.columns]
        if absent:
            raise AuditInputError(f"The rows lack the model input column(s) {', '.join(map(repr, absent))}.")
        return self._decorrelated(X.loc[:, self.features_].reset_index(drop=True),
                                  group_labels(X, self.group_columns, self.bin_edges or {}))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        result: np.ndarray = np.asarray(self.fitted_.predict(self._inputs(X)))
        return result


class DecorrelatedRegressor(RegressorMixin, _Decorrelated):
    """A regressor behind a CorrelationRemover fitted on the group (see the module docstring)."""


class DecorrelatedClassifier(ClassifierMixin, _Decorrelated):
    """A classifier behind a CorrelationRemover fitted on the group (see the module docstring)."""

    def fit(self, X: pd.DataFrame, y: Any) -> Any:
        super().fit(X, y)
        self.classes_ = self.fitted_.classes_
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        result: np.ndarray = np.asarray(self.fitted_.predict_proba(self._inputs(X)), dtype=np.float64)
        return result


class RandomizedEnsembleRegressor(RegressorMixin, Mixture):
    """A random mixture of fitted regressors: each row is predicted by model ``t`` with probability ``weights[t]``,
    chosen by a seeded hash of the row's key (the ``row_key`` column, or the row's input columns)."""

    def fit(self, X: Any = None, y: Any = None) -> Any:
        """Check the mixture (its models are already fitted) and take the column names from them."""
        self._check_mixture(named=True)
        return self

    def _all(self, X: pd.DataFrame) -> np.ndarray:
        return np.column_stack(self._each(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        from auditapp.mitigation.draws import key_columns, uniform_draws

        if not isinstance(X, pd.DataFrame):
            raise AuditInputError("This model takes a table with named columns (its inputs).")
        u = uniform_draws(X, key_columns([str(c) for c in self.feature_names_in_ if c != self.row_key], self.row_key),
                          seed=self.random_state)
        cumulative = np.cumsum(np.asarray(self.weights, dtype=np.float64))
        chosen = np.minimum(np.searchsorted(cumulative / cumulative[-1], u, side="right"), len(self.predictors) - 1)
        result: np.ndarray = self._all(X)[np.arange(len(X)), chosen]
        return result
