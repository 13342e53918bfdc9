"""fairlearn's parity moments with their per-iteration arithmetic on arrays: the same numbers, sooner.

ExponentiatedGradient and GridSearch ask their constraint moment, at every iteration, how far a model is
from parity (``gamma``), for the re-weighting of the rows (``signed_weights``) and, in
ExponentiatedGradient, for the projected multipliers (``project_lambda``); and their error-rate objective
for the model's error. fairlearn 0.15 answers through dataframe operations (a transpose of the
rows × constraints matrix, group-by loops): about a third of ExponentiatedGradient's time on Adult
outside the logistic-regression fits. The classes here keep fairlearn's moments (same data loading, same
index, same bound, same fairlearn code everywhere else) and do those three steps on the arrays behind
the dataframes, with the same operations in the same order, hence the same floating-point results bit
for bit (``tests/auditapp/test_moments.py``). Anything they do not cover (a ratio bound, multipliers
indexed differently, predictions that are not an array) goes to fairlearn's own method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.reductions import (
    DemographicParity,
    EqualizedOdds,
    ErrorRate,
    ErrorRateParity,
    TruePositiveRateParity,
)


class ArrayErrorRate(ErrorRate):
    """fairlearn's ``ErrorRate`` whose ``gamma`` works on arrays."""

    def load_data(self, X: Any, y: Any, *, sensitive_features: Any) -> None:
        super().load_data(X, y, sensitive_features=sensitive_features)
        self._labels = self.tags["label"].to_numpy()

    def gamma(self, predictor: Callable[..., Any]) -> pd.Series:
        y_pred = predictor(self.X)
        if not isinstance(y_pred, np.ndarray):
            return super().gamma(lambda _X: y_pred)
        y_pred = np.squeeze(y_pred)
        signed_errors = self._labels - y_pred
        total_fn_cost = np.sum(signed_errors[signed_errors > 0] * self.fn_cost)
        total_fp_cost = np.sum(-signed_errors[signed_errors < 0] * self.fp_cost)
        return pd.Series(data=(total_fn_cost + total_fp_cost) / self.total_samples, index=self.index)


class _ArrayParity:
    """Mixin for fairlearn's ``UtilityParity`` moments (put before the fairlearn class)."""

    U: pd.DataFrame
    X: Any
    ratio: float
    tags: pd.DataFrame
    utilities: np.ndarray
    utility_diff: np.ndarray
    prob_event: pd.Series
    prob_group_event: pd.Series

    def default_objective(self) -> ErrorRate:
        return ArrayErrorRate()

    def load_data(self, X: Any, y: Any, **kwargs: Any) -> None:
        super().load_data(X, y, **kwargs)  # type: ignore[misc]
        self._u = self.U.to_numpy()
        self._u_t = self.U.T.to_numpy()  # the layout fairlearn's U.T.dot multiplies, for the same sums
        events = self.prob_group_event.index.get_level_values(0)
        self._blocks = [np.flatnonzero(events == event) for event in pd.unique(events)]
        self._group_prob = self.prob_group_event.div(self.prob_event, level="event").to_numpy()

    def _indexed_as_constraints(self, lambda_vec: Any) -> bool:
        index = self.index  # type: ignore[attr-defined]
        return isinstance(lambda_vec, pd.Series) and (lambda_vec.index is index or lambda_vec.index.equals(index))

    def gamma(self, predictor: Callable[..., Any]) -> pd.Series:
        predictions = predictor(self.X)
        if not isinstance(predictions, np.ndarray):
            return super().gamma(lambda _X: predictions)  # type: ignore[misc]
        predictions = np.squeeze(predictions)
        pred = self.utility_diff.T * predictions + self.utilities[:, 0]
        return pd.Series(-np.dot(self._u_t, pred) / self.total_samples, index=self.index)  # type: ignore[attr-defined]

    def project_lambda(self, lambda_vec: pd.Series) -> pd.Series:
        if self.ratio != 1.0 or not self._indexed_as_constraints(lambda_vec):
            return super().project_lambda(lambda_vec)  # type: ignore[misc]
        values = lambda_vec.to_numpy()
        half = len(values) // 2
        signed = (values[:half] - values[half:]).astype(np.float64)
        for block in self._blocks:  # as fairlearn: a weighted median shift within each event
            event_lambda, event_prob = signed[block], self._group_prob[block]
            normalized = event_lambda / event_prob
            order = np.argsort(normalized, kind="stable")
            position = np.searchsorted(np.cumsum(event_prob[order]), event_prob.sum() / 2)
            signed[block] = event_lambda - event_prob * normalized[order[position]]
        positive = np.where(np.isnan(signed) | (signed >= 0.0), signed, 0.0)
        negative = np.where(np.isnan(signed) | (-signed >= 0.0), -signed, 0.0)
        return pd.Series(np.concatenate([positive, negative]), index=self.index)  # type: ignore[attr-defined]

    def signed_weights(self, lambda_vec: pd.Series) -> pd.Series:
        if not self._indexed_as_constraints(lambda_vec):
            return super().signed_weights(lambda_vec)  # type: ignore[misc]
        return pd.Series(self.utility_diff * np.dot(self._u, lambda_vec.to_numpy()), index=self.tags.index)


class ArrayDemographicParity(_ArrayParity, DemographicParity):
    """fairlearn's ``DemographicParity``, per-iteration steps on arrays."""


class ArrayEqualizedOdds(_ArrayParity, EqualizedOdds):
    """fairlearn's ``EqualizedOdds``, per-iteration steps on arrays."""


class ArrayTruePositiveRateParity(_ArrayParity, TruePositiveRateParity):
    """fairlearn's ``TruePositiveRateParity``, per-iteration steps on arrays."""


class ArrayErrorRateParity(_ArrayParity, ErrorRateParity):
    """fairlearn's ``ErrorRateParity``, per-iteration steps on arrays."""


ARRAY_MOMENTS = {
    "demographic_parity": ArrayDemographicParity,
    "equalized_odds": ArrayEqualizedOdds,
    "true_positive_rate_parity": ArrayTruePositiveRateParity,
    "error_rate_parity": ArrayErrorRateParity,
}
