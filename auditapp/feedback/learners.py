"""Learner helpers for the model-in-the-loop simulation: the stated default learner and scoring."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DEFAULT_LEARNER = "logistic regression (impute, scale numbers, one-hot categories)"


def default_estimator(features: pd.DataFrame) -> Any:
    """The stated default learner: logistic regression after imputing, scaling and one-hot encoding."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])
               and not pd.api.types.is_bool_dtype(features[c])]
    other = [c for c in features.columns if c not in numeric]
    prepare = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                      OneHotEncoder(handle_unknown="ignore")), other),
    ])
    return make_pipeline(prepare, LogisticRegression(max_iter=1000))


def is_fitted(estimator: Any) -> bool:
    """Whether a scikit-learn estimator has been fitted."""
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def positive_scores(model: Any, features: pd.DataFrame, favorable: Any) -> np.ndarray:
    """Score for the favourable class: its probability, else the signed margin, else 0/1."""
    classes = list(getattr(model, "classes_", []))
    if hasattr(model, "predict_proba") and favorable in classes:
        return np.asarray(np.asarray(model.predict_proba(features))[:, classes.index(favorable)], dtype=np.float64)
    if hasattr(model, "decision_function") and len(classes) == 2 and favorable in classes:
        margin = np.asarray(model.decision_function(features), dtype=float)
        return margin if classes[1] == favorable else -margin
    return np.asarray(np.asarray(model.predict(features)) == favorable, dtype=np.float64)
