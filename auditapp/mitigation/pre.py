"""Pre-processing mitigations: Kamiran & Calders reweighing, and fairlearn's CorrelationRemover."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError


def reweighing_weights(y: Any, groups: Any) -> np.ndarray:
    """Kamiran & Calders weights that make label and group independent in the weighted data.

    ``w(g, y) = P(g) P(y) / P(g, y) = n_g n_y / (n n_gy)``, so in the weighted data every group has
    the overall share of favourable labels, and the weights sum to the number of rows.

    Parameters
    ----------
    y : array-like of 0/1
        Training labels.
    groups : array-like
        Group label of each row (an intersection label when there are several features).

    Returns
    -------
    ndarray of float64
        One weight per row.

    Raises
    ------
    AuditInputError
        If lengths differ, there are no rows, or the labels are not 0/1.
    """
    y = np.asarray(y)
    groups = np.asarray(groups).astype(str)
    if y.shape[0] != groups.shape[0] or y.shape[0] == 0:
        raise AuditInputError(
            f"Reweighing needs one group per label and at least one row; got {int(y.shape[0])} labels "
            f"and {int(groups.shape[0])} groups."
        )
    bad = ~np.isin(y, (0, 1))
    if bad.any():
        raise AuditInputError(
            f"Reweighing needs 0/1 labels, but found {np.asarray(y)[bad][0].item()!r}. "
            "Map the favourable outcome to 1."
        )
    y = y.astype(np.int64)
    group_code = np.unique(groups, return_inverse=True)[1]
    n = y.size
    joint = np.bincount(group_code * 2 + y, minlength=2 * (group_code.max() + 1)).reshape(-1, 2)
    n_group = joint.sum(axis=1)
    n_label = joint.sum(axis=0)
    weights = n_group[:, None] * n_label[None, :] / (n * np.maximum(joint, 1))
    result: np.ndarray = weights[group_code, y].astype(np.float64)
    return result


def fit_with_weights(estimator: Any, X: pd.DataFrame, y: Any, weights: Any) -> Any:
    """Fit ``estimator`` with ``sample_weight`` routed to its last step; returns the fitted estimator.

    Raises
    ------
    AuditInputError
        If the learner's ``fit`` takes no ``sample_weight``.
    """
    from auditapp.mitigation.learners import sample_weight_name

    name = sample_weight_name(estimator)
    if name is None:
        raise AuditInputError(
            f"{type(estimator).__name__} cannot take sample weights, so reweighing cannot train it. "
            "Use a learner whose fit accepts sample_weight."
        )
    from auditapp.mitigation.design import fit_whole

    return fit_whole(estimator, X, y, **{name: np.asarray(weights, dtype=np.float64)})


def correlation_remover_pipeline(frame: pd.DataFrame, features: Any, sensitive: Any, learner: Any, *, alpha: float = 1.0) -> Any:
    """A pipeline that one-hot encodes, removes the sensitive columns' linear signal, then learns.

    The first columns after encoding are the one-hot sensitive columns; their number is known from
    ``frame`` (the rows the pipeline is fitted on), so ``CorrelationRemover(sensitive_feature_ids=...)`` knows their positions before
    fitting. It drops them and replaces every other column by its residual after a least-squares
    fit on them. Because that needs the sensitive values of every new row, the pipeline's input
    includes the sensitive columns.

    Parameters
    ----------
    frame : DataFrame
        Training rows (used only to fix the sensitive categories and column types).
    features, sensitive : sequence of str
        Feature and sensitive column names (sensitive columns are removed from ``features``).
    learner : estimator
        An unfitted classifier (the last step).
    alpha : float
        CorrelationRemover's strength, 1 removes the linear correlation fully.
    """
    from fairlearn.preprocessing import CorrelationRemover
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from auditapp.mitigation.learners import encoder_parts

    sensitive = list(sensitive)
    features = [c for c in features if c not in sensitive]
    # OneHotEncoder learns one category per distinct value (missing included) from the same rows.
    n_sensitive = int(sum(frame[c].nunique(dropna=False) for c in sensitive))
    parts = [("sensitive", OneHotEncoder(handle_unknown="ignore", sparse_output=False), sensitive),
             *encoder_parts(frame, features)]
    return Pipeline([
        ("encode", ColumnTransformer(parts, verbose_feature_names_out=False)),
        ("decorrelate", CorrelationRemover(sensitive_feature_ids=list(range(n_sensitive)), alpha=alpha)),
        ("classify", learner),
    ])
