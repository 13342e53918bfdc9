"""Predictive-policing urn (Ensign et al. 2018): runaway, correction, reports, validation."""

import numpy as np
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.feedback.policing import PolicingParams, policing_json, simulate_policing

OAKLAND = (3.69, 2.82)


def test_uncorrected_urn_runs_away_toward_the_higher_rate():
    result = simulate_policing(PolicingParams(rates=OAKLAND, steps=20_000, runs=60), seed=0)
    final = result.tables["final_share"]["A"]
    # True share of A is 0.567; the urn overshoots it in most runs (a few lock onto B by chance
    # early on, which is why the median, not the mean, is the robust check at 20,000 draws).
    assert (final > 0.8).mean() > 0.5
    assert result.summary["final_median_share"][0] > 0.8
    assert result.summary["runs_over_80_percent"][0] == pytest.approx((final > 0.8).mean())


def test_corrected_urn_settles_at_the_true_share():
    result = simulate_policing(PolicingParams(rates=OAKLAND, steps=20_000, runs=40, corrected=True), seed=1)
    true_a = OAKLAND[0] / sum(OAKLAND)
    assert result.summary["final_mean_share"][0] == pytest.approx(true_a, abs=0.01)
    assert result.summary["final_high_share"][0] - result.summary["final_low_share"][0] < 0.05


def test_correction_generalises_to_three_regions():
    rates = (3.0, 2.0, 1.0)
    result = simulate_policing(PolicingParams(rates=rates, steps=10_000, runs=20, corrected=True), seed=2)
    assert np.allclose(result.summary["final_mean_share"], np.array(rates) / 6, atol=0.01)


def test_fully_reported_incidents_reveal_the_true_share_without_correction():
    result = simulate_policing(PolicingParams(rates=OAKLAND, steps=5_000, runs=20, reported_share=1.0), seed=3)
    assert result.summary["final_mean_share"][0] == pytest.approx(OAKLAND[0] / sum(OAKLAND), abs=0.01)


def test_shares_are_distributions_and_band_brackets_the_median():
    result = simulate_policing(PolicingParams(rates=(2.0, 1.0, 1.0), steps=300, runs=10), seed=4)
    mean = result.series_wide("mean_share").to_numpy()
    low, median, high = (result.series_wide(n).to_numpy() for n in ("low_share", "median_share", "high_share"))
    assert mean.shape == (300, 3)
    assert np.allclose(mean.sum(axis=1), 1.0)
    assert np.all(low <= median + 1e-12) and np.all(median <= high + 1e-12)
    assert list(result.series_wide("mean_share").columns) == ["A", "B", "C"]


def test_seeded_runs_are_deterministic():
    params = PolicingParams(rates=OAKLAND, steps=500, runs=10, corrected=True, reported_share=0.2)
    first, again = simulate_policing(params, seed=7), simulate_policing(params, seed=7)
    other = simulate_policing(params, seed=8)
    assert first.series.equals(again.series)
    assert not first.series.equals(other.series)


def test_progress_reports_fractions_up_to_one():
    seen = []
    simulate_policing(PolicingParams(steps=2_500, runs=2), seed=0, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3


def test_json_keys_hold_true_share_and_mean_share_per_step():
    result = simulate_policing(PolicingParams(rates=OAKLAND, steps=50, runs=5), seed=0)
    payload = policing_json(result)
    assert payload["true_share"] == pytest.approx([0.5668, 0.4332], abs=1e-4)
    assert len(payload["share"]) == 50 and all(len(row) == 2 for row in payload["share"])
    assert payload["share"][-1] == pytest.approx(result.summary["final_mean_share"])


def test_narrative_reports_the_numbers():
    result = simulate_policing(PolicingParams(rates=OAKLAND, steps=1_000, runs=10), seed=0)
    share = result.summary["final_mean_share"][0]
    assert f"{share:.1%}" in result.narrative[0]
    assert "56.7%" in result.narrative[0]


@pytest.mark.parametrize(("settings", "message"), [
    ({"rates": (3.0, -1.0)}, "cannot be negative"),
    ({"rates": (3.0,)}, "at least 2 values"),
    ({"rates": (0.0, 0.0)}, "All incident rates are 0"),
    ({"rates": "3,2"}, "must be a list of numbers"),
    ({"rates": (1.0, float("nan"))}, "finite number"),
    ({"steps": 1_000_001}, "above the limit of 1,000,000"),
    ({"steps": 0}, "at least 1"),
    ({"runs": 1_001}, "above the limit of 1,000"),
    ({"steps": 100_000, "runs": 500}, "steps × runs"),
    ({"reported_share": 1.5}, "at most 1"),
    ({"initial_counts": (1.0, 0.0)}, "must be positive"),
    ({"initial_counts": (1.0, 1.0, 1.0)}, "one initial count per region"),
    ({"regions": ("north",)}, "distinct region names"),
    ({"rates": (1.0,) * 51}, "at most 50 regions"),
])
def test_impossible_settings_are_rejected(settings, message):
    with pytest.raises(AuditInputError, match=message):
        PolicingParams(**settings)
