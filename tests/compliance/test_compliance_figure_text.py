"""The compliance charts carry their text alternative: a summary and a table of the numbers drawn (issue 20)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auditapp.compliance.fair_lending import ALL_SEGMENTS, fair_lending
from auditapp.compliance.ll144 import ll144_audit
from auditapp.figures.compliance import air_figure, impact_ratio_figure
from auditapp.figures.describe import cell, figure_text


def test_impact_ratio_chart_names_the_lowest_category_and_lists_every_ratio():
    frame = pd.DataFrame({
        "sex": ["Male"] * 6 + ["Female"] * 6,
        "race": ["White", "White", "White", "Asian", "Asian", "Asian"] * 2,
        "hired": [1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 1]})
    result = ll144_audit(frame, sex="sex", race="race", selected="hired")
    text = figure_text(impact_ratio_figure(result, "intersectional"))
    assert text is not None and text.columns == ("Category", "n", "Rate", "Impact ratio")
    rows = {row[0]: row for row in text.rows}
    drawn = [r for r in result.table("intersectional") if r.n > 0]
    assert set(rows) == {r.category for r in drawn}
    for r in drawn:
        assert rows[r.category] == (r.category, cell(r.n), cell(r.rate), cell(r.impact_ratio))
    # White Female and Asian Male: 1 of 3 selected against Asian Female's 3 of 3, the lowest ratio (1/3).
    assert "Lowest: White Female and Asian Male, 0.33." in text.summary
    assert "Under 0.8: White Male, White Female and Asian Male." in text.summary
    assert "context only" in text.summary


def test_air_chart_lists_each_group_against_the_control_group():
    rng = np.random.default_rng(5)
    groups = pd.Series(rng.choice(["c", "a", "b"], size=600))
    approved = (rng.random(600) < np.where(groups == "c", 0.6, np.where(groups == "a", 0.4, 0.55))).astype(int)
    result = fair_lending(approved, groups=groups, control="c")
    text = figure_text(air_figure(result))
    table = result.air[(result.air["segment"] == ALL_SEGMENTS) & ~result.air["is_control"]]
    assert [row[0] for row in text.rows] == list(table["group"])
    assert [row[3] for row in text.rows] == [cell(v) for v in table["air"]]
    low = table.loc[table["air"].idxmin()]
    assert f"Lowest: {low['group']}, {low['air']:.3f}." in text.summary
    assert low["air"] == pytest.approx(min(table["air"]))
