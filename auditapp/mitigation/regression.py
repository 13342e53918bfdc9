"""Bias mitigations for regression models, compared on the same held-out rows with intervals.

Candidates (each refits a clone of the estimator on the training rows):

- ``unmitigated``: the estimator as it is.
- ``reweighing``: Kamiran–Calders weights ``P(A)·P(Y)/P(A, Y)`` with the outcome cut into quartiles (the
  binary method applied to outcome bands, since weights need discrete outcomes); the estimator must take
  ``sample_weight``.
- ``correlation_remover``: fairlearn's ``CorrelationRemover`` removes the linear correlation of every numeric
  input with the group (one-hot), fitted on the training rows, applied to both; the model file holds the
  remover and reads each new row's group from its group columns (:mod:`.task_models`).
- ``bounded_group_loss``: fairlearn's ``ExponentiatedGradient`` with ``BoundedGroupLoss`` (square or absolute
  loss, clipped to the training outcomes' range): each group's loss at most ``upper_bound`` (default: the
  unmitigated model's overall training loss). Its predictions are randomized per row over the predictors it
  found: each row's predictor is drawn by a seeded hash of the row (``seed``), so the exported mixture
  predicts every row as the comparison did.
- ``grid_search``: fairlearn's ``GridSearch`` over the same ``BoundedGroupLoss`` (``grid_size`` points of the
  groups' multipliers): the single model it picks (best objective, constraint violation weighed in).

Every candidate is audited with :func:`auditapp.core.regression.compute_regression_audit` on the same held-out rows:
overall MAE and RMSE, the spread of group MAEs and the largest |SMD|, with intervals.

Multiclass models: reweighing (by group × class) and CorrelationRemover apply unchanged; fairlearn's
in-processing constraints and ThresholdOptimizer are for binary classification and regression only, so
:func:`check_multiclass_mitigation` refuses them with a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auditapp.core.errors import AuditInputError
from auditapp.core.regression import compute_regression_audit

__all__ = ["CANDIDATES", "MULTICLASS_SUPPORT", "GroupColumns", "RegressionMitigationComparison",
           "compare_regression_mitigations", "check_multiclass_mitigation", "fit_regression_candidates",
           "summarize_regression_candidates"]

CANDIDATES = ("unmitigated", "reweighing", "correlation_remover", "bounded_group_loss", "grid_search")
GRID_SIZE = 20  # GridSearch's grid points over the bounded group loss's multipliers (fairlearn's default is 10)
# The column holding the group when only group labels are given (no grouping columns, e.g. the library call).
LABEL_COLUMN = "group label"
MULTICLASS_SUPPORT = {
    "reweighing": "supported (weights by group × class)",
    "correlation_remover": "supported (changes the features, not the labels)",
    "exponentiated_gradient": "not supported: fairlearn's constraints (demographic parity, equalized odds) are "
                              "defined for binary classification",
    "grid_search": "not supported: fairlearn's constraints (demographic parity, equalized odds) are defined for "
                   "binary classification",
    "threshold_optimizer": "not supported: fairlearn's ThresholdOptimizer post-processes binary classifiers only",
}


@dataclass(frozen=True)
class RegressionMitigationComparison:
    """``table``: one row per candidate with ``mae``/``rmse`` (+ ``_low``/``_high``), ``mae_gap`` (max−min of
    group MAEs, + interval), ``max_abs_smd`` (+ interval) on the held-out rows; ``predictions``: per candidate."""

    table: pd.DataFrame
    predictions: dict[str, Any]
    upper_bound: float
    loss: str
    warnings: dict[str, Any]  # candidate -> messages the libraries raised while it was fitted


def check_multiclass_mitigation(name: str) -> None:
    """Raise AuditInputError when ``name`` does not apply to multiclass models (see ``MULTICLASS_SUPPORT``)."""
    text = MULTICLASS_SUPPORT.get(name)
    if text is None or text.startswith("not supported"):
        raise AuditInputError(f"Mitigation '{name}' for a multiclass model: {text or 'unknown mitigation'}. "
                              "Use reweighing or correlation_remover.")


def _weights(y: Any, a: Any) -> np.ndarray:
    band = pd.qcut(pd.Series(y), 4, labels=False, duplicates="drop").to_numpy()
    frame = pd.DataFrame({"a": np.asarray(a, dtype=str), "y": band})
    p_a = frame["a"].map(frame["a"].value_counts(normalize=True))
    p_y = frame["y"].map(frame["y"].value_counts(normalize=True))
    p_ay = frame.groupby(["a", "y"])["a"].transform("size") / len(frame)
    result: np.ndarray = (p_a * p_y / p_ay).to_numpy(dtype=float)
    return result


@dataclass(frozen=True)
class GroupColumns:
    """The grouping's own columns for the training and test rows, and the edges any of them is binned at:
    what a correlation remover's model file reads to tell each new row's group (``group_columns`` of
    :mod:`.task_models`). Without them, the group labels are given as one column (:data:`LABEL_COLUMN`)."""

    train: pd.DataFrame
    test: pd.DataFrame
    bin_edges: dict[str, list[float]]

    @classmethod
    def of_labels(cls, a_train: Any, a_test: Any, *, avoid: Any = ()) -> GroupColumns:
        """The labels as one column, named :data:`LABEL_COLUMN` (with a number added if an input has that name)."""
        taken, name, n = {str(c) for c in avoid}, LABEL_COLUMN, 1
        while name in taken:
            n += 1
            name = f"{LABEL_COLUMN} {n}"
        return cls(pd.DataFrame({name: np.asarray(a_train, dtype=str)}),
                   pd.DataFrame({name: np.asarray(a_test, dtype=str)}), {})

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.train.columns]


def with_groups(X: pd.DataFrame, groups: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns and the group columns it lacks, side by side (positions, not index labels)."""
    out = X.reset_index(drop=True)
    extra = {c: groups[c].to_numpy() for c in groups.columns if c not in out.columns}
    return out.assign(**extra) if extra else out


def compare_regression_mitigations(estimator: Any, X_train: pd.DataFrame, y_train: Any, a_train: Any, X_test: pd.DataFrame, y_test: Any,
                                   a_test: Any, *, candidates: Any = CANDIDATES, loss: str = "square",
                                   upper_bound: float | None = None, seed: int = 0,
                                   n_boot: int = 500) -> RegressionMitigationComparison:
    """Fit each candidate on the training rows and audit it on the held-out rows.

    Raises
    ------
    AuditInputError
        For an unknown candidate or loss, or an estimator without ``sample_weight`` where one is needed.
    """
    unknown = [c for c in candidates if c not in CANDIDATES]
    if unknown or loss not in ("square", "absolute"):
        raise AuditInputError(f"Unknown candidate(s) {unknown} or loss '{loss}'. Candidates: {', '.join(CANDIDATES)}; "
                              "losses: square, absolute.")
    y_test = np.asarray(y_test, dtype=float)
    predictions, messages, bound = fit_regression_candidates(estimator, X_train, y_train, a_train, X_test, a_test,
                                                             candidates=candidates, loss=loss,
                                                             upper_bound=upper_bound, seed=seed)
    result: RegressionMitigationComparison = _compare(predictions, messages, y_test, a_test, bound=bound, loss=loss,
                                                      seed=seed, n_boot=n_boot)
    return result


def fit_regression_candidates(estimator: Any, X_train: pd.DataFrame, y_train: Any, a_train: Any,
                              X_test: pd.DataFrame, a_test: Any, *, candidates: Any = CANDIDATES,
                              loss: str = "square", upper_bound: float | None = None, seed: int = 0,
                              errors: dict[str, str] | None = None, models: dict[str, Any] | None = None,
                              groups: GroupColumns | None = None, grid_size: int = GRID_SIZE,
                              ) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]], float]:
    """Train every candidate on the training rows; ``(test predictions, library messages, loss bound)``.

    The part that needs the estimator itself (it runs in a model file's sandbox); the comparison of the
    predictions is :func:`summarize_regression_candidates`. With ``errors`` given, a candidate that cannot be
    trained is recorded there (candidate -> reason) and the others still run. With ``models`` given, each
    candidate's fitted model is put there: the test predictions are that model's. ``groups``: the grouping's
    columns (default: the labels ``a_train``/``a_test`` as one column).
    """
    from sklearn.base import clone

    from auditapp.mitigation.library_warnings import captured_warnings

    y_train = np.asarray(y_train, dtype=float)
    base = clone(estimator).fit(X_train, y_train)
    residual = base.predict(X_train) - y_train
    bound = float(upper_bound) if upper_bound is not None else float(
        np.mean(residual ** 2) if loss == "square" else np.mean(np.abs(residual)))
    predictions, messages = {}, {}
    for name in candidates:
        with captured_warnings() as caught:
            try:
                predicted, model = _fit(name, estimator, base, X_train, y_train, a_train, X_test, a_test,
                                        loss=loss, bound=bound, seed=seed, groups=groups, grid_size=grid_size)
                predictions[name] = np.asarray(predicted, dtype=float)
                if models is not None and model is not None:
                    models[name] = model
            except AuditInputError as exc:
                if errors is None:
                    raise
                errors[name] = str(exc)
        messages[name] = tuple(caught.messages)
    return predictions, messages, bound


def summarize_regression_candidates(predictions: dict[str, Any], messages: dict[str, Any], y_test: Any, a_test: Any,
                                    *, bound: float, loss: str, seed: int = 0,
                                    n_boot: int = 500) -> RegressionMitigationComparison:
    """Audit each candidate's test predictions on the same held-out rows (overall error, MAE gap, |SMD|)."""
    result: RegressionMitigationComparison = _compare(predictions, messages, np.asarray(y_test, dtype=float), a_test,
                                                      bound=bound, loss=loss, seed=seed, n_boot=n_boot)
    return result


def fit_correlation_remover(estimator: Any, X_train: pd.DataFrame, y_train: Any, X_test: pd.DataFrame,
                            groups: GroupColumns, *, classifier: bool = False) -> tuple[np.ndarray, Any]:
    """``(test predictions, fitted model)`` of the correlation remover: a clone of ``estimator`` behind
    fairlearn's ``CorrelationRemover`` fitted on the training rows' one-hot groups (:mod:`.task_models`)."""
    from auditapp.mitigation.task_models import DecorrelatedClassifier, DecorrelatedRegressor

    kind = DecorrelatedClassifier if classifier else DecorrelatedRegressor
    model = kind(estimator, [str(c) for c in X_train.columns], groups.columns, groups.bin_edges)
    model.fit(with_groups(X_train, groups.train), y_train)
    return np.asarray(model.predict(with_groups(X_test, groups.test))), model


def _fit(name: Any, estimator: Any, base: Any, X_train: Any, y_train: Any, a_train: Any, X_test: Any, a_test: Any, *,
         loss: Any, bound: Any, seed: Any, groups: GroupColumns | None = None,
         grid_size: int = GRID_SIZE) -> tuple[Any, Any]:
    """``(test predictions, fitted model)``: the predictions are the fitted model's."""
    from sklearn.base import clone

    if name == "unmitigated":
        return base.predict(X_test), base
    if name == "reweighing":
        model = clone(estimator).fit(X_train, y_train, **{weight_keyword(estimator, name): _weights(y_train, a_train)})
        return model.predict(X_test), model
    if name == "correlation_remover":
        return fit_correlation_remover(estimator, X_train, y_train, X_test,
                                       groups or GroupColumns.of_labels(a_train, a_test, avoid=X_train.columns))
    from fairlearn.reductions import (
        AbsoluteLoss,
        BoundedGroupLoss,
        ExponentiatedGradient,
        GridSearch,
        SquareLoss,
    )

    lo, hi = float(np.min(y_train)), float(np.max(y_train))
    loss_fn = SquareLoss(lo, hi) if loss == "square" else AbsoluteLoss(lo, hi)
    if name == "grid_search":
        search = GridSearch(clone(estimator), BoundedGroupLoss(loss_fn, upper_bound=bound), grid_size=int(grid_size),
                            sample_weight_name=weight_keyword(estimator, name))
        search.fit(X_train, y_train, sensitive_features=np.asarray(a_train, dtype=str))
        best = search.predictors_[search.best_idx_]
        return np.asarray(best.predict(X_test), dtype=float), best
    mitigator = ExponentiatedGradient(clone(estimator), BoundedGroupLoss(loss_fn, upper_bound=bound),
                                      sample_weight_name=weight_keyword(estimator, name))
    mitigator.fit(X_train, y_train, sensitive_features=np.asarray(a_train, dtype=str))
    return mixture_of(mitigator, X_test, seed=seed)


def mixture_of(mitigator: Any, X_test: pd.DataFrame, *, seed: int) -> tuple[np.ndarray, Any]:
    """``(test predictions, fitted model)`` of a fitted ExponentiatedGradient regressor: its mixture as a
    :class:`~auditapp.mitigation.task_models.RandomizedEnsembleRegressor` (each row's model drawn by a seeded
    hash of the row, not by row order as fairlearn's ``predict(random_state=)`` does)."""
    from auditapp.mitigation.task_models import RandomizedEnsembleRegressor

    weights = np.asarray(mitigator.weights_, dtype=np.float64)
    keep = [t for t in range(len(weights)) if weights[t] > 0]
    model = RandomizedEnsembleRegressor(predictors=[mitigator.predictors_.iloc[t] for t in keep],
                                        weights=(weights[keep] / weights[keep].sum()).tolist(),
                                        random_state=int(seed)).fit()
    return np.asarray(model.predict(X_test.reset_index(drop=True)), dtype=float), model


def weight_keyword(estimator: Any, candidate: str) -> str:
    """How ``fit`` takes sample weights (``<final step>__sample_weight`` for a pipeline), else a clear refusal."""
    from auditapp.mitigation.learners import sample_weight_name

    keyword = sample_weight_name(estimator)
    if keyword is None:
        raise AuditInputError(f"{type(estimator).__name__} does not take sample weights; {candidate} needs an "
                              "estimator that does.")
    return keyword


def _compare(predictions: Any, messages: Any, y_test: Any, a_test: Any, *, bound: Any, loss: Any, seed: Any, n_boot: Any) -> Any:
    rows = {}
    sensitive = pd.DataFrame({"sensitive": np.asarray(a_test, dtype=str)})
    for name, pred in predictions.items():
        overall = compute_regression_audit(y_test, pred, pd.DataFrame({"all": ["all"] * len(pred)}),
                                           n_boot=n_boot, seed=seed, min_group_size=1).groupings[0].groups.iloc[0]
        grouping = compute_regression_audit(y_test, pred, sensitive, n_boot=n_boot, seed=seed,
                                            min_group_size=1).groupings[0]
        spread = grouping.summary.loc["mean_absolute_error"]
        smd = grouping.criteria.loc["max_abs_standardized_mean_difference"]
        rows[name] = {"mae": overall["mean_absolute_error"], "mae_low": overall["mean_absolute_error_low"],
                      "mae_high": overall["mean_absolute_error_high"], "rmse": overall["root_mean_squared_error"],
                      "rmse_low": overall["root_mean_squared_error_low"],
                      "rmse_high": overall["root_mean_squared_error_high"], "mae_gap": spread["max_minus_min"],
                      "mae_gap_low": spread["max_minus_min_low"], "mae_gap_high": spread["max_minus_min_high"],
                      "max_abs_smd": smd["value"], "max_abs_smd_low": smd["low"], "max_abs_smd_high": smd["high"]}
    return RegressionMitigationComparison(pd.DataFrame.from_dict(rows, orient="index").rename_axis("candidate"),
                                          predictions, bound, loss, messages)
