"""The array moments give fairlearn's moments' numbers bit for bit, and fairlearn's reductions with them
give fairlearn's answers exactly."""

from __future__ import annotations

import fairlearn.reductions as reductions
import numpy as np
import pandas as pd
import pytest
from fairlearn.reductions import ExponentiatedGradient, GridSearch
from sklearn.linear_model import LogisticRegression

from auditapp.mitigation.inprocessing import REDUCTION_CONSTRAINTS, make_constraint
from auditapp.mitigation.learners import quiet_fairlearn
from auditapp.mitigation.moments import ARRAY_MOMENTS, ArrayErrorRate


def _equal(ours: pd.Series, theirs: pd.Series) -> bool:
    return (ours.index.equals(theirs.index) and ours.dtype == theirs.dtype
            and np.array_equal(ours.to_numpy(), theirs.to_numpy()))


@pytest.mark.parametrize("name", sorted(REDUCTION_CONSTRAINTS))
def test_every_step_equals_fairlearns_bit_for_bit(name):
    rng = np.random.default_rng(11)
    checked = 0
    for trial in range(12):
        n, k = int(rng.integers(30, 2000)), int(rng.integers(2, 6))
        X = pd.DataFrame({"a": rng.random(n)})
        groups = pd.Series(rng.choice([f"g{i}" for i in range(k)], n, p=rng.dirichlet(np.ones(k) * 3)))
        y = (rng.random(n) < 0.3).astype(int)
        if len(set(zip(groups, y, strict=True))) < 2 * k:
            continue
        kwargs = {"difference_bound": 0.02} if trial % 2 else {}
        theirs = getattr(reductions, REDUCTION_CONSTRAINTS[name])(**kwargs)
        ours = make_constraint(name, **kwargs)
        assert type(ours) is ARRAY_MOMENTS[name]
        objectives = theirs.default_objective(), ours.default_objective()
        assert isinstance(objectives[1], ArrayErrorRate)
        with quiet_fairlearn():  # fairlearn's own loading warns about pandas deprecations
            for moment in (theirs, ours, *objectives):
                moment.load_data(X, y, sensitive_features=groups)
        for draw in range(6):
            predictions = (rng.random(n) < 0.4).astype(int) if draw % 2 == 0 else rng.random(n)
            predictor = lambda _X, p=predictions: p  # noqa: E731
            assert _equal(ours.gamma(predictor), theirs.gamma(predictor))
            assert _equal(objectives[1].gamma(predictor), objectives[0].gamma(predictor))
            lambdas = pd.Series(rng.exponential(size=len(theirs.index)) * (rng.random(len(theirs.index)) < 0.7),
                                index=theirs.index)
            assert _equal(ours.project_lambda(lambdas), theirs.project_lambda(lambdas))
            assert _equal(ours.signed_weights(lambdas), theirs.signed_weights(lambdas))
            # multipliers indexed in another order go to fairlearn's own method (same answer by label)
            shuffled = lambdas.iloc[::-1]
            assert _equal(ours.signed_weights(shuffled), theirs.signed_weights(shuffled))
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("name", ["demographic_parity", "equalized_odds"])
def test_reductions_with_array_moments_give_fairlearns_answers_exactly(name):
    rng = np.random.default_rng(2)
    n = 1500
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    X = pd.DataFrame({"x1": rng.normal(size=n) + (groups == "a"), "x2": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-(X["x1"] - 0.3 * X["x2"])))).astype(int)
    sensitive = pd.Series(groups)

    def both(make):
        fitted = []
        for moment in (getattr(reductions, REDUCTION_CONSTRAINTS[name])(), make_constraint(name)):
            with quiet_fairlearn():
                fitted.append(make(moment).fit(X, y, sensitive_features=sensitive))
        return fitted

    theirs, ours = both(lambda m: ExponentiatedGradient(LogisticRegression(), m, eps=0.01, max_iter=50))
    assert np.array_equal(ours.weights_.to_numpy(), theirs.weights_.to_numpy())
    assert np.array_equal(ours._pmf_predict(X), theirs._pmf_predict(X))
    theirs, ours = both(lambda m: GridSearch(LogisticRegression(), m, grid_size=16))
    assert np.array_equal(ours.predict(X), theirs.predict(X))
    assert np.array_equal(ours.lambda_vecs_.to_numpy(), theirs.lambda_vecs_.to_numpy())
