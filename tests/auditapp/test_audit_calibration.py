"""Calibration follows the grouping the Threshold explorer compares by (issue 14, item 7)."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec


def test_calibration_of_an_intersection_has_one_line_per_intersection_group():
    rng = np.random.default_rng(3)
    n = 2000
    frame = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "race": rng.choice(["a", "b", "c"], n)})
    frame["score"] = rng.random(n)
    frame["y"] = (rng.random(n) < frame["score"]).astype(int)
    audit = run_audit(frame, AuditSpec(target="y", sensitive=("sex", "race"), score="score", threshold=0.5,
                                       n_boot=0))
    table = audit.calibration_for(("sex", "race"))
    grouping = audit.result.grouping("sex", "race")
    assert set(table["group"]) == set(grouping.groups.index)
    counts = table.groupby("group")["count"].sum()
    for label, row in grouping.groups.iterrows():
        assert counts[label] == row["count"]
    # One cell by hand: women of race a with a score in the top bin.
    cell = table[(table["group"] == "f & a") & (table["bin"] == 9)].iloc[0]
    members = frame[(frame["sex"] == "f") & (frame["race"] == "a") & (frame["score"] >= 0.9)]
    assert cell["count"] == len(members)
    assert cell["observed_rate"] == pytest.approx(members["y"].mean(), abs=1e-12)
    assert cell["mean_score"] == pytest.approx(members["score"].mean(), abs=1e-12)
    # A single feature's table is the one the audit kept.
    assert audit.calibration_for(("race",)) is audit.calibration["race"]
