"""Which learner a candidate trains: the user's model refitted, or a stated default pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError

DEFAULT_LEARNER = (
    "default learner: median-imputed, standardised numbers and one-hot categories into a "
    "logistic regression (max_iter=1000)"
)
# Learners cheap enough to refit tens of times inside ExponentiatedGradient / GridSearch.
FAST_LEARNERS = frozenset({
    "LogisticRegression", "LogisticRegressionCV", "SGDClassifier", "RidgeClassifier", "Perceptron",
    "LinearSVC", "GaussianNB", "BernoulliNB", "MultinomialNB", "DecisionTreeClassifier",
})


def default_learner(frame: pd.DataFrame, features: Any) -> object:
    """The default pipeline: numbers imputed and scaled, other columns one-hot, logistic regression.

    Its last step is called ``classify`` (``classify__sample_weight`` routes weights to it).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    encode = ColumnTransformer(encoder_parts(frame, features), verbose_feature_names_out=False)
    return Pipeline([("encode", encode), ("classify", LogisticRegression(max_iter=1000))])


def encoder_parts(frame: pd.DataFrame, features: Any) -> list[tuple[Any, ...]]:
    """ColumnTransformer parts: numeric columns imputed (median) and scaled; the rest imputed and one-hot."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = list(features)
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(frame[c].dtype)
               and not pd.api.types.is_bool_dtype(frame[c].dtype)]
    categorical = [c for c in features if c not in numeric]
    parts = []
    if numeric:
        parts.append(("numeric", Pipeline([("impute", SimpleImputer(strategy="median")),
                                           ("scale", StandardScaler())]), numeric))
    if categorical:
        parts.append(("categorical", Pipeline([
            ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]), categorical))
    return parts


def infer_features(frame: pd.DataFrame, *, exclude: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Feature columns for a default learner when there is no model to say which it used.

    Excludes ``exclude`` (target, sensitive and prediction columns), constant columns and
    integer columns whose every value is distinct (row ids). Returns ``(features, notes)``.
    """
    excluded = set(map(str, exclude))
    features, dropped = [], []
    for name in map(str, frame.columns):
        if name in excluded:
            continue
        column = frame[name]
        distinct = column.nunique(dropna=False)
        if distinct <= 1 or (pd.api.types.is_integer_dtype(column.dtype) and distinct == len(column)
                             and len(column) >= 20):
            dropped.append(name)
            continue
        features.append(name)
    notes: tuple[str, ...] = ()
    if dropped:
        notes = (f"Columns left out of the default learner (constant or row ids): {', '.join(dropped)}.",)
    return tuple(features), notes


def final_step(estimator: Any) -> tuple[str | None, object]:
    """The last step of a Pipeline (its name and object), or ``(None, estimator)``."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return steps[-1][0], steps[-1][1]
    return None, estimator


def sample_weight_name(estimator: Any) -> str | None:
    """The fit keyword that passes ``sample_weight`` to ``estimator``'s learner, or None if unsupported."""
    from sklearn.utils.validation import has_fit_parameter

    name, last = final_step(estimator)
    if not has_fit_parameter(last, "sample_weight"):
        return None
    return "sample_weight" if name is None else f"{name}__sample_weight"


def is_fast_learner(estimator: Any) -> bool:
    """True when the learner is cheap enough to refit tens of times (linear models, NB, one tree)."""
    return type(final_step(estimator)[1]).__name__ in FAST_LEARNERS


def positive_scores(estimator: Any, frame: pd.DataFrame, *, positive_class: Any = 1) -> np.ndarray | None:
    """Probability of ``positive_class`` (float64), or None for a model without predict_proba.

    Raises
    ------
    AuditInputError
        If the model does not predict ``positive_class``.
    """
    if not hasattr(estimator, "predict_proba"):
        return None
    classes = [str(c) for c in np.asarray(estimator.classes_).tolist()]
    if str(positive_class) not in classes:
        raise AuditInputError(
            f"The model predicts classes {classes}, not {positive_class!r}; the favourable value must occur "
            "in the training part."
        )
    return np.asarray(estimator.predict_proba(frame), dtype=np.float64)[:, classes.index(str(positive_class))]


class quiet_fairlearn:
    """Silence the pandas deprecation warnings raised inside fairlearn 0.15's own code.

    Only ``Pandas4Warning`` attributed to fairlearn modules is ignored; our code cannot fix them.
    """

    def __enter__(self) -> Any:
        import warnings

        from pandas.errors import Pandas4Warning

        self._context = warnings.catch_warnings()
        self._context.__enter__()
        warnings.filterwarnings("ignore", category=Pandas4Warning, module=r"fairlearn\.")
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        return self._context.__exit__(*exc_info)
