"""Reweighing weights, weighted fitting and the CorrelationRemover pipeline."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from auditapp.core.errors import AuditInputError
from auditapp.mitigation.learners import infer_features, sample_weight_name
from auditapp.mitigation.pre import (
    correlation_remover_pipeline,
    fit_with_weights,
    reweighing_weights,
)


def test_reweighing_makes_weighted_label_rates_equal_across_groups():
    rng = np.random.default_rng(0)
    groups = rng.choice(["a", "b", "c"], size=500, p=[0.6, 0.3, 0.1])
    y = (rng.random(500) < np.select([groups == "a", groups == "b"], [0.7, 0.3], 0.5)).astype(int)
    weights = reweighing_weights(y, groups)
    rates = [np.average(y[groups == g], weights=weights[groups == g]) for g in ("a", "b", "c")]
    assert max(rates) - min(rates) == pytest.approx(0.0, abs=1e-12)
    assert rates[0] == pytest.approx(y.mean(), abs=1e-12)
    assert weights.sum() == pytest.approx(500)


def test_reweighing_weights_match_the_closed_form():
    # group a: labels 1,1,1,0 ; group b: labels 1,0 -> n=6, P(a)=4/6, P(b)=2/6, P(1)=4/6, P(0)=2/6
    y = [1, 1, 1, 0, 1, 0]
    groups = ["a", "a", "a", "a", "b", "b"]
    weights = reweighing_weights(y, groups)
    w_a1 = (4 / 6) * (4 / 6) / (3 / 6)
    w_a0 = (4 / 6) * (2 / 6) / (1 / 6)
    w_b1 = (2 / 6) * (4 / 6) / (1 / 6)
    w_b0 = (2 / 6) * (2 / 6) / (1 / 6)
    np.testing.assert_allclose(weights, [w_a1, w_a1, w_a1, w_a0, w_b1, w_b0], rtol=0, atol=1e-15)


def test_reweighing_rejects_labels_that_are_not_zero_or_one():
    with pytest.raises(AuditInputError, match="needs 0/1 labels, but found 2"):
        reweighing_weights([0, 2], ["a", "b"])


def test_reweighing_rejects_mismatched_lengths():
    with pytest.raises(AuditInputError, match="one group per label"):
        reweighing_weights([0, 1, 1], ["a", "b"])


def test_weights_reach_the_last_step_of_a_pipeline_and_change_the_fit():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.normal(size=200)})
    y = (X["x"] + rng.normal(size=200) > 0).astype(int).to_numpy()
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    assert sample_weight_name(pipe) == "logisticregression__sample_weight"
    weights = np.where(y == 1, 5.0, 1.0)
    weighted = fit_with_weights(pipe, X, y, weights)
    plain = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    assert weighted[-1].intercept_[0] > plain[-1].intercept_[0] + 0.5


def test_learner_without_sample_weight_is_refused():
    with pytest.raises(AuditInputError, match="cannot take sample weights"):
        fit_with_weights(KNeighborsClassifier(), pd.DataFrame({"x": [0.0, 1.0]}), [0, 1], [1.0, 1.0])


def test_correlation_remover_leaves_features_uncorrelated_with_the_sensitive_attribute():
    rng = np.random.default_rng(2)
    sex = rng.choice(["female", "male"], size=400)
    frame = pd.DataFrame({
        "club": (rng.random(400) < np.where(sex == "female", 0.6, 0.05)).astype(int),
        "skill": rng.normal(size=400), "city": rng.choice(["x", "y"], size=400), "sex": sex,
    })
    y = (frame["skill"] > 0).astype(int).to_numpy()
    pipe = correlation_remover_pipeline(frame, ["club", "skill", "city"], ["sex"], LogisticRegression())
    pipe.fit(frame, y)
    transformed = pipe[:-1].transform(frame)
    female = (sex == "female").astype(float)
    assert abs(np.corrcoef(frame["club"], female)[0, 1]) > 0.5
    for column in range(transformed.shape[1]):
        if transformed[:, column].std() > 0:
            assert abs(np.corrcoef(transformed[:, column], female)[0, 1]) < 1e-8


def test_feature_inference_drops_ids_constants_and_roles():
    frame = pd.DataFrame({"id": np.arange(30), "const": 1, "age": np.arange(30) % 7, "y": [0, 1] * 15,
                          "sex": ["f", "m"] * 15})
    features, notes = infer_features(frame, exclude=["y", "sex"])
    assert features == ("age",)
    assert "id" in notes[0] and "const" in notes[0]
