"""Figure builders for the feedback-loop results."""

import numpy as np
import pandas as pd
import pytest

from auditapp.feedback.lending import LendingParams, simulate_lending
from auditapp.feedback.model_loop import ModelLoopParams, simulate_model_loop
from auditapp.feedback.policing import PolicingParams, simulate_policing
from auditapp.figures.feedback import (
    OKABE_ITO,
    feedback_figure,
    lending_outcome_figure,
    lending_trajectory_figure,
    model_loop_gap_figure,
    model_loop_rates_figure,
    policing_share_figure,
)


@pytest.fixture(scope="module")
def loop_result():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=300), "group": rng.choice(["A", "B"], 300)})
    frame["y"] = (frame["x"] + rng.normal(size=300) > 0).astype(int)
    return simulate_model_loop(ModelLoopParams(frame=frame, feature_columns=("x",), target="y",
                                               sensitive="group", rounds=3, pool_size=60), seed=0)


def test_policing_figure_shows_mean_share_and_true_share_per_region():
    result = simulate_policing(PolicingParams(rates=(3.0, 1.0), steps=100, runs=5, corrected=True), seed=0)
    fig = policing_share_figure(result)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.line.color for t in lines] == list(OKABE_ITO[:2])
    assert np.allclose(lines[0].y, result.series_wide("mean_share")["A"])
    assert sorted(shape.y0 for shape in fig.layout.shapes) == pytest.approx([0.25, 0.75])
    assert "with the correction" in fig.layout.title.text


def test_long_policing_runs_are_thinned_for_display():
    result = simulate_policing(PolicingParams(steps=5_000, runs=2), seed=0)
    lines = [t for t in policing_share_figure(result).data if t.mode == "lines+markers"]
    assert len(lines[0].x) <= 2_500 and lines[0].x[-1] <= 5_000


def test_lending_figures_mark_the_chosen_policy():
    result = simulate_lending(LendingParams(policy="demographic_parity", steps=2))
    fig = lending_outcome_figure(result)
    big = [t for t in fig.data if t.mode == "markers" and t.marker.size == 14]
    assert len(big) == 2
    rows = {r["group"]: r for r in result.summary["groups"]}
    for trace in big:
        group = trace.name.split(":")[0].removeprefix("group ")
        assert trace.x[0] == pytest.approx(rows[group]["selection_rate"])
        assert trace.y[0] == pytest.approx(rows[group]["mean_score_change"])
    trajectory = lending_trajectory_figure(result)
    assert [len(t.y) for t in trajectory.data] == [3, 3]
    assert feedback_figure(result).layout.title.text == fig.layout.title.text


def test_model_loop_figures_pair_loop_and_counterfactual(loop_result):
    fig = model_loop_rates_figure(loop_result, metric="true_positive_rate")
    assert len(fig.data) == 4
    assert [t.line.dash for t in fig.data] == ["solid", "solid", "dash", "dash"]
    assert np.allclose(fig.data[0].y, loop_result.series_wide("loop_true_positive_rate")["A"])
    gap = model_loop_gap_figure(loop_result)
    assert len(gap.data) == 4
    with pytest.raises(ValueError, match="metric must be"):
        model_loop_rates_figure(loop_result, metric="accuracy")
    with pytest.raises(ValueError, match="needs a policing result"):
        policing_share_figure(loop_result)
