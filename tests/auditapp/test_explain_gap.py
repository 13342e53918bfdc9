"""Sampling, importance, gap attribution and the hiring scenario's planted proxy."""

import numpy as np
import pandas as pd
import pytest

from auditapp.core.errors import AuditInputError
from auditapp.core.spec import AuditSpec
from auditapp.explain import (
    dependence_data,
    explain_model,
    local_explanation,
    stratified_sample,
)
from auditapp.inputs.models import from_estimator
from datasets.hiring import NOISE_FEATURES, PROXY_FEATURE, generate_hiring, train_hiring_model


@pytest.fixture(scope="module")
def hiring():
    frame = generate_hiring(2000, seed=3)
    model = from_estimator(train_hiring_model(frame, seed=3))
    spec = AuditSpec(target="hired", sensitive=("sex", "ethnicity"), reference={"sex": "male"})
    steps = []
    explanation = explain_model(frame, spec, model, rows_per_group=150, n_boot=100,
                                progress=lambda fraction, message: steps.append(fraction))
    return frame, model, spec, explanation, steps


def test_sample_takes_at_most_n_rows_per_group_and_small_groups_whole():
    groups = pd.DataFrame({"g": ["a"] * 500 + ["b"] * 40 + ["c"] * 12})
    sample = stratified_sample(groups, rows_per_group=30, seed=1)
    assert sample.cell_counts.tolist() == [30, 30, 12]
    assert sample.cell_sizes.tolist() == [500, 40, 12]
    assert groups["g"].iloc[sample.positions].value_counts().to_dict() == {"a": 30, "b": 30, "c": 12}
    again = stratified_sample(groups, rows_per_group=30, seed=1)
    other = stratified_sample(groups, rows_per_group=30, seed=2)
    np.testing.assert_array_equal(sample.positions, again.positions)
    assert not np.array_equal(sample.positions, other.positions)


def test_too_few_rows_per_group_is_rejected():
    with pytest.raises(AuditInputError, match="at least 10"):
        stratified_sample(pd.DataFrame({"g": ["a", "b"]}), rows_per_group=5)


def test_gap_contributions_sum_to_the_difference_of_mean_outputs(hiring):
    frame, _, _, explanation, _ = hiring
    values = explanation.shap
    sex = explanation.sensitive["sex"].to_numpy()
    gap = explanation.gap("female", grouping=("sex",))
    assert gap.contributions["value"].sum() == pytest.approx(gap.total, abs=1e-9)
    # The sample is stratified by sex × ethnicity, so group means weight each cell by its size.
    cells = explanation.sample.cells
    sizes = explanation.sample.cell_sizes
    weights = sizes[cells] / np.bincount(cells, minlength=sizes.size)[cells]
    means = {g: np.average(values.output[sex == g], weights=weights[sex == g]) for g in ("female", "male")}
    assert gap.mean_group == pytest.approx(means["female"], abs=1e-9)
    assert gap.total == pytest.approx(means["female"] - means["male"], abs=1e-9)
    assert gap.total_low <= gap.total <= gap.total_high


def test_sampled_gap_is_close_to_the_full_data_gap(hiring):
    frame, model, _, explanation, _ = hiring
    pipe = model.estimator
    log_odds = pipe[-1].decision_function(pipe[:-1].transform(frame[list(model.feature_names)]))
    full = log_odds[frame["sex"] == "female"].mean() - log_odds[frame["sex"] == "male"].mean()
    gap = explanation.gap("female", grouping=("sex",))
    assert gap.total_low - 0.05 <= full <= gap.total_high + 0.05


def test_planted_proxy_drives_the_gap_and_is_flagged_while_noise_is_not(hiring):
    _, _, _, explanation, _ = hiring
    gap = explanation.gap("female", grouping=("sex",))
    assert gap.contributions.index[0] == PROXY_FEATURE
    assert gap.contributions.loc[PROXY_FEATURE, "value"] < 0
    proxies = explanation.proxies.features.set_index(["feature", "sensitive"])
    assert proxies.loc[(PROXY_FEATURE, "sex"), "flagged"]
    assert "stand-in for sex" in proxies.loc[(PROXY_FEATURE, "sex"), "sentence"]
    for noise in NOISE_FEATURES:
        assert not proxies.loc[(noise, "sex"), "flagged"]
        assert not proxies.loc[(noise, "ethnicity"), "flagged"]
    combined = explanation.proxies.combined.set_index("sensitive")
    assert combined.loc["sex", "flagged"] and not combined.loc["ethnicity", "flagged"]


def test_importance_is_the_weighted_mean_absolute_shap_with_intervals(hiring):
    _, _, _, explanation, _ = hiring
    sample = explanation.sample
    weights = sample.cell_sizes[sample.cells] / sample.cell_counts[sample.cells]
    expected = np.average(np.abs(explanation.shap.values), axis=0, weights=weights)
    importance = explanation.importance.loc[list(explanation.shap.features)]
    np.testing.assert_allclose(importance["mean_abs_shap"], expected, atol=1e-12)
    assert (importance["low"] <= importance["mean_abs_shap"]).all()
    assert (importance["mean_abs_shap"] <= importance["high"]).all()
    by_group = explanation.attributions.importance_by_group
    assert set(by_group["grouping"]) == {"sex", "ethnicity", "sex × ethnicity"}


def test_result_states_output_space_and_additivity_and_progress_reaches_one(hiring):
    _, _, _, explanation, steps = hiring
    assert explanation.shap.output_label == "log-odds of the favourable class (1)"
    assert explanation.shap.additivity_error < 1e-6
    assert steps[0] == 0.0 and steps[-1] == 1.0 and steps == sorted(steps)


def test_local_explanation_adds_up_and_matches_the_sampled_row(hiring):
    frame, _, _, explanation, _ = hiring
    local = explanation.local
    assert local.base_value + local.contributions["shap"].sum() == pytest.approx(local.output, abs=1e-9)
    position = list(explanation.shap.data.index).index(local.row)
    by_feature = dict(zip(explanation.shap.features, explanation.shap.values[position], strict=True))
    for feature, row in local.contributions.iterrows():
        assert row["shap"] == pytest.approx(by_feature[feature], abs=1e-9)
    other = local_explanation(explanation.explainer, frame, 1999)
    assert other.row == 1999


def test_unknown_row_is_rejected(hiring):
    frame, _, _, explanation, _ = hiring
    with pytest.raises(AuditInputError, match="Row 5000 is not in the dataset"):
        local_explanation(explanation.explainer, frame, 5000)


def test_dependence_data_pairs_values_with_shap_and_group(hiring):
    _, _, _, explanation, _ = hiring
    data = dependence_data(explanation.shap, explanation.sensitive, PROXY_FEATURE, "sex")
    j = explanation.shap.features.index(PROXY_FEATURE)
    np.testing.assert_array_equal(data["shap"], explanation.shap.values[:, j])
    club = data.groupby("value")["shap"].mean()
    assert club[1] < club[0]
    with pytest.raises(AuditInputError, match="not one of the model's features"):
        dependence_data(explanation.shap, explanation.sensitive, "sex", "sex")
    with pytest.raises(AuditInputError, match="not a sensitive feature"):
        dependence_data(explanation.shap, explanation.sensitive, PROXY_FEATURE, "age")


def test_explaining_without_a_model_says_what_is_needed(hiring):
    frame, _, spec, _, _ = hiring
    with pytest.raises(AuditInputError, match="need the model itself"):
        explain_model(frame, spec, None)


def test_an_empty_table_is_rejected():
    with pytest.raises(AuditInputError, match="no rows to explain"):
        stratified_sample(pd.DataFrame({"g": pd.Series([], dtype=str)}))


def test_black_box_models_are_explained_on_a_smaller_sample_and_still_add_up():
    from sklearn.compose import ColumnTransformer
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    from datasets.hiring import HIRING_FEATURES

    frame = generate_hiring(400, seed=5)
    encode = ColumnTransformer([("edu", OneHotEncoder(sparse_output=False), ["education"])],
                               remainder="passthrough")
    pipe = Pipeline([("encode", encode), ("nb", GaussianNB())])
    pipe.fit(frame[list(HIRING_FEATURES)], frame["hired"])
    spec = AuditSpec(target="hired", sensitive=("sex",), reference={"sex": "male"})
    explanation = explain_model(frame, spec, from_estimator(pipe), rows_per_group=200,
                                agnostic_rows_per_group=15, n_boot=20)
    assert explanation.shap.method == "permutation"
    assert explanation.sample.cell_counts.tolist() == [15, 15]
    assert any("black box" in notice for notice in explanation.notices)
    probability = pipe.predict_proba(frame[list(HIRING_FEATURES)].iloc[explanation.sample.positions])[:, 1]
    np.testing.assert_allclose(explanation.shap.output, probability, atol=1e-12)
    assert explanation.shap.additivity_error < 1e-9
