"""Caps on the work one audit may ask for: counted as the engine groups, refused with the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auditapp.cli import main
from auditapp.errors import AuditInputError
from auditapp.metrics import compute_audit
from auditapp.workload import CLI_REMEDY, SERVER_REMEDY, WorkLimitError, WorkLimits, measure_work


def _sensitive(n: int, levels: tuple[int, ...], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"f{j}": rng.integers(0, k, n).astype(str) for j, k in enumerate(levels)})


@pytest.mark.parametrize("levels", [(2,), (3, 4), (5, 2, 7), (2, 2, 3, 2)])
def test_the_count_of_groups_is_the_engines(levels):
    rng = np.random.default_rng(1)
    frame = _sensitive(400, levels)  # small enough that some intersections are never observed
    frame.iloc[::17, 0] = "(missing)"
    result = compute_audit(rng.integers(0, 2, 400), rng.integers(0, 2, 400), frame, n_boot=0, min_group_size=1)
    work = measure_work(frame, 300)
    assert work.groups == sum(len(g.groups) for g in result.groupings)
    assert work.groupings == len(result.groupings)
    assert work.intersections == len(result.groupings[-1].groups)
    assert work.bootstrap_work == 300 * work.groups and work.rows == 400


def test_within_the_limits_nothing_is_refused_and_at_them_too():
    frame = _sensitive(2_000, (4, 5))
    work = measure_work(frame, 100)
    limits = WorkLimits(max_intersections=work.intersections, max_bootstrap_work=work.bootstrap_work)
    assert measure_work(frame, 100, limits=limits) == work
    with pytest.raises(WorkLimitError, match=r"100 bootstrap replicates of 29 groups .* Use at most 99 replicates"):
        measure_work(frame, 100, limits=WorkLimits(max_bootstrap_work=work.bootstrap_work - 1))


def test_too_many_intersections_are_refused_before_anything_else():
    frame = _sensitive(50_000, (50, 50))
    with pytest.raises(WorkLimitError) as refused:
        measure_work(frame, 0, limits=WorkLimits(), remedy=CLI_REMEDY)
    assert str(refused.value) == (
        "The sensitive features f0 and f1 have 2,500 intersections in these 50,000 rows; this server audits at "
        "most 1,000 (AUDITAPP_MAX_INTERSECTIONS). Bin numeric features (e.g. age into quartiles), merge rare "
        "values, or choose fewer sensitive features; or add --no-work-limit to run it anyway on this machine.")


def test_too_many_sensitive_features_are_refused_without_counting():
    frame = _sensitive(100, (2,) * 7)
    with pytest.raises(WorkLimitError, match=r"This audit has 7 sensitive features \(f0, f1, f2, f3, f4, f5 and "
                                             r"f6\), that is 127 groupings .* at most 6 features \(63 groupings\)"):
        measure_work(frame, 10, limits=WorkLimits(), remedy=SERVER_REMEDY)


def test_limits_come_from_the_environment_and_are_checked(monkeypatch):
    monkeypatch.setenv("AUDITAPP_MAX_INTERSECTIONS", "50")
    monkeypatch.setenv("AUDITAPP_MAX_BOOTSTRAP_WORK", "1_000")
    assert WorkLimits.from_env() == WorkLimits(max_intersections=50, max_bootstrap_work=1000)
    monkeypatch.setenv("AUDITAPP_MAX_BOOTSTRAP_WORK", "lots")
    with pytest.raises(AuditInputError, match="AUDITAPP_MAX_BOOTSTRAP_WORK must be a positive whole number, but "
                                              "is 'lots'"):
        WorkLimits.from_env()


def test_the_cli_refuses_with_the_servers_limits_unless_told_otherwise(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(2)
    frame = _sensitive(3_000, (2, 3))
    frame["y"] = rng.integers(0, 2, 3_000)
    frame["pred"] = rng.integers(0, 2, 3_000)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setenv("AUDITAPP_MAX_BOOTSTRAP_WORK", "1000")
    args = ["audit", "--data", str(path), "--target", "y", "--prediction", "pred", "--sensitive", "f0,f1",
            "--bootstrap", "200"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "200 bootstrap replicates of 11 groups" in err and "limit of 1,000" in err
    assert "Use at most 90 replicates" in err and "add --no-work-limit to run it anyway on this machine" in err
    assert main([*args, "--no-work-limit"]) == 0
    assert "Audit of 3,000 rows" in capsys.readouterr().out  # intervals from counts: the replicates are not drawn
