"""The faster mitigation comparison gives fairlearn's own answers: encoding once, warm starts, the schedule."""

import numpy as np
import pandas as pd
import pytest

from auditapp.mitigation.design import encode_once
from auditapp.mitigation.inprocessing import fit_exponentiated_gradient, fit_grid_search
from auditapp.mitigation.learners import default_learner, quiet_fairlearn

FEATURES = ("age", "job", "hours")


def _people(n=1500, seed=3):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=n, p=[0.4, 0.6])
    job = rng.choice(["clerk", "nurse", "engineer", "driver"], size=n)
    age = rng.integers(18, 70, size=n).astype(float)
    age[rng.random(n) < 0.05] = np.nan
    hours = rng.normal(40, 8, size=n)
    logit = 0.04 * (np.nan_to_num(age, nan=40) - 40) + 0.05 * (hours - 40) + 0.8 * (job == "engineer") \
        - 0.9 * (sex == "female")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"age": age, "job": job, "hours": hours, "sex": sex, "y": y})


@pytest.fixture(scope="module")
def people():
    frame = _people()
    return frame.iloc[:1000], frame.iloc[1000:]


@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds"])
def test_exponentiated_gradient_on_the_encoded_matrix_is_fairlearns_on_the_whole_pipeline(people, constraint):
    from fairlearn.reductions import ExponentiatedGradient

    from auditapp.mitigation.inprocessing import make_constraint

    train, test = people
    X, y = train[list(FEATURES)], train["y"].to_numpy()
    reduction = ExponentiatedGradient(default_learner(train, FEATURES), make_constraint(constraint), eps=0.01,
                                      max_iter=50, sample_weight_name="classify__sample_weight")
    with quiet_fairlearn():
        reduction.fit(X, y, sensitive_features=train["sex"])
        expected = reduction._pmf_predict(test[list(FEATURES)])[:, 1]
    ours = fit_exponentiated_gradient(default_learner(train, FEATURES), X, y, train["sex"].to_numpy(),
                                      constraint=constraint, warm_start=False)
    np.testing.assert_allclose(ours.predict_proba(test[list(FEATURES)])[:, 1], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(sorted(ours.weights), sorted(reduction.weights_[reduction.weights_ > 0]),
                               rtol=0, atol=1e-12)
    # The mixture's models are whole pipelines again: they take the learner's own columns.
    assert all(list(m.feature_names_in_) == list(FEATURES) for m in ours.predictors)
    # They share their encoding steps, which the mixture applies once; decide() is predict and predict_proba.
    assert len({tuple(map(id, m[:-1])) for m in ours.predictors}) == 1
    decisions, p = ours.decide(test[list(FEATURES)])
    assert np.array_equal(decisions, ours.predict(test[list(FEATURES)]))
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-12)


def test_grid_search_on_the_encoded_matrix_is_fairlearns_on_the_whole_pipeline(people):
    from fairlearn.reductions import DemographicParity, GridSearch

    train, test = people
    X, y = train[list(FEATURES)], train["y"].to_numpy()
    search = GridSearch(default_learner(train, FEATURES), DemographicParity(), grid_size=20,
                        sample_weight_name="classify__sample_weight")
    with quiet_fairlearn():
        search.fit(X, y, sensitive_features=train["sex"])
    expected = search.predictors_[search.best_idx_]
    ours = fit_grid_search(default_learner(train, FEATURES), X, y, train["sex"].to_numpy(),
                           constraint="demographic_parity", grid_size=20)
    np.testing.assert_allclose(ours[-1].coef_, expected[-1].coef_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(ours.predict(test[list(FEATURES)]), expected.predict(test[list(FEATURES)]))


def test_an_encoding_step_that_reads_the_labels_is_never_split_off(people):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler, TargetEncoder

    train, _test = people
    learner = Pipeline([("encode", ColumnTransformer([("job", TargetEncoder(), ["job"]),
                                                      ("num", StandardScaler(), ["hours"])])),
                        ("classify", LogisticRegression())])
    encoded = encode_once(learner, train[list(FEATURES)])
    assert not encoded.split and encoded.learner is learner and encoded.matrix is not None
    assert encode_once(LogisticRegression(), train[["hours"]]).split is False
    plain = encode_once(default_learner(train, FEATURES), train[list(FEATURES)])
    assert plain.split and plain.name == "classify" and plain.matrix.shape == (1000, 2 + 4)


def test_group_labels_are_joined_column_by_column_as_the_row_by_row_join_did():
    from auditapp.core.metrics import GROUP_SEPARATOR
    from auditapp.mitigation.grouping import joined_labels

    frame = pd.DataFrame({"sex": ["female", "male", "(missing)", "male"], "age": pd.Categorical(
        ["[18, 30)", "[30, 45)", "[18, 30)", "[45, 70)"]), "n": [1, 2, 3, 4]})
    for columns in (["sex"], ["sex", "age"], ["sex", "age", "n"]):
        by_row = frame[columns].astype(str).agg(GROUP_SEPARATOR.join, axis=1).to_numpy(dtype=str)
        np.testing.assert_array_equal(joined_labels(frame[columns]), by_row)


def _accuracy_and_parity(expected, y, sex):
    expected = np.asarray(expected, dtype=np.float64)
    accuracy = float(np.mean(np.where(y == 1, expected, 1 - expected)))
    rates = [expected[sex == g].mean() for g in np.unique(sex)]
    return accuracy, max(rates) - min(rates)


def test_a_warm_started_fit_reaches_the_cold_optimum_and_starts_from_the_last_one(people):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from auditapp.mitigation.warm import unwrap, warm

    train, _test = people
    Z = encode_once(default_learner(train, FEATURES), train[list(FEATURES)]).matrix
    y = train["y"].to_numpy()
    rng = np.random.default_rng(0)
    learner = warm(LogisticRegression(max_iter=1000))
    for _ in range(4):  # the reductions' pattern: clone, fit on other weights
        weights = rng.uniform(0.2, 2.0, size=len(y))
        fitted = unwrap(clone(learner).fit(Z, y, sample_weight=weights))
        cold = LogisticRegression(max_iter=1000).fit(Z, y, sample_weight=weights)
        assert type(fitted) is LogisticRegression and fitted.warm_start is False
        # One optimum (L2 penalty): the same probabilities up to the solver's stopping point.
        np.testing.assert_allclose(fitted.predict_proba(Z), cold.predict_proba(Z), atol=1e-3)
    again = unwrap(clone(learner).fit(Z, y, sample_weight=weights))  # same problem: starts at its optimum
    assert again.n_iter_[0] <= 2 < cold.n_iter_[0]
    assert warm(LogisticRegression(solver="liblinear")).__class__ is LogisticRegression


def test_warm_started_reductions_agree_with_fairlearn_within_the_solvers_tolerance(people):
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient, GridSearch

    train, test = people
    X, y, sex = train[list(FEATURES)], train["y"].to_numpy(), train["sex"].to_numpy()
    X_test, y_test, sex_test = test[list(FEATURES)], test["y"].to_numpy(), test["sex"].to_numpy()
    with quiet_fairlearn():
        eg = ExponentiatedGradient(default_learner(train, FEATURES), DemographicParity(), eps=0.01, max_iter=50,
                                   sample_weight_name="classify__sample_weight").fit(X, y, sensitive_features=sex)
        gs = GridSearch(default_learner(train, FEATURES), DemographicParity(), grid_size=20,
                        sample_weight_name="classify__sample_weight").fit(X, y, sensitive_features=sex)
        eg_expected = eg._pmf_predict(X_test)[:, 1]
    ours_eg = fit_exponentiated_gradient(default_learner(train, FEATURES), X, y, sex, constraint="demographic_parity",
                                         warm_start=True)
    ours_gs = fit_grid_search(default_learner(train, FEATURES), X, y, sex, constraint="demographic_parity",
                              warm_start=True)
    # The mixture's weights move with the solver's stopping point (here by about 1e-3), and a row on a
    # model's boundary may flip in that model; few rows do.
    moved = np.abs(ours_eg.predict_proba(X_test)[:, 1] - eg_expected)
    assert moved.mean() <= 0.005 and np.mean(moved > 0.02) <= 0.01
    assert np.mean(ours_gs.predict(X_test) != gs.predict(X_test)) <= 0.01
    for ours, theirs in ((ours_eg.predict_proba(X_test)[:, 1], eg_expected),
                         (ours_gs.predict(X_test), gs.predict(X_test))):
        np.testing.assert_allclose(_accuracy_and_parity(ours, y_test, sex_test),
                                   _accuracy_and_parity(theirs, y_test, sex_test), atol=2e-3)
