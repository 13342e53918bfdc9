"""The faster mitigation comparison gives fairlearn's own answers: encoding once, converged refits, the schedule."""

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
    import fairlearn.reductions
    from fairlearn.reductions import ExponentiatedGradient

    from auditapp.mitigation.inprocessing import REDUCTION_CONSTRAINTS

    train, test = people
    X, y = train[list(FEATURES)], train["y"].to_numpy()
    moment = getattr(fairlearn.reductions, REDUCTION_CONSTRAINTS[constraint])()  # fairlearn's own moment
    reduction = ExponentiatedGradient(default_learner(train, FEATURES), moment, eps=0.01,
                                      max_iter=50, sample_weight_name="classify__sample_weight")
    with quiet_fairlearn():
        reduction.fit(X, y, sensitive_features=train["sex"])
        expected = reduction._pmf_predict(test[list(FEATURES)])[:, 1]
    ours = fit_exponentiated_gradient(default_learner(train, FEATURES), X, y, train["sex"].to_numpy(),
                                      constraint=constraint, inner_fits="as_given")
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
                           constraint="demographic_parity", grid_size=20, inner_fits="as_given")
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


def _converged(learner):
    """``learner`` (the default pipeline) with its logistic regression solved to convergence by its own solver."""
    return learner.set_params(classify__tol=1e-11, classify__max_iter=100_000)


def test_a_converged_refit_is_the_learners_optimum_reached_from_the_last_one(people):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    from auditapp.mitigation.warm import NEWTON_MAX_FEATURES, can_converge, inner_learner, unwrap

    train, _test = people
    Z = encode_once(default_learner(train, FEATURES), train[list(FEATURES)]).matrix
    y = train["y"].to_numpy()
    rng = np.random.default_rng(0)
    user = LogisticRegression(C=0.5, max_iter=1000)
    learner, note = inner_learner(user, Z.shape[1])
    assert "solved to convergence" in note and "lbfgs" in note
    for _ in range(4):  # the reductions' pattern: clone, fit on other weights
        weights = rng.uniform(0.2, 2.0, size=len(y))
        fitted = unwrap(clone(learner).fit(Z, y, sample_weight=weights))
        exact = LogisticRegression(C=0.5, tol=1e-12, max_iter=100_000).fit(Z, y, sample_weight=weights)
        default = LogisticRegression(C=0.5, max_iter=1000).fit(Z, y, sample_weight=weights)
        assert type(fitted) is LogisticRegression and fitted.warm_start is False and fitted.C == 0.5
        # The one optimum of the user's objective (L2 penalty, same C): what lbfgs reaches when run to the end,
        # much closer than lbfgs at its default tolerance gets.
        gap = np.max(np.abs(fitted.coef_ - exact.coef_))
        assert gap < 1e-6 < np.max(np.abs(default.coef_ - exact.coef_))
        np.testing.assert_allclose(fitted.intercept_, exact.intercept_, atol=1e-6)
    again = unwrap(clone(learner).fit(Z, y, sample_weight=weights))  # the same problem: starts at its optimum
    assert again.n_iter_[0] <= 1 < fitted.n_iter_[0]
    # A refit starts from the nearest problem solved before, not just the last one (ExponentiatedGradient
    # goes back to earlier multipliers): after another problem, the first one again starts at its optimum.
    flipped = unwrap(clone(learner).fit(Z, 1 - y, sample_weight=weights[::-1]))
    back = unwrap(clone(learner).fit(Z, y, sample_weight=weights))
    assert back.n_iter_[0] <= 1 < flipped.n_iter_[0]
    np.testing.assert_allclose(back.coef_, again.coef_, atol=1e-8)
    # Only a penalised log-loss with one optimum is solved exactly; anything else is refitted as given.
    for other in (LogisticRegression(solver="liblinear"), LogisticRegression(l1_ratio=1.0, solver="saga"),
                  LogisticRegression(C=np.inf), LogisticRegression(dual=True, solver="liblinear")):
        assert not can_converge(other) and inner_learner(other, 5) == (other, None)
    assert inner_learner(user, NEWTON_MAX_FEATURES + 1) == (user, None)
    assert inner_learner(user, 5, "as_given") == (user, None)


def test_the_symmetric_hessian_is_scikit_learns_and_is_used_only_inside_a_converged_fit(people):
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression, _linear_loss

    from auditapp.mitigation import warm

    rng = np.random.default_rng(4)
    X, W = rng.normal(size=(3000, 23)), rng.uniform(0, 3, size=3000)
    W[::7] = 0.0
    original = getattr(_linear_loss.sandwich_dot, "auditapp_original", _linear_loss.sandwich_dot)
    expected = original(X, W)
    ours = warm.symmetric_sandwich(X, W)
    assert np.array_equal(ours, ours.T)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-10)
    train, _test = people
    Z = encode_once(default_learner(train, FEATURES), train[list(FEATURES)]).matrix
    y = train["y"].to_numpy()
    dense = np.column_stack([Z, rng.normal(size=(len(Z), 2))])  # no 0/1 patterns worth summing over
    used = []
    real, real_patterns = warm.symmetric_sandwich, warm.BinaryPatterns.sandwich

    def counting(X, W):
        used.append(("rank-k", X.shape))
        return real(X, W)

    def counting_patterns(self, W):
        used.append(("patterns", self.X.shape))
        return real_patterns(self, W)

    warm.symmetric_sandwich = counting
    warm.BinaryPatterns.sandwich = counting_patterns
    try:
        learner, _note = warm.inner_learner(LogisticRegression(), Z.shape[1])
        weights = rng.uniform(0.2, 2.0, size=len(y))
        fitted = warm.unwrap(clone(learner).fit(Z, y, sample_weight=weights))
        # every Hessian of the fit, summed per pattern of the one-hot columns
        assert used and set(used) == {("patterns", Z.shape)}
        del used[:]
        warm.unwrap(clone(learner).fit(dense, y, sample_weight=weights))
        assert used and set(used) == {("rank-k", dense.shape)}
        del used[:]
        LogisticRegression(solver="newton-cholesky").fit(Z, y)  # anyone else's fit: scikit-learn's own
        assert used == [] and fitted.n_iter_[0] >= 1
    finally:
        warm.symmetric_sandwich = real
        warm.BinaryPatterns.sandwich = real_patterns
    # outside a Converged fit the installed function is scikit-learn's, bit for bit
    assert np.array_equal(_linear_loss.sandwich_dot(X, W), expected)
    assert np.array_equal(_linear_loss.sandwich_dot(X, -W), original(X, -W))


def test_the_hessian_summed_per_pattern_of_the_0_1_columns_is_the_same_matrix(monkeypatch):
    from auditapp.mitigation.warm import BinaryPatterns

    rng = np.random.default_rng(11)
    n = 4000
    blocks = [np.eye(k)[rng.integers(0, k, size=n)] for k in (3, 5, 2)]  # one-hot columns
    flag = (rng.random(n) < 0.1).astype(float)  # a 0/1 column of its own
    numbers = np.column_stack([rng.normal(size=n), rng.integers(18, 70, size=n), rng.exponential(size=n)])
    X = np.ascontiguousarray(np.column_stack([numbers[:, 0], *blocks[:2], numbers[:, 1:], flag, blocks[2]]))
    W = rng.uniform(0, 3, size=n)
    W[::5] = 0.0
    patterns = BinaryPatterns.of(X)
    assert patterns is not None and patterns.X is X
    assert len(patterns.patterns) == len({tuple(r) for r in X[:, patterns.binary]}) <= 3 * 5 * 2 * 2
    assert patterns.binary.tolist() == [*range(1, 9), 11, 12, 13]
    ours = patterns.sandwich(W)
    expected = X.T @ (W[:, None] * X)
    assert np.array_equal(ours, ours.T)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-9)
    with monkeypatch.context() as patch:  # a large matrix is read a part of its rows at a time: the same patterns
        patch.setattr(BinaryPatterns, "CHUNK_ROWS", 999)
        chunked = BinaryPatterns.of(X)
    assert np.array_equal(chunked.patterns, patterns.patterns) and np.array_equal(chunked.inverse, patterns.inverse)
    assert np.array_equal(chunked.binary, patterns.binary)
    only_binary = np.ascontiguousarray(X[:, patterns.binary])  # no other column
    np.testing.assert_allclose(BinaryPatterns.of(only_binary).sandwich(W), only_binary.T @ (W[:, None] * only_binary),
                               rtol=1e-12, atol=1e-9)
    # Not where it would not save much, or could not be keyed exactly: nothing is summed then.
    many = (rng.random((n, 20)) < 0.5).astype(float)  # ~4,000 distinct patterns of 4,000 rows
    assert BinaryPatterns.of(many) is None
    assert BinaryPatterns.of(numbers.copy()) is None  # no 0/1 column
    assert BinaryPatterns.of(np.ascontiguousarray(X[:, :4])) is None  # too few 0/1 columns
    assert BinaryPatterns.of(np.eye(60)[rng.integers(0, 60, size=n)]) is None  # more than 52 0/1 columns
    assert BinaryPatterns.of(X.astype(np.float32)) is None


def test_converged_reductions_are_fairlearns_with_the_learner_solved_to_convergence(people):
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient, GridSearch

    train, test = people
    X, y, sex = train[list(FEATURES)], train["y"].to_numpy(), train["sex"].to_numpy()
    X_test = test[list(FEATURES)]
    with quiet_fairlearn():
        eg = ExponentiatedGradient(_converged(default_learner(train, FEATURES)), DemographicParity(), eps=0.01,
                                   max_iter=50, sample_weight_name="classify__sample_weight").fit(
                                       X, y, sensitive_features=sex)
        gs = GridSearch(_converged(default_learner(train, FEATURES)), DemographicParity(), grid_size=20,
                        sample_weight_name="classify__sample_weight").fit(X, y, sensitive_features=sex)
        eg_expected = eg._pmf_predict(X_test)[:, 1]
    notes: list[str] = []
    ours_eg = fit_exponentiated_gradient(default_learner(train, FEATURES), X, y, sex,
                                         constraint="demographic_parity", notes=notes)
    ours_gs = fit_grid_search(default_learner(train, FEATURES), X, y, sex, constraint="demographic_parity",
                              notes=notes)
    assert len(notes) == 2 and all("solved to convergence" in n for n in notes)
    np.testing.assert_allclose(ours_eg.predict_proba(X_test)[:, 1], eg_expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(sorted(ours_eg.weights), sorted(eg.weights_[eg.weights_ > 0]), rtol=0, atol=1e-6)
    best = gs.predictors_[gs.best_idx_]
    np.testing.assert_allclose(ours_gs[-1].coef_, best[-1].coef_, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours_gs.predict(X_test), best.predict(X_test))
    assert ours_gs[-1].solver == "newton-cholesky" and ours_gs[-1].tol == 1e-8


def test_the_comparison_says_how_its_reductions_refitted_and_as_given_is_fairlearns_own(people):
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient

    from auditapp.core.errors import AuditInputError
    from auditapp.core.spec import AuditSpec
    from auditapp.inputs.models import from_estimator
    from auditapp.mitigation.compare import compare_mitigations
    from auditapp.mitigation.export import mitigation_record

    train, test = people
    frame = pd.concat([train, test], ignore_index=True)
    model = from_estimator(default_learner(train, FEATURES).fit(train[list(FEATURES)], train["y"]))
    spec = AuditSpec(target="y", sensitive=("sex",), seed=0, n_boot=100)
    records = {}
    for inner_fits in ("converged", "as_given"):
        comparison = compare_mitigations(frame, spec, model, candidates=["exponentiated_gradient", "grid_search"],
                                         inner_fits=inner_fits)
        record = mitigation_record(comparison)
        assert record["inner_fits"] == inner_fits
        said = [any("solved to convergence" in n for n in c["notes"]) for c in record["candidates"]]
        assert said == [inner_fits == "converged"] * 2
        records[inner_fits] = comparison
    # as_given: fairlearn's ExponentiatedGradient on the same training rows, its expectation on the test rows.
    split = records["as_given"].split
    rows = frame.iloc[split.train_positions]
    with quiet_fairlearn():
        eg = ExponentiatedGradient(default_learner(train, FEATURES), DemographicParity(), eps=0.01, max_iter=50,
                                   sample_weight_name="classify__sample_weight").fit(
                                       rows[list(FEATURES)], rows["y"].to_numpy(), sensitive_features=rows["sex"])
        expected = eg._pmf_predict(frame.iloc[split.test_positions][list(FEATURES)])[:, 1]
    y_test = frame["y"].to_numpy()[split.test_positions]
    accuracy = float(np.mean(np.where(y_test == 1, expected, 1 - expected)))
    assert abs(records["as_given"].candidate("exponentiated_gradient").accuracy.value - accuracy) < 1e-12
    with pytest.raises(AuditInputError, match="converged, as_given"):
        compare_mitigations(frame, spec, model, candidates=["grid_search"], inner_fits="exact")


def _sparse_learner(**classify):
    """A pipeline whose one-hot encoding is sparse (scikit-learn's default), as users' pipelines often are."""
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encode = make_column_transformer((StandardScaler(), ["hours"]), (OneHotEncoder(), ["job"]), sparse_threshold=1.0)
    return Pipeline([("encode", encode), ("classify", LogisticRegression(**classify))])


@pytest.mark.parametrize("inner_fits", ["as_given", "converged"])
def test_a_sparse_encoding_gives_fairlearns_answer_on_the_whole_pipeline(people, inner_fits, monkeypatch):
    """fairlearn's reductions refuse sparse features: the encoded rows go to them dense (before, a pipeline
    with a sparse one-hot encoding failed both reductions with a TypeError)."""
    import scipy.sparse as sp
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient, GridSearch

    import auditapp.mitigation.design as design

    train, test = people
    X, y, sex = train[["hours", "job"]], train["y"].to_numpy(), train["sex"].to_numpy()
    assert sp.issparse(_sparse_learner()[:-1].fit_transform(X))
    solved = {} if inner_fits == "as_given" else {"tol": 1e-11, "max_iter": 100_000}
    with quiet_fairlearn():
        eg = ExponentiatedGradient(_sparse_learner(**solved), DemographicParity(), eps=0.01, max_iter=50,
                                   sample_weight_name="classify__sample_weight").fit(X, y, sensitive_features=sex)
        gs = GridSearch(_sparse_learner(**solved), DemographicParity(), grid_size=20,
                        sample_weight_name="classify__sample_weight").fit(X, y, sensitive_features=sex)
        expected = eg._pmf_predict(test[["hours", "job"]])[:, 1]
    ours_eg = fit_exponentiated_gradient(_sparse_learner(), X, y, sex, constraint="demographic_parity",
                                         inner_fits=inner_fits)
    ours_gs = fit_grid_search(_sparse_learner(), X, y, sex, constraint="demographic_parity", inner_fits=inner_fits)
    # As given: fairlearn's own fits on the same numbers, dense instead of sparse (rounding only); converged: the
    # optimum, within the tolerance fairlearn's lbfgs run to the end reaches it.
    tolerance = 1e-12 if inner_fits == "as_given" else 1e-6
    np.testing.assert_allclose(ours_eg.predict_proba(test[["hours", "job"]])[:, 1], expected, rtol=0, atol=tolerance)
    best = gs.predictors_[gs.best_idx_]
    np.testing.assert_allclose(ours_gs[-1].coef_, best[-1].coef_, rtol=0, atol=tolerance)
    np.testing.assert_array_equal(ours_gs.predict(test[["hours", "job"]]), best.predict(test[["hours", "job"]]))
    # A sparse encoding too large to hold dense is not split off: the reductions refit the whole pipeline.
    monkeypatch.setattr(design, "DENSE_CELLS_MAX", 10)
    assert not encode_once(_sparse_learner(), X).split


def test_candidates_in_one_process_share_the_encoding_of_the_same_rows_and_fit_the_same_models(people):
    from sklearn.base import clone

    from auditapp.mitigation.design import fit_whole

    train, test = people
    X, y = train[list(FEATURES)], train["y"].to_numpy()
    learner = default_learner(train, FEATURES)
    first, again = encode_once(clone(learner), X), encode_once(clone(learner), X.copy())
    # the same rows (another frame object) and the same steps: the fitted encoding and matrix are shared
    assert first.split and again.matrix is first.matrix and again.steps[0][1] is first.steps[0][1]
    assert again.learner is not first.learner and not first.matrix.flags.writeable
    changed = X.copy()
    changed.iloc[0, changed.columns.get_loc("hours")] += 1.0
    assert encode_once(clone(learner), changed).matrix is not first.matrix  # other rows: encoded anew
    other_steps = clone(learner).set_params(**{f"{learner.steps[0][0]}__n_jobs": 1})
    assert encode_once(other_steps, X).matrix is not first.matrix  # other parameters: encoded anew
    # a whole pipeline fitted on the shared encoding is the pipeline fitted as it is, bit for bit
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    name = f"{learner.steps[-1][0]}__sample_weight"
    ours = fit_whole(clone(learner), X, y, **{name: weights})
    theirs = clone(learner).fit(X, y, **{name: weights})
    assert np.array_equal(ours.predict_proba(test[list(FEATURES)]), theirs.predict_proba(test[list(FEATURES)]))
    assert np.array_equal(ours[-1].coef_, theirs[-1].coef_)
    # a sparse encoding is not densified for a whole fit: the pipeline is fitted as it is
    sparse = fit_whole(_sparse_learner(), train[["hours", "job"]], y)
    assert np.array_equal(sparse[-1].coef_, _sparse_learner().fit(train[["hours", "job"]], y)[-1].coef_)
