"""Everything that needs an uploaded model's estimator runs in its sandbox and gives the same numbers as
the same estimator in this process: predictions, SHAP values (tree, linear and model-agnostic),
mitigation candidates (refits, reductions, ThresholdOptimizer and their exported files) and the
model-in-the-loop simulation."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from auditapp.core.audit import run_audit
from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import from_estimator, load_model
from auditapp.inputs.sandbox import current_mode
from tests.builders import applicants

pytestmark = pytest.mark.skipif(not current_mode().strong, reason="needs bubblewrap (see README)")


@pytest.fixture(scope="module")
def frame():
    return applicants(600, seed=3)


FEATURES = ["income", "proxy", "region"]


@pytest.fixture(scope="module")
def pipeline(frame):
    encode = make_column_transformer((StandardScaler(), ["income", "proxy"]),
                                     (OneHotEncoder(handle_unknown="ignore"), ["region"]))
    return make_pipeline(encode, LogisticRegression()).fit(frame[FEATURES], frame["hired"])


@pytest.fixture(scope="module")
def models(pipeline):
    """The pipeline loaded from its skops file (sandboxed) and the same object in this process."""
    sandboxed = load_model(sio.dumps(pipeline), filename="pipeline.skops")
    assert sandboxed.sandboxed and sandboxed.estimator is None and sandboxed.refittable
    return sandboxed, from_estimator(pipeline)


SPEC = AuditSpec(target="hired", sensitive=("sex",), reference={"sex": "m"}, n_boot=50, seed=1)


def test_audit_predictions_are_the_estimators_own(frame, models, monkeypatch):
    from auditapp.inputs import sandboxed_model

    sandboxed, local = models
    monkeypatch.setattr(sandboxed_model, "CHUNK_ROWS", 97)  # rows go to the sandbox in chunks
    one, two = run_audit(frame, SPEC, sandboxed), run_audit(frame, SPEC, local)
    np.testing.assert_array_equal(one.data.y_pred, two.data.y_pred)
    np.testing.assert_allclose(one.data.y_score, two.data.y_score, rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(one.result.groupings[0].groups, two.result.groupings[0].groups)


def test_many_rows_are_shared_between_the_models_idle_processes(frame, pipeline, monkeypatch):
    from auditapp.inputs import sandbox_process, sandboxed_model
    from auditapp.inputs.sandbox import default_pool, reset_default_pool

    reset_default_pool()  # room for two processes whatever the tests before left running (they start again)
    monkeypatch.setattr(sandboxed_model, "SIDE_BY_SIDE_ROWS", 500)
    many = pd.concat([frame] * 4, ignore_index=True)  # 2,400 rows
    expected_labels, expected_proba = pipeline.predict(many[FEATURES]), pipeline.predict_proba(many[FEATURES])
    sent = []
    real = sandbox_process.ModelProcess.request

    def request(self, task, args, **kwargs):
        if task == "predict":
            sent.append((self.pid, len(args["rows"])))
            time.sleep(0.2)  # the process stays busy a while: the other half cannot find it free again
        return real(self, task, args, **kwargs)

    monkeypatch.setattr(sandbox_process.ModelProcess, "request", request)
    two = load_model(sio.dumps(pipeline), filename="pipeline.skops", scope="side by side", processes=2).runner
    labels, proba = two.outputs(many)  # the second process may still be starting: it is waited for or not
    np.testing.assert_array_equal(labels, expected_labels)
    np.testing.assert_allclose(proba, expected_proba, rtol=0, atol=1e-12)
    assert sorted(n for _pid, n in sent) == [1200, 1200] and sum(n for _pid, n in sent) == len(many)
    pool, deadline = default_pool(), time.monotonic() + 60
    while sum(c.key == two.ref.key and not c.busy for c in pool._children) < 2:  # both loaded and idle
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert pool.available(two.ref) == 2
    del sent[:]
    labels, proba = two.outputs(many.iloc[::-1])
    np.testing.assert_array_equal(labels, expected_labels[::-1])
    np.testing.assert_allclose(proba, expected_proba[::-1], rtol=0, atol=1e-12)
    assert len({pid for pid, _n in sent}) == 2 and [n for _pid, n in sent] == [1200, 1200]
    del sent[:]
    two.outputs(many.iloc[:999])  # too few rows for two processes (500 each at least)
    assert [n for _pid, n in sent] == [999]


def _same_explanations(one, two):
    assert one.shap.method == two.shap.method and one.shap.output_space == two.shap.output_space
    np.testing.assert_allclose(one.shap.values, two.shap.values, rtol=0, atol=1e-12)
    np.testing.assert_allclose(one.shap.output, two.shap.output, rtol=0, atol=1e-12)
    assert one.shap.base_value == pytest.approx(two.shap.base_value, abs=1e-12)
    pd.testing.assert_frame_equal(one.importance, two.importance, atol=1e-12)
    pd.testing.assert_frame_equal(one.local.contributions, two.local.contributions, atol=1e-12)


def test_linear_shap_values_come_from_the_sandbox_and_match(frame, models):
    from auditapp.explain import explain_model
    from auditapp.explain.attribution import local_explanation
    from auditapp.explain.sandboxed import SandboxExplainer

    sandboxed, local = models
    one = explain_model(frame, SPEC, sandboxed, rows_per_group=60, n_boot=20)
    two = explain_model(frame, SPEC, local, rows_per_group=60, n_boot=20)
    assert isinstance(one.explainer, SandboxExplainer) and one.shap.method == "linear"
    _same_explanations(one, two)
    row = frame.index[17]
    np.testing.assert_allclose(local_explanation(one.explainer, frame, row).contributions["shap"],
                               local_explanation(two.explainer, frame, row).contributions["shap"], atol=1e-12)


def test_tree_and_model_agnostic_shap_values_match(frame):
    from skl2onnx import to_onnx

    from auditapp.explain import explain_model

    numeric = frame[["income", "proxy"]]
    forest = RandomForestClassifier(n_estimators=8, max_depth=4, random_state=0).fit(numeric, frame["hired"])
    one = explain_model(frame, SPEC, load_model(sio.dumps(forest), filename="forest.skops"), rows_per_group=40,
                        n_boot=0)
    two = explain_model(frame, SPEC, from_estimator(forest), rows_per_group=40, n_boot=0)
    assert one.shap.method == "tree"
    _same_explanations(one, two)
    proto = to_onnx(LogisticRegression().fit(numeric, frame["hired"]), numeric.to_numpy(np.float32),
                    options={"zipmap": False})
    entry = proto.metadata_props.add()
    entry.key, entry.value = "feature_names", "income,proxy"
    data = proto.SerializeToString()
    one = explain_model(frame, SPEC, load_model(data, filename="lr.onnx"), rows_per_group=20, n_boot=0)
    two = explain_model(frame, SPEC, load_model(data, filename="lr.onnx", sandbox=False), rows_per_group=20,
                        n_boot=0)
    assert one.shap.method == "permutation"
    _same_explanations(one, two)


def test_mitigation_candidates_train_in_the_sandbox_and_match(frame, models, tmp_path):
    from auditapp.inputs.sandboxed_model import ExportedModel
    from auditapp.mitigation.compare import compare_mitigations
    from auditapp.mitigation.export import export_candidate

    sandboxed, local = models
    options = {"constraint": "demographic_parity", "grid_size": 5}
    one = compare_mitigations(frame, SPEC, sandboxed, **options)
    two = compare_mitigations(frame, SPEC, local, **options)
    assert [c.name for c in one.candidates] == [c.name for c in two.candidates]
    assert "baseline_refit" in [c.name for c in one.candidates]
    for mine, theirs in zip(one.candidates, two.candidates, strict=True):
        assert mine.error is None and theirs.error is None, (mine.error, theirs.error)
        same_source = [text.replace("skops model pipeline.skops", "sklearn model in-memory model")
                       for text in (mine.learner, *mine.notes)]
        assert same_source == [theirs.learner, *theirs.notes]
        np.testing.assert_array_equal(mine.y_pred, theirs.y_pred)
        assert mine.accuracy == theirs.accuracy and mine.disparity == theirs.disparity
        assert isinstance(mine.model, ExportedModel)
    for name in ("baseline_refit", "threshold_optimizer", "exponentiated_gradient"):
        files = export_candidate(one, name, tmp_path / name)
        exported = load_model(files.model_path)
        test_rows = frame.iloc[one.split.test_positions]
        expected = one.candidate(name).y_score
        np.testing.assert_allclose(exported.score(test_rows.reset_index(drop=True), 1), expected, atol=1e-12)


def test_the_feedback_loop_retrains_the_uploaded_model_in_its_sandbox(frame, models):
    from auditapp.feedback.model_loop import ModelLoopParams, simulate_model_loop

    sandboxed, local = models
    steps: list[float] = []

    def params(model):
        return ModelLoopParams(frame=frame, feature_columns=tuple(FEATURES), target="hired", sensitive="sex",
                               estimator=model.learner, rounds=6, pool_size=120, selection_rate=0.3,
                               exploration=0.1)

    one = simulate_model_loop(params(sandboxed), seed=4, progress=steps.append)
    two = simulate_model_loop(params(local), seed=4)
    pd.testing.assert_frame_equal(one.series, two.series)
    assert one.summary == two.summary and one.params["estimator"] == "Pipeline"
    assert steps and steps[-1] == pytest.approx(1.0)
