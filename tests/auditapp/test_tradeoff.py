"""The array form of ThresholdOptimizer's trade-off curve is fairlearn's curve, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.postprocessing import _threshold_optimizer as fairlearn_module
from fairlearn.postprocessing._tradeoff_curve_utilities import _tradeoff_curve

from auditapp.mitigation.learners import quiet_fairlearn
from auditapp.mitigation.post import ScoreColumn, fit_threshold_rules
from auditapp.mitigation.tradeoff import covered, exact_tradeoff_curves, tradeoff_curve

X_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "true_negative_rate",
             "false_negative_rate")
Y_METRICS = ("accuracy_score", "balanced_accuracy_score", "selection_rate", "true_positive_rate",
             "true_negative_rate")


def _same(ours: pd.DataFrame, theirs: pd.DataFrame) -> bool:
    return (list(ours.columns) == list(theirs.columns) and list(ours.index) == list(theirs.index)
            and np.array_equal(ours["x"].to_numpy(), theirs["x"].to_numpy())
            and np.array_equal(ours["y"].to_numpy(), theirs["y"].to_numpy())
            and [(o.operator, o.threshold) for o in ours["operation"]]
            == [(o.operator, o.threshold) for o in theirs["operation"]])


def test_curve_equals_fairlearns_on_ties_imbalance_flipping_and_every_metric_pair():
    rng = np.random.default_rng(3)
    compared = 0
    for trial in range(150):
        n = int(rng.integers(2, 250))
        decimals = int(rng.integers(0, 4))  # 1-3 decimals: many tied scores (and tied points)
        scores = np.round(rng.random(n), decimals) if decimals else rng.random(n)
        labels = (rng.random(n) < rng.random()).astype(np.int64)
        data = pd.DataFrame({"score": scores, "label": labels})
        x_metric, y_metric = X_METRICS[trial % 5], Y_METRICS[(trial // 5) % 5]
        for flip in (False, True):
            try:
                theirs = _tradeoff_curve(data, "g", flip=flip, x_metric=x_metric, y_metric=y_metric)
            except ValueError as exc:  # one label only: the same refusal
                with pytest.raises(ValueError, match=str(exc)):
                    tradeoff_curve(data, "g", flip=flip, x_metric=x_metric, y_metric=y_metric)
                continue
            ours = tradeoff_curve(data, "g", flip=flip, x_metric=x_metric, y_metric=y_metric)
            assert _same(ours, theirs), (trial, flip, x_metric, y_metric)
            compared += 1
    assert compared > 250


def _rules(optimizer: ThresholdOptimizer) -> dict:
    return {g: (r.p0, r.operation0.operator, r.operation0.threshold, r.p1, r.operation1.operator,
                r.operation1.threshold, r.get("p_ignore"), r.get("prediction_constant"))
            for g, r in optimizer.interpolated_thresholder_.interpolation_dict.items()}


@pytest.mark.parametrize("constraint,objective", [
    ("demographic_parity", "accuracy_score"), ("true_positive_rate_parity", "balanced_accuracy_score"),
    ("false_positive_rate_parity", "accuracy_score"), ("equalized_odds", "accuracy_score"),
])
def test_threshold_optimizer_fits_the_same_rules_with_the_array_curve(constraint, objective):
    rng = np.random.default_rng(5)
    n = 3000
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.35, 0.15])
    labels = (rng.random(n) < np.where(groups == "a", 0.4, 0.25)).astype(np.int64)
    scores = np.clip(np.round(0.3 * labels + rng.normal(0.35, 0.2, n), 3), 0, 1)
    X = pd.DataFrame({"score": scores})

    def fit(flip: bool) -> ThresholdOptimizer:
        optimizer = ThresholdOptimizer(estimator=ScoreColumn().fit(X), constraints=constraint, objective=objective,
                                       prefit=True, predict_method="predict_proba", flip=flip)
        with quiet_fairlearn():
            return optimizer.fit(X, labels, sensitive_features=pd.Series(groups))

    for flip in (False, True):
        theirs = fit(flip)
        with exact_tradeoff_curves():
            ours = fit(flip)
        assert _rules(ours) == _rules(theirs)
    if constraint == "demographic_parity":  # the candidate's own entry point uses it
        rules = fit_threshold_rules(scores, labels, groups, constraint=constraint, objective=objective)
        assert rules == {g: (p0, t0, p1, t1, p_ignore or 0.0, constant or 0.0)
                         for g, (p0, _o0, t0, p1, _o1, t1, p_ignore, constant) in _rules(fit(False)).items()}


def test_fairlearn_is_untouched_outside_the_block_and_for_data_the_array_form_does_not_cover():
    original = fairlearn_module._tradeoff_curve
    with exact_tradeoff_curves():
        swapped = fairlearn_module._tradeoff_curve
        assert swapped is not original
        infinite = pd.DataFrame({"score": [np.inf, 0.5, 0.7, 0.4], "label": [0, 1, 1, 0]})
        # not covered (a score that is not finite): fairlearn's own function answers
        assert not covered(infinite) and covered(infinite.iloc[1:])
        assert _same(swapped(infinite, "g"), original(infinite, "g"))
    assert fairlearn_module._tradeoff_curve is original
