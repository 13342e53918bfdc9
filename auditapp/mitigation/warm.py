"""Warm starts for the reductions' repeated fits of a logistic regression.

ExponentiatedGradient and GridSearch refit their learner on the same rows with other labels and weights,
one Lagrange multiplier after another (GridSearch walks its grid in order, so neighbouring fits are
close). :class:`WarmStarted` starts each fit of a ``LogisticRegression`` from the previous fit's
coefficients instead of zeros. The problem is strictly convex (L2 penalty), so both starts reach the same
optimum; only the solver's stopping point differs, within its own tolerance (``tol``). The fitted models
handed back are plain ``LogisticRegression`` objects (:func:`unwrap`).

Only the solvers that honour ``warm_start`` with a given ``coef_`` are warm-started (not ``liblinear``),
and only for two classes; any other learner is refitted from scratch as fairlearn does.
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, clone

WARM_SOLVERS = frozenset({"lbfgs", "newton-cg", "newton-cholesky", "sag", "saga"})


class _Start:
    """The last coefficients, shared by every clone of one :class:`WarmStarted` (a clone copies its
    parameters deeply; this one stays the same object, as the reduction's clones must share it)."""

    def __init__(self) -> None:
        self.coef = None
        self.intercept = None

    def __deepcopy__(self, memo: Any) -> Any:
        return self


def can_warm_start(learner: Any) -> bool:
    """True for a binary-capable ``LogisticRegression`` whose solver takes a starting point."""
    return type(learner).__name__ == "LogisticRegression" and type(learner).__module__.startswith("sklearn.") \
        and learner.get_params().get("solver", "lbfgs") in WARM_SOLVERS


class WarmStarted(ClassifierMixin, BaseEstimator):
    """``estimator`` refitted from the coefficients of the previous fit of any clone of this object."""

    def __init__(self, estimator: Any = None, start: Any = None) -> None:
        self.estimator = estimator
        self.start = start

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        model = clone(self.estimator)
        start = self.start
        if start is not None and start.coef is not None and start.coef.shape[1] == X.shape[1]:
            model.set_params(warm_start=True)
            model.coef_, model.intercept_ = start.coef.copy(), start.intercept.copy()
        model.fit(X, y, sample_weight=sample_weight)
        if start is not None and model.coef_.shape[0] == 1:
            start.coef, start.intercept = model.coef_.copy(), model.intercept_.copy()
        self.fitted_ = model.set_params(warm_start=self.estimator.get_params()["warm_start"])
        self.classes_ = model.classes_
        return self

    def predict(self, X: Any) -> Any:
        return self.fitted_.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self.fitted_.predict_proba(X)


def warm(learner: Any) -> Any:
    """``learner`` wrapped for warm starts when it allows them, else ``learner`` itself."""
    return WarmStarted(learner, _Start()) if can_warm_start(learner) else learner


def unwrap(model: Any) -> Any:
    """The plain fitted model inside a :class:`WarmStarted` (anything else as it is)."""
    return model.fitted_ if isinstance(model, WarmStarted) else model
