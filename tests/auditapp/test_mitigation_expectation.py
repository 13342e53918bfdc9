"""Randomised candidates are reported as their expectation: closed forms against fairlearn and by hand."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from auditapp.core.metrics import CRITERIA, compute_audit
from auditapp.core.spec import AuditSpec
from auditapp.mitigation.compare import compare_mitigations
from auditapp.mitigation.expectation import (
    SPREADS,
    criterion_values,
    draw_spread,
    expectation,
    expected_counts,
    rounded_decisions,
)
from auditapp.mitigation.export import mitigation_record
from auditapp.mitigation.learners import quiet_fairlearn
from auditapp.mitigation.post import ScoreColumn, fit_threshold_rules, threshold_probabilities


def _scored(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(group == "a", 0.55, 0.35)).astype(int)
    score = np.clip(0.3 * y + 0.15 * (group == "a") + rng.normal(0.35, 0.18, n), 0, 1)
    return score, y, group


def test_threshold_rules_give_fairlearns_own_probabilities():
    from fairlearn.postprocessing import ThresholdOptimizer

    score, y, group = _scored()
    X = pd.DataFrame({"score": score})
    optimizer = ThresholdOptimizer(estimator=ScoreColumn().fit(X), constraints="equalized_odds", prefit=True,
                                   predict_method="predict_proba", grid_size=1000)
    with quiet_fairlearn():
        optimizer.fit(X, y, sensitive_features=pd.Series(group))
        expected = optimizer._pmf_predict(X, sensitive_features=pd.Series(group))[:, 1]
    rules = fit_threshold_rules(score, y, group, constraint="equalized_odds")
    np.testing.assert_allclose(threshold_probabilities(score, group, rules), expected, atol=1e-12)


def test_expected_rates_are_the_mean_of_fairlearns_random_draws():
    from fairlearn.postprocessing import ThresholdOptimizer

    score, y, group = _scored(seed=1)
    X = pd.DataFrame({"score": score})
    optimizer = ThresholdOptimizer(estimator=ScoreColumn().fit(X), constraints="demographic_parity", prefit=True,
                                   predict_method="predict_proba")
    rules = fit_threshold_rules(score, y, group, constraint="demographic_parity")
    p = threshold_probabilities(score, group, rules)
    codes, _ = pd.factorize(pd.Series(group), sort=True)
    counts = expected_counts(y, p, codes, 3)
    with quiet_fairlearn():
        optimizer.fit(X, y, sensitive_features=pd.Series(group))
        draws = np.array([optimizer.predict(X, sensitive_features=pd.Series(group), random_state=s)
                          for s in range(400)])
    for k, name in enumerate(["a", "b", "c"]):
        rows = group == name
        per_draw = draws[:, rows].mean(axis=1)  # selection rate of each draw
        expected = (counts[k, 1] + counts[k, 3]) / rows.sum()
        standard_error = per_draw.std(ddof=1) / np.sqrt(len(per_draw))
        assert abs(per_draw.mean() - expected) < 4 * standard_error + 1e-12
    accuracy = (draws == y).mean(axis=1)
    exact = expectation(y, p, codes, 3).accuracy
    assert abs(accuracy.mean() - exact) < 4 * accuracy.std(ddof=1) / np.sqrt(len(accuracy)) + 1e-12


def test_exponentiated_gradient_expectation_is_the_mean_over_its_draws():
    from fairlearn.reductions import EqualizedOdds, ExponentiatedGradient

    score, y, group = _scored(1500, seed=2)
    X = pd.DataFrame({"x": score, "noise": np.random.default_rng(3).normal(size=score.size)})
    reduction = ExponentiatedGradient(LogisticRegression(), EqualizedOdds(), max_iter=20)
    with quiet_fairlearn():
        reduction.fit(X, y, sensitive_features=pd.Series(group))
        p = reduction._pmf_predict(X)[:, 1]
        draws = np.array([reduction.predict(X, random_state=s) for s in range(300)])
    codes, _ = pd.factorize(pd.Series(group), sort=True)
    counts = expected_counts(y, p, codes, 3)
    positives = (group == "b") & (y == 1)
    tpr = draws[:, positives].mean(axis=1)
    assert abs(tpr.mean() - counts[1, 3] / positives.sum()) < 4 * tpr.std(ddof=1) / np.sqrt(300) + 1e-12


def test_closed_form_by_hand_on_four_rows():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.25, 0.5, 1.0, 0.0])
    codes = np.array([0, 0, 1, 1])
    counts = expected_counts(y, p, codes, 2)
    # group 0: a positive favoured with 0.25, a negative with 0.5; group 1 decided for sure
    np.testing.assert_allclose(counts, [[0.5, 0.5, 0.75, 0.25], [1.0, 0.0, 0.0, 1.0]], atol=1e-12)
    exact = expectation(y, p, codes, 2)
    assert exact.accuracy == pytest.approx((0.25 + 0.5 + 1 + 1) / 4, abs=1e-12)
    # selection rates 0.375 and 0.5; TPR 0.25 and 1; FPR 0.5 and 0
    assert exact.criteria["demographic_parity_difference"] == pytest.approx(0.125, abs=1e-12)
    assert exact.criteria["demographic_parity_ratio"] == pytest.approx(0.75, abs=1e-12)
    assert exact.criteria["equalized_odds_difference"] == pytest.approx(0.75, abs=1e-12)


def test_criteria_mirror_the_audit_engine_on_whole_decisions():
    rng = np.random.default_rng(4)
    y, pred = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    group = rng.choice(["x", "y", "z", "w"], size=500)
    audit = compute_audit(y, pred, pd.DataFrame({"g": group}), n_boot=0)
    codes, _ = pd.factorize(pd.Series(group), sort=True)
    counts = expected_counts(y, pred.astype(float), codes, 4)
    assert set(SPREADS) <= set(CRITERIA)
    for name in SPREADS:
        assert float(criterion_values(name, counts)) == pytest.approx(audit.groupings[0].criteria.loc[name, "value"],
                                                                      abs=1e-12)


def test_rounded_decisions_keep_every_cell_within_half_a_row():
    rng = np.random.default_rng(5)
    y, codes, p = rng.integers(0, 2, 2000), rng.integers(0, 7, 2000), rng.random(2000) ** 2
    decided = rounded_decisions(y, p, codes)
    for cell in range(7):
        for label in (0, 1):
            rows = (codes == cell) & (y == label)
            assert abs(decided[rows].sum() - p[rows].sum()) <= 0.5


def test_draw_spread_is_a_point_for_sure_decisions_and_widens_with_chance():
    rng = np.random.default_rng(6)
    y, codes = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    sure = (rng.random(400) < 0.5).astype(float)
    spread = draw_spread(y, sure, codes, 2, draws=50, seed=1)
    exact = expectation(y, sure, codes, 2)
    assert spread.accuracy == (pytest.approx(exact.accuracy), pytest.approx(exact.accuracy))
    coin = np.full(400, 0.5)
    wide = draw_spread(y, coin, codes, 2, draws=400, seed=1)
    low, high = wide.criteria["demographic_parity_difference"]
    assert 0 < low < high < 0.25
    # A single draw's gap is biased upwards: the expected rule has no gap at all.
    assert expectation(y, coin, codes, 2).criteria["demographic_parity_difference"] == pytest.approx(0, abs=1e-12)
    assert draw_spread(y, coin, codes, 2, draws=400, seed=1) == wide  # seeded


@pytest.fixture(scope="module")
def randomized_comparison():
    from auditapp.inputs.models import from_estimator
    from datasets.hiring import generate_hiring, train_hiring_model

    frame = generate_hiring(1500, seed=21)
    model = from_estimator(train_hiring_model(generate_hiring(1500, seed=98), seed=0))
    spec = AuditSpec(target="hired", sensitive=("sex",), n_boot=100, seed=2)
    return compare_mitigations(frame, spec, model, constraint="equalized_odds",
                               candidates=["baseline", "exponentiated_gradient", "threshold_optimizer"])


@pytest.mark.parametrize("name", ["exponentiated_gradient", "threshold_optimizer"])
def test_randomized_candidates_report_the_expectation(randomized_comparison, name):
    result = randomized_comparison.candidate(name)
    assert result.randomized and result.error is None
    y = randomized_comparison.test_rows["hired"].to_numpy()
    sex = randomized_comparison.test_rows["sex"].to_numpy()
    p = result.y_score
    assert result.accuracy.value == pytest.approx(np.mean(np.where(y == 1, p, 1 - p)), abs=1e-12)
    tpr = {g: p[(sex == g) & (y == 1)].mean() for g in ("female", "male")}
    fpr = {g: p[(sex == g) & (y == 0)].mean() for g in ("female", "male")}
    gap = max(abs(tpr["female"] - tpr["male"]), abs(fpr["female"] - fpr["male"]))
    assert result.disparity.value == pytest.approx(gap, abs=1e-12)
    assert result.disparity.low <= result.disparity.value <= result.disparity.high
    assert result.draws is not None and result.draws.draws == 200
    # The decisions actually taken (keyed by each row) are one draw, not the expectation.
    assert set(np.unique(result.y_pred)) <= {0, 1}
    assert not result.y_pred.astype(float).tolist() == p.tolist()


def test_deterministic_candidates_have_no_draws(randomized_comparison):
    baseline = randomized_comparison.candidate("baseline")
    assert not baseline.randomized and baseline.draws is None


def test_record_states_expectation_and_draws(randomized_comparison):
    record = json.loads(json.dumps(mitigation_record(randomized_comparison), allow_nan=False))
    by_name = {c["name"]: c for c in record["candidates"]}
    eg = by_name["exponentiated_gradient"]
    assert eg["randomized"] is True and eg["reported_as"] == "expectation over the random decisions"
    low, high = eg["single_draws"]["disparity"]
    spread = randomized_comparison.candidate("exponentiated_gradient").draws
    assert (low, high) == pytest.approx(spread.criteria["equalized_odds_difference"])
    assert eg["single_draws"]["quantiles"] == [0.05, 0.95]
    assert by_name["baseline"]["single_draws"] is None and by_name["baseline"]["randomized"] is False
    assert "seeded hash" in record["decision_rule"]


def test_tradeoff_hover_says_which_points_are_expectations(randomized_comparison):
    from auditapp.figures.mitigation import tradeoff_figure
    from auditapp.mitigation.wording import draws_range

    hover = {row[0]: row[3] for trace in tradeoff_figure(randomized_comparison).data
             if trace.mode == "markers" for row in trace.customdata}
    eg = randomized_comparison.candidate("exponentiated_gradient")
    assert hover["exponentiated_gradient"] == f"<br>expectation; single draws' disparity {draws_range(eg)}"
    assert hover["baseline"] == ""
