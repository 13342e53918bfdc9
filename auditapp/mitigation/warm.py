"""The reductions' repeated fits of a logistic regression, solved to convergence from the last fit.

ExponentiatedGradient and GridSearch refit their learner tens of times on the same rows with other labels
and weights, one Lagrange multiplier after another (GridSearch walks its grid in order, so neighbouring fits
are close). A logistic regression with an L2 penalty has one optimum (the problem is strictly convex); a
solver only approaches it, and lbfgs at scikit-learn's default tolerance (1e-4) stops short of it by enough
to move a reduction's results in the fourth digit (on Adult, ExponentiatedGradient's disparity 0.00685
instead of 0.00650; with lbfgs run to tol=1e-9, fairlearn gives 0.00650).

:class:`Converged` refits such a learner with the same objective (same penalty ``C``, intercept and class
weights) solved by Newton-Cholesky to a gradient below ``CONVERGED_TOL``, starting from the solution of the
nearest earlier problem (:class:`_Start`): the reduction then gives the answer of its learner solved exactly,
which fairlearn itself gives with the learner's own solver run to convergence, at less cost than fairlearn
with the default tolerance (each Newton step is exact; a warm start needs a few). Newton-Cholesky forms the features' Hessian, so it is
used up to ``NEWTON_MAX_FEATURES`` encoded columns; beyond that, and for any other learner, the learner is
fitted as given, as fairlearn does (``inner_learner`` says which, for the candidate's note).

The fitted models handed back are plain ``LogisticRegression`` objects (:func:`unwrap`) whose parameters say
how they were solved.

Newton-Cholesky spends most of its time forming the Hessian ``X.T @ diag(W) @ X`` with a general matrix
product (scikit-learn's ``sandwich_dot``). Its weights are never negative for a binary logistic loss, so during
a :class:`Converged` fit (only in the thread running it) the Hessian is formed as ``S.T @ S`` with
``S = sqrt(W) * X`` by BLAS's symmetric rank-k update, which computes one triangle: the same matrix to rounding
(1e-12 relative), ~40% sooner on Adult's 31,655 × 39 rows, hence the same optimum.

Most encoded columns are one-hot: 0 or 1. Rows with the same 0/1 values share their part of the Hessian, so
when a matrix's 0/1 columns take few distinct patterns (:class:`BinaryPatterns`: on Adult, 34 one-hot columns
take 981 patterns over 31,655 rows) the Hessian is summed per pattern first (the rows' weights, and weights
times each other column), then formed from the patterns: the same sums in another order (1e-15 relative), ~4×
sooner than the rank-k update on Adult. The patterns are found once per matrix a reduction refits on.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from auditapp.mitigation.constraints import INNER_FITS

# Solvers whose objective is the penalised log-loss Newton-Cholesky minimises (liblinear also penalises
# the intercept: another optimum).
SAME_OBJECTIVE_SOLVERS = frozenset({"lbfgs", "newton-cg", "newton-cholesky", "sag", "saga"})
NEWTON_MAX_FEATURES = 64
CONVERGED_TOL = 1e-8


CHECKED_SKLEARN = "1.9.1"
_LOCAL = threading.local()
_INSTALL = threading.Lock()


def symmetric_sandwich(X: Any, W: Any) -> Any:
    """``X.T @ diag(W) @ X`` for dense float64 ``X`` (C order) and weights ``W >= 0``, by a rank-k update."""
    return _syrk(np.sqrt(W)[:, None] * X)


def _syrk(S: Any) -> Any:
    """``S.T @ S`` for a C-ordered ``S``: symmetric, one triangle computed (``S.T`` is Fortran-ordered for BLAS)."""
    from scipy.linalg.blas import dsyrk

    upper = dsyrk(1.0, S.T, trans=0, lower=0)
    return np.triu(upper) + np.triu(upper, 1).T


class BinaryPatterns:
    """A matrix's 0/1 columns as row patterns, to form ``X.T @ diag(W) @ X`` from per-pattern sums.

    With ``B`` the 0/1 columns, ``N`` the others and ``inverse`` each row's pattern among the distinct rows
    ``P`` of ``B``: ``B.T W B = P.T diag(w) P`` with ``w`` the weight of each pattern's rows, ``N.T W B =
    (N·W summed per pattern).T @ P``, and ``N.T W N`` directly (a few columns). Built by :meth:`of` only where
    that costs well under the full product; it holds the matrix it describes (compared by identity).
    """

    MIN_BINARY = 4
    MAX_BINARY = 52  # a row's 0/1 values are its pattern's key, summed exactly as a float64
    CHUNK_ROWS = 65_536

    def __init__(self, X: Any, binary: Any, patterns: Any, inverse: Any) -> None:
        self.X = X
        self.binary, self.other = np.flatnonzero(binary), np.flatnonzero(~binary)
        self.patterns, self.inverse = patterns, inverse
        self.N = np.ascontiguousarray(X[:, self.other])

    @classmethod
    def of(cls, X: Any) -> BinaryPatterns | None:
        """The patterns of ``X`` (dense float64, 2-D), or None when summing per pattern would not save much."""
        if not (isinstance(X, np.ndarray) and X.ndim == 2 and X.dtype == np.float64) or X.shape[0] < 2:
            return None
        n, p = X.shape
        chunks = range(0, n, cls.CHUNK_ROWS)  # temporaries of a bounded size, whatever the number of rows
        binary = np.ones(p, dtype=bool)
        for start in chunks:
            part = X[start:start + cls.CHUNK_ROWS]
            binary &= ((part == 0) | (part == 1)).all(axis=0)
        n_binary = int(binary.sum())
        if not cls.MIN_BINARY <= n_binary <= cls.MAX_BINARY:
            return None
        powers = np.exp2(np.arange(n_binary))
        keys = np.concatenate([X[start:start + cls.CHUNK_ROWS, binary] @ powers for start in chunks])
        _keys, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        n_other, n_patterns = p - n_binary, len(first)
        work = n * (2 + n_other + n_other * n_other / 2) + n_patterns * (n_binary * n_binary / 2 + n_other * n_binary)
        if work > 0.35 * n * p * p / 2:
            return None
        return cls(X, binary, np.ascontiguousarray(X[np.ix_(first, np.flatnonzero(binary))]), inverse.reshape(-1))

    def sandwich(self, W: Any) -> Any:
        """``X.T @ diag(W) @ X`` for weights ``W >= 0`` (symmetric)."""
        p, n_patterns = self.X.shape[1], len(self.patterns)
        per_pattern = np.bincount(self.inverse, W, minlength=n_patterns)
        H = np.empty((p, p))
        H[np.ix_(self.binary, self.binary)] = _syrk(np.sqrt(per_pattern)[:, None] * self.patterns)
        if len(self.other):
            weighted = W[:, None] * self.N
            summed = np.stack([np.bincount(self.inverse, weighted[:, j], minlength=n_patterns)
                               for j in range(len(self.other))], axis=1)
            cross = summed.T @ self.patterns
            H[np.ix_(self.other, self.binary)] = cross
            H[np.ix_(self.binary, self.other)] = cross.T
            H[np.ix_(self.other, self.other)] = _syrk(np.sqrt(W)[:, None] * self.N)
        return H


def _sandwich_for(original: Any) -> Any:
    def sandwich_dot(X: Any, W: Any) -> Any:
        if (getattr(_LOCAL, "symmetric", False) and isinstance(X, np.ndarray) and X.ndim == 2
                and X.dtype == np.float64 and X.flags.c_contiguous and isinstance(W, np.ndarray)
                and W.dtype == np.float64 and W.ndim == 1 and bool((W >= 0).all())):
            patterns = getattr(_LOCAL, "patterns", None)
            if patterns is not None and patterns.X is X and W.shape[0] == X.shape[0]:
                return patterns.sandwich(W)
            return symmetric_sandwich(X, W)
        return original(X, W)

    sandwich_dot.auditapp_original = original  # type: ignore[attr-defined]
    return sandwich_dot


def _install_symmetric_sandwich() -> bool:
    """Put the thread-aware ``sandwich_dot`` in scikit-learn's place (once; elsewhere it is scikit-learn's own)."""
    import sklearn
    from sklearn.linear_model import _linear_loss

    if sklearn.__version__ != CHECKED_SKLEARN:
        return False
    with _INSTALL:
        if not hasattr(_linear_loss.sandwich_dot, "auditapp_original"):
            _linear_loss.sandwich_dot = _sandwich_for(_linear_loss.sandwich_dot)
    return True


class _Start:
    """Earlier fits' solutions, shared by every clone of one :class:`Converged` (a clone copies its parameters
    deeply; this one stays the same object, as the reduction's clones must share it).

    Each solution is kept with its problem: the rows' weights, negative for label 0, as shares of their
    total. A new fit starts from the solution of the nearest earlier problem. ExponentiatedGradient does not
    move from one problem to a close one: to check its duality gap it fits its multipliers times 1, 2, 5
    and 10, then goes back; started from the last fit, its refits on Adult took up to 13 Newton steps (122
    for 20), from the nearest one fewer. Where the fit starts does not change where it ends (the optimum is
    unique), only how many steps it takes.
    """

    KEEP = 32

    def __init__(self) -> None:
        self.solved: list[tuple[Any, Any, Any]] = []  # (problem, coefficients, intercept)
        self._patterns: tuple[Any, BinaryPatterns | None] | None = None  # (matrix, its patterns)

    def patterns(self, X: Any) -> BinaryPatterns | None:
        """The 0/1 patterns of ``X``, found once for the matrix every refit of one reduction is given."""
        if self._patterns is None or self._patterns[0] is not X:
            self._patterns = (X, BinaryPatterns.of(X))
        return self._patterns[1]

    def __deepcopy__(self, memo: Any) -> Any:
        return self

    @staticmethod
    def problem(y: Any, sample_weight: Any) -> Any:
        """The signed shares of weight of a 0/1 problem (None for other labels)."""
        labels = np.asarray(y)
        if labels.ndim != 1 or labels.dtype.kind not in "biuf":
            return None
        weights = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        total = float(weights.sum())
        if weights.shape != labels.shape or not total > 0:
            return None
        return np.where(labels > 0, weights, -weights) / total

    def nearest(self, problem: Any, n_features: int) -> tuple[Any, Any] | None:
        """The kept solution whose problem is nearest (L1) to ``problem``; the last one when it is None."""
        usable = [(p, c, i) for p, c, i in self.solved if c.shape[1] == n_features]
        if not usable:
            return None
        if problem is None:
            return usable[-1][1], usable[-1][2]
        distances = [np.inf if p is None or p.shape != problem.shape else float(np.abs(p - problem).sum())
                     for p, _c, _i in usable]
        _p, coef, intercept = usable[int(np.argmin(distances))]
        return coef, intercept

    def remember(self, problem: Any, coef: Any, intercept: Any) -> None:
        self.solved.append((problem, coef.copy(), intercept.copy()))
        del self.solved[:-self.KEEP]


def can_converge(learner: Any) -> bool:
    """True for a scikit-learn ``LogisticRegression`` with an L2 penalty (or none named) and a solver of that
    same objective: its optimum is unique, so solving it exactly changes nothing but the stopping point."""
    if type(learner).__name__ != "LogisticRegression" or not type(learner).__module__.startswith("sklearn."):
        return False
    params = learner.get_params()
    l1_ratio, C = params.get("l1_ratio"), float(params.get("C", 1.0))
    return (params.get("solver", "lbfgs") in SAME_OBJECTIVE_SOLVERS and not params.get("dual", False)
            and params.get("penalty", "deprecated") in ("deprecated", "l2")
            and (l1_ratio is None or float(l1_ratio) == 0.0) and math.isfinite(C) and C > 0)


class Converged(ClassifierMixin, BaseEstimator):
    """``estimator``'s objective solved by Newton-Cholesky to ``CONVERGED_TOL``, from the solution of the
    nearest earlier problem any clone of this object solved (:class:`_Start`)."""

    def __init__(self, estimator: Any = None, start: Any = None) -> None:
        self.estimator = estimator
        self.start = start

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        params = self.estimator.get_params()
        model = clone(self.estimator).set_params(
            solver="newton-cholesky", tol=min(float(params.get("tol", 1e-4)), CONVERGED_TOL),
            max_iter=max(int(params.get("max_iter", 100)), 100), warm_start=True)
        start = self.start
        problem = None if start is None else start.problem(y, sample_weight)
        found = None if start is None else start.nearest(problem, X.shape[1])
        if found is not None:
            model.coef_, model.intercept_ = found[0].copy(), found[1].copy()
        _LOCAL.symmetric = _install_symmetric_sandwich()
        _LOCAL.patterns = None if start is None or not _LOCAL.symmetric else start.patterns(X)
        try:
            model.fit(X, y, sample_weight=sample_weight)
        finally:
            _LOCAL.symmetric, _LOCAL.patterns = False, None
        if start is not None and model.coef_.shape[0] == 1:
            start.remember(problem, model.coef_, model.intercept_)
        self.fitted_ = model.set_params(warm_start=bool(params.get("warm_start", False)))
        self.classes_ = model.classes_
        return self

    def predict(self, X: Any) -> Any:
        return self.fitted_.predict(X)

    def predict_proba(self, X: Any) -> Any:
        return self.fitted_.predict_proba(X)


def inner_learner(learner: Any, n_features: int, inner_fits: str = "converged") -> tuple[Any, str | None]:
    """The learner a reduction refits, and a note saying how when it is not fitted as given.

    ``inner_fits`` is ``"converged"`` (a logistic regression the reductions may solve exactly, on at most
    ``NEWTON_MAX_FEATURES`` encoded columns, is wrapped in :class:`Converged`) or ``"as_given"``.
    """
    if inner_fits not in INNER_FITS:
        raise ValueError(f"inner_fits must be one of {INNER_FITS}, got {inner_fits!r}")
    if inner_fits == "as_given" or not can_converge(learner) or int(n_features) > NEWTON_MAX_FEATURES:
        return learner, None
    solver = learner.get_params().get("solver", "lbfgs")
    note = (f"Each logistic regression it refits is solved to convergence, at its one optimum (Newton-Cholesky "
            f"from the nearest earlier fit, gradient below {CONVERGED_TOL:.0e}), which its own {solver} solver only "
            "approaches: the result does not depend on where a solver happens to stop.")
    return Converged(learner, _Start()), note


def unwrap(model: Any) -> Any:
    """The plain fitted model inside a :class:`Converged` (anything else as it is)."""
    return model.fitted_ if isinstance(model, Converged) else model
