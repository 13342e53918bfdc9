"""GridSearch is sized for its constraint dimensions (or not run, with the reason); fitting warnings reach the user."""

import json

import numpy as np
import pandas as pd
import pytest

from auditapp.core.spec import AuditSpec
from auditapp.mitigation.compare import compare_mitigations
from auditapp.mitigation.export import mitigation_record
from auditapp.mitigation.inprocessing import plan_grid
from auditapp.mitigation.library_warnings import captured_warnings
from auditapp.service import mitigation_jobs as jobs


def _groups(n_groups: int, n: int = 1200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(0, n_groups, n)
    skill = rng.normal(size=n) + 0.2 * group
    hired = (rng.random(n) < 1 / (1 + np.exp(-skill))).astype(int)
    return pd.DataFrame({"skill": skill, "other": rng.normal(size=n), "team": [f"t{g}" for g in group],
                         "pred": (skill > 0.3).astype(int), "hired": hired})


@pytest.mark.parametrize(("n_groups", "constraint", "dimensions", "points"), [
    (2, "demographic_parity", 1, 20),
    (3, "equalized_odds", 4, 20),
    (6, "demographic_parity", 5, 32),
    (8, "demographic_parity", 7, 128),
])
def test_grid_gets_at_least_two_to_the_dimensions(n_groups, constraint, dimensions, points):
    frame = _groups(n_groups)
    plan = plan_grid(constraint, frame["hired"], frame["team"], requested=20)
    assert (plan.dimensions, plan.recommended, plan.points, plan.skip_reason) == \
        (dimensions, 2 ** dimensions, points, None)


@pytest.mark.parametrize("constraint", ["demographic_parity", "equalized_odds", "true_positive_rate_parity",
                                        "error_rate_parity"])
@pytest.mark.parametrize(("n_groups", "labels"), [(2, (0, 1)), (3, (0, 1)), (5, (0, 1)), (1, (0, 1)), (3, (0,)),
                                                   (3, (1,)), (4, (1, 0))])
def test_the_dimensions_are_fairlearns_count_of_its_constraint_basis(constraint, n_groups, labels):
    from fairlearn.reductions import (
        DemographicParity,
        EqualizedOdds,
        ErrorRateParity,
        TruePositiveRateParity,
    )

    from auditapp.mitigation.inprocessing import constraint_dimensions
    from auditapp.mitigation.learners import quiet_fairlearn

    rng = np.random.default_rng(n_groups)
    n = 300
    groups = pd.Series([f"g{g}" for g in rng.permutation(np.arange(n) % n_groups)])
    y = pd.Series(rng.choice(labels, size=n))
    moment = {"demographic_parity": DemographicParity, "equalized_odds": EqualizedOdds,
              "true_positive_rate_parity": TruePositiveRateParity, "error_rate_parity": ErrorRateParity}[constraint]()
    with quiet_fairlearn():
        moment.load_data(pd.DataFrame({"x": rng.normal(size=n)}), y, sensitive_features=groups)
    assert constraint_dimensions(constraint, y, groups) == len(moment.pos_basis.columns)


def test_grid_too_large_is_not_run_and_says_why():
    frame = _groups(6)
    plan = plan_grid("equalized_odds", frame["hired"], frame["team"])
    assert plan.points == 0 and "10 dimensions" in plan.skip_reason and "1,024" in plan.skip_reason
    spec = AuditSpec(target="hired", sensitive=("team",), prediction="pred", n_boot=0)
    result = compare_mitigations(frame, spec, constraint="equalized_odds", candidates=["grid_search"],
                                 features=["skill", "other"]).candidate("grid_search")
    assert result.error.startswith("GridSearch was not run") and "ExponentiatedGradient" in result.error


def test_grid_search_fits_the_sized_grid_and_shows_fairlearns_warning(monkeypatch):
    import fairlearn.reductions

    sizes = []
    real = fairlearn.reductions.GridSearch

    class Spy(real):
        def fit(self, X, y, **kwargs):
            sizes.append(self.grid_size)
            return super().fit(X, y, **kwargs)

    monkeypatch.setattr(fairlearn.reductions, "GridSearch", Spy)
    frame = _groups(6)
    spec = AuditSpec(target="hired", sensitive=("team",), prediction="pred", n_boot=0, min_group_size=1)
    comparison = compare_mitigations(frame, spec, candidates=["baseline", "grid_search"], features=["skill", "other"])
    result = comparison.candidate("grid_search")
    assert result.error is None and sizes == [32]
    assert any("32 grid points over 5 constraint dimension(s)" in n for n in result.notes)
    warning = next(w for w in result.warnings if "The grid has 5 dimensions" in w)
    assert warning.startswith("fairlearn: ")
    # ... in the JSON record and on the page's table and candidate sentences.
    record = json.loads(json.dumps(mitigation_record(comparison), allow_nan=False))
    assert warning in next(c for c in record["candidates"] if c["name"] == "grid_search")["warnings"]
    row = next(r for r in jobs.comparison_rows(comparison) if r["name"] == "grid_search")
    assert warning in row["warnings"]
    assert any(line.startswith("Warnings while fitting:") and warning in line
               for line in jobs.candidate_summary(comparison, "grid_search"))
    assert comparison.candidate("baseline").warnings == ()


def test_captured_warnings_keep_python_warnings_once_and_leave_the_filters_as_they_were():
    import logging
    import warnings

    before = list(warnings.filters)
    with captured_warnings() as captured:
        for _ in range(3):
            warnings.warn("learner did not converge", UserWarning, stacklevel=1)
        logging.getLogger("sklearn.linear_model").warning("a log record at %s", "WARNING")
        logging.getLogger("fairlearn").info("chatter below WARNING is not kept")
    assert captured.messages == ["UserWarning: learner did not converge", "sklearn: a log record at WARNING"]
    assert warnings.filters == before
