"""Caps on the work one audit may ask for: counted as the engine works, refused with the numbers.

Intervals come from counts, so the bootstrap no longer costs anything; what an audit costs is its
groups and pairs (bounded by the intersections and the 6-feature cap) and, with scores, rows ×
groupings (every grouping sorts every row's score).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from auditapp.cli.main import main
from auditapp.core.audit import run_audit
from auditapp.core.errors import AuditInputError
from auditapp.core.limits import RuntimeLimits
from auditapp.core.metrics import compute_audit
from auditapp.core.spec import AuditSpec
from auditapp.core.spreads import PAIRWISE_MAX_GROUPS
from auditapp.core.workload import (
    CLI_REMEDY,
    SERVER_REMEDY,
    WorkLimitError,
    WorkLimits,
    measure_work,
)


def _sensitive(n: int, levels: tuple[int, ...], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({f"f{j}": rng.integers(0, k, n).astype(str) for j, k in enumerate(levels)})


def _scored(n: int, levels: tuple[int, ...], seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = _sensitive(n, levels, seed)
    frame["score"] = rng.random(n).round(3)
    frame["y"] = (rng.random(n) < frame["score"]).astype(int)
    return frame


@pytest.mark.parametrize("levels", [(2,), (3, 4), (5, 2, 7), (2, 2, 3, 2), (45,), (9, 6)])
def test_the_count_of_groups_and_pairs_is_the_engines(levels):
    rng = np.random.default_rng(1)
    frame = _sensitive(400, levels)  # small enough that some intersections are never observed
    frame.iloc[::17, 0] = "(missing)"
    result = compute_audit(rng.integers(0, 2, 400), rng.integers(0, 2, 400), frame, n_boot=0, min_group_size=1)
    work = measure_work(frame, scored=False)
    sizes = [len(g.groups) for g in result.groupings]
    assert work.groups == sum(sizes)
    assert work.groupings == len(result.groupings)
    assert work.intersections == len(result.groupings[-1].groups)
    assert work.pairs == sum(k * (k - 1) // 2 for k in sizes if k <= PAIRWISE_MAX_GROUPS)
    assert work.rows == 400 and work.row_groupings == 400 * work.groupings and not work.scored


def test_rows_times_groupings_are_the_scores_the_audit_sorts():
    frame = _scored(3_000, (2, 3, 4))
    audit = run_audit(frame, AuditSpec(target="y", sensitive=("f0", "f1", "f2"), score="score", threshold=0.5))
    work = measure_work(audit.data.sensitive_features, scored=True)
    sorted_rows = [sum(p.size + q.size for p, q in zip(i.positives, i.negatives, strict=True))
                   for i in audit.indexes.values()]
    assert sorted_rows == [3_000] * 7  # every grouping sorts every row's score once
    assert work.row_groupings == sum(sorted_rows) == 21_000 and work.scored


def test_within_the_limits_nothing_is_refused_and_at_them_too():
    frame = _sensitive(2_000, (4, 5))
    work = measure_work(frame)
    limits = WorkLimits(max_intersections=work.intersections, max_row_groupings=work.row_groupings)
    assert measure_work(frame, limits=limits) == work
    with pytest.raises(WorkLimitError) as refused:
        measure_work(frame, limits=WorkLimits(max_row_groupings=work.row_groupings - 1))
    assert str(refused.value) == (
        "This audit has scores, and each of its 3 groupings (f0 and f1: each alone and every combination) sorts "
        "the scores of all 2,000 rows: 6,000 rows × groupings, more than this server's limit of 5,999 "
        "(AUDITAPP_MAX_ROW_GROUPINGS). Audit a sample of at most 1,999 rows, or choose 1 sensitive feature "
        "(1 grouping: up to 5,999 rows); the command line (auditapp audit --no-work-limit) can run it on your "
        "own machine.")


def test_one_feature_is_told_to_sample_and_an_audit_without_scores_is_not_capped_by_its_rows():
    frame = _sensitive(12_000, (3,))
    limits = WorkLimits(max_row_groupings=10_000)
    with pytest.raises(WorkLimitError, match=r"^This audit has scores, and the one grouping of f0 sorts the scores "
                                             r"of all 12,000 rows: 12,000 rows × groupings, more than this server's "
                                             r"limit of 10,000 \(AUDITAPP_MAX_ROW_GROUPINGS\)\. Audit a sample of at "
                                             r"most 10,000 rows; or add --no-work-limit"):
        measure_work(frame, limits=limits, remedy=CLI_REMEDY)
    # predictions only: the rows are reduced once to counts per intersection, whatever the groupings
    assert measure_work(frame, scored=False, limits=limits).row_groupings == 12_000


def test_too_many_intersections_are_refused_before_anything_else():
    frame = _sensitive(50_000, (50, 50))
    with pytest.raises(WorkLimitError) as refused:
        measure_work(frame, limits=WorkLimits(), remedy=CLI_REMEDY)
    assert str(refused.value) == (
        "The sensitive features f0 and f1 have 2,500 intersections in these 50,000 rows; this server audits at "
        "most 1,000 (AUDITAPP_MAX_INTERSECTIONS). Bin numeric features (e.g. age into quartiles), merge rare "
        "values, or choose fewer sensitive features; or add --no-work-limit to run it anyway on this machine.")


def test_too_many_sensitive_features_are_refused_without_counting():
    frame = _sensitive(100, (2,) * 7)
    with pytest.raises(WorkLimitError, match=r"This audit has 7 sensitive features \(f0, f1, f2, f3, f4, f5 and "
                                             r"f6\), that is 127 groupings .* at most 6 features \(63 groupings\)"):
        measure_work(frame, limits=WorkLimits(), remedy=SERVER_REMEDY)


def test_limits_come_from_the_variables_read_at_start_up_and_are_checked(use_limits):
    use_limits(environ={"AUDITAPP_MAX_INTERSECTIONS": "50", "AUDITAPP_MAX_ROW_GROUPINGS": "1_000"})
    assert WorkLimits.configured() == WorkLimits(max_intersections=50, max_row_groupings=1000)
    with pytest.raises(AuditInputError, match="AUDITAPP_MAX_ROW_GROUPINGS must be a positive whole number, but "
                                              "is 'lots'"):
        use_limits(environ={"AUDITAPP_MAX_ROW_GROUPINGS": "lots"})


def test_the_retired_bootstrap_cap_is_ignored_and_the_log_says_so(caplog):
    with caplog.at_level(logging.WARNING, logger="auditapp.core.limits"):
        assert RuntimeLimits.from_environ({"AUDITAPP_MAX_BOOTSTRAP_WORK": "1"}) == RuntimeLimits()
    said = [r.getMessage() for r in caplog.records if r.name == "auditapp.core.limits"]
    assert len(said) == 1 and said[0].startswith("AUDITAPP_MAX_BOOTSTRAP_WORK is set but no longer used")


def _cli_data(tmp_path) -> str:
    frame = _scored(3_000, (2, 3))
    frame["pred"] = (frame["score"] >= 0.5).astype(int)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_the_cli_refuses_with_the_servers_limits_unless_told_otherwise(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AUDITAPP_MAX_ROW_GROUPINGS", "5000")
    args = ["audit", "--data", _cli_data(tmp_path), "--target", "y", "--score", "score", "--sensitive", "f0,f1"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "sorts the scores of all 3,000 rows: 9,000 rows × groupings" in err and "limit of 5,000" in err
    assert "Audit a sample of at most 1,666 rows" in err and "add --no-work-limit to run it anyway on this machine" in err
    assert main([*args, "--no-work-limit"]) == 0
    assert capsys.readouterr().out.startswith("Audit of 3,000 rows;")


def test_bootstrap_is_still_accepted_changes_nothing_and_says_so(tmp_path, capsys):
    data = _cli_data(tmp_path)
    args = ["audit", "--data", data, "--target", "y", "--prediction", "pred", "--sensitive", "f0,f1"]
    assert main([*args, "--json", str(tmp_path / "plain.json")]) == 0
    plain = capsys.readouterr()
    assert "--bootstrap" not in plain.err
    assert main([*args, "--bootstrap", "20000", "--json", str(tmp_path / "old.json")]) == 0
    old = capsys.readouterr()
    assert old.err.startswith("auditapp audit: --bootstrap is deprecated and changes nothing: every interval is "
                              "computed from counts")
    assert old.out.replace("old.json", "plain.json") == plain.out
    first, second = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("plain", "old"))
    assert (first["settings"]["n_boot"], second["settings"]["n_boot"]) == (1000, 20000)  # recorded as given
    for part in ("groups", "disparities", "criteria"):
        assert first[part] == second[part]
