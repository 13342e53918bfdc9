"""Model in the loop with selective labels, against the full-information counterfactual."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from auditapp.core.errors import AuditInputError
from auditapp.feedback.model_loop import ModelLoopParams, model_loop_json, simulate_model_loop


def applicants(seed, n=2000):
    """Hiring-like data: groups A and B are equally skilled; ``good`` depends on skill only."""
    rng = np.random.default_rng(seed)
    is_b = rng.random(n) < 0.3
    skill = rng.normal(size=n)
    good = (skill + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return pd.DataFrame({"skill": skill, "is_b": is_b.astype(float), "group": np.where(is_b, "B", "A"),
                         "good": good})


def biased_history(seed, n=400):
    """Past labels that marked 70% of good B applicants as bad (the historical bias)."""
    history = applicants(seed + 1000, n)
    rng = np.random.default_rng(seed + 100)
    flip = (history["is_b"] == 1) & (history["good"] == 1) & (rng.random(n) < 0.7)
    history.loc[flip, "good"] = 0
    return history


def run(seed, *, exploration=0.0, rounds=12, **extra):
    params = ModelLoopParams(
        frame=applicants(seed), feature_columns=("skill", "is_b"), target="good", sensitive="group",
        estimator=LogisticRegression(), history=biased_history(seed), rounds=rounds, pool_size=200,
        selection_rate=0.3, exploration=exploration, **extra)
    return simulate_model_loop(params, seed=seed)


def test_selective_labels_keep_the_historical_gap_that_full_information_shrinks():
    # The history under-rates B. Seeing every label corrects that within a few rounds; a loop that
    # only sees its own selections sees few B labels, so B stays under-selected: larger gap.
    results = [run(seed) for seed in range(3)]
    loop = np.mean([r.summary["loop_mean_selection_gap"] for r in results])
    full = np.mean([r.summary["counterfactual_mean_selection_gap"] for r in results])
    assert loop > full + 0.05
    for result in results:
        rates = result.series_wide("loop_selection_rate")
        assert (rates["A"] > rates["B"]).mean() > 0.9


def test_with_exploration_one_the_loop_sees_every_label_and_matches_the_counterfactual():
    # Both worlds share pools and random draws, so with every label revealed they coincide exactly
    # (the strongest form of "equal in expectation").
    result = run(0, exploration=1.0, rounds=5)
    for metric in ("selection_rate", "true_positive_rate", "labels_seen"):
        loop = result.series_wide(f"loop_{metric}")
        full = result.series_wide(f"counterfactual_{metric}")
        pd.testing.assert_frame_equal(loop, full)


def test_partial_exploration_narrows_the_loop_gap_on_average():
    # Averaged over three seeds; the per-seed effect (about 0.07) is several times the seed spread.
    without = np.mean([run(seed).summary["loop_mean_selection_gap"] for seed in range(3)])
    explored = np.mean([run(seed, exploration=0.3).summary["loop_mean_selection_gap"] for seed in range(3)])
    assert explored < without - 0.02


def test_loop_only_sees_labels_of_the_rows_it_selected():
    result = run(1, rounds=4)
    seen = result.series_wide("loop_labels_seen").sum(axis=1)
    full = result.series_wide("counterfactual_labels_seen").sum(axis=1)
    assert seen.tolist() == [60, 120, 180, 240]  # round(0.3 * 200) selected per round
    assert full.tolist() == [200, 400, 600, 800]


def test_rates_are_computed_from_the_pool():
    result = run(2, rounds=3)
    rates = result.series_wide("counterfactual_selection_rate")
    frame = applicants(2)
    share_b = (frame["group"] == "B").mean()
    overall = rates["A"] * (1 - share_b) + rates["B"] * share_b
    assert overall.to_numpy() == pytest.approx(0.3, abs=0.06)  # 30% of each pool, groups by weight
    gap = result.series_wide("counterfactual_selection_gap")["(all)"]
    assert gap.to_numpy() == pytest.approx((rates.max(axis=1) - rates.min(axis=1)).to_numpy())


def test_seeded_runs_are_deterministic():
    first, again, other = run(3, rounds=3), run(3, rounds=3), run(4, rounds=3)
    assert first.series.equals(again.series)
    assert not first.series.equals(other.series)


def test_default_learner_handles_text_labels_and_categories():
    frame = applicants(5, n=600)
    frame["outcome"] = np.where(frame["good"] == 1, "yes", "no")
    params = ModelLoopParams(frame=frame, feature_columns=("skill", "group"), target="outcome",
                             favorable="yes", sensitive="group", rounds=3, pool_size=100)
    result = simulate_model_loop(params, seed=0)
    assert "logistic regression" in result.summary["learner"]
    assert set(result.series_wide("loop_selection_rate").columns) == {"A", "B"}
    payload = model_loop_json(result)
    assert [r["round"] for r in payload["rounds"]] == [1, 2, 3]
    assert set(payload["rounds"][0]["loop"]["A"]) == {"selection_rate", "true_positive_rate"}
    assert set(payload["rounds"][0]["counterfactual"]) == {"A", "B"}


def test_feature_dynamics_change_later_rounds_only():
    plain = run(6, rounds=4)
    raised = run(6, rounds=4, dynamics_feature="skill", dynamics_amount=2.0)
    first_plain = plain.series[plain.series["step"] == 1].reset_index(drop=True)
    first_raised = raised.series[raised.series["step"] == 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(first_plain, first_raised)
    assert not plain.series.equals(raised.series)


def test_progress_and_narrative():
    seen = []
    params = ModelLoopParams(frame=applicants(7, n=400), feature_columns=("skill",), target="good",
                             sensitive="group", rounds=4, pool_size=50)
    result = simulate_model_loop(params, seed=0, progress=seen.append)
    assert seen == [0.25, 0.5, 0.75, 1.0]
    assert f"{result.summary['loop_mean_selection_gap']:.1%}" in result.narrative[1]


@pytest.mark.parametrize(("change", "message"), [
    ({"frame": pd.DataFrame()}, "table is empty"),
    ({"feature_columns": ("skill", "height")}, r"\['height'\] are not in the table"),
    ({"feature_columns": ()}, "at least one feature"),
    ({"favorable": 7}, "does not occur in 'good'"),
    ({"pool_size": 5000}, "above the limit of 2,000"),
    ({"rounds": 501}, "above the limit of 500"),
    ({"selection_rate": 0}, "nobody would ever be selected"),
    ({"exploration": -0.1}, "at least 0"),
    ({"dynamics_feature": "group"}, "numeric feature columns"),
    ({"history": pd.DataFrame({"skill": [1.0]})}, "history table lacks"),
])
def test_impossible_loop_settings_are_rejected(change, message):
    settings = {"frame": applicants(0), "feature_columns": ("skill", "is_b"), "target": "good",
                "sensitive": "group", **change}
    with pytest.raises(AuditInputError, match=message):
        ModelLoopParams(**settings)


def test_single_outcome_target_is_rejected():
    frame = applicants(0).assign(good=1)
    with pytest.raises(AuditInputError, match="nothing to tell apart"):
        ModelLoopParams(frame=frame, feature_columns=("skill",), target="good", sensitive="group")
