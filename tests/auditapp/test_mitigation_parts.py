"""In-processing wrappers against fairlearn, the figures, and the ``auditapp mitigate`` command."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.figures.mitigation import candidate_groups_figure, tradeoff_figure
from auditapp.mitigation.compare import compare_mitigations
from auditapp.mitigation.inprocessing import RandomizedEnsembleClassifier, make_constraint


def _biased(n=600, seed=0):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=n)
    skill = rng.normal(size=n)
    club = (rng.random(n) < np.where(sex == "female", 0.6, 0.05)).astype(int)
    hired = (rng.random(n) < 1 / (1 + np.exp(-(skill - 1.5 * (sex == "female"))))).astype(int)
    return pd.DataFrame({"skill": skill, "club": club, "sex": sex, "hired": hired})


def test_randomized_ensemble_matches_fairlearn_probabilities():
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient

    frame = _biased()
    X, y = frame[["skill", "club"]], frame["hired"].to_numpy()
    reduction = ExponentiatedGradient(LogisticRegression(), DemographicParity(), max_iter=20)
    from auditapp.mitigation.learners import quiet_fairlearn

    with quiet_fairlearn():
        reduction.fit(X, y, sensitive_features=frame["sex"])
        expected = reduction._pmf_predict(X)[:, 1]
    ensemble = RandomizedEnsembleClassifier(predictors=list(reduction.predictors_),
                                            weights=reduction.weights_.to_numpy(), random_state=0).fit()
    np.testing.assert_allclose(ensemble.predict_proba(X)[:, 1], expected, atol=1e-12)
    draws = ensemble.predict(X)
    np.testing.assert_array_equal(draws, ensemble.predict(X))
    assert set(np.unique(draws)) <= {0, 1}


def test_randomized_ensemble_refuses_weights_that_do_not_sum_to_one():
    with pytest.raises(AuditInputError, match="weights summing to 1"):
        RandomizedEnsembleClassifier(predictors=[LogisticRegression()], weights=[0.5]).fit()


def test_unknown_reduction_constraint_is_refused():
    with pytest.raises(AuditInputError, match="Unknown constraint 'fair'"):
        make_constraint("fair")


@pytest.fixture(scope="module")
def small_comparison():
    frame = _biased(800, seed=1)
    spec = AuditSpec(target="hired", sensitive=("sex",), prediction="club", n_boot=100)
    return compare_mitigations(frame, spec, candidates=["baseline", "reweighing", "grid_search", "threshold_optimizer"])


def test_tradeoff_figure_draws_error_bars_and_the_pareto_front(small_comparison):
    fig = tradeoff_figure(small_comparison)
    points = {}
    for trace in fig.data:
        if trace.mode == "markers":
            for i, (name, *_rest) in enumerate(trace.customdata):
                points[name] = (trace.x[i], trace.y[i], trace.error_x.array[i], trace.error_y.arrayminus[i])
    assert set(points) == {c.name for c in small_comparison.candidates}
    for name, (x, y, ex, ey) in points.items():
        assert y == pytest.approx(small_comparison.candidate(name).accuracy.value)
        result = small_comparison.candidate(name)
        assert x == pytest.approx(result.disparity.value)
        assert ex == pytest.approx(result.disparity.high - result.disparity.value)
        assert ey == pytest.approx(result.accuracy.value - result.accuracy.low)
    front = next(t for t in fig.data if t.name == "Pareto front")
    expected = sorted(small_comparison.candidate(n).disparity.value for n in small_comparison.pareto)
    assert list(front.x) == pytest.approx(expected)


def test_group_bars_show_each_group_with_intervals(small_comparison):
    fig = candidate_groups_figure(small_comparison, "reweighing", metrics=["selection_rate"])
    groups = small_comparison.candidate("reweighing").grouping.groups
    assert list(fig.data[0].x) == list(groups.index)
    assert list(fig.data[0].y) == pytest.approx(groups["selection_rate"].tolist())
    with pytest.raises(AuditInputError, match="No candidate 'nope'"):
        candidate_groups_figure(small_comparison, "nope")


def test_mitigate_command_writes_the_record_and_exports(tmp_path, capsys):
    data = tmp_path / "data.csv"
    _biased(500, seed=2).to_csv(data, index=False)
    out = tmp_path / "out.json"
    status = main(["mitigate", "--data", str(data), "--target", "hired", "--sensitive", "sex",
                   "--prediction", "club", "--candidates", "baseline,reweighing,threshold_optimizer",
                   "--bootstrap", "50", "--seed", "5", "--export", str(tmp_path / "export"), "--json", str(out)])
    assert status == 0
    record = json.loads(out.read_text())
    assert record["schema"] == "auditapp.mitigate/1"
    assert record["split"] == {**record["split"], "train_rows": 350, "test_rows": 150, "seed": 5}
    assert [c["name"] for c in record["candidates"]] == ["baseline", "reweighing", "threshold_optimizer"]
    assert record["candidates"][2]["needs_sensitive_at_predict"] is True
    assert (tmp_path / "export" / "reweighing.skops").is_file()
    assert "error" in record["exports"]["baseline"]
    assert "reweighing" in capsys.readouterr().out


def test_mitigate_command_reports_a_bad_candidate(tmp_path, capsys):
    data = tmp_path / "data.csv"
    _biased(200).to_csv(data, index=False)
    status = main(["mitigate", "--data", str(data), "--target", "hired", "--sensitive", "sex",
                   "--prediction", "club", "--candidates", "baseline,nope", "--json", str(tmp_path / "o.json")])
    assert status == 2
    assert "Unknown candidate(s) 'nope'" in capsys.readouterr().err
