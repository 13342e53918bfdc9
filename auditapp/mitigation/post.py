"""Post-processing: fairlearn's ThresholdOptimizer on a model's scores, and a portable form of it.

ThresholdOptimizer is fitted on the scores alone (a pass-through estimator feeds it float64 scores),
so it works the same for scikit-learn, ONNX and predictions-only sources. Its fitted rule, per group
a random mix of two thresholds (fairlearn's interpolation: favourable with probability
``p0·[score > t0] + p1·[score > t1]``), is copied into :class:`GroupThresholdClassifier`, a plain
scikit-learn estimator that predicts from the original columns (binning raw sensitive values itself),
decides each row by a seeded hash of its key rather than its position, and can be saved with skops.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from auditapp.core.errors import AuditInputError
from auditapp.mitigation.constraints import OBJECTIVES, THRESHOLD_CONSTRAINTS

SENSITIVE_AT_PREDICT = (
    "ThresholdOptimizer applies a different threshold to each group, so it must know every new "
    "person's group to decide. Using a protected attribute at decision time can be unlawful "
    "disparate treatment (e.g. in US credit and employment law), even when it narrows a gap."
)


class ScoreColumn(ClassifierMixin, BaseEstimator):
    """Pass-through classifier: the first column of ``X`` is the probability of class 1."""

    def fit(self, X: Any, y: Any = None) -> Any:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> Any:
        score = np.asarray(X, dtype=np.float64)[:, 0]
        return np.column_stack([1.0 - score, score])

    def predict(self, X: Any) -> Any:
        return (np.asarray(X, dtype=np.float64)[:, 0] >= 0.5).astype(np.int64)


def fit_threshold_rules(scores: Any, y: Any, groups: Any, *, constraint: str, objective: str = "accuracy_score",
                        grid_size: int = 1000) -> dict[str, tuple[float, ...]]:
    """Fit ThresholdOptimizer on scores and return its rule per group.

    Parameters
    ----------
    scores : array-like of float
        The model's score for each training row (higher means more likely favourable).
    y : array-like of 0/1
        Training labels.
    groups : array-like of str
        Group label of each row.
    constraint : str
        One of ``THRESHOLD_CONSTRAINTS``.
    objective : str
        ``"accuracy_score"`` or ``"balanced_accuracy_score"``.
    grid_size : int
        Number of thresholds ThresholdOptimizer tries.

    Returns
    -------
    dict
        ``{group: (p0, t0, p1, t1, p_ignore, constant)}``: the probability of favourable is
        ``(1 - p_ignore) * (p0 * [s > t0] + p1 * [s > t1]) + p_ignore * constant``.

    Raises
    ------
    AuditInputError
        For a constraint or objective ThresholdOptimizer does not support.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    from auditapp.mitigation.learners import quiet_fairlearn
    from auditapp.mitigation.tradeoff import exact_tradeoff_curves

    if constraint not in THRESHOLD_CONSTRAINTS:
        raise AuditInputError(
            f"ThresholdOptimizer cannot enforce '{constraint}'; it supports "
            f"{', '.join(THRESHOLD_CONSTRAINTS)}. Choose one of those, or an in-processing candidate."
        )
    if objective not in OBJECTIVES:
        raise AuditInputError(f"Unknown objective '{objective}'; use one of {', '.join(OBJECTIVES)}.")
    X = pd.DataFrame({"score": np.asarray(scores, dtype=np.float64)})
    optimizer = ThresholdOptimizer(
        estimator=ScoreColumn().fit(X), constraints=constraint, objective=objective, prefit=True,
        predict_method="predict_proba", grid_size=grid_size,
    )
    with quiet_fairlearn(), exact_tradeoff_curves():
        optimizer.fit(X, np.asarray(y, dtype=np.int64), sensitive_features=pd.Series(np.asarray(groups).astype(str)))
    rules: dict[str, tuple[float, ...]] = {}
    for group, rule in optimizer.interpolated_thresholder_.interpolation_dict.items():
        for op in (rule.operation0, rule.operation1):
            if op.operator != ">":
                raise AuditInputError(f"ThresholdOptimizer returned an unexpected '{op.operator}' rule.")
        rules[str(group)] = (float(rule.p0), float(rule.operation0.threshold), float(rule.p1),
                             float(rule.operation1.threshold), float(rule.get("p_ignore", 0.0)),
                             float(rule.get("prediction_constant", 0.0)))
    return rules


def threshold_probabilities(scores: Any, groups: Any, rules: Any) -> np.ndarray:
    """Probability of a favourable decision for each row under the per-group ``rules``.

    Raises
    ------
    AuditInputError
        If a row's group has no rule (it did not occur when the thresholds were fitted).
    """
    scores = np.asarray(scores, dtype=np.float64)
    groups = np.asarray(groups).astype(str)
    unknown = sorted(set(groups.tolist()) - set(rules))
    if unknown:
        raise AuditInputError(
            f"No threshold was fitted for group(s) {', '.join(unknown[:5])}: they did not occur in the "
            f"training rows (groups with thresholds: {', '.join(sorted(rules)[:10])})."
        )
    out = np.zeros(scores.size)
    for group, (p0, t0, p1, t1, p_ignore, constant) in rules.items():
        rows = groups == group
        mixed = p0 * (scores[rows] > t0) + p1 * (scores[rows] > t1)
        out[rows] = (1.0 - p_ignore) * mixed + p_ignore * constant
    return out


def group_labels(frame: pd.DataFrame, sensitive: Any, bins: Any = None) -> np.ndarray:
    """Intersection labels (``"female & [18, 30)"``) exactly as the metrics engine forms them.

    ``bins`` maps a sensitive column to its resolved bin edges (raw values in, the audit's bins out).
    """
    from auditapp.core.spec import Binning, sensitive_frame
    from auditapp.mitigation.grouping import joined_labels

    binning = {name: Binning(edges=tuple(edges)) for name, edges in (bins or {}).items()}
    text = sensitive_frame(frame, SimpleNamespace(sensitive=tuple(sensitive), bins=binning))
    return joined_labels(text) if len(text) else np.array([], dtype=str)


class GroupThresholdClassifier(ClassifierMixin, BaseEstimator):
    """A fitted ThresholdOptimizer as a plain estimator: model score, then per-group random thresholds.

    Its input columns are the model's features, the sensitive columns (raw values: binned inside with
    ``bins``, the audit's own edges) and the ``row_key`` column when one is named. ``predict_proba``
    gives the exact probability of a favourable decision; ``predict`` decides each row by a seeded hash
    of its key (the ``row_key`` column, or the row's content), so a row gets the same decision in any
    order and in any file (:mod:`auditapp.mitigation.draws`).

    Parameters
    ----------
    estimator : fitted classifier
    rules : dict
        From :func:`fit_threshold_rules`.
    feature_columns, sensitive_columns : sequence of str
    positive_class : the estimator's class that means the favourable outcome
    random_state : int
        Seed of the hash.
    bins : dict, optional
        ``{sensitive column: bin edges}`` for binned sensitive features.
    row_key : str, optional
        A column that identifies a person (e.g. an applicant id); default the row's content.
    """

    decides_at_random = True

    def __init__(self, estimator: Any = None, rules: Any = None, feature_columns: Any = (), sensitive_columns: Any = (), positive_class: Any = 1,
                 random_state: Any = 0, bins: Any = None, row_key: Any = None) -> None:
        self.estimator = estimator
        self.positive_class = positive_class
        self.rules = rules
        self.feature_columns = feature_columns
        self.sensitive_columns = sensitive_columns
        self.random_state = random_state
        self.bins = bins
        self.row_key = row_key

    def fit(self, X: Any = None, y: Any = None) -> Any:
        """Check the parts (the thresholds were learned by ThresholdOptimizer) and set column names."""
        if self.estimator is None or not self.rules or not self.sensitive_columns:
            raise AuditInputError("A GroupThresholdClassifier needs a fitted estimator, rules and sensitive columns.")
        unknown = sorted(set(self.bins or {}) - set(self.sensitive_columns))
        if unknown:
            raise AuditInputError(f"Bins are given for {', '.join(unknown)}, which are not sensitive columns.")
        extra = [self.row_key] if self.row_key else []
        columns = list(dict.fromkeys([*self.feature_columns, *self.sensitive_columns, *extra]))
        self.feature_names_in_ = np.array(columns, dtype=object)
        self.n_features_in_ = len(columns)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: Any) -> Any:
        from auditapp.mitigation.learners import positive_scores

        frame = pd.DataFrame(X)
        scores = positive_scores(self.estimator, frame.loc[:, list(self.feature_columns)],
                                 positive_class=self.positive_class)
        p = threshold_probabilities(scores, group_labels(frame, self.sensitive_columns, self.bins), self.rules)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> Any:
        from auditapp.mitigation.draws import key_columns, keyed_decisions

        frame = pd.DataFrame(X)
        p = self.predict_proba(frame)[:, 1]
        return keyed_decisions(p, frame, key_columns(list(self.feature_names_in_), self.row_key),
                               seed=self.random_state)
