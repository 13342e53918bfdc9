"""The comparison on the hiring scenario: shared test rows, reproducibility, post-processing, export."""

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.inputs.models import from_estimator
from auditapp.mitigation.compare import compare_mitigations, pareto_front
from auditapp.mitigation.export import export_candidate, mitigation_record, neutralise_cell
from auditapp.mitigation.post import fit_threshold_rules, threshold_probabilities
from datasets.hiring import generate_hiring, train_hiring_model


@pytest.fixture(scope="module")
def hiring():
    frame = generate_hiring(2000, seed=11)
    model = from_estimator(train_hiring_model(generate_hiring(1500, seed=99), seed=0))
    return frame, model


@pytest.fixture(scope="module")
def spec():
    return AuditSpec(target="hired", sensitive=("sex",), n_boot=200, seed=3)


@pytest.fixture(scope="module")
def comparison(hiring, spec):
    frame, model = hiring
    events = []
    result = compare_mitigations(frame, spec, model, constraint="demographic_parity",
                                 on_progress=lambda name, status, r: events.append((name, status, r)))
    return result, events


def test_every_candidate_is_evaluated_on_the_same_test_rows(comparison):
    result, _ = comparison
    assert {c.name for c in result.candidates} == {
        "baseline", "baseline_refit", "reweighing", "correlation_remover", "exponentiated_gradient",
        "grid_search", "threshold_optimizer"}
    assert all(c.error is None for c in result.candidates), [c.error for c in result.candidates]
    for candidate in result.candidates:
        assert candidate.test_rows_sha256 == result.split.test_rows_sha256
        assert len(candidate.y_pred) == result.split.test_rows
        assert candidate.audit.n_rows == result.split.test_rows
    assert set(result.split.train_positions).isdisjoint(result.split.test_positions)
    assert result.split.train_rows + result.split.test_rows == 2000


def test_split_keeps_each_group_and_label_share(hiring, comparison):
    frame, _ = hiring
    result, _ = comparison
    test = frame.iloc[result.split.test_positions]
    for (sex, hired), rows in frame.groupby(["sex", "hired"]).size().items():
        in_test = int(((test["sex"] == sex) & (test["hired"] == hired)).sum())
        assert in_test == round(rows * 0.3)


def test_threshold_optimizer_closes_the_selection_rate_gap(comparison):
    result, _ = comparison
    baseline = result.candidate("baseline").criteria["demographic_parity_difference"]
    mitigated = result.candidate("threshold_optimizer").criteria["demographic_parity_difference"]
    assert baseline.value > 0.1 and baseline.low > 0.05
    assert mitigated.value <= 0.05
    assert result.candidate("threshold_optimizer").needs_sensitive_at_predict
    assert "disparate treatment" in result.candidate("threshold_optimizer").sensitive_note
    assert not result.candidate("reweighing").needs_sensitive_at_predict


def test_results_carry_intervals_and_per_group_rates(comparison):
    result, _ = comparison
    candidate = result.candidate("reweighing")
    assert candidate.accuracy.low <= candidate.accuracy.value <= candidate.accuracy.high
    assert candidate.disparity == candidate.criteria["demographic_parity_difference"]
    groups = candidate.grouping.groups
    assert set(groups.index) == {"female", "male"}
    manual = pd.Series(candidate.y_pred).groupby(result.test_rows["sex"].to_numpy()).mean()
    np.testing.assert_allclose(groups["selection_rate"], manual[groups.index], atol=1e-12)
    accuracy = float(np.mean(candidate.y_pred == result.test_rows["hired"].to_numpy()))
    assert candidate.accuracy.value == pytest.approx(accuracy)


def test_progress_reports_running_then_done_for_each_candidate(comparison):
    result, events = comparison
    for candidate in result.candidates:
        statuses = [s for n, s, _ in events if n == candidate.name]
        assert statuses == ["running", "done"]
    assert all(r is not None for _, s, r in events if s == "done")


def test_reductions_use_a_stated_default_learner_for_boosted_trees(comparison):
    result, _ = comparison
    for name in ("exponentiated_gradient", "grid_search"):
        candidate = result.candidate(name)
        assert candidate.learner == "default learner"
        assert any("HistGradientBoostingClassifier" in n for n in candidate.notes)


def test_pareto_front_has_no_dominated_candidate(comparison):
    result, _ = comparison
    points = {c.name: (c.accuracy.value, c.disparity.value) for c in result.candidates}
    assert result.pareto == pareto_front(result.candidates)
    for name, (acc, disp) in points.items():
        dominated = any(a >= acc and d <= disp and (a, d) != (acc, disp) for a, d in points.values())
        assert (name in result.pareto) == (not dominated)


def test_same_seed_reproduces_and_another_seed_resplits(hiring, spec):
    frame, model = hiring
    frame = frame.iloc[:600]
    names = ["exponentiated_gradient", "threshold_optimizer"]
    first = compare_mitigations(frame, spec, model, candidates=names)
    second = compare_mitigations(frame, spec, model, candidates=names)
    for a, b in zip(first.candidates, second.candidates, strict=True):
        np.testing.assert_array_equal(a.y_pred, b.y_pred)
        assert a.accuracy == b.accuracy and a.disparity == b.disparity
    other = compare_mitigations(frame, AuditSpec(target="hired", sensitive=("sex",), n_boot=50, seed=4),
                                model, candidates=["baseline"])
    assert other.split.test_rows_sha256 != first.split.test_rows_sha256


def test_score_column_gets_post_processing_and_a_default_learner(hiring):
    frame, model = hiring
    data = frame.assign(score=model.score(frame, 1))
    spec = AuditSpec(target="hired", sensitive=("sex",), score="score", n_boot=50, seed=3)
    result = compare_mitigations(data, spec, candidates=["baseline", "reweighing", "threshold_optimizer",
                                                         "baseline_refit"])
    assert result.candidate("reweighing").learner == "default learner"
    assert any("cannot be refitted" in n for n in result.candidate("reweighing").notes)
    assert result.candidate("threshold_optimizer").model is None
    assert result.candidate("threshold_optimizer").criteria["demographic_parity_difference"].value <= 0.06
    assert "cannot be refitted" in result.candidate("baseline_refit").error
    assert result.candidate("baseline").error is None


def test_stop_cancels_the_remaining_candidates(hiring, spec):
    frame, model = hiring
    seen = []
    result = compare_mitigations(frame.iloc[:600], spec, model, candidates=["baseline", "reweighing", "grid_search"],
                                 on_progress=lambda n, s, r: seen.append((n, s)),
                                 should_stop=lambda: any(s == "done" for _, s in seen))
    assert [c.name for c in result.candidates] == ["baseline"]
    assert result.cancelled == ("reweighing", "grid_search")
    assert ("grid_search", "cancelled") in seen


def test_own_test_table_is_used_as_the_test_part(hiring, spec):
    frame, model = hiring
    result = compare_mitigations(frame.iloc[:600], spec, model, test_frame=frame.iloc[1700:],
                                 candidates=["baseline", "reweighing"])
    assert result.split.source == "test file"
    assert (result.split.train_rows, result.split.test_rows) == (600, 300)
    assert list(result.test_rows["row"]) == list(frame.index[1700:])
    assert result.candidate("reweighing").audit.n_rows == 300


@pytest.mark.parametrize(("options", "message"), [
    ({"constraint": "parity"}, "Unknown constraint 'parity'"),
    ({"candidates": ["magic"]}, "Unknown candidate"),
    ({"test_size": 0.99}, "test share must be between"),
    ({"features": ["sex"]}, "learner features sex"),
])
def test_bad_options_are_refused(hiring, spec, options, message):
    frame, model = hiring
    with pytest.raises(AuditInputError, match=message):
        compare_mitigations(frame, spec, model, **options)


def test_no_feature_columns_for_a_learner_is_refused():
    frame = pd.DataFrame({"y": [0, 1] * 50, "sex": ["f", "m"] * 50, "p": [1, 0] * 50})
    spec = AuditSpec(target="y", sensitive=("sex",), prediction="p", n_boot=0)
    with pytest.raises(AuditInputError, match="no feature columns"):
        compare_mitigations(frame, spec, candidates=["reweighing"])


def test_threshold_optimizer_does_not_support_error_rate_parity():
    with pytest.raises(AuditInputError, match="cannot enforce 'error_rate_parity'"):
        fit_threshold_rules([0.1, 0.9], [0, 1], ["a", "a"], constraint="error_rate_parity")


def test_threshold_rules_refuse_unseen_groups():
    with pytest.raises(AuditInputError, match="No threshold was fitted for group"):
        threshold_probabilities([0.5], ["new"], {"a": (1.0, 0.5, 0.0, 0.5, 0.0, 0.0)})


def test_exported_models_reproduce_the_evaluated_predictions(hiring, comparison, tmp_path):
    result, _ = comparison
    frame = hiring[0].iloc[result.split.test_positions]
    for name in ("reweighing", "threshold_optimizer", "exponentiated_gradient", "correlation_remover"):
        files = export_candidate(result, name, tmp_path)
        data = files.model_path.read_bytes()
        model = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
        columns = list(model.feature_names_in_)
        np.testing.assert_array_equal(model.predict(frame[columns]), result.candidate(name).y_pred)
        manifest = json.loads(files.manifest_path.read_text())
        assert manifest["needs_sensitive_at_predict"] == ("sex" in columns)


def test_plain_sklearn_export_loads_through_the_intake(comparison, tmp_path):
    from auditapp.inputs.models import load_model

    result, _ = comparison
    files = export_candidate(result, "reweighing", tmp_path)
    loaded = load_model(files.model_path)
    assert loaded.sha256 == files.model_sha256
    assert loaded.classes == (0, 1)


def test_baseline_of_a_model_without_estimator_cannot_be_exported(hiring, tmp_path):
    frame, _ = hiring
    spec = AuditSpec(target="hired", sensitive=("sex",), prediction="decision", n_boot=0)
    result = compare_mitigations(frame.iloc[:300].assign(decision=frame["hired"]), spec, candidates=["baseline"])
    with pytest.raises(AuditInputError, match="has no scikit-learn model to save"):
        export_candidate(result, "baseline", tmp_path)


def test_prediction_csv_neutralises_spreadsheet_formulas(hiring, tmp_path):
    frame, model = hiring
    data = frame.iloc[:600].assign(sex=np.where(frame["sex"].iloc[:600] == "female", "=HYPERLINK(1)", "male"))
    spec = AuditSpec(target="hired", sensitive=("sex",), n_boot=0, min_group_size=1)
    result = compare_mitigations(data, spec, model, candidates=["reweighing"])
    files = export_candidate(result, "reweighing", tmp_path)
    text = files.predictions_path.read_text()
    assert "'=HYPERLINK(1)" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    assert [neutralise_cell(v) for v in ("-1+2", "@x", "\tx", "\rx", "+1", "ok", 3)] == \
        ["'-1+2", "'@x", "'\tx", "'\rx", "'+1", "ok", 3]


def test_record_matches_the_schema(comparison):
    result, _ = comparison
    record = json.loads(json.dumps(mitigation_record(result), allow_nan=False))
    assert record["schema"] == "auditapp.mitigate/1"
    assert record["split"]["train_rows"] + record["split"]["test_rows"] == 2000
    first = record["candidates"][0]
    assert set(first) >= {"name", "family", "accuracy", "disparity", "needs_sensitive_at_predict",
                          "fit_seconds", "error"}
    assert first["disparity"]["metric"] == "demographic_parity_difference"
    assert len(first["accuracy"]["ci"]) == 2 and first["error"] is None
