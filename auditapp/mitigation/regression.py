"""Bias mitigations for regression models, compared on the same held-out rows with intervals.

Candidates (each refits a clone of the estimator on the training rows):

- ``unmitigated``: the estimator as it is.
- ``reweighing``: Kamiran–Calders weights ``P(A)·P(Y)/P(A, Y)`` with the outcome cut into quartiles (the
  binary method applied to outcome bands, since weights need discrete outcomes); the estimator must take
  ``sample_weight``.
- ``correlation_remover``: fairlearn's ``CorrelationRemover`` removes the linear correlation of every feature
  with the sensitive feature (one-hot), fitted on the training rows, applied to both.
- ``bounded_group_loss``: fairlearn's ``ExponentiatedGradient`` with ``BoundedGroupLoss`` (square or absolute
  loss, clipped to the training outcomes' range): each group's loss at most ``upper_bound`` (default: the
  unmitigated model's overall training loss). Its predictions are randomized per row over the predictors it
  found; they are drawn with ``seed``.

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

__all__ = ["CANDIDATES", "MULTICLASS_SUPPORT", "RegressionMitigationComparison", "compare_regression_mitigations",
           "check_multiclass_mitigation", "fit_regression_candidates", "summarize_regression_candidates"]

CANDIDATES = ("unmitigated", "reweighing", "correlation_remover", "bounded_group_loss")
# Why a candidate has no model file to export (``mitigate --export``): it is not one plain model.
NOT_EXPORTABLE = {
    "correlation_remover": "its inputs pass through a CorrelationRemover fitted on the group labels, which every "
                           "new row would need too; it is not one model file yet",
    "bounded_group_loss": "it is a random mixture of regressors (ExponentiatedGradient), drawn row by row; it is "
                          "not one model file yet",
}
MULTICLASS_SUPPORT = {
    "reweighing": "supported (weights by group × class)",
    "correlation_remover": "supported (changes the features, not the labels)",
    "exponentiated_gradient": "not supported: fairlearn's constraints (demographic parity, equalized odds) are "
                              "defined for binary classification",
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


def _one_hot(a: Any) -> pd.DataFrame:
    return pd.get_dummies(pd.Series(np.asarray(a, dtype=str), name="sensitive"), prefix="sensitive", dtype=float)


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
                              ) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]], float]:
    """Train every candidate on the training rows; ``(test predictions, library messages, loss bound)``.

    The part that needs the estimator itself (it runs in a model file's sandbox); the comparison of the
    predictions is :func:`summarize_regression_candidates`. With ``errors`` given, a candidate that cannot be
    trained is recorded there (candidate -> reason) and the others still run. With ``models`` given, the
    fitted model of each candidate that is one plain model is put there (:data:`NOT_EXPORTABLE`: the others).
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
                                        loss=loss, bound=bound, seed=seed)
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


def fit_predict(name: Any, estimator: Any, base: Any, X_train: Any, y_train: Any, a_train: Any, X_test: Any, a_test: Any, *, loss: Any, bound: Any, seed: Any) -> Any:
    """A candidate's predictions for the test rows (see :func:`_fit`)."""
    return _fit(name, estimator, base, X_train, y_train, a_train, X_test, a_test, loss=loss, bound=bound,
                seed=seed)[0]


def _fit(name: Any, estimator: Any, base: Any, X_train: Any, y_train: Any, a_train: Any, X_test: Any, a_test: Any, *,
         loss: Any, bound: Any, seed: Any) -> tuple[Any, Any]:
    """``(test predictions, fitted model)``; the model is None for the candidates that are not one plain model
    (:data:`NOT_EXPORTABLE` says why)."""
    from sklearn.base import clone

    if name == "unmitigated":
        return base.predict(X_test), base
    if name == "reweighing":
        model = clone(estimator).fit(X_train, y_train, **{weight_keyword(estimator, name): _weights(y_train, a_train)})
        return model.predict(X_test), model
    if name == "correlation_remover":
        from fairlearn.preprocessing import CorrelationRemover

        sens_train, sens_test = _one_hot(a_train), _one_hot(a_test)
        sens_test = sens_test.reindex(columns=sens_train.columns, fill_value=0.0)
        cols = list(sens_train.columns)
        # The remover changes the numeric inputs; text inputs (a pipeline encodes them) pass unchanged.
        numeric = [c for c in X_train.columns if pd.api.types.is_numeric_dtype(X_train[c])]
        if not numeric:
            raise AuditInputError("CorrelationRemover changes numeric inputs; this model's inputs are all text.")
        train_x, test_x = X_train.reset_index(drop=True).copy(), X_test.reset_index(drop=True).copy()
        remover = CorrelationRemover(sensitive_feature_ids=cols).fit(pd.concat([train_x[numeric], sens_train], axis=1))
        train_x[numeric] = remover.transform(pd.concat([train_x[numeric], sens_train], axis=1))
        test_x[numeric] = remover.transform(pd.concat([test_x[numeric], sens_test], axis=1))
        return clone(estimator).fit(train_x, y_train).predict(test_x), None
    from fairlearn.reductions import (
        AbsoluteLoss,
        BoundedGroupLoss,
        ExponentiatedGradient,
        SquareLoss,
    )

    lo, hi = float(np.min(y_train)), float(np.max(y_train))
    loss_fn = SquareLoss(lo, hi) if loss == "square" else AbsoluteLoss(lo, hi)
    mitigator = ExponentiatedGradient(clone(estimator), BoundedGroupLoss(loss_fn, upper_bound=bound),
                                      sample_weight_name=weight_keyword(estimator, name))
    mitigator.fit(X_train, y_train, sensitive_features=np.asarray(a_train, dtype=str))
    return np.asarray(mitigator.predict(X_test, random_state=seed), dtype=float), None


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
