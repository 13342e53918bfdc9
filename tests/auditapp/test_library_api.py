"""The library as a notebook uses it: ``from auditapp import audit, ...`` on a DataFrame and a fitted pipeline."""

import doctest
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, selection_rate
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import auditapp
from auditapp import Policy, audit, check, compare_mitigations, explain, simulate
from auditapp.cli.main import main
from auditapp.core.errors import AuditInputError
from auditapp.inputs.models import save_skops

FEATURES = ["experience", "test_score"]


def _people(n=1200, seed=11):
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], size=n, p=[0.45, 0.55])
    race = rng.choice(["x", "y", "z"], size=n)
    experience = rng.gamma(2.0, 2.0, size=n) + (sex == "male") * 1.0
    test_score = rng.normal(60, 10, size=n) + (race == "x") * 3
    logit = 0.4 * experience + 0.05 * (test_score - 60) - 2.0
    hired = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"experience": experience, "test_score": test_score, "sex": sex, "race": race,
                         "hired": hired})


@pytest.fixture(scope="module")
def notebook():
    frame = _people()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[FEATURES], frame["hired"])
    return frame, pipeline, audit(frame, target="hired", sensitive=["sex", "race"], model=pipeline)


def _close(expected, actual, path="record"):
    """Same structure and values; floats to 1e-12 (counts and labels exactly)."""
    if isinstance(expected, dict):
        assert set(expected) == set(actual), path
        for key in expected:
            _close(expected[key], actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(expected) == len(actual), path
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            _close(a, b, f"{path}[{i}]")
    elif isinstance(expected, float) and isinstance(actual, float):
        assert math.isclose(expected, actual, rel_tol=0, abs_tol=1e-12), (path, expected, actual)
    else:
        assert expected == actual, (path, expected, actual)


def test_notebook_audit_of_a_fitted_pipeline_matches_the_cli_json(notebook, tmp_path):
    frame, pipeline, result = notebook
    data, model, out = tmp_path / "people.csv", tmp_path / "model.skops", tmp_path / "audit.json"
    frame.to_csv(data, index=False)
    save_skops(pipeline, model)
    assert main(["audit", "--data", str(data), "--target", "hired", "--sensitive", "sex,race",
                 "--model", str(model), "--json", str(out)]) == 0
    cli = json.loads(out.read_text())
    mine = json.loads(result.to_json())
    for key in ("timestamp", "dataset", "model", "versions"):
        cli.pop(key, None), mine.pop(key, None)
    # The command line reads --favorable as text ("1"), a notebook passes 1: the same class, written as given.
    assert (cli["spec"].pop("favorable"), mine["spec"].pop("favorable")) == ("1", 1)
    _close(cli, mine)
    assert result.to_dict()["dataset"]["rows"] == len(frame)
    assert result.to_dict()["model"]["format"] == "sklearn"


def test_by_group_difference_and_ratio_agree_with_fairlearn(notebook):
    frame, pipeline, result = notebook
    y_pred = (pipeline.predict_proba(frame[FEATURES])[:, 1] >= 0.5).astype(int)
    for grouping in ("sex", ("sex", "race")):
        columns = [grouping] if isinstance(grouping, str) else list(grouping)
        reference = MetricFrame(metrics=selection_rate, y_true=frame["hired"], y_pred=y_pred,
                                sensitive_features=frame[columns])
        ours = result.by_group("selection_rate", grouping)
        expected = reference.by_group.to_numpy().ravel()
        labels = [" & ".join(map(str, k if isinstance(k, tuple) else (k,))) for k in reference.by_group.index]
        np.testing.assert_allclose(ours.loc[labels, "selection_rate"].to_numpy(), expected, rtol=0, atol=1e-12)
        assert (ours["low"] <= ours["selection_rate"]).all() and (ours["selection_rate"] <= ours["high"]).all()
        assert result.difference("selection_rate", grouping) == pytest.approx(reference.difference(), abs=1e-12)
        assert result.ratio("selection_rate", grouping) == pytest.approx(reference.ratio(), abs=1e-12)
    assert result.groupings == (("sex",), ("race",), ("sex", "race"))
    criteria = result.criteria
    assert criteria.loc[("sex", "demographic_parity_difference"), "value"] == pytest.approx(
        result.difference("selection_rate", "sex"), abs=1e-12)


def test_short_repr_and_escaped_html(notebook, tmp_path):
    _, _, result = notebook
    text = repr(result)
    assert len(text) < 200 and text.startswith("<GroupAudit 1,200 rows, predictions from a model")
    assert "(+2 more groupings)" in text
    hostile = pd.DataFrame({"g": ["<script>alert(1)</script>"] * 40 + ["b"] * 40, "y": [0, 1] * 40,
                            "p": [1, 0, 0, 1] * 20})
    html = audit(hostile, target="y", sensitive="g", prediction="p")._repr_html_()
    assert "<script>" not in html and "Audit of 80 rows" in html
    path = result.report(tmp_path / "report.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") or "<html" in path.read_text()


def test_policy_check_is_the_gates_outcome(notebook):
    _, _, result = notebook
    outcome = check(result, "four-fifths")
    assert outcome.overall in {"pass", "fail", "inconclusive"}
    assert outcome.exit_code == {"pass": 0, "fail": 1, "inconclusive": 3}[outcome.overall]
    assert repr(outcome).startswith("<PolicyOutcome policy 'four-fifths'")
    assert isinstance(auditapp.Policy, type) and Policy is auditapp.api.Policy


def test_file_inputs_and_messages(tmp_path):
    frame = _people(n=300)
    frame["pred"] = (frame["experience"] > 4).astype(int)
    frame.to_csv(tmp_path / "d.csv", index=False)
    by_path = audit(tmp_path / "d.csv", target="hired", sensitive="sex", prediction="pred")
    by_frame = audit(frame, target="hired", sensitive="sex", prediction="pred")
    pd.testing.assert_frame_equal(by_path.by_group("accuracy"), by_frame.by_group("accuracy"))
    assert by_path.to_dict()["dataset"]["sha256"] and by_frame.to_dict()["dataset"]["sha256"] is None
    with pytest.raises(AuditInputError, match="data must be a pandas DataFrame or the path"):
        audit([1, 2], target="hired", sensitive="sex", prediction="pred")
    with pytest.raises(AuditInputError, match="There is no metric 'selection'; choose one of selection_rate"):
        by_frame.by_group("selection")
    with pytest.raises(AuditInputError, match=r"There is no grouping \['race'\]; this audit has sex"):
        by_frame.difference("selection_rate", "race")
    with pytest.raises(AuditInputError, match="explain needs a model"):
        explain(frame, model=None, target="hired", sensitive="sex")


def test_explain_compare_and_simulate_run_from_the_top_level():
    frame = _people(n=600)
    fitted = LogisticRegression().fit(frame[FEATURES], frame["hired"])
    explanation = explain(frame, model=fitted, target="hired", sensitive="sex", rows_per_group=60, n_boot=0)
    assert set(explanation.importance.index) >= set(FEATURES)
    comparison = compare_mitigations(frame, target="hired", sensitive="sex", model=fitted,
                                     candidates=["baseline", "threshold_optimizer"])
    assert [c.name for c in comparison.candidates] == ["baseline", "threshold_optimizer"]
    first, again = simulate("policing", {"steps": 20, "runs": 5}, seed=3), simulate("policing", {"steps": 20, "runs": 5}, seed=3)
    pd.testing.assert_frame_equal(first.series, again.series)


def test_docstring_examples_run():
    import auditapp.api
    import auditapp.core.validation

    for module in (auditapp.api, auditapp.core.validation):
        failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert tried > 0 and failures == 0, module.__name__


def test_import_auditapp_stays_cheap():
    code = "import sys, auditapp; print(sorted(m for m in ('pandas', 'sklearn', 'dash', 'plotly') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert sorted(auditapp.__all__) == ["Policy", "audit", "check", "compare_mitigations", "explain", "simulate"]
