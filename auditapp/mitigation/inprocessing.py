"""In-processing: fairlearn's ExponentiatedGradient and GridSearch reductions.

ExponentiatedGradient returns a random mixture of models; it is copied into
:class:`RandomizedEnsembleClassifier` (scikit-learn parts only, so it can be saved with skops), which
decides each row by a seeded hash of its key, never by row order. GridSearch returns its best single
model, a plain scikit-learn estimator; its grid is sized for the number of constraint dimensions as
fairlearn recommends (at least 2**dimensions points), and it is not run when that grid would be too large.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from auditapp.core.errors import AuditInputError
from auditapp.mitigation.constraints import MAX_GRID_POINTS
from auditapp.mitigation.design import encode_once
from auditapp.mitigation.warm import inner_learner, unwrap

REDUCTION_CONSTRAINTS = {
    "demographic_parity": "DemographicParity",
    "equalized_odds": "EqualizedOdds",
    "true_positive_rate_parity": "TruePositiveRateParity",
    "error_rate_parity": "ErrorRateParity",
}


def make_constraint(name: str, *, difference_bound: float | None = None) -> Any:
    """The fairlearn moment for a constraint name (its per-iteration steps on arrays, :mod:`.moments`).

    Raises
    ------
    AuditInputError
        For an unknown name.
    """
    from auditapp.mitigation.moments import ARRAY_MOMENTS

    if name not in REDUCTION_CONSTRAINTS:
        raise AuditInputError(
            f"Unknown constraint '{name}'. Use one of: {', '.join(REDUCTION_CONSTRAINTS)}."
        )
    kwargs = {} if difference_bound is None else {"difference_bound": difference_bound}
    return ARRAY_MOMENTS[name](**kwargs)


def _weight_name(learner: Any) -> str:
    from auditapp.mitigation.learners import sample_weight_name

    name = sample_weight_name(learner)
    if name is None:
        raise AuditInputError(
            f"{type(learner).__name__} cannot take sample weights, which the reductions need. "
            "Use a learner whose fit accepts sample_weight."
        )
    return name


def fit_exponentiated_gradient(learner: Any, X: pd.DataFrame, y: Any, groups: Any, *, constraint: str,
                               eps: float = 0.01, max_iter: int = 50, seed: int = 0, row_key: str | None = None,
                               inner_fits: str = "converged", notes: list[str] | None = None) -> Any:
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
        Seed of the returned classifier's hashed decisions.
    row_key : str, optional
        The column that keys each row's decision (default: the row's content).
    inner_fits : str
        ``"converged"`` (default): a logistic regression is solved to convergence at each refit, from the
        previous one (:mod:`.warm`), which gives fairlearn's answer for the learner solved exactly, faster;
        ``"as_given"``: refitted as given, as fairlearn does. The encoding is fitted once either way
        (:mod:`.design`). fairlearn stops at its convergence criterion (duality gap below ``nu``) or at
        ``max_iter``.
    notes : list of str, optional
        Receives a sentence when the refits are solved to convergence.
    """
    from fairlearn.reductions import ExponentiatedGradient

    from auditapp.mitigation.learners import quiet_fairlearn

    _weight_name(learner)
    encoded = encode_once(learner, X)
    inner = _inner(encoded, inner_fits, notes)
    reduction = ExponentiatedGradient(inner, make_constraint(constraint), eps=eps, max_iter=max_iter,
                                      sample_weight_name=_weight_name(inner))
    with quiet_fairlearn():
        reduction.fit(encoded.matrix, np.asarray(y, dtype=np.int64),
                      sensitive_features=pd.Series(np.asarray(groups).astype(str)))
    keep = [t for t in range(len(reduction.predictors_)) if reduction.weights_.iloc[t] > 0]
    return RandomizedEnsembleClassifier(
        predictors=[encoded.whole(unwrap(reduction.predictors_[t])) for t in keep],
        weights=[float(reduction.weights_.iloc[t]) for t in keep], random_state=seed, row_key=row_key,
    ).fit()


def _inner(encoded: Any, inner_fits: str, notes: list[str] | None) -> Any:
    inner, note = inner_learner(encoded.learner, np.shape(encoded.matrix)[1], inner_fits)
    if note and notes is not None:
        notes.append(note)
    return inner


@dataclass(frozen=True)
class GridPlan:
    """How many grid points GridSearch gets, and why (or why it is not run: ``skip_reason``)."""

    dimensions: int
    recommended: int
    points: int
    skip_reason: str | None
    note: str


def constraint_dimensions(constraint: str, y: Any, groups: Any) -> int:
    """The number of dimensions fairlearn gives the constraint on these rows, counted from the labels and
    groups without loading the moment's data (which builds a rows × constraints matrix).

    fairlearn's parity moments (0.15) have one basis column per event and group but the last:
    ``events × (groups − 1)``, where the events present are one for demographic parity and error-rate
    parity (every row), one per label present for equalized odds, and one (the positive label) for
    true-positive-rate parity when any row has it.
    """
    if constraint not in REDUCTION_CONSTRAINTS:
        raise ValueError(f"Unknown reduction constraint {constraint!r}")
    labels = set(pd.unique(np.asarray(y, dtype=np.int64)).tolist())
    events = {"demographic_parity": 1, "error_rate_parity": 1, "equalized_odds": len(labels),
              "true_positive_rate_parity": int(1 in labels)}[constraint]
    return events * (len(pd.unique(np.asarray(groups).astype(str))) - 1)


def plan_grid(constraint: str, y: Any, groups: Any, *, requested: int = 20,
              max_points: int = MAX_GRID_POINTS) -> GridPlan:
    """Size GridSearch's grid for the constraint's dimensions on these rows.

    fairlearn's grid has one dimension per (group − 1) × constraint event (e.g. 2 groups under
    equalized odds: 2), and it recommends at least ``2 ** dimensions`` points. The grid gets
    ``max(requested, 2 ** dimensions)`` points, unless that is above ``max_points``: then GridSearch is
    not run, and ``skip_reason`` says why and what to use instead.
    """
    dimensions = constraint_dimensions(constraint, y, groups)
    recommended = 2 ** dimensions
    if recommended > max_points:
        reason = (f"GridSearch was not run: with {len(set(np.asarray(groups).astype(str).tolist()))} groups the "
                  f"'{constraint}' constraint has {dimensions} dimensions, and fairlearn recommends at least "
                  f"2^{dimensions} = {recommended:,} grid points (one model fit each), more than the "
                  f"{max_points} allowed here. ExponentiatedGradient handles many groups; or use fewer groups.")
        return GridPlan(dimensions, recommended, 0, reason, reason)
    points = max(int(requested), recommended)
    note = (f"GridSearch searched {points} grid points over {dimensions} constraint dimension(s) "
            f"(fairlearn recommends at least 2^{dimensions} = {recommended}).")
    return GridPlan(dimensions, recommended, points, None, note)


def fit_grid_search(learner: Any, X: pd.DataFrame, y: Any, groups: Any, *, constraint: str, grid_size: int = 20,
                    inner_fits: str = "converged", notes: list[str] | None = None) -> Any:
    """Fit GridSearch over Lagrange multipliers and return its best model (a plain estimator).

    The encoding is fitted once (:mod:`.design`). ``inner_fits`` and ``notes`` as for
    :func:`fit_exponentiated_gradient`: solved to convergence, each grid point's logistic regression starts
    from its neighbour's optimum.
    """
    from fairlearn.reductions import GridSearch

    from auditapp.mitigation.learners import quiet_fairlearn

    _weight_name(learner)
    encoded = encode_once(learner, X)
    inner = _inner(encoded, inner_fits, notes)
    search = GridSearch(inner, make_constraint(constraint), grid_size=grid_size,
                        sample_weight_name=_weight_name(inner))
    with quiet_fairlearn():
        search.fit(encoded.matrix, np.asarray(y, dtype=np.int64),
                   sensitive_features=pd.Series(np.asarray(groups).astype(str)))
    return encoded.whole(unwrap(search.predictors_[search.best_idx_]))


class Mixture(BaseEstimator):
    """A random mixture of fitted models: each row goes to model ``t`` with probability ``weights[t]``, chosen by
    a seeded hash of the row's key (the ``row_key`` column, or the row's content: :mod:`auditapp.mitigation.draws`)."""

    decides_at_random = True

    def __init__(self, predictors: Any = (), weights: Any = (), random_state: Any = 0, row_key: Any = None) -> None:
        self.predictors = predictors
        self.weights = weights
        self.random_state = random_state
        self.row_key = row_key

    def _each(self, X: Any) -> list[np.ndarray]:
        """Every model's predictions for ``X`` (float64). Models that are pipelines sharing their encoding
        steps (the same objects, as :func:`fit_exponentiated_gradient` builds them) encode ``X`` once: each
        pipeline's own ``predict`` would apply the very same steps to it."""
        names = getattr(self.predictors[0], "feature_names_in_", None)
        inputs = X if names is None or not isinstance(X, pd.DataFrame) else X.loc[:, [str(c) for c in names]]
        encoded: dict[tuple[int, ...], Any] = {}
        out = []
        for model in self.predictors:
            steps = getattr(model, "steps", None)
            if type(model).__name__ != "Pipeline" or not steps or len(steps) < 2:
                out.append(np.asarray(model.predict(inputs), dtype=np.float64))
                continue
            key = tuple(id(step) for _name, step in steps[:-1])
            if key not in encoded:
                encoded[key] = model[:-1].transform(inputs)
            out.append(np.asarray(steps[-1][1].predict(encoded[key]), dtype=np.float64))
        return out

    def _check_mixture(self, *, named: bool) -> None:
        """Check the models and weights; take the input columns from the models (required when ``named``)."""
        weights = np.asarray(self.weights, dtype=np.float64)
        if len(self.predictors) == 0 or weights.shape != (len(self.predictors),) or (weights < 0).any() \
                or not np.isclose(weights.sum(), 1.0):
            raise AuditInputError("A randomized ensemble needs fitted models and non-negative weights summing to 1.")
        names = getattr(self.predictors[0], "feature_names_in_", None)
        if names is None and (named or self.row_key):
            raise AuditInputError("A randomized ensemble with a row key, or of regressors, needs models fitted on "
                                  "named columns (a DataFrame).")
        if names is not None:
            columns = list(dict.fromkeys([*map(str, names), *([self.row_key] if self.row_key else [])]))
            self.feature_names_in_ = np.asarray(columns, dtype=object)
            self.n_features_in_ = len(columns)


class RandomizedEnsembleClassifier(ClassifierMixin, Mixture):
    """A random mixture of fitted 0/1 classifiers: each row is decided by model ``t`` with probability ``weights[t]``.

    ``predict_proba`` is the exact probability of a favourable decision (the weighted vote, fairlearn's
    ``_pmf_predict``); ``predict`` decides each row by a seeded hash of its key (the ``row_key`` column,
    or the row's content), so a row gets the same decision in any order (:mod:`auditapp.mitigation.draws`).
    """

    def fit(self, X: Any = None, y: Any = None) -> Any:
        """Check the mixture (its models are already fitted) and take the column names from them."""
        self._check_mixture(named=False)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> Any:
        p = np.zeros(len(X))
        for predicted, weight in zip(self._each(X), self.weights, strict=True):
            p += float(weight) * predicted
        p = np.clip(p, 0.0, 1.0)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> Any:
        return self.decide(X)[0]

    def decide(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Each row's decision (as ``predict``) and probability of a favourable one (as ``predict_proba``)."""
        from auditapp.mitigation.draws import key_columns, keyed_decisions

        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        columns = getattr(self, "feature_names_in_", frame.columns)
        p = self.predict_proba(X)[:, 1]
        return keyed_decisions(p, frame, key_columns(list(columns), self.row_key), seed=self.random_state), p
