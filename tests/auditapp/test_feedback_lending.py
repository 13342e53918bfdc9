"""Lending with delayed impact (Liu et al. 2018): thresholds, policies, outcome curves, FICO tables."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.feedback.lending import LendingParams, lending_json, simulate_lending
from auditapp.feedback.lending_policy import (
    apply_policy,
    choose_policy,
    outcome_curve,
    selection_from_rate,
    threshold_from_rate,
)
from auditapp.feedback.scores import (
    ScoreModel,
    read_fico_tables,
    score_model_from_tables,
    synthetic_score_model,
    transrisk_to_fico,
)
from tests.auditapp.fico_tables import write_fico_tables

TOY = ScoreModel(scores=np.array([300.0, 575.0, 850.0]), groups=("A", "B"),
                 pmf=np.array([[0.3, 0.5, 0.2], [0.6, 0.3, 0.1]]),
                 repay=np.array([[0.1, 0.5, 0.9], [0.1, 0.5, 0.9]]), group_shares=np.array([0.5, 0.5]))


@pytest.fixture
def fico_model(tmp_path):
    write_fico_tables(tmp_path)
    return read_fico_tables(tmp_path)


def test_selection_randomises_at_the_boundary_score():
    selected = selection_from_rate(np.array([0.2, 0.5, 0.3]), 0.45)
    assert selected == pytest.approx([0.0, 0.3, 1.0])
    assert threshold_from_rate(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.5, 0.3]), 0.45) == pytest.approx((2.0, 0.3))


def test_outcome_curve_matches_a_hand_computation():
    curve = outcome_curve(TOY, repay_change=75, default_change=-150)
    a = curve[curve["group"] == "A"]
    # Expected change per score, each outcome clipped to [300, 850]:
    #   300: 0.1 * 75 + 0.9 * 0 = 7.5; 575: 0.5 * 75 - 0.5 * 150 = -37.5; 850: 0.9 * 0 - 0.1 * 150 = -15.
    # Selecting from the top: 0.2 of the group at 850, then 0.5 at 575, then 0.3 at 300.
    at = {rate: np.interp(rate, a["selection_rate"], a["mean_score_change"]) for rate in (0.1, 0.2, 0.45, 1.0)}
    assert at[0.1] == pytest.approx(0.1 * -15)
    assert at[0.2] == pytest.approx(-3.0)
    assert at[0.45] == pytest.approx(-3.0 + 0.25 * -37.5)
    assert at[1.0] == pytest.approx(-3.0 - 18.75 + 0.3 * 7.5)


@pytest.mark.parametrize("source", ["synthetic", "fico"])
def test_outcome_curve_matches_a_direct_sum_over_scores(source, fico_model):
    model = {"synthetic": synthetic_score_model(), "fico": fico_model}[source]
    curve = outcome_curve(model, repay_change=60, default_change=-120)
    low, high = model.scores[0], model.scores[-1]
    for g, name in enumerate(model.groups):
        part = curve[curve["group"] == name]
        up = np.minimum(model.scores + 60, high) - model.scores
        down = np.maximum(model.scores - 120, low) - model.scores
        change = model.repay[g] * up + (1 - model.repay[g]) * down
        for rate in (0.05, 0.33, 0.8):
            direct = (model.pmf[g] * selection_from_rate(model.pmf[g], rate) * change).sum()
            assert np.interp(rate, part["selection_rate"], part["mean_score_change"]) == pytest.approx(direct)


@pytest.mark.parametrize("source", ["synthetic", "fico", "toy"])
def test_policies_satisfy_their_definitions(source, fico_model):
    model = {"synthetic": synthetic_score_model(), "fico": fico_model, "toy": TOY}[source]
    dp = choose_policy(model, "demographic_parity")
    eo = choose_policy(model, "equal_opportunity")
    realised = [(model.pmf[g] * selection_from_rate(model.pmf[g], dp.selection_rate[g])).sum()
                for g in range(len(model.groups))]
    assert np.ptp(realised) < 1e-9
    tpr = [(model.pmf[g] * model.repay[g] * selection_from_rate(model.pmf[g], eo.selection_rate[g])).sum()
           / (model.pmf[g] * model.repay[g]).sum() for g in range(len(model.groups))]
    assert np.ptp(tpr) < 1e-9
    assert eo.true_positive_rate == pytest.approx(tpr, abs=1e-12)


def _utility(model, g, rate, gain=1.0, loss=-4.0):
    selected = selection_from_rate(model.pmf[g], rate)
    return (model.pmf[g] * selected * (model.repay[g] * gain + (1 - model.repay[g]) * loss)).sum()


@pytest.mark.parametrize("source", ["synthetic", "fico"])
def test_policies_maximise_utility_under_their_constraint(source, fico_model):
    model = {"synthetic": synthetic_score_model(), "fico": fico_model}[source]
    groups, shares = range(len(model.groups)), model.group_shares
    grid = np.linspace(0, 1, 401)
    profit = choose_policy(model, "max_profit")
    for g in groups:
        best = max(_utility(model, g, r) for r in grid)
        assert _utility(model, g, profit.selection_rate[g]) >= best - 1e-12
    dp = choose_policy(model, "demographic_parity")
    best_dp = max(sum(shares[g] * _utility(model, g, r) for g in groups) for r in grid)
    assert dp.utility >= best_dp - 1e-12
    assert dp.utility <= profit.utility + 1e-12


def test_trajectory_moves_each_mean_by_the_expected_change():
    model = synthetic_score_model()
    choice = choose_policy(model, "equal_opportunity")
    after = apply_policy(model, choice, repay_change=75, default_change=-150)
    assert after.pmf.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert after.mean_scores() - model.mean_scores() == pytest.approx(choice.mean_score_change)
    result = simulate_lending(LendingParams(policy="equal_opportunity", steps=3))
    means = result.series_wide("mean_score")
    assert list(means.index) == [0, 1, 2, 3]
    assert (means.loc[1] - means.loc[0]).to_numpy() == pytest.approx(choice.mean_score_change)


def test_demographic_parity_can_harm_the_low_scoring_group():
    # Liu et al.'s point, on a table shaped like theirs: parity lends past the outcome curve's peak.
    result = simulate_lending(LendingParams(policy="demographic_parity", score_model=TOY, steps=0))
    groups = {row["group"]: row for row in result.summary["groups"]}
    assert groups["B"]["mean_score_change"] < 0
    assert any("active harm" in line for line in result.narrative)


def test_result_json_and_tables():
    result = simulate_lending(LendingParams(steps=2), seed=5)
    payload = lending_json(result)
    assert [g["group"] for g in payload["groups"]] == ["A", "B"]
    assert set(payload["groups"][0]) >= {"group", "threshold", "selection_rate", "mean_score_change"}
    assert set(result.tables["policies"]["policy"]) == {"max_profit", "demographic_parity", "equal_opportunity"}
    assert result.params["score_model"].startswith("synthetic")
    assert result.seed == 5


def test_fico_tables_are_read_and_mapped(tmp_path):
    scores, cdf, bad = write_fico_tables(tmp_path)
    model = read_fico_tables(tmp_path)
    assert model.groups == ("White", "Black", "Hispanic", "Asian")
    assert model.scores[0] == 300 and model.scores[-1] == 850
    first = np.diff(np.concatenate([[0.0], cdf["Black"] / 100]))
    assert model.pmf[1] == pytest.approx(first / first.sum())
    assert model.repay[2] == pytest.approx(1 - bad["Hispanic"] / 100)
    assert model.group_shares == pytest.approx([0.4, 0.3, 0.2, 0.1])
    assert read_fico_tables(tmp_path, groups=("Black", "Asian")).groups == ("Black", "Asian")


def test_transrisk_scores_map_to_the_fico_scale_like_liu_et_al():
    # Bands: 2.1% of people in 300-350, 4.2% in 350-400, ...; 50 lies in 650-700 (47.7%..61.5%).
    assert transrisk_to_fico([0, 2.1, 6.3, 50, 100]) == pytest.approx([300, 350, 400, 650 + 50 * 2.3 / 13.8, 850])


def test_tables_adapter_accepts_frames_per_group():
    class Tables:
        scores = np.array([0.0, 50.0, 100.0])
        pmf = pd.DataFrame({"x": [0.5, 0.3, 0.2], "y": [0.2, 0.3, 0.5]})
        repay = pd.DataFrame({"x": [0.2, 0.5, 0.9], "y": [0.2, 0.5, 0.9]})
        totals = {"x": 3, "y": 1}

    model = score_model_from_tables(Tables())
    assert model.groups == ("x", "y")
    assert model.group_shares == pytest.approx([0.75, 0.25])
    assert model.scores[-1] == 850


@pytest.mark.parametrize(("settings", "message"), [
    ({"policy": "lottery"}, "Unknown lending policy"),
    ({"default_change": 20}, "at most 0"),
    ({"repay_change": -5}, "at least 0"),
    ({"utility_repaid": -5}, "worth more to the lender"),
    ({"steps": 501}, "above the limit of 500"),
    ({"score_model": "fico"}, "must be a ScoreModel"),
])
def test_impossible_lending_settings_are_rejected(settings, message):
    with pytest.raises(AuditInputError, match=message):
        LendingParams(**settings)


@pytest.mark.parametrize(("change", "message"), [
    ({"pmf": np.array([[0.5, 0.5, 0.5], [0.6, 0.3, 0.1]])}, "must sum to 1"),
    ({"repay": np.array([[10, 50, 90], [10, 50, 90]])}, "at most 1"),
    ({"scores": np.array([300.0, 300.0, 850.0])}, "strictly increasing"),
    ({"groups": ("A",), "pmf": np.array([[0.3, 0.5, 0.2]])}, "at least two distinct groups"),
    ({"pmf": np.array([[0.3, 0.7], [0.6, 0.4]])}, "has shape"),
    ({"group_shares": np.array([1.0])}, "population share per group"),
])
def test_bad_score_models_are_rejected(change, message):
    settings = {"scores": TOY.scores, "groups": TOY.groups, "pmf": TOY.pmf, "repay": TOY.repay,
                "group_shares": TOY.group_shares, **change}
    with pytest.raises(AuditInputError, match=message):
        ScoreModel(**settings)


def test_equal_opportunity_needs_repayers_in_every_group():
    model = ScoreModel(TOY.scores, TOY.groups, TOY.pmf, np.array([[0.1, 0.5, 0.9], [0.0, 0.0, 0.0]]),
                       TOY.group_shares)
    with pytest.raises(AuditInputError, match="have none"):
        choose_policy(model, "equal_opportunity")


def test_missing_or_malformed_fico_files_are_reported(tmp_path):
    with pytest.raises(AuditInputError, match="transrisk_cdf_by_race_ssa.csv is missing"):
        read_fico_tables(tmp_path)
    write_fico_tables(tmp_path)
    with pytest.raises(AuditInputError, match="not in the FICO tables"):
        read_fico_tables(tmp_path, groups=("Martian",))
    pd.DataFrame({"score": [0, 100], "a": [1, 100]}).to_csv(tmp_path / "transrisk_cdf_by_race_ssa.csv", index=False)
    with pytest.raises(AuditInputError, match="must have a Score column"):
        read_fico_tables(tmp_path)
    with pytest.raises(AuditInputError, match="run from 0 to 100"):
        transrisk_to_fico([120.0])
