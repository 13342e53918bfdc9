"""In-processing: fairlearn's ExponentiatedGradient and GridSearch reductions.

ExponentiatedGradient returns a random mixture of models; it is copied into
:class:`RandomizedEnsembleClassifier` (scikit-learn parts only, so it can be saved with skops).
GridSearch returns its best single model, a plain scikit-learn estimator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from auditapp.errors import AuditInputError

REDUCTION_CONSTRAINTS = {
    "demographic_parity": "DemographicParity",
    "equalized_odds": "EqualizedOdds",
    "true_positive_rate_parity": "TruePositiveRateParity",
    "error_rate_parity": "ErrorRateParity",
}


def make_constraint(name: str, *, difference_bound: float | None = None):
    """The fairlearn moment for a constraint name.

    Raises
    ------
    AuditInputError
        For an unknown name.
    """
    import fairlearn.reductions as reductions

    if name not in REDUCTION_CONSTRAINTS:
        raise AuditInputError(
            f"Unknown constraint '{name}'. Use one of: {', '.join(REDUCTION_CONSTRAINTS)}."
        )
    kwargs = {} if difference_bound is None else {"difference_bound": difference_bound}
    return getattr(reductions, REDUCTION_CONSTRAINTS[name])(**kwargs)


def _weight_name(learner) -> str:
    from auditapp.mitigation.learners import sample_weight_name

    name = sample_weight_name(learner)
    if name is None:
        raise AuditInputError(
            f"{type(learner).__name__} cannot take sample weights, which the reductions need. "
            "Use a learner whose fit accepts sample_weight."
        )
    return name


def fit_exponentiated_gradient(learner, X: pd.DataFrame, y, groups, *, constraint: str,
                               eps: float = 0.01, max_iter: int = 50, seed: int = 0):
    """Fit ExponentiatedGradient and return it as a :class:`RandomizedEnsembleClassifier`.

    Parameters
    ----------
    learner : unfitted classifier (refitted many times, with sample weights)
    X, y, groups : training features, 0/1 labels and group labels
    constraint : str
        A key of ``REDUCTION_CONSTRAINTS``.
    eps, max_iter : float, int
        Allowed constraint violation and iteration cap.
    seed : int
        ``random_state`` of the returned classifier's random draws.
    """
    from fairlearn.reductions import ExponentiatedGradient

    from auditapp.mitigation.learners import quiet_fairlearn

    reduction = ExponentiatedGradient(learner, make_constraint(constraint), eps=eps, max_iter=max_iter,
                                      sample_weight_name=_weight_name(learner))
    with quiet_fairlearn():
        reduction.fit(X, np.asarray(y, dtype=np.int64), sensitive_features=pd.Series(np.asarray(groups).astype(str)))
    keep = [t for t in range(len(reduction.predictors_)) if reduction.weights_.iloc[t] > 0]
    return RandomizedEnsembleClassifier(
        predictors=[reduction.predictors_[t] for t in keep],
        weights=[float(reduction.weights_.iloc[t]) for t in keep], random_state=seed,
    ).fit()


def fit_grid_search(learner, X: pd.DataFrame, y, groups, *, constraint: str, grid_size: int = 20):
    """Fit GridSearch over Lagrange multipliers and return its best model (a plain estimator)."""
    from fairlearn.reductions import GridSearch

    from auditapp.mitigation.learners import quiet_fairlearn

    search = GridSearch(learner, make_constraint(constraint), grid_size=grid_size,
                        sample_weight_name=_weight_name(learner))
    with quiet_fairlearn():
        search.fit(X, np.asarray(y, dtype=np.int64), sensitive_features=pd.Series(np.asarray(groups).astype(str)))
    return search.predictors_[search.best_idx_]


class RandomizedEnsembleClassifier(ClassifierMixin, BaseEstimator):
    """A random mixture of fitted 0/1 classifiers: each row is decided by model ``t`` with probability ``weights[t]``.

    ``predict_proba`` is the exact probability of a favourable decision (the weighted vote);
    ``predict`` draws from ``np.random.default_rng(random_state)``, so the same rows give the same
    decisions.
    """

    def __init__(self, predictors=(), weights=(), random_state=0):
        self.predictors = predictors
        self.weights = weights
        self.random_state = random_state

    def fit(self, X=None, y=None):
        """Check the mixture (its models are already fitted) and take the column names from them."""
        weights = np.asarray(self.weights, dtype=np.float64)
        if len(self.predictors) == 0 or weights.shape != (len(self.predictors),) or (weights < 0).any() \
                or not np.isclose(weights.sum(), 1.0):
            raise AuditInputError("A randomized ensemble needs fitted models and non-negative weights summing to 1.")
        names = getattr(self.predictors[0], "feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
            self.n_features_in_ = len(names)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X):
        p = np.zeros(len(X))
        for model, weight in zip(self.predictors, self.weights, strict=True):
            p += float(weight) * np.asarray(model.predict(X), dtype=np.float64)
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        p = self.predict_proba(X)[:, 1]
        return (np.random.default_rng(self.random_state).random(p.size) < p).astype(np.int64)
